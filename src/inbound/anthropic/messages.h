#pragma once

// Inbound Anthropic Messages API (`POST /v1/messages`, `/v1/messages/count_tokens`) for targets
// that do not speak it. The gateway turns the client's Anthropic request into an OpenAI chat
// completions body (to_openai_chat), sends that down the existing path (OpenAI-format
// passthrough, or a translating adapter's build_chat), and turns the OpenAI answer back into
// Anthropic's shapes: a message (to_anthropic_response) or Anthropic's SSE event sequence
// (StreamTranslator). Anthropic targets need none of this: they get the client's bytes with the
// model rewritten (parse() gives the model token's span for api::rewrite_model).
//
// Pure functions and per-request objects, no I/O and no global state. The mapping, what is
// refused and why, and the count_tokens formula are in docs/anthropic-inbound.md.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/openai_request.h"
#include "core/result.h"
#include "providers/common/sse.h"
#include "providers/provider.h"

namespace sb::inbound::anthropic {

// ---------------------------------------------------------------------------------------------
// Request

enum class Endpoint : std::uint8_t {
    Messages,     // POST /v1/messages: max_tokens is required
    CountTokens,  // POST /v1/messages/count_tokens: no max_tokens
};

// What routing needs from an inbound Anthropic request.
struct MessagesRequest {
    // model, stream and the byte span of the `model` token: api::rewrite_model(body, inbound,
    // upstream_model) gives the body for a native Anthropic target. include_usage is unused.
    api::InboundRequest inbound;
    std::optional<std::int64_t> max_tokens;   // always set for Endpoint::Messages
    std::vector<std::string> stop_sequences;  // for ResponseContext (stop_sequence reporting)
};

// Validates `body` as an Anthropic request object and reads the fields routing needs: JSON
// syntax, `model` (a non-empty string, not repeated), `messages` (an array), `max_tokens`
// (an integer >= 0, required for Messages), `stream` (a boolean) and `stop_sequences` (an array
// of strings). Errors are InvalidRequest/InvalidJson with Anthropic-style messages
// ("max_tokens: Field required"); render them with anthropic_error_body.
Result<MessagesRequest> parse(Endpoint endpoint, std::string_view body);

// The client headers a native Anthropic target gets (no other client header is forwarded).
struct ClientHeaders {
    std::string_view anthropic_version;  // empty: the configured one, else kApiVersion
    std::string_view anthropic_beta;     // empty: none (unless configured)
};

// The upstream request for an Anthropic target (native passthrough): the client's body with only
// the `model` token replaced by `upstream_model` (api::rewrite_model), POSTed to
// base_url + "/messages" (or "/messages/count_tokens"), with the provider's auth and configured
// headers as the Anthropic adapter sends them, and the client's anthropic-version and
// anthropic-beta. A header the provider configures wins over the client's. A client header
// value with control characters is a 400.
Result<http::UpstreamRequest> native_request(const config::Provider& provider, Endpoint endpoint,
                                             std::string_view body, const MessagesRequest& request,
                                             std::string_view upstream_model,
                                             const ClientHeaders& client);

// How the reasoning request (`thinking`, `output_config.effort`) is handled for a target.
enum class Thinking : std::uint8_t {
    Refuse,           // a 400 naming `thinking` (the default: the target may have no reasoning)
    ReasoningEffort,  // mapped to OpenAI `reasoning_effort` (low / medium / high)
    Ignore,           // dropped (an operator's explicit choice for non-reasoning targets)
};

// Which OpenAI field carries Anthropic's max_tokens. OpenAI's reasoning models only take
// max_completion_tokens; much of the OpenAI-compatible long tail only knows max_tokens.
enum class MaxTokensField : std::uint8_t { MaxTokens, MaxCompletionTokens };

// What the target can take, chosen by the gateway per route target.
struct TargetOptions {
    // Model written into the OpenAI body; empty keeps the client's model.
    std::string model;
    // The target takes `top_k` as an extension field of the OpenAI body (the Anthropic and
    // Gemini adapters carry it; OpenAI itself has no top_k). When false, top_k is a 400.
    bool top_k = false;
    Thinking thinking = Thinking::Refuse;
    MaxTokensField max_tokens_field = MaxTokensField::MaxTokens;
};

// The options for a provider type: top_k for the Anthropic and Gemini adapters (they carry
// it); thinking as reasoning_effort where the path understands it (OpenAI and Azure pass it to
// the model, whose own 400 speaks for a non-reasoning model; the Anthropic and Gemini adapters
// translate it), refused for OpenAI-compatible servers (many ignore unknown fields silently) and
// Bedrock (its adapter has no reasoning mapping); max_completion_tokens for OpenAI and Azure.
// `model` is left empty. The gateway may override any field per route.
TargetOptions target_options_for(config::ProviderType type);

// The OpenAI chat completions body for an Anthropic Messages body. Whatever has no faithful
// OpenAI equivalent is a 400 naming the parameter (Anthropic-style path, e.g.
// "messages.1.content.0.source.type"); unknown fields are refused, as Anthropic refuses them.
Result<std::string> to_openai_chat(std::string_view body, const TargetOptions& target = {});

// ---------------------------------------------------------------------------------------------
// Response

// What the response translation needs besides the OpenAI body.
struct ResponseContext {
    std::string message_id;  // "msg_..." for the Anthropic message; empty: "msg_" + upstream id
    std::string model;       // the model reported to the client (the one it asked for)
    // The request's stop_sequences: an upstream that reports which one matched (choice
    // `stop_reason`, as vLLM does) gets stop_reason "stop_sequence" with the sequence.
    std::vector<std::string> stop_sequences;
    // input_tokens in message_start, before the upstream's count (which OpenAI streams send
    // last) arrives in message_delta. The gateway may pass estimate_input_tokens().
    std::int64_t input_tokens_estimate = 0;
    std::string upstream = "openai";  // names the upstream in bad-stream errors
};

// The Anthropic message body for an OpenAI chat.completion body. An OpenAI error body is an
// UpstreamError (type and message kept); a body that is not a completion is
// UpstreamBadResponse.
Result<std::string> to_anthropic_response(std::string_view openai_body, const ResponseContext& ctx);

// Turns one OpenAI `chat.completion.chunk` SSE stream (upstream passthrough, or a translating
// adapter's StreamDecoder output) into Anthropic's event sequence: message_start,
// content_block_start / content_block_delta / content_block_stop per block (text, thinking,
// each tool call; one block open at a time, indexes in order), message_delta, message_stop.
// feed() takes any split of the bytes. An OpenAI error event (`data: {"error":{...}}`) or a
// malformed stream is returned as an Error: the gateway answers with a plain HTTP error when
// nothing was sent yet, else calls fail(). The first error sticks (ChatStreamDecoder). finish():
// the upstream ended; [DONE] already wrote message_delta and message_stop, and a stream that
// ended without it (cut, maybe before its finish_reason or usage) is an Error. One per request;
// not thread-safe.
class StreamTranslator final : public providers::common::ChatStreamDecoder {
  public:
    explicit StreamTranslator(ResponseContext ctx);

