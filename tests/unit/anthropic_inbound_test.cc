// Unit tests for the inbound Anthropic Messages translation (src/inbound/anthropic/): parse(),
// every refusal of to_openai_chat, the error mapping, the stream translator's state rules and
// a round trip through the outbound Anthropic adapter.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "api/openai_request.h"
#include "core/error.h"
#include "inbound/anthropic/messages.h"
#include "providers/anthropic/anthropic.h"
#include "providers/gemini/gemini.h"

namespace sb::inbound::anthropic {
namespace {

// ---------------------------------------------------------------------------------------------
// parse()

TEST(AnthropicInboundParse, ReadsModelStreamMaxTokensAndStopSequences) {
    const std::string body =
        R"({"max_tokens":64,"model":"claude-x","stream":true,"stop_sequences":["a","b"],)"
        R"("messages":[{"role":"user","content":"hi"}]})";
    auto req = parse(Endpoint::Messages, body);
    ASSERT_TRUE(req) << req.error().message;
    EXPECT_EQ(req->inbound.model, "claude-x");
    EXPECT_TRUE(req->inbound.stream);
    EXPECT_EQ(req->max_tokens, 64);
    EXPECT_EQ(req->stop_sequences, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(body.substr(req->inbound.model_offset, req->inbound.model_length), "\"claude-x\"");
}

TEST(AnthropicInboundParse, ModelSpanLetsTheGatewayRewriteTheModelInPlace) {
    const std::string body =
        R"({"model" : "cl\"aude","max_tokens":5,"messages":[{"role":"user","content":"x"}]})";
    auto req = parse(Endpoint::Messages, body);
    ASSERT_TRUE(req) << req.error().message;
    EXPECT_EQ(req->inbound.model, "cl\"aude");
    const std::string rewritten = api::rewrite_model(body, req->inbound, "claude-upstream");
    auto again = parse(Endpoint::Messages, rewritten);
    ASSERT_TRUE(again) << rewritten;
    EXPECT_EQ(again->inbound.model, "claude-upstream");
    EXPECT_EQ(rewritten,
              R"({"model" : "claude-upstream","max_tokens":5,"messages":[{"role":"user",)"
              R"("content":"x"}]})");
}

TEST(AnthropicInboundParse, MissingMaxTokensIsA400InAnthropicShape) {
    auto req = parse(Endpoint::Messages, R"({"model":"m","messages":[]})");
    ASSERT_FALSE(req);
    EXPECT_EQ(http_status(req.error()), 400);
    EXPECT_EQ(req.error().param, "max_tokens");
    EXPECT_EQ(anthropic_error_body(req.error()),
              R"({"type":"error","error":{"type":"invalid_request_error",)"
              R"("message":"max_tokens: Field required"}})");
}

TEST(AnthropicInboundParse, CountTokensNeedsNoMaxTokens) {
    auto req = parse(Endpoint::CountTokens, R"({"model":"m","messages":[]})");
    ASSERT_TRUE(req) << req.error().message;
    EXPECT_FALSE(req->max_tokens);
}

TEST(AnthropicInboundParse, RefusesBadBodies) {
    struct Case {
        std::string body;
        ErrorCode code;
        std::string param;
    };
    const std::vector<Case> cases = {
        {"", ErrorCode::InvalidJson, ""},
        {"{\"model\":", ErrorCode::InvalidJson, ""},
        {"[1,2]", ErrorCode::InvalidRequest, ""},
        {R"({"max_tokens":1,"messages":[]})", ErrorCode::InvalidRequest, "model"},
        {R"({"model":"","max_tokens":1,"messages":[]})", ErrorCode::InvalidRequest, "model"},
        {R"({"model":5,"max_tokens":1,"messages":[]})", ErrorCode::InvalidRequest, "model"},
        {R"({"model":"a","model":"b","max_tokens":1,"messages":[]})", ErrorCode::InvalidRequest,
         "model"},
        {R"({"model":"a","max_tokens":1})", ErrorCode::InvalidRequest, "messages"},
        {R"({"model":"a","max_tokens":1,"messages":{}})", ErrorCode::InvalidRequest, "messages"},
        {R"({"model":"a","max_tokens":"1","messages":[]})", ErrorCode::InvalidRequest,
         "max_tokens"},
        {R"({"model":"a","max_tokens":-1,"messages":[]})", ErrorCode::InvalidRequest, "max_tokens"},
        {R"({"model":"a","max_tokens":1.5,"messages":[]})", ErrorCode::InvalidRequest,
         "max_tokens"},
        {R"({"model":"a","max_tokens":1,"stream":"yes","messages":[]})", ErrorCode::InvalidRequest,
         "stream"},
        {R"({"model":"a","max_tokens":1,"stop_sequences":[1],"messages":[]})",
         ErrorCode::InvalidRequest, "stop_sequences.0"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.body);
        auto req = parse(Endpoint::Messages, c.body);
        ASSERT_FALSE(req);
        EXPECT_EQ(req.error().code, c.code);
        EXPECT_EQ(req.error().param, c.param);
        EXPECT_EQ(http_status(req.error()), 400);
    }
}

// ---------------------------------------------------------------------------------------------
// native_request (Anthropic targets)

bool has_header(const http::UpstreamRequest& req, std::string_view line) {
    return std::find(req.headers.begin(), req.headers.end(), line) != req.headers.end();
}

TEST(AnthropicInboundNative, ForwardsTheBytesWithTheModelRewrittenAndTheClientsVersionAndBetas) {
    const std::string body =
        R"({"model":"claude-public","max_tokens":5,"messages":[{"role":"user","content":"x"}],)"
        R"("future_field":{"kept":true}})";
    auto req = parse(Endpoint::Messages, body);
    ASSERT_TRUE(req);
    config::Provider provider;
    provider.name = "anthropic";
    provider.type = config::ProviderType::Anthropic;
    provider.api_key = "sk-ant";
    auto upstream = native_request(
        provider, Endpoint::Messages, body, *req, "claude-sonnet-4-5",
        {.anthropic_version = "2023-01-01", .anthropic_beta = "prompt-caching-2024-07-31"});
    ASSERT_TRUE(upstream) << upstream.error().message;
    EXPECT_EQ(upstream->url, "https://api.anthropic.com/v1/messages");
    EXPECT_EQ(upstream->body,
              R"({"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user",)"
              R"("content":"x"}],"future_field":{"kept":true}})");
    EXPECT_TRUE(has_header(*upstream, "x-api-key: sk-ant"));
    EXPECT_TRUE(has_header(*upstream, "anthropic-version: 2023-01-01"));
    EXPECT_TRUE(has_header(*upstream, "anthropic-beta: prompt-caching-2024-07-31"));
    EXPECT_EQ(
        std::count_if(upstream->headers.begin(), upstream->headers.end(),
                      [](const std::string& h) { return h.starts_with("anthropic-version"); }),
        1);
}

TEST(AnthropicInboundNative, ConfiguredHeadersWinAndCountTokensHasItsOwnPath) {
    const std::string body = R"({"model":"m","messages":[]})";
    auto req = parse(Endpoint::CountTokens, body);
    ASSERT_TRUE(req);
    config::Provider provider;
    provider.base_url = "http://127.0.0.1:9/v1/";
    provider.headers = {{"Anthropic-Version", "2024-10-22"}, {"anthropic-beta", "pinned"}};
    auto upstream = native_request(provider, Endpoint::CountTokens, body, *req, "m",
                                   {.anthropic_version = "2023-06-01", .anthropic_beta = "other"});
    ASSERT_TRUE(upstream) << upstream.error().message;
    EXPECT_EQ(upstream->url, "http://127.0.0.1:9/v1/messages/count_tokens");
    EXPECT_EQ(upstream->body, body) << "same model: the bytes are moved untouched";
    EXPECT_TRUE(has_header(*upstream, "Anthropic-Version: 2024-10-22"));
    EXPECT_TRUE(has_header(*upstream, "anthropic-beta: pinned"));
    EXPECT_FALSE(has_header(*upstream, "anthropic-version: 2023-06-01"));
    EXPECT_FALSE(has_header(*upstream, "anthropic-beta: other"));
    EXPECT_FALSE(has_header(*upstream, "x-api-key: ")) << "no key configured: no auth header";
}

TEST(AnthropicInboundNative, ControlCharactersInForwardedHeadersAreRefused) {
    const std::string body = R"({"model":"m","max_tokens":1,"messages":[]})";
    auto req = parse(Endpoint::Messages, body);
    ASSERT_TRUE(req);
    auto upstream =
        native_request(config::Provider{}, Endpoint::Messages, body, *req, "m",
                       {.anthropic_version = {}, .anthropic_beta = "a\r\nx-api-key: stolen"});
    ASSERT_FALSE(upstream);
    EXPECT_EQ(http_status(upstream.error()), 400);
    EXPECT_EQ(upstream.error().param, "anthropic-beta");
}

// ---------------------------------------------------------------------------------------------
// to_openai_chat refusals: each is a 400 naming the parameter.

std::string with(std::string_view fields,
                 std::string_view messages = R"([{"role":"user","content":"hi"}])") {
    std::string body = R"({"model":"claude","max_tokens":100,"messages":)";
    body += messages;
    if (!fields.empty()) {
        body += ',';
        body += fields;
    }
    body += '}';
    return body;
}

struct Refusal {
    std::string body;
    std::string param;
};

TEST(AnthropicInboundRequest, RefusesWhatHasNoOpenAIEquivalent) {
    const std::string tool = R"({"name":"f","input_schema":{"type":"object"}})";
    const std::vector<Refusal> cases = {
        {with(R"("top_k":5)"), "top_k"},
        {with(R"("model":"other")"), "model"},
        {with(R"("thinking":{"type":"enabled","budget_tokens":2048})"), "thinking"},
        {with(R"("thinking":{"type":"adaptive"})"), "thinking"},
        {with(R"("output_config":{"effort":"high"})"), "output_config.effort"},
        {with(R"("frequency_penalty":0)"), "frequency_penalty"},
        {with(R"("container":"c1")"), "container"},
        {with(R"("mcp_servers":[])"), "mcp_servers"},
        {with(R"("context_management":{})"), "context_management"},
        {with(R"("metadata":{"user_id":"u","tenant":"t"})"), "metadata.tenant"},
        {with(R"("tools":[{"type":"bash_20250124","name":"bash"}])"), "tools.0.type"},
        {with(R"("tools":[{"name":"f","input_schema":{},"input_examples":[]}])"),
         "tools.0.input_examples"},
        {with(R"("tool_choice":{"type":"tool","name":"f"})"), "tool_choice"},
        {with(R"("tool_choice":{"type":"any"})"), "tool_choice"},
        {with("\"tools\":[" + tool + R"(],"tool_choice":{"type":"sometimes"})"),
         "tool_choice.type"},
        {with("\"tools\":[" + tool + R"(],"tool_choice":{"type":"auto","x":1})"), "tool_choice.x"},
        {with("", R"([{"role":"user","content":"a"},{"role":"assistant","content":"{"}])"),
         "messages.1"},
        {with("", R"([{"role":"system","content":"a"}])"), "messages.0.role"},
        {with("", R"([{"role":"user","content":"a","name":"bob"}])"), "messages.0.name"},
        {with("", R"([{"role":"user"}])"), "messages.0.content"},
        {with("", R"([])"), "messages"},
        {with("", R"([{"role":"user","content":[]}])"), "messages.0.content"},
        {with("", R"([{"role":"user","content":[{"type":"document","source":{"type":"file",)"
                  R"("file_id":"f"}}]}])"),
         "messages.0.content.0.source.type"},
        {with("", R"([{"role":"user","content":[{"type":"document","source":{"type":)"
                  R"("base64","media_type":"text/html","data":"x"}}]}])"),
         "messages.0.content.0.source.media_type"},
        {with("", R"([{"role":"user","content":[{"type":"document","source":{"type":)"
                  R"("text","data":"x"},"title":5}]}])"),
         "messages.0.content.0.title"},
        {with("", R"([{"role":"user","content":[{"type":"search_result"}]}])"),
         "messages.0.content.0.type"},
        {with("", R"([{"role":"user","content":[{"type":"image","source":{"type":"file",)"
                  R"("file_id":"f"}}]}])"),
         "messages.0.content.0.source.type"},
        {with("", R"([{"role":"user","content":[{"type":"image","source":{"type":"base64",)"
                  R"("media_type":"image/bmp","data":"x"}}]}])"),
         "messages.0.content.0.source.media_type"},
        {with("", R"([{"role":"user","content":[{"type":"tool_use","id":"t","name":"f",)"
                  R"("input":{}}]}])"),
         "messages.0.content.0.type"},
        {with("", R"([{"role":"user","content":[{"type":"mystery"}]}])"),
         "messages.0.content.0.type"},
        {with("", R"([{"role":"user","content":[{"type":"text"}]}])"), "messages.0.content.0.text"},
        {with("", R"([{"role":"user","content":[{"type":"text","text":"a","extra":1}]}])"),
         "messages.0.content.0.extra"},
        {with("", R"([{"role":"user","content":"a"},{"role":"assistant","content":[{"type":)"
                  R"("server_tool_use","id":"s","name":"web_search","input":{}}]},)"
                  R"({"role":"user","content":"b"}])"),
         "messages.1.content.0.type"},
        {with("",
              R"([{"role":"user","content":"a"},{"role":"assistant","content":[{"type":)"
              R"("tool_use","id":"t","name":"f","input":"{}"}]},{"role":"user","content":"b"}])"),
         "messages.1.content.0.input"},
        {with("", R"([{"role":"user","content":[{"type":"tool_result","tool_use_id":"t",)"
                  R"("content":[{"type":"document","source":{"type":"text","data":"x"}}]}]}])"),
         "messages.0.content.0.content.0.type"},
        {with("", R"([{"role":"user","content":[{"type":"tool_result","tool_use_id":"t",)"
                  R"("is_error":"yes"}]}])"),
         "messages.0.content.0.is_error"},
        {with("", R"([{"role":"user","content":[{"type":"tool_result"}]}])"),
         "messages.0.content.0.tool_use_id"},
        {with(R"("temperature":2)"), "temperature"},
        {with(R"("top_p":"high")"), "top_p"},
        {with(R"("system":[{"type":"image"}])"), "system.0.type"},
        {with(R"("system":5)"), "system"},
        {with(R"("output_config":{"format":{"type":"json_object"}})"), "output_config.format.type"},
        {with(R"("thinking":{"type":"enabled","budget_tokens":100})"), "thinking.budget_tokens"},
        {R"({"model":"claude","max_tokens":0,"messages":[{"role":"user","content":"hi"}]})",
         "max_tokens"},
    };
    for (const Refusal& c : cases) {
        SCOPED_TRACE(c.body);
        auto result = to_openai_chat(c.body);
        ASSERT_FALSE(result) << *result;
        EXPECT_EQ(result.error().code, ErrorCode::InvalidRequest);
        EXPECT_EQ(result.error().param, c.param) << result.error().message;
        EXPECT_EQ(http_status(result.error()), 400);
        EXPECT_TRUE(result.error().message.starts_with(c.param + ": ")) << result.error().message;
    }
}

TEST(AnthropicInboundRequest, TopKPassesWhenTheTargetTakesIt) {
    TargetOptions target;
    target.top_k = true;
    auto result = to_openai_chat(with(R"("top_k":5)"), target);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_NE(result->find(R"("top_k":5)"), std::string::npos) << *result;
}

TEST(AnthropicInboundRequest, ThinkingBudgetMapsToReasoningEffortBands) {
    TargetOptions target;
    target.thinking = Thinking::ReasoningEffort;
    const std::pair<int, std::string_view> cases[] = {
        {1024, "low"}, {4095, "low"}, {4096, "medium"}, {16383, "medium"}, {16384, "high"}};
    for (const auto& [budget, effort] : cases) {
        auto result = to_openai_chat(
            with(R"("thinking":{"type":"enabled","budget_tokens":)" + std::to_string(budget) + "}"),
            target);
        ASSERT_TRUE(result) << result.error().message;
        EXPECT_NE(result->find(std::string(R"("reasoning_effort":")") + std::string(effort) + '"'),
                  std::string::npos)
            << budget << ": " << *result;
    }
}

TEST(AnthropicInboundRequest, TargetOptionsFollowWhatEachPathCarries) {
    using config::ProviderType;
    const TargetOptions openai = target_options_for(ProviderType::OpenAI);
    EXPECT_FALSE(openai.top_k);
    EXPECT_EQ(openai.thinking, Thinking::ReasoningEffort);
    EXPECT_EQ(openai.max_tokens_field, MaxTokensField::MaxCompletionTokens);
    EXPECT_EQ(target_options_for(ProviderType::Azure).max_tokens_field,
              MaxTokensField::MaxCompletionTokens);
    for (const ProviderType type : {ProviderType::Anthropic, ProviderType::Gemini}) {
        const TargetOptions target = target_options_for(type);
        EXPECT_TRUE(target.top_k);
        EXPECT_EQ(target.thinking, Thinking::ReasoningEffort);
        EXPECT_EQ(target.max_tokens_field, MaxTokensField::MaxTokens);
    }
    for (const ProviderType type : {ProviderType::OpenAICompatible, ProviderType::Bedrock}) {
        const TargetOptions target = target_options_for(type);
        EXPECT_FALSE(target.top_k);
        EXPECT_EQ(target.thinking, Thinking::Refuse);
        EXPECT_EQ(target.max_tokens_field, MaxTokensField::MaxTokens);
    }
}

// What the Gemini adapter gets from a translated request with target_options_for(Gemini):
// top_k and reasoning_effort are carried into its generationConfig, not refused.
TEST(AnthropicInboundRequest, GeminiAdapterTakesTheTranslatedExtensions) {
    auto openai =
        to_openai_chat(with(R"("top_k":7,"thinking":{"type":"enabled","budget_tokens":2048})"),
                       target_options_for(config::ProviderType::Gemini));
    ASSERT_TRUE(openai) << openai.error().message;
    config::Provider provider;
    provider.name = "gemini";
    provider.type = config::ProviderType::Gemini;
    provider.api_key = "k";
    providers::ChatContext ctx;
    ctx.upstream_model = "gemini-2.5-flash";
    const providers::gemini::GeminiAdapter adapter;
    auto upstream = adapter.build_chat(provider, *openai, ctx);
    ASSERT_TRUE(upstream) << upstream.error().message << "\n" << *openai;
    EXPECT_NE(upstream->body.find(R"("topK":7)"), std::string::npos) << upstream->body;
    EXPECT_NE(upstream->body.find("thinkingConfig"), std::string::npos) << upstream->body;
}

TEST(AnthropicInboundRequest, ToolResultImagesMoveToAUserMessageAfterTheToolMessages) {
    auto result = to_openai_chat(
        with("", R"([{"role":"user","content":"look"},{"role":"assistant","content":[{"type":)"
                 R"("tool_use","id":"t1","name":"shot","input":{}}]},{"role":"user","content":[)"
                 R"({"type":"tool_result","tool_use_id":"t1","content":[{"type":"image","source":)"
                 R"({"type":"url","url":"https://x/a.png"}}]}]}])"));
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_NE(result->find(R"({"role":"tool","tool_call_id":"t1","content":"[image: attached )"
                           R"(to the next user message]"},{"role":"user","content":[{"type":)"
                           R"("text","text":"Images returned by tool call t1:"},{"type":)"
                           R"("image_url","image_url":{"url":"https://x/a.png"}}]}])"),
              std::string::npos)
        << *result;
}

TEST(AnthropicInboundRequest, EmptySystemPromptIsLeftOut) {
    auto result = to_openai_chat(with(R"("system":"")"));
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->find("\"system\""), std::string::npos) << *result;
}

TEST(AnthropicInboundRequest, ModelOverrideReplacesTheClientsModel) {
    TargetOptions target;
    target.model = "gpt-4o-mini";
    auto result = to_openai_chat(with(""), target);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->starts_with(R"({"model":"gpt-4o-mini",)")) << *result;
}

TEST(AnthropicInboundRequest, OutputIsAnOpenAIBodyTheInspectorAccepts) {
    const std::string body = with(
        R"("stream":true,"system":"s","tools":[{"name":"f","input_schema":{"type":"object"}}])");
    auto result = to_openai_chat(body);
    ASSERT_TRUE(result) << result.error().message;
    std::string buffer = *result;
    buffer.reserve(buffer.size() + api::kJsonPadding);
    auto inspected =
        api::inspect_request(api::Endpoint::ChatCompletions, buffer, buffer.capacity());
    ASSERT_TRUE(inspected) << inspected.error().message;
    EXPECT_EQ(inspected->model, "claude");
    EXPECT_TRUE(inspected->stream);
    EXPECT_TRUE(inspected->include_usage);
}

// ---------------------------------------------------------------------------------------------
// Round trip: Anthropic request -> OpenAI -> the outbound Anthropic adapter gives back an
// equivalent Anthropic request.

boost::json::value canonical(const boost::json::value& v) {
    if (v.is_object()) {
        std::vector<std::pair<std::string, boost::json::value>> members;
        for (const auto& member : v.as_object()) {
            members.emplace_back(std::string(member.key()), canonical(member.value()));
        }
        std::sort(members.begin(), members.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        boost::json::object out;
        for (auto& [key, value] : members) {
            out[key] = std::move(value);
        }
        return out;
    }
    if (v.is_array()) {
        boost::json::array out;
        for (const auto& item : v.as_array()) {
            out.push_back(canonical(item));
        }
        return out;
    }
    return v;
}

TEST(AnthropicInboundRoundTrip, OutboundAdapterRebuildsAnEquivalentRequest) {
    const std::string original = R"({
        "model": "claude-sonnet-4-5",
        "max_tokens": 16384,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking both."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                 "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather",
                 "input": {"city": "Rome", "unit": "c"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "25 C"}]},
            {"role": "assistant", "content": "Paris 18 C, Rome 25 C."},
            {"role": "user", "content": [
                {"type": "text", "text": "And this picture?"},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": "iVBORw0KGgo="}}]}
        ],
        "tools": [{"name": "get_weather", "description": "Weather for a city",
                   "input_schema": {"type": "object",
                                    "properties": {"city": {"type": "string"}}}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "stop_sequences": ["END"],
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 20,
        "thinking": {"type": "enabled", "budget_tokens": 8192},
        "metadata": {"user_id": "u-1"},
        "stream": true
    })";
    TargetOptions target;
    target.top_k = true;
    target.thinking = Thinking::ReasoningEffort;
    auto openai = to_openai_chat(original, target);
    ASSERT_TRUE(openai) << openai.error().message;

    providers::ChatContext ctx;
    ctx.public_model = "claude-sonnet-4-5";
    ctx.upstream_model = "claude-sonnet-4-5";
    ctx.stream = true;
    ctx.include_usage = true;
    config::Provider provider;
    provider.name = "anthropic";
    provider.api_key = "k";
    const providers::anthropic::AnthropicAdapter adapter;
    auto rebuilt = adapter.build_chat(provider, *openai, ctx);
    ASSERT_TRUE(rebuilt) << rebuilt.error().message << "\n" << *openai;

    EXPECT_EQ(boost::json::serialize(canonical(boost::json::parse(rebuilt->body))),
              boost::json::serialize(canonical(boost::json::parse(original))))
        << "via " << *openai;
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(AnthropicInboundErrors, EveryErrorCodeMapsToAnAnthropicType) {
    struct Case {
        ErrorCode code;
        int status;
        std::string_view type;
    };
    const Case cases[] = {
        {ErrorCode::InvalidRequest, 400, "invalid_request_error"},
        {ErrorCode::InvalidJson, 400, "invalid_request_error"},
        {ErrorCode::BadFraming, 400, "invalid_request_error"},
        {ErrorCode::Unauthorized, 401, "authentication_error"},
        {ErrorCode::PermissionDenied, 403, "permission_error"},
        {ErrorCode::NotFound, 404, "not_found_error"},
        {ErrorCode::ModelNotFound, 404, "not_found_error"},
        {ErrorCode::MethodNotAllowed, 405, "invalid_request_error"},
        {ErrorCode::RequestTimeout, 408, "invalid_request_error"},
        {ErrorCode::PayloadTooLarge, 413, "request_too_large"},
        {ErrorCode::UnsupportedMediaType, 415, "invalid_request_error"},
        {ErrorCode::HeadersTooLarge, 431, "invalid_request_error"},
        {ErrorCode::RateLimited, 429, "rate_limit_error"},
        {ErrorCode::Internal, 500, "api_error"},
        {ErrorCode::UpstreamError, 502, "api_error"},
        {ErrorCode::UpstreamAuth, 502, "api_error"},
        {ErrorCode::UpstreamUnreachable, 502, "api_error"},
        {ErrorCode::UpstreamBadResponse, 502, "api_error"},
        {ErrorCode::UpstreamTimeout, 504, "timeout_error"},
        {ErrorCode::Unavailable, 503, "api_error"},
    };
    static_assert(std::size(cases) == static_cast<std::size_t>(ErrorCode::Unavailable) + 1);
    for (const Case& c : cases) {
        const Error e(c.code, "something \"quoted\"");
        SCOPED_TRACE(std::string(c.type));
        EXPECT_EQ(http_status(e), c.status);
        EXPECT_EQ(anthropic_error_type(e), c.type);
        EXPECT_EQ(anthropic_error_body(e), std::string(R"({"type":"error","error":{"type":")") +
                                               std::string(c.type) +
                                               R"(","message":"something \"quoted\""}})");
    }
}

TEST(AnthropicInboundErrors, UpstreamStatusesPickTheType) {
    const std::pair<int, std::string_view> cases[] = {
        {400, "invalid_request_error"},
        {402, "billing_error"},
        {404, "not_found_error"},
        {409, "invalid_request_error"},
        {422, "invalid_request_error"},
        {429, "rate_limit_error"},
        {500, "api_error"},
        {503, "api_error"},
        {504, "timeout_error"},
        {529, "overloaded_error"},
    };
    for (const auto& [status, type] : cases) {
        Error e(ErrorCode::UpstreamError, "x");
        e.upstream_status = status;
        e.upstream_type = "server_error";  // an OpenAI type: the status decides
        EXPECT_EQ(anthropic_error_type(e), type) << status;
    }
    Error kept(ErrorCode::UpstreamError, "Overloaded");
    kept.upstream_status = 503;
    kept.upstream_type = "overloaded_error";
    EXPECT_EQ(anthropic_error_type(kept), "overloaded_error");
}

TEST(AnthropicInboundErrors, RequestIdIsAddedWhenGiven) {
    EXPECT_EQ(anthropic_error_body(Error(ErrorCode::NotFound, "no"), "req_1"),
              R"({"type":"error","error":{"type":"not_found_error","message":"no"},)"
              R"("request_id":"req_1"})");
}

TEST(AnthropicInboundErrors, OpenAIErrorObjectsKeepTypeCodeAndGuessTheStatus) {
    simdjson::dom::parser parser;
    const std::pair<std::string_view, int> cases[] = {
        {R"({"message":"m","type":"requests","code":"rate_limit_exceeded"})", 429},
        {R"({"message":"m","type":"invalid_request_error","code":null})", 400},
        {R"({"message":"m","type":"server_error","code":null})", 500},
        {R"({"message":"m","type":"upstream_error","code":"upstream_timeout"})", 504},
        {R"({"message":"m","code":"429"})", 429},
        {R"({"message":"m","code":503})", 503},
        {R"("plain text")", 500},
    };
    for (const auto& [json, status] : cases) {
        const simdjson::padded_string padded(json);
        const Error e = openai_error(parser.parse(padded).value_unsafe());
        EXPECT_EQ(e.code, ErrorCode::UpstreamError);
        EXPECT_EQ(http_status(e), status) << json;
        EXPECT_FALSE(e.message.empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Stream translator behaviour beyond the golden cases.

ResponseContext stream_context() {
    ResponseContext ctx;
    ctx.message_id = "msg_t";
    ctx.model = "m";
    return ctx;
}

TEST(AnthropicInboundStream, PingOnlyWhileAMessageIsInProgress) {
    StreamTranslator translator(stream_context());
    std::string out;
    translator.ping(out);
    EXPECT_EQ(out, "") << "no ping before message_start";
    ASSERT_TRUE(translator.feed(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n", out));
    EXPECT_TRUE(translator.started());
    out.clear();
    translator.ping(out);
    EXPECT_EQ(out, "event: ping\ndata: {\"type\": \"ping\"}\n\n");
    ASSERT_TRUE(translator.feed(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"
        "\n\ndata: [DONE]\n\n",
        out));
    EXPECT_TRUE(translator.ended());
    out.clear();
    translator.ping(out);
    EXPECT_EQ(out, "") << "no ping after message_stop";
}

TEST(AnthropicInboundStream, ErrorEventEndsTheStream) {
    StreamTranslator translator(stream_context());
    std::string out;
    auto status = translator.feed(
        "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"code\":null}}\n\n",
        out);
    ASSERT_FALSE(status);
    EXPECT_EQ(out, "") << "the gateway decides: plain HTTP error before the first byte";
    EXPECT_FALSE(translator.started());
    translator.fail(status.error(), out);
    EXPECT_EQ(out,
              "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\","
              "\"message\":\"boom\"}}\n\n");
    EXPECT_TRUE(translator.ended());
    std::string later;
    translator.ping(later);
    translator.fail(status.error(), later);
    EXPECT_EQ(later, "") << "nothing after the error event";
}

TEST(AnthropicInboundStream, GatewayFailureAfterContentBecomesAnErrorEvent) {
    StreamTranslator translator(stream_context());
    std::string out;
    ASSERT_TRUE(translator.feed(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n", out));
    translator.fail(Error(ErrorCode::UpstreamTimeout, "The upstream stopped sending."), out);
    EXPECT_TRUE(out.ends_with(
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"timeout_error\","
        "\"message\":\"The upstream stopped sending.\"}}\n\n"))
        << out;
    EXPECT_EQ(out.find("message_stop"), std::string::npos);
}

TEST(AnthropicInboundStream, ArgumentsAfterACompleteClosedCallAreABadStream) {
    StreamTranslator translator(stream_context());
    std::string out;
    const std::string chunks =
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\","
        "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\","
        "\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
        "\"function\":{\"arguments\":\" \"}}]}}]}\n\n";
    ASSERT_TRUE(translator.feed(chunks, out)) << "blank text after the end is ignored";
    auto status = translator.feed(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
        "\"function\":{\"arguments\":\"x\"}}]}}]}\n\n",
        out);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, ErrorCode::UpstreamBadResponse);
}

TEST(AnthropicInboundStream, EstimateIsReportedUntilTheUpstreamCountArrives) {
    ResponseContext ctx = stream_context();
    ctx.input_tokens_estimate = 77;
    StreamTranslator translator(ctx);
    std::string out;
    ASSERT_TRUE(translator.feed(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":3,"
        "\"prompt_tokens_details\":{\"cached_tokens\":20}}}\n\ndata: [DONE]\n\n",
        out));
    EXPECT_NE(out.find(R"("usage":{"input_tokens":77,)"), std::string::npos) << out;
    EXPECT_NE(out.find(R"("usage":{"input_tokens":30,"cache_creation_input_tokens":0,)"
                       R"("cache_read_input_tokens":20,"output_tokens":3})"),
              std::string::npos)
        << out;
}

// ---------------------------------------------------------------------------------------------
// count_tokens

TEST(AnthropicInboundCountTokens, FollowsTheDocumentedFormula) {
    // 40 bytes of text -> 10, two messages -> 6, one image -> 1600.
    const std::string body =
        R"({"model":"m","system":"0123456789","messages":[)"
        R"({"role":"user","content":"0123456789"},)"
        R"({"role":"assistant","content":[{"type":"text","text":"01234567890123456789"}]},)"
        R"({"role":"user","content":[{"type":"image","source":{"type":"url","url":"u"}}]}]})";
    auto tokens = estimate_input_tokens(body);
    ASSERT_TRUE(tokens) << tokens.error().message;
    EXPECT_EQ(*tokens, 10 + 3 * 3 + 1600);
    auto with_tool = estimate_input_tokens(
        R"({"model":"m","messages":[],"tools":[{"name":"abcd","input_schema":{}}]})");
    ASSERT_TRUE(with_tool);
    EXPECT_EQ(*with_tool, (4 + 2 + 3) / 4 + 300);  // "abcd" + "{}", rounded up, + tool overhead
    auto with_documents = estimate_input_tokens(
        R"({"model":"m","messages":[{"role":"user","content":[)"
        R"({"type":"document","source":{"type":"base64","media_type":"application/pdf",)"
        R"("data":"JVBERi0="}},{"type":"document","source":{"type":"text","data":"12345678"}}]}]})");
    ASSERT_TRUE(with_documents);
    EXPECT_EQ(*with_documents, 8 / 4 + 3 + 1500);  // the text document, one message, one PDF
}

}  // namespace
}  // namespace sb::inbound::anthropic
