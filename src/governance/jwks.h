#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.h"

namespace sb::governance {

class JwtVerifier;

// Fetches each JWKS issuer's key set with libcurl (easy interface, on its own thread) and swaps
// it into the verifier. A failed fetch keeps the previous keys; the verifier stops using them
// once they are older than the issuer's jwks_ttl. Workers only call request_refresh(), which
// never blocks on I/O.
class JwksFetcher {
  public:
    JwksFetcher(std::shared_ptr<JwtVerifier> verifier, std::function<std::int64_t()> now_ms);
    ~JwksFetcher();
    JwksFetcher(const JwksFetcher&) = delete;
    JwksFetcher& operator=(const JwksFetcher&) = delete;

    // Fetches every JWKS issuer now, on the calling thread. Returns how many failed.
    int fetch_all();
    // Starts the refresh thread; `after_round` (optional) runs after each background round.
    void start(std::function<void()> after_round = {});
    // Asks the thread for an early refresh (a token named an unknown kid: keys may have
    // rotated). At most one early refresh per 10 seconds.
    void request_refresh();

  private:
    void loop();

    std::shared_ptr<JwtVerifier> verifier_;
    std::function<std::int64_t()> now_ms_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    bool refresh_requested_ = false;
    std::chrono::steady_clock::time_point last_early_{};
    std::function<void()> after_round_;
    std::thread thread_;
};

// GETs a URL (http/https, no redirects, 10 s timeout, at most 1 MiB). Exposed for tests.
Result<std::string> http_get(const std::string& url);

}  // namespace sb::governance
