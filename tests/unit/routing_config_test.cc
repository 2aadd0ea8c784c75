// Virtual models in the config: targets, strategies, retries, fallbacks, rules, aliases and
// patterns, and the `routing` and `admin` sections.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "config/config.h"
#include "core/glob.h"

namespace sb::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

EnvLookup no_env() {
    return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
}

constexpr std::string_view kProviders = R"(
providers:
  a: {type: openai-compatible, base_url: "http://a/v1", timeouts: {first_byte: 30s}}
  b: {type: openai-compatible, base_url: "http://b/v1"}
  off: {type: openai-compatible, base_url: "http://c/v1", api_key: "${UNSET_KEY}", optional: true}
)";

Config parse_ok(std::string_view models_yaml) {
    auto c = parse(std::string(kProviders) + std::string(models_yaml), no_env());
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
    return c ? std::move(*c) : Config{};
}

std::string parse_error(std::string_view models_yaml) {
    auto c = parse(std::string(kProviders) + std::string(models_yaml), no_env());
    EXPECT_FALSE(c.has_value()) << "expected an error for:\n" << models_yaml;
    return c ? std::string() : c.error().message;
}

TEST(RoutingConfig, TargetsCarryWeightPriorityPriceTimeoutsAndLimits) {
    const Config c = parse_ok(R"(
models:
  smart:
    strategy: priority
    retry: {max_attempts: 4, backoff_base: 50ms, backoff_max: 1s, total_deadline: 20s}
    targets:
      - provider: a
        model: big
        weight: 3
        priority: 1
        price: {input: 2.5, output: 10}
        timeouts: {first_byte: 2s}
        max_in_flight: 7
      - {name: backup, provider: b, model: other, priority: 2}
)");
    ASSERT_EQ(c.models.size(), 1u);
    const Model& m = c.models[0];
    EXPECT_EQ(m.strategy, Strategy::Priority);
    EXPECT_EQ(m.retry.max_attempts, 4);
    EXPECT_EQ(m.retry.backoff_base, 50ms);
    EXPECT_EQ(m.retry.backoff_max, 1s);
    EXPECT_EQ(m.retry.total_deadline, 20s);
    ASSERT_EQ(m.targets.size(), 2u);
    const Target& t = m.targets[0];
    EXPECT_EQ(t.name, "a/big");
    EXPECT_EQ(t.upstream_model, "big");
    EXPECT_EQ(t.weight, 3u);
    EXPECT_EQ(t.priority, 1);
    ASSERT_TRUE(t.price.has_value());
    EXPECT_DOUBLE_EQ(t.price->input, 2.5);
    EXPECT_DOUBLE_EQ(t.price->output, 10);
    EXPECT_DOUBLE_EQ(t.price->cached_input, 2.5);  // defaults to input
    EXPECT_EQ(t.timeouts.first_byte, 2s);          // the target's override ...
    EXPECT_EQ(t.timeouts.idle, 60s);               // ... over the provider's others
    EXPECT_EQ(t.max_in_flight, 7u);
    EXPECT_EQ(m.targets[1].name, "backup");
    EXPECT_EQ(m.targets[1].timeouts.first_byte, 120s);
}

TEST(RoutingConfig, ShorthandIsOneTargetWithTheProvidersTimeouts) {
    const Config c = parse_ok("models:\n  m: {provider: a, price: {input: 1, output: 2}}\n");
    ASSERT_EQ(c.models.at(0).targets.size(), 1u);
    const Target& t = c.models[0].targets[0];
    EXPECT_EQ(t.provider, "a");
    EXPECT_EQ(t.upstream_model, "m");
    EXPECT_EQ(t.timeouts.first_byte, 30s);
    EXPECT_EQ(c.models[0].strategy, Strategy::Weighted);
}

TEST(RoutingConfig, ModelNeedsExactlyOneOfProviderTargetsOrAlias) {
    EXPECT_THAT(parse_error("models:\n  m: {strategy: priority}\n"),
                StartsWith("models.m: needs exactly one of"));
    EXPECT_THAT(parse_error("models:\n  m: {provider: a, targets: [{provider: b}]}\n"),
                StartsWith("models.m: needs exactly one of"));
    EXPECT_THAT(parse_error("models:\n  m: {targets: []}\n"),
                StartsWith("models.m.targets: must be a non-empty list"));
}

