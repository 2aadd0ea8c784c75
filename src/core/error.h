#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sb {

// Closed set of error codes the gateway produces. Only error.cc maps a code to an HTTP status
// and an OpenAI error `type`; everything else names the code.
enum class ErrorCode : std::uint8_t {
    InvalidRequest,        // 400: malformed JSON, wrong field type, missing field
    InvalidJson,           // 400: body is not valid JSON
    BadFraming,            // 400: request framing (CL+TE, bad chunking, bad head)
    Unauthorized,          // 401
    PermissionDenied,      // 403
    NotFound,              // 404: no such route
    ModelNotFound,         // 404: unknown model
    MethodNotAllowed,      // 405
    RequestTimeout,        // 408: head not received in time
    PayloadTooLarge,       // 413
    UnsupportedMediaType,  // 415
    HeadersTooLarge,       // 431
    RateLimited,           // 429
    Internal,              // 500
    UpstreamError,         // status kept from the upstream (4xx/5xx it returned)
    UpstreamAuth,          // 502: the upstream rejected the gateway's own provider key
    UpstreamUnreachable,   // 502: connect/TLS failure, connection reset
    UpstreamBadResponse,   // 502: unparseable or truncated upstream answer
    UpstreamTimeout,       // 504: first-byte, idle or total timeout
    Unavailable,           // 503: draining, provider disabled
    ContentFiltered,       // 400: the provider's content filter refused the prompt
    InsufficientQuota,     // 429: a budget (currency per day/week/month) is spent
};

// An error as a value. For upstream failures `upstream_status` and the upstream's own
// message/type/code are kept (credentials already scrubbed by whoever built it).
struct Error {
    Error() = default;
    Error(ErrorCode c, std::string msg, std::string parameter = {})
        : code(c), message(std::move(msg)), param(std::move(parameter)) {}

    ErrorCode code = ErrorCode::Internal;
    std::string message;
    std::string param;          // OpenAI `param`: the request field at fault, if any
    int upstream_status = 0;    // HTTP status the upstream returned, 0 if none
    std::string upstream_type;  // upstream's error `type`, if it gave one
    std::string upstream_code;  // upstream's error `code`, if it gave one
    std::string retry_after;    // upstream Retry-After value to pass on
};

// The one table: HTTP status for an error (upstream errors keep the upstream's status).
int http_status(const Error& e);
// OpenAI error `type` for an error.
std::string_view error_type(const Error& e);
// OpenAI error `code` (machine-readable), e.g. "model_not_found"; empty means JSON null.
std::string_view error_code_name(const Error& e);
// Reason phrase for a status code ("Not Found").
std::string_view reason_phrase(int status);

// Renders `{"error":{"message":...,"type":...,"param":...,"code":...}}`.
std::string render_openai_error(const Error& e);

// Appends `s` JSON-escaped (without quotes) to `out`.
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace sb
