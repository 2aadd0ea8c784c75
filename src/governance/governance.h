#pragma once

// Governance: who is calling (API key or JWT), may they use this model (RBAC), and may they
// spend now (rate limits and budgets). Decides from memory only; the SQLite store and the JWKS
// endpoints are read and written by background threads.
//
// Use from the gateway's request path (any worker thread, concurrently):
//
//   auto gov = Governance::create(config);                      // once per config, at start
//   auto who = gov->authenticate(authorization, x_api_key);     // 401 / 503 on failure
//   if (auto ok = gov->authorize(*who, model); !ok) ...         // 403 permission_denied
//   Estimate est{estimate_prompt_tokens(body.size()), max_tokens, worst_price};
//   RateLimitInfo info;
//   auto adm = gov->admit(*who, model, est, &info);             // 429 rate_limit_exceeded or
//                                                               // 429 insufficient_quota
//   on refusal: send rate_limit_headers(info) and Retry-After (error.retry_after, seconds)
//   on success: add rate_limit_headers(adm->info()) to the response
//   ... after the upstream answered:  adm->settle(usage, cost(price_of_target, usage));
//   (an Admission dropped without settle() releases its token and money reservations)
//
// Errors are sb::Error values whose code maps to the OpenAI shape in core/error.cc; messages
// never contain a key, a full key hash or a token.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "governance/cost.h"
#include "governance/keys.h"
#include "governance/limiter.h"

namespace sb::governance {

class JwtVerifier;
class JwksFetcher;
class SqliteStore;

// A stored key, resolved for fast checks.
struct KeyRecord {
    config::ApiKeyEntry entry;
    Digest digest{};
};

struct Principal {
    enum class Kind : std::uint8_t { Anonymous, ApiKey, Jwt };
    Kind kind = Kind::Anonymous;
    std::string id;    // for logs and access records: key id, "jwt:<issuer>:<user>", "anonymous"
    std::string user;  // key owner or JWT user claim
    std::string team;
    std::vector<std::string> roles;
    bool admin = false;                    // holds a role with admin: true
    std::shared_ptr<const KeyRecord> key;  // ApiKey principals
    std::int64_t expires_at = 0;           // unix seconds, 0 = never
};

// What admission reserves. prompt_tokens: use estimate_prompt_tokens(). max_tokens: the
// request's max_tokens (or max_completion_tokens); 0 = auth.default_max_tokens. price: the
// most expensive target the virtual model may route to (worst case; settle() corrects it).
struct Estimate {
    std::uint64_t prompt_tokens = 0;
    std::uint64_t max_tokens = 0;
    Price price;
};

// The documented prompt estimate: one token per 4 bytes of request body, rounded up, plus 16
// for message framing. Over-estimates ordinary English text (~4.5 bytes per token) a little.
std::uint64_t estimate_prompt_tokens(std::size_t body_bytes);

// Values for OpenAI's x-ratelimit-* headers: the tightest request and token limits that apply.
struct RateLimitInfo {
    bool has_requests = false;
    std::int64_t limit_requests = 0;
    std::int64_t remaining_requests = 0;
    std::int64_t reset_requests_ms = 0;
    bool has_tokens = false;
    std::int64_t limit_tokens = 0;
    std::int64_t remaining_tokens = 0;
    std::int64_t reset_tokens_ms = 0;
};

// x-ratelimit-limit-requests, -remaining-requests, -reset-requests and the -tokens trio, in
// OpenAI's format (reset as a duration like "1s", "6m0s", "250ms"). Empty when no limit applies.
std::vector<std::pair<std::string, std::string>> rate_limit_headers(const RateLimitInfo& info);

// Reserved capacity for one request. Move-only; settle() once with the actual usage and cost, or
// let it go: the destructor then releases the token and money reservations (the request itself
// still counts). Not thread-safe itself: owned by one request.
class Admission {
  public:
    Admission() = default;
    Admission(Admission&& other) noexcept;
    Admission& operator=(Admission&& other) noexcept;
    Admission(const Admission&) = delete;
    Admission& operator=(const Admission&) = delete;
    ~Admission();

    // total_cost: the sum of cost() over every attempt, in currency units.
    void settle(const Usage& usage, double total_cost);
    void settle(const Usage& usage, const Price& price) { settle(usage, cost(price, usage)); }

    const RateLimitInfo& info() const { return info_; }
    std::int64_t reserved_tokens() const { return reserved_tokens_; }
    Nanos reserved_cost_nanos() const { return reserved_cost_; }

  private:
    friend class Governance;
    void release();

