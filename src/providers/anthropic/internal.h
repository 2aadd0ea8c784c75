#pragma once

// Helpers shared by the Anthropic adapter's translation units. Pure functions, no state.

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "providers/common/json.h"

namespace sb::providers::anthropic::detail {

// JSON writing and member reading (providers/common/json.h).
using common::append_element;
using common::append_int;
using common::append_string;
using common::begin_item;
using common::int_member;
using common::string_member;

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
