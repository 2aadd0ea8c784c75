#include "telemetry/access/access_log.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "telemetry/access/redact.h"
#include "telemetry/parquet/sink.h"

namespace sb::telemetry::access {

namespace {

using SteadyClock = std::chrono::steady_clock;

// A worker's frame buffer is kept between records up to this size.
constexpr std::size_t kKeptScratchBytes = 256u << 10;

std::int64_t system_micros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Status make_dir(const std::string& path) {
    std::string partial;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        partial = path.substr(0, pos);
        if (partial.empty()) {
            continue;
        }
        if (::mkdir(partial.c_str(), 0750) != 0 && errno != EEXIST) {
            return fail(ErrorCode::Internal, fmt::format("cannot create directory {}: {}", partial,
                                                         std::strerror(errno)));
        }
    }
    return {};
}

std::uint64_t file_size(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return 0;
    }
    return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

std::optional<SpoolPolicy> parse_spool_policy(std::string_view name) {
    if (name == "refuse") {
        return SpoolPolicy::Refuse;
    }
    if (name == "drop_oldest") {
        return SpoolPolicy::DropOldest;
    }
    if (name == "drop_new") {
        return SpoolPolicy::DropNew;
    }
    return std::nullopt;
}

std::string_view to_string(SpoolPolicy policy) {
    switch (policy) {
        case SpoolPolicy::Refuse:
            return "refuse";
        case SpoolPolicy::DropOldest:
            return "drop_oldest";
        case SpoolPolicy::DropNew:
            return "drop_new";
    }
    return "refuse";
}

AccessLog::AccessLog(Options options) : options_(std::move(options)) {
    if (!options_.now_micros) {
        options_.now_micros = system_micros;
    }
}

AccessLog::~AccessLog() {
    close();
}

std::int64_t AccessLog::now_micros() const {
    return options_.now_micros();
}

Status AccessLog::open() {
    if (options_.spool_dir.empty()) {
        return fail(ErrorCode::InvalidRequest, "access log: spool directory is required");
    }
    if (options_.directory.empty() && !options_.s3) {
        return fail(ErrorCode::InvalidRequest,
                    "access log: no destination (set a directory and/or s3)");
    }
    if (options_.fsync_interval.count() < 0 || options_.rotate_age.count() <= 0 ||
        options_.rotate_bytes == 0 || options_.queue_capacity == 0 ||
        options_.retry_initial.count() <= 0 || options_.retry_max < options_.retry_initial) {
        return fail(ErrorCode::InvalidRequest, "access log: invalid options");
    }
    auto redactor = Redactor::create(options_.redact_patterns);
    if (!redactor) {
        return fail(ErrorCode::InvalidRequest, "access log: " + redactor.error().message);
    }
    redactor_ = std::move(*redactor);
    if (auto st = make_dir(options_.spool_dir); !st) {
        return st;
    }
    if (!options_.directory.empty()) {
        if (auto st = make_dir(options_.directory); !st) {
            return st;
        }
        destinations_.push_back(std::make_unique<LocalDestination>(options_.directory));
    }
    if (options_.s3) {
        auto now = options_.now_micros;
        destinations_.push_back(
            std::make_unique<S3Destination>(*options_.s3, [now] { return now() / 1'000'000; }));
    }
    auto ids = list_segments(options_.spool_dir);
    if (!ids) {
        return fail(ids.error());
    }
    // Leftovers of an earlier run are sealed as they are: delivered first, in order.
    for (std::uint64_t id : *ids) {
        const std::uint64_t bytes = file_size(options_.spool_dir + "/" + segment_file_name(id));
        sealed_.push_back({id, bytes});
        spool_bytes_ += bytes;
        ++spool_segments_;
        last_segment_id_ = std::max(last_segment_id_, id);
    }
    over_cap_ = options_.policy == SpoolPolicy::Refuse && spool_bytes_ >= options_.spool_max_bytes;
    {
        std::lock_guard lock(mu_);
        open_ = true;
        stopping_ = false;
    }
    open_flag_ = true;
    writer_done_ = false;
    delivery_deadline_.reset();
    writer_ = std::thread([this] { writer_loop(); });
    delivery_ = std::thread([this] { delivery_loop(); });
    return {};
}

void AccessLog::close() {
    {
        std::lock_guard lock(mu_);
        if (!open_) {
            return;
        }
        open_ = false;
        stopping_ = true;
    }
    open_flag_ = false;
    cv_.notify_all();
    if (writer_.joinable()) {
        writer_.join();
    }
    {
        std::lock_guard lock(sealed_mu_);
        writer_done_ = true;
        delivery_deadline_ = SteadyClock::now() + options_.close_timeout;
    }
    sealed_cv_.notify_all();
    if (delivery_.joinable()) {
        delivery_.join();
    }
}

bool AccessLog::submit(AccessRecord&& record) {
    // Write-through: the record is encoded here and appended to the current segment under the
    // spool lock, which is only ever held for an append or a pointer swap (never for an fsync,
    // a segment creation, encoding or delivery). One copy into the mapped segment (the page
    // cache), and the record survives a crash of the process from this moment on.
    if (options_.write_through && open_flag_.load(std::memory_order_acquire) &&
        !(options_.policy == SpoolPolicy::DropOldest &&
          spool_bytes_.load() >= options_.spool_max_bytes)) {
        // Per-thread scratch, so that a record costs no allocation here.
        thread_local std::string frames;
        frames.clear();
        const std::uint64_t n = prepare_frames(std::span<AccessRecord>(&record, 1), frames);
        std::unique_lock spool(spool_mu_);
        if (segment_ || n == 0) {
            ++records_submitted_;
            const bool was_dirty = dirty_;
            append_locked(frames, n, /*may_create=*/false);
            const bool wake_writer = !was_dirty && dirty_;
            spool.unlock();
            if (wake_writer) {
                // The writer owes this write an fsync within fsync_interval.
                {
                    std::lock_guard lock(mu_);
                    sync_wanted_ = true;
                }
                cv_.notify_one();
            }
            if (frames.capacity() > kKeptScratchBytes) {
                std::string().swap(frames);  // a large body passed: do not hold on to its buffer
            }
            return true;
        }
        // No segment (the writer could not create one): queue; the writer retries.
    }
    {
        std::lock_guard lock(mu_);
        if (!open_ || queue_.size() >= options_.queue_capacity) {
            ++dropped_queue_full_;
            return false;
        }
        queue_.push_back(std::move(record));
        queue_depth_.store(queue_.size(), std::memory_order_relaxed);
    }
    ++records_submitted_;
    cv_.notify_one();
    return true;
}

bool AccessLog::accepting() const {
    if (over_cap_.load(std::memory_order_relaxed)) {
        return false;
    }
    return queue_depth_.load(std::memory_order_relaxed) < options_.queue_capacity;
}

std::uint64_t AccessLog::next_segment_id() {
    // Creation time in microseconds: unique across restarts even if the spool was emptied, and
    // increasing within a run.
    auto now = static_cast<std::uint64_t>(std::max<std::int64_t>(now_micros(), 1));
    last_segment_id_ = std::max(now, last_segment_id_ + 1);
    return last_segment_id_;
}

void AccessLog::writer_loop() {
    // A segment is ready before the first record, and the next one before each seal.
    if (auto seg = create_segment()) {
        std::lock_guard spool(spool_mu_);
        segment_.emplace(std::move(*seg));
        segment_records_ = 0;
        segment_opened_ = SteadyClock::now();
    }
    std::vector<AccessRecord> batch;
    for (;;) {
        bool stopping = false;
        bool seal_now = false;
        auto deadline = SteadyClock::time_point::max();
        {
            std::lock_guard spool(spool_mu_);
            if (dirty_) {
                deadline = std::min(deadline, last_sync_ + options_.fsync_interval);
            }
            if (segment_ && segment_records_ > 0) {
                deadline = std::min(deadline, segment_opened_ + options_.rotate_age);
            }
        }
        {
            std::unique_lock lock(mu_);
            auto ready = [&] {
                return !queue_.empty() || stopping_ || seal_requested_ || sync_wanted_;
            };
            if (deadline == SteadyClock::time_point::max()) {
                cv_.wait(lock, ready);
            } else {
                cv_.wait_until(lock, deadline, ready);
            }
            batch.swap(queue_);
            queue_depth_.store(0, std::memory_order_relaxed);
            stopping = stopping_;
            seal_now = std::exchange(seal_requested_, false);
            sync_wanted_ = false;
        }
        if (!batch.empty()) {
            std::string frames;
            const std::uint64_t n = prepare_frames(batch, frames);
            std::lock_guard spool(spool_mu_);
            append_locked(frames, n, /*may_create=*/true);
            batch.clear();
        }
        // Group commit: one fsync for everything written since the last one, at most once per
        // fsync_interval. Only this thread closes the segment, so it may sync it unlocked while
        // workers append.
        const auto now = SteadyClock::now();
        SegmentWriter* to_sync = nullptr;
        bool seal = false;
        {
            std::lock_guard spool(spool_mu_);
            if (dirty_ && segment_ && now - last_sync_ >= options_.fsync_interval) {
                to_sync = &*segment_;
                dirty_ = false;
                last_sync_ = now;
            }
            seal = segment_ && segment_records_ > 0 &&
                   (seal_now || segment_->bytes() >= options_.rotate_bytes ||
                    now - segment_opened_ >= options_.rotate_age);
        }
        if (to_sync != nullptr) {
            if (auto st = to_sync->sync(); !st) {
                ++spool_write_failures_;
            }
        }
        if (seal) {
            seal_segment(/*replace=*/true);
        }
        if (stopping) {
            std::lock_guard lock(mu_);
            if (queue_.empty()) {
                break;
            }
        }
    }
    seal_segment(/*replace=*/false);
}

std::optional<SegmentWriter> AccessLog::create_segment() {
    auto seg = SegmentWriter::create(options_.spool_dir, next_segment_id());
    if (!seg) {
        ++spool_write_failures_;
        return std::nullopt;
    }
    // The new name must survive a crash too.
    (void)parquet::sync_parent_directory(seg->path());
    spool_bytes_ += seg->bytes();
    ++spool_segments_;
    return std::move(*seg);
}

std::uint64_t AccessLog::prepare_frames(std::span<AccessRecord> records, std::string& frames) {
    std::uint64_t written = 0;
    for (AccessRecord& r : records) {
        // The cap is checked per record, so one large batch cannot overshoot it.
        if (spool_bytes_.load() + frames.size() >= options_.spool_max_bytes) {
            if (options_.policy == SpoolPolicy::DropNew) {
                ++dropped_spool_full_;
                continue;
            }
            if (options_.policy == SpoolPolicy::DropOldest) {
                enforce_cap(frames.size());
            } else {
                // refuse: the gateway refuses new requests; the records of requests already
                // answered (and of the refusals) are still written, exceeding the cap by those.
                over_cap_ = true;
            }
        }
        for (std::string* s : {&r.request_id, &r.endpoint, &r.method, &r.principal, &r.key_id,
                               &r.team, &r.model_requested, &r.target, &r.provider, &r.error_code,
                               &r.cache_outcome, &r.guardrail_outcome}) {
            make_valid_utf8(*s);
        }
        for (AttemptRecord& a : r.attempt_details) {
            make_valid_utf8(a.provider);
            make_valid_utf8(a.target);
            make_valid_utf8(a.error_code);
        }
        if (!options_.bodies) {
            r.request_body.reset();
            r.response_body.reset();
        }
        for (std::optional<std::string>* body : {&r.request_body, &r.response_body}) {
            if (*body) {
                make_valid_utf8(**body);
                redactor_->redact(**body);
            }
        }
        const std::size_t frame = begin_frame(frames);
        encode(r, frames);
        if (frames.size() - frame - 8 > kMaxFrameBytes) {
            frames.resize(frame);
            ++dropped_write_error_;
            continue;
        }
        end_frame(frames, frame);
        ++written;
    }
    return written;
}

void AccessLog::append_locked(const std::string& frames, std::uint64_t records, bool may_create) {
    if (records == 0) {
        return;
    }
    if (!segment_) {
        if (!may_create) {
            dropped_write_error_ += records;  // callers check for a segment first
            return;
        }
        auto seg = create_segment();
        if (!seg) {
            dropped_write_error_ += records;
            return;
        }
        segment_.emplace(std::move(*seg));
        segment_records_ = 0;
        segment_opened_ = SteadyClock::now();
    }
    if (auto st = segment_->append(frames); !st) {
        ++spool_write_failures_;
        dropped_write_error_ += records;
        return;
    }
    spool_bytes_ += frames.size();
    segment_records_ += records;
    unsealed_records_ = segment_records_;
    records_spooled_ += records;
    dirty_ = true;
}

void AccessLog::seal_segment(bool replace) {
    // The replacement is created (and its directory entry synced) before taking the lock, so
    // workers never find the spool without a segment or wait for a file creation.
    std::optional<SegmentWriter> next;
    if (replace) {
        next = create_segment();
    }
    std::optional<SegmentWriter> seg;
    std::uint64_t records = 0;
    bool dirty = false;
    {
        std::lock_guard spool(spool_mu_);
        if (!segment_) {
            segment_ = std::move(next);
            segment_opened_ = SteadyClock::now();
            return;
        }
        seg = std::move(segment_);
        segment_ = std::move(next);
        segment_opened_ = SteadyClock::now();
        records = std::exchange(segment_records_, 0);
        dirty = std::exchange(dirty_, false);
        last_sync_ = SteadyClock::now();
    }
    if (dirty) {
        if (auto st = seg->sync(); !st) {
            ++spool_write_failures_;
        }
    }
    (void)seg->close();
    Sealed s{seg->id(), seg->bytes()};
    if (records == 0) {
        ::unlink(seg->path().c_str());
        spool_bytes_ -= s.bytes;
        --spool_segments_;
        return;
    }
    {
        std::lock_guard lock(sealed_mu_);
        sealed_.push_back(s);
        unsealed_records_ = 0;
    }
    sealed_cv_.notify_all();
}

void AccessLog::enforce_cap(std::uint64_t pending) {
    // drop_oldest: delete sealed segments, oldest first, that the delivery thread is not working
    // on, until the spool is under its cap.
    std::lock_guard lock(sealed_mu_);
    auto it = sealed_.begin();
    while (spool_bytes_.load() + pending >= options_.spool_max_bytes && it != sealed_.end()) {
        if (it->id == in_flight_) {
            ++it;
            continue;
        }
        const std::string path = options_.spool_dir + "/" + segment_file_name(it->id);
        auto contents = read_segment(path);
        dropped_oldest_ += contents ? contents->payloads.size() : 0;
        ::unlink(path.c_str());
        spool_bytes_ -= it->bytes;
        --spool_segments_;
        it = sealed_.erase(it);
    }
}

void AccessLog::delivery_loop() {
    for (;;) {
        Sealed seg;
        {
            std::unique_lock lock(sealed_mu_);
            sealed_cv_.wait(lock, [&] { return !sealed_.empty() || writer_done_; });
            if (sealed_.empty()) {
                break;
            }
            seg = sealed_.front();
            in_flight_ = seg.id;
        }
        const bool done = deliver(seg);
        std::lock_guard lock(sealed_mu_);
        in_flight_ = 0;
        if (!done) {
            break;  // closing and out of time: the segment stays for the next run
        }
        if (!sealed_.empty() && sealed_.front().id == seg.id) {
            sealed_.pop_front();
        }
        sealed_cv_.notify_all();
    }
}

bool AccessLog::deliver(const Sealed& seg) {
    const std::string path = options_.spool_dir + "/" + segment_file_name(seg.id);
    auto contents = read_segment(path);
    SegmentEncoder encoder(seg.id, options_.zstd_level);
    std::uint64_t records = 0;
    Status encoded;
    if (contents) {
        if (contents->torn) {
            ++corrupt_frames_;
        }
        AccessRecord r;  // reused: its strings keep their capacity from record to record
        for (const std::string& p : contents->payloads) {
            if (!decode(p, r)) {
                ++corrupt_frames_;
                continue;
            }
            if (encoded = encoder.add(r); !encoded) {
                break;
            }
            ++records;
        }
    } else {
        ++corrupt_frames_;
    }
    auto files =
        encoded ? encoder.finish() : Result<std::vector<EncodedFile>>(fail(encoded.error()));
    if (!files) {
        // Should not happen (strings are made valid UTF-8 before spooling); keep the segment
        // aside rather than block the pipeline.
        ++delivery_failures_;
        const std::string bad_dir = options_.spool_dir + "/failed";
        (void)make_dir(bad_dir);
        ::rename(path.c_str(), (bad_dir + "/" + segment_file_name(seg.id)).c_str());
    } else {
        for (auto& dest : destinations_) {
            for (const EncodedFile& f : *files) {
                if (!put_with_retry(*dest, f)) {
                    return false;
                }
                ++files_delivered_;
            }
        }
        ::unlink(path.c_str());
        (void)parquet::sync_parent_directory(path);
        records_delivered_ += records;
    }
    spool_bytes_ -= std::min(spool_bytes_.load(), seg.bytes);
    --spool_segments_;
    if (spool_bytes_.load() < options_.spool_max_bytes) {
        over_cap_ = false;
    }
    return true;
}

bool AccessLog::put_with_retry(Destination& dest, const EncodedFile& file) {
    auto backoff = options_.retry_initial;
    for (;;) {
        if (dest.put(file)) {
            return true;
        }
        ++delivery_failures_;
        std::unique_lock lock(sealed_mu_);
        auto wake = SteadyClock::now() + backoff;
        if (delivery_deadline_ && *delivery_deadline_ <= wake) {
            return false;
        }
        // Wakes early only when close() sets a deadline (then re-checked above).
        sealed_cv_.wait_until(lock, wake, [&] {
            return delivery_deadline_.has_value() && *delivery_deadline_ <= SteadyClock::now();
        });
        if (delivery_deadline_ && *delivery_deadline_ <= SteadyClock::now()) {
            return false;
        }
        backoff = std::min(backoff * 2, options_.retry_max);
    }
}

AccessLog::Stats AccessLog::stats() const {
    Stats s;
    s.queue_depth = queue_depth_.load();
    s.spool_bytes = spool_bytes_.load();
    s.spool_segments = spool_segments_.load();
    s.records_spooled = records_spooled_.load();
    s.records_delivered = records_delivered_.load();
    s.files_delivered = files_delivered_.load();
    s.records_dropped = dropped_queue_full_.load() + dropped_spool_full_.load() +
                        dropped_oldest_.load() + dropped_write_error_.load();
    s.delivery_failures = delivery_failures_.load();
    s.corrupt_frames = corrupt_frames_.load();
    s.spool_write_failures = spool_write_failures_.load();
    return s;
}

void AccessLog::flush() {
    {
        std::lock_guard lock(mu_);
        seal_requested_ = true;
    }
    cv_.notify_all();
}

bool AccessLog::wait_delivered(std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    flush();
    std::unique_lock lock(sealed_mu_);
    for (;;) {
        // Every submitted record is in the spool (or counted as dropped), nothing is left in
        // the open segment, and every sealed segment is delivered.
        const bool settled = records_submitted_.load() == records_spooled_.load() +
                                                              dropped_spool_full_.load() +
                                                              dropped_write_error_.load();
        if (settled && unsealed_records_.load() == 0 && sealed_.empty() && in_flight_ == 0) {
            return true;
        }
        if (SteadyClock::now() >= deadline) {
            return false;
        }
        // The writer seals without taking sealed_mu_ for every step; poll briefly as well.
        sealed_cv_.wait_until(
            lock, std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(5)));
        if (!settled || unsealed_records_.load() != 0) {
            lock.unlock();
            flush();
            lock.lock();
        }
    }
}

