// `thinking_blocks` on an assistant message (Anthropic's signed thinking, as our Anthropic
// adapter returns it) reaching a provider that cannot take Anthropic signatures: Gemini and
// Bedrock ignore the field, so a client that switches providers keeps its history
// (docs/providers/gemini.md, docs/providers/bedrock.md).

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "providers/bedrock/bedrock.h"
#include "providers/gemini/gemini.h"

namespace sb::providers {
namespace {

ChatContext context(std::string upstream_model) {
    ChatContext ctx;
    ctx.public_model = "public";
    ctx.upstream_model = std::move(upstream_model);
    ctx.response_id = "chatcmpl-1";
    ctx.created = 1700000000;
    return ctx;
}

// A tool conversation whose assistant turn carries `thinking_blocks: <blocks>` (none when
// empty).
std::string conversation(std::string_view blocks) {
    std::string body =
        R"({"model":"m","messages":[{"role":"user","content":"Weather?"},)"
        R"({"role":"assistant","content":"Checking.","tool_calls":[{"id":"call_1","type":"function",)"
        R"("function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}])";
    if (!blocks.empty()) {
        body += ",\"thinking_blocks\":";
        body += blocks;
    }
    body +=
        R"(},{"role":"tool","tool_call_id":"call_1","content":"18C"}],)"
        R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]})";
    return body;
}

constexpr std::string_view kBlockLists[] = {
    R"([{"type":"thinking","thinking":"Need the tool.","signature":"c2ln"},{"type":"redacted_thinking","data":"ZW5j"}])",
    R"("not even an array")",
    "null",
};

TEST(ThinkingBlocksElsewhere, GeminiIgnoresThem) {
    gemini::GeminiAdapter adapter;
    config::Provider p;
    p.name = "gemini";
    p.api_key = "key";
    const ChatContext ctx = context("gemini-2.5-flash");
    auto base = adapter.build_chat(p, conversation(""), ctx);
    ASSERT_TRUE(base) << base.error().message;
    for (const std::string_view blocks : kBlockLists) {
        SCOPED_TRACE(blocks);
        auto req = adapter.build_chat(p, conversation(blocks), ctx);
        ASSERT_TRUE(req) << req.error().message;
        EXPECT_EQ(req->body, base->body);
    }
}

TEST(ThinkingBlocksElsewhere, BedrockIgnoresThem) {
    bedrock::BedrockAdapter adapter(
        bedrock::BedrockCredentials{"AKIDEXAMPLE", "secret", "", "us-east-1"},
        [] { return std::int64_t{1440938160}; });
    config::Provider p;
    p.name = "bedrock";
    const ChatContext ctx = context("anthropic.claude-3-5-sonnet-20240620-v1:0");
    auto base = adapter.build_chat(p, conversation(""), ctx);
    ASSERT_TRUE(base) << base.error().message;
    for (const std::string_view blocks : kBlockLists) {
        SCOPED_TRACE(blocks);
        auto req = adapter.build_chat(p, conversation(blocks), ctx);
        ASSERT_TRUE(req) << req.error().message;
        EXPECT_EQ(req->body, base->body);
    }
}

}  // namespace
}  // namespace sb::providers
