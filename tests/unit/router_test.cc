// The router without sockets: error classes, Retry-After, backoff, plans per strategy, health
// (ejection, cooldown, the ejection cap), the retry budget and the admin view.
#include "routing/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <thread>

namespace sb::routing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::shared_ptr<const config::Snapshot> snapshot_of(std::string_view yaml) {
    auto c = config::parse(
        yaml, [](std::string_view) -> std::optional<std::string> { return std::nullopt; });
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
    return std::make_shared<const config::Snapshot>(c ? std::move(*c) : config::Config{});
}

constexpr std::string_view kTwo = R"(
routing: {retry_budget_ratio: 0.2, retry_budget_min: 3, exploration: 0,
          health: {consecutive_failures: 2, base_ejection: 10s, max_ejection: 40s,
                   max_ejected_percent: 50}}
providers:
  a: {type: openai-compatible, base_url: "http://a/v1"}
  b: {type: openai-compatible, base_url: "http://b/v1"}
  c: {type: openai-compatible, base_url: "http://c/v1"}
models:
  w:
    targets:
      - {name: heavy, provider: a, weight: 3}
      - {name: light, provider: b, weight: 1}
  p:
    strategy: priority
    targets:
      - {name: second, provider: b, priority: 2}
      - {name: first, provider: a, priority: 1}
  l:
    strategy: least_latency
    targets:
      - {name: slow, provider: a}
      - {name: fast, provider: b}
  cost:
    strategy: lowest_cost
    targets:
      - {name: pricey, provider: a, price: {input: 10, output: 30}}
      - {name: unpriced, provider: c}
      - {name: cheap, provider: b, price: {input: 0.1, output: 0.4}}
  r:
    targets:
      - {name: general, provider: a}
      - {name: research, provider: b}
    rules:
      - when: {team: research}
        targets: [research]
      - when: {headers: {x-tier: premium}}
        targets: [research]
  four:
    targets:
      - {name: t1, provider: a}
      - {name: t2, provider: b}
      - {name: t3, provider: c}
      - {name: t4, provider: a, model: other}
  capped:
    targets:
      - {name: only, provider: a, max_in_flight: 1}
)";

std::vector<std::string> names(const Plan& plan) {
    std::vector<std::string> out;
    for (const config::Target* t : plan.order) {
        out.push_back(t->name);
    }
    return out;
}

const config::Target& target(const config::Snapshot& s, std::string_view model,
                             std::string_view name) {
    for (const config::Target& t : s.find_model(model)->targets) {
        if (t.name == name) {
            return t;
        }
    }
    throw std::runtime_error("no such target");
}

Error upstream(int status, std::string type = {}, std::string code = {}, std::string msg = {}) {
    Error e{ErrorCode::UpstreamError, std::move(msg)};
    e.upstream_status = status;
    e.upstream_type = std::move(type);
    e.upstream_code = std::move(code);
    return e;
}

TEST(Classify, EachErrorClassOnce) {
    EXPECT_EQ(classify(Error{ErrorCode::UpstreamUnreachable, "refused"}), Failure::Connect);
    EXPECT_EQ(classify(Error{ErrorCode::UpstreamTimeout, "slow"}), Failure::Timeout);
    EXPECT_EQ(classify(Error{ErrorCode::UpstreamBadResponse, "cut"}), Failure::BadResponse);
    EXPECT_EQ(classify(upstream(429)), Failure::RateLimited);
    EXPECT_EQ(classify(upstream(529)), Failure::Overloaded);
    EXPECT_EQ(classify(upstream(500, "overloaded_error")), Failure::Overloaded);
    EXPECT_EQ(classify(upstream(503)), Failure::Server);
    EXPECT_EQ(classify(upstream(400, "invalid_request_error", "context_length_exceeded")),
              Failure::ContextWindow);
    EXPECT_EQ(classify(upstream(400, "invalid_request_error", "",
                                "prompt is too long: 210000 tokens > 200000 maximum")),
              Failure::ContextWindow);
    EXPECT_EQ(classify(upstream(400, "invalid_request_error", "content_filter")),
              Failure::ContentPolicy);
    EXPECT_EQ(classify(upstream(400, "invalid_request_error", "bad_param")), Failure::Client);
    EXPECT_EQ(classify(Error{ErrorCode::InvalidRequest, "no"}), Failure::Client);
    EXPECT_TRUE(retryable(Failure::Overloaded));
    EXPECT_TRUE(retryable(Failure::RateLimited));
    EXPECT_FALSE(retryable(Failure::Client));
    EXPECT_FALSE(retryable(Failure::ContextWindow));
    EXPECT_FALSE(counts_against_target(Failure::RateLimited));
    EXPECT_EQ(fallback_on(Failure::ContextWindow), config::FallbackOn::ContextWindow);
    EXPECT_EQ(fallback_on(Failure::Client), std::nullopt);
}

