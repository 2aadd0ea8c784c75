#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "providers/anthropic/anthropic.h"

namespace sb::providers::anthropic {
namespace {

config::Provider provider() {
    config::Provider p;
    p.name = "claude";
    p.base_url = "https://api.anthropic.com/v1";
    p.api_key = "sk-ant-secret-123";
    p.headers = {{"anthropic-beta", "output-128k-2025-02-19"}};
    p.timeouts.connect = std::chrono::milliseconds(1111);
    p.timeouts.first_byte = std::chrono::milliseconds(2222);
    p.timeouts.idle = std::chrono::milliseconds(3333);
    p.timeouts.total = std::chrono::milliseconds(4444);
    return p;
}

ChatContext context(bool stream = false, bool include_usage = false) {
    ChatContext ctx;
    ctx.public_model = "claude-public";
    ctx.upstream_model = "claude-sonnet-4-5";
    ctx.stream = stream;
    ctx.include_usage = include_usage;
    ctx.response_id = "chatcmpl-1";
    ctx.created = 1700000000;
    return ctx;
}

bool has(const std::vector<std::string>& headers, std::string_view line) {
    return std::find(headers.begin(), headers.end(), line) != headers.end();
}

constexpr std::string_view kHello =
    R"({"model":"claude-public","messages":[{"role":"user","content":"Hi"}]})";

TEST(AnthropicBuildChat, PostsToMessagesWithKeyVersionAndExtras) {
    AnthropicAdapter adapter;
    auto req = adapter.build_chat(provider(), kHello, context());
    ASSERT_TRUE(req) << req.error().message;
    EXPECT_EQ(req->url, "https://api.anthropic.com/v1/messages");
    EXPECT_TRUE(has(req->headers, "Content-Type: application/json"));
    EXPECT_TRUE(has(req->headers, "x-api-key: sk-ant-secret-123"));
    EXPECT_TRUE(has(req->headers, "anthropic-version: 2023-06-01"));
    EXPECT_TRUE(has(req->headers, "anthropic-beta: output-128k-2025-02-19"));
    for (const auto& h : req->headers) {
        EXPECT_FALSE(h.starts_with("Authorization")) << h;
    }
    EXPECT_EQ(req->timeouts.connect.count(), 1111);
    EXPECT_EQ(req->timeouts.first_byte.count(), 2222);
    EXPECT_EQ(req->timeouts.idle.count(), 3333);
    EXPECT_EQ(req->timeouts.total.count(), 4444);
}

TEST(AnthropicBuildChat, DefaultsTheBaseUrlAndToleratesATrailingSlash) {
    AnthropicAdapter adapter;
    auto p = provider();
    p.base_url.clear();
    EXPECT_EQ(adapter.build_chat(p, kHello, context())->url,
              "https://api.anthropic.com/v1/messages");
    p.base_url = "http://127.0.0.1:9000/v1/";
    EXPECT_EQ(adapter.build_chat(p, kHello, context())->url, "http://127.0.0.1:9000/v1/messages");
}

TEST(AnthropicBuildChat, NamedAuthHeaderIsUsedWithItsPrefix) {
    AnthropicAdapter adapter;
    auto p = provider();
    p.auth_header = "X-Proxy-Key";
    p.auth_prefix = "Key ";
    auto req = adapter.build_chat(p, kHello, context());
    EXPECT_TRUE(has(req->headers, "X-Proxy-Key: Key sk-ant-secret-123"));
    for (const auto& h : req->headers) {
        EXPECT_FALSE(h.starts_with("x-api-key")) << h;
    }
}

TEST(AnthropicBuildChat, NoKeyMeansNoAuthHeader) {
    AnthropicAdapter adapter;
    auto p = provider();
    p.api_key.clear();
    auto req = adapter.build_chat(p, kHello, context());
    for (const auto& h : req->headers) {
        EXPECT_FALSE(h.starts_with("x-api-key")) << h;
        EXPECT_FALSE(h.starts_with("Authorization")) << h;
    }
}

TEST(AnthropicBuildChat, ConfiguredVersionHeaderReplacesOurs) {
    AnthropicAdapter adapter;
    auto p = provider();
    p.headers = {{"Anthropic-Version", "2099-01-01"}};
    auto req = adapter.build_chat(p, kHello, context());
    EXPECT_TRUE(has(req->headers, "Anthropic-Version: 2099-01-01"));
    EXPECT_FALSE(has(req->headers, "anthropic-version: 2023-06-01"));
}

TEST(AnthropicBuildChat, UsesTheUpstreamModelAndTheContextStreamFlag) {
    AnthropicAdapter adapter;
    auto req = adapter.build_chat(provider(), kHello, context(/*stream=*/true));
    ASSERT_TRUE(req);
    EXPECT_EQ(
        req->body,
        R"({"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":"Hi"}],"stream":true})");
}

TEST(AnthropicBuildChat, MalformedJsonIsA400) {
    AnthropicAdapter adapter;
    auto req = adapter.build_chat(provider(), R"({"messages": [)", context());
    ASSERT_FALSE(req);
    EXPECT_EQ(http_status(req.error()), 400);
    EXPECT_EQ(req.error().code, ErrorCode::InvalidJson);
}

TEST(AnthropicBuildChat, InvalidToolArgumentsNameTheirPath) {
    AnthropicAdapter adapter;
    auto req = adapter.build_chat(
        provider(),
        R"({"messages":[{"role":"user","content":"x"},{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{nope"}}]}]})",
        context());
    ASSERT_FALSE(req);
    EXPECT_EQ(http_status(req.error()), 400);
    EXPECT_EQ(error_type(req.error()), "invalid_request_error");
    EXPECT_EQ(req.error().param, "messages[1].tool_calls[0].function.arguments");
}

