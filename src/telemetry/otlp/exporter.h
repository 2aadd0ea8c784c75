#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "telemetry/metrics.h"
#include "telemetry/otlp/encode.h"
#include "telemetry/otlp/trace.h"

namespace sb::telemetry::otlp {

struct ExporterOptions {
    // Collector base URL (http or https), e.g. http://otel-collector:4318; the exporter POSTs
    // to <endpoint>/v1/traces and <endpoint>/v1/metrics.
    std::string endpoint;
    std::vector<std::pair<std::string, std::string>> headers;  // sent with every POST
    std::chrono::milliseconds timeout{10'000};                 // per POST
    std::size_t batch_size = 512;                              // spans-requests per POST
    std::chrono::milliseconds interval{5'000};                 // max wait before a partial batch
    std::chrono::milliseconds metrics_interval{60'000};        // 0: metrics are not exported
    std::size_t queue_capacity = 8192;                         // requests; beyond: dropped
    double sample_ratio = 1.0;  // share of new traces kept (a traceparent's flag decides)
    int max_retries = 3;        // on 429, 502, 503, 504 or a transport error
    std::chrono::milliseconds retry_backoff{500};  // first retry; doubles, at most 30 s
    Resource resource;
};

// Counters of the exporter itself, readable from any thread.
struct ExporterStats {
    std::uint64_t submitted = 0;       // traces accepted into the queue
    std::uint64_t dropped = 0;         // traces refused because the queue was full
    std::uint64_t sampled_out = 0;     // traces not kept by sampling
    std::uint64_t exported = 0;        // traces delivered (the collector answered 2xx)
    std::uint64_t failed = 0;          // traces whose batch failed after its retries
    std::uint64_t metric_exports = 0;  // metrics payloads delivered
    std::uint64_t metric_failures = 0;
    std::uint64_t queue_depth = 0;
};

// Exports request traces and periodic metrics to an OpenTelemetry collector over OTLP/HTTP
// with JSON bodies (libcurl easy handle, on a thread of its own). Owned by the Gateway, which
// creates it before the workers and destroys it after they stop. submit() is thread-safe and
// never blocks on the network: it takes a mutex only to push onto a bounded queue, and a full
// queue drops the trace and counts it. Export failures are retried with backoff on the
// exporter thread and never reach a request.
class Exporter {
  public:
    // `metrics` (may be null) is snapshotted every metrics_interval; it must outlive the
    // exporter. The exporter adds its own counters to the registry's scrape (and removes them
    // when destroyed).
    Exporter(ExporterOptions options, Registry* metrics);
    // Stops the thread after one last, non-retried flush of what is queued, which gets one
    // `timeout` in all (what is left then is counted as failed).
    ~Exporter();
    Exporter(const Exporter&) = delete;
    Exporter& operator=(const Exporter&) = delete;

    // Queues one request's trace; false when it was dropped (queue full) or sampled out.
    bool submit(RequestTrace&& trace);

    // Wall-clock nanoseconds since the Unix epoch for a steady-clock instant (the offset is
    // taken once, when the exporter is created).
    std::uint64_t unix_nanos(std::chrono::steady_clock::time_point t) const;

    ExporterStats stats() const;

  private:
    enum class Outcome : std::uint8_t { Ok, Retry, Fail };
    void run();
    void export_traces(std::vector<RequestTrace>& batch, bool final);
    void export_metrics(bool final);
    // POSTs with retries; false when it finally failed.
    bool post_with_retries(const std::string& path, const std::string& body, bool final);
    Outcome post(const std::string& url, const std::string& body, std::chrono::milliseconds timeout,
                 std::chrono::milliseconds& retry_after);
    bool keep(const RequestTrace& trace);
    void render_own_metrics(std::string& out) const;

    ExporterOptions options_;
    Registry* metrics_;
    std::uint64_t collector_id_ = 0;
    std::int64_t steady_to_unix_ns_ = 0;  // unix ns = steady ns + this
    std::uint64_t start_unix_nano_ = 0;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<RequestTrace> queue_;
    bool stopping_ = false;

    std::atomic<std::uint64_t> submitted_{0};
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::uint64_t> sampled_out_{0};
    std::atomic<std::uint64_t> exported_{0};
    std::atomic<std::uint64_t> failed_{0};
    std::atomic<std::uint64_t> metric_exports_{0};
    std::atomic<std::uint64_t> metric_failures_{0};
    std::atomic<std::uint64_t> sample_state_{0};

    void* curl_ = nullptr;  // CURL*, used only on the exporter thread
    IdGenerator ids_;
    bool failing_ = false;  // the last export failed (logs once per failure streak)
    std::chrono::steady_clock::time_point final_deadline_{};  // end of the last flush
    std::thread thread_;
};

}  // namespace sb::telemetry::otlp
