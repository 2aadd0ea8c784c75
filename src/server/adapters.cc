#include "server/adapters.h"

#include <chrono>

#include "providers/anthropic/anthropic.h"
#include "providers/bedrock/bedrock.h"
#include "providers/gemini/gemini.h"

namespace sb::server {

std::unique_ptr<providers::Adapter> make_adapter(const config::Provider& provider) {
    switch (provider.type) {
        case config::ProviderType::OpenAI:
        case config::ProviderType::OpenAICompatible:
        case config::ProviderType::Azure:
            return nullptr;
        case config::ProviderType::Anthropic:
            return std::make_unique<providers::anthropic::AnthropicAdapter>();
        case config::ProviderType::Gemini:
            return std::make_unique<providers::gemini::GeminiAdapter>();
        case config::ProviderType::Bedrock: {
            providers::bedrock::BedrockCredentials creds{provider.access_key_id,
                                                         provider.secret_access_key,
                                                         provider.session_token, provider.region};
            // SigV4 signs with the wall clock (AWS rejects signatures more than 5 minutes off).
            return std::make_unique<providers::bedrock::BedrockAdapter>(std::move(creds), [] {
                return static_cast<std::int64_t>(
                    std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count());
            });
        }
    }
    return nullptr;
}

}  // namespace sb::server
