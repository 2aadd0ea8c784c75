// Integration: Anthropic's Messages API (POST /v1/messages, /v1/messages/count_tokens) through
// the gateway, on the same routing and retry path as OpenAI requests: native passthrough to an
// Anthropic target, translation to an OpenAI-format target, JSON and streams, Anthropic-shaped
// errors (from the head on), retries before the first byte, and keep-alive pings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "governance/keys.h"
#include "integration/gateway_fixture.h"

namespace sb::test {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kProviders =
    "  claude:\n    type: anthropic\n    base_url: MOCK_URL\n    api_key: sk-mock-key\n"
    "    timeouts: {first_byte: 5s, idle: 5s}\n"
    "  fast:\n    type: openai-compatible\n    base_url: MOCK_URL\n    api_key: sk-mock-key\n"
    "    timeouts: {connect: 1s, first_byte: 2s, idle: 300ms, total: 10s}\n";

const std::string kModels =
    "  claude-x: {provider: claude, model: claude-sonnet-4-5}\n"
    "  claude-429: {provider: claude, model: \"claude-sonnet-4-5;status=429;retry_after=7\"}\n"
    "  claude-overloaded: {provider: claude, model: "
    "\"claude-sonnet-4-5;stream_error=overloaded_error;chunk_delay_ms=20;chunks=2\"}\n"
    "  claude-slow: {provider: claude, model: \"claude-sonnet-4-5;chunk_delay_ms=400;chunks=2\"}\n"
    "  mock-tools: {provider: mock, model: \"gpt-4o-mini;tool_call=1\"}\n"
    "  mock-429: {provider: mock, model: \"gpt-4o-mini;status=429;retry_after=7\"}\n"
    "  mock-slow: {provider: mock, model: \"gpt-4o-mini;chunk_delay_ms=400;chunks=2\"}\n"
    "  mock-stall: {provider: fast, model: \"gpt-4o-mini;stall_after=2\"}\n"
    "  claude-priced:\n    provider: claude\n    model: claude-sonnet-4-5\n"
    "    price: {input: 1000, output: 2000}\n"
    "  mock-priced:\n    provider: mock\n    model: gpt-4o-mini\n"
    "    price: {input: 1000, output: 2000}\n"
    "  ha:\n    strategy: priority\n    targets:\n"
    "      - {provider: claude, model: \"claude-sonnet-4-5;status=503\", priority: 1}\n"
    "      - {provider: mock, model: gpt-4o, priority: 2}\n";

const std::string kAnthropicHeaders =
    "x-api-key: client-key\r\nanthropic-version: 2023-06-01\r\n"
    "content-type: application/json\r\n";

std::string message_for(const std::string& model, bool stream, const std::string& extra = "") {
    return R"({"model":")" + model + R"(","max_tokens":64,"stream":)" +
           (stream ? "true" : "false") + extra +
           R"(,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]})";
}

const std::string kTools =
    R"(,"tools":[{"name":"get_weather","description":"w",)"
    R"("input_schema":{"type":"object","properties":{"location":{"type":"string"}}}}])";

struct Event {
    std::string name;
    json::value data;
};

// The named events of an Anthropic SSE body, data parsed.
std::vector<Event> events_of(const std::string& body) {
    std::vector<Event> out;
    std::size_t p = 0;
    while ((p = body.find("event: ", p)) != std::string::npos) {
        const std::size_t name_end = body.find('\n', p);
        const std::size_t data_at = body.find("data: ", name_end);
        const std::size_t data_end = body.find('\n', data_at);
        Event e;
        e.name = body.substr(p + 7, name_end - p - 7);
        e.data = json::parse(body.substr(data_at + 6, data_end - data_at - 6));
        out.push_back(std::move(e));
        p = data_end;
    }
    return out;
}

std::vector<std::string> names_of(const std::vector<Event>& events, bool with_pings = false) {
    std::vector<std::string> out;
    for (const Event& e : events) {
        if (with_pings || e.name != "ping") {
            out.push_back(e.name);
        }
    }
    return out;
}

class MessagesTest : public GatewayFixture {
  protected:
    void start_messages(const std::string& server_yaml = "") {
        start(server_yaml, kModels, kProviders);
    }
    HttpResponse messages(const std::string& body, const std::string& path = "/v1/messages",
                          const std::string& headers = kAnthropicHeaders) {
        return post(path, body, headers);
    }
    json::value last_upstream() { return json::parse(mock_get("/_mock/last_request").body); }
    long mock_requests() {
        return json::parse(mock_get("/_mock/stats").body).at("requests").as_int64();
    }
};

void expect_anthropic_error(const HttpResponse& r, int status, const std::string& type) {
    EXPECT_EQ(r.status, status) << r.body;
    auto v = json::parse(r.body);
    EXPECT_EQ(v.at("type").as_string(), "error") << r.body;
    EXPECT_EQ(v.at("error").at("type").as_string(), type) << r.body;
    EXPECT_FALSE(v.at("error").at("message").as_string().empty());
    EXPECT_EQ(v.at("request_id").as_string(), r.header("x-request-id"));
    EXPECT_FALSE(v.as_object().contains("param"));
}

// ----- native passthrough (Anthropic target) -------------------------------------------------

TEST_F(MessagesTest, AnthropicTargetGetsTheClientsBytesAndVersionHeaders) {
    start_messages();
    const std::string body = message_for("claude-x", false);
    auto r =
        messages(body, "/v1/messages", kAnthropicHeaders + "anthropic-beta: tools-2024-05-16\r\n");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-switchboard-provider"), "claude");
    // The answer is the upstream's, untouched (its model is the upstream's name).
    auto v = json::parse(r.body);
    EXPECT_EQ(v.at("type").as_string(), "message");
    EXPECT_EQ(v.at("model").as_string(), "claude-sonnet-4-5");
    EXPECT_TRUE(v.at("id").as_string().starts_with("msg_mock"));
    EXPECT_EQ(v.at("stop_reason").as_string(), "end_turn");

    auto last = last_upstream();
    EXPECT_EQ(last.at("path").as_string(), "/v1/messages");
    const auto& headers = last.at("headers").as_object();
    EXPECT_EQ(headers.at("anthropic-version").as_string(), "2023-06-01");
    EXPECT_EQ(headers.at("anthropic-beta").as_string(), "tools-2024-05-16");
    EXPECT_EQ(headers.at("x-api-key").as_string(), "sk-mock-key");  // never the client's key
    // Only the model token changed, every other byte as the client sent it.
    std::string expected = body;
    expected.replace(expected.find("claude-x"), 8, "claude-sonnet-4-5");
    EXPECT_EQ(last.at("body").as_string(), expected);
}

TEST_F(MessagesTest, AnthropicTargetStreamIsRelayedAsIs) {
    start_messages();
    auto r = messages(message_for("claude-x", true));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_THAT(r.header("content-type"), HasSubstr("text/event-stream"));
    auto events = events_of(r.body);
    auto names = names_of(events);
    ASSERT_GE(names.size(), 5u) << r.body;
    EXPECT_EQ(names.front(), "message_start");
    EXPECT_EQ(names.back(), "message_stop");
    EXPECT_EQ(events.front().data.at("message").at("model").as_string(), "claude-sonnet-4-5");
}

TEST_F(MessagesTest, CountTokensIsForwardedToAnAnthropicTarget) {
    start_messages();
    const std::string body =
        R"({"model":"claude-x","messages":[{"role":"user","content":"Hello there"}]})";
    auto r = messages(body, "/v1/messages/count_tokens");
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = json::parse(r.body);
    EXPECT_GT(v.at("input_tokens").as_int64(), 0);
    auto last = last_upstream();
    EXPECT_EQ(last.at("path").as_string(), "/v1/messages/count_tokens");
    EXPECT_THAT(std::string(last.at("body").as_string()), HasSubstr("claude-sonnet-4-5"));
}

// ----- translation (OpenAI-format target) ----------------------------------------------------

TEST_F(MessagesTest, OpenAiTargetAnswersAnAnthropicMessage) {
    start_messages();
    auto r = messages(message_for("mock-gpt", false));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-switchboard-provider"), "mock");
    auto v = json::parse(r.body);
    EXPECT_EQ(v.at("type").as_string(), "message");
    EXPECT_EQ(v.at("role").as_string(), "assistant");
    EXPECT_EQ(v.at("model").as_string(), "mock-gpt");
    EXPECT_TRUE(v.at("id").as_string().starts_with("msg_"));
    EXPECT_EQ(v.at("content").at(0).at("type").as_string(), "text");
    EXPECT_THAT(std::string(v.at("content").at(0).at("text").as_string()),
                HasSubstr("Hello from the mock"));
    EXPECT_EQ(v.at("stop_reason").as_string(), "end_turn");
    EXPECT_GT(v.at("usage").at("input_tokens").as_int64(), 0);
    EXPECT_EQ(v.at("usage").at("output_tokens").as_int64(), 8);

    // What went upstream is an OpenAI chat body: the system prompt first, the upstream model.
    auto last = last_upstream();
    EXPECT_EQ(last.at("path").as_string(), "/v1/chat/completions");
    EXPECT_EQ(last.at("headers").at("authorization").as_string(), "Bearer sk-mock-key");
    auto sent = json::parse(last.at("body").as_string());
    EXPECT_EQ(sent.at("model").as_string(), "gpt-4o-mini");
    EXPECT_EQ(sent.at("messages").at(0).at("role").as_string(), "system");
    EXPECT_EQ(sent.at("messages").at(1).at("content").as_string(), "Hi");
}

TEST_F(MessagesTest, OpenAiTargetStreamIsAnthropicsEventSequence) {
    start_messages();
    auto r = messages(message_for("mock-gpt", true));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_THAT(r.header("content-type"), HasSubstr("text/event-stream"));
    auto events = events_of(r.body);
    auto names = names_of(events);
    ASSERT_GE(names.size(), 6u) << r.body;
    EXPECT_EQ(names[0], "message_start");
    EXPECT_EQ(names[1], "content_block_start");
    EXPECT_EQ(names[names.size() - 3], "content_block_stop");
    EXPECT_EQ(names[names.size() - 2], "message_delta");
    EXPECT_EQ(names.back(), "message_stop");
    std::string text;
    for (std::size_t i = 2; i + 3 < names.size(); ++i) {
        EXPECT_EQ(names[i], "content_block_delta");
    }
    for (const Event& e : events) {
        if (e.name == "content_block_delta") {
            EXPECT_EQ(e.data.at("index").as_int64(), 0);
            text += e.data.at("delta").at("text").as_string();
        }
    }
    EXPECT_THAT(text, HasSubstr("Hello from the mock"));
    const Event& delta = events[events.size() - 2];
    EXPECT_EQ(delta.data.at("delta").at("stop_reason").as_string(), "end_turn");
    EXPECT_EQ(delta.data.at("usage").at("output_tokens").as_int64(), 8);
    EXPECT_THAT(r.body, Not(HasSubstr("[DONE]")));
    // The gateway asked the upstream for the stream's usage.
    auto sent = json::parse(last_upstream().at("body").as_string());
    EXPECT_TRUE(sent.at("stream_options").at("include_usage").as_bool());
}

TEST_F(MessagesTest, OpenAiTargetToolCallStreamsAsToolUseBlock) {
    start_messages();
    auto r = messages(message_for("mock-tools", true, kTools));
    ASSERT_EQ(r.status, 200) << r.body;
    auto events = events_of(r.body);
    std::string input;
    bool tool_started = false;
    for (const Event& e : events) {
        if (e.name == "content_block_start" &&
            e.data.at("content_block").at("type").as_string() == "tool_use") {
            tool_started = true;
            EXPECT_EQ(e.data.at("content_block").at("name").as_string(), "get_weather");
        }
        if (e.name == "content_block_delta" &&
            e.data.at("delta").at("type").as_string() == "input_json_delta") {
            input += e.data.at("delta").at("partial_json").as_string();
        }
        if (e.name == "message_delta") {
            EXPECT_EQ(e.data.at("delta").at("stop_reason").as_string(), "tool_use");
        }
    }
    EXPECT_TRUE(tool_started) << r.body;
    EXPECT_EQ(json::parse(input), json::parse(R"({"location":"Paris"})"));
}

TEST_F(MessagesTest, CountTokensElsewhereIsAnEstimateWithoutAnUpstreamCall) {
    start_messages();
    const long before = mock_requests();
    auto r =
        messages(R"({"model":"mock-gpt","messages":[{"role":"user","content":"Hello there"}]})",
                 "/v1/messages/count_tokens");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_GT(json::parse(r.body).at("input_tokens").as_int64(), 0);
    EXPECT_EQ(mock_requests(), before);
}

// ----- errors: Anthropic's shape on every path -----------------------------------------------

TEST_F(MessagesTest, UnknownModelIsNotFoundError) {
    start_messages();
    expect_anthropic_error(messages(message_for("no-such-model", false)), 404, "not_found_error");
}

TEST_F(MessagesTest, MalformedJsonAndMissingMaxTokensAreInvalidRequestErrors) {
    start_messages();
    expect_anthropic_error(messages(R"({"model":"mock-gpt",)"), 400, "invalid_request_error");
    auto r = messages(R"({"model":"mock-gpt","messages":[{"role":"user","content":"Hi"}]})");
    expect_anthropic_error(r, 400, "invalid_request_error");
    EXPECT_THAT(r.body, HasSubstr("max_tokens: Field required"));
}

TEST_F(MessagesTest, WrongMethodAndOversizedBodyHaveAnthropicsShape) {
    start_messages("  max_body_bytes: 2048\n");
    auto r = http_request(port(), "GET", "/v1/messages");
    expect_anthropic_error(r, 405, "invalid_request_error");
    EXPECT_EQ(r.header("allow"), "POST");
    expect_anthropic_error(
        messages(message_for("mock-gpt", false,
                             R"(,"metadata":{"user_id":")" + std::string(4096, 'x') + "\"}")),
        413, "request_too_large");
    // A head too large to parse (431) still answers in Anthropic's shape on its route.
    auto big = messages(message_for("mock-gpt", false), "/v1/messages",
                        kAnthropicHeaders + "x-padding: " + std::string(70 * 1024, 'p') + "\r\n");
    expect_anthropic_error(big, 431, "invalid_request_error");
    // The OpenAI routes keep OpenAI's shape.
    auto openai = http_request(port(), "GET", "/v1/chat/completions");
    EXPECT_EQ(openai.status, 405);
    EXPECT_TRUE(json::parse(openai.body).as_object().contains("error"));
    EXPECT_FALSE(json::parse(openai.body).as_object().contains("type"));
}

