// Integration: a real gateway in front of the mock provider exports its traces and metrics over
// OTLP/HTTP (JSON) to a small collector running in the test (tests/support/otlp_receiver.h).
#include <boost/json.hpp>
#include <cstdio>
#include <map>
#include <set>

#include "integration/gateway_fixture.h"
#include "support/otlp_receiver.h"
#include "support/prometheus_text.h"

namespace sb::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kClientCanary = "sk-client-canary-7f3a";
const std::string kProviderCanary = "sk-mock-key";  // the fixture's provider key

std::string telemetry_yaml(const std::string& endpoint, const std::string& extra = "") {
    return "telemetry:\n  otlp:\n    endpoint: " + endpoint +
           "\n    headers: {x-collector-token: tok-1}\n    batch_size: 8\n    interval: 20ms\n"
           "    metrics_interval: 30ms\n    service_name: gw-it\n" +
           extra;
}

struct Span {
    json::object obj;
    std::string attr(std::string_view key) const {
        for (const auto& a : obj.at("attributes").as_array()) {
            if (a.at("key").as_string() == key) {
                const auto& v = a.at("value").as_object();
                if (v.contains("stringValue")) {
                    return std::string(v.at("stringValue").as_string());
                }
                if (v.contains("intValue")) {
                    return std::string(v.at("intValue").as_string());
                }
                return json::serialize(v);
            }
        }
        return "<absent>";
    }
    std::string field(std::string_view key) const {
        return obj.contains(key) ? std::string(obj.at(key).as_string()) : "<absent>";
    }
    std::int64_t kind() const { return obj.at("kind").as_int64(); }
};

std::vector<Span> spans_in(const std::vector<OtlpReceiver::Request>& reqs) {
    std::vector<Span> out;
    for (const auto& r : reqs) {
        if (r.path != "/v1/traces") {
            continue;
        }
        json::value v = json::parse(r.body);
        for (const auto& rs : v.at("resourceSpans").as_array()) {
            for (const auto& ss : rs.at("scopeSpans").as_array()) {
                for (const auto& s : ss.at("spans").as_array()) {
                    out.push_back(Span{s.as_object()});
                }
            }
        }
    }
    return out;
}

std::size_t count_kind(const std::vector<Span>& spans, std::int64_t kind) {
    std::size_t n = 0;
    for (const auto& s : spans) {
        n += s.kind() == kind ? 1 : 0;
    }
    return n;
}

using OtlpExportTest = GatewayFixture;