    // Appends `event: ping` when a message is in progress (after message_start, before
    // message_stop or an error event); nothing otherwise. For the gateway's keep-alive timer.
    void ping(std::string& out) const;
    // Appends an Anthropic `event: error` for `e` and ends the stream (later input ignored).
    void fail(const Error& e, std::string& out);

    bool started() const { return started_; }  // message_start written
    bool ended() const { return ended_; }      // message_stop or error written

  private:
    enum class Kind : std::uint8_t { Text, Thinking, Tool };
    enum class State : std::uint8_t { Pending, Open, Closed };

    // Whether a tool call's argument text is a complete JSON object or array yet: then no
    // valid continuation can follow, so its block may close and the next one open.
    struct JsonEnd {
        int depth = 0;
        bool in_string = false;
        bool escape = false;
        bool complete = false;
        bool trailing = false;  // non-blank text after the end
        void feed(std::string_view s);
    };

    struct Block {
        Kind kind = Kind::Text;
        std::int64_t tool_index = -1;  // OpenAI tool_calls[].index
        std::string id;
        std::string name;
        std::string pending;  // content received while another block was open
        State state = State::Pending;
        JsonEnd json;
    };

    struct Events final : providers::common::SseReader::Sink {
        Events(StreamTranslator& translator_in, std::string& out_in)
            : translator(translator_in), out(out_in) {}
        Status on_event(const std::string& event, std::string& data) override {
            return translator.on_event(event, data, out);
        }
        StreamTranslator& translator;
        std::string& out;
    };

    Status decode(std::string_view bytes, std::string& out) override;
    Status end(std::string& out) override;

