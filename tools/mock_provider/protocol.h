#pragma once

// Internals of the mock provider shared by the socket layer (server.cc) and the protocol layer
// (protocol.cc: OpenAI, Anthropic Messages; gemini.cc; bedrock.cc). Nothing here does I/O.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace sb::mock::detail {

// Bytes that must stay readable after a request body (simdjson reads in 64-byte blocks).
inline constexpr std::size_t kJsonPadding = 64;
inline constexpr std::size_t kMaxBodyBytes = std::size_t{64} << 20;
inline constexpr std::size_t kMaxHeadBytes = std::size_t{64} << 10;
inline constexpr std::size_t kMaxHeaders = 128;

// Process-wide counters behind /_mock/stats. Only provider requests (every path but /_mock/*
// and unknown ones: /v1/..., Gemini's /v1beta/..., Bedrock's /model/...) are counted.
struct Counters {
    std::atomic<std::uint64_t> requests{0};      // provider requests received
    std::atomic<std::uint64_t> completed{0};     // responses fully written
    std::atomic<std::uint64_t> cancelled{0};     // peer went away before the response ended
    std::atomic<std::uint64_t> disconnected{0};  // we cut the connection (disconnect_after)
    std::atomic<std::int64_t> active{0};         // received, response not finished
};
Counters& counters();

// How a request ended, for the counters.
enum class Outcome : std::uint8_t { Completed, Cancelled, Disconnected };
void count_outcome(Outcome outcome);

struct Header {
    std::string_view name;
    std::string_view value;
};

// One parsed request. Views point into the connection's buffers and stay valid until the
// response is finished.
struct Request {
    std::string_view method;
    std::string_view path;   // target without the query
    std::string_view query;  // after '?', may be empty
    std::string_view head;   // raw header lines (after the request line), for /_mock/last_request
    std::span<const Header> headers;
    std::string_view body;  // readable up to body.size() + kJsonPadding
    bool keep_alive = true;
    bool http10 = false;  // HTTP/1.0 keeps the connection only if both sides say keep-alive
};

// Long-poll of /_mock/stats: answer once every given counter reaches its target, or at the
// deadline.
struct StatsWait {
    bool active = false;
    std::uint64_t requests = 0;
    std::uint64_t completed = 0;
    std::uint64_t cancelled = 0;
    int timeout_ms = 0;
};
bool stats_wait_satisfied(const StatsWait& wait);

// Renders the events of one streamed answer on demand, so a long stream needs no big buffer.
// OpenAI events: [lead chunk] content chunks... finish chunk [usage chunk] [DONE].
// Anthropic Messages events: message_start, content_block_start, ping, content deltas...,
// content_block_stop, message_delta, message_stop; or, with a stream error, the deltas and then
// one `event: error`.
// Gemini events (SSE, or the elements of a JSON array without alt=sse): one per word (the last
// one carries finishReason), or one functionCall; with a stream error the words and then one
// `{"error":...}` event.
// Bedrock ConverseStream (binary event-stream frames): messageStart, [contentBlockStart],
// contentBlockDelta..., contentBlockStop, messageStop, metadata; or the deltas and then one
// exception frame.
// Each event is framed as one HTTP/1.1 chunk.
class StreamRenderer {
  public:
    enum class Kind : std::uint8_t {
        ChatText,
        ChatToolCall,
        CompletionText,
        MessagesText,
        MessagesToolUse,
        GeminiText,
        GeminiToolCall,
        BedrockText,
        BedrockToolUse,
    };

    struct Setup {
        Kind kind = Kind::ChatText;
        std::uint64_t sequence = 0;  // makes the ids unique
        std::int64_t created = 0;
        std::string_view model;
        std::string_view tool_name;
        long chunks = 0;
        long bytes_per_chunk = 0;
        bool include_usage = false;
        long prompt_tokens = 0;
        // Messages: end_turn, max_tokens or tool_use; Gemini: STOP or MAX_TOKENS; Bedrock:
        // end_turn, max_tokens or tool_use.
        std::string_view stop_reason;
        // End with this error instead: Messages an error type (overloaded_error), Gemini a
        // google.rpc status (UNAVAILABLE), Bedrock an exception member (throttlingException).
        std::string_view error_type;
        bool json_array = false;  // Gemini without alt=sse: a JSON array, not SSE
        long latency_ms = 0;      // Bedrock metadata.metrics.latencyMs
        // Chat text: Azure's content filter cut the answer (prompt_filter_results on the first
        // chunk, finish_reason content_filter with content_filter_results on the last).
        bool content_filter = false;
        // Messages with `thinking` enabled: a signed thinking block (index 0) comes first.
        std::string_view thinking;
        std::string_view signature;
    };
    void reset(const Setup& setup);

