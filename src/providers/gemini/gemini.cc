#include "providers/gemini/gemini.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "providers/common/completion.h"
#include "providers/common/errors.h"
#include "providers/common/strings.h"
#include "providers/common/upstream.h"
#include "providers/gemini/internal.h"
#include "providers/openai.h"

namespace sb::providers::gemini {
namespace detail {
namespace {

using common::iequals;

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Characters a model resource path may hold as they are (RFC 3986 unreserved, plus '/').
bool is_path_safe(char c) {
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
}

// The google.rpc.Code name for an HTTP status, for errors that do not name their own
// (google.rpc.Code's HTTP mapping, errors.status_map.md).
std::string_view default_status_name(int status) {
    switch (status) {
        case 400:
            return "INVALID_ARGUMENT";
        case 401:
            return "UNAUTHENTICATED";
        case 403:
            return "PERMISSION_DENIED";
        case 404:
            return "NOT_FOUND";
        case 409:
            return "ABORTED";
        case 429:
            return "RESOURCE_EXHAUSTED";
        case 499:
            return "CANCELLED";
        case 501:
            return "NOT_IMPLEMENTED";
        case 503:
            return "UNAVAILABLE";
        case 504:
            return "DEADLINE_EXCEEDED";
        default:
            return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
    }
}

// google.rpc.RetryInfo.retryDelay is a protobuf Duration in JSON ("37s", "0.5s"): whole
// seconds, rounded up, for Retry-After. Empty when it does not parse.
std::string retry_delay_seconds(std::string_view delay) {
    if (delay.empty() || delay.back() != 's') {
        return {};
    }
    delay.remove_suffix(1);
    double seconds = 0;
    const auto [ptr, ec] = std::from_chars(delay.data(), delay.data() + delay.size(), seconds);
    if (ec != std::errc() || ptr != delay.data() + delay.size() || !(seconds >= 0) ||
        seconds > 86400.0 * 365) {
        return {};
    }
    return std::to_string(static_cast<std::int64_t>(std::ceil(seconds)));
}

}  // namespace

bool bool_member(simdjson::dom::element object, std::string_view key) {
    bool value = false;
    return object[key].get_bool().get(value) == simdjson::SUCCESS && value;
}

void Usage::assign(simdjson::dom::element usage) {
    common::update_int(usage, "promptTokenCount", prompt);
    common::update_int(usage, "candidatesTokenCount", candidates);
    common::update_int(usage, "thoughtsTokenCount", thoughts);
    common::update_int(usage, "cachedContentTokenCount", cached);
    common::update_int(usage, "totalTokenCount", total);
}

void append_usage(std::string& out, const Usage& usage) {
    const std::int64_t completion = usage.candidates + usage.thoughts;
    common::append_usage(out, {.prompt = usage.prompt,
                               .completion = completion,
                               .total = usage.total >= 0 ? usage.total : usage.prompt + completion,
                               .cached = usage.cached,
                               .reasoning = usage.thoughts});
}

void append_tool_call(std::string& out, simdjson::dom::element part,
                      simdjson::dom::element function_call, std::string_view id,
                      std::int64_t stream_index) {
    out += '{';
    if (stream_index >= 0) {
        out += "\"index\":";
        append_int(out, stream_index);
        out += ',';
    }
    out += "\"id\":";
    append_string(out, id);
    out += ",\"type\":\"function\",\"function\":{\"name\":";
    append_string(out, string_member(function_call, "name"));
    out += ",\"arguments\":";
    simdjson::dom::element args;
    if (function_call["args"].get(args) == simdjson::SUCCESS && args.is_object()) {
        append_string(out, simdjson::to_string(args));
    } else {
        append_string(out, "{}");
    }
    out += '}';
    const std::string_view signature = string_member(part, "thoughtSignature");
    if (!signature.empty()) {
        out += ",\"extra_content\":{\"google\":{\"thought_signature\":";
        append_string(out, signature);
        out += "}}";
    }
    out += '}';
}

Error upstream_error(simdjson::dom::element error, int http_status, std::string_view retry_after,
                     std::string_view secret) {
    const std::int64_t code = int_member(error, "code");
    Error e;
    e.code = ErrorCode::UpstreamError;
    if (http_status >= 400 && http_status <= 599) {
        e.upstream_status = http_status;
    } else if (code >= 400 && code <= 599) {
        e.upstream_status = static_cast<int>(code);
    } else {
        e.upstream_status = http_status == 0 ? 500 : 502;
    }
    const std::string_view status_name = string_member(error, "status");
    e.upstream_type = status_name.empty() ? std::string(default_status_name(e.upstream_status))
                                          : std::string(status_name);
    const std::string_view message = string_member(error, "message");
    e.message = message.empty()
                    ? fmt::format("The upstream provider returned HTTP {} ({}) with no message.",
                                  e.upstream_status, e.upstream_type)
                    : openai::scrub(std::string(message), secret);
    e.retry_after = std::string(retry_after);
    simdjson::dom::array details;
    if (error["details"].get_array().get(details) == simdjson::SUCCESS) {
        for (const simdjson::dom::element detail : details) {
            const std::string_view type = string_member(detail, "@type");
            if (type.ends_with("google.rpc.ErrorInfo") && e.upstream_code.empty()) {
                e.upstream_code = string_member(detail, "reason");
            } else if (type.ends_with("google.rpc.RetryInfo") && e.retry_after.empty()) {
                e.retry_after = retry_delay_seconds(string_member(detail, "retryDelay"));
            }
        }
    }
    return e;
}

std::string model_url(std::string_view base, std::string_view upstream_model,
                      std::string_view method) {
    std::string url;
    url.reserve(base.size() + upstream_model.size() + method.size() + 16);
    url = base;
    url += '/';
    if (upstream_model.find('/') == std::string_view::npos) {
        url += "models/";
    }
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (const char c : upstream_model) {
        if (is_path_safe(c)) {
            url += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            url += '%';
            url += kHex[byte >> 4];
            url += kHex[byte & 0xF];
        }
    }
    url += method;
    return url;
}

std::string request_url(const config::Provider& provider, std::string_view upstream_model,
                        bool stream) {
    return model_url(common::base_url(provider, kDefaultBaseUrl), upstream_model,
                     stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
}

std::vector<std::string> request_headers(const config::Provider& provider) {
    std::vector<std::string> headers;
    headers.reserve(2 + provider.headers.size());
    headers.emplace_back("Content-Type: application/json");
    if (!provider.api_key.empty()) {
        // The config's auth_header/auth_prefix default to OpenAI's `Authorization: Bearer`;
        // Gemini wants the bare key in `x-goog-api-key` (never `?key=` in the URL: URLs are
        // logged). A provider that names another header (a Gemini proxy, an OAuth bearer
        // token in `Authorization` set explicitly with another prefix) gets
        // `<auth_header>: <auth_prefix><key>`.
        if (provider.auth_header.empty() ||
            (iequals(provider.auth_header, "Authorization") && provider.auth_prefix == "Bearer ")) {
            headers.push_back(fmt::format("x-goog-api-key: {}", provider.api_key));
        } else {
            headers.push_back(fmt::format("{}: {}{}", provider.auth_header, provider.auth_prefix,
                                          provider.api_key));
        }
    }
    common::append_configured_headers(headers, provider);
    return headers;
}

std::string tool_call_id(std::string_view response_id, std::int64_t candidate,
                         std::int64_t ordinal) {
    constexpr std::size_t kMaxTail = 24;
    if (response_id.starts_with("chatcmpl-")) {
        response_id.remove_prefix(9);
    }
    std::string tail;
    for (const char c : response_id) {
        if (is_alnum(c)) {
            tail += c;
        }
    }
    if (tail.size() > kMaxTail) {
        tail.erase(0, tail.size() - kMaxTail);
    }
    std::string id = "call_";
    id += tail;
    if (!tail.empty()) {
        id += '_';
    }
    if (candidate > 0) {
        append_int(id, candidate);
        id += '_';
    }
    append_int(id, ordinal);
    return id;
}

std::string_view finish_reason(std::string_view gemini_reason, bool has_tool_calls) {
    if (gemini_reason == "MAX_TOKENS") {
        return "length";
    }
    if (gemini_reason == "SAFETY" || gemini_reason == "RECITATION" ||
        gemini_reason == "BLOCKLIST" || gemini_reason == "PROHIBITED_CONTENT" ||
        gemini_reason == "SPII" || gemini_reason == "IMAGE_SAFETY" ||
        gemini_reason == "IMAGE_PROHIBITED_CONTENT" || gemini_reason == "IMAGE_RECITATION") {
        return "content_filter";
    }
    // STOP, and (a documented decision) LANGUAGE, OTHER, MALFORMED_FUNCTION_CALL,
    // UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS, NO_IMAGE, IMAGE_OTHER,
    // FINISH_REASON_UNSPECIFIED and values added later. Gemini has no tool-call finish reason:
    // it is derived from the parts (fixture resp.function_call.json ends with STOP).
    return has_tool_calls ? "tool_calls" : "stop";
}

int model_generation(std::string_view model) {
    const std::size_t slash = model.rfind('/');
    if (slash != std::string_view::npos) {
        model.remove_prefix(slash + 1);
    }
    constexpr std::string_view kPrefix = "gemini-";
    if (!model.starts_with(kPrefix)) {
        return 0;
    }
    model.remove_prefix(kPrefix.size());
    int generation = 0;
    const auto [ptr, ec] = std::from_chars(model.data(), model.data() + model.size(), generation);
    if (ec != std::errc() || generation < 0 || generation > 99) {
        return 0;
    }
    return generation;
}

}  // namespace detail

Result<http::UpstreamRequest> GeminiAdapter::build_chat(const config::Provider& provider,
                                                        std::string_view openai_body,
                                                        const ChatContext& ctx) const {
    SB_TRY(body, detail::translate_request(openai_body, ctx));
    http::UpstreamRequest req;
    req.url = detail::request_url(provider, ctx.upstream_model, ctx.stream);
    req.headers = detail::request_headers(provider);
    req.body = std::move(body);
    req.timeouts = common::upstream_timeouts(provider);
    return req;
}

Error GeminiAdapter::map_error(const config::Provider& provider, int status, std::string_view body,
                               std::string_view retry_after) const {
    // The streaming endpoint answers errors with a plain JSON body (fixture
    // err.404.not_found.streaming_endpoint.json); an SSE-framed one is accepted too.
    std::string_view json = body;
    while (!json.empty() && (json.front() == ' ' || json.front() == '\r' || json.front() == '\n' ||
                             json.front() == '\t')) {
        json.remove_prefix(1);
    }
    if (json.starts_with("data:")) {
        json.remove_prefix(5);
    }
    const int http = (status >= 400 && status <= 599) ? status : 502;
    Error e;
    bool parsed = false;
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(json);
    simdjson::dom::element root;
    if (parser.parse(padded).get(root) == simdjson::SUCCESS) {
        simdjson::dom::element first;
        if (root.is_array() && root.get_array().at(0).get(first) == simdjson::SUCCESS) {
            root = first;  // Vertex's JSON-array stream: [{"error":{...}}]
        }
        simdjson::dom::element err;
        if (root["error"].get(err) == simdjson::SUCCESS && err.is_object()) {
            e = detail::upstream_error(err, http, retry_after, provider.api_key);
            parsed = true;
        } else if (const std::string_view message = detail::string_member(root, "message");
                   !message.empty()) {
            e = detail::upstream_error(root, http, retry_after, provider.api_key);
            parsed = true;
        }
    }
    if (!parsed) {
        e.code = ErrorCode::UpstreamError;
        e.upstream_status = http;
        e.upstream_type = std::string(http >= 500 ? "INTERNAL" : "INVALID_ARGUMENT");
        e.message = common::upstream_message(status, {}, {});
        e.retry_after = std::string(retry_after);
    }
    // Google answers a bad key with 400 INVALID_ARGUMENT + ErrorInfo.reason API_KEY_INVALID
    // (fixtures README section 5), a key without access with 403 PERMISSION_DENIED.
    const bool auth = status == 401 || status == 403 || e.upstream_type == "UNAUTHENTICATED" ||
                      e.upstream_type == "PERMISSION_DENIED" ||
                      e.upstream_code.starts_with("API_KEY_");
    if (auth) {
        Error auth_error;
        auth_error.code = ErrorCode::UpstreamAuth;
        auth_error.message = common::credentials_rejected(provider.name, status, e.message);
        auth_error.upstream_status = status;
        auth_error.upstream_type = std::move(e.upstream_type);
        auth_error.upstream_code = std::move(e.upstream_code);
        return auth_error;
    }
    return e;
}

}  // namespace sb::providers::gemini
