// OpenAI chat completions request -> Anthropic Messages request. The mapping and every refusal
// are documented in docs/providers/anthropic.md; keep the two in step.

#include <fmt/format.h>
#include <simdjson.h>

#include <optional>
#include <vector>

#include "providers/anthropic/anthropic.h"
#include "providers/anthropic/internal.h"
#include "providers/common/chat_request.h"

namespace sb::providers::anthropic::detail {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// Thinking budgets for OpenAI's `reasoning_effort` (Anthropic's minimum budget is 1024).
struct EffortBudget {
    std::string_view effort;
    std::int64_t budget_tokens;
};
constexpr EffortBudget kEffortBudgets[] = {
    {"minimal", 1024}, {"low", 2048}, {"medium", 8192}, {"high", 16384}, {"xhigh", 32768},
};
constexpr std::int64_t kMinThinkingBudget = 1024;

constexpr std::string_view kImageMediaTypes[] = {"image/jpeg", "image/png", "image/gif",
                                                 "image/webp"};

using common::append_list_member;
using common::append_member;
using common::append_raw_member;
using common::invalid;
using common::is_null;
using common::is_null_or_zero;
using common::is_number;
using common::missing;
using common::param_at;
using common::wrong_type;

// A parameter (or a value of it) Anthropic cannot express.
tl::unexpected<Error> unsupported(std::string param, std::string_view why = {}) {
    return common::unsupported("anthropic", std::move(param), why);
}

// One Anthropic message being assembled. Tool results open a user message that the following
// tool results (and a user message right after them) join: Anthropic wants every result of one
// assistant turn in ONE user message, right after that turn.
class MessageList {
  public:
    explicit MessageList(std::string& out) : out_(out) {}

    void add_string(std::string_view role, std::string_view text) {
        flush();
        role_ = role;
        content_.clear();
        append_string(content_, text);
        blocks_ = false;
        open_ = true;
    }

    // Starts a message of content blocks and returns its block list, to which the caller
    // appends comma-separated blocks. `join_tool_results`: a user message right after tool
    // results continues their message instead.
    std::string& begin_blocks(std::string_view role, bool join_tool_results = false) {
        if (join_tool_results && open_ && tool_results_ && role == "user") {
            tool_results_ = false;
            return content_;
        }
        flush();
        role_ = role;
        content_.clear();
        blocks_ = true;
        open_ = true;
        return content_;
    }

    std::string& begin_tool_result() {
        if (!(open_ && tool_results_)) {
            begin_blocks("user");
            tool_results_ = true;
        }
        return content_;
    }

    // Drops a message that got no blocks (an assistant turn with no text and no tool call).
    void abandon_if_empty() {
        if (open_ && blocks_ && content_.empty()) {
            open_ = false;
            tool_results_ = false;
        }
    }

    void flush() {
        if (!open_) {
            return;
        }
        if (count_ > 0) {
            out_ += ',';
        }
        ++count_;
        out_ += "{\"role\":\"";
        out_ += role_;
        out_ += "\",\"content\":";
        if (blocks_) {
            out_ += '[';
            out_ += content_;
            out_ += ']';
        } else {
            out_ += content_;
        }
        out_ += '}';
        open_ = false;
        tool_results_ = false;
    }

    std::size_t count() const { return count_; }
    bool in_tool_results() const { return open_ && tool_results_; }

