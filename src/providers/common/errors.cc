#include "providers/common/errors.h"

#include <fmt/format.h>

#include "providers/openai.h"

namespace sb::providers::common {

Error bad_response(std::string_view provider, std::string_view why) {
    return Error(ErrorCode::UpstreamBadResponse,
                 "The upstream provider " + std::string(provider) +
                     " sent an invalid response: " + std::string(why));
}

Error bad_stream(std::string_view provider, std::string_view why) {
    return Error(ErrorCode::UpstreamBadResponse,
                 "The upstream provider " + std::string(provider) +
                     " sent an invalid stream: " + std::string(why));
}

std::string upstream_message(int status, std::string_view message,
                             std::initializer_list<std::string_view> secrets) {
    if (message.empty()) {
        return fmt::format("The upstream provider returned HTTP {} with no error message.", status);
    }
    std::string text(message);
    for (const std::string_view secret : secrets) {
        text = openai::scrub(std::move(text), secret);
    }
    return text;
}

std::string credentials_rejected(std::string_view provider_name, int status,
                                 std::string_view text) {
    return fmt::format(
        "The upstream provider '{}' rejected the gateway's credentials (HTTP {}): {}",
        provider_name, status, text);
}

}  // namespace sb::providers::common
