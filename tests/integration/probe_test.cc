// Active health probes through real sockets: a target whose probes fail is ejected without any
// client request, an ejected target comes back after a successful probe long before its
// ejection would end, and probes reach the upstream with the provider's credentials. Waiting is
// polling an observable condition (/admin/targets, the mock's last request) with a deadline.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <optional>

#include "integration/gateway_fixture.h"

namespace sb::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string kProviders =
    "  dead:\n    type: openai-compatible\n    base_url: http://127.0.0.1:1/v1\n"
    "    api_key: sk-dead-key\n"
    "    timeouts: {connect: 1s, first_byte: 1s, idle: 1s, total: 2s}\n"
    "  claude:\n    type: anthropic\n    base_url: MOCK_URL\n    api_key: sk-mock-key\n";

std::string chat(const std::string& model) {
    return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}]})";
}

// The value of switchboard_probes_total for one series in a Prometheus scrape; -1 when absent.
long probe_count(const std::string& metrics, const std::string& provider, const std::string& target,
                 const std::string& result) {
    const std::string series = R"(switchboard_probes_total{provider=")" + provider +
                               R"(",target=")" + target + R"(",result=")" + result + R"("} )";
    const std::size_t at = metrics.find(series);
    if (at == std::string::npos) {
        return -1;
    }
    return std::stol(metrics.substr(at + series.size()));
}

class ProbeTest : public GatewayFixture {
  protected:
    void start_with(const std::string& models, const std::string& routing) {
        start({}, models, kProviders + routing + "admin: {listen: 127.0.0.1:0}\n");
        ASSERT_NE(gateway_->admin_port(), 0);
    }

    // The admin view of one target, or nullopt.
    std::optional<boost::json::object> admin_target(const std::string& model,
                                                    const std::string& name) {
        const HttpResponse r = http_request(gateway_->admin_port(), "GET", "/admin/targets");
        if (r.status != 200) {
            return std::nullopt;
        }
        const boost::json::value root = boost::json::parse(r.body);
        for (const auto& m : root.as_object().at("models").as_array()) {
            if (m.as_object().at("model").as_string() != model) {
                continue;
            }
            for (const auto& t : m.as_object().at("targets").as_array()) {
                if (t.as_object().at("name").as_string() == name) {
                    return t.as_object();
                }
            }
        }
        return std::nullopt;
    }

    // Polls until `done` holds for the target's admin view or the deadline passes; returns the
    // last view seen.
    boost::json::object wait_for_target(const std::string& model, const std::string& name,
                                        const std::function<bool(const boost::json::object&)>& done,
                                        std::chrono::milliseconds deadline = 10s) {
        const auto until = Clock::now() + deadline;
        boost::json::object last;
        while (Clock::now() < until) {
            if (auto t = admin_target(model, name)) {
                last = *t;
                if (done(last)) {
                    break;
                }
            }
        }
        return last;
    }

    // Polls /metrics until the probe counter of a series is at least `n`; returns its value.
    long wait_for_probes(const std::string& provider, const std::string& target,
                         const std::string& result, long n) {
        const auto until = Clock::now() + 10s;
        long count = -1;
        while (Clock::now() < until) {
            const HttpResponse r = http_request(gateway_->admin_port(), "GET", "/metrics");
            count = probe_count(r.body, provider, target, result);
            if (count >= n) {
                break;
            }
        }
        return count;
    }

    // Polls the mock's last request until it is one for `path`.
    boost::json::object wait_for_mock_request(const std::string& path,
                                              std::chrono::milliseconds deadline = 10s) {
        const auto until = Clock::now() + deadline;
        boost::json::object last;
        while (Clock::now() < until) {
            const HttpResponse r = mock_get("/_mock/last_request");
            if (r.status == 200) {
                last = boost::json::parse(r.body).as_object();
                if (last.at("path").as_string() == path) {
                    break;
                }
            }
        }
        return last;
    }
};

