// Native passthrough for Anthropic targets: the client's bytes, model rewritten in place.

#include <fmt/format.h>

#include "inbound/anthropic/internal.h"
#include "inbound/anthropic/messages.h"
#include "providers/anthropic/anthropic.h"
#include "providers/common/strings.h"
#include "providers/common/upstream.h"

namespace sb::inbound::anthropic {
namespace {

bool configured(const config::Provider& provider, std::string_view name) {
    for (const auto& [header, value] : provider.headers) {
        if (providers::common::iequals(header, name)) {
            return true;
        }
    }
    return false;
}

Status check_header(std::string_view name, std::string_view value) {
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) {
            return detail::invalid(std::string(name), "header value has control characters");
        }
    }
    return {};
}

}  // namespace

Result<http::UpstreamRequest> native_request(const config::Provider& provider, Endpoint endpoint,
                                             std::string_view body, const MessagesRequest& request,
                                             std::string_view upstream_model,
                                             const ClientHeaders& client) {
    if (auto status = check_header("anthropic-version", client.anthropic_version); !status) {
        return fail(std::move(status).error());
    }
    if (auto status = check_header("anthropic-beta", client.anthropic_beta); !status) {
        return fail(std::move(status).error());
    }
    http::UpstreamRequest req;
    const std::string_view base =
        providers::common::base_url(provider, providers::anthropic::kDefaultBaseUrl);
    req.url = fmt::format(
        "{}{}", base, endpoint == Endpoint::CountTokens ? "/messages/count_tokens" : "/messages");
    // Content type, auth (x-api-key), anthropic-version (the configured one, else the default)
    // and the configured headers, as the outbound adapter sends them.
    req.headers = providers::anthropic::detail::request_headers(provider);
    if (!client.anthropic_version.empty() && !configured(provider, "anthropic-version")) {
        for (std::string& header : req.headers) {
            if (header.starts_with("anthropic-version: ")) {
                header = fmt::format("anthropic-version: {}", client.anthropic_version);
            }
        }
    }
    if (!client.anthropic_beta.empty() && !configured(provider, "anthropic-beta")) {
        req.headers.push_back(fmt::format("anthropic-beta: {}", client.anthropic_beta));
    }
    req.body = request.inbound.model == upstream_model
                   ? std::string(body)
                   : api::rewrite_model(body, request.inbound, upstream_model);
    req.timeouts = providers::common::upstream_timeouts(provider);
    return req;
}

}  // namespace sb::inbound::anthropic
