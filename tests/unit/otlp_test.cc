#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <random>
#include <set>
#include <string>

#include "support/otlp_receiver.h"
#include "support/prometheus_text.h"
#include "telemetry/metrics.h"
#include "telemetry/otlp/encode.h"
#include "telemetry/otlp/exporter.h"
#include "telemetry/otlp/trace.h"

namespace sb::telemetry::otlp {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

bool is_lower_hex_id(const std::string& s, std::size_t len) {
    return s.size() == len && s.find_first_not_of("0123456789abcdef") == std::string::npos &&
           s.find_first_not_of('0') != std::string::npos;
}

// --- traceparent --------------------------------------------------------------------------

TEST(Traceparent, ParsesAValidVersion00Header) {
    auto tc = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    ASSERT_TRUE(tc);
    EXPECT_EQ(tc->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(tc->span_id, "00f067aa0ba902b7");
    EXPECT_EQ(tc->flags, 1);
    EXPECT_TRUE(tc->sampled());
    auto unsampled = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    ASSERT_TRUE(unsampled);
    EXPECT_FALSE(unsampled->sampled());
}

TEST(Traceparent, IgnoresSurroundingWhitespace) {
    EXPECT_TRUE(parse_traceparent(" \t00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 "));
}

TEST(Traceparent, AcceptsAFutureVersionWithMoreFields) {
    auto tc = parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-extra");
    ASSERT_TRUE(tc);
    EXPECT_EQ(tc->flags, 9);
    EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}

TEST(Traceparent, RejectsMalformedHeaders) {
    const char* bad[] = {
        "",
        "garbage",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",   // v00: nothing after
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",     // short flags
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero span id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // non-hex version
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // separator
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",    // shifted separator
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z",    // non-hex flags
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   // future, no dash
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n",  // control character
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 x",  // trailing junk
    };
    for (const char* v : bad) {
        EXPECT_FALSE(parse_traceparent(v)) << "accepted: " << v;
    }
}

TEST(Traceparent, AcceptedValuesAreExactlyTheWellFormedOnes) {
    // Mutations of a valid header: each accepted one must keep the canonical shape, and the
    // parsed fields must be its own.
    const std::string valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const std::string alphabet = "0123456789abcdefABF-xz \t";
    std::mt19937 rng(7);
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string v = valid;
        int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits; ++e) {
            std::size_t at = rng() % (v.size() + 1);
            char c = alphabet[rng() % alphabet.size()];
            switch (rng() % 3) {
                case 0:
                    if (at < v.size()) {
                        v[at] = c;
                    }
                    break;
                case 1:
                    v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), c);
                    break;
                default:
                    if (at < v.size()) {
                        v.erase(at, 1);
                    }
            }
        }
        auto tc = parse_traceparent(v);
        if (!tc) {
            continue;
        }
        ++accepted;
        std::string trimmed = v;
        while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t')) {
            trimmed.erase(0, 1);
        }
        ASSERT_GE(trimmed.size(), 55u) << v;
        EXPECT_EQ(trimmed.substr(3, 32), tc->trace_id) << v;
        EXPECT_EQ(trimmed.substr(36, 16), tc->span_id) << v;
        EXPECT_TRUE(is_lower_hex_id(tc->trace_id, 32)) << v;
        EXPECT_TRUE(is_lower_hex_id(tc->span_id, 16)) << v;
        if (trimmed.starts_with("00")) {
            EXPECT_EQ(trimmed.find_last_not_of(" \t") + 1, 55u) << v;
        }
    }
    EXPECT_GT(accepted, 100);  // the mutations do reach the accepting paths
}

TEST(OtlpOperation, FollowsTheEndpoint) {
    EXPECT_EQ(operation_for_path("/v1/chat/completions"), "chat");
    EXPECT_EQ(operation_for_path("/v1/chat/completions?x=1"), "chat");
    EXPECT_EQ(operation_for_path("/v1/messages"), "chat");
    EXPECT_EQ(operation_for_path("/v1/completions"), "text_completion");
    EXPECT_EQ(operation_for_path("/v1/embeddings"), "embeddings");
    EXPECT_EQ(operation_for_path("/v1/models"), "");
    EXPECT_EQ(operation_for_path("/v1/embeddings/x"), "");
}

// --- ids ----------------------------------------------------------------------------------

