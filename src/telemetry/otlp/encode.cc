#include "telemetry/otlp/encode.h"

#include <boost/json.hpp>
#include <cmath>

namespace sb::telemetry::otlp {
namespace json = boost::json;
namespace {

// OTLP enum values (opentelemetry/proto/trace/v1/trace.proto, metrics.proto).
constexpr int kSpanKindServer = 2;
constexpr int kSpanKindClient = 3;
constexpr int kStatusError = 2;
constexpr int kCumulative = 2;
constexpr std::string_view kScopeName = "switchboard";

std::string hex(std::uint64_t v, int digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(static_cast<std::size_t>(digits), '0');
    for (int i = digits - 1; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = kHex[v & 0xF];
        v >>= 4;
    }
    return out;
}

json::object string_attr(std::string_view key, std::string_view value) {
    return {{"key", key}, {"value", {{"stringValue", value}}}};
}

json::object int_attr(std::string_view key, std::int64_t value) {
    // int64 is a JSON string in the protobuf JSON mapping.
    return {{"key", key}, {"value", {{"intValue", std::to_string(value)}}}};
}

json::object double_attr(std::string_view key, double value) {
    return {{"key", key}, {"value", {{"doubleValue", value}}}};
}

json::object bool_attr(std::string_view key, bool value) {
    return {{"key", key}, {"value", {{"boolValue", value}}}};
}

json::object string_array_attr(std::string_view key, const std::vector<std::string>& values) {
    json::array items;
    for (const auto& v : values) {
        items.push_back(json::object{{"stringValue", v}});
    }
    return {{"key", key}, {"value", {{"arrayValue", {{"values", std::move(items)}}}}}};
}

json::object resource_json(const Resource& r) {
    json::array attrs;
    attrs.push_back(string_attr("service.name", r.service_name));
    if (!r.service_version.empty()) {
        attrs.push_back(string_attr("service.version", r.service_version));
    }
    if (!r.instance_id.empty()) {
        attrs.push_back(string_attr("service.instance.id", r.instance_id));
    }
    return {{"attributes", std::move(attrs)}};
}

json::object scope_json(const Resource& r) {
    json::object scope{{"name", kScopeName}};
    if (!r.service_version.empty()) {
        scope["version"] = r.service_version;
    }
    return scope;
}

// The provider attributes: gen_ai.provider.name (current conventions) and gen_ai.system (the
// attribute it replaced, still read by many backends), plus our own provider name.
void provider_attrs(json::array& attrs, std::string_view system, std::string_view provider) {
    std::string_view name = system.empty() ? provider : system;
    if (!name.empty()) {
        attrs.push_back(string_attr("gen_ai.provider.name", name));
        attrs.push_back(string_attr("gen_ai.system", name));
    }
    if (!provider.empty()) {
        attrs.push_back(string_attr("switchboard.provider", provider));
    }
}

void usage_attrs(json::array& attrs, std::int64_t input, std::int64_t output) {
    if (input >= 0) {
        attrs.push_back(int_attr("gen_ai.usage.input_tokens", input));
    }
    if (output >= 0) {
        attrs.push_back(int_attr("gen_ai.usage.output_tokens", output));
    }
}

std::string span_name(std::string_view operation, std::string_view model) {
    std::string name(operation);
    if (!model.empty()) {
        name += ' ';
        name += model;
    }
    return name;
}

json::object server_span(const RequestTrace& t, const std::string& trace_id,
                         const std::string& span_id) {
    json::array attrs;
    attrs.push_back(string_attr("gen_ai.operation.name", t.operation));
    if (!t.request_model.empty()) {
        attrs.push_back(string_attr("gen_ai.request.model", t.request_model));
    }
    if (!t.response_model.empty()) {
        attrs.push_back(string_attr("gen_ai.response.model", t.response_model));
    }
    provider_attrs(attrs, t.provider_system, t.provider);
    usage_attrs(attrs, t.input_tokens, t.output_tokens);
    if (!t.finish_reasons.empty()) {
        attrs.push_back(string_array_attr("gen_ai.response.finish_reasons", t.finish_reasons));
    }
    if (t.status != 0) {
        attrs.push_back(int_attr("http.response.status_code", t.status));
    }
    if (!t.error_code.empty()) {
        attrs.push_back(string_attr("error.type", t.error_code));
    }
    if (!t.request_id.empty()) {
        attrs.push_back(string_attr("switchboard.request_id", t.request_id));
    }
    if (t.cost >= 0 && std::isfinite(t.cost)) {
        attrs.push_back(double_attr("switchboard.cost", t.cost));
    }
    attrs.push_back(bool_attr("switchboard.stream", t.stream));
    attrs.push_back(int_attr("switchboard.attempts", static_cast<std::int64_t>(t.attempts.size())));
    json::object span{{"traceId", trace_id},
                      {"spanId", span_id},
                      {"name", span_name(t.operation, t.request_model)},
                      {"kind", kSpanKindServer},
                      {"startTimeUnixNano", std::to_string(t.start_unix_nano)},
                      {"endTimeUnixNano", std::to_string(t.end_unix_nano)},
                      {"attributes", std::move(attrs)}};
    if (t.parent) {
        span["parentSpanId"] = t.parent->span_id;
    }
    // HTTP server spans: only 5xx marks the span as failed (4xx is the client's error).
    if (t.status >= 500 || (t.status == 0 && !t.error_code.empty())) {
        span["status"] = json::object{{"code", kStatusError}, {"message", t.error_code}};
    }
    return span;
}

json::object client_span(const RequestTrace& t, const Attempt& a, std::size_t index,
                         const std::string& trace_id, const std::string& parent_id,
                         const std::string& span_id) {
    json::array attrs;
    attrs.push_back(string_attr("gen_ai.operation.name", t.operation));
    if (!a.target.empty()) {
        attrs.push_back(string_attr("gen_ai.request.model", a.target));
    }
    provider_attrs(attrs, a.provider_system, a.provider);
    usage_attrs(attrs, a.input_tokens, a.output_tokens);
    if (a.status != 0) {
        attrs.push_back(int_attr("http.response.status_code", a.status));
    }
    if (!a.error_code.empty()) {
        attrs.push_back(string_attr("error.type", a.error_code));
    }
    attrs.push_back(int_attr("switchboard.attempt", static_cast<std::int64_t>(index)));
    json::object span{{"traceId", trace_id},
                      {"spanId", span_id},
                      {"parentSpanId", parent_id},
                      {"name", span_name(t.operation, a.target)},
                      {"kind", kSpanKindClient},
                      {"startTimeUnixNano", std::to_string(a.start_unix_nano)},
                      {"endTimeUnixNano", std::to_string(a.end_unix_nano)},
                      {"attributes", std::move(attrs)}};
    // HTTP client spans: any 4xx/5xx or a failure without a status is an error.
    if (a.status >= 400 || !a.error_code.empty()) {
        span["status"] = json::object{{"code", kStatusError}, {"message", a.error_code}};
    }
    return span;
}

json::array labels_json(const MetricsSnapshot::Labels& labels) {
    json::array attrs;
    for (const auto& [k, v] : labels) {
        attrs.push_back(string_attr(k, v));
    }
    return attrs;
}

}  // namespace

IdGenerator::IdGenerator() {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    rng_.seed(seq);
}

std::string IdGenerator::trace_id() {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    while (hi == 0 && lo == 0) {
        hi = rng_();
        lo = rng_();
    }
    return hex(hi, 16) + hex(lo, 16);
}

std::string IdGenerator::span_id() {
    std::uint64_t v = 0;
    while (v == 0) {
        v = rng_();
    }
    return hex(v, 16);
}

std::string encode_traces(const std::vector<RequestTrace>& traces, const Resource& resource,
                          IdGenerator& ids) {
    json::array spans;
    for (const RequestTrace& t : traces) {
        std::string trace_id = t.parent             ? t.parent->trace_id
                               : t.trace_id.empty() ? ids.trace_id()
                                                    : t.trace_id;
        std::string span_id = t.span_id.empty() ? ids.span_id() : t.span_id;
        spans.push_back(server_span(t, trace_id, span_id));
        for (std::size_t i = 0; i < t.attempts.size(); ++i) {
            const Attempt& a = t.attempts[i];
            spans.push_back(client_span(t, a, i, trace_id, span_id,
                                        a.span_id.empty() ? ids.span_id() : a.span_id));
        }
    }
    json::object scope_spans{{"scope", scope_json(resource)}, {"spans", std::move(spans)}};
    json::object rs{{"resource", resource_json(resource)},
                    {"scopeSpans", json::array{std::move(scope_spans)}}};
    json::object root{{"resourceSpans", json::array{std::move(rs)}}};
    return json::serialize(root);
}

std::string encode_metrics(const MetricsSnapshot& snapshot, const Resource& resource,
                           std::uint64_t start_unix_nano, std::uint64_t now_unix_nano) {
    const std::string start = std::to_string(start_unix_nano);
    const std::string now = std::to_string(now_unix_nano);
    json::array metrics;
    for (const auto& f : snapshot.families) {
        if (f.points.empty() && f.histograms.empty()) {
            continue;
        }
        json::object m{{"name", f.name}, {"description", f.help}, {"unit", f.unit}};
        if (f.kind == MetricsSnapshot::Kind::Histogram) {
            json::array points;
            for (const auto& h : f.histograms) {
                json::array counts;
                for (auto c : h.bucket_counts) {
                    counts.push_back(json::value(std::to_string(c)));
                }
                json::array bounds;
                for (double b : f.bounds) {
                    bounds.push_back(b);
                }
                points.push_back(json::object{{"attributes", labels_json(h.labels)},
                                              {"startTimeUnixNano", start},
                                              {"timeUnixNano", now},
                                              {"count", std::to_string(h.count)},
                                              {"sum", h.sum},
                                              {"bucketCounts", std::move(counts)},
                                              {"explicitBounds", std::move(bounds)}});
            }
            m["histogram"] = json::object{{"aggregationTemporality", kCumulative},
                                          {"dataPoints", std::move(points)}};
        } else {
            const bool counter = f.kind == MetricsSnapshot::Kind::Counter;
            json::array points;
            for (const auto& p : f.points) {
                json::object dp{{"attributes", labels_json(p.labels)}, {"timeUnixNano", now}};
                if (counter) {
                    dp["startTimeUnixNano"] = start;
                }
                if (p.integer) {
                    dp["asInt"] = std::to_string(static_cast<std::int64_t>(p.value));
                } else {
                    dp["asDouble"] = p.value;
                }
                points.push_back(std::move(dp));
            }
            if (counter) {
                m["sum"] = json::object{{"aggregationTemporality", kCumulative},
                                        {"isMonotonic", true},
                                        {"dataPoints", std::move(points)}};
            } else {
                m["gauge"] = json::object{{"dataPoints", std::move(points)}};
            }
        }
        metrics.push_back(std::move(m));
    }
    json::object scope_metrics{{"scope", scope_json(resource)}, {"metrics", std::move(metrics)}};
    json::object rm{{"resource", resource_json(resource)},
                    {"scopeMetrics", json::array{std::move(scope_metrics)}}};
    json::object root{{"resourceMetrics", json::array{std::move(rm)}}};
    return json::serialize(root);
}

}  // namespace sb::telemetry::otlp
