#include "routing/router.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>

namespace sb::routing {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr double kEwmaAlpha = 0.3;
constexpr std::int64_t kMilli = 1000;

std::int64_t ticks(Clock::time_point t) {
    return std::chrono::duration_cast<nanoseconds>(t.time_since_epoch()).count();
}

bool icontains(std::string_view haystack, std::string_view needle) {
    if (needle.size() > haystack.size()) {
        return false;
    }
    for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
        bool match = true;
        for (std::size_t j = 0; j < needle.size(); ++j) {
            if (std::tolower(static_cast<unsigned char>(haystack[i + j])) !=
                std::tolower(static_cast<unsigned char>(needle[j]))) {
                match = false;
                break;
            }
        }
        if (match) {
            return true;
        }
    }
    return false;
}

// Providers say "context window exceeded" in many ways; these are the ones their API
// references and SDK test suites show (OpenAI's code, Anthropic's and Bedrock's messages,
// Gemini's INVALID_ARGUMENT text).
bool is_context_window(const Error& e) {
    static constexpr std::array<std::string_view, 3> kCodes{
        "context_length_exceeded", "string_above_max_length", "context_window_exceeded"};
    for (std::string_view c : kCodes) {
        if (e.upstream_code == c) {
            return true;
        }
    }
    static constexpr std::array<std::string_view, 7> kPhrases{
        "maximum context length", "context window",        "prompt is too long",
        "input is too long",      "too many input tokens", "exceeds the maximum number of tokens",
        "context length"};
    return std::any_of(kPhrases.begin(), kPhrases.end(),
                       [&](std::string_view p) { return icontains(e.message, p); });
}

bool is_content_policy(const Error& e) {
    static constexpr std::array<std::string_view, 4> kCodes{
        "content_filter", "content_policy_violation", "responsible_ai_policy_violation",
        "content_policy"};
    for (std::string_view c : kCodes) {
        if (e.upstream_code == c || e.upstream_type == c) {
            return true;
        }
    }
    return false;
}

double load_double(const std::atomic<std::uint64_t>& a) {
    return std::bit_cast<double>(a.load(std::memory_order_relaxed));
}

void ewma_update(std::atomic<std::uint64_t>& a, double sample) {
    std::uint64_t old = a.load(std::memory_order_relaxed);
    for (;;) {
        const double prev = std::bit_cast<double>(old);
        const double next = old == 0 ? sample : prev + kEwmaAlpha * (sample - prev);
        if (a.compare_exchange_weak(old, std::bit_cast<std::uint64_t>(next),
                                    std::memory_order_relaxed)) {
            return;
        }
    }
}

std::optional<int> month_index(std::string_view m) {
    static constexpr std::array<std::string_view, 12> kMonths{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (std::size_t i = 0; i < kMonths.size(); ++i) {
        if (kMonths[i] == m) {
            return static_cast<int>(i);
        }
    }
    return std::nullopt;
}

std::optional<int> number(std::string_view s, std::size_t digits) {
    if (s.size() != digits) {
        return std::nullopt;
    }
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        v = v * 10 + (c - '0');
    }
    return v;
}

// "08:49:37"
bool parse_clock(std::string_view s, std::tm& tm) {
    if (s.size() != 8 || s[2] != ':' || s[5] != ':') {
        return false;
    }
    auto h = number(s.substr(0, 2), 2);
    auto m = number(s.substr(3, 2), 2);
    auto sec = number(s.substr(6, 2), 2);
    if (!h || !m || !sec || *h > 23 || *m > 59 || *sec > 60) {
        return false;
    }
    tm.tm_hour = *h;
    tm.tm_min = *m;
    tm.tm_sec = *sec;
    return true;
}

std::vector<std::string_view> split_spaces(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && s[i] == ' ') {
            ++i;
        }
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ') {
            ++j;
        }
        if (j > i) {
            out.push_back(s.substr(i, j - i));
        }
        i = j;
    }
    return out;
}

