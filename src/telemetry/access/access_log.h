#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "telemetry/access/destination.h"
#include "telemetry/access/record.h"
#include "telemetry/access/spool.h"

namespace sb::telemetry::access {

class Redactor;

// What happens when the spool reaches `spool_max_bytes` (DESIGN.md section 6).
enum class SpoolPolicy : std::uint8_t {
    Refuse,      // accepting() turns false (the gateway answers 503); nothing is dropped
    DropOldest,  // the oldest undelivered segments are deleted, their records counted as dropped
    DropNew,     // new records are dropped and counted
};

struct Options {
    std::string directory;  // local destination root; empty: no local delivery
    std::string spool_dir;  // required
    std::uint64_t spool_max_bytes = std::uint64_t{1} << 30;
    SpoolPolicy policy = SpoolPolicy::Refuse;
    std::chrono::milliseconds fsync_interval{100};  // group commit: at most one fsync per interval
    std::uint64_t rotate_bytes = std::uint64_t{64} << 20;  // a segment (Parquet file) this big
    std::chrono::milliseconds rotate_age{60'000};          // or this old is sealed and delivered
    std::size_t queue_capacity = 65'536;                   // records waiting for the writer
    std::optional<S3Options> s3;
    bool bodies = false;                       // keep request/response bodies (redacted)
    std::vector<std::string> redact_patterns;  // RE2; every match becomes "[REDACTED]"
    int zstd_level = 1;  // 1: as small as 3 on access records, and ~20 % less delivery CPU
    std::chrono::milliseconds retry_initial{200};  // delivery backoff, doubled up to retry_max
    std::chrono::milliseconds retry_max{30'000};
    std::chrono::milliseconds close_timeout{10'000};  // close(): time left to deliver
    // submit() encodes the record and appends it to the spool itself (one write(2) into the
    // page cache under a lock held only for appends and pointer swaps; no fsync), so a record
    // survives a crash of the process as soon as submit() returns. false: submit() only queues
    // (no system call on the caller's thread; records still queued are lost on a crash).
    bool write_through = true;
    // Wall clock in Unix microseconds (segment ids and SigV4 dates); the real one by default.
    std::function<std::int64_t()> now_micros;
};

// The access log (DESIGN.md section 6, docs/access-log.md): records from the workers go into a
// bounded in-memory queue; a writer thread appends them to a CRC-framed on-disk spool with group
// commit and seals segments by size and age; a delivery thread turns each sealed segment into
// Parquet files, puts them to every destination (local folder, S3) with retries and backoff, and
// deletes the segment only once every destination has it. open() first replays segments left by
// an earlier run; a segment's files are named from its id, so a replay overwrites, never
// duplicates.
//
// Owned by the Gateway. submit(), accepting() and append_prometheus() may be called from any
// thread and never block on I/O; open() and close() from the owning thread.
class AccessLog {
  public:
    explicit AccessLog(Options options);
    ~AccessLog();
    AccessLog(const AccessLog&) = delete;
    AccessLog& operator=(const AccessLog&) = delete;

    // Whether records should carry request and response bodies (`logging.bodies.enabled`).
    bool keeps_bodies() const { return options_.bodies; }

    // Validates options (compiles redaction patterns), creates directories, queues leftover
    // segments for delivery and starts the threads.
    Status open();
    // Writes what is queued, seals the last segment and delivers what it can within
    // close_timeout; undelivered segments stay in the spool for the next open().
    void close();

    // Hands a record to the writer. Never blocks; returns false (and counts a drop) when the
    // queue is full or the log is not open.
    bool submit(AccessRecord&& record);
    // False when new requests should be refused (policy `refuse` and the spool is full, or the
    // queue is full).
    bool accepting() const;
    // Prometheus text lines (HELP/TYPE and samples) for the log's counters and gauges.
    void append_prometheus(std::string& out) const;

    // The log's wall clock, Unix microseconds (for the records' timestamps).
    std::int64_t now_micros() const;

    // Counters (also for tests).
    struct Stats {
        std::uint64_t queue_depth = 0;
        std::uint64_t spool_bytes = 0;
        std::uint64_t spool_segments = 0;
        std::uint64_t records_spooled = 0;
        std::uint64_t records_delivered = 0;
        std::uint64_t files_delivered = 0;
        std::uint64_t records_dropped = 0;
        std::uint64_t delivery_failures = 0;
        std::uint64_t corrupt_frames = 0;
        std::uint64_t spool_write_failures = 0;
    };
    Stats stats() const;
    // Asks the writer to seal its current segment now (delivery follows).
    void flush();
    // Blocks until every record submitted so far has been delivered (or `timeout` passes);
    // returns whether it got there. For tests and graceful shutdown.
    bool wait_delivered(std::chrono::milliseconds timeout);

  private:
    struct Sealed {
        std::uint64_t id = 0;
        std::uint64_t bytes = 0;
    };
    void writer_loop();
    void delivery_loop();
    // Sanitises, redacts and frames records (applying the spool cap policy); returns how many
    // were framed.
    std::uint64_t prepare_frames(std::span<AccessRecord> records, std::string& frames);
    // Appends frames to the current segment (creating one if allowed). Holds spool_mu_.
    void append_locked(const std::string& frames, std::uint64_t records, bool may_create);
    // Seals the current segment (hands it to delivery); with `replace`, a new one takes its
    // place.
    void seal_segment(bool replace);
    std::optional<SegmentWriter> create_segment();
    void enforce_cap(std::uint64_t pending);
    bool deliver(const Sealed& seg);
    bool put_with_retry(Destination& dest, const EncodedFile& file);
    std::uint64_t next_segment_id();

    Options options_;
    std::unique_ptr<Redactor> redactor_;
    std::vector<std::unique_ptr<Destination>> destinations_;

    // Queue (workers -> writer).
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<AccessRecord> queue_;
    bool stopping_ = false;
    bool open_ = false;
    bool seal_requested_ = false;
    bool sync_wanted_ = false;  // a write-through append made the segment dirty
    std::atomic<bool> open_flag_{false};

    // The open segment, appended to by the writer thread and (write-through) by submit().
    std::mutex spool_mu_;
    std::optional<SegmentWriter> segment_;
    std::uint64_t segment_records_ = 0;
    std::chrono::steady_clock::time_point segment_opened_{};
    std::chrono::steady_clock::time_point last_sync_{};
    bool dirty_ = false;
    std::uint64_t last_segment_id_ = 0;

    // Sealed segments (writer -> delivery).
    mutable std::mutex sealed_mu_;
    std::condition_variable sealed_cv_;
    std::deque<Sealed> sealed_;
    std::uint64_t in_flight_ = 0;  // id being delivered, 0 if none
    bool writer_done_ = false;
    std::optional<std::chrono::steady_clock::time_point> delivery_deadline_;

    std::atomic<std::uint64_t> queue_depth_{0};
    std::atomic<std::uint64_t> spool_bytes_{0};
    std::atomic<std::uint64_t> spool_segments_{0};
    std::atomic<std::uint64_t> records_submitted_{0};
    std::atomic<std::uint64_t> records_spooled_{0};
    std::atomic<std::uint64_t> records_delivered_{0};
    std::atomic<std::uint64_t> unsealed_records_{0};
    std::atomic<std::uint64_t> dropped_oldest_{0};
    std::atomic<std::uint64_t> files_delivered_{0};
    std::atomic<std::uint64_t> dropped_queue_full_{0};
    std::atomic<std::uint64_t> dropped_spool_full_{0};
    std::atomic<std::uint64_t> dropped_write_error_{0};
    std::atomic<std::uint64_t> delivery_failures_{0};
    std::atomic<std::uint64_t> corrupt_frames_{0};
    std::atomic<std::uint64_t> spool_write_failures_{0};
    std::atomic<bool> over_cap_{false};

    std::thread writer_;
    std::thread delivery_;
};

// Parses "refuse", "drop_oldest", "drop_new".
std::optional<SpoolPolicy> parse_spool_policy(std::string_view name);
std::string_view to_string(SpoolPolicy policy);

}  // namespace sb::telemetry::access
