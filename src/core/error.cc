#include "core/error.h"

namespace sb {
namespace {

struct Row {
    int status;
    std::string_view type;
    std::string_view code;
};

// Indexed by ErrorCode. Keep in the enum's order.
constexpr Row kTable[] = {
    /* InvalidRequest       */ {400, "invalid_request_error", ""},
    /* InvalidJson          */ {400, "invalid_request_error", "invalid_json"},
    /* BadFraming           */ {400, "invalid_request_error", "bad_request"},
    /* Unauthorized         */ {401, "authentication_error", "invalid_api_key"},
    /* PermissionDenied     */ {403, "permission_denied", "permission_denied"},
    /* NotFound             */ {404, "invalid_request_error", "not_found"},
    /* ModelNotFound        */ {404, "invalid_request_error", "model_not_found"},
    /* MethodNotAllowed     */ {405, "invalid_request_error", "method_not_allowed"},
    /* RequestTimeout       */ {408, "invalid_request_error", "request_timeout"},
    /* PayloadTooLarge      */ {413, "invalid_request_error", "request_too_large"},
    /* UnsupportedMediaType */ {415, "invalid_request_error", "unsupported_media_type"},
    /* HeadersTooLarge      */ {431, "invalid_request_error", "headers_too_large"},
    /* RateLimited          */ {429, "rate_limit_error", "rate_limit_exceeded"},
    /* Internal             */ {500, "server_error", "internal_error"},
    /* UpstreamError        */ {502, "upstream_error", ""},  // code: the upstream's, or null
    /* UpstreamAuth         */ {502, "upstream_error", "upstream_auth_failed"},
    /* UpstreamUnreachable  */ {502, "upstream_error", "upstream_unreachable"},
    /* UpstreamBadResponse  */ {502, "upstream_error", "upstream_bad_response"},
    /* UpstreamTimeout      */ {504, "upstream_error", "upstream_timeout"},
    /* Unavailable          */ {503, "server_error", "service_unavailable"},
    /* ContentFiltered      */ {400, "invalid_request_error", "content_filter"},
    /* InsufficientQuota    */ {429, "insufficient_quota", "insufficient_quota"},
};
static_assert(sizeof(kTable) / sizeof(kTable[0]) ==
              static_cast<size_t>(ErrorCode::InsufficientQuota) + 1);

const Row& row(ErrorCode c) {
    return kTable[static_cast<size_t>(c)];
}

}  // namespace

int http_status(const Error& e) {
    if (e.code == ErrorCode::UpstreamError && e.upstream_status >= 400 &&
        e.upstream_status <= 599) {
        return e.upstream_status;
    }
    return row(e.code).status;
}

std::string_view error_type(const Error& e) {
    if (e.code == ErrorCode::UpstreamError && !e.upstream_type.empty()) {
        return e.upstream_type;
    }
    return row(e.code).type;
}

std::string_view error_code_name(const Error& e) {
    if (e.code == ErrorCode::UpstreamError && !e.upstream_code.empty()) {
        return e.upstream_code;
    }
    return row(e.code).code;
}

std::string_view reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 204:
            return "No Content";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 402:
            return "Payment Required";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 413:
            return "Content Too Large";
        case 415:
            return "Unsupported Media Type";
        case 422:
            return "Unprocessable Content";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        case 529:
            return "Site Overloaded";
        default:
            return "Unknown";
    }
}

void append_json_escaped(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += kHex[c >> 4];
                    out += kHex[c & 0xF];
                } else {
                    out += ch;
                }
        }
    }
}

std::string render_openai_error(const Error& e) {
    std::string out;
    out.reserve(96 + e.message.size());
    out += R"({"error":{"message":")";
    append_json_escaped(out, e.message);
    out += R"(","type":")";
    append_json_escaped(out, error_type(e));
    out += R"(","param":)";
    if (e.param.empty()) {
        out += "null";
    } else {
        out += '"';
        append_json_escaped(out, e.param);
        out += '"';
    }
    out += R"(,"code":)";
    auto code = error_code_name(e);
    if (code.empty()) {
        out += "null";
    } else {
        out += '"';
        append_json_escaped(out, code);
        out += '"';
    }
    out += "}}";
    return out;
}

}  // namespace sb
