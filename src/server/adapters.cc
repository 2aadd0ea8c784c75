#include "server/adapters.h"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "google/token_source.h"
#include "providers/anthropic/anthropic.h"
#include "providers/bedrock/bedrock.h"
#include "providers/gemini/gemini.h"
#include "providers/vertex/vertex.h"

namespace sb::server {
namespace {

// One token source per service-account key and token endpoint, shared by every worker's
// adapter for the provider. Refreshers run on their own threads until the process exits.
struct TokenSources {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<google::ServiceAccountTokenSource>> by_key;
};

TokenSources& token_sources() {
    static TokenSources sources;
    return sources;
}

std::string source_key(const config::Provider& provider) {
    return provider.name + '\n' + provider.credentials_file;
}

Result<std::shared_ptr<google::ServiceAccountTokenSource>> token_source_for(
    const config::Provider& provider) {
    TokenSources& sources = token_sources();
    const std::lock_guard lock(sources.mutex);
    const std::string key = source_key(provider);
    if (auto it = sources.by_key.find(key); it != sources.by_key.end()) {
        return it->second;
    }
    auto loaded = google::load_service_account_key(provider.credentials_file);
    if (!loaded) {
        return fail(ErrorCode::Internal, fmt::format("providers.{}.credentials_file: {}",
                                                     provider.name, loaded.error().message));
    }
    google::ServiceAccountTokenSource::Options options;
    options.provider_name = provider.name;
    auto source = std::make_shared<google::ServiceAccountTokenSource>(std::move(*loaded), options);
    sources.by_key.emplace(key, source);
    return source;
}

// A token source whose key file failed to load: every request gets the load error (503).
class BrokenTokenSource final : public google::TokenSource {
  public:
    explicit BrokenTokenSource(std::string why) : why_(std::move(why)) {}
    Result<std::string> access_token() const override { return fail(ErrorCode::Unavailable, why_); }

  private:
    std::string why_;
};

}  // namespace

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
        case config::ProviderType::Vertex: {
            if (provider.credentials_file.empty()) {
                // api_key is a static OAuth access token.
                return std::make_unique<providers::vertex::VertexAdapter>(nullptr);
            }
            auto source = token_source_for(provider);
            if (!source) {
                return std::make_unique<providers::vertex::VertexAdapter>(
                    std::make_shared<BrokenTokenSource>(
                        fmt::format("The gateway cannot mint OAuth tokens for provider '{}': {}",
                                    provider.name, source.error().message)));
            }
            return std::make_unique<providers::vertex::VertexAdapter>(std::move(*source));
        }
    }
    return nullptr;
}

Status start_credentials(const config::Config& config,
                         std::chrono::milliseconds first_token_timeout) {
    std::vector<std::shared_ptr<google::ServiceAccountTokenSource>> started;
    for (const config::Provider& provider : config.providers) {
        if (provider.type != config::ProviderType::Vertex || !provider.enabled ||
            provider.credentials_file.empty()) {
            continue;
        }
        auto source = token_source_for(provider);
        if (!source) {
            return fail(source.error());
        }
        started.push_back(std::move(*source));
    }
    const auto deadline = std::chrono::steady_clock::now() + first_token_timeout;
    for (const auto& source : started) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        source->wait_for_attempts(1, std::max(left, std::chrono::milliseconds(0)));
    }
    return {};
}

}  // namespace sb::server