TEST(AnthropicBuildChat, UnsupportedParametersAreRefusedByName) {
    AnthropicAdapter adapter;
    for (const auto& [field, value] :
         std::vector<std::pair<std::string, std::string>>{{"n", "3"},
                                                          {"logprobs", "true"},
                                                          {"top_logprobs", "2"},
                                                          {"presence_penalty", "0.1"},
                                                          {"frequency_penalty", "1"},
                                                          {"logit_bias", R"({"1":2})"},
                                                          {"seed", "7"},
                                                          {"store", "true"},
                                                          {"audio", "{}"},
                                                          {"functions", "[]"},
                                                          {"something_new", "1"}}) {
        SCOPED_TRACE(field);
        const std::string body =
            R"({"messages":[{"role":"user","content":"x"}],")" + field + "\":" + value + "}";
        auto req = adapter.build_chat(provider(), body, context());
        ASSERT_FALSE(req);
        EXPECT_EQ(http_status(req.error()), 400);
        EXPECT_EQ(error_type(req.error()), "invalid_request_error");
        EXPECT_EQ(req.error().param, field);
        EXPECT_NE(req.error().message.find("not supported by provider anthropic"),
                  std::string::npos)
            << req.error().message;
    }
}

// ---------------------------------------------------------------------------------------------

TEST(AnthropicResponse, ToolUseInputBecomesAnArgumentsString) {
    AnthropicAdapter adapter;
    auto out = adapter.translate_chat_response(
        R"({"id":"msg_1","type":"message","role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":"b"}}],"stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":4}})",
        context());
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(
        *out,
        R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"claude-public","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"f","arguments":"{\"a\":\"b\"}"}}],"refusal":null},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}})");
}

TEST(AnthropicResponse, NonJsonBodyIsABadResponse) {
    AnthropicAdapter adapter;
    auto out = adapter.translate_chat_response("<html>", context());
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, ErrorCode::UpstreamBadResponse);
    EXPECT_EQ(http_status(out.error()), 502);
}

// ---------------------------------------------------------------------------------------------

