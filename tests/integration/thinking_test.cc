// Integration: Anthropic extended thinking through the OpenAI API. The mock answers a request
// with `thinking` enabled with a signed thinking block, and, like Anthropic, refuses a follow-up
// whose tool-calling assistant turn lacks it (or carries it altered). The client keeps the
// assistant message it got (`thinking_blocks` included) and sends it back.
#include <boost/json.hpp>

#include "integration/gateway_fixture.h"

namespace sb::test {
namespace {

namespace json = boost::json;

const std::string kProvider =
    "  claude:\n    type: anthropic\n    base_url: MOCK_URL\n    api_key: sk-mock-key\n"
    "    timeouts: {first_byte: 5s, idle: 5s}\n";
const std::string kModels =
    "  claude-t: {provider: claude, model: \"claude-sonnet-4-5;tool_call=1\"}\n";

const json::value kTools = json::parse(
    R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",)"
    R"("properties":{"location":{"type":"string"}}}}}])");

json::object request(bool stream) {
    return json::object{
        {"model", "claude-t"},
        {"stream", stream},
        {"reasoning_effort", "low"},
        {"tools", kTools},
        {"messages", json::array{json::object{{"role", "user"}, {"content", "Weather?"}}}},
    };
}

// The first request again, continued with `assistant` and the tool's result.
std::string second_turn(bool stream, const json::object& assistant) {
    json::object body = request(stream);
    json::array& messages = body["messages"].as_array();
    messages.push_back(assistant);
    const std::string call_id(assistant.at("tool_calls").at(0).at("id").as_string());
    messages.push_back(
        json::object{{"role", "tool"}, {"tool_call_id", call_id}, {"content", "18C"}});
    return json::serialize(body);
}

// The assistant message a client assembles from the stream's deltas.
json::object assemble(const std::string& body) {
    std::string reasoning;
    json::array blocks;
    json::array calls;
    std::size_t p = 0;
    while ((p = body.find("data: {", p)) != std::string::npos) {
        const std::size_t e = body.find("\n\n", p);
        const json::value chunk = json::parse(body.substr(p + 6, e - p - 6));
        p = e;
        const json::array& choices = chunk.at("choices").as_array();
        if (choices.empty()) {
            continue;
        }
        const json::object& delta = choices[0].at("delta").as_object();
        if (const auto* text = delta.if_contains("reasoning_content")) {
            reasoning += text->as_string();
        }
        if (const auto* entries = delta.if_contains("thinking_blocks")) {
            for (const json::value& entry : entries->as_array()) {
                blocks.push_back(entry);
            }
        }
        if (const auto* tool_calls = delta.if_contains("tool_calls")) {
            for (const json::value& call : tool_calls->as_array()) {
                const auto index = static_cast<std::size_t>(call.at("index").as_int64());
                if (index == calls.size()) {
                    calls.push_back(call);
                    calls.back().as_object().erase("index");
                } else {
                    json::string& arguments =
                        calls.at(index).at("function").at("arguments").as_string();
                    arguments += call.at("function").at("arguments").as_string();
                }
            }
        }
    }
    return json::object{{"role", "assistant"},
                        {"content", nullptr},
                        {"reasoning_content", reasoning},
                        {"thinking_blocks", blocks},
                        {"tool_calls", calls}};
}

class ThinkingTest : public GatewayFixture,
                     public ::testing::WithParamInterface<bool> {  // stream or not
  protected:
    // The first turn's assistant message, checked to carry a signed thinking block.
    json::object first_turn() {
        const bool stream = GetParam();
        auto r = post("/v1/chat/completions", json::serialize(request(stream)));
        EXPECT_EQ(r.status, 200) << r.body;
        json::object message =
            stream ? assemble(r.body)
                   : json::parse(r.body).at("choices").at(0).at("message").as_object();
        // The mock was asked for thinking.
        auto last = json::parse(mock_get("/_mock/last_request").body);
        auto sent = json::parse(last.at("body").as_string());
        EXPECT_EQ(sent.at("thinking").at("type"), "enabled");

        const json::array& blocks = message.at("thinking_blocks").as_array();
        EXPECT_EQ(blocks.size(), 1U) << json::serialize(message);
        if (!blocks.empty()) {
            EXPECT_EQ(blocks[0].at("type"), "thinking");
            EXPECT_EQ(blocks[0].at("thinking"), message.at("reasoning_content"));
            EXPECT_FALSE(blocks[0].at("signature").as_string().empty());
        }
        EXPECT_EQ(message.at("tool_calls").as_array().size(), 1U);
        return message;
    }
};

TEST_P(ThinkingTest, SendingBackTheMessageWithThinkingBlocksContinuesTheToolConversation) {
    start("", kModels, kProvider);
    const json::object assistant = first_turn();
    ASSERT_FALSE(HasFailure());
    auto r = post("/v1/chat/completions", second_turn(GetParam(), assistant));
    ASSERT_EQ(r.status, 200) << r.body;
    // What Anthropic got: the thinking block, unchanged, before the tool_use.
    auto last = json::parse(mock_get("/_mock/last_request").body);
    auto sent = json::parse(last.at("body").as_string());
    const json::array& content = sent.at("messages").at(1).at("content").as_array();
    ASSERT_EQ(content.size(), 2U) << json::serialize(sent);
    EXPECT_EQ(content[0], assistant.at("thinking_blocks").at(0));
    EXPECT_EQ(content[1].at("type"), "tool_use");
}

TEST_P(ThinkingTest, WithoutThinkingBlocksTheProviderRefusesTheTurn) {
    start("", kModels, kProvider);
    json::object assistant = first_turn();
    ASSERT_FALSE(HasFailure());
    assistant.erase("thinking_blocks");
    auto r = post("/v1/chat/completions", second_turn(GetParam(), assistant));
    ASSERT_EQ(r.status, 400) << r.body;
    auto error = json::parse(r.body).at("error");
    EXPECT_EQ(error.at("type"), "invalid_request_error");
    const std::string message(error.at("message").as_string());
    EXPECT_NE(message.find("Expected `thinking` or `redacted_thinking`, but found `tool_use`"),
              std::string::npos)
        << message;
}

TEST_P(ThinkingTest, AnAlteredThinkingBlockFailsTheSignatureCheck) {
    start("", kModels, kProvider);
    json::object assistant = first_turn();
    ASSERT_FALSE(HasFailure());
    assistant["thinking_blocks"].as_array()[0].as_object()["thinking"] = "Something else.";
    auto r = post("/v1/chat/completions", second_turn(GetParam(), assistant));
    ASSERT_EQ(r.status, 400) << r.body;
    const std::string message(json::parse(r.body).at("error").at("message").as_string());
    EXPECT_NE(message.find("Invalid `signature` in `thinking` block"), std::string::npos)
        << message;
}

TEST_P(ThinkingTest, MalformedThinkingBlocksAre400NamingThem) {
    start("", kModels, kProvider);
    json::object assistant = first_turn();
    ASSERT_FALSE(HasFailure());
    assistant["thinking_blocks"] = "not an array";
    auto r = post("/v1/chat/completions", second_turn(GetParam(), assistant));
    ASSERT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(json::parse(r.body).at("error").at("param"), "messages[1].thinking_blocks");
}

INSTANTIATE_TEST_SUITE_P(JsonAndStream, ThinkingTest, ::testing::Bool(),
                         [](const auto& param_info) {
                             return param_info.param ? "Stream" : "Json";
                         });

}  // namespace
}  // namespace sb::test
