// Anthropic error shapes for the /v1/messages endpoints, and the helpers the inbound translation
// units share.

#include <fmt/format.h>

#include "inbound/anthropic/internal.h"
#include "inbound/anthropic/messages.h"

namespace sb::inbound::anthropic {

namespace detail {

std::string path(std::string_view base, std::size_t i) {
    return fmt::format("{}.{}", base, i);
}

std::string path(std::string_view base, std::string_view key) {
    return fmt::format("{}.{}", base, key);
}

tl::unexpected<Error> invalid(std::string param, std::string_view what) {
    std::string message = fmt::format("{}: {}", param, what);
    return fail(ErrorCode::InvalidRequest, std::move(message), std::move(param));
}

tl::unexpected<Error> missing(std::string param) {
    return invalid(std::move(param), "Field required");
}

tl::unexpected<Error> wrong_type(std::string param, std::string_view expected) {
    return invalid(std::move(param), fmt::format("Input should be {}", expected));
}

tl::unexpected<Error> unsupported(std::string param, std::string_view why) {
    if (why.empty()) {
        return invalid(std::move(param),
                       "not supported when the model is served by a non-Anthropic provider");
    }
    return invalid(std::move(param),
                   fmt::format("not supported when the model is served by a non-Anthropic "
                               "provider ({})",
                               why));
}

Result<simdjson::dom::object> parse_object(simdjson::dom::parser& parser,
                                           const simdjson::padded_string& body) {
    simdjson::dom::element root;
    if (const auto err = parser.parse(body).get(root)) {
        if (body.size() == 0) {
            return fail(ErrorCode::InvalidJson, "The request body is empty: send a JSON object.");
        }
        return fail(ErrorCode::InvalidJson, fmt::format("The request body is not valid JSON ({}).",
                                                        simdjson::error_message(err)));
    }
    simdjson::dom::object object;
    if (root.get_object().get(object) != simdjson::SUCCESS) {
        return fail(ErrorCode::InvalidRequest, "The request body must be a JSON object.");
    }
    return object;
}

}  // namespace detail

namespace {

// Error types Anthropic documents (errors.status_map.md): an upstream's own is kept.
constexpr std::string_view kAnthropicTypes[] = {
    "invalid_request_error", "authentication_error", "billing_error",
    "permission_error",      "not_found_error",      "request_too_large",
    "rate_limit_error",      "timeout_error",        "api_error",
    "overloaded_error",
};

// HTTP status for an OpenAI error seen without one (inside a stream): by code, then type.
int status_for_openai_error(std::string_view type, std::string_view code) {
    if (code == "rate_limit_exceeded") {
        return 429;
    }
    if (code == "upstream_timeout") {
        return 504;
    }
    if (code == "service_unavailable") {
        return 503;
    }
    if (code == "context_length_exceeded") {
        return 400;
    }
    if (type == "invalid_request_error") {
        return 400;
    }
    if (type == "authentication_error") {
        return 401;
    }
    if (type == "permission_denied" || type == "permission_error") {
        return 403;
    }
    if (type == "not_found_error") {
        return 404;
    }
    if (type == "rate_limit_error" || type == "tokens" || type == "requests" ||
        type == "insufficient_quota") {
        return 429;
    }
    if (type == "overloaded_error") {
        return 529;
    }
    if (type == "timeout_error") {
        return 504;
    }
    if (type == "upstream_error") {
        return 502;
    }
    return 500;  // server_error, api_error and anything else
}

}  // namespace

std::string_view anthropic_error_type(const Error& e) {
    if (e.code == ErrorCode::UpstreamError) {
        for (const std::string_view type : kAnthropicTypes) {
            if (type == e.upstream_type) {
                return type;
            }
        }
    }
    const int status = http_status(e);
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
        case 413:
            return "request_too_large";
        case 429:
            return "rate_limit_error";
        case 504:
            return "timeout_error";
        case 529:
            return "overloaded_error";
        default:
            // Anthropic: invalid_request_error also stands for other 4XX statuses.
            return status < 500 ? "invalid_request_error" : "api_error";
    }
}

std::string anthropic_error_body(const Error& e, std::string_view request_id) {
    std::string out;
    out.reserve(80 + e.message.size());
    out += R"({"type":"error","error":{"type":")";
    append_json_escaped(out, anthropic_error_type(e));
    out += R"(","message":")";
    append_json_escaped(out, e.message);
    out += "\"}";
    if (!request_id.empty()) {
        out += R"(,"request_id":")";
        append_json_escaped(out, request_id);
        out += '"';
    }
    out += '}';
    return out;
}

void append_error_event(std::string& out, const Error& e) {
    out += "event: error\ndata: ";
    out += anthropic_error_body(e);
    out += "\n\n";
}

Error openai_error(simdjson::dom::element error) {
    Error e;
    e.code = ErrorCode::UpstreamError;
    std::int64_t code_number = 0;
    std::string_view message;
    if (error.get_string().get(message) == simdjson::SUCCESS) {
        e.message = std::string(message);
    } else {
        e.message = std::string(detail::string_member(error, "message"));
        e.upstream_type = std::string(detail::string_member(error, "type"));
        simdjson::dom::element code;
        if (error["code"].get(code) == simdjson::SUCCESS) {
            std::string_view code_text;
            if (code.get_string().get(code_text) == simdjson::SUCCESS) {
                e.upstream_code = std::string(code_text);
            } else if (code.get_int64().get(code_number) == simdjson::SUCCESS) {
                e.upstream_code = std::to_string(code_number);
            }
        }
    }
    // Azure puts the HTTP status in `code` ("429" or 429).
    if (code_number == 0 && !e.upstream_code.empty()) {
        const std::string& c = e.upstream_code;
        if (c.size() == 3 && c[0] >= '4' && c[0] <= '5' && c[1] >= '0' && c[1] <= '9' &&
            c[2] >= '0' && c[2] <= '9') {
            code_number = std::stoi(c);
        }
    }
    e.upstream_status = code_number >= 400 && code_number <= 599
                            ? static_cast<int>(code_number)
                            : status_for_openai_error(e.upstream_type, e.upstream_code);
    if (e.message.empty()) {
        e.message = "The upstream provider reported an error with no message.";
    }
    return e;
}

}  // namespace sb::inbound::anthropic