bool is_lower_hex(const std::string& s, std::size_t len) {
    return s.size() == len && s.find_first_not_of("0123456789abcdef") == std::string::npos &&
           s.find_first_not_of('0') != std::string::npos;
}

TEST(OtlpIds, AreRandomLowerHexOfTheRightLength) {
    IdGenerator ids;
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        auto t = ids.trace_id();
        auto s = ids.span_id();
        EXPECT_TRUE(is_lower_hex(t, 32)) << t;
        EXPECT_TRUE(is_lower_hex(s, 16)) << s;
        EXPECT_TRUE(seen.insert(t).second);
        EXPECT_TRUE(seen.insert(s).second);
    }
}

// --- trace encoding -------------------------------------------------------------------------

RequestTrace sample_trace() {
    RequestTrace t;
    t.request_id = "req-1";
    t.operation = "chat";
    t.request_model = "smart \"model\"\n\xc3\xa9";  // quotes, newline and UTF-8 survive
    t.response_model = "gpt-4o-2024-08-06";
    t.provider = "openai-main";
    t.provider_system = "openai";
    t.status = 200;
    t.finish_reasons = {"stop", "length"};
    t.input_tokens = 12;
    t.output_tokens = 34;
    t.cost = 0.5;
    t.stream = true;
    t.start_unix_nano = 1'700'000'000'000'000'000ULL;
    t.end_unix_nano = 1'700'000'000'500'000'000ULL;
    Attempt first;
    first.provider = "openai-main";
    first.provider_system = "openai";
    first.target = "gpt-4o";
    first.status = 503;
    first.error_code = "upstream_unavailable";
    first.start_unix_nano = t.start_unix_nano + 1000;
    first.end_unix_nano = t.start_unix_nano + 2000;
    Attempt second = first;
    second.status = 200;
    second.error_code.clear();
    second.input_tokens = 12;
    second.output_tokens = 34;
    t.attempts = {first, second};
    return t;
}

// Attribute value by key, as the JSON object holding the typed value.
const json::object* attr(const json::object& span, std::string_view key) {
    for (const auto& a : span.at("attributes").as_array()) {
        if (a.at("key").as_string() == key) {
            return &a.at("value").as_object();
        }
    }
    return nullptr;
}

std::string str_attr(const json::object& span, std::string_view key) {
    const json::object* v = attr(span, key);
    return v == nullptr ? "<absent>" : std::string(v->at("stringValue").as_string());
}

std::string int_attr(const json::object& span, std::string_view key) {
    const json::object* v = attr(span, key);
    return v == nullptr ? "<absent>" : std::string(v->at("intValue").as_string());
}

json::array spans_of(const std::string& body) {
    json::value v = json::parse(body);
    const auto& rs = v.at("resourceSpans").as_array();
    EXPECT_EQ(rs.size(), 1u);
    json::array all;
    for (const auto& ss : rs[0].at("scopeSpans").as_array()) {
        EXPECT_EQ(ss.at("scope").at("name").as_string(), "switchboard");
        for (const auto& s : ss.at("spans").as_array()) {
            all.push_back(s);
        }
    }
    return all;
}

