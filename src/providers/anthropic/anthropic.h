#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "providers/provider.h"

// The Anthropic Messages adapter: OpenAI chat completions in, Anthropic `POST /v1/messages`
// out, and the answer (JSON or SSE) translated back to OpenAI's shapes. The rules (what maps
// to what, what is refused) are in docs/providers/anthropic.md.
namespace sb::providers::anthropic {

inline constexpr std::string_view kDefaultBaseUrl = "https://api.anthropic.com/v1";
inline constexpr std::string_view kApiVersion = "2023-06-01";
// Anthropic requires `max_tokens`; OpenAI does not. Used when the client sends neither
// `max_tokens` nor `max_completion_tokens`.
inline constexpr std::int64_t kDefaultMaxTokens = 4096;

// Translates between OpenAI chat completions and Anthropic Messages. Stateless and immutable:
// one instance may be shared by every worker thread; each stream gets its own decoder, owned
// by the request that made it and used on that request's thread only.
class AnthropicAdapter final : public Adapter {
  public:
    Result<http::UpstreamRequest> build_chat(const config::Provider& provider,
                                             std::string_view openai_body,
                                             const ChatContext& ctx) const override;
    Result<std::string> translate_chat_response(std::string_view upstream_body,
                                                const ChatContext& ctx) const override;
    std::unique_ptr<StreamDecoder> make_chat_stream_decoder(const ChatContext& ctx) const override;
    Error map_error(const config::Provider& provider, int status, std::string_view body,
                    std::string_view retry_after) const override;
};

// The pieces behind the adapter, exposed for tests and benchmarks.
namespace detail {

// The Anthropic request body for an OpenAI chat completions body (400 naming the parameter
// for what Anthropic cannot express).
Result<std::string> translate_request(std::string_view openai_body, const ChatContext& ctx);

// The headers for an Anthropic request: content type, auth, version, configured extras.
std::vector<std::string> request_headers(const config::Provider& provider);

}  // namespace detail

}  // namespace sb::providers::anthropic
