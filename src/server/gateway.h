#pragma once

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "routing/router.h"
#include "telemetry/access/access_log.h"
#include "telemetry/metrics.h"
#include "telemetry/otlp/exporter.h"

namespace sb::governance {
class Governance;
}

namespace sb::server {

class Worker;
class Prober;

// The data plane: N worker threads, each with its own io_context, SO_REUSEPORT acceptor(s) and
// upstream client. Owned by main (or a test). start/drain/wait/stop may be called from any one
// controlling thread; workers never call back into it.
class Gateway {
  public:
    explicit Gateway(std::shared_ptr<const config::Snapshot> snapshot);
    ~Gateway();
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    // Binds the listeners and starts the worker threads.
    Status start();
    // Actual ports after start (useful with port 0).
    std::uint16_t port() const { return port_; }
    std::uint16_t tls_port() const { return tls_port_; }
    std::uint16_t admin_port() const { return admin_port_; }  // 0 when there is no admin listener
    int workers() const { return static_cast<int>(workers_.size()); }
    // The OTLP exporter (telemetry.otlp), or nullptr when export is off.
    const telemetry::otlp::Exporter* exporter() const { return exporter_.get(); }
    // The active health prober, or nullptr when no target is probed.
    const Prober* prober() const { return prober_.get(); }

    // Stops accepting, lets in-flight requests finish within server.drain_timeout, then ends
    // the remaining streams with an error event and closes. Returns at once; wait() joins.
    void drain();
    // Joins the worker threads (returns once every worker has finished draining or stopped),
    // then closes the access log (its last records are spooled and delivered within its
    // close timeout; the rest stay in the spool for the next start).
    void wait();

    // The access log, or nullptr when `logging.enabled` is false.
    telemetry::access::AccessLog* access_log() { return access_log_.get(); }
    // Immediate stop: no draining.
    void stop();

  private:
    std::shared_ptr<const config::Snapshot> snapshot_;
    telemetry::Registry registry_;  // outlives the workers, which record into it
    // Opened by start() before the workers run, closed by wait() after they end.
    std::unique_ptr<telemetry::access::AccessLog> access_log_;
    std::unique_ptr<routing::Router> router_;  // shared by the workers; outlives them
    // Active health probes (off unless configured); declared after router_ so that its thread
    // is joined before the router goes away.
    std::unique_ptr<Prober> prober_;
    // Declared before workers_ so that it outlives them: a worker's destruction ends its
    // sessions, whose recorders may still submit traces.
    std::unique_ptr<telemetry::otlp::Exporter> exporter_;
    std::shared_ptr<governance::Governance> governance_;  // outlives the workers too
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::thread> threads_;
    std::uint16_t port_ = 0;
    std::uint16_t tls_port_ = 0;
    std::uint16_t admin_port_ = 0;
    struct Tls;
    std::unique_ptr<Tls> tls_;
};

}  // namespace sb::server
