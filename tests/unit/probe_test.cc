// Active health probes without sockets: the `probe` config (global default, per-target override,
// strict errors), Router::probe_result (ejection on failures, early recovery on success, a 429
// cooling down) and the probe request each provider type gets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "routing/router.h"
#include "server/adapters.h"
#include "server/prober.h"

namespace sb {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

config::EnvLookup no_env() {
    return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
}

constexpr std::string_view kProviders = R"(
providers:
  a: {type: openai-compatible, base_url: "http://a/v1", api_key: "sk-secret"}
  b: {type: anthropic, base_url: "http://b/v1", api_key: "ak-secret"}
  z: {type: azure, base_url: "http://z/openai", api_key: "az-secret"}
)";

config::Config parse_ok(std::string_view yaml) {
    auto c = config::parse(std::string(kProviders) + std::string(yaml), no_env());
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
    return c ? std::move(*c) : config::Config{};
}

std::string parse_error(std::string_view yaml) {
    auto c = config::parse(std::string(kProviders) + std::string(yaml), no_env());
    EXPECT_FALSE(c.has_value()) << "expected an error for:\n" << yaml;
    return c ? std::string() : c.error().message;
}

const config::Target& target(const config::Config& c, std::string_view model,
                             std::string_view name) {
    for (const config::Model& m : c.models) {
        if (m.name != model) {
            continue;
        }
        for (const config::Target& t : m.targets) {
            if (t.name == name) {
                return t;
            }
        }
    }
    throw std::runtime_error("no such target");
}

TEST(ProbeConfig, OffUnlessConfigured) {
    const config::Config c = parse_ok(R"(
models:
  m: {provider: a, model: x}
)");
    EXPECT_FALSE(c.routing.health.probe.has_value());
    EXPECT_FALSE(c.models[0].targets[0].probe.has_value());
}

TEST(ProbeConfig, GlobalDefaultAppliesToEveryTargetAndTargetsOverrideOrTurnItOff) {
    const config::Config c = parse_ok(R"(
routing:
  health: {probe: {interval: 30s, timeout: 2s, max_tokens: 3}}
models:
  m:
    targets:
      - {name: inherits, provider: a, model: x}
      - {name: faster, provider: b, model: y, probe: {interval: 5s}}
      - {name: off, provider: a, model: z, probe: false}
      - {name: on, provider: a, model: w, probe: true}
)");
    ASSERT_TRUE(c.routing.health.probe.has_value());
    EXPECT_EQ(c.routing.health.probe->interval, 30s);
    const auto& inherits = target(c, "m", "inherits");
    ASSERT_TRUE(inherits.probe.has_value());
    EXPECT_EQ(inherits.probe->interval, 30s);
    EXPECT_EQ(inherits.probe->timeout, 2s);
    EXPECT_EQ(inherits.probe->max_tokens, 3);
    const auto& faster = target(c, "m", "faster");
    ASSERT_TRUE(faster.probe.has_value());
    EXPECT_EQ(faster.probe->interval, 5s);
    EXPECT_EQ(faster.probe->timeout, 2s);
    EXPECT_EQ(faster.probe->max_tokens, 3);
    EXPECT_FALSE(target(c, "m", "off").probe.has_value());
    ASSERT_TRUE(target(c, "m", "on").probe.has_value());
    EXPECT_EQ(target(c, "m", "on").probe->interval, 30s);
}

TEST(ProbeConfig, PerTargetProbeWithoutAGlobalOneAndTimeoutDefaults) {
    const config::Config c = parse_ok(R"(
models:
  m: {provider: a, model: x, probe: {interval: 50ms}}
  n: {provider: a, model: x, probe: {interval: 1m}}
)");
    const auto& m = c.models[0].targets[0];
    ASSERT_TRUE(m.probe.has_value());
    EXPECT_EQ(m.probe->interval, 50ms);
    EXPECT_EQ(m.probe->timeout, 50ms);  // never longer than the interval
    EXPECT_EQ(m.probe->max_tokens, 1);
    EXPECT_EQ(c.models[1].targets[0].probe->timeout, 5s);
}