TEST_F(MessagesTest, UpstreamRateLimitIsRateLimitErrorWithRetryAfter) {
    start_messages();
    for (const std::string model : {"mock-429", "claude-429"}) {
        auto r = messages(message_for(model, false));
        expect_anthropic_error(r, 429, "rate_limit_error");
        EXPECT_EQ(r.header("retry-after"), "7") << model;
    }
}

TEST_F(MessagesTest, AFailureAfterTheFirstEventIsAnAnthropicErrorEvent) {
    start_messages();
    // The translated stream stalls after two words: the idle timeout ends it.
    auto r = messages(message_for("mock-stall", true));
    ASSERT_EQ(r.status, 200) << r.body;
    auto names = names_of(events_of(r.body));
    ASSERT_FALSE(names.empty());
    EXPECT_EQ(names.front(), "message_start");
    EXPECT_EQ(names.back(), "error");
    EXPECT_THAT(names, Not(::testing::Contains("message_stop")));
    auto last = events_of(r.body).back();
    EXPECT_EQ(last.data.at("type").as_string(), "error");
    EXPECT_EQ(last.data.at("error").at("type").as_string(), "timeout_error");

    // A native stream's own error event reaches the client as Anthropic sent it.
    auto native = messages(message_for("claude-overloaded", true));
    ASSERT_EQ(native.status, 200) << native.body;
    auto native_events = events_of(native.body);
    ASSERT_FALSE(native_events.empty());
    EXPECT_EQ(native_events.front().name, "message_start");
    EXPECT_EQ(native_events.back().name, "error");
    EXPECT_EQ(native_events.back().data.at("error").at("type").as_string(), "overloaded_error");
}