    std::size_t event_count() const { return content_begin() + content_count() + tail_count(); }
    // Index of the first content event (chat sends a role chunk first; Anthropic sends
    // message_start, content_block_start and a ping; Bedrock messageStart and, for a tool use,
    // contentBlockStart).
    std::size_t content_begin() const {
        switch (kind_) {
            case Kind::CompletionText:
            case Kind::GeminiText:
            case Kind::GeminiToolCall:
                return 0;
            case Kind::MessagesText:
            case Kind::MessagesToolUse:
                // With thinking: its start, the ping, thinking_delta, signature_delta, its stop,
                // then the content block's start.
                return thinking_.empty() && signature_.empty() ? 3 : 7;
            case Kind::BedrockToolUse:
                return 2;
            default:
                return 1;
        }
    }
    std::size_t content_count() const;
    // Appends event `index` as one HTTP chunk ("<hex>\r\n<event>\r\n").
    void append_event(std::size_t index, std::string& out);

  private:
    bool messages() const { return kind_ == Kind::MessagesText || kind_ == Kind::MessagesToolUse; }
    bool gemini() const { return kind_ == Kind::GeminiText || kind_ == Kind::GeminiToolCall; }
    bool bedrock() const { return kind_ == Kind::BedrockText || kind_ == Kind::BedrockToolUse; }
    std::size_t tail_count() const {
        if (messages()) {
            return error_type_.empty() ? 3 : 1;
        }
        if (gemini()) {
            // The finishReason rides on the last content event; no words: one empty event.
            return !error_type_.empty() || (kind_ == Kind::GeminiText && chunks_ == 0) ? 1 : 0;
        }
        if (bedrock()) {
            if (!error_type_.empty()) {
                return 1;
            }
            // contentBlockStop (when a block was opened), messageStop, metadata.
            return kind_ == Kind::BedrockText && chunks_ == 0 ? 2 : 3;
        }
        return include_usage_ ? 3 : 2;
    }
    void append_payload(std::size_t index, std::string& out) const;
    void append_messages_event(std::size_t index, std::string& out) const;
    void append_gemini_event(std::size_t index, std::string& out) const;   // gemini.cc
    void append_bedrock_event(std::size_t index, std::string& out) const;  // bedrock.cc

    Kind kind_ = Kind::ChatText;
    long chunks_ = 0;
    long bytes_per_chunk_ = 0;
    bool include_usage_ = false;
    std::string prefix_;  // `{"id":...,"choices":[` shared by every chunk
    std::string usage_;   // the usage object
    std::string tool_name_;
    std::string call_id_;
    std::string scratch_;
    // Anthropic Messages, Gemini and Bedrock.
    std::string model_;
    std::string message_id_;  // Messages: the message id; Gemini: the responseId
    std::string stop_reason_;
    std::string error_type_;
    long prompt_tokens_ = 0;
    bool json_array_ = false;
    long latency_ms_ = 0;
    bool content_filter_ = false;
    std::string thinking_;  // Messages: the thinking block, when asked for
    std::string signature_;
};

// What the socket layer must do for one request. Reused across the requests of a connection.
struct Response {
    std::string head;  // status line and headers, ending with an empty line
    std::string body;  // non-stream body
    bool stream = false;
    bool close = false;    // close the connection after this response
    bool counted = false;  // a provider request: report its outcome with count_outcome()
    int latency_ms = 0;
    int chunk_delay_ms = 0;
    long disconnect_after = -1;  // stream: content chunks before a cut; non-stream: 0 = no answer
    long stall_after = -1;       // stream: content chunks before going silent
    StatsWait wait;
    StreamRenderer renderer;

    void clear();
};

// The provider protocols (OpenAI, Anthropic Messages, Gemini, Bedrock Converse): route a request
// and fill the Response. One per connection; all calls happen on the connection's worker thread.
class Handler {
  public:
    explicit Handler(std::string_view api_key) : api_key_(api_key) {}

    void handle(const Request& request, Response& response);
    // Renders the /_mock/stats answer after a long-poll ends.
    void finish_stats(const Request& request, Response& response, bool timed_out);
    // An HTTP-level failure (400 bad framing, 413, 431): answer and close.
    void framing_error(int status, Response& response);

  private:
    std::string_view api_key_;
};

}  // namespace sb::mock::detail