// The three HTTP-date forms of RFC 9110 section 5.6.7: IMF-fixdate, RFC 850, asctime.
std::optional<std::time_t> parse_http_date(std::string_view v) {
    std::tm tm{};
    const auto parts = split_spaces(v);
    if (parts.size() == 6 && parts[0].size() == 4 && parts[0][3] == ',' && parts[5] == "GMT") {
        // Sun, 06 Nov 1994 08:49:37 GMT
        auto day = number(parts[1], 2);
        auto mon = month_index(parts[2]);
        auto year = number(parts[3], 4);
        if (!day || !mon || !year || !parse_clock(parts[4], tm)) {
            return std::nullopt;
        }
        tm.tm_mday = *day;
        tm.tm_mon = *mon;
        tm.tm_year = *year - 1900;
    } else if (parts.size() == 4 && parts[0].ends_with(',') && parts[3] == "GMT" &&
               parts[1].size() == 9 && parts[1][2] == '-' && parts[1][6] == '-') {
        // Sunday, 06-Nov-94 08:49:37 GMT (two-digit years: RFC 9110 says interpret a year more
        // than 50 years in the future as the past century).
        auto day = number(parts[1].substr(0, 2), 2);
        auto mon = month_index(parts[1].substr(3, 3));
        auto year = number(parts[1].substr(7, 2), 2);
        if (!day || !mon || !year || !parse_clock(parts[2], tm)) {
            return std::nullopt;
        }
        tm.tm_mday = *day;
        tm.tm_mon = *mon;
        tm.tm_year = *year < 70 ? *year + 100 : *year;
    } else if (parts.size() == 5 && parts[0].size() == 3) {
        // Sun Nov  6 08:49:37 1994
        auto mon = month_index(parts[1]);
        auto day = parts[2].size() == 1 ? number(parts[2], 1) : number(parts[2], 2);
        auto year = number(parts[4], 4);
        if (!day || !mon || !year || !parse_clock(parts[3], tm)) {
            return std::nullopt;
        }
        tm.tm_mday = *day;
        tm.tm_mon = *mon;
        tm.tm_year = *year - 1900;
    } else {
        return std::nullopt;
    }
    if (tm.tm_mday < 1 || tm.tm_mday > 31) {
        return std::nullopt;
    }
    return timegm(&tm);
}

}  // namespace

Failure classify(const Error& e) {
    switch (e.code) {
        case ErrorCode::UpstreamUnreachable:
            return Failure::Connect;
        case ErrorCode::UpstreamTimeout:
            return Failure::Timeout;
        case ErrorCode::UpstreamBadResponse:
            return Failure::BadResponse;
        case ErrorCode::UpstreamAuth:
            return Failure::Auth;
        case ErrorCode::RateLimited:
            return Failure::RateLimited;
        case ErrorCode::Unavailable:
            return Failure::Server;
        case ErrorCode::UpstreamError:
            break;
        default:
            return Failure::Client;
    }
    const int status = e.upstream_status;
    if (status == 429) {
        return Failure::RateLimited;
    }
    if (status == 529 || e.upstream_type == "overloaded_error") {
        return Failure::Overloaded;
    }
    if (status >= 500 || status == 0) {
        return Failure::Server;
    }
    if (status == 408) {
        return Failure::Timeout;
    }
    if (is_context_window(e)) {
        return Failure::ContextWindow;
    }
    if (is_content_policy(e)) {
        return Failure::ContentPolicy;
    }
    return Failure::Client;
}

std::string_view to_string(Failure f) {
    switch (f) {
        case Failure::None:
            return "none";
        case Failure::Connect:
            return "connect";
        case Failure::Timeout:
            return "timeout";
        case Failure::RateLimited:
            return "rate_limited";
        case Failure::Overloaded:
            return "overloaded";
        case Failure::Server:
            return "server_error";
        case Failure::BadResponse:
            return "bad_response";
        case Failure::Auth:
            return "upstream_auth";
        case Failure::ContextWindow:
            return "context_window";
        case Failure::ContentPolicy:
            return "content_policy";
        case Failure::Client:
            return "client_error";
    }
    return "unknown";
}

bool retryable(Failure f) {
    switch (f) {
        case Failure::Connect:
        case Failure::Timeout:
        case Failure::RateLimited:
        case Failure::Overloaded:
        case Failure::Server:
        case Failure::BadResponse:
        case Failure::Auth:  // our key for this provider is wrong; another target may work
            return true;
        default:
            return false;
    }
}

bool counts_against_target(Failure f) {
    return retryable(f) && f != Failure::RateLimited;
}

