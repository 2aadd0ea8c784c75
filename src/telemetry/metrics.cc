#include "telemetry/metrics.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <tuple>

namespace sb::telemetry {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;
constexpr double kNano = 1e9;

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

// HELP text escaping (exposition format 0.0.4): backslash and line feed.
std::string escape_help(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_value(double v, bool integer) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    if (integer && std::fabs(v) < 9.0e15) {
        return fmt::format("{}", static_cast<std::int64_t>(v));
    }
    return fmt::format("{}", v);
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
    MetricsSnapshot::HistogramPoint point(MetricsSnapshot::Labels labels) const {
        MetricsSnapshot::HistogramPoint p;
        p.labels = std::move(labels);
        p.bucket_counts.assign(buckets.begin(), buckets.end());
        // The bucket counters and the count are read one by one while workers record, so the
        // count is taken as the buckets' total: +Inf always equals _count.
        p.count = 0;
        for (auto b : buckets) {
            p.count += b;
        }
        p.sum = static_cast<double>(sum_ns) / kNano;
        return p;
    }
};

std::vector<double> latency_bounds() {
    return {kLatencyBuckets.begin(), kLatencyBuckets.end()};
}

// Splits a map key made of fields joined by '\0'.
std::vector<std::string> split_key(const std::string& key) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        auto end = key.find('\0', start);
        if (end == std::string::npos) {
            parts.push_back(key.substr(start));
            return parts;
        }
        parts.push_back(key.substr(start, end - start));
        start = end + 1;
    }
}

std::string join_key(std::initializer_list<std::string_view> parts) {
    std::string key;
    bool first = true;
    for (auto p : parts) {
        if (!first) {
            key += '\0';
        }
        first = false;
        key.append(p);
    }
    return key;
}

void render_labels(std::string& out, const MetricsSnapshot::Labels& labels,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
    if (labels.empty() && extra_name.empty()) {
        return;
    }
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
        if (!first) {
            out += ',';
        }
        first = false;
        fmt::format_to(std::back_inserter(out), "{}=\"{}\"", k, escape_label(v));
    }
    if (!extra_name.empty()) {
        if (!first) {
            out += ',';
        }
        fmt::format_to(std::back_inserter(out), "{}=\"{}\"", extra_name, extra_value);
    }
    out += '}';
}

}  // namespace

void Histogram::observe(double seconds) {
    if (!(seconds >= 0)) {  // negative or NaN
        seconds = 0;
    }
    std::size_t i = 0;
    while (i < kLatencyBuckets.size() && seconds > kLatencyBuckets[i]) {
        ++i;
    }
    buckets[i].fetch_add(1, kRelaxed);
    count.fetch_add(1, kRelaxed);
    sum_ns.fetch_add(static_cast<std::uint64_t>(seconds * kNano), kRelaxed);
}

WorkerMetrics::Series& WorkerMetrics::series(std::string_view model, std::string_view provider,
                                             int status) {
    std::string status_text = std::to_string(status);
    std::string key = join_key({model, provider, status_text});
    // Only this thread inserts, so a lookup without the lock cannot race with an insertion.
    if (auto it = series_.find(key); it != series_.end()) {
        return *it->second;
    }
    std::lock_guard lock(mu_);
    return *series_.emplace(std::move(key), std::make_unique<Series>()).first->second;
}

WorkerMetrics::Count& WorkerMetrics::errors(std::string_view code) {
    if (auto it = errors_.find(std::string(code)); it != errors_.end()) {
        return *it->second;
    }
    std::lock_guard lock(mu_);
    return *errors_.emplace(std::string(code), std::make_unique<Count>()).first->second;
}

WorkerMetrics::AttemptCount& WorkerMetrics::attempts(std::string_view provider,
                                                     std::string_view target,
                                                     std::string_view result) {
    std::string key = join_key({provider, target, result});
    if (auto it = attempts_.find(key); it != attempts_.end()) {
        return *it->second;
    }
    std::lock_guard lock(mu_);
    return *attempts_.emplace(std::move(key), std::make_unique<AttemptCount>()).first->second;
}

