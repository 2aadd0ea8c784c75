#pragma once

// Helpers shared by the Bedrock adapter's translation units. Pure functions, no state.

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "providers/common/json.h"

namespace sb::providers::bedrock::detail {

// JSON writing and member reading (providers/common/json.h).
using common::append_element;
using common::append_int;
using common::append_string;
using common::begin_item;
using common::int_member;
using common::string_member;

// Bedrock `stopReason` -> OpenAI `finish_reason` (fixtures README section 1): end_turn,
// stop_sequence -> stop; max_tokens, model_context_window_exceeded -> length; tool_use ->
// tool_calls; guardrail_intervened, content_filtered -> content_filter; malformed_model_output,
// malformed_tool_use and values added later -> stop (documented DECISION).
std::string_view finish_reason(std::string_view stop_reason);

// Token counts as Bedrock reports them (TokenUsage).
struct Usage {
    std::int64_t input = 0;        // inputTokens: not counting cache reads and writes
    std::int64_t output = 0;       // outputTokens
    std::int64_t cache_read = 0;   // cacheReadInputTokens
    std::int64_t cache_write = 0;  // cacheWriteInputTokens

    // Takes every count present in a Bedrock `usage` object (absent ones are kept).
    void update(simdjson::dom::element usage);
};

// Appends the OpenAI usage object: prompt_tokens = input + cache reads + cache writes,
// completion_tokens = output, their total, cached_tokens = cache reads, reasoning_tokens = 0
// (Bedrock does not split reasoning out of outputTokens).
void append_usage(std::string& out, const Usage& usage);

// An error Bedrock reported inside a 200 stream (a modeled exception, or an unmodeled
// `:message-type: error`), as our Error with the AWS type and message kept. The status comes
// from the service model (throttling 429, model stream error 424, internal 500, validation 400,
// service unavailable 503); an unknown type is a 502.
Error stream_error(std::string_view type, std::string_view message);

}  // namespace sb::providers::bedrock::detail