// ----- routing: retries before the first byte ------------------------------------------------

TEST_F(MessagesTest, A503IsRetriedOnTheNextTargetBeforeTheFirstByte) {
    start_messages();
    auto r = messages(message_for("ha", false));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-switchboard-attempts"), "2");
    EXPECT_EQ(r.header("x-switchboard-provider"), "mock");
    EXPECT_EQ(json::parse(r.body).at("type").as_string(), "message");

    auto s = messages(message_for("ha", true));
    ASSERT_EQ(s.status, 200) << s.body;
    EXPECT_EQ(s.header("x-switchboard-attempts"), "2");
    auto names = names_of(events_of(s.body));
    ASSERT_FALSE(names.empty());
    EXPECT_EQ(names.front(), "message_start");
    EXPECT_EQ(names.back(), "message_stop");
}

// ----- keep-alive pings ----------------------------------------------------------------------

TEST_F(MessagesTest, SilentStreamsGetPingEvents) {
    start_messages("  stream_ping_interval: 100ms\n");
    // Translated: 400 ms between words, pings every 100 ms of silence, only inside the message.
    auto r = messages(message_for("mock-slow", true));
    ASSERT_EQ(r.status, 200) << r.body;
    auto names = names_of(events_of(r.body), true);
    const auto pings = std::count(names.begin(), names.end(), "ping");
    EXPECT_GE(pings, 2) << r.body;
    ASSERT_GE(names.size(), 2u);
    EXPECT_EQ(names.front(), "message_start");
    EXPECT_EQ(names.back(), "message_stop");

    // Native: the gateway's pings add to the one the upstream sends.
    auto native = messages(message_for("claude-slow", true));
    ASSERT_EQ(native.status, 200) << native.body;
    auto native_names = names_of(events_of(native.body), true);
    EXPECT_GE(std::count(native_names.begin(), native_names.end(), "ping"), 3) << native.body;
    EXPECT_EQ(native_names.back(), "message_stop");
}

