#pragma once

#include <string>
#include <string_view>

#include "api/openai_request.h"
#include "config/config.h"
#include "core/error.h"
#include "http/upstream_client.h"

// The OpenAI and OpenAI-compatible adapter: the request body is already in the upstream's
// format (only `model` was rewritten by the caller), so this builds URL and headers and maps
// upstream errors. Pure functions: no I/O, no state.
namespace sb::providers::openai {

// URL, headers (auth from config, never from the client) and timeouts; the body is left empty.
// Azure OpenAI addresses the deployment (`upstream_model`) in the URL:
// {base_url}/deployments/{deployment}/chat/completions?api-version=...
http::UpstreamRequest build_request(const config::Provider& provider, api::Endpoint endpoint,
                                    std::string_view upstream_model);

// Maps an upstream error response to our error: the upstream's status, message, type and code
// are kept (with the provider key scrubbed); the upstream rejecting our own key (401/403) is a
// 502, since the caller cannot fix it.
Error map_error(const config::Provider& provider, int status, std::string_view body,
                std::string_view retry_after);

// Replaces every occurrence of `secret` in `text` (no-op for an empty secret).
std::string scrub(std::string text, std::string_view secret);

}  // namespace sb::providers::openai
