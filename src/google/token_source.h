#pragma once

// OAuth access tokens for Google APIs (Vertex AI), obtained and refreshed off the request path.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.h"
#include "google/service_account.h"

namespace sb::google {

// Where a request gets its access token. access_token() is called on the request path: it only
// reads what a refresher left and never blocks on I/O. Implementations are thread-safe.
class TokenSource {
  public:
    virtual ~TokenSource() = default;
    // The current token, or why there is none: Unavailable (503) before the first exchange has
    // finished, the last exchange's error (UpstreamAuth when the token endpoint refused the
    // credentials, UpstreamUnreachable / UpstreamBadResponse otherwise, all 502) once the
    // previous token has expired.
    virtual Result<std::string> access_token() const = 0;
};

// A token that never changes (a static `api_key` used as an OAuth token, tests).
class StaticTokenSource final : public TokenSource {
  public:
    explicit StaticTokenSource(std::string token) : token_(std::move(token)) {}
    Result<std::string> access_token() const override { return token_; }

  private:
    std::string token_;
};

// Mints access tokens from a service-account key on a background thread it owns: signs an RS256
// JWT assertion, exchanges it at the key's token_uri (libcurl, one blocking call at a time on
// that thread), and refreshes it `refresh_margin` before expiry (at most halfway through the
// token's life). A failed exchange is retried with exponential backoff (min_backoff doubling to
// max_backoff) while any still-valid token keeps being served. Destruction stops the thread,
// aborting an exchange in flight.
class ServiceAccountTokenSource final : public TokenSource {
  public:
    struct Options {
        std::string provider_name;  // for error messages
        std::string scope = std::string(kCloudPlatformScope);
        std::chrono::seconds refresh_margin{300};
        std::chrono::milliseconds min_backoff{500};
        std::chrono::milliseconds max_backoff{60'000};
        std::chrono::milliseconds http_timeout{10'000};
    };

    ServiceAccountTokenSource(ServiceAccountKey key, Options options);
    ~ServiceAccountTokenSource() override;
    ServiceAccountTokenSource(const ServiceAccountTokenSource&) = delete;
    ServiceAccountTokenSource& operator=(const ServiceAccountTokenSource&) = delete;

    Result<std::string> access_token() const override;

    // Blocks until `count` exchanges (successful or not) have finished, or `timeout` passes;
    // returns whether they had. For startup (wait for the first token) and tests.
    bool wait_for_attempts(std::uint64_t count, std::chrono::milliseconds timeout) const;
    // Exchanges finished so far, and how many of them gave a token.
    std::uint64_t attempts() const;
    std::uint64_t successes() const;

  private:
    struct State {
        std::string token;                                 // empty: none yet
        std::chrono::steady_clock::time_point expires_at;  // when `token` stops being valid
        Error last_error;
        bool failed = false;  // the latest exchange failed
        bool attempted = false;
    };

    void run();
    Result<AccessToken> exchange();

    ServiceAccountKey key_;
    Options options_;
    std::atomic<std::shared_ptr<const State>> state_;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::uint64_t attempts_ = 0;   // guarded by mutex_
    std::uint64_t successes_ = 0;  // guarded by mutex_
    bool stopping_ = false;        // guarded by mutex_
    std::atomic<bool> abort_{false};
    std::thread thread_;
};

}  // namespace sb::google