  private:
    std::string& out_;
    std::string_view role_;
    std::string content_;
    bool blocks_ = false;
    bool open_ = false;
    bool tool_results_ = false;
    std::size_t count_ = 0;
};

void append_text_block(std::string& blocks, std::string_view text) {
    begin_item(blocks);
    blocks += "{\"type\":\"text\",\"text\":";
    append_string(blocks, text);
    blocks += '}';
}

// OpenAI image_url part -> Anthropic image block (URL or base64 source).
Status append_image_block(std::string& blocks, element part, const std::string& param) {
    SB_TRY(url, common::image_url(part, param));
    const std::string url_param = param + ".image_url.url";
    begin_item(blocks);
    if (url.starts_with("https://") || url.starts_with("http://")) {
        blocks += "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":";
        append_string(blocks, url);
        blocks += "}}";
        return {};
    }
    if (!url.starts_with("data:")) {
        return invalid(url_param,
                       "Invalid image URL: expected an http(s) URL or a base64 data: URL.");
    }
    const std::optional<common::DataUrl> data_url = common::split_data_url(url);
    if (!data_url) {
        return invalid(url_param, "Invalid image data URL: expected 'data:<media type>;base64,'.");
    }
    const std::string_view media_type = data_url->media_type;
    bool known = false;
    for (const std::string_view allowed : kImageMediaTypes) {
        known = known || media_type == allowed;
    }
    if (!known) {
        return unsupported(url_param,
                           fmt::format("image media type '{}' (use image/jpeg, image/png, "
                                       "image/gif or image/webp)",
                                       media_type));
    }
    blocks += "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":";
    append_string(blocks, media_type);
    blocks += ",\"data\":";
    append_string(blocks, data_url->data);
    blocks += "}}";
    return {};
}

// Content parts of a user message. `images`: whether image parts are allowed here.
Status append_parts(std::string& blocks, array parts, const std::string& param, bool images,
                    bool allow_refusal) {
    return common::visit_parts(
        parts, param, images, allow_refusal, "anthropic",
        [&blocks](std::string_view text) {
            if (!text.empty()) {
                append_text_block(blocks, text);
            }
        },
        [&blocks](element part, const std::string& part_param) {
            return append_image_block(blocks, part, part_param);
        });
}

// A message's content (a string or content parts) as text and image blocks; empty text is left
// out. `images`: whether image parts are allowed here.
Status append_content(std::string& blocks, element content, const std::string& param, bool images,
                      bool allow_refusal) {
    return common::visit_content(
        content, param, images, allow_refusal, "anthropic", "a string or an array of content parts",
        [&blocks](std::string_view text) {
            if (!text.empty()) {
                append_text_block(blocks, text);
            }
        },
        [&blocks](element part, const std::string& part_param) {
            return append_image_block(blocks, part, part_param);
        });
}

// Collects the text of a system/developer message into `system`.
Status collect_system(std::vector<std::string_view>& system, element content,
                      const std::string& param) {
    return common::visit_system_content(content, param, "anthropic",
                                        [&system](std::string_view text) {
                                            if (!text.empty()) {
                                                system.push_back(text);
                                            }
                                        });
}

// The translator for one request. Holds a second parser for tool-call arguments (the first
// one's document stays in use while we write).
class Translator final : public common::ChatRequestReader {
  public:
    explicit Translator(const ChatContext& ctx) : ChatRequestReader("anthropic"), ctx_(ctx) {}

    Result<std::string> run(std::string_view openai_body);

  private:
    Status read_field(std::string_view key, element value) override;
    Status translate_messages(array messages) override;
    Status append_tool_uses(std::string& blocks, element message, const std::string& param);
    Status append_thinking_blocks(std::string& blocks, element message, const std::string& param);
    Status translate_tools(array tools) override;
    Status translate_tool_choice(element choice) override;
    Status translate_response_format(element format);

    const ChatContext& ctx_;
    simdjson::dom::parser arguments_parser_;

