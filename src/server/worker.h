#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "api/openai_request.h"
#include "config/config.h"
#include "core/result.h"
#include "http/upstream_client.h"
#include "providers/provider.h"
#include "routing/router.h"
#include "telemetry/metrics.h"

namespace sb::telemetry::otlp {
class Exporter;
}

namespace sb::governance {
class Governance;
}

namespace sb::telemetry::access {
class AccessLog;
}

namespace sb::server {

struct Conn;

// One worker: an io_context run by one thread, its acceptors, its upstream client and the
// connections it owns. Everything but begin_drain/stop (which post) runs on the worker thread.
class Worker {
  public:
    Worker(int index, std::shared_ptr<const config::Snapshot> snapshot, routing::Router& router,
           telemetry::Registry& registry);
    ~Worker();

    // Opens a SO_REUSEPORT listener; `port` 0 picks one. Returns the bound port. An admin
    // listener serves only the admin routes (target health, metrics, health checks).
    Result<std::uint16_t> listen(const std::string& host, std::uint16_t port,
                                 boost::asio::ssl::context* tls, bool admin = false);
    void run();          // on the worker thread; returns when drained or stopped
    void begin_drain();  // thread-safe
    void stop();         // thread-safe

    // --- used by sessions, on the worker thread ------------------------------------------
    boost::asio::io_context& io() { return io_; }
    http::UpstreamClient& upstream() { return upstream_; }
    const std::shared_ptr<const config::Snapshot>& snapshot() const { return snapshot_; }
    bool draining() const { return draining_; }
    std::string next_request_id();
    telemetry::WorkerMetrics& metrics() { return metrics_; }
    const telemetry::Registry& registry() const { return registry_; }
    // The OTLP exporter request traces go to, or nullptr when export is off. Set by the
    // Gateway before the worker runs; the exporter outlives the worker.
    void set_exporter(telemetry::otlp::Exporter* exporter) { exporter_ = exporter; }
    // Governance (authentication, RBAC, limits, budgets); nullptr or disabled: open gateway.
    void set_governance(governance::Governance* gov) { governance_ = gov; }
    governance::Governance* governance() const { return governance_; }
    telemetry::otlp::Exporter* exporter() const { return exporter_; }
    // The access log (owned by the Gateway), or nullptr when logging is off. Set before run().
    void set_access_log(telemetry::access::AccessLog* log) { access_log_ = log; }
    telemetry::access::AccessLog* access_log() const { return access_log_; }
    // The translating adapter for a provider, or nullptr when it speaks OpenAI's format.
    const providers::Adapter* adapter_for(const config::Provider& provider);
    routing::Router& router() { return router_; }
    std::mt19937_64& rng() { return rng_; }
    // URL and prepared headers for a target's endpoint, built once per worker (the cache is
    // keyed by pointers into the snapshot this worker holds).
    const http::UpstreamRequest& request_template(const config::Target& target,
                                                  const config::Provider& provider,
                                                  api::Endpoint endpoint,
                                                  std::string_view upstream_model);
    void add(Conn* c);
    void remove(Conn* c);
    // Makes sure the deadline sweep runs (connections' read deadlines are checked every
    // kSweepInterval, so a timeout fires up to that much late).
    void ensure_sweep();
    static constexpr std::chrono::milliseconds kSweepInterval{50};

  private:
    void start_accepting(boost::asio::ip::tcp::acceptor& acceptor, boost::asio::ssl::context* tls,
                         bool admin);
    void on_drain_deadline();
    void sweep();

    int index_;
    // Declared before io_ so that they outlive it: destroying io_ destroys the session frames,
    // whose connections unregister themselves.
    std::unordered_set<Conn*> conns_;
    bool draining_ = false;
    bool destroying_ = false;
    boost::asio::io_context io_{1};
    std::shared_ptr<const config::Snapshot> snapshot_;
    routing::Router& router_;
    http::UpstreamClient upstream_;
    struct Listener {
        boost::asio::ip::tcp::acceptor acceptor;
        boost::asio::ssl::context* tls;
        bool admin;
    };
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::optional<boost::asio::steady_timer> drain_timer_;
    boost::asio::steady_timer sweep_timer_;
    bool sweeping_ = false;
    static constexpr std::size_t kMaxTemplates = 4096;
    std::map<std::tuple<const config::Target*, api::Endpoint, std::string>, http::UpstreamRequest>
        templates_;
    std::map<const config::Provider*, std::unique_ptr<providers::Adapter>> adapters_;
    telemetry::Registry& registry_;
    telemetry::WorkerMetrics& metrics_;
    telemetry::otlp::Exporter* exporter_ = nullptr;
    governance::Governance* governance_ = nullptr;
    std::mt19937_64 rng_;
    std::uint64_t request_counter_ = 0;
    telemetry::access::AccessLog* access_log_ = nullptr;
};

}  // namespace sb::server