void WorkerMetrics::record(const RequestSample& s) {
    overhead_.observe(s.overhead_seconds);
    if (!s.error_code.empty()) {
        errors(s.error_code).count.fetch_add(1, kRelaxed);
    }
    for (std::size_t i = 0; i < s.attempts.size(); ++i) {
        const AttemptSample& a = s.attempts[i];
        AttemptCount& c = attempts(a.provider, a.target, a.result.empty() ? "ok" : a.result);
        c.attempts.fetch_add(1, kRelaxed);
        if (i > 0) {
            c.retries.fetch_add(1, kRelaxed);
        }
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
    if (s.input_tokens > 0) {
        series_for.input_tokens.fetch_add(static_cast<std::uint64_t>(s.input_tokens), kRelaxed);
    }
    if (s.output_tokens > 0) {
        series_for.output_tokens.fetch_add(static_cast<std::uint64_t>(s.output_tokens), kRelaxed);
    }
    if (s.cost > 0 && std::isfinite(s.cost)) {
        series_for.cost_nano.fetch_add(static_cast<std::uint64_t>(std::llround(s.cost * kNano)),
                                       kRelaxed);
    }
}

WorkerMetrics& Registry::add_worker() {
    workers_.push_back(std::make_unique<WorkerMetrics>());
    return *workers_.back();
}

TargetHealth& Registry::target_health(std::string_view provider, std::string_view target) {
    std::string key = join_key({provider, target});
    std::lock_guard lock(mu_);
    auto& slot = targets_[key];
    if (!slot) {
        slot = std::make_unique<TargetHealth>();
    }
    return *slot;
}

std::uint64_t Registry::add_collector(std::function<void(std::string&)> collector) {
    std::lock_guard lock(mu_);
    collectors_.emplace_back(next_collector_, std::move(collector));
    return next_collector_++;
}

void Registry::remove_collector(std::uint64_t id) {
    std::lock_guard lock(mu_);
    std::erase_if(collectors_, [id](const auto& c) { return c.first == id; });
}

MetricsSnapshot Registry::snapshot() const {
    struct Sum {
        std::uint64_t requests = 0;
        HistogramSum duration;
        HistogramSum first_byte;
        std::uint64_t input_tokens = 0;
        std::uint64_t output_tokens = 0;
        std::uint64_t cost_nano = 0;
    };
    struct AttemptSum {
        std::uint64_t attempts = 0;
        std::uint64_t retries = 0;
    };
    // Sorted maps: a stable output order, and series with the same model/provider but a
    // different status adjacent.
    std::map<std::tuple<std::string, std::string, std::string>, Sum> series;
    std::map<std::string, std::uint64_t> errors;
    std::map<std::tuple<std::string, std::string, std::string>, AttemptSum> attempts;
    HistogramSum overhead;
    std::int64_t open = 0;
    for (const auto& w : workers_) {
        std::lock_guard lock(w->mu_);
        for (const auto& [key, s] : w->series_) {
            auto parts = split_key(key);
            Sum& sum = series[{parts[0], parts[1], parts[2]}];
            sum.requests += s->requests.load(kRelaxed);
            sum.duration.add(s->duration);
            sum.first_byte.add(s->first_byte);
            sum.input_tokens += s->input_tokens.load(kRelaxed);
            sum.output_tokens += s->output_tokens.load(kRelaxed);
            sum.cost_nano += s->cost_nano.load(kRelaxed);
        }
        for (const auto& [code, e] : w->errors_) {
            errors[code] += e->count.load(kRelaxed);
        }
        for (const auto& [key, a] : w->attempts_) {
            auto parts = split_key(key);
            AttemptSum& sum = attempts[{parts[0], parts[1], parts[2]}];
            sum.attempts += a->attempts.load(kRelaxed);
            sum.retries += a->retries.load(kRelaxed);
        }
        overhead.add(w->overhead_);
        open += w->open_connections_.load(kRelaxed);
    }
    // Histograms and token/cost counters are per (model, provider), summed over statuses.
    std::map<std::pair<std::string, std::string>, Sum> by_model;
    for (const auto& [k, s] : series) {
        Sum& m = by_model[{std::get<0>(k), std::get<1>(k)}];
        m.duration.count += s.duration.count;
        m.duration.sum_ns += s.duration.sum_ns;
        m.first_byte.count += s.first_byte.count;
        m.first_byte.sum_ns += s.first_byte.sum_ns;
        for (std::size_t i = 0; i < s.duration.buckets.size(); ++i) {
            m.duration.buckets[i] += s.duration.buckets[i];
            m.first_byte.buckets[i] += s.first_byte.buckets[i];
        }
        m.input_tokens += s.input_tokens;
        m.output_tokens += s.output_tokens;
        m.cost_nano += s.cost_nano;
    }

    using Kind = MetricsSnapshot::Kind;
    MetricsSnapshot snap;
    auto family = [&](std::string name, std::string help, std::string unit, Kind kind) {
        MetricsSnapshot::Family f;
        f.name = std::move(name);
        f.help = std::move(help);
        f.unit = std::move(unit);
        f.kind = kind;
        if (kind == Kind::Histogram) {
            f.bounds = latency_bounds();
        }
        snap.families.push_back(std::move(f));
        return &snap.families.back();
    };
    auto model_labels = [](const std::pair<std::string, std::string>& k) {
        return MetricsSnapshot::Labels{{"model", k.first}, {"provider", k.second}};
    };

    auto* f = family("switchboard_requests_total",
                     "Requests to a model, by public model, provider and HTTP status.", "{request}",
                     Kind::Counter);
    for (const auto& [k, s] : series) {
        f->points.push_back(
            {{{"model", std::get<0>(k)}, {"provider", std::get<1>(k)}, {"status", std::get<2>(k)}},
             static_cast<double>(s.requests)});
    }
    f = family("switchboard_errors_total", "Error responses, by error code.", "{request}",
               Kind::Counter);
    for (const auto& [code, n] : errors) {
        f->points.push_back({{{"code", code}}, static_cast<double>(n)});
    }
    f = family("switchboard_request_duration_seconds", "Total time of requests to a model.", "s",
               Kind::Histogram);
    for (const auto& [k, s] : by_model) {
        f->histograms.push_back(s.duration.point(model_labels(k)));
    }
    f = family("switchboard_time_to_first_byte_seconds",
               "Streams: time until the first byte of the body reached the client.", "s",
               Kind::Histogram);
    for (const auto& [k, s] : by_model) {
        if (s.first_byte.count > 0) {
            f->histograms.push_back(s.first_byte.point(model_labels(k)));
        }
    }
    f = family("switchboard_gateway_overhead_seconds",
               "Time spent in the gateway itself (total minus waiting for the upstream).", "s",
               Kind::Histogram);
    f->histograms.push_back(overhead.point({}));
    f = family("switchboard_tokens_total",
               "Tokens reported by the upstreams, by public model, provider and type (input or "
               "output).",
               "{token}", Kind::Counter);
    for (const auto& [k, s] : by_model) {
        auto in = model_labels(k);
        in.emplace_back("type", "input");
        f->points.push_back({std::move(in), static_cast<double>(s.input_tokens)});
        auto out = model_labels(k);
        out.emplace_back("type", "output");
        f->points.push_back({std::move(out), static_cast<double>(s.output_tokens)});
    }
    f = family("switchboard_cost_total",
               "Cost of requests in the price table's currency units, by public model and "
               "provider.",
               "1", Kind::Counter);
    for (const auto& [k, s] : by_model) {
        f->points.push_back({model_labels(k), static_cast<double>(s.cost_nano) / kNano, false});
    }
    f = family("switchboard_upstream_attempts_total",
               "Upstream attempts, by provider, target (upstream model) and result (ok or the "
               "error code).",
               "{attempt}", Kind::Counter);
    for (const auto& [k, a] : attempts) {
        f->points.push_back(
            {{{"provider", std::get<0>(k)}, {"target", std::get<1>(k)}, {"result", std::get<2>(k)}},
             static_cast<double>(a.attempts)});
    }
    f = family("switchboard_upstream_retries_total",
               "Upstream attempts after a request's first (retries and fallbacks), by provider, "
               "target and result.",
               "{attempt}", Kind::Counter);
    for (const auto& [k, a] : attempts) {
        if (a.retries > 0) {
            f->points.push_back({{{"provider", std::get<0>(k)},
                                  {"target", std::get<1>(k)},
                                  {"result", std::get<2>(k)}},
                                 static_cast<double>(a.retries)});
        }
    }
    {
        std::map<std::pair<std::string, std::string>, std::pair<int, std::int64_t>> targets;
        {
            std::lock_guard lock(mu_);
            for (const auto& [key, t] : targets_) {
                auto parts = split_key(key);
                targets[{parts[0], parts[1]}] = {t->healthy.load(kRelaxed),
                                                 t->in_flight.load(kRelaxed)};
            }
        }
        f = family("switchboard_target_healthy",
                   "1 when a routing target is healthy, 0 while it is in cooldown or ejected.", "1",
                   Kind::Gauge);
        for (const auto& [k, v] : targets) {
            f->points.push_back(
                {{{"provider", k.first}, {"target", k.second}}, static_cast<double>(v.first)});
        }
        f = family("switchboard_target_in_flight", "Requests currently sent to a routing target.",
                   "{request}", Kind::Gauge);
        for (const auto& [k, v] : targets) {
            f->points.push_back(
                {{{"provider", k.first}, {"target", k.second}}, static_cast<double>(v.second)});
        }
    }
    f = family("switchboard_open_connections", "Client connections open.", "{connection}",
               Kind::Gauge);
    f->points.push_back({{}, static_cast<double>(open)});
    return snap;
}

void render_prometheus(const MetricsSnapshot& snapshot, std::string& out) {
    for (const auto& f : snapshot.families) {
        std::string_view type = f.kind == MetricsSnapshot::Kind::Counter ? "counter"
                                : f.kind == MetricsSnapshot::Kind::Gauge ? "gauge"
                                                                         : "histogram";
        fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", f.name,
                       escape_help(f.help), f.name, type);
        for (const auto& p : f.points) {
            out += f.name;
            render_labels(out, p.labels);
            fmt::format_to(std::back_inserter(out), " {}\n", format_value(p.value, p.integer));
        }
        for (const auto& h : f.histograms) {
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i < h.bucket_counts.size(); ++i) {
                cumulative += h.bucket_counts[i];
                std::string le = i < f.bounds.size() ? format_value(f.bounds[i], false) : "+Inf";
                fmt::format_to(std::back_inserter(out), "{}_bucket", f.name);
                render_labels(out, h.labels, "le", le);
                fmt::format_to(std::back_inserter(out), " {}\n", cumulative);
            }
            fmt::format_to(std::back_inserter(out), "{}_sum", f.name);
            render_labels(out, h.labels);
            fmt::format_to(std::back_inserter(out), " {}\n{}_count", format_value(h.sum, false),
                           f.name);
            render_labels(out, h.labels);
            fmt::format_to(std::back_inserter(out), " {}\n", h.count);
        }
    }
}

std::string Registry::render() const {
    std::string out;
    render_prometheus(snapshot(), out);
    std::lock_guard lock(mu_);
    for (const auto& [id, collect] : collectors_) {
        collect(out);
    }
    return out;
}

}  // namespace sb::telemetry