TEST(RetryAfter, SecondsAndAllThreeHttpDateForms) {
    const auto now = std::chrono::system_clock::from_time_t(784111777);  // 1994-11-06 08:49:37Z
    EXPECT_EQ(parse_retry_after("7", now), 7000ms);
    EXPECT_EQ(parse_retry_after(" 2 ", now), 2000ms);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), 10000ms);
    EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:57 GMT", now), 20000ms);
    EXPECT_EQ(parse_retry_after("Sun Nov  6 08:50:07 1994", now), 30000ms);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), std::nullopt);  // past
    EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
    EXPECT_EQ(parse_retry_after("", now), std::nullopt);
    EXPECT_EQ(parse_retry_after("-5", now), std::nullopt);
    EXPECT_EQ(parse_retry_after("99999999999999999999999", now), std::chrono::hours(24));
}

TEST(Backoff, FullJitterBoundedByTheCap) {
    std::mt19937_64 rng(1);
    for (int retry = 0; retry < 12; ++retry) {
        for (int i = 0; i < 50; ++i) {
            const auto d = backoff(retry, 100ms, 1s, rng);
            EXPECT_GE(d, 0ms);
            EXPECT_LE(d, std::min<std::chrono::milliseconds>(1s, 100ms * (1 << retry)));
        }
    }
}

TEST(Plan, WeightedOrderFollowsTheWeightsWithAFixedSeed) {
    auto snap = snapshot_of(kTwo);
    Router router(snap);
    std::mt19937_64 rng(42);
    std::map<std::string, int> first;
    constexpr int kRuns = 4000;
    for (int i = 0; i < kRuns; ++i) {
        const Plan plan = router.plan(*snap->find_model("w"), {}, rng, Clock::now());
        ASSERT_EQ(plan.order.size(), 2u);
        ++first[plan.order[0]->name];
    }
    // Expected share 3/4; five standard deviations of a binomial(4000, 0.75) is ~137.
    EXPECT_NEAR(first["heavy"], 3000, 137);
}

TEST(Plan, PriorityOrdersByPriority) {
    auto snap = snapshot_of(kTwo);
    Router router(snap);
    std::mt19937_64 rng(1);
    EXPECT_EQ(names(router.plan(*snap->find_model("p"), {}, rng, Clock::now())),
              (std::vector<std::string>{"first", "second"}));
}

TEST(Plan, LowestCostUsesPricesAndEstimatesWithUnpricedLast) {
    auto snap = snapshot_of(kTwo);
    Router router(snap);
    std::mt19937_64 rng(1);
    RequestFacts facts;
    facts.input_tokens = 1000;
    facts.output_tokens = 100;
    EXPECT_EQ(names(router.plan(*snap->find_model("cost"), facts, rng, Clock::now())),
              (std::vector<std::string>{"cheap", "pricey", "unpriced"}));
}

TEST(Plan, LeastLatencyConvergesOnTheFasterTarget) {
    auto snap = snapshot_of(kTwo);
    Router router(snap);
    std::mt19937_64 rng(3);
    const config::Model& m = *snap->find_model("l");
    auto now = Clock::now();
    for (int i = 0; i < 20; ++i) {
        const Plan plan = router.plan(m, {}, rng, now);
        const config::Target* t = plan.order.front();
        ASSERT_TRUE(router.try_start(*t, now));
        Outcome o;
        o.ttft = t->name == "fast" ? 5ms : 80ms;
        o.duration = o.ttft + 10ms;
        router.finish(*t, o, now);
    }
    EXPECT_LT(router.ewma_ttft_ms(target(*snap, "l", "fast")), 10.0);
    int fast = 0;
    for (int i = 0; i < 100; ++i) {
        fast += router.plan(m, {}, rng, now).order.front()->name == "fast" ? 1 : 0;
    }
    EXPECT_EQ(fast, 100);  // exploration is 0 in this config
}

TEST(Plan, RulesRestrictTargetsByTeamAndHeader) {
    auto snap = snapshot_of(kTwo);
    Router router(snap);
    std::mt19937_64 rng(1);
    const config::Model& m = *snap->find_model("r");
    RequestFacts research;
    research.team = "research";
    EXPECT_EQ(names(router.plan(m, research, rng, Clock::now())),
              std::vector<std::string>{"research"});
    RequestFacts premium;
    premium.header = [](std::string_view name) -> std::optional<std::string_view> {
        if (name == "x-tier") {
            return "premium";
        }
        return std::nullopt;
    };
    EXPECT_EQ(names(router.plan(m, premium, rng, Clock::now())),
              std::vector<std::string>{"research"});
    EXPECT_EQ(router.plan(m, {}, rng, Clock::now()).order.size(), 2u);
}

