#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "providers/provider.h"

// The AWS Bedrock Converse adapter: OpenAI chat completions in, Bedrock `POST
// /model/{modelId}/converse` (or `/converse-stream`) out, signed with SigV4, and the answer
// (JSON, or the binary AWS event stream) translated back to OpenAI's shapes. The rules (what
// maps to what, what is refused) are in docs/providers/bedrock.md.
namespace sb::providers::bedrock {

// The signing name of Bedrock Runtime (service model `signingName`) and its endpoint host.
inline constexpr std::string_view kSigningName = "bedrock";
// "https://" + kHostPrefix + region + kHostSuffix
inline constexpr std::string_view kHostPrefix = "bedrock-runtime.";
inline constexpr std::string_view kHostSuffix = ".amazonaws.com";

// What the adapter signs with. Filled by whoever builds the adapter from config (see
// docs/providers/bedrock.md, "Configuration"). With an empty access_key_id the adapter sends
// the provider's `api_key` as a Bedrock API key (`Authorization: Bearer`) instead of signing.
struct BedrockCredentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  // temporary (STS) credentials only
    std::string region;         // e.g. "us-east-1": picks the endpoint and the signing scope
};

// Checks credentials once, at startup or config reload: a region made of a-z, 0-9 and '-', and
// either both keys or neither (then the provider's api_key must be set). The error names the
// field at fault.
Status validate(const BedrockCredentials& credentials, const config::Provider& provider);

// The standard AWS environment variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, and AWS_REGION (else AWS_DEFAULT_REGION). Unset ones stay empty.
BedrockCredentials credentials_from_env(const config::EnvLookup& env);

// Unix time in seconds; injected so signing is a pure function of its inputs.
using UnixClock = std::function<std::int64_t()>;

// Translates between OpenAI chat completions and Bedrock Converse. Immutable after construction:
// one instance may be shared by every worker thread (the clock must then be thread-safe); each
// stream gets its own decoder, owned by the request that made it and used on that request's
// thread only. Credentials are fixed for the adapter's life: rotating them (STS, instance
// roles) means building a new adapter with the next config snapshot.
class BedrockAdapter final : public Adapter {
  public:
    BedrockAdapter(BedrockCredentials credentials, UnixClock clock);

    // URL: `provider.base_url` when set (tests, VPC endpoints, proxies), else
    // https://bedrock-runtime.{region}.amazonaws.com; then /model/{upstream model, URI-encoded}/
    // converse or converse-stream (ctx.stream).
    Result<http::UpstreamRequest> build_chat(const config::Provider& provider,
                                             std::string_view openai_body,
                                             const ChatContext& ctx) const override;
    Result<std::string> translate_chat_response(std::string_view upstream_body,
                                                const ChatContext& ctx) const override;
    std::unique_ptr<StreamDecoder> make_chat_stream_decoder(const ChatContext& ctx) const override;
    // Bedrock errors are `{"message": ...}` with the type in the `x-amzn-ErrorType` header; a
    // type inside the body (`__type`, `XAmznErrorType`, `code`, as SDK mocks and some proxies
    // send it) wins, the header is used when the body has none.
    Error map_error(const config::Provider& provider, int status, std::string_view body,
                    std::string_view retry_after) const override;
    Error map_error(const config::Provider& provider, int status, std::string_view body,
                    std::string_view retry_after,
                    std::string_view error_type_header) const override;
    // Embeddings through InvokeModel (`/model/{id}/invoke`): Amazon Titan Text Embeddings (one
    // input per call: an `input` array of more than one string is a 400 naming `input`) and
    // Cohere Embed (`texts`, up to 96 inputs). Other model families are a 400 naming `model`.
    Result<http::UpstreamRequest> build_embeddings(const config::Provider& provider,
                                                   std::string_view openai_body,
                                                   EmbeddingsContext& ctx) const override;
    Result<std::string> translate_embeddings_response(std::string_view upstream_body,
                                                      const EmbeddingsContext& ctx) const override;

  private:
    // POST {endpoint}{model_path} with `body`, signed (SigV4) or with the Bedrock API key.
    Result<http::UpstreamRequest> signed_request(const config::Provider& provider,
                                                 std::string_view model_path,
                                                 std::string body) const;

    BedrockCredentials credentials_;
    UnixClock clock_;
};

// The pieces behind the adapter, exposed for tests, the fuzzer and benchmarks.
namespace detail {

// The Converse request body for an OpenAI chat completions body (400 naming the parameter for
// what Converse cannot express).
Result<std::string> translate_request(std::string_view openai_body, const ChatContext& ctx);

// The path for a model: "/model/" + model id URI-encoded as one segment (':' -> %3A, '/' ->
// %2F, as the AWS SDKs encode the modelId label) + "/converse" or "/converse-stream".
std::string model_path(std::string_view model_id, bool stream);
// "/model/" + model id URI-encoded as one segment + "/invoke" (InvokeModel).
std::string invoke_path(std::string_view model_id);

// The embeddings model families Bedrock serves through InvokeModel that we translate to.
enum class EmbeddingsFamily : std::uint8_t { None, TitanV1, TitanV2, Cohere };
// By model id (also inside an ARN or an inference profile id): "amazon.titan-embed-text-v2"
// -> TitanV2, "amazon.titan-embed-text-v1" / "amazon.titan-embed-g1-text" -> TitanV1,
// "cohere.embed-" -> Cohere.
EmbeddingsFamily embeddings_family(std::string_view model_id);

// The InvokeModel body for an OpenAI embeddings body (fills ctx.inputs and ctx.base64).
Result<std::string> translate_embeddings_request(std::string_view openai_body,
                                                 EmbeddingsContext& ctx);
// OpenAI's embeddings list for an InvokeModel answer: Titan `{"embedding":[...],
// "inputTextTokenCount":N}`, Cohere `{"embeddings":[[...]]}` or `{"embeddings":{"float":
// [[...]]}}`.
Result<std::string> translate_embeddings_response(std::string_view body,
                                                  const EmbeddingsContext& ctx);

// The HTTP status AWS gives an error type (service model httpStatusCode), for errors that arrive
// inside a 200 stream; 0 for a name it does not know. Matches "ThrottlingException" and the
// event-stream member name "throttlingException".
int status_for_exception(std::string_view type);

// The bare exception name from the forms AWS writes it in:
// "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
// "com.amazonaws.bedrockruntime#ThrottlingException" -> "ThrottlingException" (botocore's rule:
// cut at ':', then keep what follows the last '#'). The first letter is upper-cased, so
// "throttlingException" (an event-stream member) gives the same name.
std::string exception_name(std::string_view type);

}  // namespace detail

}  // namespace sb::providers::bedrock
