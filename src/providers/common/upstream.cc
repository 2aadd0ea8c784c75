#include "providers/common/upstream.h"

#include <fmt/format.h>

namespace sb::providers::common {

std::string_view base_url(const config::Provider& provider, std::string_view default_url) {
    std::string_view base = provider.base_url.empty() ? default_url : provider.base_url;
    while (!base.empty() && base.back() == '/') {
        base.remove_suffix(1);
    }
    return base;
}

void append_configured_headers(std::vector<std::string>& headers,
                               const config::Provider& provider) {
    for (const auto& [name, value] : provider.headers) {
        headers.push_back(fmt::format("{}: {}", name, value));
    }
}

http::UpstreamTimeouts upstream_timeouts(const config::Provider& provider) {
    http::UpstreamTimeouts timeouts;
    timeouts.connect = provider.timeouts.connect;
    timeouts.first_byte = provider.timeouts.first_byte;
    timeouts.idle = provider.timeouts.idle;
    timeouts.total = provider.timeouts.total;
    return timeouts;
}

}  // namespace sb::providers::common
