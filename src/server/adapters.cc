#include "server/adapters.h"

namespace sb::server {

std::unique_ptr<providers::Adapter> make_adapter(const config::Provider& provider) {
    switch (provider.type) {
        case config::ProviderType::OpenAI:
        case config::ProviderType::OpenAICompatible:
        case config::ProviderType::Azure:
            return nullptr;
    }
    return nullptr;
}

}  // namespace sb::server