TEST(AnthropicMapError, KeepsStatusTypeMessageAndRetryAfter) {
    AnthropicAdapter adapter;
    const Error e = adapter.map_error(
        provider(), 429,
        R"({"type":"error","error":{"type":"rate_limit_error","message":"Slow down"},"request_id":"req_1"})",
        "30");
    EXPECT_EQ(e.code, ErrorCode::UpstreamError);
    EXPECT_EQ(http_status(e), 429);
    EXPECT_EQ(error_type(e), "rate_limit_error");
    EXPECT_EQ(e.message, "Slow down");
    EXPECT_EQ(e.retry_after, "30");
}

TEST(AnthropicMapError, OverloadedKeeps529) {
    AnthropicAdapter adapter;
    const Error e = adapter.map_error(
        provider(), 529,
        R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", "");
    EXPECT_EQ(http_status(e), 529);
    EXPECT_EQ(error_type(e), "overloaded_error");
}

TEST(AnthropicMapError, RejectedKeyIsUpstreamAuthWithTheKeyScrubbed) {
    AnthropicAdapter adapter;
    for (const int status : {401, 403}) {
        const Error e = adapter.map_error(
            provider(), status,
            R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key sk-ant-secret-123"}})",
            "");
        EXPECT_EQ(e.code, ErrorCode::UpstreamAuth);
        EXPECT_EQ(http_status(e), 502);
        EXPECT_EQ(e.message.find("sk-ant-secret-123"), std::string::npos) << e.message;
        EXPECT_NE(e.message.find("[redacted]"), std::string::npos) << e.message;
    }
}

TEST(AnthropicMapError, NonJsonBodyGetsAGenericMessageAndTheStatusType) {
    AnthropicAdapter adapter;
    const Error e = adapter.map_error(provider(), 503, "<html>busy</html>", "");
    EXPECT_EQ(http_status(e), 503);
    EXPECT_EQ(error_type(e), "api_error");
    EXPECT_NE(e.message.find("HTTP 503"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------

constexpr std::string_view kShortStream =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5,"
    "\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Hi\"}}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":"
    "{\"output_tokens\":2}}\n\n";

TEST(AnthropicStream, EmitsOpenAIChunksAndDoneAfterMessageStop) {
    AnthropicAdapter adapter;
    auto decoder = adapter.make_chat_stream_decoder(context(true));
    std::string out;
    ASSERT_TRUE(decoder->feed(kShortStream, out));
    ASSERT_TRUE(decoder->feed("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", out));
    ASSERT_TRUE(decoder->finish(out));
    const std::string prefix =
        R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"claude-public","choices":[)";
    EXPECT_EQ(
        out,
        prefix +
            R"({"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})"
            "\n\n" +
            prefix +
            R"({"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]})"
            "\n\n" +
            prefix +
            R"({"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]})"
            "\n\n" +
            "data: [DONE]\n\n");
}

TEST(AnthropicStream, UsageChunkPrecedesDoneWhenAskedFor) {
    AnthropicAdapter adapter;
    auto decoder = adapter.make_chat_stream_decoder(context(true, true));
    std::string out;
    ASSERT_TRUE(decoder->feed(kShortStream, out));
    ASSERT_TRUE(decoder->feed("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", out));
    ASSERT_TRUE(decoder->finish(out));
    EXPECT_NE(
        out.find(
            R"("choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7,)"),
        std::string::npos)
        << out;
    EXPECT_TRUE(out.ends_with("}\n\ndata: [DONE]\n\n"));
    EXPECT_NE(out.find(R"("finish_reason":"stop"}],"usage":null})"), std::string::npos);
}

TEST(AnthropicStream, EndingWithoutMessageStopIsABadResponse) {
    AnthropicAdapter adapter;
    auto decoder = adapter.make_chat_stream_decoder(context(true));
    std::string out;
    ASSERT_TRUE(decoder->feed(kShortStream, out));
    auto status = decoder->finish(out);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, ErrorCode::UpstreamBadResponse);
    EXPECT_EQ(out.find("[DONE]"), std::string::npos);
}

