// `telemetry:` section of the config (OTLP export): defaults, every key, strict validation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "config/config.h"

namespace sb::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;

EnvLookup env_of(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        const auto it = vars.find(std::string(name));
        if (it == vars.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

Result<Config> parse_otlp(const std::string& entries,
                          std::map<std::string, std::string> vars = {}) {
    return parse("telemetry:\n  otlp:\n" + entries + "\n", env_of(std::move(vars)));
}

std::string otlp_error(const std::string& entries) {
    auto c = parse_otlp(entries);
    EXPECT_FALSE(c.has_value()) << entries;
    return c ? "" : c.error().message;
}

TEST(ConfigTelemetry, AbsentMeansNoExport) {
    auto c = parse("server:\n  workers: 1\n", env_of({}));
    ASSERT_TRUE(c.has_value());
    EXPECT_FALSE(c->telemetry.otlp);
    auto empty = parse("telemetry:\n  otlp:\n", env_of({}));
    ASSERT_TRUE(empty.has_value()) << empty.error().message;
    EXPECT_FALSE(empty->telemetry.otlp);
}

TEST(ConfigTelemetry, EndpointAloneGivesDefaults) {
    auto c = parse_otlp("    endpoint: http://127.0.0.1:4318/");
    ASSERT_TRUE(c.has_value()) << c.error().message;
    ASSERT_TRUE(c->telemetry.otlp);
    const OtlpExport& o = *c->telemetry.otlp;
    EXPECT_EQ(o.endpoint, "http://127.0.0.1:4318");
    EXPECT_TRUE(o.headers.empty());
    EXPECT_EQ(o.timeout, 10s);
    EXPECT_EQ(o.batch_size, 512);
    EXPECT_EQ(o.interval, 5s);
    EXPECT_TRUE(o.metrics);
    EXPECT_EQ(o.metrics_interval, 60s);
    EXPECT_EQ(o.queue_size, 8192);
    EXPECT_EQ(o.service_name, "switchboard");
    EXPECT_EQ(o.sample_ratio, 1.0);
}

TEST(ConfigTelemetry, ReadsEveryKey) {
    auto c = parse_otlp(
        "    endpoint: https://otel.example.com:4318\n"
        "    headers: {x-api-key: \"${OTEL_KEY}\", x-tenant: acme}\n"
        "    timeout: 2s\n"
        "    batch_size: 64\n"
        "    interval: 250ms\n"
        "    metrics: false\n"
        "    metrics_interval: 15s\n"
        "    queue_size: 1000\n"
        "    service_name: gw-eu\n"
        "    sample_ratio: 0.25",
        {{"OTEL_KEY", "secret-otel"}});
    ASSERT_TRUE(c.has_value()) << c.error().message;
    const OtlpExport& o = *c->telemetry.otlp;
    EXPECT_EQ(o.endpoint, "https://otel.example.com:4318");
    ASSERT_EQ(o.headers.size(), 2u);
    EXPECT_EQ(o.headers[0], (std::pair<std::string, std::string>{"x-api-key", "secret-otel"}));
    EXPECT_EQ(o.timeout, 2s);
    EXPECT_EQ(o.batch_size, 64);
    EXPECT_EQ(o.interval, 250ms);
    EXPECT_FALSE(o.metrics);
    EXPECT_EQ(o.metrics_interval, 15s);
    EXPECT_EQ(o.queue_size, 1000);
    EXPECT_EQ(o.service_name, "gw-eu");
    EXPECT_EQ(o.sample_ratio, 0.25);
}

TEST(ConfigTelemetry, RejectsBadValuesNamingThePath) {
    EXPECT_THAT(otlp_error("    timeout: 2s"), StartsWith("telemetry.otlp.endpoint: is required"));
    EXPECT_THAT(otlp_error("    endpoint: ftp://x"),
                StartsWith("telemetry.otlp.endpoint: must start with http"));
    EXPECT_THAT(otlp_error("    endpoint: http://x:4318/?a=b"),
                StartsWith("telemetry.otlp.endpoint: must not have a query"));
    EXPECT_THAT(otlp_error("    endpoint: http://x\n    enpoint: http://y"),
                StartsWith("telemetry.otlp.enpoint: unknown key"));
    EXPECT_THAT(otlp_error("    endpoint: http://x\n    batch_size: 0"),
                StartsWith("telemetry.otlp.batch_size: must be an integer between 1"));
    EXPECT_THAT(otlp_error("    endpoint: http://x\n    interval: soon"),
                StartsWith("telemetry.otlp.interval: must be a duration"));
    EXPECT_THAT(otlp_error("    endpoint: http://x\n    sample_ratio: 1.5"),
                StartsWith("telemetry.otlp.sample_ratio: must be a number from 0 to 1"));
    EXPECT_THAT(otlp_error("    endpoint: http://x\n    sample_ratio: nan"),
                StartsWith("telemetry.otlp.sample_ratio: must be a number from 0 to 1"));
    EXPECT_THAT(otlp_error("    endpoint: http://x\n    sample_ratio: [1]"),
                StartsWith("telemetry.otlp.sample_ratio: must be a number"));
    EXPECT_THAT(otlp_error("    endpoint: http://x\n    metrics: maybe"),
                StartsWith("telemetry.otlp.metrics: must be true or false"));
    EXPECT_THAT(otlp_error("    endpoint: http://x\n    service_name: \"\""),
                StartsWith("telemetry.otlp.service_name: must be a non-empty name"));
    EXPECT_THAT(otlp_error("    endpoint: http://x\n    batch_size: 100\n    queue_size: 10"),
                StartsWith("telemetry.otlp.queue_size: must be at least batch_size (100)"));
    EXPECT_THAT(otlp_error("    endpoint: http://x\n    headers: {content-type: text/plain}"),
                StartsWith("telemetry.otlp.headers.content-type: is set by the exporter"));
    EXPECT_THAT(otlp_error("    endpoint: http://x\n    headers: {\"bad name\": v}"),
                StartsWith("telemetry.otlp.headers.bad name: must be a valid HTTP header"));
    EXPECT_THAT(otlp_error("    endpoint: http://x\n    headers: {a: x, A: y}"),
                StartsWith("telemetry.otlp.headers.A: duplicate header"));
    EXPECT_THAT(otlp_error("    endpoint: http://x\n    headers: {a: \"v\\r\\nx: y\"}"),
                StartsWith("telemetry.otlp.headers.a: must not contain CR"));
    auto c = parse("telemetry:\n  traces: {}\n", env_of({}));
    ASSERT_FALSE(c.has_value());
    EXPECT_THAT(c.error().message, StartsWith("telemetry.traces: unknown key"));
    auto list = parse("telemetry: [1]\n", env_of({}));
    ASSERT_FALSE(list.has_value());
    EXPECT_THAT(list.error().message, StartsWith("telemetry: must be a mapping"));
}

TEST(ConfigTelemetry, UnsetVariableInAHeaderIsAnErrorWithoutTheValue) {
    auto c = parse_otlp("    endpoint: http://x\n    headers: {x-api-key: \"${OTEL_KEY}\"}");
    ASSERT_FALSE(c.has_value());
    EXPECT_THAT(c.error().message, HasSubstr("telemetry.otlp.headers.x-api-key"));
    EXPECT_THAT(c.error().message, HasSubstr("OTEL_KEY"));
    auto bad = parse_otlp("    endpoint: http://x\n    headers: {a: \"sk-canary\\n\"}");
    ASSERT_FALSE(bad.has_value());
    EXPECT_THAT(bad.error().message, Not(HasSubstr("sk-canary")));
}

}  // namespace
}  // namespace sb::config