TEST(OtlpTraces, ServerSpanWithAChildClientSpanPerAttempt) {
    IdGenerator ids(42);
    Resource resource;
    resource.service_name = "gw-test";
    std::string body = encode_traces({sample_trace()}, resource, ids);
    json::value root = json::parse(body);
    const auto& res_attrs =
        root.at("resourceSpans").at(0).at("resource").at("attributes").as_array();
    ASSERT_FALSE(res_attrs.empty());
    EXPECT_EQ(res_attrs[0].at("key").as_string(), "service.name");
    EXPECT_EQ(res_attrs[0].at("value").at("stringValue").as_string(), "gw-test");

    json::array spans = spans_of(body);
    ASSERT_EQ(spans.size(), 3u);
    const json::object& server = spans[0].as_object();
    EXPECT_EQ(server.at("kind").as_int64(), 2);  // SPAN_KIND_SERVER
    EXPECT_FALSE(server.contains("parentSpanId"));
    const std::string trace_id(server.at("traceId").as_string());
    const std::string server_id(server.at("spanId").as_string());
    EXPECT_TRUE(is_lower_hex(trace_id, 32));
    EXPECT_TRUE(is_lower_hex(server_id, 16));
    EXPECT_EQ(server.at("name").as_string(), "chat smart \"model\"\n\xc3\xa9");
    EXPECT_EQ(server.at("startTimeUnixNano").as_string(), "1700000000000000000");
    EXPECT_EQ(server.at("endTimeUnixNano").as_string(), "1700000000500000000");
    EXPECT_EQ(str_attr(server, "gen_ai.operation.name"), "chat");
    EXPECT_EQ(str_attr(server, "gen_ai.request.model"), "smart \"model\"\n\xc3\xa9");
    EXPECT_EQ(str_attr(server, "gen_ai.response.model"), "gpt-4o-2024-08-06");
    EXPECT_EQ(str_attr(server, "gen_ai.provider.name"), "openai");
    EXPECT_EQ(str_attr(server, "gen_ai.system"), "openai");
    EXPECT_EQ(str_attr(server, "switchboard.provider"), "openai-main");
    EXPECT_EQ(int_attr(server, "gen_ai.usage.input_tokens"), "12");
    EXPECT_EQ(int_attr(server, "gen_ai.usage.output_tokens"), "34");
    EXPECT_EQ(int_attr(server, "http.response.status_code"), "200");
    EXPECT_EQ(attr(server, "error.type"), nullptr);
    EXPECT_FALSE(server.contains("status"));
    const json::object* reasons = attr(server, "gen_ai.response.finish_reasons");
    ASSERT_NE(reasons, nullptr);
    const auto& values = reasons->at("arrayValue").at("values").as_array();
    ASSERT_EQ(values.size(), 2u);
    EXPECT_EQ(values[1].at("stringValue").as_string(), "length");

    std::set<std::string> ids_seen{server_id};
    for (std::size_t i = 1; i < 3; ++i) {
        const json::object& client = spans[i].as_object();
        EXPECT_EQ(client.at("kind").as_int64(), 3);  // SPAN_KIND_CLIENT
        EXPECT_EQ(client.at("traceId").as_string(), trace_id);
        EXPECT_EQ(client.at("parentSpanId").as_string(), server_id);
        EXPECT_TRUE(ids_seen.insert(std::string(client.at("spanId").as_string())).second);
        EXPECT_EQ(str_attr(client, "gen_ai.request.model"), "gpt-4o");
        EXPECT_EQ(client.at("name").as_string(), "chat gpt-4o");
        EXPECT_EQ(int_attr(client, "switchboard.attempt"), std::to_string(i - 1));
    }
    const json::object& failed = spans[1].as_object();
    EXPECT_EQ(int_attr(failed, "http.response.status_code"), "503");
    EXPECT_EQ(str_attr(failed, "error.type"), "upstream_unavailable");
    EXPECT_EQ(failed.at("status").at("code").as_int64(), 2);  // STATUS_CODE_ERROR
    EXPECT_FALSE(spans[2].as_object().contains("status"));
}