    // Pieces of the Anthropic body, in the order they are written.
    std::vector<std::string_view> system_;
    std::string messages_;
    std::string tools_;
    std::string tool_choice_;
    std::string stop_sequences_;
    std::optional<element> temperature_;
    std::optional<element> top_p_;
    std::optional<element> top_k_;
    std::optional<std::int64_t> thinking_budget_;
    std::string output_config_;
    std::string_view user_id_;
    std::string_view safety_identifier_;
};

Result<std::string> Translator::run(std::string_view openai_body) {
    if (auto status = read(openai_body); !status) {
        return fail(std::move(status).error());
    }
    if (!fields().tool_choice && fields().parallel_tool_calls_disabled && !tools_.empty()) {
        tool_choice_ = "{\"type\":\"auto\",\"disable_parallel_tool_use\":true}";
    }

    // max_tokens: OpenAI's newer name wins when both are given. With thinking, OpenAI's
    // max_completion_tokens includes reasoning tokens, as Anthropic's max_tokens includes the
    // thinking budget, so the budget is capped below it.
    const std::optional<std::int64_t> client_max = fields().max_output_tokens();
    std::int64_t max_tokens = client_max.value_or(kDefaultMaxTokens);
    if (thinking_budget_) {
        if (!client_max) {
            max_tokens = *thinking_budget_ + kDefaultMaxTokens;
        } else if (*thinking_budget_ > max_tokens / 2) {
            // Keep at least half of the client's limit for the answer itself.
            thinking_budget_ = max_tokens / 2;
        }
        if (*thinking_budget_ < kMinThinkingBudget) {
            return invalid("reasoning_effort",
                           fmt::format("reasoning_effort needs max_completion_tokens of at least "
                                       "{} with provider anthropic: half of it goes to the "
                                       "thinking budget, whose minimum is {} tokens.",
                                       2 * kMinThinkingBudget, kMinThinkingBudget));
        }
    }

    std::string out;
    out.reserve(openai_body.size() + 256);
    out += "{\"model\":";
    append_string(out, ctx_.upstream_model);
    out += ",\"max_tokens\":";
    append_int(out, max_tokens);
    if (system_.size() == 1) {
        out += ",\"system\":";
        append_string(out, system_.front());
    } else if (system_.size() > 1) {
        out += ",\"system\":[";
        std::string blocks;
        for (const std::string_view text : system_) {
            append_text_block(blocks, text);
        }
        out += blocks;
        out += ']';
    }
    out += ",\"messages\":[";
    out += messages_;
    out += ']';
    append_list_member(out, "tools", tools_);
    append_raw_member(out, "tool_choice", tool_choice_);
    append_list_member(out, "stop_sequences", stop_sequences_);
    append_member(out, "temperature", temperature_);
    append_member(out, "top_p", top_p_);
    append_member(out, "top_k", top_k_);
    if (thinking_budget_) {
        out += ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":";
        append_int(out, *thinking_budget_);
        out += '}';
    }
    append_raw_member(out, "output_config", output_config_);
    const std::string_view user = user_id_.empty() ? safety_identifier_ : user_id_;
    if (!user.empty()) {
        out += ",\"metadata\":{\"user_id\":";
        append_string(out, user);
        out += '}';
    }
    if (ctx_.stream) {
        out += ",\"stream\":true";
    }
    out += '}';
    return out;
}

Status Translator::read_field(std::string_view key, element value) {
    if (key == "temperature") {
        if (is_null(value)) {
            return {};
        }
        double t = 0;
        if (value.get_double().get(t) != simdjson::SUCCESS) {
            return wrong_type("temperature", "a number");
        }
        if (t < 0 || t > 1) {
            return unsupported("temperature",
                               fmt::format("{} is outside Anthropic's range of 0 to 1", t));
        }
        temperature_ = value;
    } else if (key == "top_p") {
        if (is_null(value)) {
            return {};
        }
        if (!is_number(value)) {
            return wrong_type("top_p", "a number");
        }
        top_p_ = value;
    } else if (key == "top_k") {
        // Not an OpenAI parameter, but Anthropic has it: carried through.
        if (is_null(value)) {
            return {};
        }
        std::int64_t k = 0;
        if (value.get_int64().get(k) != simdjson::SUCCESS) {
            return wrong_type("top_k", "an integer");
        }
        top_k_ = value;
    } else if (key == "stop") {
        if (auto status =
                common::append_stop_sequences(value, stop_sequences_, /*skip_empty=*/false);
            !status) {
            return status;
        }
    } else if (key == "user" || key == "safety_identifier") {
        if (is_null(value)) {
            return {};
        }
        std::string_view id;
        if (value.get_string().get(id) != simdjson::SUCCESS) {
            return wrong_type(std::string(key), "a string");
        }
        (key == "user" ? user_id_ : safety_identifier_) = id;
    } else if (key == "response_format") {
        if (auto status = translate_response_format(value); !status) {
            return status;
        }
    } else if (key == "reasoning_effort") {
        if (is_null(value)) {
            return {};
        }
        std::string_view effort;
        if (value.get_string().get(effort) != simdjson::SUCCESS) {
            return wrong_type("reasoning_effort", "a string");
        }
        if (effort == "none") {
            thinking_budget_.reset();
            return {};
        }
        bool known = false;
        for (const EffortBudget& entry : kEffortBudgets) {
            if (entry.effort == effort) {
                thinking_budget_ = entry.budget_tokens;
                known = true;
            }
        }
        if (!known) {
            return invalid("reasoning_effort",
                           fmt::format("Invalid value for 'reasoning_effort': '{}'. Supported "
                                       "values are: 'none', 'minimal', 'low', 'medium', "
                                       "'high' and 'xhigh'.",
                                       effort));
        }
    } else if (key == "presence_penalty" || key == "frequency_penalty") {
        if (!is_null_or_zero(value)) {
            return unsupported(std::string(key), "only 0, the default");
        }
    } else if (key == "logit_bias") {
        object bias;
        if (!is_null(value) &&
            (value.get_object().get(bias) != simdjson::SUCCESS || bias.size() != 0)) {
            return unsupported("logit_bias", "only an empty map");
        }
    } else {
        // Anthropic rejects fields it does not know, so an unknown field cannot be carried.
        return unsupported(std::string(key));
    }
    return {};
}

Status Translator::translate_response_format(element format) {
    SB_TRY(schema_format, common::is_json_schema_format(format, "anthropic", "Anthropic"));
    if (!schema_format) {
        return {};
    }
    element schema;
    if (format["json_schema"]["schema"].get(schema) != simdjson::SUCCESS || !schema.is_object()) {
        return invalid("response_format.json_schema.schema",
                       "response_format 'json_schema' needs an object in "
                       "'response_format.json_schema.schema' for provider anthropic.");
    }
    // Anthropic structured outputs (fixture req.structured_output_json_schema.json).
    output_config_ = "{\"format\":{\"type\":\"json_schema\",\"schema\":";
    append_element(output_config_, schema);
    output_config_ += "}}";
    return {};
}

Status Translator::translate_tools(array tools) {
    std::size_t i = 0;
    for (element tool : tools) {
        SB_TRY(function, common::read_function_tool(tool, param_at("tools", i++), "anthropic"));
        begin_item(tools_);
        tools_ += "{\"name\":";
        append_string(tools_, function.name);
        if (function.description) {
            tools_ += ",\"description\":";
            append_element(tools_, *function.description);
        }
        tools_ += ",\"input_schema\":";
        if (function.parameters) {
            append_element(tools_, *function.parameters);
        } else {
            // OpenAI: omitting parameters defines a function with an empty parameter list.
            tools_ += "{\"type\":\"object\",\"properties\":{}}";
        }
        if (function.strict) {
            tools_ += ",\"strict\":true";
        }
        tools_ += '}';
    }
    return {};
}

Status Translator::translate_tool_choice(element choice) {
    SB_TRY(tool_choice, common::read_tool_choice(choice, "anthropic"));
    std::string_view type;
    switch (tool_choice.mode) {
        case common::ToolChoiceMode::None:
            type = "none";
            break;
        case common::ToolChoiceMode::Auto:
            type = "auto";
            break;
        case common::ToolChoiceMode::Required:
            type = "any";
            break;
        case common::ToolChoiceMode::Function:
            type = "tool";
            break;
    }
    const std::string_view name = tool_choice.name;
    if (tools_.empty()) {
        if (type == "none") {
            return {};  // no tools and none allowed: nothing to say
        }
        return common::tool_choice_without_tools();
    }
    tool_choice_ = "{\"type\":\"";
    tool_choice_ += type;
    tool_choice_ += '"';
    if (type == "tool") {
        tool_choice_ += ",\"name\":";
        append_string(tool_choice_, name);
    }
    if (fields().parallel_tool_calls_disabled && type != "none") {
        tool_choice_ += ",\"disable_parallel_tool_use\":true";
    }
    tool_choice_ += '}';
    return {};
}

Status Translator::translate_messages(array messages) {
    MessageList list(messages_);
    std::size_t i = 0;
    for (element message : messages) {
        const std::string param = param_at("messages", i++);
        std::string_view role;
        if (message["role"].get_string().get(role) != simdjson::SUCCESS) {
            return invalid(param + ".role",
                           fmt::format("Missing required parameter: '{}.role'.", param));
        }
        element content;
        const bool has_content =
            message["content"].get(content) == simdjson::SUCCESS && !is_null(content);
        const std::string content_param = param + ".content";
        if (role == "system" || role == "developer") {
            // Anthropic has one top-level system prompt: every system/developer message goes
            // there, in order (documented: their position in the conversation is not kept).
            if (has_content) {
                if (auto status = collect_system(system_, content, content_param); !status) {
                    return status;
                }
            }
        } else if (role == "user") {
            std::string_view text;
            array parts;
            if (!has_content) {
                return invalid(content_param,
                               fmt::format("Missing required parameter: '{}'.", content_param));
            }
            if (content.get_string().get(text) == simdjson::SUCCESS) {
                if (list.in_tool_results()) {
                    append_text_block(list.begin_blocks("user", /*join_tool_results=*/true), text);
                } else {
                    list.add_string("user", text);
                }
            } else if (content.get_array().get(parts) == simdjson::SUCCESS) {
                std::string& blocks = list.begin_blocks("user", /*join_tool_results=*/true);
                if (auto status = append_parts(blocks, parts, content_param, /*images=*/true,
                                               /*allow_refusal=*/false);
                    !status) {
                    return status;
                }
            } else {
                return wrong_type(content_param, "a string or an array of content parts");
            }
        } else if (role == "assistant") {
            // thinking_blocks (from our earlier answer) go first, unchanged: with thinking on,
            // Anthropic wants the turn that called tools to start with its signed thinking.
            std::string thinking;
            if (auto status = append_thinking_blocks(thinking, message, param); !status) {
                return status;
            }
            element calls;
            const bool has_calls =
                message["tool_calls"].get(calls) == simdjson::SUCCESS && !is_null(calls);
            std::string_view plain;
            if (!has_calls && thinking.empty() && has_content &&
                content.get_string().get(plain) == simdjson::SUCCESS && !plain.empty()) {
                list.add_string("assistant", plain);
                continue;
            }
            std::string& blocks = list.begin_blocks("assistant");
            blocks += thinking;
            if (has_content) {
                if (auto status = append_content(blocks, content, content_param, /*images=*/false,
                                                 /*allow_refusal=*/true);
                    !status) {
                    return status;
                }
            }
            if (auto status = append_tool_uses(blocks, message, param); !status) {
                return status;
            }
            list.abandon_if_empty();
        } else if (role == "tool") {
            std::string_view call_id;
            if (message["tool_call_id"].get_string().get(call_id) != simdjson::SUCCESS) {
                return invalid(
                    param + ".tool_call_id",
                    fmt::format("Missing required parameter: '{}.tool_call_id'.", param));
            }
            std::string& blocks = list.begin_tool_result();
            std::string result = "{\"type\":\"tool_result\",\"tool_use_id\":";
            append_string(result, call_id);
            if (has_content) {
                std::string_view text;
                array parts;
                if (content.get_string().get(text) == simdjson::SUCCESS) {
                    result += ",\"content\":";
                    append_string(result, text);
                } else if (content.get_array().get(parts) == simdjson::SUCCESS) {
                    std::string inner;
                    if (auto status = append_parts(inner, parts, content_param, /*images=*/false,
                                                   /*allow_refusal=*/false);
                        !status) {
                        return status;
                    }
                    result += ",\"content\":[";
                    result += inner;
                    result += ']';
                } else {
                    return wrong_type(content_param, "a string or an array of text parts");
                }
            }
            result += '}';
            begin_item(blocks);
            blocks += result;
        } else {
            return unsupported(param + ".role", fmt::format("message role '{}'", role));
        }
    }
    list.flush();
    if (list.count() == 0) {
        return invalid("messages",
                       "'messages' must contain at least one user or assistant message for "
                       "provider anthropic.");
    }
    return {};
}

// An assistant message's `thinking_blocks` (the entries our responses carry, LiteLLM's
// convention) -> Anthropic thinking / redacted_thinking blocks, validated. The blocks are only sent
// when this request enables thinking: without it Anthropic refuses thinking blocks in the final
// assistant turn and ignores them in earlier ones (docs/providers/anthropic.md).
Status Translator::append_thinking_blocks(std::string& blocks, element message,
                                          const std::string& param) {
    element value;
    if (message["thinking_blocks"].get(value) != simdjson::SUCCESS || is_null(value)) {
        return {};
    }
    const std::string list_param = param + ".thinking_blocks";
    array entries;
    if (value.get_array().get(entries) != simdjson::SUCCESS) {
        return wrong_type(list_param, "an array");
    }
    std::size_t j = 0;
    for (element entry : entries) {
        const std::string entry_param = param_at(list_param, j++);
        if (!entry.is_object()) {
            return wrong_type(entry_param, "an object");
        }
        std::string_view type;
        if (entry["type"].get_string().get(type) != simdjson::SUCCESS) {
            return missing(entry_param + ".type");
        }
        // A required non-empty string member of this entry.
        auto read = [&entry, &entry_param](std::string_view field,
                                           bool non_empty) -> Result<std::string_view> {
            const std::string field_param = entry_param + "." + std::string(field);
            element member;
            if (entry[field].get(member) != simdjson::SUCCESS || is_null(member)) {
                return missing(field_param);
            }
            std::string_view text;
            if (member.get_string().get(text) != simdjson::SUCCESS) {
                return wrong_type(field_param, "a string");
            }
            if (non_empty && text.empty()) {
                return invalid(
                    field_param,
                    fmt::format("Invalid value for '{}': it must not be empty.", field_param));
            }
            return text;
        };
        std::string block;
        if (type == "thinking") {
            SB_TRY(thinking, read("thinking", false));
            SB_TRY(signature, read("signature", true));
            block += "{\"type\":\"thinking\",\"thinking\":";
            append_string(block, thinking);
            block += ",\"signature\":";
            append_string(block, signature);
            block += '}';
        } else if (type == "redacted_thinking") {
            SB_TRY(data, read("data", true));
            block += "{\"type\":\"redacted_thinking\",\"data\":";
            append_string(block, data);
            block += '}';
        } else {
            return invalid(entry_param + ".type",
                           fmt::format("Invalid value for '{}.type': '{}'. Supported values are: "
                                       "'thinking' and 'redacted_thinking'.",
                                       entry_param, type));
        }
        if (thinking_budget_) {
            begin_item(blocks);
            blocks += block;
        }
    }
    return {};
}

// Assistant tool_calls -> tool_use blocks; the arguments string is parsed into `input`.
Status Translator::append_tool_uses(std::string& blocks, element message,
                                    const std::string& param) {
    return common::visit_tool_calls(
        message, param, arguments_parser_, "anthropic",
        [&blocks](const common::ToolCall& call, std::string_view input) {
            begin_item(blocks);
            blocks += "{\"type\":\"tool_use\",\"id\":";
            append_string(blocks, call.id);
            blocks += ",\"name\":";
            append_string(blocks, call.name);
            blocks += ",\"input\":";
            blocks += input;
            blocks += '}';
        });
}

}  // namespace

Result<std::string> translate_request(std::string_view openai_body, const ChatContext& ctx) {
    Translator translator(ctx);
    return translator.run(openai_body);
}

}  // namespace sb::providers::anthropic::detail