void AccessLog::append_prometheus(std::string& out) const {
    const Stats s = stats();
    auto gauge = [&](std::string_view name, std::string_view help, std::uint64_t v) {
        fmt::format_to(std::back_inserter(out), "# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name,
                       help, v);
    };
    auto counter = [&](std::string_view name, std::string_view help, std::uint64_t v) {
        fmt::format_to(std::back_inserter(out), "# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n",
                       name, help, v);
    };
    gauge("switchboard_access_log_queue_depth", "Access records waiting for the spool writer.",
          s.queue_depth);
    gauge("switchboard_access_log_spool_bytes", "Bytes in the access-log spool (undelivered).",
          s.spool_bytes);
    gauge("switchboard_access_log_spool_segments", "Segments in the access-log spool.",
          s.spool_segments);
    gauge("switchboard_access_log_accepting",
          "1 while the access log accepts records, 0 when the gateway refuses requests.",
          accepting() ? 1 : 0);
    counter("switchboard_access_log_records_written_total", "Access records written to the spool.",
            s.records_spooled);
    counter("switchboard_access_log_records_delivered_total",
            "Access records delivered to every destination.", s.records_delivered);
    counter("switchboard_access_log_files_delivered_total",
            "Parquet files delivered (one per destination).", s.files_delivered);
    fmt::format_to(std::back_inserter(out),
                   "# HELP switchboard_access_log_records_dropped_total Access records lost, by "
                   "reason.\n# TYPE switchboard_access_log_records_dropped_total counter\n"
                   "switchboard_access_log_records_dropped_total{{reason=\"queue_full\"}} {}\n"
                   "switchboard_access_log_records_dropped_total{{reason=\"spool_full\"}} {}\n"
                   "switchboard_access_log_records_dropped_total{{reason=\"spool_full_oldest\"}} "
                   "{}\n"
                   "switchboard_access_log_records_dropped_total{{reason=\"write_error\"}} {}\n",
                   dropped_queue_full_.load(), dropped_spool_full_.load(), dropped_oldest_.load(),
                   dropped_write_error_.load());
    counter("switchboard_access_log_delivery_failures_total",
            "Failed deliveries of a Parquet file (each is retried).", s.delivery_failures);
    counter("switchboard_access_log_corrupt_frames_total",
            "Spool segments with a torn tail or undecodable records.", s.corrupt_frames);
    counter("switchboard_access_log_spool_write_failures_total",
            "Failed writes or syncs of the spool.", s.spool_write_failures);
}

}  // namespace sb::telemetry::access
