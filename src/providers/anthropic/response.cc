// Anthropic message (non-stream) -> OpenAI chat.completion.

#include <simdjson.h>

#include "providers/anthropic/anthropic.h"
#include "providers/anthropic/internal.h"
#include "providers/common/completion.h"
#include "providers/common/errors.h"

namespace sb::providers::anthropic {
namespace {

Error bad_response(std::string_view why) {
    return common::bad_response("anthropic", why);
}

}  // namespace

Result<std::string> AnthropicAdapter::translate_chat_response(std::string_view upstream_body,
                                                              const ChatContext& ctx) const {
    simdjson::dom::parser parser;
    SB_TRY(root, common::parse_upstream_object(parser, upstream_body, "anthropic",
                                               "the body is not a JSON object."));
    if (detail::string_member(root, "type") == "error") {
        simdjson::dom::element err;
        std::string_view type;
        std::string_view message;
        if (root["error"].get(err) == simdjson::SUCCESS) {
            type = detail::string_member(err, "type");
            message = detail::string_member(err, "message");
        }
        return fail(detail::upstream_error(detail::status_for_error_type(type), type, message));
    }
    simdjson::dom::array blocks;
    if (root["content"].get_array().get(blocks) != simdjson::SUCCESS) {
        return fail(bad_response("the message has no content array."));
    }

    common::AssistantMessage message;
    for (const simdjson::dom::element block : blocks) {
        const std::string_view type = detail::string_member(block, "type");
        if (type == "text") {
            message.add_text(detail::string_member(block, "text"));
        } else if (type == "thinking") {
            // The text as reasoning_content (as before) and the block, signature included, as
            // a thinking_blocks entry the client sends back on its next turn.
            const std::string_view thinking = detail::string_member(block, "thinking");
            message.add_reasoning(thinking);
            message.add_thinking_block(thinking, detail::string_member(block, "signature"));
        } else if (type == "redacted_thinking") {
            message.add_redacted_thinking(detail::string_member(block, "data"));
        } else if (type == "tool_use") {
            simdjson::dom::element input;
            if (block["input"].get(input) != simdjson::SUCCESS) {
                return fail(bad_response("a tool_use block has no input."));
            }
            message.add_tool_call(detail::string_member(block, "id"),
                                  detail::string_member(block, "name"), simdjson::to_string(input));
        }
        // Server tool blocks and their results (we never ask for server tools) and block types
        // added later carry nothing an OpenAI client can use.
    }

    detail::Usage usage;
    simdjson::dom::element usage_value;
    if (root["usage"].get(usage_value) == simdjson::SUCCESS) {
        usage.update(usage_value);
    }
    const std::string_view finish =
        detail::finish_reason(detail::string_member(root, "stop_reason"));

    std::string usage_object;
    detail::append_usage(usage_object, usage);
    return common::render_completion(ctx, message, finish, usage_object);
}

}  // namespace sb::providers::anthropic
