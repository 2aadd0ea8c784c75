// Embeddings for the Bedrock adapter: OpenAI's embeddings request to InvokeModel for Amazon
// Titan Text Embeddings and Cohere Embed, and back (docs/providers/bedrock.md, "Embeddings").

#include "providers/common/embeddings.h"

#include <fmt/format.h>
#include <simdjson.h>

#include "providers/bedrock/bedrock.h"
#include "providers/common/errors.h"
#include "providers/common/json.h"

namespace sb::providers::bedrock {
namespace detail {
namespace {

constexpr std::string_view kProvider = "bedrock";
// Cohere Embed takes at most 96 texts per call (Bedrock's Cohere Embed parameters).
constexpr std::size_t kCohereMaxTexts = 96;

bool is_json_bool(std::string_view json) {
    return json == "true" || json == "false";
}

bool is_json_string(std::string_view json) {
    return json.size() >= 2 && json.front() == '"' && json.back() == '"';
}

}  // namespace

EmbeddingsFamily embeddings_family(std::string_view model_id) {
    if (model_id.find("amazon.titan-embed-text-v2") != std::string_view::npos) {
        return EmbeddingsFamily::TitanV2;
    }
    if (model_id.find("amazon.titan-embed-text-v1") != std::string_view::npos ||
        model_id.find("amazon.titan-embed-g1-text") != std::string_view::npos) {
        return EmbeddingsFamily::TitanV1;
    }
    if (model_id.find("cohere.embed-") != std::string_view::npos) {
        return EmbeddingsFamily::Cohere;
    }
    return EmbeddingsFamily::None;
}

Result<std::string> translate_embeddings_request(std::string_view openai_body,
                                                 EmbeddingsContext& ctx) {
    const EmbeddingsFamily family = embeddings_family(ctx.upstream_model);
    if (family == EmbeddingsFamily::None) {
        return fail(ErrorCode::InvalidRequest,
                    fmt::format("The model '{}' maps to Bedrock model '{}', which is not an "
                                "embeddings model this gateway translates to (Amazon Titan Text "
                                "Embeddings, Cohere Embed).",
                                ctx.public_model, ctx.upstream_model),
                    "model");
    }
    SB_TRY(req, common::parse_embeddings_request(openai_body, kProvider));
    std::string body;
    body.reserve(64 + openai_body.size());
    if (family == EmbeddingsFamily::Cohere) {
        if (req.texts.size() > kCohereMaxTexts) {
            return fail(ErrorCode::InvalidRequest,
                        fmt::format("Cohere Embed on Bedrock takes at most {} inputs per "
                                    "request; got {}.",
                                    kCohereMaxTexts, req.texts.size()),
                        "input");
        }
        if (req.dimensions > 0) {
            return fail(common::unsupported_parameter(kProvider, "dimensions",
                                                      "Cohere Embed v3 vectors have a fixed size"));
        }
        std::string input_type = "\"search_document\"";
        std::string truncate;
        for (const auto& [name, value] : req.extra) {
            if (name == "input_type" && is_json_string(value)) {
                input_type = value;
            } else if (name == "truncate" && is_json_string(value)) {
                truncate = value;
            } else if (name == "input_type" || name == "truncate") {
                return fail(ErrorCode::InvalidRequest,
                            fmt::format("Invalid '{}': expected a string.", name), name);
            } else {
                return fail(common::unsupported_parameter(kProvider, name));
            }
        }
        body += "{\"texts\":[";
        for (std::size_t i = 0; i < req.texts.size(); ++i) {
            if (i > 0) {
                body += ',';
            }
            common::append_string(body, req.texts[i]);
        }
        // input_type is required by Cohere Embed v3; documents are the common case.
        body += "],\"input_type\":";
        body += input_type;
        if (!truncate.empty()) {
            body += ",\"truncate\":";
            body += truncate;
        }
        body += ",\"embedding_types\":[\"float\"]}";
    } else {
        // Titan embeds one text per InvokeModel call. Splitting an array into several upstream
        // calls would make one client request cost many, with partial failures to report, so
        // it is refused rather than fanned out (docs/providers/bedrock.md).
        if (req.texts.size() > 1) {
            return fail(ErrorCode::InvalidRequest,
                        fmt::format("Amazon Titan Text Embeddings on Bedrock embeds one input per "
                                    "request; got an 'input' array of {}. Send one string per "
                                    "request, or use a Cohere Embed model for batches.",
                                    req.texts.size()),
                        "input");
        }
        std::string normalize;
        for (const auto& [name, value] : req.extra) {
            if (name == "normalize" && family == EmbeddingsFamily::TitanV2 && is_json_bool(value)) {
                normalize = value;
            } else if (name == "normalize" && family == EmbeddingsFamily::TitanV2) {
                return fail(ErrorCode::InvalidRequest, "Invalid 'normalize': expected a boolean.",
                            "normalize");
            } else {
                return fail(common::unsupported_parameter(kProvider, name));
            }
        }
        body += "{\"inputText\":";
        common::append_string(body, req.texts.front());
        if (req.dimensions > 0) {
            if (family == EmbeddingsFamily::TitanV1) {
                return fail(common::unsupported_parameter(
                    kProvider, "dimensions", "Titan Text Embeddings v1 vectors have a fixed size"));
            }
            if (req.dimensions != 256 && req.dimensions != 512 && req.dimensions != 1024) {
                return fail(ErrorCode::InvalidRequest,
                            fmt::format("Amazon Titan Text Embeddings v2 supports 'dimensions' "
                                        "256, 512 or 1024; got {}.",
                                        req.dimensions),
                            "dimensions");
            }
            body += ",\"dimensions\":";
            common::append_int(body, req.dimensions);
        }
        if (!normalize.empty()) {
            body += ",\"normalize\":";
            body += normalize;
        }
        body += '}';
    }
    common::record_request(req, ctx);
    return body;
}

Result<std::string> translate_embeddings_response(std::string_view body,
                                                  const EmbeddingsContext& ctx) {
    simdjson::dom::parser parser;
    SB_TRY(root, common::parse_embeddings_answer(parser, body, kProvider));
    std::vector<std::vector<float>> vectors;
    std::int64_t tokens = 0;
    if (embeddings_family(ctx.upstream_model) == EmbeddingsFamily::Cohere) {
        simdjson::dom::element embeddings;
        if (root["embeddings"].get(embeddings) != simdjson::SUCCESS) {
            return fail(common::bad_response(kProvider, "the answer has no 'embeddings'"));
        }
        simdjson::dom::element by_type;
        if (embeddings.is_object() &&
            embeddings["float"].get(by_type) == simdjson::SUCCESS) {  // embeddings_by_type
            embeddings = by_type;
        }
        simdjson::dom::array list;
        if (embeddings.get_array().get(list) != simdjson::SUCCESS) {
            return fail(common::bad_response(kProvider, "'embeddings' is not an array"));
        }
        for (const simdjson::dom::element values : list) {
            vectors.emplace_back();
            if (!common::read_floats(values, vectors.back())) {
                return fail(common::bad_response(kProvider, "an embedding is not numbers"));
            }
        }
    } else {
        simdjson::dom::element values;
        vectors.emplace_back();
        if (root["embedding"].get(values) != simdjson::SUCCESS ||
            !common::read_floats(values, vectors.back())) {
            return fail(common::bad_response(kProvider, "the answer has no 'embedding' numbers"));
        }
        tokens = common::int_member(root, "inputTextTokenCount");
    }
    if (auto status = common::check_embeddings_count(vectors.size(), ctx.inputs, kProvider);
        !status) {
        return fail(std::move(status).error());
    }
    return common::render_embeddings(vectors, ctx.public_model, tokens, ctx.base64);
}

}  // namespace detail

Result<http::UpstreamRequest> BedrockAdapter::build_embeddings(const config::Provider& provider,
                                                               std::string_view openai_body,
                                                               EmbeddingsContext& ctx) const {
    SB_TRY(body, detail::translate_embeddings_request(openai_body, ctx));
    return signed_request(provider, detail::invoke_path(ctx.upstream_model), std::move(body));
}

Result<std::string> BedrockAdapter::translate_embeddings_response(
    std::string_view upstream_body, const EmbeddingsContext& ctx) const {
    return detail::translate_embeddings_response(upstream_body, ctx);
}

}  // namespace sb::providers::bedrock