std::optional<config::FallbackOn> fallback_on(Failure f) {
    switch (f) {
        case Failure::ContextWindow:
            return config::FallbackOn::ContextWindow;
        case Failure::ContentPolicy:
            return config::FallbackOn::ContentPolicy;
        case Failure::RateLimited:
            return config::FallbackOn::RateLimited;
        case Failure::Connect:
        case Failure::Timeout:
        case Failure::Overloaded:
        case Failure::Server:
        case Failure::BadResponse:
        case Failure::Auth:
            return config::FallbackOn::Unavailable;
        default:
            return std::nullopt;
    }
}

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              std::chrono::system_clock::time_point now) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
    }
    if (value.empty()) {
        return std::nullopt;
    }
    constexpr milliseconds kCap = std::chrono::hours(24);
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        std::uint64_t seconds = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec == std::errc::result_out_of_range) {
            return kCap;
        }
        if (ec != std::errc() || end != value.data() + value.size()) {
            return std::nullopt;
        }
        if (seconds == 0) {
            return std::nullopt;
        }
        return std::min<milliseconds>(
            kCap, std::chrono::seconds(std::min<std::uint64_t>(seconds, 24 * 3600)));
    }
    const auto when = parse_http_date(value);
    if (!when) {
        return std::nullopt;
    }
    const auto delta = std::chrono::system_clock::from_time_t(*when) - now;
    if (delta <= std::chrono::system_clock::duration::zero()) {
        return std::nullopt;
    }
    return std::min<milliseconds>(kCap, std::chrono::ceil<milliseconds>(delta));
}

milliseconds backoff(int retry, milliseconds base, milliseconds max, std::mt19937_64& rng) {
    const int shift = std::clamp(retry, 0, 30);
    const double ceiling =
        std::min<double>(static_cast<double>(max.count()),
                         static_cast<double>(base.count()) * std::ldexp(1.0, shift));
    std::uniform_real_distribution<double> dist(0.0, ceiling);
    return milliseconds(static_cast<std::int64_t>(dist(rng)));
}

Router::Router(std::shared_ptr<const config::Snapshot> snapshot)
    : snapshot_(std::move(snapshot)),
      states_(std::make_unique<State[]>(std::max<std::size_t>(1, snapshot_->target_count()))) {
    const config::Routing& r = snapshot_->config().routing;
    budget_cap_milli_ = std::max<std::int64_t>(1, r.retry_budget_min) * kMilli;
    budget_deposit_milli_ = static_cast<std::int64_t>(std::llround(r.retry_budget_ratio * kMilli));
    budget_milli_.store(budget_cap_milli_);
}

void Router::attach_metrics(telemetry::Registry& registry) {
    gauges_.assign(snapshot_->target_count(), nullptr);
    for (const config::Model& m : snapshot_->config().models) {
        for (const config::Target& t : m.targets) {
            gauges_[t.index] = &registry.target_health(snapshot_->provider_of(t).name, t.name);
        }
    }
}

void Router::publish(const config::Target& t, Clock::time_point now) const {
    if (gauges_.empty()) {
        return;
    }
    const State& s = state(t);
    const std::int64_t n = ticks(now);
    gauges_[t.index]->set_healthy(s.ejected_until.load(std::memory_order_relaxed) <= n &&
                                  s.cooling_until.load(std::memory_order_relaxed) <= n);
    gauges_[t.index]->in_flight.store(s.in_flight.load(std::memory_order_relaxed),
                                      std::memory_order_relaxed);
}

void Router::on_request() {
    std::int64_t cur = budget_milli_.load(std::memory_order_relaxed);
    for (;;) {
        const std::int64_t next = std::min(budget_cap_milli_, cur + budget_deposit_milli_);
        if (next == cur ||
            budget_milli_.compare_exchange_weak(cur, next, std::memory_order_relaxed)) {
            return;
        }
    }
}

