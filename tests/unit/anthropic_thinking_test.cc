// Anthropic extended thinking through the OpenAI format: `thinking_blocks` on the assistant
// message (response and stream) and their way back into the next request
// (docs/providers/anthropic.md, "Thinking blocks").

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "providers/anthropic/anthropic.h"

namespace sb::providers::anthropic {
namespace {

namespace json = boost::json;

config::Provider provider() {
    config::Provider p;
    p.name = "claude";
    p.base_url = "https://api.anthropic.com/v1";
    p.api_key = "sk-ant-test";
    return p;
}

ChatContext context(bool stream = false) {
    ChatContext ctx;
    ctx.public_model = "claude-public";
    ctx.upstream_model = "claude-sonnet-4-5";
    ctx.stream = stream;
    ctx.response_id = "chatcmpl-1";
    ctx.created = 1700000000;
    return ctx;
}

// An Anthropic answer with a signed thinking block, a redacted one and a tool call.
constexpr std::string_view kToolAnswer =
    R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[)"
    R"({"type":"thinking","thinking":"Need \"the\" weather tool.","signature":"c2lnbmF0dXJl"},)"
    R"({"type":"redacted_thinking","data":"ZW5jcnlwdGVk"},)"
    R"({"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],)"
    R"("stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":4}})";

const json::array kExpectedBlocks =
    json::parse(
        R"([{"type":"thinking","thinking":"Need \"the\" weather tool.","signature":"c2lnbmF0dXJl"},)"
        R"({"type":"redacted_thinking","data":"ZW5jcnlwdGVk"}])")
        .as_array();

// The next turn's request: the user question, `assistant` (as the client got it), the tool
// result; with `reasoning_effort` when `thinking` is set.
std::string next_turn(const json::object& assistant, bool thinking = true) {
    json::object body;
    body["model"] = "claude-public";
    body["messages"] = json::array{
        json::object{{"role", "user"}, {"content", "Weather in Paris?"}},
        assistant,
        json::object{{"role", "tool"}, {"tool_call_id", "toolu_1"}, {"content", "18C"}},
    };
    body["tools"] = json::parse(
        R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}])");
    if (thinking) {
        body["reasoning_effort"] = "low";
    }
    return json::serialize(body);
}

json::array assistant_content(const std::string& anthropic_body) {
    const json::value request = json::parse(anthropic_body);
    return request.at("messages").at(1).at("content").as_array();
}

TEST(AnthropicThinking, ResponseCarriesReasoningContentAndThinkingBlocksInOrder) {
    AnthropicAdapter adapter;
    auto out = adapter.translate_chat_response(kToolAnswer, context());
    ASSERT_TRUE(out) << out.error().message;
    const json::value message = json::parse(*out).at("choices").at(0).at("message");
    EXPECT_EQ(message.at("reasoning_content"), "Need \"the\" weather tool.");
    EXPECT_EQ(message.at("thinking_blocks"), kExpectedBlocks);
    EXPECT_EQ(message.at("tool_calls").at(0).at("id"), "toolu_1");
}

TEST(AnthropicThinking, TheReturnedMessageSentBackRestoresTheBlocksBeforeToolUse) {
    AnthropicAdapter adapter;
    auto out = adapter.translate_chat_response(kToolAnswer, context());
    ASSERT_TRUE(out) << out.error().message;
    const json::object message = json::parse(*out).at("choices").at(0).at("message").as_object();

    auto req = adapter.build_chat(provider(), next_turn(message), context());
    ASSERT_TRUE(req) << req.error().message;
    const json::array content = assistant_content(req->body);
    ASSERT_EQ(content.size(), 3U) << req->body;
    EXPECT_EQ(content[0], kExpectedBlocks[0]);
    EXPECT_EQ(content[1], kExpectedBlocks[1]);
    EXPECT_EQ(content[2].at("type"), "tool_use");
    EXPECT_EQ(content[2].at("id"), "toolu_1");
}

TEST(AnthropicThinking, StreamedBlocksEqualTheNonStreamOnesWhateverTheSplit) {
    // The same answer as kToolAnswer, streamed.
    const std::string sse =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
        "{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Need \\\"the\\\" \"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"weather tool.\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"signature_delta\",\"signature\":\"c2lnbmF0dXJl\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
        "\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"ZW5jcnlwdGVk\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,"
        "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\","
        "\"input\":{}}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,"
        "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\\\"Paris\\\"}"
        "\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        "\"tool_use\"},\"usage\":{\"output_tokens\":4}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    AnthropicAdapter adapter;
    for (const std::size_t step : {sse.size(), std::size_t{1}, std::size_t{7}}) {
        SCOPED_TRACE(step);
        auto decoder = adapter.make_chat_stream_decoder(context(true));
        std::string out;
        for (std::size_t at = 0; at < sse.size(); at += step) {
            ASSERT_TRUE(decoder->feed(std::string_view(sse).substr(at, step), out));
        }
        ASSERT_TRUE(decoder->finish(out));

        // Accumulate the deltas as a client does.
        json::array blocks;
        std::string reasoning;
        std::size_t pos = 0;
        while ((pos = out.find("data: {", pos)) != std::string::npos) {
            const std::size_t end = out.find("\n\n", pos);
            const json::value chunk = json::parse(out.substr(pos + 6, end - pos - 6));
            pos = end;
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
        }
        EXPECT_EQ(reasoning, "Need \"the\" weather tool.");
        EXPECT_EQ(blocks, kExpectedBlocks);
    }
}

