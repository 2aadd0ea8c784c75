#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"

namespace sb::mock {

// How the mock provider listens.
struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  // 0: pick a free port
    int threads = 1;         // workers, each with its own io_context and SO_REUSEPORT acceptor
    // Non-empty: provider requests need this key (OpenAI `Authorization: Bearer`, Anthropic
    // `x-api-key`, Gemini `x-goog-api-key`; Bedrock also takes it as `Authorization: Bearer`).
    std::string api_key;
    // Non-empty: a PEM public key file; POST /token then issues access tokens for JWT-bearer
    // assertions signed with its private key (Google service accounts), and the Vertex AI
    // paths demand one as `Authorization: Bearer`. Process-wide.
    std::string google_public_key;
    long google_token_ttl = 3599;  // expires_in of issued access tokens, seconds
};

// A fast HTTP/1.1 server speaking the OpenAI API, Anthropic Messages, Google Gemini
// (generateContent) and AWS Bedrock Converse with per-request fault controls (see
// tools/mock_provider/README.md). Used as the upstream in integration tests and
// benchmarks, either spawned as the `mock-provider` executable or embedded in a test process.
//
// Owned by one thread, which calls start() once and stop() (or the destructor) once; the
// server's own worker threads do all the I/O. The request counters behind /_mock/stats are
// process-wide, so two servers in one process share them.
class Server {
  public:
    explicit Server(Options options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds every listener, then starts the workers. Returns the bound port.
    Result<std::uint16_t> start();
    // Stops the workers and closes every connection; idempotent.
    void stop();
    // "127.0.0.1:PORT" (IPv6 hosts in brackets), valid after start().
    const std::string& address() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sb::mock
