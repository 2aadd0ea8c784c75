// switchboard: the AI gateway's one binary. Only this file prints to stdout.
#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <ctime>

#include "config/config.h"
#include "governance/governance.h"
#include "governance/keys.h"
#include "governance/store.h"
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
    if (const auto& otlp = snapshot->config().telemetry.otlp) {
        spdlog::info("otlp: exporting traces{} to {}", otlp->metrics ? " and metrics" : "",
                     otlp->endpoint);
    }

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
    if (cfg->auth.enabled) {
        const auto& a = cfg->auth;
        fmt::print(
            "  auth: {} key store{}, {} keys, {} JWT issuers, {} teams, {} users, {} roles\n",
            a.key_store == sb::config::KeyStoreType::Sqlite ? "sqlite" : "yaml",
            a.required ? "" : " (credentials optional)", a.keys.size(), a.jwt_issuers.size(),
            a.teams.size(), a.users.size(), a.roles.size());
    }
    return 0;
}

// -- keys ------------------------------------------------------------------------------------

struct KeyCreateArgs {
    std::string config_path;
    std::string owner;
    std::string team;
    std::vector<std::string> models;
    std::string expires;  // RFC 3339 UTC, or a duration like 30d / 12h
    std::uint64_t rpm = 0;
    std::uint64_t rpd = 0;
    std::uint64_t tpm = 0;
    std::uint64_t tpd = 0;
    double budget_daily = 0;
    double budget_weekly = 0;
    double budget_monthly = 0;
    std::vector<std::string> metadata;  // k=v
};

std::optional<std::int64_t> parse_expiry(const std::string& text, std::int64_t now_s) {
    if (text.empty()) {
        return 0;
    }
    const char unit = text.back();
    const std::string number = text.substr(0, text.size() - 1);
    if ((unit == 'd' || unit == 'h') && !number.empty() &&
        number.find_first_not_of("0123456789") == std::string::npos && number.size() < 7) {
        const std::int64_t n = std::stoll(number);
        return now_s + n * (unit == 'd' ? 86400 : 3600);
    }
    // Reuse the config parser's strict RFC 3339 reader.
    auto cfg = sb::config::parse(
        fmt::format("auth:\n  keys:\n    k:\n      hash: \"{}\"\n      expires_at: \"{}\"\n",
                    std::string(64, '0'), text),
        [](std::string_view) { return std::optional<std::string>(); });
    if (!cfg || cfg->auth.keys.empty()) {
        return std::nullopt;
    }
    return cfg->auth.keys.front().expires_at;
}

// A YAML double-quoted scalar (YAML accepts JSON's escapes).
std::string yaml_quoted(std::string_view s) {
    std::string out = "\"";
    sb::append_json_escaped(out, s);
    out += '"';
    return out;
}