// ----- usage and cost ------------------------------------------------------------------------

TEST_F(MessagesTest, AnswersArePricedFromTheirAnthropicUsage) {
    start_messages();
    for (const std::string model : {"claude-priced", "mock-priced"}) {
        auto r = messages(message_for(model, false));
        ASSERT_EQ(r.status, 200) << r.body;
        const auto usage = json::parse(r.body).at("usage");
        const double input = static_cast<double>(usage.at("input_tokens").as_int64());
        const double output = static_cast<double>(usage.at("output_tokens").as_int64());
        ASSERT_GT(input, 0);
        ASSERT_GT(output, 0);
        ASSERT_FALSE(r.header("x-switchboard-cost").empty()) << model;
        EXPECT_NEAR(std::stod(r.header("x-switchboard-cost")),
                    (1000.0 * input + 2000.0 * output) / 1e6, 1e-7)
            << model;
    }
}

// ----- authentication: x-api-key or a bearer token -------------------------------------------

class MessagesAuthTest : public GatewayFixture {
  protected:
    void SetUp() override {
        start("", kModels,
              kProviders + "auth:\n  keys:\n    " + key_.id + ":\n      hash: \"" + key_.hash +
                  "\"\n      owner: alice\n");
    }
    governance::NewKey key_ = governance::generate_key();
};

TEST_F(MessagesAuthTest, XApiKeyAndBearerAreAcceptedAndErrorsAreAnthropicShaped) {
    const std::string body = message_for("mock-gpt", false);
    const std::string version = "anthropic-version: 2023-06-01\r\n";
    auto by_x_api_key = post("/v1/messages", body, version + "x-api-key: " + key_.secret + "\r\n");
    EXPECT_EQ(by_x_api_key.status, 200) << by_x_api_key.body;
    auto by_bearer =
        post("/v1/messages", body, version + "Authorization: Bearer " + key_.secret + "\r\n");
    EXPECT_EQ(by_bearer.status, 200) << by_bearer.body;
    expect_anthropic_error(post("/v1/messages", body, version), 401, "authentication_error");
    expect_anthropic_error(post("/v1/messages", body, version + "x-api-key: sk-wrong\r\n"), 401,
                           "authentication_error");
    // The client's key never reaches the provider.
    auto last = json::parse(mock_get("/_mock/last_request").body);
    EXPECT_EQ(last.at("headers").at("authorization").as_string(), "Bearer sk-mock-key");
    EXPECT_FALSE(last.at("headers").as_object().contains("x-api-key"));
}

}  // namespace
}  // namespace sb::test