TEST(OtlpTraces, ContinuesTheCallersTrace) {
    RequestTrace t = sample_trace();
    t.parent = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    IdGenerator ids;
    json::array spans = spans_of(encode_traces({t}, {}, ids));
    ASSERT_EQ(spans.size(), 3u);
    for (const auto& s : spans) {
        EXPECT_EQ(s.at("traceId").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    }
    EXPECT_EQ(spans[0].at("parentSpanId").as_string(), "00f067aa0ba902b7");
    EXPECT_NE(spans[0].at("spanId").as_string(), "00f067aa0ba902b7");
}

TEST(OtlpTraces, KeepsIdsTheRequestPathChose) {
    RequestTrace t = sample_trace();
    t.trace_id = "0123456789abcdef0123456789abcdef";
    t.span_id = "1111111111111111";
    t.attempts[1].span_id = "2222222222222222";
    IdGenerator ids;
    json::array spans = spans_of(encode_traces({t}, {}, ids));
    ASSERT_EQ(spans.size(), 3u);
    EXPECT_EQ(spans[0].at("traceId").as_string(), t.trace_id);
    EXPECT_EQ(spans[0].at("spanId").as_string(), "1111111111111111");
    EXPECT_EQ(spans[1].at("parentSpanId").as_string(), "1111111111111111");
    EXPECT_TRUE(is_lower_hex(std::string(spans[1].at("spanId").as_string()), 16));
    EXPECT_EQ(spans[2].at("spanId").as_string(), "2222222222222222");
    EXPECT_EQ(spans[2].at("traceId").as_string(), t.trace_id);
}

TEST(OtlpTraces, ServerErrorsMarkTheSpanAndClientErrorsDoNot) {
    RequestTrace t = sample_trace();
    t.attempts.clear();
    t.status = 502;
    t.error_code = "upstream_error";
    RequestTrace client_error = t;
    client_error.status = 400;
    client_error.error_code = "invalid_request";
    IdGenerator ids;
    json::array spans = spans_of(encode_traces({t, client_error}, {}, ids));
    ASSERT_EQ(spans.size(), 2u);
    EXPECT_EQ(spans[0].at("status").at("code").as_int64(), 2);
    EXPECT_EQ(str_attr(spans[0].as_object(), "error.type"), "upstream_error");
    EXPECT_FALSE(spans[1].as_object().contains("status"));
    EXPECT_EQ(str_attr(spans[1].as_object(), "error.type"), "invalid_request");
    EXPECT_NE(spans[0].at("traceId"), spans[1].at("traceId"));
}

// --- metrics encoding -----------------------------------------------------------------------

const json::object* metric(const json::value& root, std::string_view name) {
    for (const auto& m :
         root.at("resourceMetrics").at(0).at("scopeMetrics").at(0).at("metrics").as_array()) {
        if (m.at("name").as_string() == name) {
            return &m.as_object();
        }
    }
    return nullptr;
}

TEST(OtlpMetrics, EncodesSumsGaugesAndHistograms) {
    Registry r;
    WorkerMetrics& w = r.add_worker();
    RequestSample s;
    s.model = "m";
    s.provider = "p";
    s.status = 200;
    s.total_seconds = 0.3;
    s.input_tokens = 5;
    s.output_tokens = 7;
    s.cost = 0.25;
    w.record(s);
    s.total_seconds = 70;  // the +Inf bucket
    w.record(s);
    w.set_open_connections(3);
    json::value root = json::parse(encode_metrics(r.snapshot(), {}, 100, 200));

    const json::object* requests = metric(root, "switchboard_requests_total");
    ASSERT_NE(requests, nullptr);
    const auto& sum = requests->at("sum").as_object();
    EXPECT_EQ(sum.at("aggregationTemporality").as_int64(), 2);  // CUMULATIVE
    EXPECT_TRUE(sum.at("isMonotonic").as_bool());
    const auto& dp = sum.at("dataPoints").at(0).as_object();
    EXPECT_EQ(dp.at("asInt").as_string(), "2");
    EXPECT_EQ(dp.at("startTimeUnixNano").as_string(), "100");
    EXPECT_EQ(dp.at("timeUnixNano").as_string(), "200");
    EXPECT_EQ(dp.at("attributes").as_array().size(), 3u);

    const json::object* cost = metric(root, "switchboard_cost_total");
    ASSERT_NE(cost, nullptr);
    EXPECT_DOUBLE_EQ(cost->at("sum").at("dataPoints").at(0).at("asDouble").as_double(), 0.5);

    const json::object* open = metric(root, "switchboard_open_connections");
    ASSERT_NE(open, nullptr);
    EXPECT_EQ(open->at("gauge").at("dataPoints").at(0).at("asInt").as_string(), "3");

    const json::object* duration = metric(root, "switchboard_request_duration_seconds");
    ASSERT_NE(duration, nullptr);
    EXPECT_EQ(duration->at("unit").as_string(), "s");
    const auto& h = duration->at("histogram").as_object();
    EXPECT_EQ(h.at("aggregationTemporality").as_int64(), 2);
    const auto& hp = h.at("dataPoints").at(0).as_object();
    EXPECT_EQ(hp.at("count").as_string(), "2");
    EXPECT_NEAR(hp.at("sum").as_double(), 70.3, 1e-6);
    const auto& counts = hp.at("bucketCounts").as_array();
    const auto& bounds = hp.at("explicitBounds").as_array();
    ASSERT_EQ(counts.size(), bounds.size() + 1);
    std::uint64_t total = 0;
    for (const auto& c : counts) {
        total += std::stoull(std::string(c.as_string()));
    }
    EXPECT_EQ(total, 2u);
    EXPECT_EQ(counts.back().as_string(), "1");  // 70 s is above the last bound
    // A family with no series (no first-byte times) is left out.
    EXPECT_EQ(metric(root, "switchboard_time_to_first_byte_seconds"), nullptr);
}

// --- exporter -------------------------------------------------------------------------------

ExporterOptions options_for(const test::OtlpReceiver& rx) {
    ExporterOptions o;
    o.endpoint = rx.url() + "/";  // a trailing slash is tolerated
    o.headers = {{"x-collector-token", "tok-123"}};
    o.timeout = 5s;
    o.batch_size = 2;
    o.interval = 20ms;
    o.metrics_interval = 0ms;
    o.retry_backoff = 1ms;
    o.resource.service_name = "unit";
    return o;
}

std::size_t server_spans(const std::vector<test::OtlpReceiver::Request>& reqs) {
    std::size_t n = 0;
    for (const auto& r : reqs) {
        if (r.path != "/v1/traces" || r.answered != 200) {
            continue;
        }
        for (const auto& s : spans_of(r.body)) {
            n += s.at("kind").as_int64() == 2 ? 1 : 0;
        }
    }
    return n;
}

TEST(OtlpExporter, PostsBatchesToTheCollector) {
    test::OtlpReceiver rx;
    ASSERT_TRUE(rx.ok());
    {
        Exporter exporter(options_for(rx), nullptr);
        for (int i = 0; i < 5; ++i) {
            EXPECT_TRUE(exporter.submit(sample_trace()));
        }
        ASSERT_TRUE(rx.wait_for([](const auto& reqs) { return server_spans(reqs) == 5; }, 10s));
        EXPECT_EQ(exporter.stats().submitted, 5u);
    }
    auto reqs = rx.requests();
    for (const auto& r : reqs) {
        EXPECT_EQ(r.method, "POST");
        EXPECT_EQ(r.path, "/v1/traces");
        EXPECT_EQ(r.headers.at("content-type"), "application/json");
        EXPECT_EQ(r.headers.at("x-collector-token"), "tok-123");
        EXPECT_LE(spans_of(r.body).size(), 2u * 3u);  // batch_size requests, 3 spans each
    }
}

TEST(OtlpExporter, RetriesRetryableStatusesThenDelivers) {
    test::OtlpReceiver rx;
    rx.answer_next({503, 429, 502});
    ExporterOptions o = options_for(rx);
    o.batch_size = 1;
    {
        Exporter exporter(o, nullptr);
        exporter.submit(sample_trace());
        ASSERT_TRUE(rx.wait_for([](const auto& reqs) { return server_spans(reqs) == 1; }, 10s));
    }
    auto reqs = rx.requests();
    ASSERT_EQ(reqs.size(), 4u);
    EXPECT_EQ(reqs[0].body, reqs[3].body);  // the same payload, retried
}

TEST(OtlpExporter, DoesNotRetryARejectedPayload) {
    test::OtlpReceiver rx;
    rx.answer_next({400});
    ExporterOptions o = options_for(rx);
    o.batch_size = 1;
    Exporter exporter(o, nullptr);
    exporter.submit(sample_trace());
    ASSERT_TRUE(rx.wait_for([](const auto& reqs) { return !reqs.empty(); }, 10s));
    exporter.submit(sample_trace());  // the next batch goes through
    ASSERT_TRUE(rx.wait_for([](const auto& reqs) { return server_spans(reqs) == 1; }, 10s));
    EXPECT_EQ(rx.requests().size(), 2u);
    EXPECT_EQ(exporter.stats().failed, 1u);  // counted before the next batch was taken
}

TEST(OtlpExporter, FullQueueDropsAndCountsWithoutBlocking) {
    // Nothing listens on the endpoint: the exporter thread sits in its retry backoff while
    // the queue fills.
    std::string dead_url;
    {
        test::OtlpReceiver gone;
        dead_url = gone.url();
    }
    ExporterOptions o;
    o.endpoint = dead_url;
    o.batch_size = 4;
    o.queue_capacity = 4;
    o.interval = 1h;
    o.metrics_interval = 0ms;
    o.retry_backoff = 10s;
    Registry registry;
    {
        Exporter exporter(o, &registry);
        auto started = std::chrono::steady_clock::now();
        int accepted = 0;
        for (int i = 0; i < 11; ++i) {
            accepted += exporter.submit(sample_trace()) ? 1 : 0;
        }
        EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);  // never waited on the network
        ExporterStats s = exporter.stats();
        EXPECT_EQ(s.submitted + s.dropped, 11u);
        EXPECT_EQ(s.submitted, static_cast<std::uint64_t>(accepted));
        EXPECT_GE(s.dropped, 3u);  // at most one batch left the queue
        std::string text = registry.render();
        test::prom::Exposition e;
        auto error = test::prom::parse(text, e);
        ASSERT_FALSE(error) << *error;
        EXPECT_EQ(e.value("switchboard_otlp_traces_total", {{"outcome", "dropped"}}),
                  static_cast<double>(s.dropped));
        // Destruction interrupts the backoff (the test would hang for 10 s per retry otherwise).
    }
    // The exporter took its families out of the scrape when it went away.
    EXPECT_EQ(registry.render().find("switchboard_otlp_"), std::string::npos);
}

