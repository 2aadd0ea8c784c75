#include "telemetry/otlp/exporter.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace sb::telemetry::otlp {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;
constexpr std::chrono::milliseconds kMaxBackoff{30'000};

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::size_t discard_body(char*, std::size_t size, std::size_t n, void*) {
    return size * n;
}

// Retry-After in seconds (the delta-seconds form; an HTTP date is ignored).
std::size_t read_retry_after(char* data, std::size_t size, std::size_t n, void* user) {
    std::string_view line(data, size * n);
    constexpr std::string_view kName = "retry-after:";
    if (line.size() > kName.size()) {
        bool match = true;
        for (std::size_t i = 0; i < kName.size(); ++i) {
            if (std::tolower(static_cast<unsigned char>(line[i])) != kName[i]) {
                match = false;
                break;
            }
        }
        if (match) {
            std::string_view v = line.substr(kName.size());
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
                v.remove_prefix(1);
            }
            unsigned seconds = 0;
            auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
            if (ec == std::errc{} && ptr != v.data()) {
                *static_cast<std::chrono::milliseconds*>(user) =
                    std::chrono::milliseconds(std::min<unsigned>(seconds, 30) * 1000);
            }
        }
    }
    return size * n;
}

}  // namespace

Exporter::Exporter(ExporterOptions options, Registry* metrics)
    : options_(std::move(options)), metrics_(metrics) {
    while (!options_.endpoint.empty() && options_.endpoint.back() == '/') {
        options_.endpoint.pop_back();
    }
    options_.batch_size = std::max<std::size_t>(options_.batch_size, 1);
    options_.queue_capacity = std::max(options_.queue_capacity, options_.batch_size);
    // The only place the wall clock is read: spans need Unix times, the gateway measures with
    // the steady clock.
    const auto sys = std::chrono::system_clock::now();
    const auto steady = std::chrono::steady_clock::now();
    const auto sys_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(sys.time_since_epoch()).count();
    const auto steady_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(steady.time_since_epoch()).count();
    steady_to_unix_ns_ = sys_ns - steady_ns;
    start_unix_nano_ = static_cast<std::uint64_t>(sys_ns);
    curl_ = curl_easy_init();
    if (metrics_ != nullptr) {
        collector_id_ =
            metrics_->add_collector([this](std::string& out) { render_own_metrics(out); });
    }
    thread_ = std::thread([this] { run(); });
}

Exporter::~Exporter() {
    if (metrics_ != nullptr) {
        metrics_->remove_collector(collector_id_);
    }
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
    if (curl_ != nullptr) {
        curl_easy_cleanup(static_cast<CURL*>(curl_));
    }
}

std::uint64_t Exporter::unix_nanos(std::chrono::steady_clock::time_point t) const {
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    const std::int64_t unix_ns = ns + steady_to_unix_ns_;
    return unix_ns < 0 ? 0 : static_cast<std::uint64_t>(unix_ns);
}

bool Exporter::keep(const RequestTrace& trace) {
    // Parent-based sampling: a caller's sampled flag decides; new traces keep sample_ratio.
    if (trace.parent) {
        return trace.parent->sampled();
    }
    if (options_.sample_ratio >= 1.0) {
        return true;
    }
    if (options_.sample_ratio <= 0.0) {
        return false;
    }
    const std::uint64_t r = splitmix64(sample_state_.fetch_add(1, kRelaxed));
    return static_cast<double>(r >> 11) < options_.sample_ratio * 9007199254740992.0;  // 2^53
}

bool Exporter::submit(RequestTrace&& trace) {
    if (!keep(trace)) {
        sampled_out_.fetch_add(1, kRelaxed);
        return false;
    }
    bool wake = false;
    {
        std::lock_guard lock(mu_);
        if (queue_.size() >= options_.queue_capacity) {
            dropped_.fetch_add(1, kRelaxed);
            return false;
        }
        queue_.push_back(std::move(trace));
        wake = queue_.size() == options_.batch_size;
    }
    submitted_.fetch_add(1, kRelaxed);
    if (wake) {
        cv_.notify_one();
    }
    return true;
}

