// Integration: Vertex AI through the gateway against the mock, with real OAuth: the gateway signs
// a JWT with a service-account key generated here, the mock's /token verifies it with the public
// key and issues the bearer token its Vertex paths demand.
#include <boost/json.hpp>

#include "google/token_source.h"
#include "integration/gateway_fixture.h"
#include "support/rsa_key.h"

namespace sb::test {
namespace {

namespace json = boost::json;

const std::string kChat =
    R"({"model":"vx-chat","messages":[{"role":"system","content":"Be brief."},)"
    R"({"role":"user","content":"Hi"}]})";

class VertexTest : public GatewayFixture {
  protected:
    void SetUp() override {
        keys_ = make_rsa_key_pair();
        ASSERT_FALSE(keys_.private_pem.empty());
        public_key_file_ = write_temp_file(keys_.public_pem, ".pem");
        key_file_ = write_temp_file("{}", ".json");
    }

    // Writes the service-account key file once the token endpoint's URL is known.
    void on_mock_started() override { write_key_file(keys_.private_pem); }

    void write_key_file(const std::string& private_pem) {
        const std::string text = service_account_json(
            private_pem, "http://127.0.0.1:" + std::to_string(mock_port()) + "/token");
        FILE* f = std::fopen(key_file_.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
    }

    void start_vertex(std::vector<std::string> extra_mock_args = {}) {
        std::vector<std::string> args = {"--api-key", "sk-mock-key", "--google-public-key",
                                         public_key_file_};
        args.insert(args.end(), extra_mock_args.begin(), extra_mock_args.end());
        start("",
              "  vx-chat: {provider: vx, model: gemini-2.5-flash}\n"
              "  vx-embed: {provider: vx, model: text-embedding-005}\n",
              "  vx:\n    type: vertex\n    base_url: MOCK_URL_ROOT\n"
              "    project: my-project\n    location: us-central1\n"
              "    credentials_file: " +
                  key_file_ + "\n    timeouts: {first_byte: 5s, idle: 5s}\n",
              std::move(args));
    }

    RsaKeyPair keys_;
    std::string public_key_file_;
    std::string key_file_;
};

TEST_F(VertexTest, ChatUsesTheMintedTokenOnThePublisherModelPath) {
    start_vertex();
    auto r = post("/v1/chat/completions", kChat);
    ASSERT_EQ(r.status, 200) << r.body;
    auto body = json::parse(r.body);
    EXPECT_EQ(body.at("object").as_string(), "chat.completion");
    EXPECT_EQ(body.at("model").as_string(), "vx-chat");
    auto last = json::parse(mock_get("/_mock/last_request").body);
    EXPECT_EQ(last.at("path").as_string(),
              "/v1/projects/my-project/locations/us-central1/publishers/google/models/"
              "gemini-2.5-flash:generateContent");
    const std::string auth(last.at("headers").at("authorization").as_string());
    EXPECT_TRUE(auth.starts_with("Bearer ya29.mock-")) << auth;
}

TEST_F(VertexTest, StreamIsTranslatedToChunks) {
    start_vertex();
    auto r = post("/v1/chat/completions",
                  R"({"model":"vx-chat","stream":true,"stream_options":{"include_usage":true},)"
                  R"("messages":[{"role":"user","content":"Hi"}]})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("chat.completion.chunk"), std::string::npos);
    EXPECT_NE(r.body.find("\"finish_reason\":\"stop\""), std::string::npos);
    EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
    auto last = json::parse(mock_get("/_mock/last_request").body);
    EXPECT_TRUE(std::string(last.at("path").as_string()).ends_with(":streamGenerateContent"));
    EXPECT_EQ(last.at("query").as_string(), "alt=sse");
}

TEST_F(VertexTest, EmbeddingsGoThroughPredict) {
    start_vertex();
    auto r = post("/v1/embeddings", R"({"model":"vx-embed","input":["a","b"],"dimensions":16,)"
                                    R"("encoding_format":"float"})");
    ASSERT_EQ(r.status, 200) << r.body;
    auto body = json::parse(r.body);
    ASSERT_EQ(body.at("data").as_array().size(), 2u);
    EXPECT_EQ(body.at("data").at(1).at("index").as_int64(), 1);
    EXPECT_EQ(body.at("data").at(0).at("embedding").as_array().size(), 16u);
    EXPECT_GT(body.at("usage").at("prompt_tokens").as_int64(), 0);
    auto last = json::parse(mock_get("/_mock/last_request").body);
    EXPECT_TRUE(std::string(last.at("path").as_string()).ends_with("text-embedding-005:predict"));
}

TEST_F(VertexTest, TokenEndpointRefusingTheKeyIs502BeforeAnyUpstreamCall) {
    // The mock trusts another key pair: the assertion's signature does not verify.
    const RsaKeyPair other = make_rsa_key_pair();
    public_key_file_ = write_temp_file(other.public_pem, ".pem");
    start_vertex();
    auto r = post("/v1/chat/completions", kChat);
    EXPECT_EQ(r.status, 502) << r.body;
    auto error = json::parse(r.body).at("error");
    EXPECT_EQ(error.at("code").as_string(), "upstream_auth_failed");
    EXPECT_NE(std::string(error.at("message").as_string()).find("Invalid JWT Signature."),
              std::string::npos);
    EXPECT_EQ(std::string(error.at("message").as_string()).find("PRIVATE KEY"), std::string::npos);
    auto stats = json::parse(mock_get("/_mock/stats").body);
    EXPECT_EQ(stats.at("requests").as_int64(), 0);
}

TEST_F(VertexTest, TokensAreRefreshedBeforeTheyExpire) {
    start_vertex({"--google-token-ttl", "2"});
    auto key = google::load_service_account_key(key_file_);
    ASSERT_TRUE(key) << key.error().message;
    google::ServiceAccountTokenSource::Options options;
    options.provider_name = "vx";
    google::ServiceAccountTokenSource source(std::move(*key), options);
    ASSERT_TRUE(source.wait_for_attempts(1, std::chrono::seconds(10)));
    auto first = source.access_token();
    ASSERT_TRUE(first) << first.error().message;
    // A 2 s token is refreshed halfway through its life, without anyone asking.
    ASSERT_TRUE(source.wait_for_attempts(2, std::chrono::seconds(10)));
    auto second = source.access_token();
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_NE(*first, *second);
    EXPECT_EQ(source.successes(), 2u);
    // The refreshed token is accepted by the Vertex endpoint.
    auto r = http_request(
        mock_port(), "POST",
        "/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-flash:generateContent",
        R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})",
        "Content-Type: application/json\r\nAuthorization: Bearer " + *second + "\r\n");
    EXPECT_EQ(r.status, 200) << r.body;
    auto bad = http_request(
        mock_port(), "POST",
        "/v1/projects/p/locations/l/publishers/google/models/gemini-2.5-flash:generateContent",
        R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})",
        "Content-Type: application/json\r\nAuthorization: Bearer ya29.forged\r\n");
    EXPECT_EQ(bad.status, 401) << bad.body;
}

