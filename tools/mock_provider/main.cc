// mock-provider: an OpenAI, Anthropic Messages, Gemini and Bedrock Converse upstream for tests and
// benchmarks.
//
//   mock-provider --listen 127.0.0.1:0 [--threads N] [--api-key KEY]
//                 [--google-public-key PEM [--google-token-ttl SECONDS]]
//
// Prints `mock-provider listening on HOST:PORT` once every listener is bound, then serves until
// SIGTERM or SIGINT.

#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>

#include "mock_provider/mock_provider.h"

namespace {

constexpr std::string_view kUsage =
    "usage: mock-provider --listen HOST:PORT [--threads N] [--api-key KEY]\n"
    "  --listen HOST:PORT  address to listen on; port 0 picks a free port (default "
    "127.0.0.1:0)\n"
    "  --threads N         worker threads, each with a SO_REUSEPORT listener (default 1)\n"
    "  --api-key KEY       require KEY on provider requests (OpenAI: Authorization: Bearer;\n"
    "                      Anthropic: x-api-key; Gemini: x-goog-api-key; Bedrock: Bearer,\n"
    "                      besides SigV4)\n"
    "  --google-public-key PEM  issue OAuth access tokens on POST /token for JWT-bearer\n"
    "                      assertions signed with this key's private key; Vertex AI paths\n"
    "                      then require one as Authorization: Bearer\n"
    "  --google-token-ttl SECONDS  expires_in of issued tokens (default 3599)\n";

bool parse_int(std::string_view text, long min, long max, long& value) {
    const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
    return result.ec == std::errc() && result.ptr == text.data() + text.size() && value >= min &&
           value <= max;
}

// "127.0.0.1:8080", "[::1]:0", "localhost:0".
bool parse_listen(std::string_view text, sb::mock::Options& options) {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
        return false;
    }
    long port = 0;
    if (!parse_int(text.substr(colon + 1), 0, 65535, port)) {
        return false;
    }
    options.host = std::string(text.substr(0, colon));
    options.port = static_cast<std::uint16_t>(port);
    return true;
}

int usage_error(const char* message, std::string_view arg) {
    std::fprintf(stderr, "mock-provider: %s '%.*s'\n%.*s", message, static_cast<int>(arg.size()),
                 arg.data(), static_cast<int>(kUsage.size()), kUsage.data());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    sb::mock::Options options;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string_view value;
        const std::size_t equals = arg.find('=');
        if (arg.starts_with("--") && equals != std::string_view::npos) {
            value = arg.substr(equals + 1);
            arg = arg.substr(0, equals);
        } else if (arg == "--listen" || arg == "--threads" || arg == "--api-key" ||
                   arg == "--google-public-key" || arg == "--google-token-ttl") {
            if (i + 1 >= argc) {
                return usage_error("missing value for", arg);
            }
            value = argv[++i];
        }
        if (arg == "-h" || arg == "--help") {
            std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
            return 0;
        }
        if (arg == "--listen") {
            if (!parse_listen(value, options)) {
                return usage_error("bad --listen value", value);
            }
        } else if (arg == "--threads") {
            long threads = 0;
            if (!parse_int(value, 1, 1024, threads)) {
                return usage_error("bad --threads value", value);
            }
            options.threads = static_cast<int>(threads);
        } else if (arg == "--api-key") {
            options.api_key = std::string(value);
        } else if (arg == "--google-public-key") {
            options.google_public_key = std::string(value);
        } else if (arg == "--google-token-ttl") {
            if (!parse_int(value, 1, 86400, options.google_token_ttl)) {
                return usage_error("bad --google-token-ttl value", value);
            }
        } else {
            return usage_error("unknown argument", arg);
        }
    }

    // Block the stop signals before any worker starts, so only sigwait() below sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    sb::mock::Server server(options);
    const auto port = server.start();
    if (!port) {
        std::fprintf(stderr, "mock-provider: %s\n", port.error().message.c_str());
        return 1;
    }
    std::printf("mock-provider listening on %s\n", server.address().c_str());
    std::fflush(stdout);

    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    server.stop();
    return 0;
}