ExporterStats Exporter::stats() const {
    ExporterStats s;
    s.submitted = submitted_.load(kRelaxed);
    s.dropped = dropped_.load(kRelaxed);
    s.sampled_out = sampled_out_.load(kRelaxed);
    s.exported = exported_.load(kRelaxed);
    s.failed = failed_.load(kRelaxed);
    s.metric_exports = metric_exports_.load(kRelaxed);
    s.metric_failures = metric_failures_.load(kRelaxed);
    {
        std::lock_guard lock(mu_);
        s.queue_depth = queue_.size();
    }
    return s;
}

void Exporter::render_own_metrics(std::string& out) const {
    const ExporterStats s = stats();
    fmt::format_to(
        std::back_inserter(out),
        "# HELP switchboard_otlp_traces_total Request traces handed to the OTLP exporter, by "
        "outcome (queued, dropped: queue full, sampled_out).\n"
        "# TYPE switchboard_otlp_traces_total counter\n"
        "switchboard_otlp_traces_total{{outcome=\"queued\"}} {}\n"
        "switchboard_otlp_traces_total{{outcome=\"dropped\"}} {}\n"
        "switchboard_otlp_traces_total{{outcome=\"sampled_out\"}} {}\n"
        "# HELP switchboard_otlp_exported_total Request traces and metric payloads the collector "
        "accepted or that failed after retries, by signal and result.\n"
        "# TYPE switchboard_otlp_exported_total counter\n"
        "switchboard_otlp_exported_total{{signal=\"traces\",result=\"ok\"}} {}\n"
        "switchboard_otlp_exported_total{{signal=\"traces\",result=\"failed\"}} {}\n"
        "switchboard_otlp_exported_total{{signal=\"metrics\",result=\"ok\"}} {}\n"
        "switchboard_otlp_exported_total{{signal=\"metrics\",result=\"failed\"}} {}\n"
        "# HELP switchboard_otlp_queue_depth Request traces waiting for export.\n"
        "# TYPE switchboard_otlp_queue_depth gauge\n"
        "switchboard_otlp_queue_depth {}\n",
        s.submitted, s.dropped, s.sampled_out, s.exported, s.failed, s.metric_exports,
        s.metric_failures, s.queue_depth);
}

void Exporter::run() {
    using Clock = std::chrono::steady_clock;
    auto next_batch = Clock::now() + options_.interval;
    const bool metrics_on = metrics_ != nullptr && options_.metrics_interval.count() > 0;
    auto next_metrics = Clock::now() + options_.metrics_interval;
    std::vector<RequestTrace> batch;
    for (;;) {
        bool stopping = false;
        {
            std::unique_lock lock(mu_);
            auto deadline = metrics_on ? std::min(next_batch, next_metrics) : next_batch;
            cv_.wait_until(lock, deadline,
                           [&] { return stopping_ || queue_.size() >= options_.batch_size; });
            stopping = stopping_;
            const bool full = queue_.size() >= options_.batch_size;
            if (full || stopping || Clock::now() >= next_batch) {
                const std::size_t n = std::min(queue_.size(), options_.batch_size);
                batch.clear();
                for (std::size_t i = 0; i < n; ++i) {
                    batch.push_back(std::move(queue_.front()));
                    queue_.pop_front();
                }
                next_batch = Clock::now() + options_.interval;
            }
        }
        if (stopping) {
            // The whole last flush gets one `timeout`, so a hung collector cannot hold up the
            // process's exit for longer than that.
            final_deadline_ = Clock::now() + options_.timeout;
        }
        if (!batch.empty()) {
            export_traces(batch, stopping);
            batch.clear();
        }
        if (stopping) {
            // Last flush: what is still queued, one attempt per batch, then final metrics.
            for (;;) {
                {
                    std::lock_guard lock(mu_);
                    const std::size_t n = std::min(queue_.size(), options_.batch_size);
                    for (std::size_t i = 0; i < n; ++i) {
                        batch.push_back(std::move(queue_.front()));
                        queue_.pop_front();
                    }
                }
                if (batch.empty()) {
                    break;
                }
                export_traces(batch, true);
                batch.clear();
            }
            if (metrics_on) {
                export_metrics(true);
            }
            return;
        }
        if (metrics_on && Clock::now() >= next_metrics) {
            export_metrics(false);
            next_metrics = Clock::now() + options_.metrics_interval;
        }
    }
}

