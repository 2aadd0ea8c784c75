#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/usage.h"
#include "core/result.h"

namespace sb::config {

using Millis = std::chrono::milliseconds;

// Upstream timeouts, per provider. All must be > 0.
struct Timeouts {
    Millis connect{10'000};      // TCP+TLS connect
    Millis first_byte{120'000};  // request sent -> response status line received
    Millis idle{60'000};         // max gap between two received chunks
    Millis total{600'000};       // whole upstream transfer
};

struct TlsListener {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8443;
    std::string cert_file;  // PEM certificate chain
    std::string key_file;   // PEM private key
};

struct Server {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    int workers = 0;                           // 0 = one per core
    std::size_t max_body_bytes = 32u << 20;    // 413 above this
    std::size_t max_header_bytes = 64u << 10;  // 431 above this (fixed by the issue, configurable)
    Millis header_timeout{10'000};             // 408 if the head has not arrived in time
    Millis idle_timeout{75'000};               // keep-alive connection idle before close
    Millis drain_timeout{30'000};              // SIGTERM: time in-flight requests get
    // /v1/messages streams: `event: ping` after this much silence towards the client.
    Millis stream_ping_interval{10'000};
    std::optional<TlsListener> tls;
};

enum class ProviderType : std::uint8_t {
    OpenAI,
    OpenAICompatible,
    Azure,
    Anthropic,
    Gemini,
    Bedrock,
    Vertex
};

std::string_view to_string(ProviderType t);

struct Provider {
    std::string name;
    ProviderType type = ProviderType::OpenAICompatible;
    std::string base_url;  // e.g. https://api.openai.com/v1 (no trailing slash)
    std::string api_key;   // resolved from ${VAR}; may be empty (no auth header)
    std::string auth_header = "Authorization";
    std::string auth_prefix = "Bearer ";                       // value = prefix + api_key
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers, sent as is
    std::string api_version;  // azure: the `api-version` query parameter
    // bedrock: region and AWS credentials (SigV4); without keys, api_key is a Bedrock API key.
    std::string region;
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;
    // vertex: Google Cloud project and location, and a service-account JSON key file (an OAuth
    // token is minted from it off the request path); without one, api_key is sent as a static
    // OAuth access token (`Authorization: Bearer`).
    std::string project;
    std::string location;
    std::string credentials_file;
    Timeouts timeouts;
    bool optional = false;  // `optional: true`: a missing ${VAR} disables it instead of failing
    bool enabled = true;    // false when optional and a referenced variable is unset
    std::string disabled_reason;
};

// Prices in currency units per million tokens: {input, output, cached_input}, the one price
// type of api/usage.h (with the cost arithmetic). cached_input defaults to `input` when not
// given.
using Price = api::Price;

// -- probes (optional active health checks of targets; docs/routing.md, "Active probes") --

// One target's active probe: a tiny upstream request every `interval` (with jitter), off the
// request path, whose outcome feeds the target's health.
struct Probe {
    Millis interval{10'000};
    Millis timeout{5'000};  // whole probe; defaults to min(5s, interval), never above interval
    int max_tokens = 1;     // chat-completion probes (translated providers, Azure)
};

// One place a virtual model can be served from.
struct Target {
    std::string name;            // unique within its model; default "provider/model"
    std::string provider;        // key of Config::providers
    std::string upstream_model;  // what the upstream receives; empty: the name the client sent
    std::uint32_t weight = 1;    // weighted strategy
    int priority = 0;            // priority strategy: lower first
    std::optional<Price> price;
    Timeouts timeouts;                // the provider's, with the target's overrides applied
    std::uint32_t max_in_flight = 0;  // 0 = unlimited; a full target is skipped
    std::size_t provider_index = 0;   // index into Config::providers (set by parse)
    std::size_t index = 0;            // ordinal among all targets of the config (set by parse)
    // Active probing of this target: `routing.health.probe` unless the target says `probe:`;
    // std::nullopt: not probed.
    std::optional<Probe> probe;
};

enum class Strategy : std::uint8_t { Weighted, Priority, LeastLatency, LowestCost };
std::string_view to_string(Strategy s);

// Classes of failure that may send a request to another virtual model.
enum class FallbackOn : std::uint8_t {
    ContextWindow,  // the prompt is longer than the target's context window
    ContentPolicy,  // the upstream refused the content
    RateLimited,    // every target rate-limited or cooling down
    Unavailable,    // every attempt failed with a retryable error
};
std::string_view to_string(FallbackOn f);

struct RetryPolicy {
    int max_attempts = 3;            // attempts per request, all targets together
    Millis backoff_base{100};        // before retrying a target already tried: base * 2^n ...
    Millis backoff_max{2'000};       // ... capped, with full jitter
    Millis total_deadline{600'000};  // bounds all attempts together
};

// A conditional rule: when every given condition holds, only `targets` are candidates.
struct Rule {
    std::string team;                                           // the caller's team
    std::vector<std::pair<std::string, std::string>> headers;   // request header equals value
    std::vector<std::pair<std::string, std::string>> metadata;  // body `metadata.k` equals value
    std::vector<std::string> targets;                           // target names of this model
};

// A public model name (or glob pattern such as `gpt-4o*`) mapped to targets.
struct Model {
    std::string name;      // what clients send as `model`, or a pattern with `*`
    bool glob = false;     // name holds `*` or `?` (core/glob.h)
    std::string alias_of;  // non-empty: served exactly as that model (no targets of its own)
    std::vector<Target> targets;
    Strategy strategy = Strategy::Weighted;
    RetryPolicy retry;
    std::vector<std::pair<FallbackOn, std::string>> fallbacks;  // class -> model name
    std::vector<Rule> rules;
};

// Passive health checking (outlier detection) of targets.
struct Health {
    int consecutive_failures = 5;  // retryable failures in a row that eject a target
    Millis base_ejection{10'000};  // first ejection; doubles with each further one ...
    Millis max_ejection{300'000};  // ... up to this
    int max_ejected_percent = 50;  // beyond this share of a model's targets, all are used
    std::optional<Probe> probe;    // active probes of every target; absent: off
};

struct Routing {
    double retry_budget_ratio = 0.2;  // retries may add this share of requests ...
    int retry_budget_min = 10;        // ... plus this many (the budget's floor and burst)
    double exploration = 0.05;        // least-latency: share of requests sent to a random target
    std::uint64_t seed = 0;           // 0: random; else each worker's RNG is seeded from it
    Health health;
};

// The admin listener (target health); off unless `admin.listen` is given.
struct Admin {
    std::string host;
    std::uint16_t port = 0;
    bool enabled = false;
};

// `telemetry.otlp`: OTLP/HTTP (JSON) export of request traces and metrics to a collector.
struct OtlpExport {
    std::string endpoint;  // collector base URL; /v1/traces and /v1/metrics are appended
    std::vector<std::pair<std::string, std::string>> headers;  // sent with every export
    Millis timeout{10'000};                                    // per export request
    int batch_size = 512;                                      // request traces per POST
    Millis interval{5'000};           // longest a trace waits before its batch is sent
    bool metrics = true;              // also export metrics
    Millis metrics_interval{60'000};  // between metric exports
    int queue_size = 8192;            // traces waiting for export; beyond, dropped and counted
    std::string service_name = "switchboard";
    double sample_ratio = 1.0;  // share of new traces exported (a traceparent's flag decides)
};

struct Telemetry {
    std::optional<OtlpExport> otlp;  // absent: no OTLP export
};

// -- auth (governance: API keys, JWT, RBAC, limits, budgets; see docs/governance.md) --

// Request and token limits; 0 = unlimited. Windows are fixed, aligned to the UTC minute/day.
struct RateLimits {
    std::uint64_t requests_per_minute = 0;
    std::uint64_t requests_per_day = 0;
    std::uint64_t tokens_per_minute = 0;
    std::uint64_t tokens_per_day = 0;

    bool empty() const {
        return requests_per_minute == 0 && requests_per_day == 0 && tokens_per_minute == 0 &&
               tokens_per_day == 0;
    }
};

// Spending caps in currency units (e.g. USD); 0 = no cap. Day, ISO week (Monday) and calendar
// month in UTC.
struct Budget {
    double daily = 0;
    double weekly = 0;
    double monthly = 0;

    bool empty() const { return daily == 0 && weekly == 0 && monthly == 0; }
};

// An API key entry as stored: only the SHA-256 of the key, never the key.
struct ApiKeyEntry {
    std::string id;                   // short, non-secret, for logs and revocation
    std::string hash;                 // lower-case hex SHA-256 of the whole key string
    std::string owner;                // a user name (may match auth.users)
    std::string team;                 // may match auth.teams
    std::vector<std::string> models;  // allowed virtual models (globs); empty = not restricted here
    RateLimits limits;
    std::vector<std::pair<std::string, RateLimits>> model_limits;  // key x model (glob -> limits)
    Budget budget;
    std::int64_t expires_at = 0;  // unix seconds; 0 = never
    std::vector<std::pair<std::string, std::string>> metadata;
    bool revoked = false;
};

struct Team {
    std::string name;
    std::vector<std::string> models;  // empty = not restricted at team level
    RateLimits limits;
    Budget budget;
};

struct Role {
    std::string name;
    std::vector<std::string> models;
    bool admin = false;  // may manage keys (control plane)
};

struct User {
    std::string name;
    std::string team;
    std::vector<std::string> roles;
    std::vector<std::string> models;
    RateLimits limits;
    Budget budget;
};

enum class JwtAlgorithm : std::uint8_t { RS256, ES256 };

struct JwtIssuer {
    std::string name;                    // the YAML key
    std::string issuer;                  // expected `iss`
    std::vector<std::string> audiences;  // `aud` must contain one of these (empty = not checked)
    JwtAlgorithm algorithm = JwtAlgorithm::RS256;
    std::string public_key_pem;  // static key (from public_key or public_key_file)
    std::string jwks_url;        // or keys fetched from here
    Millis jwks_refresh{300'000};
    Millis jwks_ttl{3'600'000};  // cached JWKS keys are used this long after the last success
    Millis leeway{30'000};       // for exp and nbf, at most 5 minutes
    std::string user_claim = "sub";
    std::string team_claim = "team";
    std::string roles_claim = "roles";
};

enum class KeyStoreType : std::uint8_t { Yaml, Sqlite };

struct Auth {
    bool enabled = false;  // an `auth:` section is present
    bool required = true;  // false: requests without credentials run as "anonymous"
    KeyStoreType key_store = KeyStoreType::Yaml;
    std::string sqlite_path;                  // key_store sqlite: keys and spend
    Millis key_refresh{5'000};                // sqlite: revocations/new keys picked up this often
    Millis spend_flush{1'000};                // sqlite: spend written at most this late
    std::uint64_t default_max_tokens = 4096;  // reservation when a request has no max_tokens
    std::vector<ApiKeyEntry> keys;            // key_store yaml
    std::vector<JwtIssuer> jwt_issuers;
    std::vector<Team> teams;
    std::vector<User> users;
    std::vector<Role> roles;
    std::vector<std::pair<std::string, RateLimits>> model_limits;  // per model (glob -> limits)
};

// -- logging (access log, DESIGN.md section 6, docs/access-log.md) --------------------------

enum class LogSpoolPolicy : std::uint8_t { Refuse, DropOldest, DropNew };

struct LoggingS3 {
    std::string endpoint;  // "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000"
    std::string bucket;
    std::string region = "us-east-1";
    std::string prefix;  // key prefix; "" or ending in '/'
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;
    bool path_style = true;  // false: virtual-hosted (https://bucket.host/key)
    Millis timeout{30'000};  // per PUT
};

struct LoggingBodies {
    bool enabled = false;             // prompt and response bodies in the records
    std::vector<std::string> redact;  // RE2 patterns; every match becomes "[REDACTED]"
};

struct Logging {
    bool enabled = false;
    std::string directory = "./access-logs";       // local Parquet destination; "" = none
    std::string spool_dir = "./access-log-spool";  // CRC-framed on-disk spool
    std::size_t spool_max_bytes = std::size_t{1} << 30;
    LogSpoolPolicy spool_policy = LogSpoolPolicy::Refuse;
    Millis fsync_interval{100};
    std::size_t rotate_bytes = std::size_t{64} << 20;
    Millis rotate_age{60'000};
    int queue_capacity = 65'536;
    bool write_through = true;  // workers append to the spool when its lock is free
    std::optional<LoggingS3> s3;
    LoggingBodies bodies;
};

struct Config {
    Server server;
    Logging logging;
    Telemetry telemetry;
    Auth auth;                        // governance; see docs/governance.md
    std::vector<Provider> providers;  // in file order
    std::vector<Model> models;        // in file order; targets only of enabled providers
    Routing routing;
    Admin admin;

    const Provider* find_provider(std::string_view name) const;
};

// Looks up an environment variable; std::nullopt when unset. Injected for tests.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup process_env();

// Parses and strictly validates YAML text. Errors name the YAML path (`providers.openai.type`)
// and the reason; an unknown key is an error. `${VAR}` and `${VAR:-default}` are expanded in
// scalar values; a variable that is unset is an error only if its provider is used by a model
// (or disables the provider when it is `optional: true`).
Result<Config> parse(std::string_view yaml_text, const EnvLookup& env);
Result<Config> load_file(const std::string& path, const EnvLookup& env);

// Immutable view of a config shared by all workers; lookups by public model name.
class Snapshot {
  public:
    explicit Snapshot(Config config);
    const Config& config() const { return config_; }
    // Exact name, then aliases (followed), then glob patterns in file order. A model without
    // targets (all its providers disabled) is not found.
    const Model* find_model(std::string_view name) const;
    const Provider& provider_of(const Target& t) const {
        return config_.providers[t.provider_index];
    }
    std::size_t target_count() const { return target_count_; }

  private:
    Config config_;
    std::unordered_map<std::string, std::size_t> model_index_;  // exact names and aliases
    std::vector<std::size_t> globs_;                            // models with patterns
    std::size_t target_count_ = 0;
};

}  // namespace sb::config
