#include "telemetry/metrics.h"

#include <fmt/format.h>

#include <map>
#include <tuple>

namespace sb::telemetry {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

std::string escape_label(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

struct HistogramSum {
    std::array<std::uint64_t, kLatencyBuckets.size() + 1> buckets{};
    std::uint64_t count = 0;
    std::uint64_t sum_ns = 0;
    void add(const Histogram& h) {
        for (std::size_t i = 0; i < buckets.size(); ++i) {
            buckets[i] += h.buckets[i].load(kRelaxed);
        }
        count += h.count.load(kRelaxed);
        sum_ns += h.sum_ns.load(kRelaxed);
    }
};

void render_histogram(std::string& out, std::string_view name, std::string_view labels,
                      const HistogramSum& h) {
    std::uint64_t cumulative = 0;
    std::string_view sep = labels.empty() ? "" : ",";
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
        cumulative += h.buckets[i];
        fmt::format_to(std::back_inserter(out), "{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels,
                       sep, kLatencyBuckets[i], cumulative);
    }
    cumulative += h.buckets.back();
    fmt::format_to(std::back_inserter(out), "{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep,
                   cumulative);
    std::string braces = labels.empty() ? "" : fmt::format("{{{}}}", labels);
    fmt::format_to(std::back_inserter(out), "{}_sum{} {}\n{}_count{} {}\n", name, braces,
                   static_cast<double>(h.sum_ns) / 1e9, name, braces, h.count);
}

}  // namespace

void Histogram::observe(double seconds) {
    if (seconds < 0) {
        seconds = 0;
    }
    std::size_t i = 0;
    while (i < kLatencyBuckets.size() && seconds > kLatencyBuckets[i]) {
        ++i;
    }
    buckets[i].fetch_add(1, kRelaxed);
    count.fetch_add(1, kRelaxed);
    sum_ns.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), kRelaxed);
}

WorkerMetrics::Series& WorkerMetrics::series(std::string_view model, std::string_view provider,
                                             int status) {
    std::string key;
    key.reserve(model.size() + provider.size() + 6);
    key.append(model).append(1, '\0').append(provider).append(1, '\0');
    key += std::to_string(status);
    // Only this thread inserts, so a lookup without the lock cannot race with an insertion.
    if (auto it = series_.find(key); it != series_.end()) {
        return *it->second;
    }
    std::lock_guard lock(mu_);
    return *series_.emplace(std::move(key), std::make_unique<Series>()).first->second;
}

WorkerMetrics::ErrorCount& WorkerMetrics::errors(std::string_view code) {
    if (auto it = errors_.find(std::string(code)); it != errors_.end()) {
        return *it->second;
    }
    std::lock_guard lock(mu_);
    return *errors_.emplace(std::string(code), std::make_unique<ErrorCount>()).first->second;
}

void WorkerMetrics::record(const RequestSample& s) {
    overhead_.observe(s.overhead_seconds);
    if (!s.error_code.empty()) {
        errors(s.error_code).count.fetch_add(1, kRelaxed);
    }
    if (s.model.empty()) {
        return;
    }
    Series& series_for = series(s.model, s.provider, s.status);
    series_for.requests.fetch_add(1, kRelaxed);
    series_for.duration.observe(s.total_seconds);
    if (s.first_byte_seconds >= 0) {
        series_for.first_byte.observe(s.first_byte_seconds);
    }
}

WorkerMetrics& Registry::add_worker() {
    workers_.push_back(std::make_unique<WorkerMetrics>());
    return *workers_.back();
}

std::string Registry::render() const {
    struct Sum {
        std::uint64_t requests = 0;
        HistogramSum duration;
        HistogramSum first_byte;
    };
    std::map<std::tuple<std::string, std::string, std::string>, Sum> series;
    std::map<std::string, std::uint64_t> errors;
    HistogramSum overhead;
    std::int64_t open = 0;
    for (const auto& w : workers_) {
        std::lock_guard lock(w->mu_);
        for (const auto& [key, s] : w->series_) {
            auto a = key.find('\0');
            auto b = key.find('\0', a + 1);
            Sum& sum = series[{key.substr(0, a), key.substr(a + 1, b - a - 1), key.substr(b + 1)}];
            sum.requests += s->requests.load(kRelaxed);
            sum.duration.add(s->duration);
            sum.first_byte.add(s->first_byte);
        }
        for (const auto& [code, e] : w->errors_) {
            errors[code] += e->count.load(kRelaxed);
        }
        overhead.add(w->overhead_);
        open += w->open_connections_.load(kRelaxed);
    }
    std::string out;
    out +=
        "# HELP switchboard_requests_total Requests to a model, by public model, provider and "
        "HTTP status.\n# TYPE switchboard_requests_total counter\n";
    for (const auto& [k, s] : series) {
        fmt::format_to(std::back_inserter(out),
                       "switchboard_requests_total{{model=\"{}\",provider=\"{}\",status=\"{}\"}} "
                       "{}\n",
                       escape_label(std::get<0>(k)), escape_label(std::get<1>(k)), std::get<2>(k),
                       s.requests);
    }
    out +=
        "# HELP switchboard_errors_total Error responses, by error code.\n"
        "# TYPE switchboard_errors_total counter\n";
    for (const auto& [code, n] : errors) {
        fmt::format_to(std::back_inserter(out), "switchboard_errors_total{{code=\"{}\"}} {}\n",
                       escape_label(code), n);
    }
    out +=
        "# HELP switchboard_request_duration_seconds Total time of requests to a model.\n"
        "# TYPE switchboard_request_duration_seconds histogram\n";
    for (const auto& [k, s] : series) {
        render_histogram(out, "switchboard_request_duration_seconds",
                         fmt::format("model=\"{}\",provider=\"{}\"", escape_label(std::get<0>(k)),
                                     escape_label(std::get<1>(k))),
                         s.duration);
    }
    out +=
        "# HELP switchboard_time_to_first_byte_seconds Streams: time until the first byte of "
        "the body reached the client.\n"
        "# TYPE switchboard_time_to_first_byte_seconds histogram\n";
    for (const auto& [k, s] : series) {
        if (s.first_byte.count == 0) {
            continue;
        }
        render_histogram(out, "switchboard_time_to_first_byte_seconds",
                         fmt::format("model=\"{}\",provider=\"{}\"", escape_label(std::get<0>(k)),
                                     escape_label(std::get<1>(k))),
                         s.first_byte);
    }
    out +=
        "# HELP switchboard_gateway_overhead_seconds Time spent in the gateway itself (total "
        "minus waiting for the upstream).\n"
        "# TYPE switchboard_gateway_overhead_seconds histogram\n";
    render_histogram(out, "switchboard_gateway_overhead_seconds", "", overhead);
    fmt::format_to(std::back_inserter(out),
                   "# HELP switchboard_open_connections Client connections open.\n"
                   "# TYPE switchboard_open_connections gauge\nswitchboard_open_connections {}\n",
                   open);
    return out;
}

}  // namespace sb::telemetry