TEST_F(OtlpExportTest, RequestSpansAttemptSpansAndMetricsReachTheCollector) {
    OtlpReceiver rx;
    ASSERT_TRUE(rx.ok());
    start("", "  broken: {provider: mock, model: \"gpt-4o-mini;status=500\"}\n" +
                  telemetry_yaml(rx.url()));
    const std::string auth = "Authorization: Bearer " + kClientCanary + "\r\n";
    const std::string parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    auto ok = post("/v1/chat/completions",
                   R"({"model":"mock-gpt","messages":[{"role":"user","content":"Hi"}]})",
                   auth + "traceparent: " + parent + "\r\n");
    ASSERT_EQ(ok.status, 200) << ok.body;
    auto streamed =
        post("/v1/chat/completions", R"({"model":"mock-gpt","stream":true,"messages":[]})", auth);
    ASSERT_EQ(streamed.status, 200);
    auto failed = post("/v1/chat/completions", R"({"model":"broken","messages":[]})",
                       auth + "traceparent: not-a-valid-header\r\n");
    ASSERT_GE(failed.status, 500);
    auto embedded = post("/v1/embeddings", R"({"model":"mock-embed","input":"hello"})", auth);
    ASSERT_EQ(embedded.status, 200) << embedded.body;
    ASSERT_EQ(http_request(port(), "GET", "/healthz").status, 200);  // no span: not a model call

    ASSERT_TRUE(rx.wait_for(
        [](const auto& reqs) {
            bool metrics = false;
            for (const auto& r : reqs) {
                metrics = metrics || r.path == "/v1/metrics";
            }
            return metrics && count_kind(spans_in(reqs), 2) >= 4;
        },
        20s));
    auto reqs = rx.requests();
    std::vector<Span> spans = spans_in(reqs);
    ASSERT_EQ(count_kind(spans, 2), 4u);  // one SERVER span per model request, none for /healthz
    // One CLIENT span per upstream attempt: the failing model's 500 is retried twice (3 attempts).
    ASSERT_EQ(count_kind(spans, 3), 6u);

    std::map<std::string, const Span*> by_id;
    for (const auto& s : spans) {
        by_id[s.field("spanId")] = &s;
    }
    std::map<std::string, const Span*> server_by_request;
    for (const auto& s : spans) {
        if (s.kind() == 2) {
            server_by_request[s.attr("switchboard.request_id")] = &s;
        }
    }
    // The request that carried a traceparent continues the caller's trace.
    const Span& traced = *server_by_request.at(ok.header("x-request-id"));
    EXPECT_EQ(traced.field("traceId"), "0af7651916cd43dd8448eb211c80319c");
    EXPECT_EQ(traced.field("parentSpanId"), "b7ad6b7169203331");
    EXPECT_EQ(traced.field("name"), "chat mock-gpt");
    EXPECT_EQ(traced.attr("gen_ai.operation.name"), "chat");
    EXPECT_EQ(traced.attr("gen_ai.request.model"), "mock-gpt");
    EXPECT_EQ(traced.attr("gen_ai.provider.name"), "mock");  // openai-compatible: config name
    EXPECT_EQ(traced.attr("http.response.status_code"), "200");
    EXPECT_EQ(traced.attr("error.type"), "<absent>");
    EXPECT_EQ(traced.attr("switchboard.stream"), R"({"boolValue":false})");
    // An invalid traceparent starts a new trace.
    const Span& broken = *server_by_request.at(failed.header("x-request-id"));
    EXPECT_EQ(broken.field("parentSpanId"), "<absent>");
    EXPECT_NE(broken.field("traceId"), traced.field("traceId"));
    EXPECT_EQ(broken.attr("http.response.status_code"), std::to_string(failed.status));
    EXPECT_NE(broken.attr("error.type"), "<absent>");
    EXPECT_EQ(broken.obj.at("status").at("code").as_int64(), 2);
    const Span& stream = *server_by_request.at(streamed.header("x-request-id"));
    EXPECT_EQ(stream.attr("switchboard.stream"), R"({"boolValue":true})");
    const Span& embedding = *server_by_request.at(embedded.header("x-request-id"));
    EXPECT_EQ(embedding.field("name"), "embeddings mock-embed");
    EXPECT_EQ(embedding.attr("gen_ai.operation.name"), "embeddings");

    // Every attempt is a child of its request's span, in the same trace, and names the target.
    std::set<std::string> parents;
    for (const auto& s : spans) {
        if (s.kind() != 3) {
            continue;
        }
        const Span* server = by_id.at(s.field("parentSpanId"));
        ASSERT_NE(server, nullptr);
        EXPECT_EQ(server->kind(), 2);
        EXPECT_EQ(s.field("traceId"), server->field("traceId"));
        const std::string target = s.attr("gen_ai.request.model");
        EXPECT_TRUE(target.starts_with("gpt-4o-mini") || target == "text-embedding-3-small")
            << json::serialize(s.obj);
        EXPECT_EQ(s.attr("switchboard.provider"), "mock");
        EXPECT_GE(std::stoull(s.field("startTimeUnixNano")),
                  std::stoull(server->field("startTimeUnixNano")));
        EXPECT_LE(std::stoull(s.field("endTimeUnixNano")),
                  std::stoull(server->field("endTimeUnixNano")));
        parents.insert(s.field("parentSpanId"));
    }
    EXPECT_EQ(parents.size(), 4u);
    std::size_t broken_attempts = 0;
    for (const auto& s : spans) {
        if (s.kind() == 3 && s.field("parentSpanId") == broken.field("spanId")) {
            ++broken_attempts;
            EXPECT_EQ(s.attr("http.response.status_code"), "500") << json::serialize(s.obj);
        }
    }
    EXPECT_EQ(broken_attempts, 3u);

    // Metrics: the registry's counters, as OTLP sums.
    bool saw_requests = false;
    for (const auto& r : reqs) {
        if (r.path != "/v1/metrics") {
            continue;
        }
        json::value v = json::parse(r.body);
        for (const auto& m :
             v.at("resourceMetrics").at(0).at("scopeMetrics").at(0).at("metrics").as_array()) {
            if (m.at("name").as_string() == "switchboard_requests_total") {
                saw_requests = true;
                EXPECT_TRUE(m.at("sum").at("isMonotonic").as_bool());
            }
        }
        EXPECT_EQ(v.at("resourceMetrics")
                      .at(0)
                      .at("resource")
                      .at("attributes")
                      .at(0)
                      .at("value")
                      .at("stringValue")
                      .as_string(),
                  "gw-it");
    }
    EXPECT_TRUE(saw_requests);

    // The collector's header went out; no client or provider credential did.
    for (const auto& r : reqs) {
        EXPECT_EQ(r.headers.at("x-collector-token"), "tok-1");
        EXPECT_EQ(r.body.find(kClientCanary), std::string::npos) << r.path;
        EXPECT_EQ(r.body.find(kProviderCanary), std::string::npos) << r.path;
        for (const auto& [name, value] : r.headers) {
            EXPECT_EQ(value.find(kClientCanary), std::string::npos) << name;
            EXPECT_EQ(value.find(kProviderCanary), std::string::npos) << name;
        }
    }

    // The gateway's own exposition stays strictly valid with the exporter's families added.
    auto scrape = http_request(port(), "GET", "/metrics");
    prom::Exposition e;
    auto error = prom::parse(scrape.body, e);
    ASSERT_FALSE(error) << *error << "\n" << scrape.body;
    EXPECT_GE(e.value("switchboard_otlp_traces_total", {{"outcome", "queued"}}).value_or(0), 3);
    EXPECT_EQ(e.value("switchboard_upstream_attempts_total",
                      {{"provider", "mock"}, {"target", "gpt-4o-mini"}, {"result", "ok"}}),
              2);
    EXPECT_EQ(scrape.body.find(kClientCanary), std::string::npos);
    EXPECT_EQ(scrape.body.find(kProviderCanary), std::string::npos);
#ifdef SB_PROMTOOL
    // Prometheus' own checker agrees (Debian `prometheus`).
    FILE* p = popen(SB_PROMTOOL " check metrics 2>&1", "w");
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(fwrite(scrape.body.data(), 1, scrape.body.size(), p), scrape.body.size());
    EXPECT_EQ(pclose(p), 0) << scrape.body;
#endif
}

