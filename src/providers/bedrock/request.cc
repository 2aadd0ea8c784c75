// OpenAI chat completions request -> Bedrock Converse request. The mapping and every refusal
// are documented in docs/providers/bedrock.md; keep the two in step.

#include <fmt/format.h>
#include <simdjson.h>

#include <optional>
#include <vector>

#include "providers/bedrock/bedrock.h"
#include "providers/bedrock/internal.h"
#include "providers/common/chat_request.h"

namespace sb::providers::bedrock::detail {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// OpenAI data-URL media type -> Bedrock ImageFormat (service model enum png|jpeg|gif|webp).
struct ImageType {
    std::string_view media_type;
    std::string_view format;
};
constexpr ImageType kImageTypes[] = {
    {"image/png", "png"}, {"image/jpeg", "jpeg"}, {"image/jpg", "jpeg"},
    {"image/gif", "gif"}, {"image/webp", "webp"},
};

using common::invalid;
using common::is_null;
using common::is_null_or_zero;
using common::is_number;
using common::missing;
using common::param_at;
using common::wrong_type;

// A parameter (or a value of it) Converse cannot express.
tl::unexpected<Error> unsupported(std::string param, std::string_view why = {}) {
    return common::unsupported("bedrock", std::move(param), why);
}

// Converse rejects blank text blocks (`text` in SystemContentBlock is a NonEmptyString and the
// service refuses an empty ContentBlock text), so empty text is left out.
void append_text_block(std::string& blocks, std::string_view text) {
    if (text.empty()) {
        return;
    }
    begin_item(blocks);
    blocks += "{\"text\":";
    append_string(blocks, text);
    blocks += '}';
}

// The Converse messages being assembled. Converse wants user and assistant turns to alternate,
// so consecutive messages of one role (several user messages, tool results and the user message
// after them) become one message with all their blocks, in order; turns left without blocks
// are dropped.
class TurnList {
  public:
    std::string& begin(std::string_view role) {
        if (turns_.empty() || turns_.back().role != role) {
            turns_.push_back({role, {}});
        }
        return turns_.back().blocks;
    }

    // Writes the messages array's contents; returns how many messages it wrote.
    std::size_t write(std::string& out) const {
        std::vector<const Turn*> merged;
        std::vector<std::string> blocks;
        for (const Turn& turn : turns_) {
            if (turn.blocks.empty()) {
                continue;
            }
            if (!merged.empty() && merged.back()->role == turn.role) {
                blocks.back() += ',';
                blocks.back() += turn.blocks;
                continue;
            }
            merged.push_back(&turn);
            blocks.push_back(turn.blocks);
        }
        for (std::size_t i = 0; i < merged.size(); ++i) {
            if (i > 0) {
                out += ',';
            }
            out += "{\"role\":\"";
            out += merged[i]->role;
            out += "\",\"content\":[";
            out += blocks[i];
            out += "]}";
        }
        return merged.size();
    }

  private:
    struct Turn {
        std::string_view role;
        std::string blocks;
    };
    std::vector<Turn> turns_;
};

// OpenAI image_url part -> Converse image block. Converse takes the image bytes (base64 in JSON)
// or an S3 location, never a URL, and the gateway does not fetch: only data: URLs are accepted.
Status append_image_block(std::string& blocks, element part, const std::string& param) {
    SB_TRY(url, common::image_url(part, param));
    const std::string url_param = param + ".image_url.url";
    if (url.starts_with("https://") || url.starts_with("http://")) {
        return unsupported(url_param,
                           "Bedrock takes images only as bytes, so send the image as a base64 "
                           "data: URL ('data:image/png;base64,...'); the gateway does not fetch "
                           "image URLs");
    }
    if (!url.starts_with("data:")) {
        return invalid(url_param, "Invalid image URL: expected a base64 data: URL.");
    }
    const std::optional<common::DataUrl> data_url = common::split_data_url(url);
    if (!data_url) {
        return invalid(url_param, "Invalid image data URL: expected 'data:<media type>;base64,'.");
    }
    const std::string_view media_type = data_url->media_type;
    std::string_view format;
    for (const ImageType& type : kImageTypes) {
        if (type.media_type == media_type) {
            format = type.format;
        }
    }
    if (format.empty()) {
        return unsupported(url_param, fmt::format("image media type '{}' (use image/png, "
                                                  "image/jpeg, image/gif or image/webp)",
                                                  media_type));
    }
    const std::string_view data = data_url->data;
    if (data.empty()) {
        return invalid(url_param, "Invalid image data URL: the image data is empty.");
    }
    begin_item(blocks);
    blocks += "{\"image\":{\"format\":\"";
    blocks += format;
    blocks += "\",\"source\":{\"bytes\":";
    append_string(blocks, data);  // rest-json blobs are base64 strings: passed through as sent
    blocks += "}}}";
    return {};
}

// A message's content (a string or content parts) as text and image blocks; empty text is left
// out. `images`: whether image parts are allowed here; `expected`: what the content may be.
Status append_content(std::string& blocks, element content, const std::string& param, bool images,
                      bool allow_refusal, std::string_view expected) {
    return common::visit_content(
        content, param, images, allow_refusal, "bedrock", expected,
        [&blocks](std::string_view text) { append_text_block(blocks, text); },
        [&blocks](element part, const std::string& part_param) {
            return append_image_block(blocks, part, part_param);
        });
}

// Collects the text of a system/developer message.
Status collect_system(std::string& system, element content, const std::string& param) {
    return common::visit_system_content(
        content, param, "bedrock",
        [&system](std::string_view text) { append_text_block(system, text); });
}

// Bedrock's inferenceConfig takes temperature and topP from 0 to 1 (service model); OpenAI
// allows temperature up to 2, which has no equivalent here.
Result<element> read_unit_interval(element value, std::string_view name) {
    double x = 0;
    if (!is_number(value) || value.get_double().get(x) != simdjson::SUCCESS) {
        return wrong_type(std::string(name), "a number");
    }
    if (x < 0 || x > 1) {
        return unsupported(std::string(name), fmt::format("{} is outside its range of 0 to 1", x));
    }
    return value;
}

// The translator for one request. Holds a second parser for tool-call arguments (the first
// one's document stays in use while we write).
class Translator final : public common::ChatRequestReader {
  public:
    Translator() : ChatRequestReader("bedrock") {}