TEST(RoutingConfig, TargetErrorsNameTheirListIndex) {
    EXPECT_THAT(
        parse_error("models:\n  m:\n    targets:\n      - {provider: a}\n      - {provider: "
                    "zz}\n"),
        StartsWith("models.m.targets[1].provider: unknown provider \"zz\""));
    EXPECT_THAT(parse_error("models:\n  m:\n    targets:\n      - {provider: a, weight: -1}\n"),
                StartsWith("models.m.targets[0].weight:"));
    EXPECT_THAT(parse_error("models:\n  m:\n    targets:\n      - {provider: a, price: {input: "
                            "cheap}}\n"),
                StartsWith("models.m.targets[0].price.input: must be a price"));
    EXPECT_THAT(parse_error("models:\n  m:\n    targets:\n      - {provider: a, colour: red}\n"),
                StartsWith("models.m.targets[0].colour: unknown key"));
}

TEST(RoutingConfig, DuplicateTargetNamesAreRefused) {
    EXPECT_THAT(parse_error("models:\n  m:\n    targets:\n      - {provider: a, model: x}\n      - "
                            "{provider: a, model: x}\n"),
                HasSubstr("duplicate target name \"a/x\""));
}

TEST(RoutingConfig, UnknownStrategyIsRefused) {
    EXPECT_THAT(parse_error("models:\n  m: {provider: a, strategy: fastest}\n"),
                StartsWith("models.m.strategy: must be one of weighted, priority, least_latency, "
                           "lowest_cost"));
}

TEST(RoutingConfig, AliasesResolveAndDanglingOrCyclicAliasesAreErrors) {
    const Snapshot s(
        parse_ok("models:\n  real: {provider: a}\n  nick: {alias: real}\n  nick2: "
                 "{alias: nick}\n"));
    ASSERT_NE(s.find_model("nick2"), nullptr);
    EXPECT_EQ(s.find_model("nick2")->name, "real");
    EXPECT_THAT(parse_error("models:\n  nick: {alias: ghost}\n"),
                StartsWith("models.nick.alias: unknown model \"ghost\""));
    EXPECT_THAT(parse_error("models:\n  x: {alias: y}\n  y: {alias: x}\n"),
                HasSubstr("aliases form a cycle"));
}

TEST(RoutingConfig, PatternsMatchAfterExactNamesAndTakeTheClientsModelName) {
    const Snapshot s(parse_ok("models:\n  gpt-4o: {provider: a}\n  \"gpt-4o*\": {provider: b}\n"));
    EXPECT_EQ(s.find_model("gpt-4o")->targets[0].provider, "a");
    const Model* m = s.find_model("gpt-4o-mini-2024");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->targets[0].provider, "b");
    EXPECT_EQ(m->targets[0].upstream_model, "");  // the name the client sent
    EXPECT_EQ(s.find_model("gpt-3.5"), nullptr);
}

TEST(RoutingConfig, ReferencesToPatternsAreAmbiguousAndRefused) {
    EXPECT_THAT(parse_error("models:\n  \"gpt-*\": {provider: a}\n  nick: {alias: gpt-4o}\n"),
                HasSubstr("is only matched by the pattern \"gpt-*\""));
    EXPECT_THAT(parse_error("models:\n  \"gpt-*\": {provider: a}\n  m: {provider: b, fallbacks: "
                            "{context_window: gpt-4o}}\n"),
                HasSubstr("is only matched by the pattern"));
}

TEST(RoutingConfig, FallbacksNameOtherModels) {
    const Config c = parse_ok(
        "models:\n  small: {provider: a, fallbacks: {context_window: big, "
        "unavailable: big}}\n  big: {provider: b}\n");
    ASSERT_EQ(c.models[0].fallbacks.size(), 2u);
    EXPECT_EQ(c.models[0].fallbacks[0].first, FallbackOn::ContextWindow);
    EXPECT_EQ(c.models[0].fallbacks[0].second, "big");
    EXPECT_THAT(parse_error("models:\n  m: {provider: a, fallbacks: {context_window: m}}\n"),
                HasSubstr("must name another model"));
    EXPECT_THAT(parse_error("models:\n  m: {provider: a, fallbacks: {timeout: n}}\n"),
                StartsWith("models.m.fallbacks.timeout: unknown key"));
}

