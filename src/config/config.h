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
