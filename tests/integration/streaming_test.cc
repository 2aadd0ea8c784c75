// Integration: cancellation, backpressure, drain and TLS — the connection-level behaviour.
#include <signal.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>

#include "integration/gateway_fixture.h"

namespace sb::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string chat_for(const std::string& model, bool stream) {
    return R"({"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
           R"(,"messages":[{"role":"user","content":"Hi"}]})";
}

std::string post_head(const std::string& body) {
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

using StreamingTest = GatewayFixture;

TEST_F(StreamingTest, ClientDisconnectMidStreamCancelsUpstream) {
    start("", "  long: {provider: mock, model: \"gpt-4o-mini;chunks=200;chunk_delay_ms=50\"}\n");
    {
        RawConnection c(port());
        ASSERT_TRUE(c.send(post_head(chat_for("long", true))));
        auto first = c.read_partial(1, 5s);
        ASSERT_EQ(first.status, 200);
        ASSERT_FALSE(first.body.empty());
    }  // closes the client connection mid-stream
    auto stats = json::parse(mock_get("/_mock/stats?wait_cancelled=1&timeout_ms=5000").body);
    EXPECT_EQ(stats.at("cancelled").as_int64(), 1);
    EXPECT_EQ(stats.at("completed").as_int64(), 0);
}

TEST_F(StreamingTest, ClientDisconnectWhileWaitingCancelsUpstream) {
    start("", "  slow: {provider: mock, model: \"gpt-4o-mini;latency_ms=4000\"}\n");
    {
        RawConnection c(port());
        ASSERT_TRUE(c.send(post_head(chat_for("slow", false))));
        auto seen = json::parse(mock_get("/_mock/stats?wait_requests=1&timeout_ms=5000").body);
        ASSERT_EQ(seen.at("requests").as_int64(), 1);
    }
    auto started = std::chrono::steady_clock::now();
    auto stats = json::parse(mock_get("/_mock/stats?wait_cancelled=1&timeout_ms=5000").body);
    EXPECT_EQ(stats.at("cancelled").as_int64(), 1);
    // Cancelled at once, not when the upstream answer would have arrived.
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST_F(StreamingTest, SlowClientPausesUpstreamInsteadOfBuffering) {
    // 2000 chunks of ~16 KiB: ~32 MiB that the gateway must not buffer for a client that is not
    // reading; the upstream therefore cannot finish until the client reads.
    start("",
          "  big: {provider: mock, model: \"gpt-4o-mini;chunks=2000;bytes_per_chunk=16384\"}\n");
    RawConnection c(port(), /*small_receive_buffer=*/true);
    ASSERT_TRUE(c.send(post_head(chat_for("big", true))));
    auto stats = json::parse(mock_get("/_mock/stats?wait_completed=1&timeout_ms=1500").body);
    EXPECT_EQ(stats.at("completed").as_int64(), 0) << "upstream finished: gateway buffered it all";
    auto r = c.read_response(60s);
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.complete);
    EXPECT_GT(r.body.size(), 2000u * 16384u);
    EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
}

// The gateway binary as a child process, for signal handling.
class GatewayProcess : public ChildProcess {
  public:
    explicit GatewayProcess(const std::string& config_path)
        : ChildProcess({SB_SWITCHBOARD_BIN, "gateway", "--config", config_path, "--workers", "2"},
                       "switchboard listening on") {}
};

std::string process_config(const MockProvider& mock, const std::string& drain) {
    return "server:\n  listen: 127.0.0.1:0\n  drain_timeout: " + drain +
           "\nproviders:\n  mock: {type: openai-compatible, base_url: \"" + mock.base_url() +
           "\"}\nmodels:\n  steady: {provider: mock, model: \"gpt-4o-mini;chunks=10;"
           "chunk_delay_ms=100\"}\n  endless: {provider: mock, model: \"gpt-4o-mini;chunks=1000;"
           "chunk_delay_ms=100\"}\n";
}

TEST(DrainTest, SigtermLetsInFlightStreamFinishAndRefusesNewConnections) {
    MockProvider mock;
    ASSERT_TRUE(mock.ok());
    GatewayProcess gw(write_temp_file(process_config(mock, "10s")));
    ASSERT_TRUE(gw.ok()) << gw.output();
    RawConnection c(gw.port());
    ASSERT_TRUE(c.send(post_head(chat_for("steady", true))));
    ASSERT_EQ(c.read_partial(1, 5s).status, 200);
    ::kill(gw.pid(), SIGTERM);
    auto r = c.read_response(10s);
    EXPECT_TRUE(r.complete);
    EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
    EXPECT_EQ(gw.signal_and_wait(0, 10s), 0);
    RawConnection late(gw.port());
    EXPECT_FALSE(late.connected());
}

TEST(DrainTest, DrainDeadlineEndsRemainingStreamsWithErrorEvent) {
    MockProvider mock;
    ASSERT_TRUE(mock.ok());
    GatewayProcess gw(write_temp_file(process_config(mock, "300ms")));
    ASSERT_TRUE(gw.ok()) << gw.output();
    RawConnection c(gw.port());
    ASSERT_TRUE(c.send(post_head(chat_for("endless", true))));
    ASSERT_EQ(c.read_partial(1, 5s).status, 200);
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(gw.signal_and_wait(SIGTERM, 10s), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    auto r = c.read_response(5s);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.body.find("data: [DONE]"), std::string::npos);
    EXPECT_NE(r.body.find("shutting down"), std::string::npos) << r.body;
}

TEST(TlsTest, ServesHttpsAndVerifiesUpstreamCertificates) {
    MockProvider mock;
    ASSERT_TRUE(mock.ok());
    auto dir = std::filesystem::temp_directory_path() / ("sbtls" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string cert = (dir / "cert.pem").string();
    std::string key = (dir / "key.pem").string();
    std::string gen =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
        "-keyout " +
        key + " -out " + cert + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(gen.c_str()), 0);
    std::string yaml =
        "server:\n  listen: 127.0.0.1:0\n  tls: {listen: \"127.0.0.1:0\", "
        "cert_file: " +
        cert + ", key_file: " + key +
        "}\nproviders:\n  mock: {type: openai-compatible, base_url: \"" + mock.base_url() +
        "\"}\nmodels:\n  m: {provider: mock, model: x}\n";
    auto cfg_path = write_temp_file(yaml);
    ChildProcess gw({SB_SWITCHBOARD_BIN, "gateway", "--config", cfg_path, "--workers", "1"},
                    "listening (TLS) on");
    ASSERT_TRUE(gw.ok()) << gw.output();
    std::string cmd =
        "curl -sk --max-time 10 -H 'Content-Type: application/json' -d "
        "'{\"model\":\"m\",\"messages\":[]}' https://127.0.0.1:" +
        std::to_string(gw.port()) + "/v1/chat/completions";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof(buf), p)) {
        out.append(buf, n);
    }
    ::pclose(p);
    EXPECT_NE(out.find("chat.completion"), std::string::npos) << out;

    // The same TLS listener as an upstream: its self-signed certificate must be refused.
    auto up = config::parse(
        "server: {listen: \"127.0.0.1:0\", workers: 1}\nproviders:\n  selfsigned: {type: "
        "openai-compatible, base_url: \"https://127.0.0.1:" +
            std::to_string(gw.port()) + "/v1\"}\nmodels:\n  m: {provider: selfsigned, model: m}\n",
        [](std::string_view) { return std::nullopt; });
    ASSERT_TRUE(up.has_value()) << up.error().message;
    server::Gateway front(std::make_shared<const config::Snapshot>(std::move(*up)));
    ASSERT_TRUE(front.start().has_value());
    auto r = http_request(front.port(), "POST", "/v1/chat/completions",
                          R"({"model":"m","messages":[]})");
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_NE(r.body.find("upstream_unreachable"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("TLS"), std::string::npos) << r.body;
    front.stop();
    front.wait();
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sb::test

namespace sb::test {
namespace {

// libcurl's proxy environment is honoured: with http_proxy set, the request goes to the proxy
// (here a second mock, which refuses the absolute-form request) and never to the upstream;
// NO_PROXY exempts the upstream again. (HTTPS_PROXY works the same way for https:// URLs.)
TEST(ProxyEnvTest, HttpProxyIsUsedAndNoProxyExempts) {
    MockProvider upstream;
    MockProvider proxy;
    ASSERT_TRUE(upstream.ok() && proxy.ok());
    auto cfg = write_temp_file(
        "server: {listen: \"127.0.0.1:0\", workers: 1}\nproviders:\n  mock: {type: "
        "openai-compatible, base_url: \"" +
        upstream.base_url() + "\"}\nmodels:\n  m: {provider: mock, model: x}\n");
    const std::string body = R"({"model":"m","messages":[]})";
    const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
    {
        ChildProcess gw({SB_SWITCHBOARD_BIN, "gateway", "--config", cfg},
                        "switchboard listening on", std::chrono::seconds(20),
                        {"http_proxy=" + proxy_url, "NO_PROXY="});
        ASSERT_TRUE(gw.ok()) << gw.output();
        auto r = http_request(gw.port(), "POST", "/v1/chat/completions", body);
        EXPECT_NE(r.status, 200) << r.body;  // the "proxy" refuses the absolute-form request
        auto stats = json::parse(http_request(upstream.port(), "GET", "/_mock/stats").body);
        EXPECT_EQ(stats.at("requests").as_int64(), 0);  // ... and the upstream saw nothing
    }
    {
        ChildProcess gw({SB_SWITCHBOARD_BIN, "gateway", "--config", cfg},
                        "switchboard listening on", std::chrono::seconds(20),
                        {"http_proxy=" + proxy_url, "NO_PROXY=127.0.0.1"});
        ASSERT_TRUE(gw.ok()) << gw.output();
        auto r = http_request(gw.port(), "POST", "/v1/chat/completions", body);
        EXPECT_EQ(r.status, 200) << r.body;
        auto stats = json::parse(http_request(upstream.port(), "GET", "/_mock/stats").body);
        EXPECT_EQ(stats.at("requests").as_int64(), 1);
    }
}

}  // namespace
}  // namespace sb::test