TEST(ProbeConfig, BadValuesNameTheirPath) {
    EXPECT_THAT(parse_error(R"(
routing: {health: {probe: {interval: 1s, timeout: 2s}}}
)"),
                StartsWith("routing.health.probe.timeout: the probe timeout"));
    EXPECT_THAT(parse_error(R"(
routing: {health: {probe: {intervall: 1s}}}
)"),
                StartsWith("routing.health.probe.intervall: unknown key"));
    EXPECT_THAT(parse_error(R"(
routing: {health: {probe: {max_tokens: 0}}}
)"),
                StartsWith("routing.health.probe.max_tokens: must be an integer between 1"));
    EXPECT_THAT(parse_error(R"(
models:
  m: {targets: [{provider: a, model: x, probe: sometimes}]}
)"),
                StartsWith("models.m.targets[0].probe: must be a mapping"));
    EXPECT_THAT(parse_error(R"(
models:
  m: {targets: [{provider: a, model: x, probe: [1]}]}
)"),
                StartsWith("models.m.targets[0].probe: must be a mapping"));
    EXPECT_THAT(parse_error(R"(
models:
  m: {provider: a, model: x, probe: {interval: 0s}}
)"),
                StartsWith("models.m.probe.interval: must be a duration"));
}

std::shared_ptr<const config::Snapshot> snapshot_of(std::string_view yaml) {
    return std::make_shared<const config::Snapshot>(parse_ok(yaml));
}

constexpr std::string_view kHealth = R"(
routing:
  health: {consecutive_failures: 2, base_ejection: 10s, max_ejection: 40s,
           max_ejected_percent: 100}
models:
  m:
    targets:
      - {name: one, provider: a, model: x}
      - {name: two, provider: b, model: y}
)";

routing::Outcome probe_failed(routing::Failure f,
                              std::optional<std::chrono::milliseconds> after = std::nullopt) {
    routing::Outcome o;
    o.failure = f;
    o.retry_after = after;
    return o;
}

TEST(ProbeResult, FailingProbesEjectATargetWithoutClientTraffic) {
    auto snap = snapshot_of(kHealth);
    routing::Router router(snap);
    const config::Target& one = snap->config().models[0].targets[0];
    const auto t0 = routing::Clock::now();
    router.probe_result(one, probe_failed(routing::Failure::Connect), t0);
    EXPECT_FALSE(router.ejected(one, t0));
    router.probe_result(one, probe_failed(routing::Failure::Timeout), t0 + 1s);
    EXPECT_TRUE(router.ejected(one, t0 + 1s));
    EXPECT_TRUE(router.ejected(one, t0 + 10s));
    EXPECT_FALSE(router.ejected(one, t0 + 12s));
    // More failing probes while ejected do not lengthen the ejection.
    for (int i = 0; i < 5; ++i) {
        router.probe_result(one, probe_failed(routing::Failure::Server), t0 + 2s);
    }
    EXPECT_FALSE(router.ejected(one, t0 + 12s));
    // Probes are not attempts: no attempts, failures or requests in flight.
    const std::string json = router.admin_json(t0 + 1s, std::chrono::system_clock::now());
    EXPECT_THAT(json, HasSubstr(R"("name":"one","provider":"a","model":"x","state":"ejected")"));
    EXPECT_THAT(json, HasSubstr(R"("in_flight":0,"attempts":0,"failures":0)"));
    EXPECT_EQ(router.in_flight(one), 0u);
    EXPECT_EQ(router.retries(), 0u);
}

TEST(ProbeResult, ASuccessfulProbeEndsAnEjectionEarly) {
    auto snap = snapshot_of(kHealth);
    routing::Router router(snap);
    const config::Target& two = snap->config().models[0].targets[1];
    const auto t0 = routing::Clock::now();
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(router.try_start(two, t0));
        router.finish(two, probe_failed(routing::Failure::Server), t0);
    }
    ASSERT_TRUE(router.ejected(two, t0 + 1s));
    router.probe_result(two, probe_failed(routing::Failure::None), t0 + 1s);
    EXPECT_FALSE(router.ejected(two, t0 + 1s));
    std::mt19937_64 rng(1);
    const auto plan = router.plan(snap->config().models[0], {}, rng, t0 + 1s);
    EXPECT_EQ(plan.order.size(), 2u);
    // The ejection count is kept: failing again ejects for twice as long.
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(router.try_start(two, t0 + 2s));
        router.finish(two, probe_failed(routing::Failure::Server), t0 + 2s);
    }
    EXPECT_TRUE(router.ejected(two, t0 + 2s + 19s));
}

