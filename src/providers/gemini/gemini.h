#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "providers/provider.h"

// The Google Gemini (Developer API) adapter: OpenAI chat completions in, Gemini
// `models/{model}:generateContent` (or `:streamGenerateContent?alt=sse`) out, and the answer
// (JSON or SSE) translated back to OpenAI's shapes. The rules (what maps to what, what is
// refused) are in docs/providers/gemini.md.
namespace sb::providers::gemini {

inline constexpr std::string_view kDefaultBaseUrl =
    "https://generativelanguage.googleapis.com/v1beta";

// Sent on the first functionCall part of an assistant turn that carries no thought signature
// when the target is Gemini 3 or later, which rejects such a turn with a 400 otherwise. Google
// documents this value for histories the model did not produce (Gemini API docs, "Thought
// signatures"); the model then has no reasoning context for that step.
inline constexpr std::string_view kSkipThoughtSignature = "skip_thought_signature_validator";

// Translates between OpenAI chat completions and Gemini generateContent. Stateless and
// immutable: one instance may be shared by every worker thread; each stream gets its own
// decoder, owned by the request that made it and used on that request's thread only.
class GeminiAdapter final : public Adapter {
  public:
    Result<http::UpstreamRequest> build_chat(const config::Provider& provider,
                                             std::string_view openai_body,
                                             const ChatContext& ctx) const override;
    Result<std::string> translate_chat_response(std::string_view upstream_body,
                                                const ChatContext& ctx) const override;
    std::unique_ptr<StreamDecoder> make_chat_stream_decoder(const ChatContext& ctx) const override;
    Error map_error(const config::Provider& provider, int status, std::string_view body,
                    std::string_view retry_after) const override;
    // Embeddings: `models/{model}:batchEmbedContents`, one request per input.
    Result<http::UpstreamRequest> build_embeddings(const config::Provider& provider,
                                                   std::string_view openai_body,
                                                   EmbeddingsContext& ctx) const override;
    Result<std::string> translate_embeddings_response(std::string_view upstream_body,
                                                      const EmbeddingsContext& ctx) const override;
};

// The pieces behind the adapter, exposed for tests and benchmarks.
namespace detail {

// The Gemini request body for an OpenAI chat completions body (400 naming the parameter for
// what Gemini cannot express).
Result<std::string> translate_request(std::string_view openai_body, const ChatContext& ctx);

// `{base_url}/models/{model}:generateContent`, or `:streamGenerateContent?alt=sse` when
// streaming. A model name with a '/' (`tunedModels/x`, `models/x`) is used as the resource
// path as it is.
std::string request_url(const config::Provider& provider, std::string_view upstream_model,
                        bool stream);

// `{base_url}/{model resource path}{method}`, e.g. method ":batchEmbedContents".
std::string model_url(std::string_view base_url, std::string_view upstream_model,
                      std::string_view method);

// The batchEmbedContents body for an OpenAI embeddings body: one request per input, each with
// the model's resource name, `taskType` from the `task_type` extension and
// `outputDimensionality` from `dimensions`. Fills ctx.inputs and ctx.base64.
Result<std::string> translate_embeddings_request(std::string_view openai_body,
                                                 EmbeddingsContext& ctx);

// OpenAI's embeddings list for a batchEmbedContents answer (`{"embeddings":[{"values":[...]}]}`);
// exactly ctx.inputs embeddings are expected. Gemini reports no token counts for embeddings
// unless the answer carries usageMetadata.promptTokenCount, so usage is 0 otherwise.
Result<std::string> translate_embeddings_response(std::string_view body,
                                                  const EmbeddingsContext& ctx);

// Content type, the key in `x-goog-api-key` (never in the URL, which ends up in logs), and the
// configured extra headers.
std::vector<std::string> request_headers(const config::Provider& provider);

// The OpenAI tool-call id for the `ordinal`-th functionCall of candidate `candidate`: Gemini
// gives function calls no id, so one is derived from the response id (deterministic, at most
// 40 characters of [A-Za-z0-9_]).
std::string tool_call_id(std::string_view response_id, std::int64_t candidate,
                         std::int64_t ordinal);

// Gemini `finishReason` -> OpenAI `finish_reason` (fixtures README section 1): STOP -> stop, or
// tool_calls when the candidate has functionCall parts; MAX_TOKENS -> length; SAFETY,
// RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, IMAGE_SAFETY, IMAGE_PROHIBITED_CONTENT,
// IMAGE_RECITATION -> content_filter; anything else -> stop (or tool_calls).
std::string_view finish_reason(std::string_view gemini_reason, bool has_tool_calls);

// The Gemini generation a model name belongs to ("gemini-2.5-flash" -> 2, "gemini-3-pro" -> 3);
// 0 when the name does not say.
int model_generation(std::string_view model);

}  // namespace detail

}  // namespace sb::providers::gemini
