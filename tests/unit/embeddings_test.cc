// Embeddings translation pieces, the Vertex adapter's request building and Bedrock's
// x-amzn-ErrorType error mapping.

#include "providers/common/embeddings.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "google/token_source.h"
#include "providers/anthropic/anthropic.h"
#include "providers/bedrock/bedrock.h"
#include "providers/gemini/gemini.h"
#include "providers/vertex/vertex.h"

namespace sb::providers {
namespace {

std::vector<float> decode_base64_floats(std::string_view b64) {
    std::string bytes;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : b64) {
        if (c == '=') {
            break;
        }
        const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char* at = std::strchr(alphabet, c);
        EXPECT_NE(at, nullptr);
        buffer = (buffer << 6) | static_cast<std::uint32_t>(at - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes += static_cast<char>((buffer >> bits) & 0xFF);
        }
    }
    std::vector<float> out;
    for (std::size_t i = 0; i + 4 <= bytes.size(); i += 4) {
        // Little-endian, whatever the host.
        const std::uint32_t bits32 = std::uint32_t(static_cast<unsigned char>(bytes[i])) |
                                     std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                                     std::uint32_t(static_cast<unsigned char>(bytes[i + 2])) << 16 |
                                     std::uint32_t(static_cast<unsigned char>(bytes[i + 3])) << 24;
        float f = 0;
        std::memcpy(&f, &bits32, sizeof(f));
        out.push_back(f);
    }
    return out;
}

TEST(EmbeddingsCommon, Base64IsLittleEndianFloat32) {
    const std::string out = common::render_embeddings({{1.0f, -2.0f}}, "m", 3, true);
    // 1.0f = 0x3F800000, -2.0f = 0xC0000000 -> bytes 00 00 80 3F 00 00 00 C0.
    EXPECT_NE(out.find("\"embedding\":\"AACAPwAAAMA=\""), std::string::npos) << out;
    EXPECT_NE(out.find("\"usage\":{\"prompt_tokens\":3,\"total_tokens\":3}"), std::string::npos);
}

TEST(EmbeddingsCommon, Base64RoundTripsArbitraryFloats) {
    const std::vector<float> values = {0.1f, -0.0023064255f, 3.4e38f, 1e-40f, 0.0f};
    const std::string out = common::render_embeddings({values}, "m", 0, true);
    simdjson::dom::parser parser;
    simdjson::dom::element root = parser.parse(out);
    const std::string_view b64 = root["data"].at(0)["embedding"];
    EXPECT_EQ(decode_base64_floats(b64), values);
}

TEST(EmbeddingsCommon, FloatsRoundTripExactly) {
    const std::vector<float> values = {0.1f, -0.0023064255f, 1.0f / 3.0f};
    const std::string out = common::render_embeddings({values, values}, "m", 0, false);
    simdjson::dom::parser parser;
    simdjson::dom::element root = parser.parse(out);
    EXPECT_EQ(std::string_view(root["object"]), "list");
    EXPECT_EQ(std::int64_t(root["data"].at(1)["index"]), 1);
    std::vector<float> back;
    ASSERT_TRUE(common::read_floats(root["data"].at(0)["embedding"], back));
    EXPECT_EQ(back, values);
}

TEST(EmbeddingsCommon, ParsesInputsAndKeepsUnknownMembersForTheAdapter) {
    auto req = common::parse_embeddings_request(
        R"({"model":"m","input":["a","b"],"dimensions":64,"encoding_format":"base64",)"
        R"("user":"u","task_type":"X"})",
        "p");
    ASSERT_TRUE(req) << req.error().message;
    EXPECT_EQ(req->texts, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(req->dimensions, 64);
    EXPECT_TRUE(req->base64);
    ASSERT_EQ(req->extra.size(), 1u);
    EXPECT_EQ(req->extra[0].first, "task_type");
    EXPECT_EQ(req->extra[0].second, "\"X\"");
}

TEST(EmbeddingsCommon, RefusesWhatCannotBeTranslatedNamingTheParameter) {
    struct Case {
        const char* body;
        const char* param;
    };
    for (const Case c :
         {Case{R"({"model":"m","input":[1,2]})", "input"},
          Case{R"({"model":"m","input":[]})", "input"}, Case{R"({"model":"m"})", "input"},
          Case{R"({"model":"m","input":"a","dimensions":0})", "dimensions"},
          Case{R"({"model":"m","input":"a","encoding_format":"x"})", "encoding_format"}}) {
        SCOPED_TRACE(c.body);
        auto req = common::parse_embeddings_request(c.body, "p");
        ASSERT_FALSE(req);
        EXPECT_EQ(req.error().code, ErrorCode::InvalidRequest);
        EXPECT_EQ(req.error().param, c.param);
    }
}

TEST(EmbeddingsAdapters, ProvidersWithoutEmbeddingsSayWhichTypeWithA400) {
    const anthropic::AnthropicAdapter adapter;
    config::Provider p;
    p.name = "claude";
    p.type = config::ProviderType::Anthropic;
    EmbeddingsContext ctx;
    ctx.public_model = "claude-embed";
    auto built = adapter.build_embeddings(p, R"({"model":"claude-embed","input":"x"})", ctx);
    ASSERT_FALSE(built);
    EXPECT_EQ(http_status(built.error()), 400);
    EXPECT_EQ(built.error().param, "model");
    EXPECT_NE(built.error().message.find("anthropic"), std::string::npos);
}

TEST(EmbeddingsAdapters, GeminiSendsTheKeyAndCallsBatchEmbedContents) {
    const gemini::GeminiAdapter adapter;
    config::Provider p;
    p.name = "g";
    p.type = config::ProviderType::Gemini;
    p.base_url = "http://127.0.0.1:1/v1beta";
    p.api_key = "k";
    EmbeddingsContext ctx;
    ctx.public_model = "e";
    ctx.upstream_model = "text-embedding-004";
    auto built = adapter.build_embeddings(p, R"({"model":"e","input":["a","b","c"]})", ctx);
    ASSERT_TRUE(built) << built.error().message;
    EXPECT_EQ(built->url, "http://127.0.0.1:1/v1beta/models/text-embedding-004:batchEmbedContents");
    EXPECT_NE(std::find(built->headers.begin(), built->headers.end(), "x-goog-api-key: k"),
              built->headers.end());
    EXPECT_EQ(ctx.inputs, 3u);
}

config::Provider vertex_provider() {
    config::Provider p;
    p.name = "vx";
    p.type = config::ProviderType::Vertex;
    p.project = "proj-1";
    p.location = "europe-west4";
    p.base_url = "https://europe-west4-aiplatform.googleapis.com";
    return p;
}

TEST(VertexAdapter, ChatGoesToThePublisherModelWithTheBearerToken) {
    const vertex::VertexAdapter adapter(std::make_shared<google::StaticTokenSource>("ya29.t"));
    ChatContext ctx;
    ctx.public_model = "gem";
    ctx.upstream_model = "gemini-2.5-flash";
    ctx.stream = true;
    auto built = adapter.build_chat(
        vertex_provider(), R"({"model":"gem","messages":[{"role":"user","content":"hi"}]})", ctx);
    ASSERT_TRUE(built) << built.error().message;
    EXPECT_EQ(built->url,
              "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj-1/locations/"
              "europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent?"
              "alt=sse");
    EXPECT_NE(
        std::find(built->headers.begin(), built->headers.end(), "Authorization: Bearer ya29.t"),
        built->headers.end());
    // The body is the Gemini adapter's translation.
    auto gemini_body = gemini::detail::translate_request(
        R"({"model":"gem","messages":[{"role":"user","content":"hi"}]})", ctx);
    ASSERT_TRUE(gemini_body);
    EXPECT_EQ(built->body, *gemini_body);
}

TEST(VertexAdapter, ModelWithAPathIsUsedAsTheResource) {
    EXPECT_EQ(vertex::detail::model_url(vertex_provider(), "publishers/meta/models/llama;x=1",
                                        ":predict"),
              "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj-1/locations/"
              "europe-west4/publishers/meta/models/llama%3Bx%3D1:predict");
}

class NoToken final : public google::TokenSource {
  public:
    Result<std::string> access_token() const override {
        return fail(ErrorCode::Unavailable, "no token yet");
    }
};

TEST(VertexAdapter, NoTokenYetIsA503BeforeAnyUpstreamCall) {
    const vertex::VertexAdapter adapter(std::make_shared<NoToken>());
    ChatContext ctx;
    ctx.upstream_model = "gemini-2.5-flash";
    auto built = adapter.build_chat(
        vertex_provider(), R"({"model":"g","messages":[{"role":"user","content":"hi"}]})", ctx);
    ASSERT_FALSE(built);
    EXPECT_EQ(http_status(built.error()), 503);
    EmbeddingsContext ectx;
    ectx.upstream_model = "text-embedding-005";
    auto embed = adapter.build_embeddings(vertex_provider(), R"({"model":"e","input":"x"})", ectx);
    ASSERT_FALSE(embed);
    EXPECT_EQ(http_status(embed.error()), 503);
}

TEST(VertexAdapter, RejectedTokenIsUpstreamAuth) {
    const vertex::VertexAdapter adapter(std::make_shared<google::StaticTokenSource>("t"));
    const Error e = adapter.map_error(
        vertex_provider(), 401,
        R"({"error":{"code":401,"message":"Request had invalid authentication credentials.",)"
        R"("status":"UNAUTHENTICATED"}})",
        "");
    EXPECT_EQ(e.code, ErrorCode::UpstreamAuth);
    EXPECT_EQ(http_status(e), 502);
}

TEST(BedrockErrors, ErrorTypeHeaderNamesTheExceptionWhenTheBodyDoesNot) {
    const bedrock::BedrockAdapter adapter({"AKID", "secret", "", "us-east-1"},
                                          [] { return std::int64_t{0}; });
    config::Provider p;
    p.name = "bedrock";
    p.type = config::ProviderType::Bedrock;
    const Error e = adapter.map_error(
        p, 429, R"({"message":"Too many requests, please wait before trying again."})", "",
        "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/");
    EXPECT_EQ(e.code, ErrorCode::UpstreamError);
    EXPECT_EQ(e.upstream_type, "ThrottlingException");
    EXPECT_EQ(http_status(e), 429);
    // Without the header, the old fallback.
    const Error bare = adapter.map_error(p, 429, R"({"message":"slow down"})", "");
    EXPECT_EQ(bare.upstream_type, "rate_limit_error");
    // A type in the body wins over the header.
    const Error body_type = adapter.map_error(
        p, 400, R"({"__type":"ValidationException","message":"bad"})", "", "OtherException");
    EXPECT_EQ(body_type.upstream_type, "ValidationException");
}

}  // namespace
}  // namespace sb::providers