void Exporter::export_traces(std::vector<RequestTrace>& batch, bool final) {
    const std::string body = encode_traces(batch, options_.resource, ids_);
    if (post_with_retries("/v1/traces", body, final)) {
        exported_.fetch_add(batch.size(), kRelaxed);
    } else {
        failed_.fetch_add(batch.size(), kRelaxed);
    }
}

void Exporter::export_metrics(bool final) {
    const std::uint64_t now = unix_nanos(std::chrono::steady_clock::now());
    const std::string body =
        encode_metrics(metrics_->snapshot(), options_.resource, start_unix_nano_, now);
    if (post_with_retries("/v1/metrics", body, final)) {
        metric_exports_.fetch_add(1, kRelaxed);
    } else {
        metric_failures_.fetch_add(1, kRelaxed);
    }
}

bool Exporter::post_with_retries(const std::string& path, const std::string& body, bool final) {
    const std::string url = options_.endpoint + path;
    auto backoff = options_.retry_backoff;
    for (int attempt = 0;; ++attempt) {
        auto timeout = options_.timeout;
        if (final) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                final_deadline_ - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return false;  // the last flush is out of time
            }
            timeout = std::min(timeout, left);
        }
        std::chrono::milliseconds retry_after{-1};
        const Outcome outcome = post(url, body, timeout, retry_after);
        if (outcome == Outcome::Ok) {
            if (failing_) {
                spdlog::info("otlp: export to {} works again", url);
                failing_ = false;
            }
            return true;
        }
        if (outcome == Outcome::Fail || final || attempt >= options_.max_retries) {
            return false;
        }
        auto wait = retry_after.count() >= 0 ? retry_after : backoff;
        backoff = std::min(backoff * 2, kMaxBackoff);
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, wait, [&] { return stopping_; })) {
            return false;  // shutting down: no more retries
        }
    }
}

Exporter::Outcome Exporter::post(const std::string& url, const std::string& body,
                                 std::chrono::milliseconds timeout,
                                 std::chrono::milliseconds& retry_after) {
    auto* h = static_cast<CURL*>(curl_);
    if (h == nullptr) {
        return Outcome::Fail;
    }
    curl_easy_reset(h);  // keeps the connection cache: the next POST reuses the connection
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    for (const auto& [name, value] : options_.headers) {
        std::string line = name + ": " + value;
        headers = curl_slist_append(headers, line.c_str());
    }
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, read_retry_after);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &retry_after);
    const CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    Outcome outcome = Outcome::Ok;
    std::string why;
    if (rc != CURLE_OK) {
        outcome = Outcome::Retry;  // connection refused, timeout, reset: the collector may return
        why = curl_easy_strerror(rc);
    } else if (status < 200 || status >= 300) {
        // OTLP/HTTP: 429, 502, 503 and 504 are retryable; any other error is final.
        const bool retryable = status == 429 || status == 502 || status == 503 || status == 504;
        outcome = retryable ? Outcome::Retry : Outcome::Fail;
        why = fmt::format("HTTP {}", status);
    }
    if (outcome != Outcome::Ok && !failing_) {
        // Once per failure streak; the URL and status only (headers may hold credentials).
        spdlog::warn("otlp: export to {} failed: {}", url, why);
        failing_ = true;
    }
    return outcome;
}

}  // namespace sb::telemetry::otlp
