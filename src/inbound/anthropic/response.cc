// OpenAI chat.completion -> Anthropic message (non-stream).

#include <fmt/format.h>
#include <simdjson.h>

#include "inbound/anthropic/internal.h"
#include "inbound/anthropic/messages.h"
#include "providers/common/errors.h"

namespace sb::inbound::anthropic {

namespace detail {

std::string_view stop_reason(std::string_view finish_reason, bool matched_stop, bool refusal,
                             bool tool_calls) {
    if (refusal || finish_reason == "content_filter") {
        return "refusal";
    }
    if (finish_reason == "length") {
        return "max_tokens";
    }
    if (tool_calls || finish_reason == "tool_calls" || finish_reason == "function_call") {
        return "tool_use";
    }
    if (matched_stop) {
        return "stop_sequence";
    }
    return "end_turn";  // stop, null and values added later
}

std::string_view matched_stop(std::string_view reported,
                              const std::vector<std::string>& sequences) {
    if (reported.empty()) {
        return {};
    }
    for (const std::string& sequence : sequences) {
        if (sequence == reported) {
            return sequence;
        }
    }
    return {};
}

void append_usage(std::string& out, std::int64_t prompt, std::int64_t cached, std::int64_t output) {
    const std::int64_t input = prompt > cached ? prompt - cached : 0;
    out += "{\"input_tokens\":";
    append_int(out, input);
    out += ",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":";
    append_int(out, cached);
    out += ",\"output_tokens\":";
    append_int(out, output);
    out += '}';
}

std::string message_id(std::string_view context_id, std::string_view upstream_id) {
    if (!context_id.empty()) {
        return std::string(context_id);
    }
    return fmt::format("msg_{}", upstream_id);
}

}  // namespace detail

namespace {

using detail::append_string;
using detail::begin_item;
using detail::string_member;
using simdjson::dom::array;
using simdjson::dom::element;

Error bad_response(const ResponseContext& ctx, std::string_view why) {
    return providers::common::bad_response(ctx.upstream, why);
}

// Appends the text of an OpenAI message `content`: a string, or an array of text parts.
void collect_content(element content, std::string& text, bool& has_text) {
    std::string_view s;
    array parts;
    if (content.get_string().get(s) == simdjson::SUCCESS) {
        text += s;
        has_text = has_text || !s.empty();
    } else if (content.get_array().get(parts) == simdjson::SUCCESS) {
        for (const element part : parts) {
            if (string_member(part, "type") == "text") {
                const std::string_view part_text = string_member(part, "text");
                text += part_text;
                has_text = has_text || !part_text.empty();
            }
        }
    }
}

}  // namespace

Result<std::string> to_anthropic_response(std::string_view openai_body,
                                          const ResponseContext& ctx) {
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(openai_body);
    element root;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object()) {
        return fail(bad_response(ctx, "the body is not a JSON object."));
    }
    element error;
    if (root["error"].get(error) == simdjson::SUCCESS && !detail::is_null(error)) {
        return fail(openai_error(error));
    }
    array choices;
    if (root["choices"].get_array().get(choices) != simdjson::SUCCESS || choices.size() == 0) {
        return fail(bad_response(ctx, "the completion has no choices."));
    }
    const element choice = choices.at(0).value_unsafe();
    element message;
    if (choice["message"].get(message) != simdjson::SUCCESS || !message.is_object()) {
        return fail(bad_response(ctx, "the first choice has no message."));
    }
    const std::string_view finish = string_member(choice, "finish_reason");

