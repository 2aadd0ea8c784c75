#include "providers/bedrock/bedrock.h"

#include <fmt/format.h>
#include <simdjson.h>

#include "aws/sigv4.h"
#include "providers/bedrock/internal.h"
#include "providers/common/completion.h"
#include "providers/common/errors.h"
#include "providers/common/strings.h"
#include "providers/common/upstream.h"
#include "providers/openai.h"

namespace sb::providers::bedrock {
namespace {

using common::iequals;
namespace sigv4 = aws::sigv4;

bool has_control_char(std::string_view s) {
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            return true;
        }
    }
    return false;
}

// Headers the adapter computes (and signs) itself; configuring one would send it twice.
constexpr std::string_view kOwnHeaders[] = {"Authorization", "Content-Type", "X-Amz-Date",
                                            "X-Amz-Security-Token", "X-Amz-Content-Sha256"};

// The HTTP status of each Bedrock Runtime error (botocore service model, `httpStatusCode`;
// fixture bedrock/service_model_excerpt.json).
struct ExceptionStatus {
    std::string_view name;
    int status;
};
constexpr ExceptionStatus kExceptionStatus[] = {
    {"AccessDeniedException", 403},         {"ConflictException", 400},
    {"InternalServerException", 500},       {"ModelErrorException", 424},
    {"ModelNotReadyException", 429},        {"ModelStreamErrorException", 424},
    {"ModelTimeoutException", 408},         {"ResourceNotFoundException", 404},
    {"ServiceQuotaExceededException", 400}, {"ServiceUnavailableException", 503},
    {"ThrottlingException", 429},           {"ValidationException", 400},
};

// scheme://authority and the path prefix of a base URL ("http://127.0.0.1:8080/prefix").
struct Endpoint {
    std::string origin;  // "http://127.0.0.1:8080"
    std::string host;    // the Host header curl sends: authority without a default port
    std::string path_prefix;
};

Endpoint parse_base_url(std::string_view base_url) {
    Endpoint endpoint;
    const std::size_t scheme_end = base_url.find("://");
    const std::string_view scheme =
        scheme_end == std::string_view::npos ? std::string_view{} : base_url.substr(0, scheme_end);
    const std::size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
    std::size_t authority_end = base_url.find('/', authority_start);
    if (authority_end == std::string_view::npos) {
        authority_end = base_url.size();
    }
    endpoint.origin = std::string(base_url.substr(0, authority_end));
    std::string_view authority = base_url.substr(authority_start, authority_end - authority_start);
    // curl leaves the scheme's default port out of Host, so the signature must too.
    if (iequals(scheme, "https") && authority.ends_with(":443")) {
        authority.remove_suffix(4);
    } else if (iequals(scheme, "http") && authority.ends_with(":80")) {
        authority.remove_suffix(3);
    }
    endpoint.host = std::string(authority);
    std::string_view prefix = base_url.substr(authority_end);
    while (!prefix.empty() && prefix.back() == '/') {
        prefix.remove_suffix(1);
    }
    endpoint.path_prefix = std::string(prefix);
    return endpoint;
}

// The error text with every credential of the provider scrubbed.
std::string scrubbed_message(int status, std::string_view message,
                             const BedrockCredentials& credentials,
                             const config::Provider& provider) {
    return common::upstream_message(status, message,
                                    {credentials.secret_access_key, credentials.session_token,
                                     credentials.access_key_id, provider.api_key});
}

}  // namespace

namespace detail {

std::string_view finish_reason(std::string_view stop_reason) {
    if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
        return "length";
    }
    if (stop_reason == "tool_use") {
        return "tool_calls";
    }
    if (stop_reason == "guardrail_intervened" || stop_reason == "content_filtered") {
        return "content_filter";
    }
    // end_turn, stop_sequence; malformed_model_output and malformed_tool_use (the model's
    // output is passed on as it came: OpenAI has no reason for it) and values added later.
    return "stop";
}

void Usage::update(simdjson::dom::element usage) {
    common::update_int(usage, "inputTokens", input);
    common::update_int(usage, "outputTokens", output);
    common::update_int(usage, "cacheReadInputTokens", cache_read);
    common::update_int(usage, "cacheWriteInputTokens", cache_write);
}

void append_usage(std::string& out, const Usage& usage) {
    const std::int64_t prompt = usage.input + usage.cache_read + usage.cache_write;
    common::append_usage(out, {.prompt = prompt,
                               .completion = usage.output,
                               .total = prompt + usage.output,
                               .cached = usage.cache_read,
                               .reasoning = 0});
}

Error stream_error(std::string_view type, std::string_view message) {
    Error e;
    e.code = ErrorCode::UpstreamError;
    e.upstream_type = exception_name(type);
    const int status = status_for_exception(e.upstream_type);
    e.upstream_status = status != 0 ? status : 502;
    e.message = message.empty()
                    ? fmt::format("The upstream provider bedrock reported {} in the stream.",
                                  e.upstream_type.empty() ? "an error" : e.upstream_type)
                    : std::string(message);
    return e;
}

