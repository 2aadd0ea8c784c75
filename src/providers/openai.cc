#include "providers/openai.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cctype>

namespace sb::providers::openai {

namespace {

// Percent-encodes everything but RFC 3986 unreserved characters (a URL path segment).
std::string encode_segment(std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += ch;
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
        }
    }
    return out;
}

}  // namespace

http::UpstreamRequest build_request(const config::Provider& provider, api::Endpoint endpoint,
                                    std::string_view upstream_model) {
    http::UpstreamRequest req;
    req.url.reserve(provider.base_url.size() + 20);
    req.url = provider.base_url;
    if (provider.type == config::ProviderType::Azure) {
        req.url += "/deployments/";
        req.url += encode_segment(upstream_model);
        req.url += api::upstream_path(endpoint);
        req.url += "?api-version=";
        req.url += provider.api_version;
    } else {
        req.url += api::upstream_path(endpoint);
    }
    req.headers.reserve(2 + provider.headers.size());
    req.headers.emplace_back("Content-Type: application/json");
    if (!provider.api_key.empty()) {
        req.headers.push_back(
            fmt::format("{}: {}{}", provider.auth_header, provider.auth_prefix, provider.api_key));
    }
    for (const auto& [name, value] : provider.headers) {
        req.headers.push_back(fmt::format("{}: {}", name, value));
    }
    req.timeouts.connect = provider.timeouts.connect;
    req.timeouts.first_byte = provider.timeouts.first_byte;
    req.timeouts.idle = provider.timeouts.idle;
    req.timeouts.total = provider.timeouts.total;
    return req;
}

std::string scrub(std::string text, std::string_view secret) {
    if (secret.empty()) {
        return text;
    }
    std::size_t pos = 0;
    while ((pos = text.find(secret, pos)) != std::string::npos) {
        text.replace(pos, secret.size(), "[redacted]");
        pos += 10;
    }
    return text;
}

Error map_error(const config::Provider& provider, int status, std::string_view body,
                std::string_view retry_after) {
    std::string message;
    std::string type;
    std::string code;
    std::string param;
    std::string filtered;  // Azure content filter: the categories that tripped, comma-separated
    bool content_filter = false;
    simdjson::padded_string padded(body);
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(padded).get(root) == simdjson::SUCCESS) {
        simdjson::dom::element err;
        if (root["error"].get(err) == simdjson::SUCCESS) {
            std::string_view sv;
            if (err.is_object()) {
                if (err["message"].get(sv) == simdjson::SUCCESS) {
                    message = sv;
                }
                if (err["type"].get(sv) == simdjson::SUCCESS) {
                    type = sv;
                }
                if (err["code"].get(sv) == simdjson::SUCCESS) {
                    code = sv;
                } else if (err["code"].is_int64()) {
                    code = std::to_string(err["code"].get_int64().value_unsafe());
                }
                if (err["param"].get(sv) == simdjson::SUCCESS) {
                    param = sv;
                }
                // Azure OpenAI: 400 with code "content_filter" and innererror.code
                // "ResponsibleAIPolicyViolation" with the per-category results.
                simdjson::dom::element inner;
                if (err["innererror"].get(inner) == simdjson::SUCCESS && inner.is_object()) {
                    if (inner["code"].get(sv) == simdjson::SUCCESS &&
                        sv == "ResponsibleAIPolicyViolation") {
                        content_filter = true;
                    }
                    simdjson::dom::object results;
                    if (inner["content_filter_result"].get(results) == simdjson::SUCCESS) {
                        for (const auto category : results) {
                            bool hit = false;
                            if (category.value["filtered"].get(hit) == simdjson::SUCCESS && hit) {
                                if (!filtered.empty()) {
                                    filtered += ", ";
                                }
                                filtered += category.key;
                            }
                        }
                    }
                }
                content_filter = content_filter || code == "content_filter";
            } else if (err.get(sv) == simdjson::SUCCESS) {
                message = sv;  // {"error": "text"} (some OpenAI-compatible servers)
            }
        } else if (std::string_view sv; root["message"].get(sv) == simdjson::SUCCESS) {
            message = sv;
        } else if (root["detail"].is_string()) {
            message = std::string(root["detail"].get_string().value_unsafe());  // FastAPI style
        }
    }
    if (message.empty()) {
        message =
            fmt::format("The upstream provider returned HTTP {} with no error message.", status);
    }
    message = scrub(std::move(message), provider.api_key);
    for (const auto& [name, value] : provider.headers) {
        message = scrub(std::move(message), value);  // extra headers may carry secrets too
    }

    Error e;
    if (status == 401 || status == 403) {
        e.code = ErrorCode::UpstreamAuth;
        // The upstream's own text is not passed on: it may quote part of our key
        // ("Incorrect API key provided: sk-...abcd").
        e.message = fmt::format(
            "The upstream provider '{}' rejected the gateway's credentials (HTTP {}). This is "
            "a gateway configuration problem, not a problem with your request.",
            provider.name, status);
        e.upstream_status = status;
        return e;
    }
    if (content_filter && status >= 400 && status < 500) {
        // The provider's content policy refused the prompt: our content-filter error (400,
        // code content_filter), with the categories that tripped in the message.
        e.code = ErrorCode::ContentFiltered;
        e.message = std::move(message);
        if (!filtered.empty()) {
            e.message += fmt::format(" (filtered categories: {})", filtered);
        }
        e.param = param.empty() ? std::string("prompt") : std::move(param);
        e.upstream_status = status;
        e.upstream_type = std::move(type);
        e.upstream_code = std::move(code);
        return e;
    }
    e.code = ErrorCode::UpstreamError;
    e.message = std::move(message);
    e.param = std::move(param);
    e.upstream_status = (status >= 400 && status <= 599) ? status : 502;
    e.upstream_type = type.empty()
                          ? std::string(status >= 500 ? "server_error" : "invalid_request_error")
                          : std::move(type);
    e.upstream_code = std::move(code);
    e.retry_after = std::string(retry_after);
    return e;
}

}  // namespace sb::providers::openai
