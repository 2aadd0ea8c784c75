// switchboard: the AI gateway's one binary. Only this file prints to stdout.
#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "config/config.h"
#include "http/upstream_client.h"
#include "server/gateway.h"

namespace {

std::optional<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& s) {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || colon + 1 >= s.size()) {
        return std::nullopt;
    }
    std::string host = s.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    unsigned long port = 0;
    for (char c : s.substr(colon + 1)) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        port = port * 10 + static_cast<unsigned long>(c - '0');
        if (port > 65535) {
            return std::nullopt;
        }
    }
    return std::make_pair(host, static_cast<std::uint16_t>(port));
}

int run_gateway(const std::string& config_path, const std::string& listen, int workers) {
    auto cfg = sb::config::load_file(config_path, sb::config::process_env());
    if (!cfg) {
        fmt::print(stderr, "switchboard: {}\n", cfg.error().message);
        return 2;
    }
    if (!listen.empty()) {
        auto hp = parse_listen(listen);
        if (!hp) {
            fmt::print(stderr, "switchboard: --listen: expected HOST:PORT, got '{}'\n", listen);
            return 2;
        }
        cfg->server.host = hp->first;
        cfg->server.port = hp->second;
    }
    if (workers >= 0) {
        cfg->server.workers = workers;
    }
    for (const auto& p : cfg->providers) {
        if (!p.enabled) {
            spdlog::info("provider {} disabled: {}", p.name, p.disabled_reason);
        }
    }

    // Signals are taken by this thread only (sigwait); workers inherit the blocked mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    sb::http::global_init();
    auto snapshot = std::make_shared<const sb::config::Snapshot>(std::move(*cfg));
    sb::server::Gateway gateway(snapshot);
    if (auto st = gateway.start(); !st) {
        fmt::print(stderr, "switchboard: {}\n", st.error().message);
        return 1;
    }
    const auto& srv = snapshot->config().server;
    if (gateway.admin_port() != 0) {
        // Printed before the main line, which tests and scripts wait for.
        fmt::print("switchboard admin listening on {}:{}\n", snapshot->config().admin.host,
                   gateway.admin_port());
    }
    bool v6 = srv.host.find(':') != std::string::npos;
    fmt::print("switchboard listening on {}{}{}:{}\n", v6 ? "[" : "", srv.host, v6 ? "]" : "",
               gateway.port());
    if (srv.tls) {
        fmt::print("switchboard listening (TLS) on {}:{}\n", srv.tls->host, gateway.tls_port());
    }
    std::fflush(stdout);
    spdlog::info("{} workers, {} models", gateway.workers(), snapshot->config().models.size());

    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("signal {}: draining (up to {} ms)", sig, srv.drain_timeout.count());
    gateway.drain();
    gateway.wait();
    spdlog::info("stopped");
    return 0;
}

int validate(const std::string& path) {
    auto cfg = sb::config::load_file(path, sb::config::process_env());
    if (!cfg) {
        fmt::print(stderr, "{}: invalid: {}\n", path, cfg.error().message);
        return 1;
    }
    std::size_t enabled = 0;
    for (const auto& p : cfg->providers) {
        enabled += p.enabled ? 1 : 0;
    }
    fmt::print("{}: ok ({} providers, {} enabled; {} models served)\n", path, cfg->providers.size(),
               enabled, cfg->models.size());
    for (const auto& p : cfg->providers) {
        if (!p.enabled) {
            fmt::print("  provider {} disabled: {}\n", p.name, p.disabled_reason);
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "Switchboard: an AI gateway. Speaks the OpenAI API to applications and routes to "
        "any model provider."};
    app.require_subcommand(1);
    app.set_version_flag("--version", "switchboard 0.1.0");

    std::string config_path;
    std::string listen;
    int workers = -1;
    auto* gw = app.add_subcommand("gateway", "Run the gateway (data plane).");
    gw->add_option("-c,--config", config_path, "YAML config file")->required();
    gw->add_option("-l,--listen", listen, "Listen address HOST:PORT (overrides server.listen)");
    gw->add_option("-w,--workers", workers,
                   "Worker threads, 0 = one per core (overrides "
                   "server.workers)")
        ->check(CLI::Range(0, 256));

    auto* cfg = app.add_subcommand("config", "Config file tools.");
    cfg->require_subcommand(1);
    std::string validate_path;
    auto* val = cfg->add_subcommand("validate", "Strictly validate a config file and exit.");
    val->add_option("file", validate_path, "YAML config file")->required();

    CLI11_PARSE(app, argc, argv);
    spdlog::set_default_logger(spdlog::stderr_color_mt("switchboard"));
    if (*gw) {
        return run_gateway(config_path, listen, workers);
    }
    if (*val) {
        return validate(validate_path);
    }
    return 0;
}
