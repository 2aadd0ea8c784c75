#pragma once

// Helpers shared by the inbound Anthropic translation units. Pure functions, no state.

#include <simdjson.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/result.h"
#include "providers/common/chat_request.h"
#include "providers/common/json.h"
#include "providers/common/strings.h"

namespace sb::inbound::anthropic::detail {

using providers::common::append_element;
using providers::common::append_int;
using providers::common::append_string;
using providers::common::begin_item;
using providers::common::is_blank;
using providers::common::is_null;
using providers::common::is_number;
using providers::common::string_member;

// Anthropic-style paths: "messages.1.content.0".
std::string path(std::string_view base, std::size_t i);
std::string path(std::string_view base, std::string_view key);

// InvalidRequest errors worded the way Anthropic words them ("<path>: <what>").
tl::unexpected<Error> invalid(std::string param, std::string_view what);
tl::unexpected<Error> missing(std::string param);                                // Field required
tl::unexpected<Error> wrong_type(std::string param, std::string_view expected);  // Input should be
// A field (or value) with no equivalent on a non-Anthropic target; `why` may be empty.
tl::unexpected<Error> unsupported(std::string param, std::string_view why = {});

// A list of strings at `name` (`stop_sequences`): each string goes to `on_item(std::string_view)`
// in order; null is an empty list. "Input should be a valid list" / "a valid string" otherwise.
template <typename OnItem>
Status read_string_list(simdjson::dom::element value, std::string_view name, OnItem&& on_item) {
    if (is_null(value)) {
        return {};
    }
    simdjson::dom::array list;
    if (value.get_array().get(list) != simdjson::SUCCESS) {
        return wrong_type(std::string(name), "a valid list");
    }
    std::size_t i = 0;
    for (const simdjson::dom::element item : list) {
        std::string_view s;
        if (item.get_string().get(s) != simdjson::SUCCESS) {
            return wrong_type(path(name, i), "a valid string");
        }
        on_item(s);
        ++i;
    }
    return {};
}

// The body parsed into `parser`'s document: InvalidJson, or a 400 unless it is an object.
Result<simdjson::dom::object> parse_object(simdjson::dom::parser& parser,
                                           const simdjson::padded_string& body);

// Anthropic stop_reason for an OpenAI finish_reason: stop -> end_turn (stop_sequence when
// `matched_stop` is set), length -> max_tokens, tool_calls / function_call -> tool_use,
// content_filter -> refusal; a refusal message also gives refusal; anything else end_turn.
// An answer with tool calls whose finish_reason is not length or content_filter is tool_use:
// some OpenAI-compatible servers (Ollama, older vLLM) say "stop" there, and agents run the
// tools only on tool_use.
std::string_view stop_reason(std::string_view finish_reason, bool matched_stop, bool refusal,
                             bool tool_calls);

// The request's stop sequence equal to `reported` (an upstream's choice `stop_reason`, as vLLM
// sends), or empty.
std::string_view matched_stop(std::string_view reported, const std::vector<std::string>& sequences);

// Anthropic usage object. OpenAI's prompt_tokens includes cached tokens, Anthropic's
// input_tokens does not: input = prompt - cached.
void append_usage(std::string& out, std::int64_t prompt, std::int64_t cached, std::int64_t output);

// The message id: the context's, or "msg_" + the upstream's id ("msg_" alone when none).
std::string message_id(std::string_view context_id, std::string_view upstream_id);

}  // namespace sb::inbound::anthropic::detail