bool Router::try_retry() {
    std::int64_t cur = budget_milli_.load(std::memory_order_relaxed);
    for (;;) {
        if (cur < kMilli) {
            retries_refused_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        if (budget_milli_.compare_exchange_weak(cur, cur - kMilli, std::memory_order_relaxed)) {
            retries_.fetch_add(1, std::memory_order_relaxed);
            return true;
        }
    }
}

bool Router::ejected(const config::Target& t, Clock::time_point now) const {
    return state(t).ejected_until.load(std::memory_order_relaxed) > ticks(now);
}

std::uint32_t Router::in_flight(const config::Target& t) const {
    return state(t).in_flight.load(std::memory_order_relaxed);
}

double Router::ewma_ttft_ms(const config::Target& t) const {
    return load_double(state(t).ttft_bits);
}

double Router::latency_score(const config::Target& t, const RequestFacts& facts) const {
    const State& s = state(t);
    if (s.ttft_bits.load(std::memory_order_relaxed) == 0) {
        return 0.0;  // never measured: try it first
    }
    const double tokens =
        facts.output_tokens > 0 ? static_cast<double>(facts.output_tokens) : 256.0;
    return load_double(s.ttft_bits) + load_double(s.tpot_bits) * tokens;
}

Plan Router::plan(const config::Model& model, const RequestFacts& facts, std::mt19937_64& rng,
                  Clock::time_point now) const {
    // Rules: the first whose conditions all hold restricts the candidates.
    const config::Rule* rule = nullptr;
    for (const config::Rule& r : model.rules) {
        bool holds = r.team.empty() || r.team == facts.team;
        for (const auto& [name, value] : r.headers) {
            if (!holds) {
                break;
            }
            const auto v = facts.header ? facts.header(name) : std::nullopt;
            holds = v && *v == value;
        }
        for (const auto& [key, value] : r.metadata) {
            if (!holds) {
                break;
            }
            const auto v = facts.metadata ? facts.metadata(key) : std::nullopt;
            holds = v && *v == value;
        }
        if (holds) {
            rule = &r;
            break;
        }
    }
    std::vector<const config::Target*> candidates;
    for (const config::Target& t : model.targets) {
        if (rule == nullptr ||
            std::find(rule->targets.begin(), rule->targets.end(), t.name) != rule->targets.end()) {
            candidates.push_back(&t);
        }
    }

    // Health: cooling targets (Retry-After) are skipped; ejected ones too, unless more than the
    // allowed share of candidates is ejected, when all are used (ejected last).
    Plan plan;
    const std::int64_t now_ticks = ticks(now);
    std::vector<const config::Target*> healthy;
    std::vector<const config::Target*> ejected_targets;
    std::int64_t soonest_cool = std::numeric_limits<std::int64_t>::max();
    for (const config::Target* t : candidates) {
        publish(*t, now);
        const State& s = state(*t);
        const std::int64_t cool = s.cooling_until.load(std::memory_order_relaxed);
        if (cool > now_ticks) {
            soonest_cool = std::min(soonest_cool, cool);
            continue;
        }
        if (s.ejected_until.load(std::memory_order_relaxed) > now_ticks) {
            ejected_targets.push_back(t);
        } else {
            healthy.push_back(t);
        }
    }
    if (healthy.empty() && ejected_targets.empty()) {
        if (soonest_cool != std::numeric_limits<std::int64_t>::max()) {
            plan.retry_after =
                std::chrono::ceil<milliseconds>(nanoseconds(soonest_cool - now_ticks));
        }
        return plan;
    }
    const int max_percent = snapshot_->config().routing.health.max_ejected_percent;
    const bool use_ejected =
        !ejected_targets.empty() &&
        ejected_targets.size() * 100 >
            static_cast<std::size_t>(max_percent) * (healthy.size() + ejected_targets.size());

    // Weighted random order (Efraimidis-Spirakis keys: u^(1/w), largest first); weight 0 last.
    auto weighted_keys = [&](const std::vector<const config::Target*>& ts) {
        std::vector<std::pair<double, const config::Target*>> keyed;
        std::uniform_real_distribution<double> u(0.0, 1.0);
        for (const config::Target* t : ts) {
            const double r = u(rng);
            const double key = t->weight == 0 ? -1.0 : std::pow(r, 1.0 / t->weight);
            keyed.emplace_back(key, t);
        }
        return keyed;
    };
    auto order = [&](std::vector<const config::Target*> ts) {
        auto keyed = weighted_keys(ts);
        switch (model.strategy) {
            case config::Strategy::Weighted:
                std::stable_sort(keyed.begin(), keyed.end(),
                                 [](const auto& a, const auto& b) { return a.first > b.first; });
                break;
            case config::Strategy::Priority:
                std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
                    if (a.second->priority != b.second->priority) {
                        return a.second->priority < b.second->priority;
                    }
                    return a.first > b.first;
                });
                break;
            case config::Strategy::LeastLatency: {
                std::uniform_real_distribution<double> u(0.0, 1.0);
                const bool explore = u(rng) < snapshot_->config().routing.exploration;
                if (explore) {
                    std::shuffle(keyed.begin(), keyed.end(), rng);
                } else {
                    for (auto& [key, t] : keyed) {
                        key = latency_score(*t, facts);
                    }
                    std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
                        return a.first < b.first;
                    });
                }
                break;
            }
            case config::Strategy::LowestCost: {
                // The estimate's cost (no cached tokens), in nano-units; unpriced targets last.
                const api::Usage estimate{facts.input_tokens, facts.output_tokens, 0, 0};
                auto cost = [&](const config::Target* t) {
                    if (!t->price) {
                        return std::numeric_limits<api::Nanos>::max();
                    }
                    return api::cost_nanos(*t->price, estimate);
                };
                std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
                    const api::Nanos ca = cost(a.second);
                    const api::Nanos cb = cost(b.second);
                    if (ca != cb) {
                        return ca < cb;
                    }
                    if (a.second->priority != b.second->priority) {
                        return a.second->priority < b.second->priority;
                    }
                    return a.first > b.first;
                });
                break;
            }
        }
        for (const auto& [key, t] : keyed) {
            plan.order.push_back(t);
        }
    };
    order(std::move(healthy));
    if (use_ejected || plan.order.empty()) {
        order(std::move(ejected_targets));
    }
    return plan;
}

