#pragma once

// Building the upstream HTTP request, shared by the translating adapters: base URL, configured
// extra headers and timeouts from the provider's config. Pure functions; any thread.

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "http/upstream_client.h"

namespace sb::providers::common {

// The provider's base_url (`default_url` when unset) without trailing slashes.
std::string_view base_url(const config::Provider& provider, std::string_view default_url);

// Appends the provider's configured extra headers as `<name>: <value>`, as configured.
void append_configured_headers(std::vector<std::string>& headers, const config::Provider& provider);

// The provider's configured timeouts.
http::UpstreamTimeouts upstream_timeouts(const config::Provider& provider);

}  // namespace sb::providers::common