std::string model_path(std::string_view model_id, bool stream) {
    std::string path = "/model/";
    path += sigv4::uri_encode(model_id, /*keep_slash=*/false);
    path += stream ? "/converse-stream" : "/converse";
    return path;
}

std::string invoke_path(std::string_view model_id) {
    std::string path = "/model/";
    path += sigv4::uri_encode(model_id, /*keep_slash=*/false);
    path += "/invoke";
    return path;
}

std::string exception_name(std::string_view type) {
    const std::size_t colon = type.find(':');
    if (colon != std::string_view::npos) {
        type = type.substr(0, colon);
    }
    const std::size_t hash = type.rfind('#');
    if (hash != std::string_view::npos) {
        type = type.substr(hash + 1);
    }
    std::string name(type);
    if (!name.empty() && name[0] >= 'a' && name[0] <= 'z') {
        name[0] = static_cast<char>(name[0] - 'a' + 'A');
    }
    return name;
}

int status_for_exception(std::string_view type) {
    const std::string name = exception_name(type);
    for (const ExceptionStatus& entry : kExceptionStatus) {
        if (entry.name == name) {
            return entry.status;
        }
    }
    return 0;
}

}  // namespace detail

Status validate(const BedrockCredentials& credentials, const config::Provider& provider) {
    const auto field = [&](std::string_view name) {
        return fmt::format("providers.{}.{}", provider.name, name);
    };
    if (credentials.region.empty()) {
        return fail(ErrorCode::InvalidRequest,
                    fmt::format("{}: an AWS region is required (e.g. us-east-1).", field("region")),
                    field("region"));
    }
    for (const char c : credentials.region) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return fail(ErrorCode::InvalidRequest,
                        fmt::format("{}: '{}' is not an AWS region name (letters a-z, digits and "
                                    "'-' only).",
                                    field("region"), credentials.region),
                        field("region"));
        }
    }
    const bool has_id = !credentials.access_key_id.empty();
    const bool has_secret = !credentials.secret_access_key.empty();
    if (has_id != has_secret) {
        const std::string_view missing = has_id ? "secret_access_key" : "access_key_id";
        return fail(ErrorCode::InvalidRequest,
                    fmt::format("{}: required together with {}.", field(missing),
                                has_id ? "access_key_id" : "secret_access_key"),
                    field(missing));
    }
    if (!has_id && !credentials.session_token.empty()) {
        return fail(ErrorCode::InvalidRequest,
                    fmt::format("{}: a session token needs access_key_id and secret_access_key.",
                                field("session_token")),
                    field("session_token"));
    }
    if (!has_id && provider.api_key.empty()) {
        return fail(ErrorCode::InvalidRequest,
                    fmt::format("{}: no credentials: set access_key_id and secret_access_key "
                                "(SigV4), or api_key (a Bedrock API key).",
                                field("access_key_id")),
                    field("access_key_id"));
    }
    const std::pair<std::string_view, const std::string*> values[] = {
        {"access_key_id", &credentials.access_key_id},
        {"secret_access_key", &credentials.secret_access_key},
        {"session_token", &credentials.session_token},
    };
    for (const auto& [name, value] : values) {
        if (has_control_char(*value)) {
            return fail(ErrorCode::InvalidRequest,
                        fmt::format("{}: contains a control character.", field(name)), field(name));
        }
    }
    for (const auto& [name, value] : provider.headers) {
        for (const std::string_view own : kOwnHeaders) {
            if (iequals(name, own)) {
                const std::string header_field = field("headers." + name);
                return fail(ErrorCode::InvalidRequest,
                            fmt::format("{}: the Bedrock adapter sets (and signs) this header "
                                        "itself.",
                                        header_field),
                            header_field);
            }
        }
    }
    return {};
}

BedrockCredentials credentials_from_env(const config::EnvLookup& env) {
    BedrockCredentials credentials;
    const auto get = [&](std::string_view name) { return env(name).value_or(std::string{}); };
    credentials.access_key_id = get("AWS_ACCESS_KEY_ID");
    credentials.secret_access_key = get("AWS_SECRET_ACCESS_KEY");
    credentials.session_token = get("AWS_SESSION_TOKEN");
    credentials.region = get("AWS_REGION");
    if (credentials.region.empty()) {
        credentials.region = get("AWS_DEFAULT_REGION");
    }
    return credentials;
}

BedrockAdapter::BedrockAdapter(BedrockCredentials credentials, UnixClock clock)
    : credentials_(std::move(credentials)), clock_(std::move(clock)) {}