TEST(RoutingConfig, RulesNameTargetsOfTheirModel) {
    const Config c = parse_ok(R"(
models:
  m:
    targets:
      - {name: fast, provider: a}
      - {name: cheap, provider: b}
    rules:
      - when: {team: research, headers: {x-tier: premium}, metadata: {app: ide}}
        targets: [fast]
)");
    ASSERT_EQ(c.models[0].rules.size(), 1u);
    const Rule& r = c.models[0].rules[0];
    EXPECT_EQ(r.team, "research");
    EXPECT_EQ(r.headers.at(0).first, "x-tier");
    EXPECT_EQ(r.metadata.at(0).second, "ide");
    EXPECT_EQ(r.targets, std::vector<std::string>{"fast"});
    EXPECT_THAT(parse_error("models:\n  m:\n    targets: [{name: fast, provider: a}]\n    rules:\n "
                            "     - {when: {team: x}, targets: [slow]}\n"),
                StartsWith("models.m.rules[0].targets[0]: unknown target \"slow\""));
    EXPECT_THAT(parse_error("models:\n  m:\n    targets: [{name: fast, provider: a}]\n    rules:\n "
                            "     - {targets: [fast]}\n"),
                HasSubstr("needs both `when` and `targets`"));
}

TEST(RoutingConfig, TargetsOfDisabledProvidersAreLeftOut) {
    const Config c = parse_ok(R"(
models:
  m:
    targets:
      - {provider: off}
      - {provider: a}
  only-off: {provider: off}
)");
    ASSERT_EQ(c.models.size(), 1u);
    ASSERT_EQ(c.models[0].targets.size(), 1u);
    EXPECT_EQ(c.models[0].targets[0].provider, "a");
}

TEST(RoutingConfig, RoutingAndAdminSections) {
    auto c = parse(R"(
routing:
  retry_budget_ratio: 0.3
  retry_budget_min: 4
  exploration: 0.1
  seed: 42
  health: {consecutive_failures: 2, base_ejection: 1s, max_ejection: 8s, max_ejected_percent: 34}
admin:
  listen: 127.0.0.1:0
)",
                   no_env());
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_DOUBLE_EQ(c->routing.retry_budget_ratio, 0.3);
    EXPECT_EQ(c->routing.retry_budget_min, 4);
    EXPECT_DOUBLE_EQ(c->routing.exploration, 0.1);
    EXPECT_EQ(c->routing.seed, 42u);
    EXPECT_EQ(c->routing.health.consecutive_failures, 2);
    EXPECT_EQ(c->routing.health.base_ejection, 1s);
    EXPECT_EQ(c->routing.health.max_ejection, 8s);
    EXPECT_EQ(c->routing.health.max_ejected_percent, 34);
    EXPECT_TRUE(c->admin.enabled);
    EXPECT_EQ(c->admin.host, "127.0.0.1");
    auto bad = parse("routing: {health: {base_ejection: 10s, max_ejection: 1s}}\n", no_env());
    ASSERT_FALSE(bad.has_value());
    EXPECT_THAT(bad.error().message, StartsWith("routing.health.max_ejection:"));
    auto clash =
        parse("server: {listen: 127.0.0.1:8080}\nadmin: {listen: 127.0.0.1:8080}\n", no_env());
    ASSERT_FALSE(clash.has_value());
    EXPECT_THAT(clash.error().message, StartsWith("admin.listen: must differ"));
}

TEST(GlobMatch, StarMatchesAnyRunAndQuestionMarkOneCharacter) {
    // The one matcher routing patterns and governance allow-lists share (core/glob.h).
    EXPECT_TRUE(glob_match("gpt-4o*", "gpt-4o"));
    EXPECT_TRUE(glob_match("gpt-4o*", "gpt-4o-mini"));
    EXPECT_TRUE(glob_match("*-mini", "gpt-4o-mini"));
    EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
    EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
    EXPECT_FALSE(glob_match("gpt-4o*", "gpt-4"));
    EXPECT_TRUE(glob_match("*", ""));
    EXPECT_TRUE(glob_match("claude-3-?-sonnet*", "claude-3-5-sonnet-latest"));
    EXPECT_FALSE(glob_match("claude-3-?-sonnet*", "claude-3-sonnet"));
    EXPECT_FALSE(glob_match("claude-3-?-sonnet*", "claude-3-10-sonnet"));
}

TEST(RoutingConfig, QuestionMarkMakesAPatternModel) {
    const Snapshot s(parse_ok(
        "models:\n  \"claude-3-?-sonnet*\": {provider: a}\n  \"gpt-4?\": {provider: b}\n"));
    ASSERT_NE(s.find_model("claude-3-5-sonnet-latest"), nullptr);
    EXPECT_EQ(s.find_model("claude-3-5-sonnet-latest")->targets[0].provider, "a");
    ASSERT_NE(s.find_model("gpt-4o"), nullptr);
    EXPECT_EQ(s.find_model("gpt-4o")->targets[0].provider, "b");
    EXPECT_EQ(s.find_model("gpt-4"), nullptr);  // `?` needs exactly one character
    EXPECT_EQ(s.find_model("gpt-4o-mini"), nullptr);
}

}  // namespace
}  // namespace sb::config
