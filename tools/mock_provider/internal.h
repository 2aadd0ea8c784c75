#pragma once

// Helpers shared by the protocol translation units of the mock provider: protocol.cc (OpenAI,
// Anthropic Messages, routing, /_mock), gemini.cc (Google Gemini) and bedrock.cc (AWS Bedrock
// Converse). Nothing here does I/O.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mock_provider/protocol.h"

namespace sb::mock::detail {

inline constexpr std::string_view kJson = "application/json";

// Arguments of the mock tool call, streamed in these fragments like OpenAI's argument deltas.
inline constexpr std::string_view kToolArgumentFragments[] = {"{\"", "location", "\":\"", "Paris",
                                                              "\"}"};
inline constexpr std::size_t kToolArgumentFragmentCount =
    sizeof(kToolArgumentFragments) / sizeof(kToolArgumentFragments[0]);

// ---------------------------------------------------------------------------------------------
// Writers

void append_uint(std::string& out, std::uint64_t value);
void append_int(std::string& out, std::int64_t value);
void append_hex(std::string& out, std::size_t value);
// Appends `s` (valid UTF-8) escaped for a JSON string, without the quotes.
void append_escaped(std::string& out, std::string_view s);
void append_quoted(std::string& out, std::string_view s);
// Word `index` of the deterministic answer, padded with 'x' to `bytes_per_chunk` bytes.
void append_word(std::string& out, long index, long bytes_per_chunk);
// `prefix` + "mock" + the sequence in 20 digits.
void append_mock_id(std::string& out, std::string_view prefix, std::uint64_t sequence);

// ---------------------------------------------------------------------------------------------
// Text helpers

char lower(char c);
bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view s);
const Header* find_header(const Request& request, std::string_view name);
bool parse_long(std::string_view s, long& value);
// Rough tokens of a text, like OpenAI's rule of thumb of four characters per token.
long text_tokens(std::string_view text);
// Decodes %XX escapes (a '%' not followed by two hex digits stays as it is).
std::string percent_decode(std::string_view s);
// The value of `name` in a query string ("a=1&key=x"), undecoded; empty when absent.
std::string_view query_param(std::string_view query, std::string_view name);

std::uint64_t next_sequence();

// The mock's embedding of a text (a unit vector of values.size() floats, a function of the text
// only: the OpenAI endpoint gives the same text the same vector), and a JSON array of floats.
void text_embedding(std::string_view text, std::vector<float>& values);
void append_float_array(std::string& out, const std::vector<float>& values);
simdjson::dom::parser& json_parser();

// ---------------------------------------------------------------------------------------------
// Per-request controls: `x-mock-<name>` headers, or `;name=value` after the model name.

enum ControlBit : std::uint32_t {
    kLatency = 1u << 0,
    kChunkDelay = 1u << 1,
    kChunks = 1u << 2,
    kStatus = 1u << 3,
    kErrorBody = 1u << 4,
    kRetryAfter = 1u << 5,
    kDisconnectAfter = 1u << 6,
    kStallAfter = 1u << 7,
    kToolCall = 1u << 8,
    kBytesPerChunk = 1u << 9,
    kStreamError = 1u << 10,
    kContentFilter = 1u << 11,
};

struct Controls {
    long latency_ms = 0;
    long chunk_delay_ms = 0;
    long chunks = 8;
    long status = 0;
    long disconnect_after = -1;
    long stall_after = -1;
    long tool_call = 0;
    long bytes_per_chunk = 0;
    std::string_view error_body;
    std::string_view retry_after;
    std::string_view stream_error;  // as given (trimmed); each protocol reads its own values
    // Azure OpenAI's content filter on chat completions: "prompt" (400 content_filter) or
    // "completion" (finish_reason content_filter with the filter results).
    std::string_view content_filter;
    std::uint32_t set = 0;  // ControlBits given so far (headers first: they take precedence)

    // The `status` control asks for an error answer.
    bool error_status() const { return (set & kStatus) != 0 && status >= 400; }
};

// Splits "gpt-4o-mini;latency_ms=50;chunks=3" into the base model and controls; returns the
// base model.
std::string_view apply_model_controls(std::string_view model, Controls& controls);

// ---------------------------------------------------------------------------------------------
// One request being answered.

struct Context {
    Context(const Request& r, Response& out) : request(r), response(out) {}

    const Request& request;
    Response& response;
    std::uint64_t number = 0;  // value of the requests counter for this request
    bool auth_present = false;
    bool faults = true;  // apply latency/disconnect/stall (not to a rejected credential)
    Controls controls;
};

// Writes the status line and headers for response.body (or a chunked stream). `extra_headers`
// are complete lines ("name: value\r\n").
void write_head(Context& context, int status, std::string_view content_type, bool chunked,
                std::string_view extra_headers = {});

// Tokens of a `content`: a string, or the `text` of each part of an array.
long content_tokens(const simdjson::dom::element& content);

// ---------------------------------------------------------------------------------------------
// The other protocols (gemini.cc, bedrock.cc). `api_key` is the --api-key value (may be empty).

// Whether `request` is a Gemini Developer API call (/v1beta/..., /v1alpha/..., and POST
// /v1/models/{model}:generateContent|:streamGenerateContent).
bool is_gemini_path(const Request& request);
// Whether the request carries a Gemini credential (x-goog-api-key or ?key=).
bool gemini_auth_present(const Request& request);
void gemini_endpoint(Context& context, std::string_view api_key);

// POST /model/{modelId}/converse and /converse-stream.
bool is_bedrock_path(std::string_view path);
void bedrock_endpoint(Context& context, std::string_view api_key);

// Google OAuth for service accounts (google.cc). configure_google_auth loads the PEM public key
// that assertions must be signed with and the lifetime of issued tokens; process-wide.
bool configure_google_auth(const std::string& public_key_file, long token_ttl, std::string& error);
// POST /token: the JWT-bearer grant.
bool is_google_token_path(std::string_view path);
void google_token_endpoint(Context& context);
// Whether `token` was issued by google_token_endpoint and has not expired.
bool google_token_valid(std::string_view token);
std::uint64_t google_tokens_issued();

}  // namespace sb::mock::detail
