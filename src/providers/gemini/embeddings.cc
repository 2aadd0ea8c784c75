// Embeddings for the Gemini adapter: OpenAI's embeddings request to batchEmbedContents and back
// (docs/providers/gemini.md, "Embeddings").

#include "providers/common/embeddings.h"

#include "providers/common/errors.h"
#include "providers/common/upstream.h"
#include "providers/gemini/gemini.h"
#include "providers/gemini/internal.h"

namespace sb::providers::gemini {
namespace detail {
namespace {

constexpr std::string_view kProvider = "gemini";

// A `task_type` extension value: a JSON string of upper-case letters and '_' (Gemini's TaskType
// enum names, e.g. RETRIEVAL_DOCUMENT), returned without its quotes.
Result<std::string> task_type(std::string_view json) {
    if (json.size() < 3 || json.front() != '"' || json.back() != '"') {
        return fail(ErrorCode::InvalidRequest,
                    "Invalid 'task_type': expected a string such as \"RETRIEVAL_QUERY\".",
                    "task_type");
    }
    json = json.substr(1, json.size() - 2);
    for (const char c : json) {
        if (!((c >= 'A' && c <= 'Z') || c == '_')) {
            return fail(ErrorCode::InvalidRequest,
                        "Invalid 'task_type': expected a Gemini task type such as "
                        "\"RETRIEVAL_QUERY\" or \"SEMANTIC_SIMILARITY\".",
                        "task_type");
        }
    }
    return std::string(json);
}

}  // namespace

Result<std::string> translate_embeddings_request(std::string_view openai_body,
                                                 EmbeddingsContext& ctx) {
    SB_TRY(req, common::parse_embeddings_request(openai_body, kProvider));
    std::string task;
    for (const auto& [name, value] : req.extra) {
        if (name == "task_type") {
            SB_TRY(parsed, task_type(value));
            task = std::move(parsed);
        } else {
            return fail(common::unsupported_parameter(kProvider, name));
        }
    }
    std::string model_name;
    if (ctx.upstream_model.find('/') == std::string::npos) {
        model_name = "models/";
    }
    model_name += ctx.upstream_model;

    std::string body;
    body.reserve(64 + openai_body.size() + req.texts.size() * (model_name.size() + 64));
    body += "{\"requests\":[";
    for (std::size_t i = 0; i < req.texts.size(); ++i) {
        if (i > 0) {
            body += ',';
        }
        body += "{\"model\":";
        append_string(body, model_name);
        body += ",\"content\":{\"parts\":[{\"text\":";
        append_string(body, req.texts[i]);
        body += "}]}";
        if (!task.empty()) {
            body += ",\"taskType\":";
            append_string(body, task);
        }
        if (req.dimensions > 0) {
            body += ",\"outputDimensionality\":";
            append_int(body, req.dimensions);
        }
        body += '}';
    }
    body += "]}";
    common::record_request(req, ctx);
    return body;
}

Result<std::string> translate_embeddings_response(std::string_view body,
                                                  const EmbeddingsContext& ctx) {
    simdjson::dom::parser parser;
    SB_TRY(root, common::parse_embeddings_answer(parser, body, kProvider));
    simdjson::dom::array embeddings;
    if (root["embeddings"].get_array().get(embeddings) != simdjson::SUCCESS) {
        return fail(common::bad_response(kProvider, "the answer has no 'embeddings' array"));
    }
    std::vector<std::vector<float>> vectors;
    vectors.reserve(embeddings.size());
    for (const simdjson::dom::element embedding : embeddings) {
        simdjson::dom::element values;
        vectors.emplace_back();
        if (embedding["values"].get(values) != simdjson::SUCCESS ||
            !common::read_floats(values, vectors.back())) {
            return fail(common::bad_response(kProvider, "an embedding has no 'values' numbers"));
        }
    }
    if (auto status = common::check_embeddings_count(vectors.size(), ctx.inputs, kProvider);
        !status) {
        return fail(std::move(status).error());
    }
    std::int64_t tokens = 0;
    simdjson::dom::element usage;
    if (root["usageMetadata"].get(usage) == simdjson::SUCCESS) {
        tokens = int_member(usage, "promptTokenCount");
    }
    return common::render_embeddings(vectors, ctx.public_model, tokens, ctx.base64);
}

}  // namespace detail

Result<http::UpstreamRequest> GeminiAdapter::build_embeddings(const config::Provider& provider,
                                                              std::string_view openai_body,
                                                              EmbeddingsContext& ctx) const {
    SB_TRY(body, detail::translate_embeddings_request(openai_body, ctx));
    http::UpstreamRequest req;
    req.url = detail::model_url(common::base_url(provider, kDefaultBaseUrl), ctx.upstream_model,
                                ":batchEmbedContents");
    req.headers = detail::request_headers(provider);
    req.body = std::move(body);
    req.timeouts = common::upstream_timeouts(provider);
    return req;
}

Result<std::string> GeminiAdapter::translate_embeddings_response(
    std::string_view upstream_body, const EmbeddingsContext& ctx) const {
    return detail::translate_embeddings_response(upstream_body, ctx);
}

}  // namespace sb::providers::gemini
