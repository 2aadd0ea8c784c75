#include <algorithm>

#include "config/config.h"
#include "core/glob.h"

namespace sb::config {

const Provider* Config::find_provider(std::string_view name) const {
    for (const Provider& p : providers) {
        if (p.name == name) {
            return &p;
        }
    }
    return nullptr;
}

Snapshot::Snapshot(Config config) : config_(std::move(config)) {
    std::size_t next = 0;
    for (Model& model : config_.models) {
        for (Target& t : model.targets) {
            t.index = next++;
        }
    }
    target_count_ = next;
    // parse() keeps only targets of enabled providers and resolves aliases; a Config built by
    // hand may hold others: a target whose provider is missing or disabled is removed here, so
    // it is not served rather than served badly.
    for (Model& model : config_.models) {
        std::erase_if(model.targets, [&](Target& t) {
            const Provider* p = config_.find_provider(t.provider);
            if (p == nullptr || !p->enabled) {
                return true;
            }
            t.provider_index = static_cast<std::size_t>(p - config_.providers.data());
            return false;
        });
    }
    for (std::size_t i = 0; i < config_.models.size(); ++i) {
        const Model& model = config_.models[i];
        if (model.glob) {
            globs_.push_back(i);
        } else {
            model_index_.emplace(model.name, i);  // the first of two same-named models wins
        }
    }
    // Aliases point at the model they name (chains followed; parse() rejects cycles).
    for (auto& [name, index] : model_index_) {
        for (int hops = 0; hops < 16 && !config_.models[index].alias_of.empty(); ++hops) {
            const auto it = model_index_.find(config_.models[index].alias_of);
            if (it == model_index_.end()) {
                break;
            }
            index = it->second;
        }
    }
}

const Model* Snapshot::find_model(std::string_view name) const {
    const Model* found = nullptr;
    if (const auto it = model_index_.find(std::string(name)); it != model_index_.end()) {
        found = &config_.models[it->second];
    } else {
        for (const std::size_t i : globs_) {
            if (glob_match(config_.models[i].name, name)) {
                found = &config_.models[i];
                break;
            }
        }
    }
    if (found == nullptr || found->targets.empty() || !found->alias_of.empty()) {
        return nullptr;
    }
    return found;
}

}  // namespace sb::config
