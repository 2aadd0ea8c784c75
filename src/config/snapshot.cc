#include <cstdlib>
#include <limits>

#include "config/config.h"

namespace sb::config {
namespace {

constexpr std::size_t kNoProvider = std::numeric_limits<std::size_t>::max();

}  // namespace

const Provider* Config::find_provider(std::string_view name) const {
    for (const Provider& p : providers) {
        if (p.name == name) {
            return &p;
        }
    }
    return nullptr;
}

Snapshot::Snapshot(Config config) : config_(std::move(config)) {
    model_provider_.assign(config_.models.size(), kNoProvider);
    for (std::size_t i = 0; i < config_.models.size(); ++i) {
        const Model& model = config_.models[i];
        const Provider* provider = config_.find_provider(model.provider);
        // parse() only keeps models of enabled providers. A Config built by hand may hold others;
        // they are left out of the index, so they are not served rather than served badly.
        if (provider == nullptr || !provider->enabled) {
            continue;
        }
        model_provider_[i] = static_cast<std::size_t>(provider - config_.providers.data());
        model_index_.emplace(model.name, i);  // the first of two same-named models wins
    }
}

const Model* Snapshot::find_model(std::string_view name) const {
    const auto it = model_index_.find(std::string(name));
    return it == model_index_.end() ? nullptr : &config_.models[it->second];
}

const Provider& Snapshot::provider_of(const Model& m) const {
    // Precondition: `m` came from find_model() on this snapshot.
    const Model* const first = config_.models.data();
    const Model* const last = first + config_.models.size();
    if (&m >= first && &m < last) {
        const std::size_t index = model_provider_[static_cast<std::size_t>(&m - first)];
        if (index != kNoProvider) {
            return config_.providers[index];
        }
    }
    if (const Provider* p = config_.find_provider(m.provider); p != nullptr) {
        return *p;
    }
    // A model with no provider in this snapshot is a caller bug; there is nothing to return.
    std::abort();
}

}  // namespace sb::config
