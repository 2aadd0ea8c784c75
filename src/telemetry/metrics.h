#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
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

// What one finished request contributes to the metrics.
struct RequestSample {
    std::string_view model;     // public model name ("" for non-model routes)
    std::string_view provider;  // provider name ("" if none was chosen)
    int status = 0;
    std::string_view error_code;  // the error body's `code` ("" when none / not an error)
    double total_seconds = 0;
    double overhead_seconds = 0;
    double first_byte_seconds = -1;  // streams: time to the first byte of the body; <0 if none
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
    };
    struct ErrorCount {
        std::atomic<std::uint64_t> count{0};
    };
    Series& series(std::string_view model, std::string_view provider, int status);
    ErrorCount& errors(std::string_view code);

    mutable std::mutex mu_;  // guards insertion into / iteration of the maps
    std::unordered_map<std::string, std::unique_ptr<Series>>
        series_;  // key: model\0provider\0status
    std::unordered_map<std::string, std::unique_ptr<ErrorCount>> errors_;
    Histogram overhead_;
    std::atomic<std::int64_t> open_connections_{0};
};

// All workers' metrics, summed when scraped. Owned by the Gateway; render() may run on any
// thread while workers record.
class Registry {
  public:
    WorkerMetrics& add_worker();
    // Prometheus text exposition format (version 0.0.4).
    std::string render() const;

  private:
    std::vector<std::unique_ptr<WorkerMetrics>> workers_;
};

}  // namespace sb::telemetry