    Status on_event(const std::string& event, std::string& data, std::string& out);
    Status on_chunk(simdjson::dom::element chunk, std::string& out);
    Status on_tool_call(simdjson::dom::element call, std::string& out);

    void ensure_started(std::string& out);
    void add_text(Kind kind, std::string_view text, std::string& out);
    void append_to(std::size_t block, std::string_view text, std::string& out);
    void advance(std::string& out);
    void open(std::size_t index, std::string& out);
    void close(std::size_t index, std::string& out);
    void close_all(std::string& out);
    void end_message(std::string& out);

    ResponseContext ctx_;
    providers::common::SseReader sse_;
    simdjson::dom::parser parser_;

    std::vector<Block> blocks_;
    std::size_t head_ = 0;  // first block not yet closed; only it may be open

    std::string message_id_;
    std::string finish_reason_;
    std::string matched_stop_;  // choice `stop_reason` naming one of the stop sequences
    bool refusal_ = false;
    std::int64_t prompt_tokens_ = -1;
    std::int64_t completion_tokens_ = 0;
    std::int64_t cached_tokens_ = 0;

    bool started_ = false;
    bool ended_ = false;
};

// The whole answer path for one streamed request to a non-Anthropic target: upstream bytes go
// through the target adapter's StreamDecoder when there is one (Anthropic-format targets are
// passthrough and never get here; Gemini and Bedrock do), then through the StreamTranslator.
// The gateway feeds it the upstream bytes whatever the provider type. Same contract as
// StreamTranslator (errors are returned; fail() writes the error event). One per request; not
// thread-safe.
class InboundStream final : public providers::StreamDecoder {
  public:
    // `decoder`: the adapter's decoder (made with include_usage set), or null for an
    // OpenAI-format upstream.
    InboundStream(std::unique_ptr<providers::StreamDecoder> decoder, ResponseContext ctx);

    Status feed(std::string_view bytes, std::string& out) override;
    Status finish(std::string& out) override;
    void ping(std::string& out) const { translator_.ping(out); }
    void fail(const Error& e, std::string& out) { translator_.fail(e, out); }
    bool started() const { return translator_.started(); }
    bool ended() const { return translator_.ended(); }

  private:
    std::unique_ptr<providers::StreamDecoder> decoder_;
    StreamTranslator translator_;
    std::string openai_;  // the decoder's output, handed on at once
};

// The non-stream counterpart: the adapter's translate_chat_response when there is an adapter
// (null for an OpenAI-format upstream), then to_anthropic_response.
Result<std::string> anthropic_response(const providers::Adapter* adapter,
                                       std::string_view upstream_body,
                                       const providers::ChatContext& chat,
                                       const ResponseContext& ctx);

// ---------------------------------------------------------------------------------------------
// Errors

// Anthropic's error `type` for an Error: an upstream's Anthropic type is kept; otherwise by
// HTTP status (400 invalid_request_error, 401 authentication_error, 402 billing_error,
// 403 permission_error, 404 not_found_error, 413 request_too_large, 429 rate_limit_error,
// 504 timeout_error, 529 overloaded_error, other 4xx invalid_request_error, other 5xx
// api_error). The HTTP status is core's http_status(e).
std::string_view anthropic_error_type(const Error& e);

// `{"type":"error","error":{"type":...,"message":...}}` (with `"request_id"` when given).
std::string anthropic_error_body(const Error& e, std::string_view request_id = {});

// `event: error` + `data: <anthropic_error_body>`: an error inside a stream.
void append_error_event(std::string& out, const Error& e);

// An OpenAI error object (`{"message","type","param","code"}`) as an UpstreamError: type, code
// and message kept; the status guessed from code and type (a stream carries none).
Error openai_error(simdjson::dom::element error);

// ---------------------------------------------------------------------------------------------
// count_tokens

// An estimate of a Messages request's input tokens for targets without Anthropic's counter:
// ceil(B / 4) + 3 * M + 1600 * I + 1500 * P + (tools ? 300 : 0), where B is the UTF-8 bytes of
// the text (system, text blocks, text documents, tool results, tool_use names and inputs, tool
// names, descriptions and schemas), M the number of messages, I of images and P of PDF
// documents. See docs/anthropic-inbound.md.
Result<std::int64_t> estimate_input_tokens(std::string_view body);

// `{"input_tokens":N}` for a count_tokens body (validated with parse(CountTokens)).
Result<std::string> count_tokens_response(std::string_view body);

}  // namespace sb::inbound::anthropic
