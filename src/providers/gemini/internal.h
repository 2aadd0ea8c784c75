#pragma once

// Helpers shared by the Gemini adapter's translation units. Pure functions, no state.

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "providers/common/json.h"

namespace sb::providers::gemini::detail {

// JSON writing and member reading (providers/common/json.h).
using common::append_element;
using common::append_int;
using common::append_string;
using common::begin_item;
using common::int_member;
using common::string_member;

// True when the member is present and `true`.
bool bool_member(simdjson::dom::element object, std::string_view key);

// Token counts as Gemini reports them (`usageMetadata`).
struct Usage {
    std::int64_t prompt = 0;      // promptTokenCount
    std::int64_t candidates = 0;  // candidatesTokenCount
    std::int64_t thoughts = 0;    // thoughtsTokenCount
    std::int64_t cached = 0;      // cachedContentTokenCount
    std::int64_t total = -1;      // totalTokenCount (-1: not given)

    // Replaces the counts with those of `usage`: Gemini's stream events carry cumulative
    // usageMetadata, so the last one wins and nothing is summed.
    void assign(simdjson::dom::element usage);
};

// Appends the OpenAI usage object: prompt_tokens = promptTokenCount, completion_tokens =
// candidates + thoughts (Gemini's total is prompt + candidates + thoughts: fixtures README
// section 4), total_tokens = totalTokenCount, cached and reasoning token details.
void append_usage(std::string& out, const Usage& usage);

// Appends one OpenAI tool call for a Gemini functionCall part:
// `{["index":N,]"id","type":"function","function":{"name","arguments"}[,"extra_content"]}`.
// `arguments` is the JSON text of `args` ("{}" when absent); a thoughtSignature on the part
// goes to `extra_content.google.thought_signature`, where Google's own OpenAI-compatible
// endpoint puts it, so a client echoing the tool call back returns it to us.
void append_tool_call(std::string& out, simdjson::dom::element part,
                      simdjson::dom::element function_call, std::string_view id,
                      std::int64_t stream_index = -1);

// An error Gemini reported (`{"error":{"code","message","status","details"}}`) as our Error:
// UpstreamError with the upstream's status, message and `status` string kept (as the type),
// the ErrorInfo reason as the code, and RetryInfo.retryDelay as Retry-After when
// `retry_after` is empty. `http_status` 0 takes the status from `code`.
Error upstream_error(simdjson::dom::element error, int http_status, std::string_view retry_after,
                     std::string_view secret);

}  // namespace sb::providers::gemini::detail
