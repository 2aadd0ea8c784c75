// Integration: OpenAI-format requests through a real gateway to the mock provider over loopback.
#include <signal.h>

#include <boost/json.hpp>

#include "http/upstream_client.h"
#include "integration/gateway_fixture.h"

namespace sb::test {
namespace {

namespace json = boost::json;

class ProcessSetup : public ::testing::Environment {
  public:
    void SetUp() override {
        ::signal(SIGPIPE, SIG_IGN);
        http::global_init();
    }
};
const auto* const kSetup = ::testing::AddGlobalTestEnvironment(new ProcessSetup);

const std::string kChat = R"({"model":"mock-gpt","messages":[{"role":"user","content":"Hi"}]})";

// SSE `data:` payloads of a body, in order.
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

using ProxyTest = GatewayFixture;

TEST_F(ProxyTest, ChatCompletionIsProxiedWithGatewayHeaders) {
    start();
    auto r = post("/v1/chat/completions", kChat);
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = json::parse(r.body);
    EXPECT_EQ(v.at("object").as_string(), "chat.completion");
    EXPECT_FALSE(v.at("choices").at(0).at("message").at("content").as_string().empty());
    EXPECT_TRUE(r.header("x-request-id").starts_with("req_"));
    EXPECT_FALSE(r.header("x-switchboard-overhead-ms").empty());
    EXPECT_EQ(r.header("x-switchboard-provider"), "mock");
    EXPECT_EQ(r.header("x-switchboard-target"), "gpt-4o-mini");
    EXPECT_EQ(r.header("x-switchboard-attempts"), "1");
}

TEST_F(ProxyTest, ForwardsBodyByteForByteRewritingOnlyModel) {
    start();
    std::string body =
        "{ \"messages\" : [{\"role\":\"user\",\"content\":\"caf\\u00e9 \xE2\x9C\x93\"}],\n"
        "  \"model\"\t:  \"mock-gpt\", \"x_unknown\": {\"keep\": [1, 2.50, null]} }";
    auto r = post("/v1/chat/completions", body);
    ASSERT_EQ(r.status, 200) << r.body;
    auto last = json::parse(mock_get("/_mock/last_request").body);
    std::string expected = body;
    expected.replace(expected.find("\"mock-gpt\""), 10, "\"gpt-4o-mini\"");
    EXPECT_EQ(last.at("body").as_string(), expected);
    EXPECT_EQ(last.at("path").as_string(), "/v1/chat/completions");
}

TEST_F(ProxyTest, SendsProviderKeyAndNeverTheClientsAuthorization) {
    start();
    auto r = post("/v1/chat/completions", kChat,
                  "Authorization: Bearer sk-client-secret\r\nOpenAI-Organization: org-x\r\n");
    ASSERT_EQ(r.status, 200) << r.body;
    auto last = json::parse(mock_get("/_mock/last_request").body);
    auto& headers = last.at("headers").as_object();
    EXPECT_EQ(headers.at("authorization").as_string(), "Bearer sk-mock-key");
    EXPECT_EQ(headers.find("openai-organization"), headers.end());
    EXPECT_EQ(json::serialize(last).find("sk-client-secret"), std::string::npos);
}

TEST_F(ProxyTest, StreamsServerSentEventsChunkByChunk) {
    start();
    auto r =
        post("/v1/chat/completions",
             R"({"model":"mock-gpt","stream":true,"messages":[{"role":"user","content":"Hi"}]})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("content-type").rfind("text/event-stream", 0), 0u);
    EXPECT_EQ(r.header("transfer-encoding"), "chunked");
    auto events = sse_data(r.body);
    ASSERT_GE(events.size(), 3u);
    EXPECT_EQ(events.back(), "[DONE]");
    std::string text;
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
        auto v = json::parse(events[i]);
        EXPECT_EQ(v.at("object").as_string(), "chat.completion.chunk");
        auto& delta = v.at("choices").at(0).at("delta").as_object();
        if (auto* c = delta.if_contains("content"); c && c->is_string()) {
            text += c->as_string();
        }
    }
    auto whole = json::parse(post("/v1/chat/completions", kChat).body);
    EXPECT_EQ(text, whole.at("choices").at(0).at("message").at("content").as_string());
}

TEST_F(ProxyTest, StreamIncludeUsageEndsWithUsageChunk) {
    start();
    auto r = post("/v1/chat/completions",
                  R"({"model":"mock-gpt","stream":true,"stream_options":{"include_usage":true},)"
                  R"("messages":[{"role":"user","content":"Hi"}]})");
    ASSERT_EQ(r.status, 200);
    auto events = sse_data(r.body);
    ASSERT_GE(events.size(), 2u);
    auto usage = json::parse(events[events.size() - 2]);
    EXPECT_TRUE(usage.at("choices").as_array().empty());
    EXPECT_GT(usage.at("usage").at("total_tokens").as_int64(), 0);
}

TEST_F(ProxyTest, CompletionsAndEmbeddingsAreProxied) {
    start();
    auto c = post("/v1/completions", R"({"model":"mock-gpt","prompt":"Say hi"})");
    ASSERT_EQ(c.status, 200) << c.body;
    EXPECT_EQ(json::parse(c.body).at("object").as_string(), "text_completion");
    auto e = post("/v1/embeddings",
                  R"({"model":"mock-embed","input":["a","b"],"encoding_format":"float"})");
    ASSERT_EQ(e.status, 200) << e.body;
    auto v = json::parse(e.body);
    EXPECT_EQ(v.at("data").as_array().size(), 2u);
    EXPECT_EQ(v.at("data").at(1).at("embedding").as_array().size(), 8u);
}

TEST_F(ProxyTest, ListsConfiguredModels) {
    start();
    auto r = http_request(port(), "GET", "/v1/models");
    ASSERT_EQ(r.status, 200);
    auto v = json::parse(r.body);
    ASSERT_EQ(v.at("data").as_array().size(), 2u);
    EXPECT_EQ(v.at("data").at(0).at("id").as_string(), "mock-gpt");
    EXPECT_EQ(http_request(port(), "GET", "/v1/models/mock-embed").status, 200);
    EXPECT_EQ(http_request(port(), "GET", "/v1/models/nope").status, 404);
}

TEST_F(ProxyTest, KeepAliveServesSeveralRequestsOnOneConnection) {
    start();
    RawConnection c(port());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(kChat.size()) + "\r\n\r\n" + kChat));
        auto r = c.read_response();
        ASSERT_EQ(r.status, 200) << i;
        EXPECT_FALSE(r.peer_closed);
    }
}

