// Gemini generateContent response (non-stream) -> OpenAI chat.completion.

#include <simdjson.h>

#include "providers/common/errors.h"
#include "providers/gemini/gemini.h"
#include "providers/gemini/internal.h"

namespace sb::providers::gemini {
namespace {

Error bad_response(std::string_view why) {
    return common::bad_response("gemini", why);
}

void append_choice_head(std::string& out, std::int64_t index) {
    out += "{\"index\":";
    detail::append_int(out, index);
    out += ",\"message\":{\"role\":\"assistant\",\"content\":";
}

void append_choice_tail(std::string& out, std::string_view finish) {
    out += ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":";
    detail::append_string(out, finish);
    out += '}';
}

// One Gemini candidate as one OpenAI choice.
void append_choice(std::string& choices, simdjson::dom::element candidate, std::int64_t index,
                   const ChatContext& ctx) {
    std::string text;
    std::string reasoning;
    std::string tool_calls;
    bool has_text = false;
    bool has_reasoning = false;
    std::int64_t ordinal = 0;
    simdjson::dom::array parts;
    if (candidate["content"]["parts"].get_array().get(parts) == simdjson::SUCCESS) {
        for (const simdjson::dom::element part : parts) {
            std::string_view part_text;
            simdjson::dom::element function_call;
            if (part["text"].get_string().get(part_text) == simdjson::SUCCESS) {
                // Parts flagged "thought": true are thought summaries (fixture
                // resp.thought_parts.json).
                if (detail::bool_member(part, "thought")) {
                    has_reasoning = true;
                    reasoning += part_text;
                } else {
                    has_text = true;
                    text += part_text;
                }
            } else if (part["functionCall"].get(function_call) == simdjson::SUCCESS &&
                       function_call.is_object()) {
                if (!tool_calls.empty()) {
                    tool_calls += ',';
                }
                detail::append_tool_call(tool_calls, part, function_call,
                                         detail::tool_call_id(ctx.response_id, index, ordinal));
                ++ordinal;
            }
            // inlineData (generated images), executableCode and codeExecutionResult (tools we
            // never enable) and part kinds added later have no chat.completion field.
        }
    }
    // A candidate without finishReason (not seen in a complete response) counts as STOP.
    const std::string_view finish =
        detail::finish_reason(detail::string_member(candidate, "finishReason"), ordinal > 0);

    if (!choices.empty()) {
        choices += ',';
    }
    append_choice_head(choices, index);
    if (has_text) {
        detail::append_string(choices, text);
    } else {
        choices += "null";
    }
    if (has_reasoning) {
        choices += ",\"reasoning_content\":";
        detail::append_string(choices, reasoning);
    }
    if (!tool_calls.empty()) {
        choices += ",\"tool_calls\":[";
        choices += tool_calls;
        choices += ']';
    }
    append_choice_tail(choices, finish);
}

}  // namespace

Result<std::string> GeminiAdapter::translate_chat_response(std::string_view upstream_body,
                                                           const ChatContext& ctx) const {
    simdjson::dom::parser parser;
    SB_TRY(root, common::parse_upstream_object(parser, upstream_body, "gemini",
                                               "the body is not a JSON object."));
    simdjson::dom::element error;
    if (root["error"].get(error) == simdjson::SUCCESS && error.is_object()) {
        return fail(detail::upstream_error(error, 0, {}, {}));
    }

    detail::Usage usage;
    simdjson::dom::element usage_value;
    if (root["usageMetadata"].get(usage_value) == simdjson::SUCCESS) {
        usage.assign(usage_value);
    }

    std::string choices;
    simdjson::dom::array candidates;
    const bool has_candidates =
        root["candidates"].get_array().get(candidates) == simdjson::SUCCESS &&
        candidates.size() != 0;
    if (!has_candidates) {
        // A blocked prompt has no candidates, only promptFeedback.blockReason (SAFETY, OTHER,
        // BLOCKLIST, PROHIBITED_CONTENT, IMAGE_SAFETY): an empty answer ended by the filter.
        simdjson::dom::element feedback;
        std::string_view block_reason;
        if (root["promptFeedback"].get(feedback) == simdjson::SUCCESS) {
            block_reason = detail::string_member(feedback, "blockReason");
        }
        if (block_reason.empty()) {
            return fail(bad_response("no candidates and no promptFeedback.blockReason."));
        }
        append_choice_head(choices, 0);
        choices += "null";
        append_choice_tail(choices, "content_filter");
    } else {
        std::int64_t position = 0;
        for (const simdjson::dom::element candidate : candidates) {
            // `index` is omitted for candidate 0 by some models (proto3 default; fixture
            // resp.plain_text.json).
            append_choice(choices, candidate, detail::int_member(candidate, "index", position),
                          ctx);
            ++position;
        }
    }

    std::string out;
    out.reserve(choices.size() + 384);
    out += "{\"id\":";
    detail::append_string(out, ctx.response_id);
    out += ",\"object\":\"chat.completion\",\"created\":";
    detail::append_int(out, ctx.created);
    out += ",\"model\":";
    detail::append_string(out, ctx.public_model);
    out += ",\"choices\":[";
    out += choices;
    out += "],\"usage\":";
    detail::append_usage(out, usage);
    out += '}';
    return out;
}

}  // namespace sb::providers::gemini
