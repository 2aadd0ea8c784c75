#include "providers/vertex/vertex.h"

#include <fmt/format.h>
#include <simdjson.h>

#include "providers/common/embeddings.h"
#include "providers/common/errors.h"
#include "providers/common/json.h"
#include "providers/common/upstream.h"

namespace sb::providers::vertex {
namespace detail {
namespace {

constexpr std::string_view kProvider = "vertex";

}  // namespace

std::string model_url(const config::Provider& provider, std::string_view upstream_model,
                      std::string_view method) {
    // config fills base_url with https://{location}-aiplatform.googleapis.com when unset.
    const std::string base =
        fmt::format("{}/v1/projects/{}/locations/{}", common::base_url(provider, {}),
                    provider.project, provider.location);
    if (upstream_model.find('/') != std::string_view::npos) {
        return gemini::detail::model_url(base, upstream_model, method);
    }
    std::string resource = "publishers/google/models/";
    resource += upstream_model;
    // gemini::detail::model_url percent-encodes what is not path-safe and keeps the '/'s.
    return gemini::detail::model_url(base, resource, method);
}

Result<std::string> translate_embeddings_request(std::string_view openai_body,
                                                 EmbeddingsContext& ctx) {
    SB_TRY(req, common::parse_embeddings_request(openai_body, kProvider));
    std::string task;
    bool auto_truncate_set = false;
    std::string auto_truncate;
    for (const auto& [name, value] : req.extra) {
        if (name == "task_type") {
            if (value.size() < 3 || value.front() != '"' || value.back() != '"') {
                return fail(ErrorCode::InvalidRequest,
                            "Invalid 'task_type': expected a string such as \"RETRIEVAL_QUERY\".",
                            "task_type");
            }
            task = value;  // already a JSON string
        } else if (name == "auto_truncate" && (value == "true" || value == "false")) {
            auto_truncate_set = true;
            auto_truncate = value;
        } else {
            return fail(common::unsupported_parameter(kProvider, name));
        }
    }
    std::string body;
    body.reserve(64 + openai_body.size());
    body += "{\"instances\":[";
    for (std::size_t i = 0; i < req.texts.size(); ++i) {
        if (i > 0) {
            body += ',';
        }
        body += "{\"content\":";
        common::append_string(body, req.texts[i]);
        if (!task.empty()) {
            body += ",\"task_type\":";
            body += task;
        }
        body += '}';
    }
    body += ']';
    if (req.dimensions > 0 || auto_truncate_set) {
        body += ",\"parameters\":{";
        if (req.dimensions > 0) {
            body += "\"outputDimensionality\":";
            common::append_int(body, req.dimensions);
        }
        if (auto_truncate_set) {
            body += req.dimensions > 0 ? ",\"autoTruncate\":" : "\"autoTruncate\":";
            body += auto_truncate;
        }
        body += '}';
    }
    body += '}';
    common::record_request(req, ctx);
    return body;
}

Result<std::string> translate_embeddings_response(std::string_view body,
                                                  const EmbeddingsContext& ctx) {
    simdjson::dom::parser parser;
    SB_TRY(root, common::parse_embeddings_answer(parser, body, kProvider));
    simdjson::dom::array predictions;
    if (root["predictions"].get_array().get(predictions) != simdjson::SUCCESS) {
        return fail(common::bad_response(kProvider, "the answer has no 'predictions' array"));
    }
    std::vector<std::vector<float>> vectors;
    std::int64_t tokens = 0;
    for (const simdjson::dom::element prediction : predictions) {
        simdjson::dom::element embeddings;
        simdjson::dom::element values;
        vectors.emplace_back();
        if (prediction["embeddings"].get(embeddings) != simdjson::SUCCESS ||
            embeddings["values"].get(values) != simdjson::SUCCESS ||
            !common::read_floats(values, vectors.back())) {
            return fail(common::bad_response(kProvider, "a prediction has no embedding values"));
        }
        simdjson::dom::element statistics;
        if (embeddings["statistics"].get(statistics) == simdjson::SUCCESS) {
            tokens += common::int_member(statistics, "token_count");
        }
    }
    if (auto status = common::check_embeddings_count(vectors.size(), ctx.inputs, kProvider);
        !status) {
        return fail(std::move(status).error());
    }
    return common::render_embeddings(vectors, ctx.public_model, tokens, ctx.base64);
}

}  // namespace detail

VertexAdapter::VertexAdapter(std::shared_ptr<const google::TokenSource> tokens)
    : tokens_(std::move(tokens)) {}

Result<std::vector<std::string>> VertexAdapter::headers(const config::Provider& provider) const {
    std::vector<std::string> out;
    out.reserve(2 + provider.headers.size());
    out.emplace_back("Content-Type: application/json");
    if (tokens_) {
        // Only reads the token the background refresher left; never waits for one.
        SB_TRY(token, tokens_->access_token());
        out.push_back("Authorization: Bearer " + token);
    } else if (!provider.api_key.empty()) {
        out.push_back("Authorization: Bearer " + provider.api_key);
    } else {
        return fail(ErrorCode::Internal,
                    fmt::format("The provider '{}' has no Google credentials.", provider.name));
    }
    common::append_configured_headers(out, provider);
    return out;
}

Result<http::UpstreamRequest> VertexAdapter::build_chat(const config::Provider& provider,
                                                        std::string_view openai_body,
                                                        const ChatContext& ctx) const {
    SB_TRY(body, gemini::detail::translate_request(openai_body, ctx));
    SB_TRY(header_lines, headers(provider));
    http::UpstreamRequest req;
    req.url = detail::model_url(provider, ctx.upstream_model,
                                ctx.stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
    req.headers = std::move(header_lines);
    req.body = std::move(body);
    req.timeouts = common::upstream_timeouts(provider);
    return req;
}

Result<std::string> VertexAdapter::translate_chat_response(std::string_view upstream_body,
                                                           const ChatContext& ctx) const {
    return gemini_.translate_chat_response(upstream_body, ctx);
}

std::unique_ptr<StreamDecoder> VertexAdapter::make_chat_stream_decoder(
    const ChatContext& ctx) const {
    return gemini_.make_chat_stream_decoder(ctx);
}

Error VertexAdapter::map_error(const config::Provider& provider, int status, std::string_view body,
                               std::string_view retry_after) const {
    // Vertex answers in google.rpc.Status like the Gemini API; a rejected or expired OAuth
    // token is 401 UNAUTHENTICATED, which the Gemini mapping turns into UpstreamAuth.
    return gemini_.map_error(provider, status, body, retry_after);
}

Result<http::UpstreamRequest> VertexAdapter::build_embeddings(const config::Provider& provider,
                                                              std::string_view openai_body,
                                                              EmbeddingsContext& ctx) const {
    SB_TRY(body, detail::translate_embeddings_request(openai_body, ctx));
    SB_TRY(header_lines, headers(provider));
    http::UpstreamRequest req;
    req.url = detail::model_url(provider, ctx.upstream_model, ":predict");
    req.headers = std::move(header_lines);
    req.body = std::move(body);
    req.timeouts = common::upstream_timeouts(provider);
    return req;
}

Result<std::string> VertexAdapter::translate_embeddings_response(
    std::string_view upstream_body, const EmbeddingsContext& ctx) const {
    return detail::translate_embeddings_response(upstream_body, ctx);
}

}  // namespace sb::providers::vertex
