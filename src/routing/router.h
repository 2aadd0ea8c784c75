#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "api/usage.h"
#include "config/config.h"
#include "core/error.h"
#include "telemetry/metrics.h"

// Routing and resilience (DESIGN.md section 2, steps 5-7): which targets a request may use, in
// which order, whether a failed attempt may be retried, and each target's health. One Router
// serves all workers: its state is atomics, so any worker thread may call it. It does no I/O;
// the worker runs the attempts and reports their outcomes.
namespace sb::routing {

using Clock = std::chrono::steady_clock;

// What went wrong with one attempt, decided once from its Error.
enum class Failure : std::uint8_t {
    None,           // success
    Connect,        // connect or TLS failure, connection reset before an answer
    Timeout,        // connect, first-byte, idle or total timeout
    RateLimited,    // 429
    Overloaded,     // 529 or an `overloaded_error`, also inside a stream before the first byte
    Server,         // other 5xx
    BadResponse,    // unparseable or truncated upstream answer
    Auth,           // the upstream rejected our provider credentials
    ContextWindow,  // the prompt exceeds the target's context window
    ContentPolicy,  // the upstream refused the content
    Client,         // any other 4xx: the request itself is at fault
};

Failure classify(const Error& e);
std::string_view to_string(Failure f);
// Worth another attempt (on this or another target) before anything reached the client.
bool retryable(Failure f);
// Counts against the target's health (passive outlier detection).
bool counts_against_target(Failure f);
// The fallback class a failure belongs to, if any.
std::optional<config::FallbackOn> fallback_on(Failure f);

// A Retry-After value: delta-seconds or an HTTP-date (RFC 9110 section 10.2.3), relative to
// `now`. Invalid or in the past: std::nullopt. Capped at one day.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// Exponential backoff with full jitter: uniform in [0, min(max, base * 2^retry)].
std::chrono::milliseconds backoff(int retry, std::chrono::milliseconds base,
                                  std::chrono::milliseconds max, std::mt19937_64& rng);

// What conditional rules may look at.
struct RequestFacts {
    std::string_view team;
    std::function<std::optional<std::string_view>(std::string_view)> header;  // by name
    std::function<std::optional<std::string>(std::string_view)> metadata;     // body metadata
    std::uint64_t input_tokens = 0;                                           // estimate
    std::uint64_t output_tokens = 0;  // max_tokens, or an estimate
};

// The outcome of one attempt, for health and latency tracking.
struct Outcome {
    Failure failure = Failure::None;
    std::chrono::nanoseconds ttft{0};      // time to the first response byte
    std::chrono::nanoseconds duration{0};  // whole attempt
    std::uint64_t output_tokens = 0;       // 0 when unknown
    std::optional<std::chrono::milliseconds> retry_after;
};

// The targets a request may use, in the order to try them. Empty `order` means none may be
// used now; `retry_after` then says when the first cooling target is back (if any is cooling).
struct Plan {
    std::vector<const config::Target*> order;
    std::optional<std::chrono::milliseconds> retry_after;
};

class Router {
  public:
    explicit Router(std::shared_ptr<const config::Snapshot> snapshot);

    const config::Snapshot& snapshot() const { return *snapshot_; }

    // Publishes each target's health and requests in flight as metrics (gauges that live as
    // long as the registry, which must outlive the router).
    void attach_metrics(telemetry::Registry& registry);

    Plan plan(const config::Model& model, const RequestFacts& facts, std::mt19937_64& rng,
              Clock::time_point now) const;

    // Admission of one attempt to a target: false when it is at max_in_flight or cooling down.
    bool try_start(const config::Target& t, Clock::time_point now);
    // Gives back an admission that did not become an attempt.
    void release(const config::Target& t);
    // Ends an attempt admitted by try_start.
    void finish(const config::Target& t, const Outcome& o, Clock::time_point now);

    // The outcome of an active health probe (docs/routing.md, "Active probes"); any thread. A
    // failure that counts against the target counts like a client attempt's towards ejection
    // (a dead target is ejected without client traffic), but not while it is already ejected;
    // a success ends an ejection at once; a 429 with Retry-After cools the target down; other
    // failures (the probe itself was refused as a bad request) change nothing. Probes are not
    // attempts: they never touch in_flight, attempts, failures or the retry budget.
    void probe_result(const config::Target& t, const Outcome& o, Clock::time_point now);

    // The retry budget: every request deposits retry_budget_ratio tokens (the bucket holds at
    // most max(retry_budget_min, 1)); every retry takes one. So retries never exceed
    // ratio * requests + the bucket's size, however badly the upstreams fail.
    void on_request();
    bool try_retry();

    // Admin view: every model's targets with state, cooldown end, latency averages, error rate
    // and requests in flight, as JSON.
    std::string admin_json(Clock::time_point now, std::chrono::system_clock::time_point wall) const;

    // Test and admin accessors.
    bool ejected(const config::Target& t, Clock::time_point now) const;
    std::uint32_t in_flight(const config::Target& t) const;
    double ewma_ttft_ms(const config::Target& t) const;
    std::uint64_t retries() const { return retries_.load(std::memory_order_relaxed); }
    std::uint64_t retries_refused() const {
        return retries_refused_.load(std::memory_order_relaxed);
    }

  private:
    struct State {
        std::atomic<std::uint32_t> in_flight{0};
        std::atomic<std::uint32_t> consecutive_failures{0};
        std::atomic<std::uint32_t> ejections{0};
        std::atomic<std::int64_t> ejected_until{0};  // steady ns since epoch; 0: not ejected
        std::atomic<std::int64_t> cooling_until{0};  // Retry-After cooldown
        std::atomic<std::uint64_t> attempts{0};
        std::atomic<std::uint64_t> failures{0};
        std::atomic<std::uint64_t> ttft_bits{0};  // EWMA in ms as double bits; 0: no sample
        std::atomic<std::uint64_t> tpot_bits{0};  // EWMA ms per output token
    };
    State& state(const config::Target& t) const { return states_[t.index]; }
    double latency_score(const config::Target& t, const RequestFacts& facts) const;

    void publish(const config::Target& t, Clock::time_point now) const;
    // Retry-After: cool the target down until now + after (never shortening a cooldown).
    static void cool_down(State& s, std::chrono::milliseconds after, Clock::time_point now);
    // One more failure in a row; ejects the target when there are enough.
    void count_failure(State& s, Clock::time_point now);

    std::shared_ptr<const config::Snapshot> snapshot_;
    std::unique_ptr<State[]> states_;
    std::vector<telemetry::TargetHealth*> gauges_;  // by target index; empty when not attached
    std::atomic<std::int64_t> budget_milli_;        // retry tokens * 1000
    std::int64_t budget_cap_milli_;
    std::int64_t budget_deposit_milli_;
    std::atomic<std::uint64_t> retries_{0};
    std::atomic<std::uint64_t> retries_refused_{0};
};

}  // namespace sb::routing
