#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "config/config.h"
#include "server/gateway.h"
#include "support/http_client.h"
#include "support/process.h"

namespace sb::test {

// A mock provider (child process) and an in-process gateway with one worker in front of it.
// `extra_yaml` is appended to the generated config (more providers, models); `server_yaml`
// goes under `server:`. MOCK_URL in any of them is replaced by the mock's base URL.
class GatewayFixture : public ::testing::Test {
  protected:
    void start(const std::string& server_yaml = "", const std::string& extra_models = "",
               const std::string& extra_providers = "",
               std::vector<std::string> mock_args = {"--api-key", "sk-mock-key"}) {
        mock_ = std::make_unique<MockProvider>(std::move(mock_args));
        ASSERT_TRUE(mock_->ok()) << "mock provider did not start: " << mock_->output();
        on_mock_started();
        std::string yaml =
            "server:\n  listen: 127.0.0.1:0\n  workers: 1\n" + server_yaml +
            "providers:\n  mock:\n    type: openai-compatible\n    base_url: " + mock_->base_url() +
            "\n    api_key: sk-mock-key\n"
            "    timeouts: {connect: 2s, first_byte: 5s, idle: 5s, total: 60s}\n" +
            extra_providers +
            "models:\n"
            "  mock-gpt: {provider: mock, model: gpt-4o-mini}\n"
            "  mock-embed: {provider: mock, model: text-embedding-3-small}\n" +
            extra_models;
        // MOCK_URL_AZURE: the mock's root + /openai (Azure's base URL shape); MOCK_URL: /v1.
        for (std::size_t at; (at = yaml.find("MOCK_URL_AZURE")) != std::string::npos;) {
            yaml.replace(at, 14, "http://127.0.0.1:" + std::to_string(mock_->port()) + "/openai");
        }
        // MOCK_URL_ROOT: the mock's root (Vertex, Bedrock).
        for (std::size_t at; (at = yaml.find("MOCK_URL_ROOT")) != std::string::npos;) {
            yaml.replace(at, 13, "http://127.0.0.1:" + std::to_string(mock_->port()));
        }
        for (std::size_t at; (at = yaml.find("MOCK_URL")) != std::string::npos;) {
            yaml.replace(at, 8, mock_->base_url());
        }
        auto cfg = config::parse(yaml, [](std::string_view) { return std::nullopt; });
        ASSERT_TRUE(cfg.has_value()) << cfg.error().message << "\n" << yaml;
        gateway_ = std::make_unique<server::Gateway>(
            std::make_shared<const config::Snapshot>(std::move(*cfg)));
        auto st = gateway_->start();
        ASSERT_TRUE(st.has_value()) << st.error().message;
    }

    // Called once the mock listens (its port is known), before the gateway starts.
    virtual void on_mock_started() {}

    void TearDown() override {
        if (gateway_) {
            gateway_->stop();
            gateway_->wait();
        }
    }

    std::uint16_t port() const { return gateway_->port(); }
    std::uint16_t mock_port() const { return mock_->port(); }

    HttpResponse post(const std::string& path, const std::string& body,
                      const std::string& headers = {}) {
        return http_request(port(), "POST", path, body, headers);
    }
    HttpResponse mock_get(const std::string& path) {
        return http_request(mock_port(), "GET", path);
    }

    std::unique_ptr<MockProvider> mock_;
    std::unique_ptr<server::Gateway> gateway_;
};

}  // namespace sb::test