TEST_F(ProxyTest, HealthAndReadiness) {
    start();
    EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);
    EXPECT_EQ(http_request(port(), "GET", "/readyz").status, 200);
}

TEST_F(ProxyTest, AnswersExpectContinue) {
    start();
    RawConnection c(port());
    ASSERT_TRUE(
        c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               "Content-Length: " +
               std::to_string(kChat.size()) + "\r\n\r\n"));
    auto cont = c.read_partial(0, std::chrono::seconds(5));
    EXPECT_EQ(cont.status, 100);
    ASSERT_TRUE(c.send(kChat));
    EXPECT_EQ(c.read_response().status, 200);
}

}  // namespace
}  // namespace sb::test

namespace sb::test {
namespace {

TEST_F(ProxyTest, MetricsCountRequestsErrorsAndLatency) {
    start("", "  limited: {provider: mock, model: \"gpt-4o-mini;status=429\"}\n");
    ASSERT_EQ(post("/v1/chat/completions", kChat).status, 200);
    ASSERT_EQ(
        post("/v1/chat/completions", R"({"model":"mock-gpt","stream":true,"messages":[]})").status,
        200);
    ASSERT_EQ(post("/v1/chat/completions", R"({"model":"limited","messages":[]})").status, 429);
    ASSERT_EQ(post("/v1/chat/completions", R"({"model":"nope","messages":[]})").status, 404);
    auto r = http_request(port(), "GET", "/metrics");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
    auto has = [&](const std::string& line) {
        return r.body.find("\n" + line + "\n") != std::string::npos;
    };
    EXPECT_TRUE(
        has(R"(switchboard_requests_total{model="mock-gpt",provider="mock",status="200"} 2)"))
        << r.body;
    EXPECT_TRUE(
        has(R"(switchboard_requests_total{model="limited",provider="mock",status="429"} 1)"));
    EXPECT_TRUE(has(R"(switchboard_errors_total{code="model_not_found"} 1)"));
    EXPECT_TRUE(has(R"(switchboard_errors_total{code="rate_limit_exceeded"} 1)"));
    EXPECT_TRUE(
        has(R"(switchboard_time_to_first_byte_seconds_count{model="mock-gpt",provider="mock"} 1)"));
    EXPECT_TRUE(has("switchboard_open_connections 1"));
    // No credential reaches the exposition.
    EXPECT_EQ(r.body.find("sk-mock-key"), std::string::npos);
}

}  // namespace
}  // namespace sb::test