TEST(Health, ConsecutiveFailuresEjectWithGrowingCooldown) {
    auto snap = snapshot_of(kTwo);
    Router router(snap);
    const config::Target& heavy = target(*snap, "w", "heavy");
    const auto t0 = Clock::now();
    auto fail = [&](Clock::time_point at) {
        ASSERT_TRUE(router.try_start(heavy, at));
        router.finish(heavy, Outcome{Failure::Server, 1ms, 1ms, 0, std::nullopt}, at);
    };
    fail(t0);
    EXPECT_FALSE(router.ejected(heavy, t0));
    fail(t0);
    EXPECT_TRUE(router.ejected(heavy, t0 + 9s));
    EXPECT_FALSE(router.ejected(heavy, t0 + 11s));
    // Ejected targets are left out while the cap allows it.
    std::mt19937_64 rng(1);
    EXPECT_EQ(names(router.plan(*snap->find_model("w"), {}, rng, t0 + 1s)),
              std::vector<std::string>{"light"});
    // Second ejection: twice as long.
    fail(t0 + 12s);
    fail(t0 + 12s);
    EXPECT_TRUE(router.ejected(heavy, t0 + 12s + 19s));
    EXPECT_FALSE(router.ejected(heavy, t0 + 12s + 21s));
    // Client errors do not count against a target.
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(router.try_start(heavy, t0 + 60s));
        router.finish(heavy, Outcome{Failure::Client, 1ms, 1ms, 0, std::nullopt}, t0 + 60s);
    }
    EXPECT_FALSE(router.ejected(heavy, t0 + 60s));
}

TEST(Health, BeyondTheEjectionCapAllTargetsAreUsed) {
    auto snap = snapshot_of(kTwo);
    Router router(snap);
    std::mt19937_64 rng(1);
    const config::Model& m = *snap->find_model("four");
    const auto now = Clock::now();
    auto eject = [&](std::string_view name) {
        const config::Target& t = target(*snap, "four", name);
        for (int i = 0; i < 2; ++i) {
            ASSERT_TRUE(router.try_start(t, now));
            router.finish(t, Outcome{Failure::Connect, 0ms, 1ms, 0, std::nullopt}, now);
        }
    };
    eject("t1");
    eject("t2");  // 2 of 4 = 50%: at the cap, ejected ones are left out
    EXPECT_EQ(router.plan(m, {}, rng, now).order.size(), 2u);
    eject("t3");  // 75% > 50%: all are used, healthy first
    const auto order = names(router.plan(m, {}, rng, now));
    ASSERT_EQ(order.size(), 4u);
    EXPECT_EQ(order[0], "t4");
}

TEST(Health, RetryAfterCoolsATargetDownAndAnEmptyPlanSaysWhen) {
    auto snap = snapshot_of(kTwo);
    Router router(snap);
    std::mt19937_64 rng(1);
    const config::Target& only = target(*snap, "capped", "only");
    const auto now = Clock::now();
    ASSERT_TRUE(router.try_start(only, now));
    router.finish(only, Outcome{Failure::RateLimited, 1ms, 1ms, 0, 30s}, now);
    EXPECT_FALSE(router.try_start(only, now + 1s));
    const Plan plan = router.plan(*snap->find_model("capped"), {}, rng, now + 10s);
    EXPECT_TRUE(plan.order.empty());
    ASSERT_TRUE(plan.retry_after.has_value());
    EXPECT_EQ(*plan.retry_after, 20s);
    EXPECT_FALSE(router.ejected(only, now));  // a rate limit is not an outlier
    EXPECT_TRUE(router.try_start(only, now + 31s));
}

TEST(Health, MaxInFlightIsExactAcrossThreads) {
    auto snap = snapshot_of(kTwo);
    Router router(snap);
    const config::Target& only = target(*snap, "capped", "only");
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&] {
            if (router.try_start(only, Clock::now())) {
                admitted.fetch_add(1);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(admitted.load(), 1);
    EXPECT_EQ(router.in_flight(only), 1u);
}

TEST(RetryBudget, RetriesNeverExceedTheRatioOfRequestsPlusTheFloor) {
    auto snap = snapshot_of(kTwo);  // ratio 0.2, min 3
    Router router(snap);
    int granted = 0;
    for (int i = 0; i < 1000; ++i) {
        router.on_request();
        // Every request would like three retries.
        for (int k = 0; k < 3; ++k) {
            granted += router.try_retry() ? 1 : 0;
        }
    }
    EXPECT_LE(granted, 200 + 3);
    EXPECT_GE(granted, 200);
    EXPECT_EQ(router.retries(), static_cast<std::uint64_t>(granted));
    EXPECT_GT(router.retries_refused(), 0u);
}

TEST(Admin, JsonShowsStateCooldownAndCounters) {
    auto snap = snapshot_of(kTwo);
    Router router(snap);
    const config::Target& heavy = target(*snap, "w", "heavy");
    const auto now = Clock::now();
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(router.try_start(heavy, now));
        router.finish(heavy, Outcome{Failure::Server, 1ms, 1ms, 0, std::nullopt}, now);
    }
    const auto wall = std::chrono::system_clock::from_time_t(1'700'000'000);  // 22:13:20Z
    const std::string json = router.admin_json(now, wall);
    EXPECT_THAT(json, HasSubstr(R"({"name":"heavy","provider":"a","model":"w","state":"ejected",)"
                                R"("until":"2023-11-14T22:13:30Z","in_flight":0,"attempts":2,)"
                                R"("failures":2,"error_rate":1.0000)"));
    EXPECT_THAT(json, HasSubstr(R"({"name":"light","provider":"b","model":"w","state":"healthy")"));
}

}  // namespace
}  // namespace sb::routing
