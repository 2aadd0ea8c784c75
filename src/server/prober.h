#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "providers/provider.h"
#include "routing/router.h"
#include "telemetry/metrics.h"

namespace sb::server {

// One probe as sent upstream: GET without a body, or POST with one.
struct ProbeRequest {
    bool post = false;
    std::string url;
    std::vector<std::string> headers;  // "Name: value"; carries the provider's credentials
    std::string body;
};

// Builds a target's probe (docs/routing.md, "Active probes"). OpenAI and OpenAI-compatible
// providers: `GET {base_url}/models` with the provider's auth and extra headers. Azure and the
// translated providers (`adapter` non-null): a minimal chat completion, `{"model":...,
// "messages":[{"role":"user","content":"ping"}],"max_tokens":N}`, built as the provider's own
// request (the adapter adds the upstream URL, auth, signature or OAuth token). A target without
// an upstream model (a pattern's) cannot be probed with a chat completion: an error.
Result<ProbeRequest> build_probe(const config::Provider& provider, const config::Target& target,
                                 const config::Probe& probe, const providers::Adapter* adapter);

// Active health probes: one background thread sends every probed target's probe each
// `probe.interval` (with +-10% jitter; the first within one interval of start), at most one in
// flight per target, all concurrently through one libcurl multi handle, and reports each outcome
// to Router::probe_result. Nothing runs on the request path. Counts
// `switchboard_probes_total{provider,target,result}` through a registry collector. Owned by the
// Gateway: created before the workers start, destroyed (thread joined) before the Router and
// the Registry. start() and the destructor run on the controlling thread.
class Prober {
  public:
    // Whether any target of the config (of an enabled provider) has probing on.
    static bool wanted(const config::Snapshot& snapshot);

    // Starts the probe thread, or returns nullptr when no target has probing on. `router` and
    // `registry` must outlive the Prober.
    static std::unique_ptr<Prober> start(std::shared_ptr<const config::Snapshot> snapshot,
                                         routing::Router& router, telemetry::Registry& registry);

    // Use start(); this only prepares the probes (no thread, no I/O).
    Prober(std::shared_ptr<const config::Snapshot> snapshot, routing::Router& router,
           telemetry::Registry& registry);
    ~Prober();
    Prober(const Prober&) = delete;
    Prober& operator=(const Prober&) = delete;

    // Completed probes of a target with the given result ("ok" or a failure class name, as in
    // the metric). For tests.
    std::uint64_t probes(const config::Target& target, std::string_view result) const;

    struct Slot;  // one probed target (prober.cc)

  private:
    void run();
    void render(std::string& out) const;

    std::shared_ptr<const config::Snapshot> snapshot_;
    routing::Router& router_;
    telemetry::Registry& registry_;
    std::uint64_t collector_id_ = 0;
    std::vector<std::unique_ptr<Slot>> slots_;
    void* multi_ = nullptr;  // CURLM*
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace sb::server
