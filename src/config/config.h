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
    std::optional<TlsListener> tls;
};

enum class ProviderType : std::uint8_t {
    OpenAI,
    OpenAICompatible,
    Azure,
    Anthropic,
    Gemini,
    Bedrock
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
    Timeouts timeouts;
    bool optional = false;  // `optional: true`: a missing ${VAR} disables it instead of failing
    bool enabled = true;    // false when optional and a referenced variable is unset
    std::string disabled_reason;
};

// A public model name mapped to one provider and the upstream's model name.
struct Model {
    std::string name;            // what clients send as `model`
    std::string provider;        // key of Config::providers
    std::string upstream_model;  // what the upstream receives as `model`
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

struct Config {
    Server server;
    Auth auth;                        // governance; see docs/governance.md
    std::vector<Provider> providers;  // in file order
    std::vector<Model> models;        // in file order; only models whose provider is enabled

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
    const Model* find_model(std::string_view name) const;
    const Provider& provider_of(const Model& m) const;

  private:
    Config config_;
    std::unordered_map<std::string, std::size_t> model_index_;
    std::vector<std::size_t> model_provider_;  // parallel to config_.models
};

}  // namespace sb::config
