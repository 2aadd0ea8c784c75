// Golden cases for the embeddings translations (tests/golden/embeddings/<provider>/):
//   request/   {"upstream_model", "body": OpenAI embeddings request}
//              -> {"url", "body"} of the upstream request, or the 400
//   response/  {"upstream_model", "inputs", "base64", "body": upstream answer}
//              -> OpenAI's embeddings list, or the error
// Regenerate with SB_UPDATE_GOLDEN=1 and review the diff.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/error.h"
#include "google/token_source.h"
#include "providers/bedrock/bedrock.h"
#include "providers/gemini/gemini.h"
#include "providers/vertex/vertex.h"
#include "support/golden.h"

#ifndef SB_GOLDEN_DIR
#error "SB_GOLDEN_DIR must be defined (tests/CMakeLists.txt)"
#endif

namespace sb::providers {
namespace {

namespace fs = std::filesystem;
using test::golden::error_json;
using test::golden::pretty_json;
using test::golden::read_file;

const fs::path kGoldenDir = fs::path(SB_GOLDEN_DIR) / "embeddings";

config::Provider provider_for(std::string_view name) {
    config::Provider p;
    p.name = std::string(name);
    if (name == "gemini") {
        p.type = config::ProviderType::Gemini;
        p.base_url = "https://generativelanguage.googleapis.com/v1beta";
        p.api_key = "gemini-key";
    } else if (name == "bedrock") {
        p.type = config::ProviderType::Bedrock;
        p.region = "us-east-1";
        p.access_key_id = "AKIDEXAMPLE";
        p.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    } else {
        p.type = config::ProviderType::Vertex;
        p.project = "my-project";
        p.location = "us-central1";
        p.base_url = "https://us-central1-aiplatform.googleapis.com";
    }
    return p;
}

std::unique_ptr<Adapter> adapter_for(std::string_view name) {
    if (name == "gemini") {
        return std::make_unique<gemini::GeminiAdapter>();
    }
    if (name == "bedrock") {
        return std::make_unique<bedrock::BedrockAdapter>(
            bedrock::BedrockCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                        "", "us-east-1"},
            [] { return std::int64_t{1440938160}; });
    }
    return std::make_unique<vertex::VertexAdapter>(
        std::make_shared<google::StaticTokenSource>("ya29.golden"));
}

struct Case {
    std::string upstream_model;
    std::string body;
    std::size_t inputs = 0;
    bool base64 = false;
};

Case read_case(const fs::path& path) {
    const std::string text = read_file(path);
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(text);
    simdjson::dom::element root;
    EXPECT_EQ(parser.parse(padded).get(root), simdjson::SUCCESS) << path;
    Case c;
    std::string_view model;
    EXPECT_EQ(root["upstream_model"].get_string().get(model), simdjson::SUCCESS) << path;
    c.upstream_model = std::string(model);
    simdjson::dom::element body;
    EXPECT_EQ(root["body"].get(body), simdjson::SUCCESS) << path;
    c.body = simdjson::to_string(body);
    std::int64_t inputs = 0;
    if (root["inputs"].get_int64().get(inputs) == simdjson::SUCCESS) {
        c.inputs = static_cast<std::size_t>(inputs);
    }
    bool base64 = false;
    if (root["base64"].get_bool().get(base64) == simdjson::SUCCESS) {
        c.base64 = base64;
    }
    return c;
}

class EmbeddingsGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(EmbeddingsGolden, RequestCasesMatch) {
    const std::string provider = GetParam();
    const auto cases = test::golden::inputs(kGoldenDir / provider, "request", "json");
    ASSERT_FALSE(cases.empty()) << "no golden request cases for " << provider;
    const auto adapter = adapter_for(provider);
    const config::Provider p = provider_for(provider);
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        const Case c = read_case(path);
        EmbeddingsContext ctx;
        ctx.public_model = "my-embedder";
        ctx.upstream_model = c.upstream_model;
        auto result = adapter->build_embeddings(p, c.body, ctx);
        std::string actual;
        if (result) {
            std::string json = "{\"url\":\"";
            append_json_escaped(json, result->url);
            json += "\",\"inputs\":" + std::to_string(ctx.inputs);
            json += ",\"base64\":";
            json += ctx.base64 ? "true" : "false";
            json += ",\"body\":" + result->body + "}";
            actual = pretty_json(json);
        } else {
            actual = error_json(result.error());
        }
        test::golden::check(path, name, "json", actual);
    }
}

TEST_P(EmbeddingsGolden, ResponseCasesMatch) {
    const std::string provider = GetParam();
    const auto cases = test::golden::inputs(kGoldenDir / provider, "response", "json");
    ASSERT_FALSE(cases.empty()) << "no golden response cases for " << provider;
    const auto adapter = adapter_for(provider);
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        const Case c = read_case(path);
        EmbeddingsContext ctx;
        ctx.public_model = "my-embedder";
        ctx.upstream_model = c.upstream_model;
        ctx.inputs = c.inputs;
        ctx.base64 = c.base64;
        auto result = adapter->translate_embeddings_response(c.body, ctx);
        const std::string actual = result ? pretty_json(*result) : error_json(result.error());
        test::golden::check(path, name, "json", actual);
    }
}

INSTANTIATE_TEST_SUITE_P(Providers, EmbeddingsGolden,
                         ::testing::Values("gemini", "bedrock", "vertex"));

}  // namespace
}  // namespace sb::providers
