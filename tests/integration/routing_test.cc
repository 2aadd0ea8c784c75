// Routing and resilience through real sockets: fault injection with the mock provider (faults
// chosen per target through the mock's `model;control=value` suffix), asserting attempts, the
// chosen target, statuses and timing bounds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <map>

#include "integration/gateway_fixture.h"

namespace sb::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A second provider entry pointing at the same mock, with tight timeouts, and one whose port
// refuses connections (port 1 on loopback: nothing listens there).
const std::string kProviders =
    "  fast:\n    type: openai-compatible\n    base_url: MOCK_URL\n    api_key: sk-mock-key\n"
    "    timeouts: {connect: 1s, first_byte: 300ms, idle: 300ms, total: 10s}\n"
    "  dead:\n    type: openai-compatible\n    base_url: http://127.0.0.1:1/v1\n"
    "    timeouts: {connect: 1s, first_byte: 1s, idle: 1s, total: 2s}\n"
    "  claude:\n    type: anthropic\n    base_url: MOCK_URL\n    api_key: sk-mock-key\n";

std::string chat(const std::string& model, bool stream = false) {
    return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}])" +
           (stream ? R"(,"stream":true)" : "") + "}";
}

class RoutingTest : public GatewayFixture {
  protected:
    void start_with(const std::string& models, const std::string& routing = {},
                    const std::string& server = {}) {
        start(server, models, kProviders + routing);
    }
    long mock_requests() {
        const HttpResponse r = mock_get("/_mock/stats");
        return boost::json::parse(r.body).as_object().at("requests").as_int64();
    }
};

TEST_F(RoutingTest, ConnectionRefusedFailsOverToTheNextTarget) {
    start_with(R"(
  ha:
    strategy: priority
    targets:
      - {provider: dead, model: gpt-4o-mini, priority: 1}
      - {provider: mock, model: gpt-4o, priority: 2}
)");
    const HttpResponse r = post("/v1/chat/completions", chat("ha"));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-switchboard-attempts"), "2");
    EXPECT_EQ(r.header("x-switchboard-provider"), "mock");
    EXPECT_EQ(r.header("x-switchboard-target"), "gpt-4o");
    EXPECT_EQ(mock_requests(), 1);
}

TEST_F(RoutingTest, FirstByteTimeoutRetriesElsewhereWithinBounds) {
    start_with(R"(
  ha:
    strategy: priority
    targets:
      - {provider: fast, model: "gpt-4o-mini;latency_ms=3000", priority: 1}
      - {provider: mock, model: gpt-4o, priority: 2}
)");
    const auto t0 = Clock::now();
    const HttpResponse r = post("/v1/chat/completions", chat("ha"));
    const auto took = Clock::now() - t0;
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-switchboard-attempts"), "2");
    EXPECT_EQ(r.header("x-switchboard-target"), "gpt-4o");
    // 300 ms first-byte timeout (+ up to one 50 ms sweep), then the second target: far below
    // the 3 s the first target would have taken.
    EXPECT_LT(took, 2s);
    EXPECT_GE(took, 250ms);
}

TEST_F(RoutingTest, MidStreamStallAfterTheFirstByteEndsWithAnErrorEventAndNoRetry) {
    start_with(R"(
  ha:
    strategy: priority
    targets:
      - {provider: fast, model: "gpt-4o-mini;stall_after=1", priority: 1}
      - {provider: mock, model: gpt-4o, priority: 2}
)");
    const HttpResponse r = post("/v1/chat/completions", chat("ha", true));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("x-switchboard-attempts"), "1");
    EXPECT_THAT(r.body, HasSubstr(R"("code":"upstream_timeout")"));
    EXPECT_THAT(r.body, Not(HasSubstr("[DONE]")));
    EXPECT_EQ(mock_requests(), 1);
}

TEST_F(RoutingTest, TruncatedAnswerIsRetriedBeforeTheFirstByteOnly) {
    // Paced chunks: the stream's first event reaches the client before the cut.
    start_with(R"(
  ha:
    strategy: priority
    targets:
      - {provider: fast, model: "gpt-4o-mini;disconnect_after=1;chunk_delay_ms=40", priority: 1}
      - {provider: mock, model: gpt-4o, priority: 2}
)");
    const HttpResponse plain = post("/v1/chat/completions", chat("ha"));
    EXPECT_EQ(plain.status, 200) << plain.body;
    EXPECT_EQ(plain.header("x-switchboard-attempts"), "2");
    EXPECT_EQ(plain.header("x-switchboard-target"), "gpt-4o");
    const HttpResponse streamed = post("/v1/chat/completions", chat("ha", true));
    EXPECT_EQ(streamed.status, 200);
    EXPECT_EQ(streamed.header("x-switchboard-attempts"), "1");
    EXPECT_THAT(streamed.body, HasSubstr(R"("error")"));
    EXPECT_THAT(streamed.body, Not(HasSubstr("[DONE]")));
}