TEST(OtlpExporter, ShutdownWithAHungCollectorTakesOneTimeout) {
    // A listener that never accepts: connections complete in the kernel's backlog, and no
    // answer ever comes.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(fd, 128), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ExporterOptions o;
    o.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    o.timeout = 500ms;
    o.batch_size = 1;
    o.queue_capacity = 64;
    o.interval = 1h;
    o.metrics_interval = 0ms;
    auto started = std::chrono::steady_clock::now();
    {
        Exporter exporter(o, nullptr);
        for (int i = 0; i < 10; ++i) {
            exporter.submit(sample_trace());
        }
    }
    // One POST may be in flight (500 ms), then the last flush gets 500 ms in all, where ten
    // batches one after the other would take 5 s.
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
    ::close(fd);
}

TEST(OtlpExporter, SamplingFollowsTheParentAndTheRatio) {
    test::OtlpReceiver rx;
    ExporterOptions o = options_for(rx);
    o.sample_ratio = 0;
    Exporter exporter(o, nullptr);
    EXPECT_FALSE(exporter.submit(sample_trace()));
    RequestTrace sampled_parent = sample_trace();
    sampled_parent.parent =
        parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    EXPECT_TRUE(exporter.submit(std::move(sampled_parent)));
    RequestTrace unsampled_parent = sample_trace();
    unsampled_parent.parent =
        parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    EXPECT_FALSE(exporter.submit(std::move(unsampled_parent)));
    EXPECT_EQ(exporter.stats().sampled_out, 2u);

    ExporterOptions half = o;
    half.sample_ratio = 0.5;
    half.batch_size = 4096;
    half.queue_capacity = 4096;
    half.interval = 1h;
    Exporter halfway(half, nullptr);
    int kept = 0;
    for (int i = 0; i < 2000; ++i) {
        kept += halfway.submit(RequestTrace{}) ? 1 : 0;
    }
    EXPECT_GT(kept, 800);
    EXPECT_LT(kept, 1200);
}

