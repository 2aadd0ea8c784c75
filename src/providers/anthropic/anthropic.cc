#include "providers/anthropic/anthropic.h"

#include <fmt/format.h>

#include "providers/anthropic/internal.h"
#include "providers/common/completion.h"
#include "providers/common/errors.h"
#include "providers/common/strings.h"
#include "providers/common/upstream.h"
#include "providers/openai.h"

namespace sb::providers::anthropic {
namespace detail {
namespace {

using common::iequals;

bool has_header(const config::Provider& provider, std::string_view name) {
    for (const auto& [header, value] : provider.headers) {
        if (iequals(header, name)) {
            return true;
        }
    }
    return false;
}

// Anthropic's default `error.type` for a status without one (errors.status_map.md).
std::string_view default_type_for_status(int status) {
    switch (status) {
        case 400:
            return "invalid_request_error";
        case 401:
            return "authentication_error";
        case 402:
            return "billing_error";
        case 403:
            return "permission_error";
        case 404:
            return "not_found_error";
        case 409:
            return "conflict_error";
        case 413:
            return "request_too_large";
        case 429:
            return "rate_limit_error";
        case 504:
            return "timeout_error";
        case 529:
            return "overloaded_error";
        default:
            return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

}  // namespace

std::string_view finish_reason(std::string_view stop_reason) {
    if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
        return "length";
    }
    if (stop_reason == "tool_use") {
        return "tool_calls";
    }
    if (stop_reason == "refusal") {
        return "content_filter";
    }
    // end_turn, stop_sequence, pause_turn (a server-tool loop paused; we never send server
    // tools) and values added later.
    return "stop";
}

void Usage::update(simdjson::dom::element usage) {
    std::int64_t value = 0;
    common::update_int(usage, "input_tokens", input);
    common::update_int(usage, "cache_read_input_tokens", cache_read);
    common::update_int(usage, "cache_creation_input_tokens", cache_creation);
    common::update_int(usage, "output_tokens", output);
    if (usage["output_tokens_details"]["thinking_tokens"].get_int64().get(value) ==
        simdjson::SUCCESS) {
        thinking = value;
    }
}

void append_usage(std::string& out, const Usage& usage) {
    const std::int64_t prompt = usage.input + usage.cache_read + usage.cache_creation;
    common::append_usage(out, {.prompt = prompt,
                               .completion = usage.output,
                               .total = prompt + usage.output,
                               .cached = usage.cache_read,
                               .reasoning = usage.thinking});
}

int status_for_error_type(std::string_view type) {
    if (type == "invalid_request_error") {
        return 400;
    }
    if (type == "authentication_error") {
        return 401;
    }
    if (type == "billing_error") {
        return 402;
    }
    if (type == "permission_error") {
        return 403;
    }
    if (type == "not_found_error") {
        return 404;
    }
    if (type == "request_too_large") {
        return 413;
    }
    if (type == "rate_limit_error") {
        return 429;
    }
    if (type == "timeout_error") {
        return 504;
    }
    if (type == "overloaded_error") {
        return 529;
    }
    return 500;  // api_error and anything new
}

Error upstream_error(int status, std::string_view type, std::string_view message) {
    Error e;
    e.code = ErrorCode::UpstreamError;
    e.upstream_status = status;
    e.upstream_type =
        type.empty() ? std::string(default_type_for_status(status)) : std::string(type);
    e.message = message.empty()
                    ? fmt::format("The upstream provider returned an {} error with no message.",
                                  e.upstream_type)
                    : std::string(message);
    return e;
}

std::vector<std::string> request_headers(const config::Provider& provider) {
    std::vector<std::string> headers;
    headers.reserve(3 + provider.headers.size());
    headers.emplace_back("Content-Type: application/json");
    if (!provider.api_key.empty()) {
        // The config's auth_header/auth_prefix default to OpenAI's `Authorization: Bearer`;
        // Anthropic wants the bare key in `x-api-key`. A provider that names another header
        // (an Anthropic-compatible proxy) gets `<auth_header>: <auth_prefix><key>`.
        if (provider.auth_header.empty() || iequals(provider.auth_header, "Authorization")) {
            headers.push_back(fmt::format("x-api-key: {}", provider.api_key));
        } else {
            headers.push_back(fmt::format("{}: {}{}", provider.auth_header, provider.auth_prefix,
                                          provider.api_key));
        }
    }
    if (!has_header(provider, "anthropic-version")) {
        headers.push_back(fmt::format("anthropic-version: {}", kApiVersion));
    }
    common::append_configured_headers(headers, provider);
    return headers;
}

}  // namespace detail

Result<http::UpstreamRequest> AnthropicAdapter::build_chat(const config::Provider& provider,
                                                           std::string_view openai_body,
                                                           const ChatContext& ctx) const {
    SB_TRY(body, detail::translate_request(openai_body, ctx));
    http::UpstreamRequest req;
    const std::string_view base = common::base_url(provider, kDefaultBaseUrl);
    req.url.reserve(base.size() + 9);
    req.url = base;
    req.url += "/messages";
    req.headers = detail::request_headers(provider);
    req.body = std::move(body);
    req.timeouts = common::upstream_timeouts(provider);
    return req;
}

Error AnthropicAdapter::map_error(const config::Provider& provider, int status,
                                  std::string_view body, std::string_view retry_after) const {
    std::string_view type;
    std::string_view message;
    simdjson::padded_string padded(body);
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(padded).get(root) == simdjson::SUCCESS) {
        simdjson::dom::element err;
        if (root["error"].get(err) == simdjson::SUCCESS) {
            if (err.is_object()) {
                // Anthropic: {"type":"error","error":{"type","message"},"request_id"}; an
                // OpenAI-shaped body from a proxy has the same two members.
                type = detail::string_member(err, "type");
                message = detail::string_member(err, "message");
            } else if (err.is_string()) {
                message = err.get_string().value_unsafe();
            }
        } else {
            message = detail::string_member(root, "message");
        }
    }
    std::string text = common::upstream_message(status, message, {provider.api_key});

    Error e;
    if (status == 401 || status == 403) {
        e.code = ErrorCode::UpstreamAuth;
        e.message = common::credentials_rejected(provider.name, status, text);
        e.upstream_status = status;
        e.upstream_type = std::string(type);
        return e;
    }
    e = detail::upstream_error((status >= 400 && status <= 599) ? status : 502, type, text);
    e.retry_after = std::string(retry_after);
    return e;
}

}  // namespace sb::providers::anthropic
