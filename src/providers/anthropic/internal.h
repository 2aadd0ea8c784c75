#pragma once

// Helpers shared by the Anthropic adapter's translation units. Pure functions, no state.

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace sb::providers::anthropic::detail {

// Appends `s` as a JSON string (quoted, escaped). `s` must be valid UTF-8 (simdjson validated
// every string we copy).
void append_string(std::string& out, std::string_view s);
void append_int(std::string& out, std::int64_t value);
// Appends a parsed JSON value, minified, with its members in their original order.
void append_element(std::string& out, simdjson::dom::element value);

// Reads a string member; empty when absent or not a string.
std::string_view string_member(simdjson::dom::element object, std::string_view key);
// Reads an integer member; 0 when absent or not an integer.
std::int64_t int_member(simdjson::dom::element object, std::string_view key);

// Anthropic `stop_reason` -> OpenAI `finish_reason` (fixtures README section 1):
// end_turn, stop_sequence, pause_turn -> stop; max_tokens, model_context_window_exceeded ->
// length; tool_use -> tool_calls; refusal -> content_filter; anything else -> stop.
std::string_view finish_reason(std::string_view stop_reason);

// Token counts as Anthropic reports them.
struct Usage {
    std::int64_t input = 0;
    std::int64_t cache_read = 0;
    std::int64_t cache_creation = 0;
    std::int64_t output = 0;
    std::int64_t thinking = 0;  // usage.output_tokens_details.thinking_tokens, when given

    // Takes every count present in an Anthropic `usage` object (absent ones are kept).
    void update(simdjson::dom::element usage);
};

// Appends the OpenAI usage object: prompt_tokens = input + cache reads + cache writes
// (Anthropic's input_tokens excludes both), completion_tokens = output, their total, cached
// and reasoning token details.
void append_usage(std::string& out, const Usage& usage);

// The HTTP status Anthropic documents for an error `type` (errors.status_map.md): used for
// errors that arrive inside a 200 stream, which carry no status of their own.
int status_for_error_type(std::string_view type);

// An error Anthropic reported (`{"type":"error","error":{"type","message"}}`) as our Error,
// with the upstream's type and message kept.
Error upstream_error(int status, std::string_view type, std::string_view message);

}  // namespace sb::providers::anthropic::detail
