#pragma once

// Writes an OpenAI `chat.completion` response body for the translating adapters (one choice,
// index 0). The adapter collects the assistant message from the upstream's content blocks and
// renders its own usage object. Per-response value; not shared across threads.

#include <cstdint>
#include <string>
#include <string_view>

#include "providers/provider.h"

namespace sb::providers::common {

// The assistant message of choice 0, as collected from the upstream's content blocks.
struct AssistantMessage {
    std::string text;
    std::string reasoning;
    std::string tool_calls;  // comma-separated OpenAI tool call objects
    // Comma-separated `thinking_blocks` entries (the LiteLLM convention for Anthropic's signed
    // thinking): `{"type":"thinking","thinking","signature"}`, `{"type":"redacted_thinking",
    // "data"}`, in the upstream's order.
    std::string thinking_blocks;
    bool has_text = false;
    bool has_reasoning = false;

    void add_text(std::string_view value) {
        has_text = true;
        text += value;
    }
    void add_reasoning(std::string_view value) {
        has_reasoning = true;
        reasoning += value;
    }
    // A `{"type":"thinking","thinking","signature"}` entry (`signature` left out when empty).
    void add_thinking_block(std::string_view thinking, std::string_view signature);
    // A `{"type":"redacted_thinking","data"}` entry.
    void add_redacted_thinking(std::string_view data);
    // `{"id","type":"function","function":{"name","arguments"}}`; `arguments` is JSON text,
    // written as a JSON string.
    void add_tool_call(std::string_view id, std::string_view name, std::string_view arguments);
};

// One `thinking_blocks` entry: `{"type":"thinking","thinking","signature"}` (no `signature`
// member when it is empty) or `{"type":"redacted_thinking","data"}`.
void append_thinking_block(std::string& out, std::string_view thinking, std::string_view signature);
void append_redacted_thinking(std::string& out, std::string_view data);

// Token counts in OpenAI's terms.
struct OpenAIUsage {
    std::int64_t prompt = 0;
    std::int64_t completion = 0;
    std::int64_t total = 0;
    std::int64_t cached = 0;     // prompt_tokens_details.cached_tokens
    std::int64_t reasoning = 0;  // completion_tokens_details.reasoning_tokens
};
// Appends the OpenAI usage object: `{"prompt_tokens","completion_tokens","total_tokens",
// "prompt_tokens_details":{"cached_tokens"},"completion_tokens_details":{"reasoning_tokens"}}`.
void append_usage(std::string& out, const OpenAIUsage& usage);

// `{"id","object":"chat.completion","created","model","choices":[{"index":0,"message":{...},
// "logprobs":null,"finish_reason"}],"usage":<usage_object>}`. `content` is null without text;
// `reasoning_content` and `thinking_blocks` are written only when the message has them.
std::string render_completion(const ChatContext& ctx, const AssistantMessage& message,
                              std::string_view finish_reason, std::string_view usage_object);

}  // namespace sb::providers::common
