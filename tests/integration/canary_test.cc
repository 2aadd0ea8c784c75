// Secrets never reach an output sink: the real gateway binary with governance, the access log,
// OTLP export and the admin listener on; client keys (valid and unknown) and the provider key are
// canaries, looked for in every answer, the logs (stderr), /metrics, /admin/targets, every OTLP
// payload and header, and every byte of the access-log spool and files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "governance/keys.h"
#include "support/http_client.h"
#include "support/otlp_receiver.h"
#include "support/process.h"

namespace sb::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kProviderCanary = "sk-canary-provider-0d9e6c1f";

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(Canary, NoKeyReachesAnySink) {
    const governance::NewKey client = governance::generate_key();
    const governance::NewKey stranger = governance::generate_key();  // never configured
    MockProvider mock({"--api-key", kProviderCanary});
    ASSERT_TRUE(mock.ok()) << mock.output();
    OtlpReceiver rx;
    ASSERT_TRUE(rx.ok());
    const fs::path dir =
        fs::temp_directory_path() / ("sb-canary-" + std::to_string(::getpid()) + "-" + client.id);
    fs::create_directories(dir);
    const std::string config = write_temp_file(
        "server: {listen: \"127.0.0.1:0\", workers: 1}\n"
        "admin: {listen: \"127.0.0.1:0\"}\n"
        "providers:\n"
        "  mock: {type: openai-compatible, base_url: \"" +
        mock.base_url() + "\", api_key: \"" + kProviderCanary +
        "\"}\n"
        "  wrongkey: {type: openai-compatible, base_url: \"" +
        mock.base_url() + "\", api_key: \"" + kProviderCanary +
        "-not-the-right-one\"}\n"
        "models:\n"
        "  mock-gpt: {provider: mock, model: gpt-4o-mini, price: {input: 1, output: 2}}\n"
        "  rejected: {provider: wrongkey, model: gpt-4o-mini, retry: {max_attempts: 1}}\n"
        "auth:\n  keys:\n    " +
        client.id + ":\n      hash: \"" + client.hash +
        "\"\n      owner: alice\n"
        "logging:\n  enabled: true\n  directory: " +
        (dir / "files").string() + "\n  spool_dir: " + (dir / "spool").string() +
        "\n  rotate_age: 50ms\n"
        "telemetry:\n  otlp:\n    endpoint: " +
        rx.url() + "\n    batch_size: 1\n    interval: 10ms\n    metrics_interval: 20ms\n");
    const fs::path log_file = dir / "stderr.log";
    ChildProcess gateway({"/bin/sh", "-c",
                          "exec '" + std::string(SB_SWITCHBOARD_BIN) + "' gateway --config '" +
                              config + "' 2>'" + log_file.string() + "'"},
                         "switchboard listening on");
    ASSERT_TRUE(gateway.ok()) << gateway.output();
    const std::string admin_line = "admin listening on 127.0.0.1:";
    const auto at = gateway.output().find(admin_line);
    ASSERT_NE(at, std::string::npos) << gateway.output();
    const auto admin_port =
        static_cast<std::uint16_t>(std::stoi(gateway.output().substr(at + admin_line.size())));

    std::vector<HttpResponse> answers;
    const std::string ok_auth = "Authorization: Bearer " + client.secret + "\r\n";
    const std::string chat = R"({"model":"mock-gpt","messages":[{"role":"user","content":"hi"}]})";
    answers.push_back(http_request(gateway.port(), "POST", "/v1/chat/completions", chat, ok_auth));
    ASSERT_EQ(answers.back().status, 200) << answers.back().body;
    answers.push_back(http_request(
        gateway.port(), "POST", "/v1/chat/completions",
        R"({"model":"mock-gpt","stream":true,"messages":[{"role":"user","content":"hi"}]})",
        ok_auth));
    ASSERT_EQ(answers.back().status, 200);
    answers.push_back(http_request(gateway.port(), "POST", "/v1/chat/completions", chat,
                                   "Authorization: Bearer " + stranger.secret + "\r\n"));
    ASSERT_EQ(answers.back().status, 401);
    answers.push_back(http_request(gateway.port(), "POST", "/v1/chat/completions", chat,
                                   "x-api-key: " + stranger.secret + "\r\n"));
    ASSERT_EQ(answers.back().status, 401);
    // The provider rejects our (wrong) provider key: a 502 that must not echo it.
    answers.push_back(http_request(
        gateway.port(), "POST", "/v1/chat/completions",
        R"({"model":"rejected","messages":[{"role":"user","content":"hi"}]})", ok_auth));
    ASSERT_EQ(answers.back().status, 502) << answers.back().body;
    answers.push_back(http_request(gateway.port(), "GET", "/metrics"));
    answers.push_back(http_request(admin_port, "GET", "/admin/targets"));
    ASSERT_EQ(answers.back().status, 200);

    // Traces of the three model requests reach the collector; then stop the gateway (drain,
    // flush the access log) so that every sink is complete.
    ASSERT_TRUE(rx.wait_for(
        [](const auto& reqs) {
            int traces = 0;
            for (const auto& r : reqs) {
                traces += r.path == "/v1/traces" ? 1 : 0;
            }
            return traces >= 3;  // the two 401s name no served model: no span
        },
        20s));
    ASSERT_EQ(gateway.signal_and_wait(SIGTERM, 30s), 0);

    std::vector<std::pair<std::string, std::string>> sinks;  // name, bytes
    for (std::size_t i = 0; i < answers.size(); ++i) {
        std::string head;
        for (const auto& [k, v] : answers[i].headers) {
            head += k + ": " + v + "\n";
        }
        sinks.emplace_back("answer " + std::to_string(i), head + answers[i].body);
    }
    sinks.emplace_back("gateway stdout", gateway.output());
    sinks.emplace_back("gateway stderr", read_all(log_file));
    for (const auto& r : rx.requests()) {
        std::string head;
        for (const auto& [k, v] : r.headers) {
            head += k + ": " + v + "\n";
        }
        sinks.emplace_back("otlp " + r.path, head + r.body);
    }
    int files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (entry.is_regular_file() && entry.path() != log_file) {
            sinks.emplace_back(entry.path().string(), read_all(entry.path()));
            ++files;
        }
    }
    EXPECT_GT(files, 0);  // the access log wrote something
    EXPECT_THAT(read_all(log_file), Not(HasSubstr("ERROR")));
    for (const auto& [name, bytes] : sinks) {
        for (const std::string& canary :
             {client.secret, client.hash, stranger.secret, stranger.hash, kProviderCanary}) {
            EXPECT_EQ(bytes.find(canary), std::string::npos) << canary << " found in " << name;
        }
    }
    fs::remove_all(dir);
}

}  // namespace
}  // namespace sb::test