TEST_F(ProbeTest, FailingProbesEjectATargetWithoutAnyClientRequest) {
    start_with(R"(
  ha:
    targets:
      - {name: gone, provider: dead, model: gpt-4o-mini, probe: {interval: 50ms}}
      - {name: fine, provider: mock, model: gpt-4o}
)",
               "routing: {health: {consecutive_failures: 2, base_ejection: 1h, max_ejection: "
               "2h}}\n");
    const auto gone = wait_for_target(
        "ha", "gone", [](const auto& t) { return t.at("state").as_string() == "ejected"; });
    ASSERT_FALSE(gone.empty());
    EXPECT_EQ(gone.at("state").as_string(), "ejected");
    EXPECT_EQ(gone.at("ejections").as_int64(), 1);
    // Probes are not client traffic: no attempts, failures or requests in flight.
    EXPECT_EQ(gone.at("attempts").as_int64(), 0);
    EXPECT_EQ(gone.at("failures").as_int64(), 0);
    EXPECT_EQ(gone.at("in_flight").as_int64(), 0);
    // The unprobed target is left alone.
    EXPECT_EQ(admin_target("ha", "fine")->at("state").as_string(), "healthy");
    // The first client request goes straight to the healthy target.
    const HttpResponse r = post("/v1/chat/completions", chat("ha"));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-switchboard-attempts"), "1");
    EXPECT_EQ(r.header("x-switchboard-target"), "gpt-4o");
    // The probe counter, by result; the provider key appears nowhere in the metrics.
    const HttpResponse metrics = http_request(gateway_->admin_port(), "GET", "/metrics");
    EXPECT_GE(probe_count(metrics.body, "dead", "gone", "connect"), 2);
    EXPECT_THAT(metrics.body, Not(HasSubstr("sk-dead-key")));
}

TEST_F(ProbeTest, ASuccessfulProbeEndsAnEjectionLongBeforeItExpires) {
    // Client requests fail (the mock answers 503 for this model), which ejects the target for
    // an hour; the probe (GET /models, which the mock answers) brings it back at once.
    start_with(R"(
  flaky:
    retry: {max_attempts: 1}
    targets:
      - {name: flaky, provider: mock, model: "gpt-4o;status=503", probe: {interval: 50ms}}
)",
               "routing: {health: {consecutive_failures: 1, base_ejection: 1h, max_ejection: "
               "2h}}\n");
    const HttpResponse r = post("/v1/chat/completions", chat("flaky"));
    EXPECT_EQ(r.status, 503) << r.body;
    const auto t = wait_for_target("flaky", "flaky", [](const auto& v) {
        return v.at("ejections").as_int64() >= 1 && v.at("state").as_string() == "healthy";
    });
    ASSERT_FALSE(t.empty());
    EXPECT_EQ(t.at("failures").as_int64(), 1);
    EXPECT_EQ(t.at("ejections").as_int64(), 1);       // it was ejected ...
    EXPECT_EQ(t.at("state").as_string(), "healthy");  // ... and is back well within the hour
    EXPECT_GE(wait_for_probes("mock", "flaky", "ok", 1), 1);
}

TEST_F(ProbeTest, OpenAIFormatProbesListModelsWithTheProvidersKey) {
    start_with(R"(
  probed: {provider: mock, model: gpt-4o, probe: {interval: 50ms}}
)",
               "");
    const auto req = wait_for_mock_request("/v1/models");
    ASSERT_FALSE(req.empty());
    EXPECT_EQ(req.at("path").as_string(), "/v1/models");
    EXPECT_EQ(req.at("method").as_string(), "GET");
    EXPECT_EQ(req.at("headers").as_object().at("authorization").as_string(), "Bearer sk-mock-key");
    const auto t = wait_for_target("probed", "mock/gpt-4o", [](const auto&) { return true; });
    EXPECT_EQ(t.at("state").as_string(), "healthy");
    EXPECT_EQ(t.at("attempts").as_int64(), 0);
}

TEST_F(ProbeTest, TranslatedProvidersAreProbedWithATinyChatRequestWithTheirAuth) {
    start_with(R"(
  claude: {provider: claude, model: claude-3-5-haiku, probe: {interval: 50ms, max_tokens: 1}}
)",
               "");
    const auto req = wait_for_mock_request("/v1/messages");
    ASSERT_FALSE(req.empty());
    EXPECT_EQ(req.at("path").as_string(), "/v1/messages");
    EXPECT_EQ(req.at("method").as_string(), "POST");
    EXPECT_EQ(req.at("headers").as_object().at("x-api-key").as_string(), "sk-mock-key");
    const auto body = boost::json::parse(req.at("body").as_string()).as_object();
    EXPECT_EQ(body.at("max_tokens").as_int64(), 1);
    EXPECT_EQ(body.at("model").as_string(), "claude-3-5-haiku");
    // The mock answers it: the probe counts as ok.
    EXPECT_GE(wait_for_probes("claude", "claude/claude-3-5-haiku", "ok", 1), 1);
}

}  // namespace
}  // namespace sb::test
