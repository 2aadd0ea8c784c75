#include "server/gateway.h"

#include <fmt/format.h>

#include <boost/asio/ssl/context.hpp>

#include "governance/governance.h"
#include "server/adapters.h"
#include "server/prober.h"
#include "server/worker.h"

namespace sb::server {
namespace {

// Reported as service.version in telemetry (matches `switchboard --version`).
constexpr std::string_view kVersion = "0.1.0";

}  // namespace

struct Gateway::Tls {
    boost::asio::ssl::context ctx{boost::asio::ssl::context::tls_server};
};

namespace {

telemetry::access::Options access_log_options(const config::Logging& cfg) {
    telemetry::access::Options o;
    o.directory = cfg.directory;
    o.spool_dir = cfg.spool_dir;
    o.spool_max_bytes = cfg.spool_max_bytes;
    switch (cfg.spool_policy) {
        case config::LogSpoolPolicy::Refuse:
            o.policy = telemetry::access::SpoolPolicy::Refuse;
            break;
        case config::LogSpoolPolicy::DropOldest:
            o.policy = telemetry::access::SpoolPolicy::DropOldest;
            break;
        case config::LogSpoolPolicy::DropNew:
            o.policy = telemetry::access::SpoolPolicy::DropNew;
            break;
    }
    o.fsync_interval = cfg.fsync_interval;
    o.rotate_bytes = cfg.rotate_bytes;
    o.rotate_age = cfg.rotate_age;
    o.queue_capacity = static_cast<std::size_t>(cfg.queue_capacity);
    o.write_through = cfg.write_through;
    if (cfg.s3) {
        telemetry::access::S3Options s3;
        s3.endpoint = cfg.s3->endpoint;
        s3.bucket = cfg.s3->bucket;
        s3.region = cfg.s3->region;
        s3.prefix = cfg.s3->prefix;
        s3.access_key_id = cfg.s3->access_key_id;
        s3.secret_access_key = cfg.s3->secret_access_key;
        s3.session_token = cfg.s3->session_token;
        s3.path_style = cfg.s3->path_style;
        s3.timeout_ms = static_cast<long>(cfg.s3->timeout.count());
        o.s3 = std::move(s3);
    }
    o.bodies = cfg.bodies.enabled;
    o.redact_patterns = cfg.bodies.redact;
    return o;
}

}  // namespace

Gateway::Gateway(std::shared_ptr<const config::Snapshot> snapshot)
    : snapshot_(std::move(snapshot)), router_(std::make_unique<routing::Router>(snapshot_)) {
    router_->attach_metrics(registry_);
}

Gateway::~Gateway() {
    stop();
    wait();
    prober_.reset();  // joins the probe thread while the router and registry still exist
}

Status Gateway::start() {
    const config::Server& srv = snapshot_->config().server;
    int n = srv.workers > 0 ? srv.workers
                            : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    if (srv.tls) {
        tls_ = std::make_unique<Tls>();
        boost::system::error_code ec;
        tls_->ctx.set_options(
            boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                boost::asio::ssl::context::no_tlsv1_1,
            ec);
        tls_->ctx.use_certificate_chain_file(srv.tls->cert_file, ec);
        if (ec) {
            return fail(ErrorCode::Internal,
                        fmt::format("server.tls.cert_file: cannot load '{}': {}",
                                    srv.tls->cert_file, ec.message()));
        }
        tls_->ctx.use_private_key_file(srv.tls->key_file, boost::asio::ssl::context::pem, ec);
        if (ec) {
            return fail(ErrorCode::Internal,
                        fmt::format("server.tls.key_file: cannot load '{}': {}", srv.tls->key_file,
                                    ec.message()));
        }
    }
    // OAuth refreshers (Vertex) start before the workers, so the first requests find a token.
    if (auto started = start_credentials(snapshot_->config(), std::chrono::seconds(10)); !started) {
        return started;
    }
    // Active probes start after the credentials (a Vertex probe needs a token) and before the
    // workers; nothing starts when no target is probed.
    if (!prober_) {
        prober_ = Prober::start(snapshot_, *router_, registry_);
    }
    if (snapshot_->config().auth.enabled && !governance_) {
        auto gov = governance::Governance::create(snapshot_->config());
        if (!gov) {
            return fail(std::move(gov).error());
        }
        governance_ = std::move(*gov);
    }
    if (const auto& otlp = snapshot_->config().telemetry.otlp; otlp && !exporter_) {
        telemetry::otlp::ExporterOptions opts;
        opts.endpoint = otlp->endpoint;
        opts.headers = otlp->headers;
        opts.timeout = otlp->timeout;
        opts.batch_size = static_cast<std::size_t>(otlp->batch_size);
        opts.interval = otlp->interval;
        opts.metrics_interval =
            otlp->metrics ? otlp->metrics_interval : std::chrono::milliseconds(0);
        opts.queue_capacity = static_cast<std::size_t>(otlp->queue_size);
        opts.sample_ratio = otlp->sample_ratio;
        opts.resource.service_name = otlp->service_name;
        opts.resource.service_version = kVersion;
        exporter_ = std::make_unique<telemetry::otlp::Exporter>(std::move(opts), &registry_);
    }
    if (const config::Logging& logging = snapshot_->config().logging; logging.enabled) {
        access_log_ = std::make_unique<telemetry::access::AccessLog>(access_log_options(logging));
        if (auto st = access_log_->open(); !st) {
            access_log_.reset();
            return fail(ErrorCode::Internal, "logging: " + st.error().message);
        }
    }
    port_ = srv.port;
    tls_port_ = srv.tls ? srv.tls->port : 0;
    for (int i = 0; i < n; ++i) {
        auto w = std::make_unique<Worker>(i, snapshot_, *router_, registry_);
        w->set_exporter(exporter_.get());
        w->set_governance(governance_.get());
        w->set_access_log(access_log_.get());
        auto bound = w->listen(srv.host, port_, nullptr);
        if (!bound) {
            return fail(bound.error());
        }
        port_ = *bound;  // workers after the first share the port picked by the first
        if (srv.tls) {
            auto tls_bound = w->listen(srv.tls->host, tls_port_, &tls_->ctx);
            if (!tls_bound) {
                return fail(tls_bound.error());
            }
            tls_port_ = *tls_bound;
        }
        workers_.push_back(std::move(w));
    }
    if (const config::Admin& admin = snapshot_->config().admin; admin.enabled) {
        // One worker serves the admin listener: it is for operators, not for traffic.
        auto bound = workers_.front()->listen(admin.host, admin.port, nullptr, /*admin=*/true);
        if (!bound) {
            return fail(bound.error());
        }
        admin_port_ = *bound;
    }
    for (auto& w : workers_) {
        threads_.emplace_back([worker = w.get()] { worker->run(); });
    }
    return {};
}

void Gateway::drain() {
    for (auto& w : workers_) {
        w->begin_drain();
    }
}

void Gateway::wait() {
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
    threads_.clear();
    if (access_log_) {
        access_log_->close();
    }
}

void Gateway::stop() {
    for (auto& w : workers_) {
        w->stop();
    }
}

}  // namespace sb::server