TEST(AnthropicThinking, EachThinkingBlockGivesOneEntryEvenWithOddEvents) {
    // A signature_delta and a stop for a block never started, a thinking block whose start
    // event already carries its text and signature, and a repeated stop.
    const std::string sse =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":5,"
        "\"delta\":{\"type\":\"signature_delta\",\"signature\":\"x\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":5}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"a\",\"signature\":\"s\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    AnthropicAdapter adapter;
    auto decoder = adapter.make_chat_stream_decoder(context(true));
    std::string out;
    ASSERT_TRUE(decoder->feed(sse, out));
    ASSERT_TRUE(decoder->finish(out));
    const std::string entry =
        R"("thinking_blocks":[{"type":"thinking","thinking":"a","signature":"s"}])";
    const std::size_t first = out.find(entry);
    ASSERT_NE(first, std::string::npos) << out;
    EXPECT_EQ(out.find(entry, first + 1), std::string::npos) << out;
    EXPECT_EQ(out.find("\"x\""), std::string::npos) << out;
}

// A body whose assistant message (messages[1]) has `thinking_blocks: <blocks>`.
std::string with_blocks(std::string_view blocks) {
    return std::string(
               R"({"model":"m","reasoning_effort":"low","messages":[{"role":"user","content":"x"},)"
               R"({"role":"assistant","content":null,"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"f","arguments":"{}"}}],"thinking_blocks":)") +
           std::string(blocks) +
           R"(},{"role":"tool","tool_call_id":"toolu_1","content":"ok"}],"tools":[{"type":"function","function":{"name":"f"}}]})";
}

TEST(AnthropicThinking, MalformedThinkingBlocksAreRefusedByName) {
    AnthropicAdapter adapter;
    for (
        const auto& [blocks, param] : std::vector<std::pair<std::string, std::string>>{
            {R"({"type":"thinking"})", "messages[1].thinking_blocks"},
            {R"("abc")", "messages[1].thinking_blocks"},
            {R"([1])", "messages[1].thinking_blocks[0]"},
            {R"([{"thinking":"t","signature":"s"}])", "messages[1].thinking_blocks[0].type"},
            {R"([{"type":"text","text":"t"}])", "messages[1].thinking_blocks[0].type"},
            {R"([{"type":"thinking","thinking":"t"}])", "messages[1].thinking_blocks[0].signature"},
            {R"([{"type":"thinking","thinking":"t","signature":""}])",
             "messages[1].thinking_blocks[0].signature"},
            {R"([{"type":"thinking","thinking":"t","signature":7}])",
             "messages[1].thinking_blocks[0].signature"},
            {R"([{"type":"thinking","signature":"s"}])", "messages[1].thinking_blocks[0].thinking"},
            {R"([{"type":"thinking","thinking":"t","signature":"s"},{"type":"redacted_thinking"}])",
             "messages[1].thinking_blocks[1].data"},
        }) {
        SCOPED_TRACE(blocks);
        auto req = adapter.build_chat(provider(), with_blocks(blocks), context());
        ASSERT_FALSE(req);
        EXPECT_EQ(http_status(req.error()), 400);
        EXPECT_EQ(error_type(req.error()), "invalid_request_error");
        EXPECT_EQ(req.error().param, param);
    }
}

TEST(AnthropicThinking, BlocksAreCheckedButNotSentWithoutThinking) {
    AnthropicAdapter adapter;
    auto out = adapter.translate_chat_response(kToolAnswer, context());
    ASSERT_TRUE(out) << out.error().message;
    const json::object message = json::parse(*out).at("choices").at(0).at("message").as_object();
    auto req = adapter.build_chat(provider(), next_turn(message, /*thinking=*/false), context());
    ASSERT_TRUE(req) << req.error().message;
    const json::array content = assistant_content(req->body);
    ASSERT_EQ(content.size(), 1U) << req->body;
    EXPECT_EQ(content[0].at("type"), "tool_use");

    json::object broken = message;
    broken["thinking_blocks"] = json::parse(R"([{"type":"thinking","thinking":"t"}])");
    auto refused = adapter.build_chat(provider(), next_turn(broken, false), context());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().param, "messages[1].thinking_blocks[0].signature");
}

TEST(AnthropicThinking, NullOrEmptyThinkingBlocksChangeNothing) {
    AnthropicAdapter adapter;
    const std::string plain =
        R"({"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"},{"role":"user","content":"z"}]})";
    auto base = adapter.build_chat(provider(), plain, context());
    ASSERT_TRUE(base);
    for (const std::string_view blocks : {"null", "[]"}) {
        SCOPED_TRACE(blocks);
        std::string body = plain;
        body.insert(body.find(R"("content":"y")") + 13,
                    ",\"thinking_blocks\":" + std::string(blocks));
        auto req = adapter.build_chat(provider(), body, context());
        ASSERT_TRUE(req) << req.error().message;
        EXPECT_EQ(req->body, base->body);
    }
}

}  // namespace
}  // namespace sb::providers::anthropic