Result<http::UpstreamRequest> BedrockAdapter::build_chat(const config::Provider& provider,
                                                         std::string_view openai_body,
                                                         const ChatContext& ctx) const {
    SB_TRY(body, detail::translate_request(openai_body, ctx));
    if (ctx.upstream_model.empty()) {
        return fail(ErrorCode::Internal, "The Bedrock route has no upstream model id.");
    }
    return signed_request(provider, detail::model_path(ctx.upstream_model, ctx.stream),
                          std::move(body));
}

Result<http::UpstreamRequest> BedrockAdapter::signed_request(const config::Provider& provider,
                                                             std::string_view model_path,
                                                             std::string body) const {
    Endpoint endpoint;
    if (provider.base_url.empty()) {
        if (credentials_.region.empty()) {
            return fail(ErrorCode::Internal,
                        fmt::format("The provider '{}' has no AWS region.", provider.name));
        }
        endpoint.host = std::string(kHostPrefix) + credentials_.region + std::string(kHostSuffix);
        endpoint.origin = "https://" + endpoint.host;
    } else {
        endpoint = parse_base_url(provider.base_url);
    }
    std::string path = endpoint.path_prefix;
    path += model_path;

    http::UpstreamRequest req;
    req.url.reserve(endpoint.origin.size() + path.size());
    req.url = endpoint.origin;
    req.url += path;
    req.headers.reserve(6 + provider.headers.size());
    req.headers.emplace_back("Content-Type: application/json");
    if (!credentials_.access_key_id.empty()) {
        if (!clock_) {
            return fail(ErrorCode::Internal, "The Bedrock adapter has no clock to sign with.");
        }
        sigv4::Request to_sign;
        to_sign.method = "POST";
        to_sign.host = endpoint.host;
        to_sign.path = path;
        to_sign.headers.emplace_back("content-type", "application/json");
        to_sign.payload = body;
        const sigv4::Signed signature = sigv4::sign(
            to_sign,
            {credentials_.access_key_id, credentials_.secret_access_key,
             credentials_.session_token},
            {credentials_.region, kSigningName, /*content_sha256_header=*/true}, clock_());
        for (const std::string& header : signature.headers) {
            req.headers.push_back(header);
        }
    } else if (!provider.api_key.empty()) {
        // A Bedrock API key (service model auth `smithy.api#httpBearerAuth`).
        req.headers.push_back("Authorization: Bearer " + provider.api_key);
    } else {
        return fail(ErrorCode::Internal,
                    fmt::format("The provider '{}' has no AWS credentials.", provider.name));
    }
    // Configured extras are sent as they are, unsigned (SigV4 allows unsigned headers).
    common::append_configured_headers(req.headers, provider);
    req.body = std::move(body);
    req.timeouts = common::upstream_timeouts(provider);
    return req;
}

Error BedrockAdapter::map_error(const config::Provider& provider, int status, std::string_view body,
                                std::string_view retry_after) const {
    return map_error(provider, status, body, retry_after, {});
}

Error BedrockAdapter::map_error(const config::Provider& provider, int status, std::string_view body,
                                std::string_view retry_after,
                                std::string_view error_type_header) const {
    std::string_view message;
    std::string_view type;
    simdjson::padded_string padded(body);
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(padded).get(root) == simdjson::SUCCESS && root.is_object()) {
        // rest-json: {"message": ...}; some services and proxies capitalise it.
        message = detail::string_member(root, "message");
        if (message.empty()) {
            message = detail::string_member(root, "Message");
        }
        for (const std::string_view key : {"__type", "XAmznErrorType", "code", "Code"}) {
            if (type.empty()) {
                type = detail::string_member(root, key);
            }
        }
    }
    if (type.empty()) {
        // Bedrock's rest-json errors carry the type only in `x-amzn-ErrorType`
        // ("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/").
        type = error_type_header;
    }
    const std::string name = detail::exception_name(type);
    std::string text = scrubbed_message(status, message, credentials_, provider);

    Error e;
    if (status == 401 || status == 403) {
        // Bad signature, unknown key, expired token, or no access to the model: in every case
        // the gateway's own credentials, which the caller cannot fix.
        e.code = ErrorCode::UpstreamAuth;
        e.message = common::credentials_rejected(provider.name, status, text);
        e.upstream_status = status;
        e.upstream_type = name;
        return e;
    }
    e.code = ErrorCode::UpstreamError;
    e.message = std::move(text);
    e.upstream_status = (status >= 400 && status <= 599) ? status : 502;
    if (!name.empty()) {
        e.upstream_type = name;
    } else if (status == 429) {
        e.upstream_type = "rate_limit_error";
    } else {
        e.upstream_type = status >= 500 ? "server_error" : "invalid_request_error";
    }
    e.retry_after = std::string(retry_after);
    return e;
}

}  // namespace sb::providers::bedrock
