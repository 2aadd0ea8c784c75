#include "telemetry/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace sb::telemetry {
namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(Metrics, CountersAreSummedAcrossWorkers) {
    Registry r;
    WorkerMetrics& a = r.add_worker();
    WorkerMetrics& b = r.add_worker();
    a.record({"gpt", "openai", 200, "", 0.02, 0.0001, -1});
    b.record({"gpt", "openai", 200, "", 0.03, 0.0002, -1});
    b.record({"gpt", "openai", 429, "rate_limit_exceeded", 0.01, 0.0001, -1});
    std::string text = r.render();
    EXPECT_TRUE(has_line(
        text, R"(switchboard_requests_total{model="gpt",provider="openai",status="200"} 2)"))
        << text;
    EXPECT_TRUE(has_line(
        text, R"(switchboard_requests_total{model="gpt",provider="openai",status="429"} 1)"));
    EXPECT_TRUE(has_line(text, R"(switchboard_errors_total{code="rate_limit_exceeded"} 1)"));
    EXPECT_TRUE(has_line(text, R"(switchboard_gateway_overhead_seconds_count 3)"));
}

TEST(Metrics, HistogramBucketsAreCumulativeAndEndWithInf) {
    Registry r;
    WorkerMetrics& w = r.add_worker();
    w.record({"m", "p", 200, "", 0.0002, 0, 0.0001});
    w.record({"m", "p", 200, "", 0.2, 0, 0.1});
    w.record({"m", "p", 200, "", 100, 0, -1});
    std::string text = r.render();
    const std::string prefix =
        R"(switchboard_request_duration_seconds_bucket{model="m",provider="p",)";
    EXPECT_TRUE(has_line(text, prefix + R"(le="0.00025"} 1)")) << text;
    EXPECT_TRUE(has_line(text, prefix + R"(le="0.25"} 2)"));
    EXPECT_TRUE(has_line(text, prefix + R"(le="60"} 2)"));
    EXPECT_TRUE(has_line(text, prefix + R"(le="+Inf"} 3)"));
    EXPECT_TRUE(
        has_line(text, R"(switchboard_request_duration_seconds_count{model="m",provider="p"} 3)"));
    // Only the two streamed requests have a first-byte time.
    EXPECT_TRUE(has_line(
        text, R"(switchboard_time_to_first_byte_seconds_count{model="m",provider="p"} 2)"));
}

TEST(Metrics, LabelValuesAreEscaped) {
    Registry r;
    r.add_worker().record({"a\"b\\c\nd", "p", 200, "", 0, 0, -1});
    std::string text = r.render();
    EXPECT_NE(text.find(R"(model="a\"b\\c\nd")"), std::string::npos) << text;
}

TEST(Metrics, EveryMetricHasHelpAndType) {
    Registry r;
    r.add_worker().record({"m", "p", 200, "", 0, 0, 0});
    std::string text = r.render();
    for (const char* name :
         {"switchboard_requests_total", "switchboard_errors_total",
          "switchboard_request_duration_seconds", "switchboard_time_to_first_byte_seconds",
          "switchboard_gateway_overhead_seconds", "switchboard_open_connections"}) {
        EXPECT_NE(text.find(std::string("# HELP ") + name + " "), std::string::npos) << name;
        EXPECT_NE(text.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
    }
}

}  // namespace
}  // namespace sb::telemetry