TEST(ProbeResult, RateLimitedProbeCoolsDownAndClientErrorsChangeNothing) {
    auto snap = snapshot_of(kHealth);
    routing::Router router(snap);
    const config::Target& one = snap->config().models[0].targets[0];
    const auto t0 = routing::Clock::now();
    for (int i = 0; i < 5; ++i) {
        router.probe_result(one, probe_failed(routing::Failure::Client), t0);
        router.probe_result(one, probe_failed(routing::Failure::RateLimited), t0);
    }
    EXPECT_FALSE(router.ejected(one, t0));
    EXPECT_TRUE(router.try_start(one, t0));
    router.release(one);
    router.probe_result(one, probe_failed(routing::Failure::RateLimited, 30s), t0);
    EXPECT_FALSE(router.try_start(one, t0 + 29s));
    EXPECT_TRUE(router.try_start(one, t0 + 31s));
    router.release(one);
    EXPECT_FALSE(router.ejected(one, t0));
}

TEST(ProbeRequest, OpenAIFormatIsAGetOfModelsWithTheProvidersAuth) {
    const config::Config c = parse_ok(R"(
models:
  m: {provider: a, model: x, probe: true}
)");
    const auto& t = c.models[0].targets[0];
    auto req = server::build_probe(c.providers[0], t, *t.probe, nullptr);
    ASSERT_TRUE(req.has_value()) << req.error().message;
    EXPECT_FALSE(req->post);
    EXPECT_EQ(req->url, "http://a/v1/models");
    EXPECT_THAT(req->headers, ::testing::Contains("Authorization: Bearer sk-secret"));
    EXPECT_TRUE(req->body.empty());
}

TEST(ProbeRequest, AzureProbesItsDeploymentWithATinyChatCompletion) {
    const config::Config c = parse_ok(R"(
models:
  m: {provider: z, model: dep1, probe: {interval: 1s, max_tokens: 2}}
)");
    const auto& t = c.models[0].targets[0];
    auto req = server::build_probe(c.providers[2], t, *t.probe, nullptr);
    ASSERT_TRUE(req.has_value()) << req.error().message;
    EXPECT_TRUE(req->post);
    EXPECT_THAT(req->url,
                StartsWith("http://z/openai/deployments/dep1/chat/completions?api-version="));
    EXPECT_THAT(req->body, HasSubstr(R"("max_tokens":2)"));
}

TEST(ProbeRequest, TranslatedProvidersGetTheAdaptersMinimalChatRequest) {
    const config::Config c = parse_ok(R"(
models:
  m: {provider: b, model: claude-x, probe: true}
)");
    const auto& t = c.models[0].targets[0];
    auto adapter = server::make_adapter(c.providers[1]);
    ASSERT_NE(adapter, nullptr);
    auto req = server::build_probe(c.providers[1], t, *t.probe, adapter.get());
    ASSERT_TRUE(req.has_value()) << req.error().message;
    EXPECT_TRUE(req->post);
    EXPECT_EQ(req->url, "http://b/v1/messages");
    EXPECT_THAT(req->body, HasSubstr(R"("max_tokens":1)"));
    EXPECT_THAT(req->body, HasSubstr("claude-x"));
    EXPECT_THAT(req->headers, ::testing::Contains("x-api-key: ak-secret"));
}

TEST(ProbeRequest, APatternsTargetCannotBeProbedWithAChatCompletion) {
    const config::Config c = parse_ok(R"(
models:
  "claude-*": {provider: b, probe: true}
)");
    const auto& t = c.models[0].targets[0];
    auto adapter = server::make_adapter(c.providers[1]);
    EXPECT_FALSE(server::build_probe(c.providers[1], t, *t.probe, adapter.get()).has_value());
}

TEST(Prober, DoesNotStartWhenNoTargetIsProbed) {
    auto snap = snapshot_of(R"(
models:
  m: {provider: a, model: x}
)");
    routing::Router router(snap);
    telemetry::Registry registry;
    EXPECT_FALSE(server::Prober::wanted(*snap));
    EXPECT_TRUE(server::Prober::start(snap, router, registry) == nullptr);
}

}  // namespace
}  // namespace sb