TEST_F(OtlpExportTest, CollectorDownLeavesRequestsUnaffectedAndCountsDrops) {
    std::string dead_url;
    {
        OtlpReceiver gone;  // a port that nothing listens on any more
        dead_url = gone.url();
    }
    // One trace in the queue at most; the exporter thread sits in its retry backoff (0.5 s,
    // then 1 s and 2 s) after the first refused connection, so later traces are dropped.
    start("", "telemetry:\n  otlp:\n    endpoint: " + dead_url +
                  "\n    batch_size: 1\n    queue_size: 1\n    interval: 1h\n");
    constexpr int kRequests = 12;
    for (int i = 0; i < kRequests; ++i) {
        auto r = post("/v1/chat/completions", R"({"model":"mock-gpt","messages":[]})");
        ASSERT_EQ(r.status, 200) << r.body;
    }
    auto scrape = http_request(port(), "GET", "/metrics");
    prom::Exposition e;
    auto error = prom::parse(scrape.body, e);
    ASSERT_FALSE(error) << *error;
    double queued = e.value("switchboard_otlp_traces_total", {{"outcome", "queued"}}).value_or(-1);
    double dropped =
        e.value("switchboard_otlp_traces_total", {{"outcome", "dropped"}}).value_or(-1);
    EXPECT_EQ(queued + dropped, kRequests);
    EXPECT_GE(dropped, kRequests - 4) << scrape.body;
    EXPECT_EQ(e.value("switchboard_requests_total",
                      {{"model", "mock-gpt"}, {"provider", "mock"}, {"status", "200"}}),
              kRequests);
    // TearDown stops the gateway: the exporter's backoff is interrupted, not waited out.
}

}  // namespace
}  // namespace sb::test
