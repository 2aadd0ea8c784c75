#include "providers/openai.h"

#include <gtest/gtest.h>

namespace sb::providers::openai {
namespace {

config::Provider provider() {
    config::Provider p;
    p.name = "up";
    p.base_url = "https://api.example.com/v1";
    p.api_key = "sk-secret-123";
    p.headers = {{"X-Title", "demo"}};
    return p;
}

TEST(BuildRequest, UsesBaseUrlPathAndConfiguredAuth) {
    auto r = build_request(provider(), api::Endpoint::ChatCompletions, "m");
    EXPECT_EQ(r.url, "https://api.example.com/v1/chat/completions");
    EXPECT_NE(std::find(r.headers.begin(), r.headers.end(), "Authorization: Bearer sk-secret-123"),
              r.headers.end());
    EXPECT_NE(std::find(r.headers.begin(), r.headers.end(), "X-Title: demo"), r.headers.end());
}

TEST(BuildRequest, CustomAuthHeaderAndNoKey) {
    auto p = provider();
    p.auth_header = "api-key";
    p.auth_prefix = "";
    auto r = build_request(p, api::Endpoint::Embeddings, "m");
    EXPECT_EQ(r.url, "https://api.example.com/v1/embeddings");
    EXPECT_NE(std::find(r.headers.begin(), r.headers.end(), "api-key: sk-secret-123"),
              r.headers.end());
    p.api_key.clear();
    r = build_request(p, api::Endpoint::Completions, "m");
    for (const auto& h : r.headers) {
        EXPECT_EQ(h.find("api-key"), std::string::npos);
    }
}

TEST(BuildRequest, AzureAddressesTheDeploymentWithApiVersion) {
    auto p = provider();
    p.type = config::ProviderType::Azure;
    p.base_url = "https://res.openai.azure.com/openai";
    p.api_version = "2024-10-21";
    p.auth_header = "api-key";
    p.auth_prefix = "";
    auto r = build_request(p, api::Endpoint::ChatCompletions, "my gpt/4o");
    EXPECT_EQ(r.url,
              "https://res.openai.azure.com/openai/deployments/my%20gpt%2F4o/chat/completions"
              "?api-version=2024-10-21");
    EXPECT_NE(std::find(r.headers.begin(), r.headers.end(), "api-key: sk-secret-123"),
              r.headers.end());
}

TEST(MapError, KeepsUpstreamStatusMessageTypeCode) {
    auto e = map_error(provider(), 429,
                       R"({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}})",
                       "20");
    EXPECT_EQ(http_status(e), 429);
    EXPECT_EQ(e.message, "Rate limit reached");
    EXPECT_EQ(error_type(e), "requests");
    EXPECT_EQ(error_code_name(e), "rate_limit_exceeded");
    EXPECT_EQ(e.retry_after, "20");
}

TEST(MapError, UpstreamAuthFailureIs502AndScrubsTheKey) {
    auto e = map_error(provider(), 401,
                       R"({"error":{"message":"Incorrect API key provided: sk-secret-123","type":"invalid_request_error","code":"invalid_api_key"}})",
                       "");
    EXPECT_EQ(http_status(e), 502);
    EXPECT_EQ(error_code_name(e), "upstream_auth_failed");
    EXPECT_EQ(e.message.find("sk-secret-123"), std::string::npos);
    EXPECT_EQ(e.message.find("Incorrect API key"), std::string::npos);
}

TEST(MapError, ScrubsTheKeyAndExtraHeaderValuesFromMessages) {
    auto e = map_error(provider(), 400,
                       R"({"error":{"message":"bad key sk-secret-123 for demo"}})", "");
    EXPECT_EQ(e.message, "bad key [redacted] for [redacted]");
}

TEST(MapError, NonJsonBodyGetsAGenericMessage) {
    auto e = map_error(provider(), 503, "<html>Service Unavailable</html>", "");
    EXPECT_EQ(http_status(e), 503);
    EXPECT_EQ(error_type(e), "server_error");
    EXPECT_NE(e.message.find("503"), std::string::npos);
}

TEST(MapError, StringErrorAndDetailShapes) {
    EXPECT_EQ(map_error(provider(), 400, R"({"error":"bad thing"})", "").message, "bad thing");
    EXPECT_EQ(map_error(provider(), 422, R"({"detail":"invalid"})", "").message, "invalid");
    EXPECT_EQ(map_error(provider(), 400, R"({"message":"m"})", "").message, "m");
}

}  // namespace
}  // namespace sb::providers::openai
