#pragma once

// Errors for malformed upstream data, shared by the translating adapters. Pure functions; any
// thread.

#include <initializer_list>
#include <string>
#include <string_view>

#include "core/error.h"

namespace sb::providers::common {

// "The upstream provider <provider> sent an invalid response: <why>" (UpstreamBadResponse).
Error bad_response(std::string_view provider, std::string_view why);
// "The upstream provider <provider> sent an invalid stream: <why>" (UpstreamBadResponse).
Error bad_stream(std::string_view provider, std::string_view why);

// The text of an upstream error message for our Error: `message` with every non-empty secret in
// `secrets` replaced (in order), or "The upstream provider returned HTTP <status> with no error
// message." when it is empty.
std::string upstream_message(int status, std::string_view message,
                             std::initializer_list<std::string_view> secrets);

// "The upstream provider '<provider_name>' rejected the gateway's credentials (HTTP <status>):
// <text>": the message of an UpstreamAuth error.
std::string credentials_rejected(std::string_view provider_name, int status, std::string_view text);

}  // namespace sb::providers::common