    std::shared_ptr<CounterTable> table_;  // keeps the counters alive
    std::vector<Charge> charges_;
    RateLimitInfo info_;
    std::int64_t reserved_tokens_ = 0;
    Nanos reserved_cost_ = 0;
    bool active_ = false;
};

struct Options {
    // Unix time in milliseconds. Injected for tests; the default reads the system clock.
    std::function<std::int64_t()> now_ms;
    // Counters to continue from (e.g. the previous Governance on a config reload); new if null.
    std::shared_ptr<CounterTable> counters;
    bool start_threads = true;  // JWKS refresh and spend/key-store threads
    bool fetch_jwks = true;     // fetch every JWKS once in create() (off for CLI tools)
    // Called on the JWKS thread after each background refresh round (tests wait on it).
    std::function<void()> on_jwks_refreshed;
    // Called on the store thread after each background sync round (spend written, keys reloaded).
    std::function<void()> on_store_synced;
};

// The governance engine for one config. Thread-safe: every const method and admit() may be
// called from any worker concurrently. Owns two background threads (JWKS refresh; key store
// reload and spend flush) that stop in the destructor, which also flushes spend.
class Governance {
  public:
    static Result<std::shared_ptr<Governance>> create(const config::Config& config,
                                                      Options options = {});
    ~Governance();
    Governance(const Governance&) = delete;
    Governance& operator=(const Governance&) = delete;

    // Reads `Authorization: Bearer <key or JWT>` or `x-api-key: <key>` (Anthropic style).
    // Without `auth:` in the config, everyone is "anonymous". Errors: 401 invalid_api_key
    // (missing, malformed, unknown, revoked, expired key; bad JWT), 503 when a JWT issuer's
    // keys are unavailable.
    Result<Principal> authenticate(std::string_view authorization_header,
                                   std::string_view x_api_key) const;

    // 403 permission_denied naming the model unless every allow-list that applies (key, team,
    // user + roles) lets the principal use it.
    Status authorize(const Principal& principal, std::string_view model) const;

    // Reserves one request, the estimated tokens and the worst-case cost against every limit and
    // budget that applies. Call it with served model names only (after the 404 model check):
    // per-model counters are created on first use and never freed. 429 rate_limit_exceeded or
    // insufficient_quota with retry_after set; `info`, when given, is filled for the x-ratelimit-*
    // headers either way.
    Result<Admission> admit(const Principal& principal, std::string_view model,
                            const Estimate& estimate, RateLimitInfo* info = nullptr);

    // What a principal may grant (enforced by every key-creation path): a new key's models must
    // be covered by the creator's, its limits and budgets must be set and no larger, and it may
    // not outlive the creator. Admin principals may grant anything.
    Status check_grant(const Principal& creator, const config::ApiKeyEntry& requested) const;

    // A principal standing for a user in a team (roles from auth.users), without a credential:
    // what `switchboard keys create --owner --team` grants from.
    Principal principal_for(std::string owner, std::string team) const;

    // Synchronously refetches every JWKS (startup and tests; the background thread does the same
    // periodically). Returns the number of issuers whose fetch failed.
    int refresh_jwks_now();
    // Synchronously reloads keys from the SQLite store and writes pending spend.
    Status sync_store_now();

    bool enabled() const { return auth_.enabled; }
    const std::shared_ptr<CounterTable>& counters() const { return counters_; }

  private:
    struct Private {};

  public:
    Governance(Private, const config::Config& config, Options options);

  private:
    struct KeyTable {
        std::unordered_map<std::string, std::shared_ptr<const KeyRecord>> by_digest;
    };

    std::int64_t now_ms() const { return options_.now_ms(); }
    Result<Principal> authenticate_key(std::string_view key) const;
    Result<Principal> authenticate_jwt(std::string_view token) const;
    void fill_identity(Principal& p) const;
    Status set_keys(const std::vector<config::ApiKeyEntry>& keys);
    void store_loop();
    const config::Team* team(std::string_view name) const;
    const config::User* user(std::string_view name) const;
    const config::Role* role(std::string_view name) const;

    config::Auth auth_;
    std::unordered_map<std::string, const config::Team*> teams_;  // into auth_
    std::unordered_map<std::string, const config::User*> users_;
    std::unordered_map<std::string, const config::Role*> roles_;
    Options options_;
    std::shared_ptr<CounterTable> counters_;
    std::atomic<std::shared_ptr<const KeyTable>> keys_;
    std::shared_ptr<JwtVerifier> jwt_;
    std::unique_ptr<JwksFetcher> jwks_;

    // Store thread: reloads keys when the file changed, writes dirty spend.
    std::unique_ptr<SqliteStore> store_;
    std::int64_t store_version_ = -1;
    std::mutex store_mu_;  // guards store_ and store_version_
    std::condition_variable wake_;
    std::mutex wake_mu_;
    bool stopping_ = false;
    std::thread store_thread_;
};

}  // namespace sb::governance
