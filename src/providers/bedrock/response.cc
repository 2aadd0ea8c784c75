// Bedrock Converse response (non-stream) -> OpenAI chat.completion.

#include <simdjson.h>

#include "providers/bedrock/bedrock.h"
#include "providers/bedrock/internal.h"
#include "providers/common/completion.h"
#include "providers/common/errors.h"

namespace sb::providers::bedrock {
namespace {

Error bad_response(std::string_view why) {
    return common::bad_response("bedrock", why);
}

}  // namespace

Result<std::string> BedrockAdapter::translate_chat_response(std::string_view upstream_body,
                                                            const ChatContext& ctx) const {
    simdjson::dom::parser parser;
    SB_TRY(root, common::parse_upstream_object(parser, upstream_body, "bedrock",
                                               "the body is not a JSON object."));
    simdjson::dom::array blocks;
    if (root["output"]["message"]["content"].get_array().get(blocks) != simdjson::SUCCESS) {
        return fail(bad_response("there is no output.message.content array."));
    }

    common::AssistantMessage message;
    for (const simdjson::dom::element block : blocks) {
        std::string_view value;
        simdjson::dom::element inner;
        if (block["text"].get_string().get(value) == simdjson::SUCCESS) {
            message.add_text(value);
        } else if (block["toolUse"].get(inner) == simdjson::SUCCESS) {
            simdjson::dom::element input;
            if (inner["input"].get(input) != simdjson::SUCCESS) {
                return fail(bad_response("a toolUse block has no input."));
            }
            message.add_tool_call(detail::string_member(inner, "toolUseId"),
                                  detail::string_member(inner, "name"), simdjson::to_string(input));
        } else if (block["reasoningContent"]["reasoningText"]["text"].get_string().get(value) ==
                   simdjson::SUCCESS) {
            message.add_reasoning(value);
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

    std::string usage_object;
    detail::append_usage(usage_object, usage);
    return common::render_completion(ctx, message, finish, usage_object);
}

}  // namespace sb::providers::bedrock
