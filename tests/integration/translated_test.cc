// Integration: OpenAI requests through the gateway to a translating provider (Anthropic
// Messages, spoken by the mock), JSON and streams, tools and errors.
#include <boost/json.hpp>

#include "integration/gateway_fixture.h"

namespace sb::test {
namespace {

namespace json = boost::json;

const std::string kAnthropicProvider =
    "  claude:\n    type: anthropic\n    base_url: MOCK_URL\n    api_key: sk-mock-key\n"
    "    timeouts: {first_byte: 5s, idle: 5s}\n";

std::string chat_for(const std::string& model, bool stream, const std::string& extra = "") {
    return R"({"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") + extra +
           R"(,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]})";
}

const std::string kTools =
    R"(,"tools":[{"type":"function","function":{"name":"get_weather","description":"w",)"
    R"("parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}])";

std::vector<std::string> sse_data(const std::string& body) {
    std::vector<std::string> out;
    std::size_t p = 0;
    while ((p = body.find("data: ", p)) != std::string::npos) {
        auto e = body.find("\n\n", p);
        out.push_back(body.substr(p + 6, e - p - 6));
        p = e;
    }
    return out;
}

class TranslatedTest : public GatewayFixture {
  protected:
    void start_anthropic(const std::string& models) { start("", models, kAnthropicProvider); }
};

TEST_F(TranslatedTest, AnthropicJsonIsTranslatedToChatCompletion) {
    start_anthropic("  claude-x: {provider: claude, model: claude-sonnet-4-5}\n");
    auto r = post("/v1/chat/completions", chat_for("claude-x", false));
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = json::parse(r.body);
    EXPECT_EQ(v.at("object").as_string(), "chat.completion");
    EXPECT_EQ(v.at("model").as_string(), "claude-x");
    EXPECT_EQ(v.at("choices").at(0).at("finish_reason").as_string(), "stop");
    EXPECT_FALSE(v.at("choices").at(0).at("message").at("content").as_string().empty());
    EXPECT_GT(v.at("usage").at("total_tokens").as_int64(), 0);
    // What reached the provider is Anthropic's format, with our key and version header.
    auto last = json::parse(mock_get("/_mock/last_request").body);
    EXPECT_EQ(last.at("path").as_string(), "/v1/messages");
    EXPECT_EQ(last.at("headers").at("x-api-key").as_string(), "sk-mock-key");
    EXPECT_TRUE(last.at("headers").as_object().contains("anthropic-version"));
    auto sent = json::parse(last.at("body").as_string());
    EXPECT_EQ(sent.at("model").as_string(), "claude-sonnet-4-5");
    EXPECT_EQ(sent.at("system").as_string(), "Be brief.");
}

TEST_F(TranslatedTest, AnthropicStreamBecomesOpenAiChunksWithUsage) {
    start_anthropic("  claude-x: {provider: claude, model: claude-sonnet-4-5}\n");
    auto r = post("/v1/chat/completions",
                  chat_for("claude-x", true, R"(,"stream_options":{"include_usage":true})"));
    ASSERT_EQ(r.status, 200) << r.body;
    auto events = sse_data(r.body);
    ASSERT_GE(events.size(), 4u);
    EXPECT_EQ(events.back(), "[DONE]");
    auto first = json::parse(events.front());
    EXPECT_EQ(first.at("choices").at(0).at("delta").at("role").as_string(), "assistant");
    auto usage = json::parse(events[events.size() - 2]);
    EXPECT_TRUE(usage.at("choices").as_array().empty());
    EXPECT_GT(usage.at("usage").at("completion_tokens").as_int64(), 0);
    bool finished = false;
    for (std::size_t i = 0; i + 2 < events.size(); ++i) {
        auto v = json::parse(events[i]);
        auto& fr = v.at("choices").at(0).at("finish_reason");
        finished = finished || (fr.is_string() && fr.as_string() == "stop");
    }
    EXPECT_TRUE(finished);
}

TEST_F(TranslatedTest, AnthropicStreamedToolCallReassembles) {
    start_anthropic("  claude-t: {provider: claude, model: \"claude-sonnet-4-5;tool_call=1\"}\n");
    auto r = post("/v1/chat/completions", chat_for("claude-t", true, kTools));
    ASSERT_EQ(r.status, 200) << r.body;
    std::string args;
    std::string name;
    std::string finish;
    for (const auto& e : sse_data(r.body)) {
        if (e == "[DONE]") {
            continue;
        }
        auto v = json::parse(e);
        auto& choice = v.at("choices").at(0).as_object();
        if (choice.at("finish_reason").is_string()) {
            finish = choice.at("finish_reason").as_string();
        }
        auto* calls = choice.at("delta").as_object().if_contains("tool_calls");
        if (calls == nullptr) {
            continue;
        }
        auto& call = calls->at(0).as_object();
        EXPECT_EQ(call.at("index").as_int64(), 0);
        auto& fn = call.at("function").as_object();
        if (auto* n = fn.if_contains("name")) {
            name = n->as_string();
        }
        if (auto* a = fn.if_contains("arguments")) {
            args += a->as_string();
        }
    }
    EXPECT_EQ(name, "get_weather");
    EXPECT_EQ(finish, "tool_calls");
    EXPECT_TRUE(json::parse(args).is_object()) << args;
}

