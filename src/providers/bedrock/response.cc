// Bedrock Converse response (non-stream) -> OpenAI chat.completion.

#include <simdjson.h>

#include "providers/bedrock/bedrock.h"
#include "providers/bedrock/internal.h"

namespace sb::providers::bedrock {
namespace {

Error bad_response(std::string_view why) {
    return Error(
        ErrorCode::UpstreamBadResponse,
        std::string("The upstream provider bedrock sent an invalid response: ") + std::string(why));
}

}  // namespace

Result<std::string> BedrockAdapter::translate_chat_response(std::string_view upstream_body,
                                                            const ChatContext& ctx) const {
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(upstream_body);
    simdjson::dom::element root;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object()) {
        return fail(bad_response("the body is not a JSON object."));
    }
    simdjson::dom::array blocks;
    if (root["output"]["message"]["content"].get_array().get(blocks) != simdjson::SUCCESS) {
        return fail(bad_response("there is no output.message.content array."));
    }

    std::string text;
    std::string reasoning;
    std::string tool_calls;
    bool has_text = false;
    bool has_reasoning = false;
    for (const simdjson::dom::element block : blocks) {
        std::string_view value;
        simdjson::dom::element inner;
        if (block["text"].get_string().get(value) == simdjson::SUCCESS) {
            has_text = true;
            text += value;
        } else if (block["toolUse"].get(inner) == simdjson::SUCCESS) {
            simdjson::dom::element input;
            if (inner["input"].get(input) != simdjson::SUCCESS) {
                return fail(bad_response("a toolUse block has no input."));
            }
            if (!tool_calls.empty()) {
                tool_calls += ',';
            }
            tool_calls += "{\"id\":";
            detail::append_string(tool_calls, detail::string_member(inner, "toolUseId"));
            tool_calls += ",\"type\":\"function\",\"function\":{\"name\":";
            detail::append_string(tool_calls, detail::string_member(inner, "name"));
            tool_calls += ",\"arguments\":";
            detail::append_string(tool_calls, simdjson::to_string(input));
            tool_calls += "}}";
        } else if (block["reasoningContent"]["reasoningText"]["text"].get_string().get(value) ==
                   simdjson::SUCCESS) {
            has_reasoning = true;
            reasoning += value;
        }
        // redactedContent reasoning (encrypted), citations, images and block types added later
        // carry nothing an OpenAI client can use.
    }

    detail::Usage usage;
    simdjson::dom::element usage_value;
    if (root["usage"].get(usage_value) == simdjson::SUCCESS) {
        usage.update(usage_value);
    }
    const std::string_view finish =
        detail::finish_reason(detail::string_member(root, "stopReason"));

    std::string out;
    out.reserve(text.size() + reasoning.size() + tool_calls.size() + 512);
    out += "{\"id\":";
    detail::append_string(out, ctx.response_id);
    out += ",\"object\":\"chat.completion\",\"created\":";
    detail::append_int(out, ctx.created);
    out += ",\"model\":";
    detail::append_string(out, ctx.public_model);
    out += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":";
    if (has_text) {
        detail::append_string(out, text);
    } else {
        out += "null";
    }
    if (has_reasoning) {
        out += ",\"reasoning_content\":";
        detail::append_string(out, reasoning);
    }
    if (!tool_calls.empty()) {
        out += ",\"tool_calls\":[";
        out += tool_calls;
        out += ']';
    }
    out += ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"";
    out += finish;
    out += "\"}],\"usage\":";
    detail::append_usage(out, usage);
    out += '}';
    return out;
}

}  // namespace sb::providers::bedrock
