#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/result.h"
#include "http/upstream_client.h"

// The one interface between the gateway and a provider whose wire format differs from the
// caller's. An adapter only translates: no I/O, no global state, so each one is unit-, golden-
// and fuzz-tested without a socket. Sockets, retries and timeouts live in http/ and server/.
// (OpenAI and OpenAI-compatible providers need no translation: see providers/openai.h.)
namespace sb::providers {

// What a translation needs to know about the request besides its body.
struct ChatContext {
    std::string public_model;    // the model name the client asked for
    std::string upstream_model;  // the provider's model name
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
    std::string response_id;     // id for the OpenAI response ("chatcmpl-...")
    std::int64_t created = 0;    // unix seconds for `created`
};

// Turns one upstream stream into OpenAI `chat.completion.chunk` SSE events. One per request;
// feed() may be called with any split of the upstream bytes.
class StreamDecoder {
  public:
    virtual ~StreamDecoder() = default;
    // Consumes upstream bytes and appends complete OpenAI SSE events ("data: {...}\n\n") to
    // `out`. An error event from the upstream, or malformed upstream data, is an Error (with
    // the upstream's type and message kept where it gave them).
    virtual Status feed(std::string_view bytes, std::string& out) = 0;
    // The upstream ended cleanly: appends the final events (the usage chunk when asked for, then
    // "data: [DONE]\n\n"). An upstream that ended before its terminal event is an Error.
    virtual Status finish(std::string& out) = 0;
};

// What an embeddings translation needs besides the body. build_embeddings records what the
// response translation needs (the caller's encoding_format, the number of inputs).
struct EmbeddingsContext {
    std::string public_model;    // the model name the client asked for
    std::string upstream_model;  // the provider's model name
    // Filled by build_embeddings:
    bool base64 = false;     // encoding_format "base64": floats as little-endian float32 base64
    std::size_t inputs = 0;  // how many embeddings the answer must hold
};

class Adapter {
  public:
    virtual ~Adapter() = default;
    // Builds the upstream request (URL, headers incl. auth from config, body) from an OpenAI
    // chat completions request body. A parameter the target cannot express is a 400 naming it.
    virtual Result<http::UpstreamRequest> build_chat(const config::Provider& provider,
                                                     std::string_view openai_body,
                                                     const ChatContext& ctx) const = 0;
    // Translates a successful non-stream upstream body into an OpenAI chat.completion body.
    virtual Result<std::string> translate_chat_response(std::string_view upstream_body,
                                                        const ChatContext& ctx) const = 0;
    virtual std::unique_ptr<StreamDecoder> make_chat_stream_decoder(
        const ChatContext& ctx) const = 0;
    // Maps an upstream error response to our Error (status, type, message kept; credentials
    // scrubbed; the upstream rejecting our key is UpstreamAuth).
    virtual Error map_error(const config::Provider& provider, int status, std::string_view body,
                            std::string_view retry_after) const = 0;
    // The same, with the upstream's `x-amzn-ErrorType` header (empty when absent), which AWS
    // services send instead of a type in the body. The default ignores it.
    virtual Error map_error(const config::Provider& provider, int status, std::string_view body,
                            std::string_view retry_after,
                            std::string_view error_type_header) const {
        (void)error_type_header;
        return map_error(provider, status, body, retry_after);
    }

    // Builds the upstream request for an OpenAI embeddings request body and fills the context's
    // response fields. A parameter the target cannot express is a 400 naming it. The default:
    // a 400 saying the provider type serves no embeddings.
    virtual Result<http::UpstreamRequest> build_embeddings(const config::Provider& provider,
                                                           std::string_view openai_body,
                                                           EmbeddingsContext& ctx) const;
    // Translates a successful upstream embeddings body into an OpenAI `list` of embeddings.
    virtual Result<std::string> translate_embeddings_response(std::string_view upstream_body,
                                                              const EmbeddingsContext& ctx) const;
};

}  // namespace sb::providers
