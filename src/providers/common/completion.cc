#include "providers/common/completion.h"

#include "providers/common/json.h"

namespace sb::providers::common {

void append_thinking_block(std::string& out, std::string_view thinking,
                           std::string_view signature) {
    out += "{\"type\":\"thinking\",\"thinking\":";
    append_string(out, thinking);
    if (!signature.empty()) {
        out += ",\"signature\":";
        append_string(out, signature);
    }
    out += '}';
}

void append_redacted_thinking(std::string& out, std::string_view data) {
    out += "{\"type\":\"redacted_thinking\",\"data\":";
    append_string(out, data);
    out += '}';
}

void AssistantMessage::add_thinking_block(std::string_view thinking, std::string_view signature) {
    begin_item(thinking_blocks);
    append_thinking_block(thinking_blocks, thinking, signature);
}

void AssistantMessage::add_redacted_thinking(std::string_view data) {
    begin_item(thinking_blocks);
    append_redacted_thinking(thinking_blocks, data);
}

void AssistantMessage::add_tool_call(std::string_view id, std::string_view name,
                                     std::string_view arguments) {
    begin_item(tool_calls);
    tool_calls += "{\"id\":";
    append_string(tool_calls, id);
    tool_calls += ",\"type\":\"function\",\"function\":{\"name\":";
    append_string(tool_calls, name);
    tool_calls += ",\"arguments\":";
    append_string(tool_calls, arguments);
    tool_calls += "}}";
}

void append_usage(std::string& out, const OpenAIUsage& usage) {
    out += "{\"prompt_tokens\":";
    append_int(out, usage.prompt);
    out += ",\"completion_tokens\":";
    append_int(out, usage.completion);
    out += ",\"total_tokens\":";
    append_int(out, usage.total);
    out += ",\"prompt_tokens_details\":{\"cached_tokens\":";
    append_int(out, usage.cached);
    out += "},\"completion_tokens_details\":{\"reasoning_tokens\":";
    append_int(out, usage.reasoning);
    out += "}}";
}

std::string render_completion(const ChatContext& ctx, const AssistantMessage& message,
                              std::string_view finish_reason, std::string_view usage_object) {
    std::string out;
    out.reserve(message.text.size() + message.reasoning.size() + message.thinking_blocks.size() +
                message.tool_calls.size() + 512);
    out += "{\"id\":";
    append_string(out, ctx.response_id);
    out += ",\"object\":\"chat.completion\",\"created\":";
    append_int(out, ctx.created);
    out += ",\"model\":";
    append_string(out, ctx.public_model);
    out += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":";
    if (message.has_text) {
        append_string(out, message.text);
    } else {
        out += "null";
    }
    if (message.has_reasoning) {
        out += ",\"reasoning_content\":";
        append_string(out, message.reasoning);
    }
    if (!message.thinking_blocks.empty()) {
        out += ",\"thinking_blocks\":[";
        out += message.thinking_blocks;
        out += ']';
    }
    if (!message.tool_calls.empty()) {
        out += ",\"tool_calls\":[";
        out += message.tool_calls;
        out += ']';
    }
    out += ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"";
    out += finish_reason;
    out += "\"}],\"usage\":";
    out += usage_object;
    out += '}';
    return out;
}

}  // namespace sb::providers::common