bool Router::try_start(const config::Target& t, Clock::time_point now) {
    State& s = state(t);
    if (s.cooling_until.load(std::memory_order_relaxed) > ticks(now)) {
        return false;
    }
    if (t.max_in_flight == 0) {
        s.in_flight.fetch_add(1, std::memory_order_relaxed);
    } else {
        std::uint32_t cur = s.in_flight.load(std::memory_order_relaxed);
        do {
            if (cur >= t.max_in_flight) {
                return false;
            }
        } while (!s.in_flight.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
    }
    s.attempts.fetch_add(1, std::memory_order_relaxed);
    publish(t, now);
    return true;
}

void Router::release(const config::Target& t) {
    State& s = state(t);
    s.in_flight.fetch_sub(1, std::memory_order_relaxed);
    s.attempts.fetch_sub(1, std::memory_order_relaxed);
    publish(t, Clock::now());
}

void Router::finish(const config::Target& t, const Outcome& o, Clock::time_point now) {
    State& s = state(t);
    s.in_flight.fetch_sub(1, std::memory_order_relaxed);
    struct Publish {
        const Router& r;
        const config::Target& t;
        Clock::time_point now;
        ~Publish() { r.publish(t, now); }
    } publish_on_return{*this, t, now};
    if (o.failure == Failure::None) {
        s.consecutive_failures.store(0, std::memory_order_relaxed);
        // A success after an ejection slowly forgives it: the next ejection is shorter.
        std::uint32_t ej = s.ejections.load(std::memory_order_relaxed);
        while (ej > 0 &&
               !s.ejections.compare_exchange_weak(ej, ej - 1, std::memory_order_relaxed)) {
        }
        if (o.ttft.count() > 0) {
            ewma_update(s.ttft_bits, std::chrono::duration<double, std::milli>(o.ttft).count());
        }
        if (o.output_tokens > 1 && o.duration > o.ttft) {
            const double per_token =
                std::chrono::duration<double, std::milli>(o.duration - o.ttft).count() /
                static_cast<double>(o.output_tokens - 1);
            ewma_update(s.tpot_bits, per_token);
        }
        return;
    }
    if (!retryable(o.failure)) {
        return;  // the request was at fault, not the target
    }
    s.failures.fetch_add(1, std::memory_order_relaxed);
    if (o.failure == Failure::RateLimited) {
        if (o.retry_after) {
            cool_down(s, *o.retry_after, now);
        }
        return;
    }
    count_failure(s, now);
}

void Router::cool_down(State& s, milliseconds after, Clock::time_point now) {
    const std::int64_t until = ticks(now + after);
    std::int64_t cur = s.cooling_until.load(std::memory_order_relaxed);
    while (cur < until &&
           !s.cooling_until.compare_exchange_weak(cur, until, std::memory_order_relaxed)) {
    }
}

void Router::probe_result(const config::Target& t, const Outcome& o, Clock::time_point now) {
    State& s = state(t);
    const std::int64_t n = ticks(now);
    if (o.failure == Failure::None) {
        // The target answers again: end its ejection now rather than when its cooldown is up.
        // The ejection count stays, so a target that fails again is ejected for longer.
        std::int64_t until = s.ejected_until.load(std::memory_order_relaxed);
        while (until > n &&
               !s.ejected_until.compare_exchange_weak(until, 0, std::memory_order_relaxed)) {
        }
        publish(t, now);
        return;
    }
    if (o.failure == Failure::RateLimited) {
        if (o.retry_after) {
            cool_down(s, *o.retry_after, now);
            publish(t, now);
        }
        return;
    }
    if (!counts_against_target(o.failure)) {
        return;
    }
    if (s.ejected_until.load(std::memory_order_relaxed) > n) {
        return;  // already out; a failing probe does not lengthen the ejection
    }
    count_failure(s, now);
    publish(t, now);
}

void Router::count_failure(State& s, Clock::time_point now) {
    const config::Health& h = snapshot_->config().routing.health;
    const std::uint32_t failures =
        s.consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
    if (failures < static_cast<std::uint32_t>(h.consecutive_failures)) {
        return;
    }
    s.consecutive_failures.store(0, std::memory_order_relaxed);
    const std::uint32_t n = s.ejections.fetch_add(1, std::memory_order_relaxed);
    const auto length = std::min<milliseconds>(
        h.max_ejection, h.base_ejection * (std::int64_t{1} << std::min<std::uint32_t>(n, 20)));
    s.ejected_until.store(ticks(now + length), std::memory_order_relaxed);
}

std::string Router::admin_json(Clock::time_point now,
                               std::chrono::system_clock::time_point wall) const {
    auto iso = [&](std::int64_t steady_ticks) {
        const auto at = wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                   nanoseconds(steady_ticks - ticks(now)));
        const std::time_t secs = std::chrono::system_clock::to_time_t(at);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    };
    std::string out = R"({"models":[)";
    bool first_model = true;
    const std::int64_t now_ticks = ticks(now);
    for (const config::Model& m : snapshot_->config().models) {
        if (m.targets.empty()) {
            continue;
        }
        if (!first_model) {
            out += ',';
        }
        first_model = false;
        out += R"({"model":")";
        append_json_escaped(out, m.name);
        out += R"(","strategy":")";
        out += config::to_string(m.strategy);
        out += R"(","targets":[)";
        bool first = true;
        for (const config::Target& t : m.targets) {
            const State& s = state(t);
            if (!first) {
                out += ',';
            }
            first = false;
            const std::int64_t ej = s.ejected_until.load(std::memory_order_relaxed);
            const std::int64_t cool = s.cooling_until.load(std::memory_order_relaxed);
            std::string_view st = "healthy";
            if (cool > now_ticks) {
                st = "cooling_down";
            } else if (ej > now_ticks) {
                st = "ejected";
            }
            const std::uint64_t attempts = s.attempts.load(std::memory_order_relaxed);
            const std::uint64_t failures = s.failures.load(std::memory_order_relaxed);
            out += R"({"name":")";
            append_json_escaped(out, t.name);
            out += R"(","provider":")";
            append_json_escaped(out, snapshot_->provider_of(t).name);
            out += R"(","model":")";
            append_json_escaped(out, t.upstream_model);
            out += fmt::format(R"(","state":"{}")", st);
            if (st != "healthy") {
                out += fmt::format(R"(,"until":"{}")", iso(st == "cooling_down" ? cool : ej));
            }
            out += fmt::format(
                R"(,"in_flight":{},"attempts":{},"failures":{},"error_rate":{:.4f},)"
                R"("consecutive_failures":{},"ejections":{},"ttft_ms":{:.3f},"tpot_ms":{:.3f}}})",
                s.in_flight.load(std::memory_order_relaxed), attempts, failures,
                attempts == 0 ? 0.0 : static_cast<double>(failures) / static_cast<double>(attempts),
                s.consecutive_failures.load(std::memory_order_relaxed),
                s.ejections.load(std::memory_order_relaxed), load_double(s.ttft_bits),
                load_double(s.tpot_bits));
        }
        out += "]}";
    }
    out += fmt::format(R"(],"retries":{},"retries_refused":{}}})", retries(), retries_refused());
    return out;
}

}  // namespace sb::routing