    Result<std::string> run(std::string_view openai_body);

  private:
    Status read_field(std::string_view key, element value) override;
    Status translate_messages(array messages) override;
    Status append_tool_uses(std::string& blocks, element message, const std::string& param);
    Status append_tool_result(std::string& blocks, element message, const std::string& param);
    Status translate_tools(array tools) override;
    Status translate_tool_choice(element choice) override;
    Status translate_response_format(element format);

    simdjson::dom::parser arguments_parser_;

    // Pieces of the Converse body, in the order they are written.
    std::string system_;
    std::string messages_;
    std::optional<element> temperature_;
    std::optional<element> top_p_;
    std::string stop_sequences_;
    std::string tools_;
    std::string tool_choice_;
    bool tool_choice_none_ = false;
    std::string output_config_;
    bool tool_history_ = false;  // a toolUse or toolResult block was written
};

Result<std::string> Translator::run(std::string_view openai_body) {
    if (auto status = read(openai_body); !status) {
        return fail(std::move(status).error());
    }
    // Bedrock refuses toolUse/toolResult blocks unless toolConfig is defined, and its
    // toolChoice has no "none": a conversation with tool history needs the tools, and cannot be
    // told not to call them.
    if (tool_history_ && tools_.empty()) {
        return invalid("tools",
                       "Provider bedrock needs the tool definitions ('tools') when the "
                       "conversation contains tool calls or tool results.");
    }
    if (tool_choice_none_ && tool_history_) {
        return unsupported("tool_choice",
                           "'none' cannot be expressed when the conversation contains tool calls "
                           "or tool results (Bedrock needs the tools defined then, and has no "
                           "'none' choice)");
    }
    if (fields().parallel_tool_calls_disabled && !tools_.empty() && !tool_choice_none_) {
        return unsupported("parallel_tool_calls",
                           "Converse cannot limit the model to one tool call per turn");
    }

    std::string out;
    out.reserve(openai_body.size() + 256);
    out += "{\"messages\":[";
    out += messages_;
    out += ']';
    if (!system_.empty()) {
        out += ",\"system\":[";
        out += system_;
        out += ']';
    }
    std::string inference;
    const auto add = [&inference](std::string_view key) {
        inference += inference.empty() ? "{\"" : ",\"";
        inference += key;
        inference += "\":";
    };
    if (const std::optional<std::int64_t> max_tokens = fields().max_output_tokens()) {
        add("maxTokens");
        append_int(inference, *max_tokens);
    }
    if (temperature_) {
        add("temperature");
        append_element(inference, *temperature_);
    }
    if (top_p_) {
        add("topP");
        append_element(inference, *top_p_);
    }
    if (!stop_sequences_.empty()) {
        add("stopSequences");
        inference += '[';
        inference += stop_sequences_;
        inference += ']';
    }
    if (!inference.empty()) {
        out += ",\"inferenceConfig\":";
        out += inference;
        out += '}';
    }
    if (!tools_.empty() && !tool_choice_none_) {
        out += ",\"toolConfig\":{\"tools\":[";
        out += tools_;
        out += ']';
        if (!tool_choice_.empty()) {
            out += ",\"toolChoice\":";
            out += tool_choice_;
        }
        out += '}';
    }
    if (!output_config_.empty()) {
        out += ",\"outputConfig\":";
        out += output_config_;
    }
    out += '}';
    return out;
}

Status Translator::read_field(std::string_view key, element value) {
    if (key == "temperature" || key == "top_p") {
        if (is_null(value)) {
            return {};
        }
        SB_TRY(number, read_unit_interval(value, key));
        (key == "temperature" ? temperature_ : top_p_) = number;
    } else if (key == "stop") {
        // stopSequences members are NonEmptyString; "" never stops anything.
        if (auto status =
                common::append_stop_sequences(value, stop_sequences_, /*skip_empty=*/true);
            !status) {
            return status;
        }
    } else if (key == "response_format") {
        if (auto status = translate_response_format(value); !status) {
            return status;
        }
    } else if (key == "reasoning_effort") {
        if (!is_null(value)) {
            return unsupported("reasoning_effort");
        }
    } else if (key == "presence_penalty" || key == "frequency_penalty") {
        if (!is_null_or_zero(value)) {
            return unsupported(std::string(key));
        }
    } else if (key == "logit_bias") {
        object bias;
        if (!is_null(value) &&
            (value.get_object().get(bias) != simdjson::SUCCESS || bias.size() != 0)) {
            return unsupported("logit_bias");
        }
    } else if (key == "user" || key == "safety_identifier") {
        std::string_view id;
        if (!is_null(value) && value.get_string().get(id) != simdjson::SUCCESS) {
            return wrong_type(std::string(key), "a string");
        }
        // An end-user id for OpenAI's abuse monitoring: it does not change the answer and
        // Converse has no field for it, so it is not sent (documented).
    } else {
        // Converse rejects fields it does not know, so an unknown field cannot be carried.
        return unsupported(std::string(key));
    }
    return {};
}

Status Translator::translate_response_format(element format) {
    SB_TRY(schema_format, common::is_json_schema_format(format, "bedrock", "Converse"));
    if (!schema_format) {
        return {};
    }
    element json_schema;
    element schema;
    if (format["json_schema"].get(json_schema) != simdjson::SUCCESS || !json_schema.is_object()) {
        return missing("response_format.json_schema");
    }
    if (json_schema["schema"].get(schema) != simdjson::SUCCESS || !schema.is_object()) {
        return invalid("response_format.json_schema.schema",
                       "response_format 'json_schema' needs an object in "
                       "'response_format.json_schema.schema' for provider bedrock.");
    }
    // Converse structured output: outputConfig.textFormat, the schema as a JSON string (fixtures
    // README section 2; service model JsonSchemaDefinition.schema is a String).
    output_config_ = "{\"textFormat\":{\"type\":\"json_schema\",\"structure\":{\"jsonSchema\":{";
    output_config_ += "\"schema\":";
    append_string(output_config_, simdjson::to_string(schema));
    const std::string_view name = string_member(json_schema, "name");
    if (!name.empty()) {
        output_config_ += ",\"name\":";
        append_string(output_config_, name);
    }
    const std::string_view description = string_member(json_schema, "description");
    if (!description.empty()) {
        output_config_ += ",\"description\":";
        append_string(output_config_, description);
    }
    output_config_ += "}}}}";
    return {};
}

Status Translator::translate_tools(array tools) {
    std::size_t i = 0;
    for (element tool : tools) {
        SB_TRY(function, common::read_function_tool(tool, param_at("tools", i++), "bedrock"));
        begin_item(tools_);
        tools_ += "{\"toolSpec\":{\"name\":";
        append_string(tools_, function.name);
        const std::string_view description =
            function.description ? function.description->get_string().value_unsafe() : "";
        if (!description.empty()) {  // a NonEmptyString in Converse
            tools_ += ",\"description\":";
            append_string(tools_, description);
        }
        tools_ += ",\"inputSchema\":{\"json\":";
        if (function.parameters) {
            append_element(tools_, *function.parameters);
        } else {
            // OpenAI: omitting parameters defines a function with an empty parameter list.
            tools_ += "{\"type\":\"object\",\"properties\":{}}";
        }
        tools_ += '}';
        if (function.strict) {
            tools_ += ",\"strict\":true";  // ToolSpecification.strict (service model)
        }
        tools_ += "}}";
    }
    return {};
}

Status Translator::translate_tool_choice(element choice) {
    SB_TRY(tool_choice, common::read_tool_choice(choice, "bedrock"));
    if (tool_choice.mode == common::ToolChoiceMode::None) {
        tool_choice_none_ = true;
        return {};
    }
    if (tools_.empty()) {
        return common::tool_choice_without_tools();
    }
    if (tool_choice.mode == common::ToolChoiceMode::Auto) {
        tool_choice_ = "{\"auto\":{}}";
    } else if (tool_choice.mode == common::ToolChoiceMode::Required) {
        tool_choice_ = "{\"any\":{}}";
    } else {
        tool_choice_ = "{\"tool\":{\"name\":";
        append_string(tool_choice_, tool_choice.name);
        tool_choice_ += "}}";
    }
    return {};
}

Status Translator::translate_messages(array messages) {
    TurnList turns;
    std::size_t i = 0;
    for (element message : messages) {
        const std::string param = param_at("messages", i++);
        std::string_view role;
        if (message["role"].get_string().get(role) != simdjson::SUCCESS) {
            return missing(param + ".role");
        }
        element content;
        const bool has_content =
            message["content"].get(content) == simdjson::SUCCESS && !is_null(content);
        const std::string content_param = param + ".content";
        if (role == "system" || role == "developer") {
            // Converse has one top-level system prompt: every system/developer message goes
            // there, in order (documented: their position in the conversation is not kept).
            if (has_content) {
                if (auto status = collect_system(system_, content, content_param); !status) {
                    return status;
                }
            }
        } else if (role == "user") {
            if (!has_content) {
                return missing(content_param);
            }
            if (auto status = append_content(turns.begin("user"), content, content_param,
                                             /*images=*/true, /*allow_refusal=*/false,
                                             "a string or an array of content parts");
                !status) {
                return status;
            }
        } else if (role == "assistant") {
            // `thinking_blocks` (Anthropic's signed thinking, from our Anthropic adapter) are
            // ignored, unread: we never enable reasoning on Bedrock (reasoning_effort is
            // refused), so there is no thinking turn to continue (docs/providers/bedrock.md).
            std::string& blocks = turns.begin("assistant");
            if (has_content) {
                if (auto status = append_content(blocks, content, content_param, /*images=*/false,
                                                 /*allow_refusal=*/true,
                                                 "a string or an array of content parts");
                    !status) {
                    return status;
                }
            }
            if (auto status = append_tool_uses(blocks, message, param); !status) {
                return status;
            }
        } else if (role == "tool") {
            if (auto status = append_tool_result(turns.begin("user"), message, param); !status) {
                return status;
            }
        } else {
            return unsupported(param + ".role", fmt::format("message role '{}'", role));
        }
    }
    if (turns.write(messages_) == 0) {
        return invalid("messages",
                       "'messages' must contain at least one user or assistant message with "
                       "content for provider bedrock.");
    }
    return {};
}

// A tool message -> a toolResult block in the user turn. The result goes as text, exactly as the
// tool returned it (OpenAI tool results are strings; Converse's {json} form would make the model
// see a re-serialised document, and not every model accepts it).
Status Translator::append_tool_result(std::string& blocks, element message,
                                      const std::string& param) {
    std::string_view call_id;
    if (message["tool_call_id"].get_string().get(call_id) != simdjson::SUCCESS) {
        return missing(param + ".tool_call_id");
    }
    const std::string content_param = param + ".content";
    std::string result_content;
    element content;
    if (message["content"].get(content) == simdjson::SUCCESS && !is_null(content)) {
        if (auto status = append_content(result_content, content, content_param,
                                         /*images=*/false, /*allow_refusal=*/false,
                                         "a string or an array of text parts");
            !status) {
            return status;
        }
    }
    // An empty result is an empty content list: Converse refuses blank text blocks, and
    // inventing text would put words in the tool's mouth.
    begin_item(blocks);
    blocks += "{\"toolResult\":{\"toolUseId\":";
    append_string(blocks, call_id);
    blocks += ",\"content\":[";
    blocks += result_content;
    blocks += "]}}";
    tool_history_ = true;
    return {};
}

// Assistant tool_calls -> toolUse blocks; the arguments string is parsed into `input`.
Status Translator::append_tool_uses(std::string& blocks, element message,
                                    const std::string& param) {
    return common::visit_tool_calls(
        message, param, arguments_parser_, "bedrock",
        [this, &blocks](const common::ToolCall& call, std::string_view input) {
            begin_item(blocks);
            blocks += "{\"toolUse\":{\"toolUseId\":";
            append_string(blocks, call.id);
            blocks += ",\"name\":";
            append_string(blocks, call.name);
            blocks += ",\"input\":";
            blocks += input;
            blocks += "}}";
            tool_history_ = true;
        });
}

}  // namespace

Result<std::string> translate_request(std::string_view openai_body, const ChatContext& ctx) {
    static_cast<void>(ctx);  // the body does not depend on it: model and stream go in the URL
    Translator translator;
    return translator.run(openai_body);
}

}  // namespace sb::providers::bedrock::detail
