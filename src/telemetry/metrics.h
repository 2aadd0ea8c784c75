#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sb::telemetry {

// Latency buckets in seconds (Prometheus convention), shared by all latency histograms.
inline constexpr std::array<double, 16> kLatencyBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   10,   60};

// A histogram written by one thread and read by a scraper: relaxed atomics, no lock.
struct Histogram {
    std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> buckets{};  // last: +Inf
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_ns{0};
    void observe(double seconds);
};

// One upstream attempt of a request, as the metrics see it.
struct AttemptSample {
    std::string_view provider;  // provider name from the config
    std::string_view target;    // the upstream model name
    // "ok" when the upstream answered with a success, else the error code that ended the
    // attempt (e.g. "upstream_timeout", "rate_limit_exceeded").
    std::string_view result;
};

// What one finished request contributes to the metrics. The string views only need to live
// for the call to record().
struct RequestSample {
    std::string_view model;     // public model name ("" for non-model routes)
    std::string_view provider;  // provider name ("" if none was chosen)
    int status = 0;
    std::string_view error_code;  // the error body's `code` ("" when none / not an error)
    double total_seconds = 0;
    double overhead_seconds = 0;
    double first_byte_seconds = -1;  // streams: time to the first byte of the body; <0 if none
    std::int64_t input_tokens = -1;  // usage reported by the upstream; <0 when unknown
    std::int64_t output_tokens = -1;
    double cost = -1;  // in currency units (the price table's currency); <0 when unknown
    // Upstream attempts in order; attempts after the first are retries or fallbacks.
    std::vector<AttemptSample> attempts;
};

// Health of one routing target, set by the router from any thread (relaxed atomics). The
// reference returned by Registry::target_health() stays valid for the Registry's lifetime.
struct TargetHealth {
    std::atomic<int> healthy{1};             // 1 healthy, 0 in cooldown / ejected
    std::atomic<std::int64_t> in_flight{0};  // requests currently sent to this target
    void set_healthy(bool h) { healthy.store(h ? 1 : 0, std::memory_order_relaxed); }
};

// A point-in-time copy of every metric, in a form both the Prometheus text and the OTLP
// exporter are written from. Label sets are (name, value) pairs in a fixed order.
struct MetricsSnapshot {
    using Labels = std::vector<std::pair<std::string, std::string>>;
    enum class Kind : std::uint8_t { Counter, Gauge, Histogram };
    struct Point {
        Labels labels;
        double value = 0;
        bool integer = true;  // the value is a whole number (rendered without a fraction)
    };
    struct HistogramPoint {
        Labels labels;
        std::vector<std::uint64_t> bucket_counts;  // per bucket (not cumulative), last is +Inf
        std::uint64_t count = 0;
        double sum = 0;
    };
    struct Family {
        std::string name;  // Prometheus name, e.g. switchboard_requests_total
        std::string help;
        std::string unit;  // UCUM unit for OTLP ("s", "{token}", "1", ...)
        Kind kind = Kind::Counter;
        std::vector<double> bounds;  // histograms: upper bounds of all but the +Inf bucket
        std::vector<Point> points;
        std::vector<HistogramPoint> histograms;
    };
    std::vector<Family> families;
};

// One worker's counters. record() runs on the worker thread only; the scraper reads them from
// another thread (Registry::render): values are relaxed atomics, and the maps are guarded by a
// mutex that record() takes only to insert a label set it has not seen before.
class WorkerMetrics {
  public:
    void record(const RequestSample& s);
    void set_open_connections(std::int64_t n) {
        open_connections_.store(n, std::memory_order_relaxed);
    }

  private:
    friend class Registry;
    struct Series {
        std::atomic<std::uint64_t> requests{0};
        Histogram duration;
        Histogram first_byte;
        std::atomic<std::uint64_t> input_tokens{0};
        std::atomic<std::uint64_t> output_tokens{0};
        std::atomic<std::uint64_t> cost_nano{0};  // cost in 1e-9 currency units
    };
    struct Count {
        std::atomic<std::uint64_t> count{0};
    };
    struct AttemptCount {
        std::atomic<std::uint64_t> attempts{0};
        std::atomic<std::uint64_t> retries{0};
    };
    Series& series(std::string_view model, std::string_view provider, int status);
    Count& errors(std::string_view code);
    AttemptCount& attempts(std::string_view provider, std::string_view target,
                           std::string_view result);

    mutable std::mutex mu_;  // guards insertion into / iteration of the maps
    std::unordered_map<std::string, std::unique_ptr<Series>>
        series_;  // key: model\0provider\0status
    std::unordered_map<std::string, std::unique_ptr<Count>> errors_;
    std::unordered_map<std::string, std::unique_ptr<AttemptCount>>
        attempts_;  // key: provider\0target\0result
    Histogram overhead_;
    std::atomic<std::int64_t> open_connections_{0};
};

// All workers' metrics, summed when scraped. Owned by the Gateway; render() and snapshot() may
// run on any thread while workers record. add_worker() runs before the workers start.
class Registry {
  public:
    WorkerMetrics& add_worker();

    // The health gauge of a routing target, created on first use (thread-safe; takes a lock,
    // so callers keep the reference rather than looking it up per request).
    TargetHealth& target_health(std::string_view provider, std::string_view target);

    // Appends a subsystem's own metric families to every scrape (Prometheus text: complete
    // `# HELP`/`# TYPE` blocks, each line ending in '\n'). The function runs on the scraping
    // thread and must not block for long. Thread-safe. Returns an id for remove_collector(),
    // which the owner of what the function refers to calls before that goes away.
    std::uint64_t add_collector(std::function<void(std::string&)> collector);
    void remove_collector(std::uint64_t id);

    MetricsSnapshot snapshot() const;
    // Prometheus text exposition format (version 0.0.4): snapshot() then the collectors.
    std::string render() const;

  private:
    std::vector<std::unique_ptr<WorkerMetrics>> workers_;
    mutable std::mutex mu_;  // guards targets_ and collectors_
    std::unordered_map<std::string, std::unique_ptr<TargetHealth>> targets_;  // provider\0target
    std::vector<std::pair<std::uint64_t, std::function<void(std::string&)>>> collectors_;
    std::uint64_t next_collector_ = 1;
};

// Writes a snapshot as Prometheus text (exposed for tests and for collectors that build a
// MetricsSnapshot of their own).
void render_prometheus(const MetricsSnapshot& snapshot, std::string& out);

}  // namespace sb::telemetry
