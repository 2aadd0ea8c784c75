#include "telemetry/metrics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

#include "support/prometheus_text.h"

namespace sb::telemetry {
namespace {

namespace prom = sb::test::prom;

RequestSample sample(std::string_view model, std::string_view provider, int status,
                     std::string_view code, double total, double overhead, double first_byte) {
    RequestSample s;
    s.model = model;
    s.provider = provider;
    s.status = status;
    s.error_code = code;
    s.total_seconds = total;
    s.overhead_seconds = overhead;
    s.first_byte_seconds = first_byte;
    return s;
}

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(Metrics, CountersAreSummedAcrossWorkers) {
    Registry r;
    WorkerMetrics& a = r.add_worker();
    WorkerMetrics& b = r.add_worker();
    a.record(sample("gpt", "openai", 200, "", 0.02, 0.0001, -1));
    b.record(sample("gpt", "openai", 200, "", 0.03, 0.0002, -1));
    b.record(sample("gpt", "openai", 429, "rate_limit_exceeded", 0.01, 0.0001, -1));
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
    w.record(sample("m", "p", 200, "", 0.0002, 0, 0.0001));
    w.record(sample("m", "p", 200, "", 0.2, 0, 0.1));
    w.record(sample("m", "p", 200, "", 100, 0, -1));
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
    r.add_worker().record(sample("a\"b\\c\nd", "p", 200, "", 0, 0, -1));
    std::string text = r.render();
    EXPECT_NE(text.find(R"(model="a\"b\\c\nd")"), std::string::npos) << text;
}

TEST(Metrics, EveryMetricHasHelpAndType) {
    Registry r;
    r.add_worker().record(sample("m", "p", 200, "", 0, 0, 0));
    std::string text = r.render();
    for (const char* name :
         {"switchboard_requests_total", "switchboard_errors_total",
          "switchboard_request_duration_seconds", "switchboard_time_to_first_byte_seconds",
          "switchboard_gateway_overhead_seconds", "switchboard_open_connections"}) {
        EXPECT_NE(text.find(std::string("# HELP ") + name + " "), std::string::npos) << name;
        EXPECT_NE(text.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
    }
}

// A registry with every kind of series filled in, including hostile label values.
void fill_busy(Registry& r) {
    WorkerMetrics& a = r.add_worker();
    WorkerMetrics& b = r.add_worker();
    RequestSample s = sample("gpt\"4\\o\nx", "openai", 200, "", 0.3, 0.001, 0.05);
    s.input_tokens = 12;
    s.output_tokens = 30;
    s.cost = 0.00042;
    s.attempts = {{"openai", "gpt-4o", "upstream_timeout"}, {"openai", "gpt-4o", "ok"}};
    a.record(s);
    s.status = 502;
    s.error_code = "upstream_error";
    s.attempts = {{"openai", "gpt-4o", "upstream_error"}};
    b.record(s);  // same model/provider, another status: histograms must not repeat
    b.record(sample("", "", 404, "not_found", 0.001, 0.001, -1));
    r.target_health("openai", "gpt-4o").set_healthy(false);
    r.target_health("openai", "gpt-4o").in_flight.fetch_add(3);
    r.add_collector([](std::string& out) {
        out +=
            "# HELP sub_queue_depth Queue depth.\n# TYPE sub_queue_depth gauge\nsub_queue_depth "
            "7\n";
    });
}

TEST(Metrics, WholeExpositionParsesStrictly) {
    Registry r;
    fill_busy(r);
    std::string text = r.render();
    prom::Exposition e;
    auto error = prom::parse(text, e);
    ASSERT_FALSE(error) << *error << "\n" << text;
    const std::map<std::string, std::string> model{{"model", "gpt\"4\\o\nx"},
                                                   {"provider", "openai"}};
    auto with = [&](std::string k, std::string v) {
        auto m = model;
        m[std::move(k)] = std::move(v);
        return m;
    };
    EXPECT_EQ(e.value("switchboard_requests_total", with("status", "200")), 1);
    EXPECT_EQ(e.value("switchboard_requests_total", with("status", "502")), 1);
    EXPECT_EQ(e.value("switchboard_tokens_total", with("type", "input")), 24);
    EXPECT_EQ(e.value("switchboard_tokens_total", with("type", "output")), 60);
    EXPECT_NEAR(*e.value("switchboard_cost_total", model), 0.00084, 1e-12);
    EXPECT_EQ(e.value("switchboard_request_duration_seconds_count", model), 2);
    EXPECT_EQ(e.value("switchboard_request_duration_seconds_bucket", with("le", "+Inf")), 2);
    EXPECT_EQ(e.value("switchboard_time_to_first_byte_seconds_count", model), 2);
    EXPECT_EQ(e.value("switchboard_errors_total", {{"code", "not_found"}}), 1);
    EXPECT_EQ(e.value("switchboard_upstream_attempts_total",
                      {{"provider", "openai"}, {"target", "gpt-4o"}, {"result", "ok"}}),
              1);
    EXPECT_EQ(
        e.value("switchboard_upstream_attempts_total",
                {{"provider", "openai"}, {"target", "gpt-4o"}, {"result", "upstream_timeout"}}),
        1);
    EXPECT_EQ(e.value("switchboard_upstream_retries_total",
                      {{"provider", "openai"}, {"target", "gpt-4o"}, {"result", "ok"}}),
              1);
    EXPECT_FALSE(
        e.value("switchboard_upstream_retries_total",
                {{"provider", "openai"}, {"target", "gpt-4o"}, {"result", "upstream_error"}}));
    EXPECT_EQ(e.value("switchboard_target_healthy", {{"provider", "openai"}, {"target", "gpt-4o"}}),
              0);
    EXPECT_EQ(
        e.value("switchboard_target_in_flight", {{"provider", "openai"}, {"target", "gpt-4o"}}), 3);
    EXPECT_EQ(e.value("sub_queue_depth", {}), 7);
    EXPECT_EQ(e.value("switchboard_gateway_overhead_seconds_count", {}), 3);
    for (const auto& f : e.families) {
        if (f.type == "counter") {
            EXPECT_TRUE(f.name.ends_with("_total")) << f.name;
        }
    }
}

TEST(Metrics, StrictParserRejectsMalformedExposition) {
    // The parser itself must catch what it claims to, or the test above proves nothing.
    const char* bad[] = {
        "x_total 1\n",                                           // no HELP/TYPE
        "# HELP x h\n# TYPE x counter\nx{a=\"1\\q\"} 1\n",       // bad escape
        "# HELP x h\n# TYPE x counter\nx{a=\"1\",a=\"2\"} 1\n",  // repeated label
        "# HELP x h\n# TYPE x counter\nx 1\nx 2\n",              // duplicate series
        "# HELP x h\n# TYPE x counter\nx one\n",                 // bad value
        "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
        "h_sum 1\nh_count 1\n",  // not cumulative
        "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
        "h_sum 1\nh_count 3\n",  // +Inf != count
        "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",  // no +Inf
        "# HELP x h\n# TYPE x gauge\nx 1\n# HELP y h\n# TYPE y gauge\ny 1\nx{a=\"b\"} 1\n",
        "# HELP x h\n# TYPE x gauge\nx 1",  // no final line feed
    };
    for (const char* text : bad) {
        prom::Exposition e;
        EXPECT_TRUE(prom::parse(text, e)) << "accepted: " << text;
    }
}

TEST(Metrics, ScrapeWhileWorkersRecordStaysConsistent) {
    Registry r;
    WorkerMetrics& w = r.add_worker();
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (int i = 0; i < 20000; ++i) {
            RequestSample s = sample("m", "p", 200 + (i % 3), "", 0.001 * (i % 100), 0, 0.0001);
            s.attempts = {{"p", "t", "ok"}};
            w.record(s);
        }
        done = true;
    });
    int scrapes = 0;
    while (!done || scrapes == 0) {
        prom::Exposition e;
        std::string text = r.render();
        auto error = prom::parse(text, e);
        ASSERT_FALSE(error) << *error;
        ++scrapes;
    }
    writer.join();
    prom::Exposition e;
    ASSERT_FALSE(prom::parse(r.render(), e));
    EXPECT_EQ(
        e.value("switchboard_request_duration_seconds_count", {{"model", "m"}, {"provider", "p"}}),
        20000);
}

#ifdef SB_PROMTOOL
// The Prometheus project's own checker (Debian's `prometheus` package) agrees.
TEST(Metrics, PromtoolAcceptsTheExposition) {
    Registry r;
    fill_busy(r);
    std::string text = r.render();
    FILE* p = popen(SB_PROMTOOL " check metrics 2>&1", "w");
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(fwrite(text.data(), 1, text.size(), p), text.size());
    int status = pclose(p);
    EXPECT_EQ(status, 0) << text;
}
#endif

}  // namespace
}  // namespace sb::telemetry