TEST_F(TranslatedTest, AnthropicErrorsKeepStatusAndType) {
    start_anthropic(
        "  claude-429: {provider: claude, model: \"c;status=429;retry_after=3\"}\n"
        "  claude-529: {provider: claude, model: \"c;status=529\"}\n");
    auto r = post("/v1/chat/completions", chat_for("claude-429", false));
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(r.header("retry-after"), "3");
    EXPECT_EQ(json::parse(r.body).at("error").at("type").as_string(), "rate_limit_error");
    r = post("/v1/chat/completions", chat_for("claude-529", false));
    EXPECT_EQ(r.status, 529) << r.body;
    EXPECT_EQ(json::parse(r.body).at("error").at("type").as_string(), "overloaded_error");
}

TEST_F(TranslatedTest, OverloadedBeforeAnyOutputIsAnHttpError) {
    start_anthropic(
        "  claude-o: {provider: claude, model: \"c;chunks=0;stream_error=overloaded\"}\n");
    auto r = post("/v1/chat/completions", chat_for("claude-o", true));
    // Nothing had reached the client when the error came (the stream head waits for the
    // first translated event), so the client gets a plain, retryable HTTP error.
    EXPECT_EQ(r.status, 529) << r.body;
    EXPECT_EQ(json::parse(r.body).at("error").at("type").as_string(), "overloaded_error");
}

TEST_F(TranslatedTest, OverloadedMidStreamEndsWithErrorEventNoDone) {
    // The delay lets the first chunks reach the client before the error arrives.
    start_anthropic(
        "  claude-o: {provider: claude, model: \"c;chunks=3;chunk_delay_ms=30;"
        "stream_error=overloaded\"}\n");
    auto r = post("/v1/chat/completions", chat_for("claude-o", true));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.complete);
    auto events = sse_data(r.body);
    ASSERT_GE(events.size(), 2u);
    EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
    auto err = json::parse(events.back()).at("error").as_object();
    EXPECT_EQ(err.at("type").as_string(), "overloaded_error");
}

TEST_F(TranslatedTest, UnsupportedParameterIs400NamingIt) {
    start_anthropic("  claude-x: {provider: claude, model: claude-sonnet-4-5}\n");
    auto r = post("/v1/chat/completions", chat_for("claude-x", false, R"(,"n":3)"));
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(json::parse(r.body).at("error").at("param").as_string(), "n");
    auto stats = json::parse(mock_get("/_mock/stats").body);
    EXPECT_EQ(stats.at("requests").as_int64(), 0);  // refused before any upstream call
}

TEST_F(TranslatedTest, EmbeddingsToAnAnthropicModelAreRefused) {
    start_anthropic("  claude-x: {provider: claude, model: claude-sonnet-4-5}\n");
    auto r = post("/v1/embeddings", R"({"model":"claude-x","input":"a"})");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(json::parse(r.body).at("error").at("param").as_string(), "model");
}

}  // namespace
}  // namespace sb::test

namespace sb::test {
namespace {

TEST_F(TranslatedTest, AzureAddressesTheDeploymentWithApiKeyAndVersion) {
    start("", "  az-gpt: {provider: az, model: my-deployment}\n",
          "  az:\n    type: azure\n    base_url: MOCK_URL_AZURE\n    api_key: sk-mock-key\n");
    auto r = post("/v1/chat/completions", R"({"model":"az-gpt","messages":[]})");
    ASSERT_EQ(r.status, 200) << r.body;
    auto last = json::parse(mock_get("/_mock/last_request").body);
    EXPECT_EQ(last.at("path").as_string(), "/openai/deployments/my-deployment/chat/completions");
    EXPECT_EQ(last.at("query").as_string(), "api-version=2024-10-21");
    EXPECT_EQ(last.at("headers").at("api-key").as_string(), "sk-mock-key");
    EXPECT_FALSE(last.at("headers").as_object().contains("authorization"));
}

}  // namespace
}  // namespace sb::test