int keys_create(const KeyCreateArgs& a) {
    sb::config::Config cfg;
    if (!a.config_path.empty()) {
        auto loaded = sb::config::load_file(a.config_path, sb::config::process_env());
        if (!loaded) {
            fmt::print(stderr, "switchboard: {}\n", loaded.error().message);
            return 2;
        }
        cfg = std::move(*loaded);
    }
    const auto now_s = static_cast<std::int64_t>(std::time(nullptr));
    sb::config::ApiKeyEntry entry;
    entry.owner = a.owner;
    entry.team = a.team;
    entry.models = a.models;
    entry.limits = {a.rpm, a.rpd, a.tpm, a.tpd};
    entry.budget = {a.budget_daily, a.budget_weekly, a.budget_monthly};
    const auto expires = parse_expiry(a.expires, now_s);
    if (!expires) {
        fmt::print(stderr,
                   "switchboard: --expires: expected e.g. 30d, 12h or 2027-01-31T00:00:00Z\n");
        return 2;
    }
    entry.expires_at = *expires;
    for (const std::string& kv : a.metadata) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
            fmt::print(stderr, "switchboard: --metadata: expected KEY=VALUE, got '{}'\n", kv);
            return 2;
        }
        entry.metadata.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    for (const std::string& m : a.models) {
        if (m.empty() || m.find_first_of(" \t\r\n") != std::string::npos) {
            fmt::print(stderr, "switchboard: --models: invalid model name or glob '{}'\n", m);
            return 2;
        }
    }
    if (cfg.auth.enabled && !a.team.empty() &&
        std::none_of(cfg.auth.teams.begin(), cfg.auth.teams.end(),
                     [&](const auto& t) { return t.name == a.team; })) {
        fmt::print(stderr, "switchboard: --team: unknown team '{}' (see auth.teams)\n", a.team);
        return 2;
    }
    // The key may not exceed what its owner and team are granted.
    sb::governance::Options opts;
    opts.start_threads = false;
    opts.fetch_jwks = false;  // no network: only the grant check is needed here
    auto gov = sb::governance::Governance::create(cfg, opts);
    if (!gov) {
        fmt::print(stderr, "switchboard: {}\n", gov.error().message);
        return 2;
    }
    const auto creator = (*gov)->principal_for(a.owner, a.team);
    if (auto ok = (*gov)->check_grant(creator, entry); !ok) {
        fmt::print(stderr, "switchboard: refused: {}\n", ok.error().message);
        return 3;
    }
    const sb::governance::NewKey key = sb::governance::generate_key();
    entry.id = key.id;
    entry.hash = key.hash;
    const bool sqlite = cfg.auth.enabled && cfg.auth.key_store == sb::config::KeyStoreType::Sqlite;
    if (sqlite) {
        auto store = sb::governance::SqliteStore::open(cfg.auth.sqlite_path);
        if (!store) {
            fmt::print(stderr, "switchboard: {}\n", store.error().message);
            return 1;
        }
        if (auto s = (*store)->insert_key(entry, now_s); !s) {
            fmt::print(stderr, "switchboard: {}\n", s.error().message);
            return 1;
        }
    }
    fmt::print("key: {}\n", key.secret);
    fmt::print("     (shown once: store it now; switchboard keeps only its SHA-256)\n");
    fmt::print("id: {}\n", key.id);
    fmt::print("hash: {}\n", key.hash);
    if (sqlite) {
        fmt::print("stored in {}\n", cfg.auth.sqlite_path);
        return 0;
    }
    fmt::print("# add under auth.keys in the config:\n");
    fmt::print("    {}:\n      hash: \"{}\"\n", key.id, key.hash);
    if (!entry.owner.empty()) {
        fmt::print("      owner: {}\n", yaml_quoted(entry.owner));
    }
    if (!entry.team.empty()) {
        fmt::print("      team: {}\n", yaml_quoted(entry.team));
    }
    if (!entry.models.empty()) {
        fmt::print("      models: [");
        for (std::size_t i = 0; i < entry.models.size(); ++i) {
            fmt::print("{}{}", i == 0 ? "" : ", ", yaml_quoted(entry.models[i]));
        }
        fmt::print("]\n");
    }
    if (!entry.limits.empty()) {
        fmt::print(
            "      limits: {{requests_per_minute: {}, requests_per_day: {}, "
            "tokens_per_minute: {}, tokens_per_day: {}}}\n",
            a.rpm, a.rpd, a.tpm, a.tpd);
    }
    if (!entry.budget.empty()) {
        fmt::print("      budget: {{daily: {}, weekly: {}, monthly: {}}}\n", a.budget_daily,
                   a.budget_weekly, a.budget_monthly);
    }
    if (entry.expires_at != 0) {
        fmt::print("      expires_at: {}\n", entry.expires_at);
    }
    if (!entry.metadata.empty()) {
        fmt::print("      metadata:\n");
        for (const auto& [k, v] : entry.metadata) {
            fmt::print("        {}: {}\n", yaml_quoted(k), yaml_quoted(v));
        }
    }
    return 0;
}

// Opens the SQLite key store named by a config (keys list / revoke).
std::unique_ptr<sb::governance::SqliteStore> open_key_store(const std::string& config_path) {
    auto cfg = sb::config::load_file(config_path, sb::config::process_env());
    if (!cfg) {
        fmt::print(stderr, "switchboard: {}\n", cfg.error().message);
        return nullptr;
    }
    if (!cfg->auth.enabled || cfg->auth.key_store != sb::config::KeyStoreType::Sqlite) {
        fmt::print(stderr,
                   "switchboard: {}: auth.key_store is not sqlite (YAML keys are edited in the "
                   "config file)\n",
                   config_path);
        return nullptr;
    }
    auto store = sb::governance::SqliteStore::open(cfg->auth.sqlite_path);
    if (!store) {
        fmt::print(stderr, "switchboard: {}\n", store.error().message);
        return nullptr;
    }
    return std::move(*store);
}

