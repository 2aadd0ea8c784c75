#pragma once

#include <chrono>
#include <memory>

#include "config/config.h"
#include "core/result.h"
#include "providers/provider.h"

namespace sb::server {

// The adapter registry: a translating adapter for a provider whose wire format is not OpenAI's,
// or nullptr for OpenAI, OpenAI-compatible and Azure providers (forwarded byte for byte).
// Vertex providers get the process-wide token source of start_credentials (made on the spot
// when it was not called, e.g. in tests).
std::unique_ptr<providers::Adapter> make_adapter(const config::Provider& provider);

// Starts the credential refreshers the config's providers need (a Google OAuth token source
// per Vertex provider with a credentials_file) and waits up to `first_token_timeout` for each
// first token exchange to finish, so the first requests need not fail with 503. A key file that
// cannot be read or parsed is an error naming `providers.<name>.credentials_file`. Refreshers
// are process-wide and live until exit; call from the controlling thread before the workers
// serve.
Status start_credentials(const config::Config& config,
                         std::chrono::milliseconds first_token_timeout);

}  // namespace sb::server