// The mock's token endpoint checks what Google checks: a JWT-bearer grant whose assertion has
// the right audience, scope and lifetime and verifies with the service account's public key.
TEST_F(VertexTest, MockTokenEndpointChecksTheAssertion) {
    start_vertex();
    auto key = google::load_service_account_key(key_file_);
    ASSERT_TRUE(key) << key.error().message;
    // The mock takes the audience to be http://<Host header>/token; this client sends
    // "Host: 127.0.0.1".
    key->token_uri = "http://127.0.0.1/token";
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto exchange = [&](const google::ServiceAccountKey& k, std::string_view scope,
                        std::int64_t iat) {
        auto jwt = google::make_assertion(k, scope, iat);
        EXPECT_TRUE(jwt);
        return http_request(mock_port(), "POST", "/token", google::token_request_body(*jwt),
                            "Content-Type: application/x-www-form-urlencoded\r\n");
    };
    auto ok = exchange(*key, google::kCloudPlatformScope, now);
    ASSERT_EQ(ok.status, 200) << ok.body;
    auto token = json::parse(ok.body);
    EXPECT_EQ(token.at("token_type").as_string(), "Bearer");
    EXPECT_GT(token.at("expires_in").as_int64(), 0);

    auto wrong_scope = exchange(*key, "https://www.googleapis.com/auth/userinfo.email", now);
    EXPECT_EQ(wrong_scope.status, 400);
    EXPECT_EQ(json::parse(wrong_scope.body).at("error").as_string(), "invalid_scope");

    auto expired = exchange(*key, google::kCloudPlatformScope, now - 7200);
    EXPECT_EQ(expired.status, 400);
    EXPECT_EQ(json::parse(expired.body).at("error").as_string(), "invalid_grant");

    google::ServiceAccountKey elsewhere = *key;
    elsewhere.token_uri = "https://oauth2.googleapis.com/token";
    auto wrong_aud = exchange(elsewhere, google::kCloudPlatformScope, now);
    EXPECT_EQ(wrong_aud.status, 400);

    auto not_a_grant =
        http_request(mock_port(), "POST", "/token", "grant_type=client_credentials&assertion=x",
                     "Content-Type: application/x-www-form-urlencoded\r\n");
    EXPECT_EQ(not_a_grant.status, 400);
    EXPECT_EQ(json::parse(not_a_grant.body).at("error").as_string(), "unsupported_grant_type");
}

}  // namespace
}  // namespace sb::test