TEST_F(RoutingTest, RateLimitWithRetryAfterSecondsCoolsTheTargetDown) {
    start_with(R"(
  ha:
    strategy: priority
    targets:
      - {name: limited, provider: mock, model: "gpt-4o-mini;status=429;retry_after=30", priority: 1}
      - {name: spare, provider: mock, model: gpt-4o, priority: 2}
)",
               "", "");
    const HttpResponse first = post("/v1/chat/completions", chat("ha"));
    EXPECT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(first.header("x-switchboard-attempts"), "2");
    const HttpResponse second = post("/v1/chat/completions", chat("ha"));
    EXPECT_EQ(second.status, 200);
    EXPECT_EQ(second.header("x-switchboard-attempts"), "1");  // the limited target is skipped
    EXPECT_EQ(second.header("x-switchboard-target"), "gpt-4o");
    EXPECT_EQ(mock_requests(), 3);
}

std::string http_date(std::chrono::system_clock::time_point t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

TEST_F(RoutingTest, RateLimitWithAnHttpDateOnTheOnlyTargetIsAnsweredLocallyWhileCooling) {
    const std::string date = http_date(std::chrono::system_clock::now() + 40s);
    start_with(
        "  solo:\n    targets:\n      - {provider: mock, model: \"gpt-4o-mini;status=429;"
        "retry_after=" +
        date + "\"}\n    retry: {max_attempts: 1}\n");
    const HttpResponse first = post("/v1/chat/completions", chat("solo"));
    EXPECT_EQ(first.status, 429);
    EXPECT_EQ(first.header("retry-after"), date);  // the upstream's value is passed on
    const HttpResponse second = post("/v1/chat/completions", chat("solo"));
    EXPECT_EQ(second.status, 429) << second.body;
    EXPECT_THAT(second.body, HasSubstr("cooling down"));
    const int seconds = std::stoi(second.header("retry-after"));
    EXPECT_GT(seconds, 30);
    EXPECT_LE(seconds, 41);
    EXPECT_EQ(mock_requests(), 1);  // the second request never reached the provider
}

TEST_F(RoutingTest, OverloadedErrorInsideAStreamBeforeTheFirstByteIsRetried) {
    start_with(R"(
  ha:
    strategy: priority
    targets:
      - {provider: claude, model: "claude-sonnet-4-5;stream_error=overloaded_error", priority: 1}
      - {provider: mock, model: gpt-4o, priority: 2}
)");
    const HttpResponse r = post("/v1/chat/completions", chat("ha", true));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-switchboard-attempts"), "2");
    EXPECT_EQ(r.header("x-switchboard-provider"), "mock");
    EXPECT_THAT(r.body, HasSubstr("[DONE]"));
    EXPECT_THAT(r.body, Not(HasSubstr("overloaded")));
}

TEST_F(RoutingTest, ClientErrorsAreNotRetried) {
    start_with(R"(
  ha:
    strategy: priority
    targets:
      - {provider: mock, model: "gpt-4o-mini;status=400", priority: 1}
      - {provider: mock, model: gpt-4o, priority: 2}
)");
    const HttpResponse r = post("/v1/chat/completions", chat("ha"));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.header("x-switchboard-attempts"), "1");
    EXPECT_EQ(mock_requests(), 1);
}

TEST_F(RoutingTest, ContextWindowErrorFallsBackToTheConfiguredModel) {
    start_with(R"(
  small:
    provider: mock
    model: 'gpt-4o-mini;status=400;error_body={"error":{"message":"This model''s maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}'
    fallbacks: {context_window: big}
  big: {provider: mock, model: gpt-4o}
)");
    const HttpResponse r = post("/v1/chat/completions", chat("small"));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-switchboard-attempts"), "2");
    EXPECT_EQ(r.header("x-switchboard-target"), "gpt-4o");
}

TEST_F(RoutingTest, ServerErrorStormStaysWithinTheRetryBudget) {
    start_with(
        "  storm:\n    provider: mock\n    model: \"gpt-4o-mini;status=503\"\n"
        "    retry: {max_attempts: 3, backoff_base: 1ms, backoff_max: 2ms}\n",
        "routing: {retry_budget_ratio: 0.2, retry_budget_min: 5}\n");
    constexpr int kRequests = 100;
    for (int i = 0; i < kRequests; ++i) {
        const HttpResponse r = post("/v1/chat/completions", chat("storm"));
        ASSERT_EQ(r.status, 503) << r.body;
    }
    const long upstream = mock_requests();
    // Offered load 100; retries at most 20% of it plus the budget's floor of 5.
    EXPECT_LE(upstream, kRequests + kRequests / 5 + 5);
    EXPECT_GE(upstream, kRequests + kRequests / 5);  // and the budget is actually used
}