TEST(AnthropicStream, OverloadedErrorEventIsAnUpstreamError) {
    AnthropicAdapter adapter;
    auto decoder = adapter.make_chat_stream_decoder(context(true));
    std::string out;
    ASSERT_TRUE(decoder->feed(kShortStream.substr(0, kShortStream.find("\n\n") + 2), out));
    auto status = decoder->feed(
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
        "\"message\":\"Overloaded\"}}\n\n",
        out);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, ErrorCode::UpstreamError);
    EXPECT_EQ(status.error().upstream_status, 529);
    EXPECT_EQ(status.error().upstream_type, "overloaded_error");
    EXPECT_EQ(status.error().message, "Overloaded");
    // The decoder stays failed.
    EXPECT_FALSE(decoder->feed("event: message_stop\ndata: {}\n\n", out));
    EXPECT_FALSE(decoder->finish(out));
}

TEST(AnthropicStream, ApiErrorEventIs500) {
    AnthropicAdapter adapter;
    auto decoder = adapter.make_chat_stream_decoder(context(true));
    std::string out;
    auto status = decoder->feed(
        "event: error\r\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\","
        "\"message\":\"Internal server error\"}}\r\n\r\n",
        out);
    ASSERT_FALSE(status);
    EXPECT_EQ(http_status(status.error()), 500);
    EXPECT_EQ(error_type(status.error()), "api_error");
}

TEST(AnthropicStream, MalformedJsonIsABadResponse) {
    AnthropicAdapter adapter;
    auto decoder = adapter.make_chat_stream_decoder(context(true));
    std::string out;
    auto status = decoder->feed("event: content_block_delta\ndata: {\"type\":\n\n", out);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, ErrorCode::UpstreamBadResponse);
}

TEST(AnthropicStream, AnOversizedLineIsABadResponseNotAnAllocationSpree) {
    AnthropicAdapter adapter;
    auto decoder = adapter.make_chat_stream_decoder(context(true));
    std::string out;
    const std::string chunk(1 << 20, 'x');
    Status status = decoder->feed("data: ", out);
    for (int i = 0; i < 20 && status; ++i) {
        status = decoder->feed(chunk, out);
    }
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, ErrorCode::UpstreamBadResponse);
}

TEST(AnthropicStream, GarbageNeverCrashes) {
    AnthropicAdapter adapter;
    std::uint32_t x = 12345;
    for (int round = 0; round < 200; ++round) {
        auto decoder = adapter.make_chat_stream_decoder(context(true, true));
        std::string out;
        std::string input(kShortStream);
        for (int k = 0; k < 8; ++k) {
            x = x * 1664525u + 1013904223u;
            input[x % input.size()] = static_cast<char>(x >> 24);
        }
        if (decoder->feed(input, out)) {
            (void)decoder->finish(out);
        }
    }
    SUCCEED();
}

TEST(AnthropicTranslators, MutatedBodiesNeverCrash) {
    AnthropicAdapter adapter;
    const std::string request =
        R"({"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},{"role":"tool","tool_call_id":"a","content":"r"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto","stop":["x"],"max_tokens":9,"reasoning_effort":"low","response_format":{"type":"json_schema","json_schema":{"schema":{}}}})";
    const std::string response =
        R"({"type":"message","content":[{"type":"thinking","thinking":"t"},{"type":"text","text":"a"},{"type":"tool_use","id":"i","name":"n","input":{"k":[1]}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}})";
    std::uint32_t x = 987654321;
    for (int round = 0; round < 2000; ++round) {
        std::string req = request;
        std::string resp = response;
        for (int k = 0; k < 3; ++k) {
            x = x * 1664525u + 1013904223u;
            req[x % req.size()] = static_cast<char>(x >> 24);
            x = x * 1664525u + 1013904223u;
            resp[x % resp.size()] = static_cast<char>(x >> 24);
        }
        auto built = adapter.build_chat(provider(), req, context());
        if (!built) {
            EXPECT_GE(http_status(built.error()), 400);
        }
        (void)adapter.translate_chat_response(resp, context());
    }
    SUCCEED();
}

}  // namespace
}  // namespace sb::providers::anthropic
