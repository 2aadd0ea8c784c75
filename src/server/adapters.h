#pragma once

#include <memory>

#include "config/config.h"
#include "providers/provider.h"

namespace sb::server {

// The adapter registry: a translating adapter for a provider whose wire format is not OpenAI's,
// or nullptr for OpenAI, OpenAI-compatible and Azure providers (forwarded byte for byte).
std::unique_ptr<providers::Adapter> make_adapter(const config::Provider& provider);

}  // namespace sb::server