TEST_F(RoutingTest, TotalDeadlineBoundsAllAttemptsTogether) {
    start_with(R"(
  slow:
    provider: mock
    model: "gpt-4o-mini;latency_ms=5000"
    retry: {max_attempts: 5, total_deadline: 400ms}
)");
    const auto t0 = Clock::now();
    const HttpResponse r = post("/v1/chat/completions", chat("slow"));
    const auto took = Clock::now() - t0;
    EXPECT_EQ(r.status, 504) << r.body;
    EXPECT_LT(took, 2s);
    EXPECT_GE(took, 350ms);
}

TEST_F(RoutingTest, WeightedDistributionWithAFixedSeed) {
    start_with(R"(
  split:
    targets:
      - {provider: mock, model: gpt-4o-mini, weight: 3}
      - {provider: mock, model: gpt-4o, weight: 1}
)",
               "routing: {seed: 7}\n");
    std::map<std::string, int> by_target;
    constexpr int kRequests = 200;
    for (int i = 0; i < kRequests; ++i) {
        const HttpResponse r = post("/v1/chat/completions", chat("split"));
        ASSERT_EQ(r.status, 200);
        ++by_target[r.header("x-switchboard-target")];
    }
    // Binomial(200, 0.75): mean 150, sd ~6.1; five sd either side.
    EXPECT_NEAR(by_target["gpt-4o-mini"], 150, 31);
    EXPECT_EQ(by_target["gpt-4o-mini"] + by_target["gpt-4o"], kRequests);
}

TEST_F(RoutingTest, LeastLatencyConvergesOnTheFasterTarget) {
    start_with(R"(
  quick:
    strategy: least_latency
    targets:
      - {provider: mock, model: "gpt-4o;latency_ms=80"}
      - {provider: mock, model: "gpt-4o-mini;latency_ms=1"}
)",
               "routing: {seed: 11, exploration: 0.05}\n");
    int fast_in_tail = 0;
    for (int i = 0; i < 60; ++i) {
        const HttpResponse r = post("/v1/chat/completions", chat("quick"));
        ASSERT_EQ(r.status, 200);
        if (i >= 40 && r.header("x-switchboard-target").starts_with("gpt-4o-mini")) {
            ++fast_in_tail;
        }
    }
    EXPECT_GE(fast_in_tail, 17);  // of the last 20; exploration may send a few elsewhere
}

TEST_F(RoutingTest, AdminListenerShowsTargetHealthAndOnlyAdminRoutes) {
    start_with(R"(
  ha:
    strategy: priority
    targets:
      - {name: broken, provider: dead, model: gpt-4o-mini, priority: 1}
      - {name: good, provider: mock, model: gpt-4o, priority: 2}
)",
               "routing: {health: {consecutive_failures: 1}}\nadmin: {listen: 127.0.0.1:0}\n");
    ASSERT_NE(gateway_->admin_port(), 0);
    ASSERT_EQ(post("/v1/chat/completions", chat("ha")).status, 200);
    const HttpResponse admin = http_request(gateway_->admin_port(), "GET", "/admin/targets");
    ASSERT_EQ(admin.status, 200) << admin.body;
    const auto json = boost::json::parse(admin.body).as_object();
    const boost::json::object* found = nullptr;
    for (const auto& m : json.at("models").as_array()) {
        if (m.as_object().at("model").as_string() == "ha") {
            found = &m.as_object();
        }
    }
    ASSERT_NE(found, nullptr) << admin.body;
    const auto& model = *found;
    const auto& broken = model.at("targets").as_array().at(0).as_object();
    EXPECT_EQ(broken.at("name").as_string(), "broken");
    EXPECT_EQ(broken.at("state").as_string(), "ejected");
    EXPECT_TRUE(broken.contains("until"));
    EXPECT_EQ(broken.at("failures").as_int64(), 1);
    const auto& good = model.at("targets").as_array().at(1).as_object();
    EXPECT_EQ(good.at("state").as_string(), "healthy");
    EXPECT_EQ(good.at("attempts").as_int64(), 1);
    EXPECT_EQ(http_request(port(), "GET", "/admin/targets").status, 404);
    EXPECT_EQ(
        http_request(gateway_->admin_port(), "POST", "/v1/chat/completions", chat("ha")).status,
        404);
    // Ejected: the next request goes straight to the healthy target.
    const HttpResponse again = post("/v1/chat/completions", chat("ha"));
    EXPECT_EQ(again.header("x-switchboard-attempts"), "1");
}

}  // namespace
}  // namespace sb::test