    std::string blocks;
    // Reasoning: `reasoning_content` (DeepSeek, our translating adapters) or `reasoning`
    // (OpenRouter, vLLM). Anthropic requires a signature on thinking blocks; we have none.
    std::string_view reasoning = string_member(message, "reasoning_content");
    if (reasoning.empty()) {
        reasoning = string_member(message, "reasoning");
    }
    if (!reasoning.empty()) {
        blocks += "{\"type\":\"thinking\",\"thinking\":";
        append_string(blocks, reasoning);
        blocks += ",\"signature\":\"\"}";
    }
    std::string text;
    bool has_text = false;
    element content;
    if (message["content"].get(content) == simdjson::SUCCESS) {
        collect_content(content, text, has_text);
    }
    // OpenAI's refusal: finish_reason "stop" with `message.refusal`; Anthropic's is
    // stop_reason "refusal". The refusal text is kept as the answer's text.
    const std::string_view refusal_text = string_member(message, "refusal");
    const bool refusal = !refusal_text.empty();
    if (refusal) {
        text += refusal_text;
        has_text = true;
    }
    if (has_text) {
        begin_item(blocks);
        blocks += "{\"type\":\"text\",\"text\":";
        append_string(blocks, text);
        blocks += '}';
    }
    array calls;
    bool has_tool_calls = false;
    if (message["tool_calls"].get_array().get(calls) == simdjson::SUCCESS) {
        has_tool_calls = calls.size() > 0;
        simdjson::dom::parser arguments_parser;
        std::size_t n = 0;
        for (const element call : calls) {
            const std::string_view arguments = string_member(call["function"], "arguments");
            std::string input = "{}";
            if (!detail::is_blank(arguments)) {
                const simdjson::padded_string padded_arguments(arguments);
                element parsed;
                if (arguments_parser.parse(padded_arguments).get(parsed) == simdjson::SUCCESS &&
                    parsed.is_object()) {
                    input = simdjson::to_string(parsed);
                } else if (finish != "length") {
                    // A call cut by the token limit keeps `{}`; otherwise the upstream broke
                    // its contract (arguments are a JSON object).
                    return fail(
                        bad_response(ctx, "a tool call's arguments are not a JSON object."));
                }
            }
            std::string_view id = string_member(call, "id");
            const std::string fallback_id = fmt::format(
                "toolu_{}_{}", detail::message_id(ctx.message_id, string_member(root, "id")), n);
            if (id.empty()) {
                id = fallback_id;
            }
            begin_item(blocks);
            blocks += "{\"type\":\"tool_use\",\"id\":";
            append_string(blocks, id);
            blocks += ",\"name\":";
            append_string(blocks, string_member(call["function"], "name"));
            blocks += ",\"input\":";
            blocks += input;
            blocks += '}';
            ++n;
        }
    }

    // Only a natural stop can be a stop sequence.
    const std::string_view stop_sequence =
        finish == "stop" && !refusal && !has_tool_calls
            ? detail::matched_stop(string_member(choice, "stop_reason"), ctx.stop_sequences)
            : std::string_view{};
    std::int64_t prompt = 0;
    std::int64_t completion = 0;
    std::int64_t cached = 0;
    element usage;
    if (root["usage"].get(usage) == simdjson::SUCCESS && usage.is_object()) {
        providers::common::update_int(usage, "prompt_tokens", prompt);
        providers::common::update_int(usage, "completion_tokens", completion);
        element details;
        if (usage["prompt_tokens_details"].get(details) == simdjson::SUCCESS &&
            details.is_object()) {
            providers::common::update_int(details, "cached_tokens", cached);
        }
    }

    std::string out;
    out.reserve(blocks.size() + 320);
    out += "{\"id\":";
    append_string(out, detail::message_id(ctx.message_id, string_member(root, "id")));
    out += ",\"type\":\"message\",\"role\":\"assistant\",\"model\":";
    append_string(out, ctx.model);
    out += ",\"content\":[";
    out += blocks;
    out += "],\"stop_reason\":\"";
    out += detail::stop_reason(finish, !stop_sequence.empty(), refusal, has_tool_calls);
    out += "\",\"stop_sequence\":";
    if (stop_sequence.empty()) {
        out += "null";
    } else {
        append_string(out, stop_sequence);
    }
    out += ",\"usage\":";
    detail::append_usage(out, prompt, cached, completion);
    out += '}';
    return out;
}

}  // namespace sb::inbound::anthropic
