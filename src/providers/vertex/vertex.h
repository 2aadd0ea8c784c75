#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "google/token_source.h"
#include "providers/gemini/gemini.h"
#include "providers/provider.h"

// The Google Vertex AI adapter: Gemini models on Vertex's publisher endpoints
// (`{base_url}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:
// generateContent` and `:streamGenerateContent?alt=sse`), with the Gemini adapter's translation
// (the wire format is the same) and an OAuth access token from a TokenSource instead of an API
// key; embeddings through `:predict`. Rules: docs/providers/vertex.md.
namespace sb::providers::vertex {

// Immutable after construction: one instance may be shared by every worker thread (the token
// source is thread-safe and never blocks). Each stream gets its own decoder.
class VertexAdapter final : public Adapter {
  public:
    explicit VertexAdapter(std::shared_ptr<const google::TokenSource> tokens);

    Result<http::UpstreamRequest> build_chat(const config::Provider& provider,
                                             std::string_view openai_body,
                                             const ChatContext& ctx) const override;
    Result<std::string> translate_chat_response(std::string_view upstream_body,
                                                const ChatContext& ctx) const override;
    std::unique_ptr<StreamDecoder> make_chat_stream_decoder(const ChatContext& ctx) const override;
    Error map_error(const config::Provider& provider, int status, std::string_view body,
                    std::string_view retry_after) const override;
    Result<http::UpstreamRequest> build_embeddings(const config::Provider& provider,
                                                   std::string_view openai_body,
                                                   EmbeddingsContext& ctx) const override;
    Result<std::string> translate_embeddings_response(std::string_view upstream_body,
                                                      const EmbeddingsContext& ctx) const override;

  private:
    Result<std::vector<std::string>> headers(const config::Provider& provider) const;

    std::shared_ptr<const google::TokenSource> tokens_;
    gemini::GeminiAdapter gemini_;
};

namespace detail {

// `{base_url}/v1/projects/{project}/locations/{location}/{model resource}{method}`; the model
// resource is `publishers/google/models/{model}`, or the model name as it is when it holds a '/'
// (`publishers/meta/models/x`, `endpoints/123`).
std::string model_url(const config::Provider& provider, std::string_view upstream_model,
                      std::string_view method);

// The :predict body for an OpenAI embeddings body: one instance per input
// ({"content"[,"task_type"]}), parameters.outputDimensionality from `dimensions`. Fills
// ctx.inputs and ctx.base64.
Result<std::string> translate_embeddings_request(std::string_view openai_body,
                                                 EmbeddingsContext& ctx);
// OpenAI's list for a :predict answer; prompt_tokens is the sum of
// predictions[].embeddings.statistics.token_count.
Result<std::string> translate_embeddings_response(std::string_view body,
                                                  const EmbeddingsContext& ctx);

}  // namespace detail

}  // namespace sb::providers::vertex