int keys_list(const std::string& config_path) {
    auto store = open_key_store(config_path);
    if (!store) {
        return 2;
    }
    auto keys = store->load_keys();
    if (!keys) {
        fmt::print(stderr, "switchboard: {}\n", keys.error().message);
        return 1;
    }
    // Never the hash: it would allow offline guessing.
    fmt::print("{:<22} {:<16} {:<16} {:<8} {:<12} {}\n", "ID", "OWNER", "TEAM", "STATUS",
               "EXPIRES_AT", "MODELS");
    const auto now_s = static_cast<std::int64_t>(std::time(nullptr));
    for (const auto& k : *keys) {
        const char* status = k.revoked                                      ? "revoked"
                             : (k.expires_at != 0 && now_s >= k.expires_at) ? "expired"
                                                                            : "active";
        std::string models;
        for (const auto& m : k.models) {
            models += (models.empty() ? "" : ",") + m;
        }
        fmt::print("{:<22} {:<16} {:<16} {:<8} {:<12} {}\n", k.id, k.owner, k.team, status,
                   k.expires_at, models.empty() ? "*" : models);
    }
    return 0;
}

int keys_revoke(const std::string& config_path, const std::string& id) {
    auto store = open_key_store(config_path);
    if (!store) {
        return 2;
    }
    auto done = store->revoke(id);
    if (!done) {
        fmt::print(stderr, "switchboard: {}\n", done.error().message);
        return 1;
    }
    if (!*done) {
        fmt::print(stderr, "switchboard: no key with id '{}'\n", id);
        return 1;
    }
    fmt::print("revoked {}\n", id);
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

    KeyCreateArgs create_args;
    std::string keys_config;
    std::string revoke_id;
    auto* keys = app.add_subcommand("keys", "API keys: create, list, revoke.");
    keys->require_subcommand(1);
    auto* kc = keys->add_subcommand(
        "create",
        "Create a key: prints it once, with the hash entry to store (only hashes are "
        "kept). With a config whose auth.key_store is sqlite, also stores it.");
    kc->add_option("-c,--config", create_args.config_path,
                   "Config file (teams, users, key store); the key may not exceed its owner's "
                   "and team's grants");
    kc->add_option("--owner", create_args.owner, "Owner (user name)");
    kc->add_option("--team", create_args.team, "Team");
    kc->add_option("--models", create_args.models, "Allowed models or globs (comma-separated)")
        ->delimiter(',');
    kc->add_option("--expires", create_args.expires, "Expiry: 30d, 12h or 2027-01-31T00:00:00Z");
    kc->add_option("--rpm", create_args.rpm, "Requests per minute (0 = unlimited)");
    kc->add_option("--rpd", create_args.rpd, "Requests per day");
    kc->add_option("--tpm", create_args.tpm, "Tokens per minute");
    kc->add_option("--tpd", create_args.tpd, "Tokens per day");
    kc->add_option("--budget-daily", create_args.budget_daily, "Budget per day (currency)")
        ->check(CLI::Range(0.0, 1e9));
    kc->add_option("--budget-weekly", create_args.budget_weekly, "Budget per week")
        ->check(CLI::Range(0.0, 1e9));
    kc->add_option("--budget-monthly", create_args.budget_monthly, "Budget per month")
        ->check(CLI::Range(0.0, 1e9));
    kc->add_option("--metadata", create_args.metadata, "KEY=VALUE (repeatable)");
    auto* kl = keys->add_subcommand("list", "List the keys of the SQLite key store (no hashes).");
    kl->add_option("-c,--config", keys_config, "Config file")->required();
    auto* kr = keys->add_subcommand("revoke", "Revoke a key of the SQLite key store by id.");
    kr->add_option("-c,--config", keys_config, "Config file")->required();
    kr->add_option("id", revoke_id, "Key id (key_...)")->required();

    CLI11_PARSE(app, argc, argv);
    spdlog::set_default_logger(spdlog::stderr_color_mt("switchboard"));
    if (*gw) {
        return run_gateway(config_path, listen, workers);
    }
    if (*val) {
        return validate(validate_path);
    }
    if (*kc) {
        return keys_create(create_args);
    }
    if (*kl) {
        return keys_list(keys_config);
    }
    if (*kr) {
        return keys_revoke(keys_config, revoke_id);
    }
    return 0;
}