TEST(OtlpExporter, ExportsMetricsPeriodically) {
    test::OtlpReceiver rx;
    Registry registry;
    RequestSample s;
    s.model = "m";
    s.provider = "p";
    s.status = 200;
    registry.add_worker().record(s);
    ExporterOptions o = options_for(rx);
    o.metrics_interval = 10ms;
    Exporter exporter(o, &registry);
    ASSERT_TRUE(rx.wait_for(
        [](const auto& reqs) {
            int n = 0;
            for (const auto& r : reqs) {
                n += r.path == "/v1/metrics" ? 1 : 0;
            }
            return n >= 2;
        },
        10s));
    for (const auto& r : rx.requests()) {
        if (r.path != "/v1/metrics") {
            continue;
        }
        json::value root = json::parse(r.body);
        const json::object* requests = metric(root, "switchboard_requests_total");
        ASSERT_NE(requests, nullptr);
        EXPECT_EQ(requests->at("sum").at("dataPoints").at(0).at("asInt").as_string(), "1");
    }
}

TEST(OtlpExporter, ConvertsSteadyTimesToUnixTimes) {
    test::OtlpReceiver rx;
    Exporter exporter(options_for(rx), nullptr);
    auto now = std::chrono::steady_clock::now();
    std::uint64_t a = exporter.unix_nanos(now);
    std::uint64_t b = exporter.unix_nanos(now + 1500ms);
    EXPECT_EQ(b - a, 1'500'000'000u);
    EXPECT_GT(a, 1'600'000'000'000'000'000ULL);  // after 2020
}

}  // namespace
}  // namespace sb::telemetry::otlp
