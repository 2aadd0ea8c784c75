// Inbound Anthropic Messages request -> OpenAI chat completions body (and the per-provider-type
// target options). The mapping and every refusal are documented in docs/anthropic-inbound.md;
// keep the two in step.

#include <fmt/format.h>
#include <simdjson.h>

#include <deque>
#include <optional>

#include "inbound/anthropic/internal.h"
#include "inbound/anthropic/messages.h"

namespace sb::inbound::anthropic {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

using detail::append_element;
using detail::append_int;
using detail::append_string;
using detail::begin_item;
using detail::invalid;
using detail::is_null;
using detail::is_number;
using detail::missing;
using detail::path;
using detail::string_member;
using detail::unsupported;
using detail::wrong_type;
using providers::common::append_list_member;
using providers::common::append_member;
using providers::common::append_raw_member;

constexpr std::string_view kImageMediaTypes[] = {"image/jpeg", "image/png", "image/gif",
                                                 "image/webp"};
// Anthropic's minimum thinking budget.
constexpr std::int64_t kMinThinkingBudget = 1024;

// OpenAI `reasoning_effort` for an Anthropic thinking budget: the outbound Anthropic adapter
// maps low/medium/high to 2048/8192/16384 tokens; these bands put each budget on the nearest.
std::string_view effort_for_budget(std::int64_t budget) {
    if (budget < 4096) {
        return "low";
    }
    if (budget < 16384) {
        return "medium";
    }
    return "high";
}

// Reads a required string member.
Result<std::string_view> required_string(object obj, std::string_view key,
                                         const std::string& base) {
    element value;
    if (obj[key].get(value) != simdjson::SUCCESS) {
        return missing(path(base, key));
    }
    std::string_view s;
    if (value.get_string().get(s) != simdjson::SUCCESS) {
        return wrong_type(path(base, key), "a valid string");
    }
    return s;
}

// `value` as an object; "Input should be a valid dictionary" at `at` otherwise.
Result<object> as_object(element value, const std::string& at) {
    object obj;
    if (value.get_object().get(obj) != simdjson::SUCCESS) {
        return wrong_type(at, "a valid dictionary");
    }
    return obj;
}

// A required member `key` of `obj` (at `base`) that must be an object.
Result<element> required_object(object obj, std::string_view key, const std::string& base) {
    element value;
    if (obj[key].get(value) != simdjson::SUCCESS) {
        return missing(path(base, key));
    }
    if (!value.is_object()) {
        return wrong_type(path(base, key), "a valid dictionary");
    }
    return value;
}

// An optional boolean member: false when absent or null.
Result<bool> optional_bool(object obj, std::string_view key, const std::string& base) {
    element value;
    bool flag = false;
    if (obj[key].get(value) == simdjson::SUCCESS && !is_null(value) &&
        value.get_bool().get(flag) != simdjson::SUCCESS) {
        return wrong_type(path(base, key), "a valid boolean");
    }
    return flag;
}

// `temperature` or `top_p` (`key`): a number from 0 to 1, kept in `field`; null leaves it as is.
Status read_unit_interval(element value, std::string_view key, std::optional<element>& field) {
    if (is_null(value)) {
        return {};
    }
    double x = 0;
    if (value.get_double().get(x) != simdjson::SUCCESS) {
        return wrong_type(std::string(key), "a valid number");
    }
    if (x < 0 || x > 1) {
        return invalid(std::string(key), "Input should be between 0 and 1");
    }
    field = value;
    return {};
}

// The members of a block other than `known` (and `type`, `cache_control`, which every block may
// carry: prompt caching is accepted and ignored, the OpenAI side caches by prefix on its own).
Status only_known(object obj, const std::string& base,
                  std::initializer_list<std::string_view> known) {
    for (const auto field : obj) {
        const std::string_view key = field.key;
        if (key == "type" || key == "cache_control") {
            continue;
        }
        bool ok = false;
        for (const std::string_view k : known) {
            ok = ok || k == key;
        }
        if (!ok) {
            return unsupported(path(base, key));
        }
    }
    return {};
}

// Appends `{"type":"text","text":...}`.
void append_text_part(std::string& parts, std::string_view text) {
    begin_item(parts);
    parts += "{\"type\":\"text\",\"text\":";
    append_string(parts, text);
    parts += '}';
}

// OpenAI content for a list of text parts: the string for one, the parts array otherwise.
void append_text_content(std::string& out, const std::vector<std::string_view>& texts) {
    if (texts.size() == 1) {
        append_string(out, texts.front());
        return;
    }
    std::string parts;
    for (const std::string_view text : texts) {
        append_text_part(parts, text);
    }
    out += '[';
    out += parts;
    out += ']';
}

// A text block's text (`{"type":"text","text":...}`; citations are accepted and ignored).
Result<std::string_view> text_block(object block, const std::string& base) {
    if (auto status = only_known(block, base, {"text", "citations"}); !status) {
        return fail(std::move(status).error());
    }
    return required_string(block, "text", base);
}

// Anthropic image block -> OpenAI image_url part.
Status append_image_part(std::string& parts, object block, const std::string& base) {
    if (auto status = only_known(block, base, {"source"}); !status) {
        return status;
    }
    const std::string source_path = path(base, "source");
    SB_TRY(source_value, required_object(block, "source", base));
    const object source = source_value.get_object().value_unsafe();
    SB_TRY(type, required_string(source, "type", source_path));
    std::string data_url;
    std::string_view url;
    if (type == "base64") {
        if (auto status = only_known(source, source_path, {"media_type", "data"}); !status) {
            return status;
        }
        SB_TRY(media_type, required_string(source, "media_type", source_path));
        SB_TRY(data, required_string(source, "data", source_path));
        bool known = false;
        for (const std::string_view allowed : kImageMediaTypes) {
            known = known || allowed == media_type;
        }
        if (!known) {
            return invalid(path(source_path, "media_type"),
                           "Input should be 'image/jpeg', 'image/png', 'image/gif' or "
                           "'image/webp'");
        }
        data_url = fmt::format("data:{};base64,{}", media_type, data);
        url = data_url;
    } else if (type == "url") {
        if (auto status = only_known(source, source_path, {"url"}); !status) {
            return status;
        }
        SB_TRY(source_url, required_string(source, "url", source_path));
        url = source_url;
    } else if (type == "file") {
        return unsupported(path(source_path, "type"),
                           "'file' sources refer to Anthropic's Files API");
    } else {
        return invalid(path(source_path, "type"), "Input should be 'base64', 'url' or 'file'");
    }
    begin_item(parts);
    parts += "{\"type\":\"image_url\",\"image_url\":{\"url\":";
    append_string(parts, url);
    parts += "}}";
    return {};
}

// Builds the OpenAI body for one request. Holds the parsed document while it writes.
class Translator {
  public:
    explicit Translator(const TargetOptions& target) : target_(target) {}

    Result<std::string> run(std::string_view body);

  private:
    Status read_top_level(object root);
    Status read_system(element value);
    Status read_messages(array messages);
    Status read_user(element content, const std::string& base);
    Status read_tool_result(object block, const std::string& base, std::string& moved_images);
    Status read_document(object block, const std::string& base, std::string& parts,
                         std::vector<std::string_view>& texts, bool& only_text);
    Status read_assistant(element content, const std::string& base, bool last);
    Status read_tools(array tools);
    Status read_tool_choice(element value);
    Status read_thinking(element value);
    Status read_output_config(element value, const std::string& base);
    Status read_format(element value, const std::string& base);
    Status set_effort(std::string_view effort, const std::string& param);
    // Opens `{"role":"<role>","content":` in messages_; the caller writes the content and '}'.
    void open_message(std::string_view role);
    // Appends `{"role":"<role>","content":"<text>"}` to messages_.
    void add_text_message(std::string_view role, std::string_view text);

    const TargetOptions& target_;

    std::string_view model_;
    bool model_seen_ = false;
    std::optional<std::int64_t> max_tokens_;
    std::string system_;  // OpenAI system message content (JSON), empty when none
    std::string messages_;
    std::optional<element> temperature_;
    std::optional<element> top_p_;
    std::optional<element> top_k_;
    std::string stop_;  // comma-separated JSON strings
    bool stream_ = false;
    std::string tools_;
    std::string tool_choice_;
    bool tool_choice_needs_tools_ = false;
    bool parallel_disabled_ = false;
    std::string reasoning_effort_;
    std::string response_format_;
    std::optional<std::string_view> user_;

    std::optional<element> messages_element_;
    std::optional<element> tools_element_;
    std::optional<element> tool_choice_element_;
    std::deque<std::string> owned_;  // texts we compose; stable addresses for string_views
};

Result<std::string> Translator::run(std::string_view body) {
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(body);
    SB_TRY(root, detail::parse_object(parser, padded));
    if (auto status = read_top_level(root); !status) {
        return fail(std::move(status).error());
    }
    if (!model_seen_) {
        return missing("model");
    }
    if (model_.empty()) {
        return invalid("model", "String should have at least 1 character");
    }
    if (!max_tokens_) {
        return missing("max_tokens");
    }
    if (*max_tokens_ == 0) {
        return unsupported("max_tokens",
                           "0 (prompt cache pre-warming) needs an Anthropic target; use 1 or more");
    }
    if (!messages_element_) {
        return missing("messages");
    }
    array messages;
    if (messages_element_->get_array().get(messages) != simdjson::SUCCESS) {
        return wrong_type("messages", "a valid list");
    }
    if (auto status = read_messages(messages); !status) {
        return fail(std::move(status).error());
    }
    if (tools_element_) {
        array tools;
        if (tools_element_->get_array().get(tools) != simdjson::SUCCESS) {
            return wrong_type("tools", "a valid list");
        }
        if (auto status = read_tools(tools); !status) {
            return fail(std::move(status).error());
        }
    }
    if (tool_choice_element_) {
        if (auto status = read_tool_choice(*tool_choice_element_); !status) {
            return fail(std::move(status).error());
        }
    }

    std::string out;
    out.reserve(body.size() + 256);
    out += "{\"model\":";
    append_string(out, target_.model.empty() ? model_ : std::string_view(target_.model));
    out += ",\"messages\":[";
    if (!system_.empty()) {
        out += "{\"role\":\"system\",\"content\":";
        out += system_;
        out += '}';
        if (!messages_.empty()) {
            out += ',';
        }
    }
    out += messages_;
    out += ']';
    out += target_.max_tokens_field == MaxTokensField::MaxCompletionTokens
               ? ",\"max_completion_tokens\":"
               : ",\"max_tokens\":";
    append_int(out, *max_tokens_);
    append_member(out, "temperature", temperature_);
    append_member(out, "top_p", top_p_);
    append_member(out, "top_k", top_k_);
    append_list_member(out, "stop", stop_);
    if (stream_) {
        // Anthropic streams always report usage (message_start, message_delta).
        out += ",\"stream\":true,\"stream_options\":{\"include_usage\":true}";
    }
    if (!tools_.empty()) {
        append_list_member(out, "tools", tools_);
        append_raw_member(out, "tool_choice", tool_choice_);
        if (parallel_disabled_) {
            out += ",\"parallel_tool_calls\":false";
        }
    }
    if (!reasoning_effort_.empty()) {
        out += ",\"reasoning_effort\":";
        append_string(out, reasoning_effort_);
    }
    append_raw_member(out, "response_format", response_format_);
    if (user_) {
        out += ",\"user\":";
        append_string(out, *user_);
    }
    out += '}';
    return out;
}

Status Translator::read_top_level(object root) {
    for (const auto field : root) {
        const std::string_view key = field.key;
        const element value = field.value;
        if (key == "model") {
            std::string_view model;
            if (value.get_string().get(model) != simdjson::SUCCESS) {
                return wrong_type("model", "a valid string");
            }
            if (model_seen_) {
                // As parse(): routing and translation must agree on the model.
                return invalid("model", "the 'model' field appears more than once");
            }
            model_ = model;
            model_seen_ = true;
        } else if (key == "max_tokens") {
            std::int64_t n = 0;
            if (value.get_int64().get(n) != simdjson::SUCCESS) {
                return wrong_type("max_tokens", "a valid integer");
            }
            if (n < 0) {
                return invalid("max_tokens", "Input should be greater than or equal to 0");
            }
            max_tokens_ = n;
        } else if (key == "messages") {
            messages_element_ = value;
        } else if (key == "system") {
            if (auto status = read_system(value); !status) {
                return status;
            }
        } else if (key == "stream") {
            bool stream = false;
            if (!is_null(value) && value.get_bool().get(stream) != simdjson::SUCCESS) {
                return wrong_type("stream", "a valid boolean");
            }
            stream_ = stream;
        } else if (key == "temperature" || key == "top_p") {
            if (auto status =
                    read_unit_interval(value, key, key == "temperature" ? temperature_ : top_p_);
                !status) {
                return status;
            }
        } else if (key == "top_k") {
            if (is_null(value)) {
                continue;
            }
            std::int64_t k = 0;
            if (value.get_int64().get(k) != simdjson::SUCCESS) {
                return wrong_type("top_k", "a valid integer");
            }
            if (k < 0) {
                return invalid("top_k", "Input should be greater than or equal to 0");
            }
            if (!target_.top_k) {
                return unsupported("top_k", "the target model's API has no top_k");
            }
            top_k_ = value;
        } else if (key == "stop_sequences") {
            if (auto status = detail::read_string_list(value, "stop_sequences",
                                                       [this](std::string_view s) {
                                                           begin_item(stop_);
                                                           append_string(stop_, s);
                                                       });
                !status) {
                return status;
            }
        } else if (key == "metadata") {
            if (is_null(value)) {
                continue;
            }
            SB_TRY(metadata, as_object(value, "metadata"));
            for (const auto member : metadata) {
                if (member.key != "user_id") {
                    return unsupported(path("metadata", member.key));
                }
                std::string_view user;
                if (member.value.get_string().get(user) == simdjson::SUCCESS) {
                    user_ = user;
                } else if (!is_null(member.value)) {
                    return wrong_type("metadata.user_id", "a valid string");
                }
            }
        } else if (key == "tools") {
            if (!is_null(value)) {
                tools_element_ = value;
            }
        } else if (key == "tool_choice") {
            if (!is_null(value)) {
                tool_choice_element_ = value;
            }
        } else if (key == "thinking") {
            if (auto status = read_thinking(value); !status) {
                return status;
            }
        } else if (key == "output_config") {
            if (auto status = read_output_config(value, "output_config"); !status) {
                return status;
            }
        } else if (key == "output_format") {
            if (auto status = read_format(value, "output_format"); !status) {
                return status;
            }
        } else if (key == "service_tier") {
            // A capacity hint ("auto" / "standard_only") with no effect on the answer.
            std::string_view tier;
            if (!is_null(value) && value.get_string().get(tier) != simdjson::SUCCESS) {
                return wrong_type("service_tier", "a valid string");
            }
        } else if (key == "cache_control") {
            // Automatic prompt caching: accepted and ignored like block-level cache_control.
            continue;
        } else if (key == "container" || key == "mcp_servers" || key == "context_management" ||
                   key == "inference_geo" || key == "speed") {
            return unsupported(std::string(key), "an Anthropic platform feature");
        } else {
            // Anthropic refuses fields it does not know ("Extra inputs are not permitted"), so
            // a client cannot rely on one being ignored; we refuse them too.
            return unsupported(std::string(key));
        }
    }
    return {};
}

void Translator::open_message(std::string_view role) {
    begin_item(messages_);
    messages_ += "{\"role\":\"";
    messages_ += role;
    messages_ += "\",\"content\":";
}

void Translator::add_text_message(std::string_view role, std::string_view text) {
    open_message(role);
    append_string(messages_, text);
    messages_ += '}';
}

Status Translator::read_system(element value) {
    if (is_null(value)) {
        return {};
    }
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) {
        if (!text.empty()) {  // an empty system prompt says nothing
            append_string(system_, text);
        }
        return {};
    }
    array blocks;
    if (value.get_array().get(blocks) != simdjson::SUCCESS) {
        return wrong_type("system", "a valid string or a list of text blocks");
    }
    std::vector<std::string_view> texts;
    std::size_t i = 0;
    for (const element block_value : blocks) {
        const std::string base = path("system", i++);
        SB_TRY(block, as_object(block_value, base));
        SB_TRY(type, required_string(block, "type", base));
        if (type != "text") {
            return invalid(path(base, "type"), "Input should be 'text'");
        }
        SB_TRY(block_text, text_block(block, base));
        texts.push_back(block_text);
    }
    if (!texts.empty()) {
        append_text_content(system_, texts);
    }
    return {};
}

Status Translator::read_messages(array messages) {
    const std::size_t count = messages.size();
    if (count == 0) {
        return invalid("messages", "at least one message is required");
    }
    std::size_t i = 0;
    for (const element message_value : messages) {
        const std::string base = path("messages", i);
        const bool last = ++i == count;
        SB_TRY(message, as_object(message_value, base));
        std::string_view role;
        element content;
        for (const auto field : message) {
            if (field.key == "role") {
                if (field.value.get_string().get(role) != simdjson::SUCCESS) {
                    return wrong_type(path(base, "role"), "a valid string");
                }
            } else if (field.key == "content") {
                content = field.value;
            } else {
                return unsupported(path(base, field.key));
            }
        }
        if (role.empty()) {
            return missing(path(base, "role"));
        }
        if (message["content"].error() != simdjson::SUCCESS) {
            return missing(path(base, "content"));
        }
        Status status;
        if (role == "user") {
            status = read_user(content, path(base, "content"));
        } else if (role == "assistant") {
            status = read_assistant(content, path(base, "content"), last);
        } else {
            return invalid(path(base, "role"), "Input should be 'user' or 'assistant'");
        }
        if (!status) {
            return status;
        }
    }
    return {};
}

Status Translator::read_user(element content, const std::string& base) {
    std::string_view text;
    if (content.get_string().get(text) == simdjson::SUCCESS) {
        add_text_message("user", text);
        return {};
    }
    array blocks;
    if (content.get_array().get(blocks) != simdjson::SUCCESS) {
        return wrong_type(base, "a valid string or a list of content blocks");
    }
    // Tool results become `tool` messages, which OpenAI wants right after the assistant turn
    // that called the tools; the message's other blocks follow as one user message.
    std::string parts;
    std::string moved_images;  // images of tool results, which tool messages cannot carry
    std::vector<std::string_view> texts;
    bool only_text = true;
    std::size_t i = 0;
    for (const element block_value : blocks) {
        const std::string block_path = path(base, i++);
        SB_TRY(block, as_object(block_value, block_path));
        SB_TRY(type, required_string(block, "type", block_path));
        if (type == "text") {
            SB_TRY(block_text, text_block(block, block_path));
            append_text_part(parts, block_text);
            texts.push_back(block_text);
        } else if (type == "image") {
            if (auto status = append_image_part(parts, block, block_path); !status) {
                return status;
            }
            only_text = false;
        } else if (type == "tool_result") {
            if (auto status = read_tool_result(block, block_path, moved_images); !status) {
                return status;
            }
        } else if (type == "document") {
            if (auto status = read_document(block, block_path, parts, texts, only_text); !status) {
                return status;
            }
        } else if (type == "search_result" || type == "container_upload") {
            return unsupported(path(block_path, "type"),
                               fmt::format("'{}' blocks have no OpenAI chat equivalent", type));
        } else if (type == "tool_use" || type == "thinking" || type == "redacted_thinking" ||
                   type == "server_tool_use") {
            return invalid(path(block_path, "type"),
                           fmt::format("'{}' blocks are only allowed in assistant messages", type));
        } else {
            return unsupported(path(block_path, "type"), fmt::format("block type '{}'", type));
        }
    }
    if (!moved_images.empty()) {
        if (!parts.empty()) {
            moved_images += ',';
            moved_images += parts;
        }
        parts = std::move(moved_images);
        only_text = false;
    } else if (parts.empty()) {
        if (i == 0) {
            return invalid(base, "a user message needs at least one content block");
        }
        return {};  // only tool results
    }
    open_message("user");
    if (only_text) {
        append_text_content(messages_, texts);
    } else {
        messages_ += '[';
        messages_ += parts;
        messages_ += ']';
    }
    messages_ += '}';
    return {};
}

// document -> text parts (plain-text and content sources) or an OpenAI `file` part (base64
// PDF). A title or context is written as a first line the model can read. URL and Files API
// sources are refused: OpenAI file parts need the bytes.
Status Translator::read_document(object block, const std::string& base, std::string& parts,
                                 std::vector<std::string_view>& texts, bool& only_text) {
    if (auto status = only_known(block, base, {"source", "title", "context", "citations"});
        !status) {
        return status;
    }
    std::string header;
    for (const std::string_view key : {"title", "context"}) {
        element value;
        if (block[key].get(value) != simdjson::SUCCESS || is_null(value)) {
            continue;
        }
        std::string_view text;
        if (value.get_string().get(text) != simdjson::SUCCESS) {
            return wrong_type(path(base, key), "a valid string");
        }
        header += fmt::format("Document {}: {}\n", key, text);
    }
    const std::string source_path = path(base, "source");
    SB_TRY(source_value, required_object(block, "source", base));
    const object source = source_value.get_object().value_unsafe();
    SB_TRY(type, required_string(source, "type", source_path));
    // The title/context lines go first, once, as their own text part.
    auto flush_header = [&] {
        if (!header.empty()) {
            owned_.push_back(std::move(header));
            header.clear();
            append_text_part(parts, owned_.back());
            texts.push_back(owned_.back());
        }
    };
    auto add_text = [&](std::string_view text) {
        flush_header();
        append_text_part(parts, text);
        texts.push_back(text);
    };
    if (type == "text") {
        if (auto status = only_known(source, source_path, {"media_type", "data"}); !status) {
            return status;
        }
        SB_TRY(data, required_string(source, "data", source_path));
        add_text(data);
        return {};
    }
    if (type == "content") {
        if (auto status = only_known(source, source_path, {"content"}); !status) {
            return status;
        }
        const std::string content_path = path(source_path, "content");
        element content;
        if (source["content"].get(content) != simdjson::SUCCESS) {
            return missing(content_path);
        }
        std::string_view text;
        array blocks;
        if (content.get_string().get(text) == simdjson::SUCCESS) {
            add_text(text);
            return {};
        }
        if (content.get_array().get(blocks) != simdjson::SUCCESS) {
            return wrong_type(content_path, "a valid string or a list of content blocks");
        }
        std::size_t i = 0;
        for (const element inner_value : blocks) {
            const std::string inner_path = path(content_path, i++);
            SB_TRY(inner, as_object(inner_value, inner_path));
            SB_TRY(inner_type, required_string(inner, "type", inner_path));
            if (inner_type == "text") {
                SB_TRY(inner_text, text_block(inner, inner_path));
                add_text(inner_text);
            } else if (inner_type == "image") {
                if (auto status = append_image_part(parts, inner, inner_path); !status) {
                    return status;
                }
                only_text = false;
            } else {
                return invalid(path(inner_path, "type"), "Input should be 'text' or 'image'");
            }
        }
        return {};
    }
    if (type == "base64") {
        if (auto status = only_known(source, source_path, {"media_type", "data"}); !status) {
            return status;
        }
        SB_TRY(media_type, required_string(source, "media_type", source_path));
        SB_TRY(data, required_string(source, "data", source_path));
        if (media_type != "application/pdf") {
            return invalid(path(source_path, "media_type"), "Input should be 'application/pdf'");
        }
        flush_header();
        element title;
        std::string_view filename = "document.pdf";
        std::string titled;
        if (block["title"].get(title) == simdjson::SUCCESS && title.is_string()) {
            titled = fmt::format("{}.pdf", title.get_string().value_unsafe());
            filename = titled;
        }
        begin_item(parts);
        parts += "{\"type\":\"file\",\"file\":{\"filename\":";
        append_string(parts, filename);
        parts += ",\"file_data\":";
        append_string(parts, fmt::format("data:application/pdf;base64,{}", data));
        parts += "}}";
        only_text = false;
        return {};
    }
    if (type == "url" || type == "file") {
        return unsupported(path(source_path, "type"),
                           fmt::format("'{}' document sources: OpenAI file parts need the "
                                       "document's bytes (send it as base64)",
                                       type));
    }
    return invalid(path(source_path, "type"),
                   "Input should be 'base64', 'text', 'content', 'url' or 'file'");
}

// tool_result -> `{"role":"tool","tool_call_id","content"}`. OpenAI tool messages have no error
// flag: an is_error result's text is prefixed with "Error: " so the model still learns the call
// failed. They carry only text: a result's images move to the user message that follows the
// tool messages, introduced by a text part naming the call, and the tool message says so
// (documented).
Status Translator::read_tool_result(object block, const std::string& base,
                                    std::string& moved_images) {
    if (auto status = only_known(block, base, {"tool_use_id", "content", "is_error"}); !status) {
        return status;
    }
    SB_TRY(id, required_string(block, "tool_use_id", base));
    SB_TRY(is_error, optional_bool(block, "is_error", base));
    std::vector<std::string_view> texts;
    bool images_announced = false;
    element content;
    const std::string content_path = path(base, "content");
    if (block["content"].get(content) == simdjson::SUCCESS && !is_null(content)) {
        std::string_view text;
        array blocks;
        if (content.get_string().get(text) == simdjson::SUCCESS) {
            texts.push_back(text);
        } else if (content.get_array().get(blocks) == simdjson::SUCCESS) {
            std::size_t i = 0;
            for (const element inner_value : blocks) {
                const std::string inner_path = path(content_path, i++);
                SB_TRY(inner, as_object(inner_value, inner_path));
                SB_TRY(type, required_string(inner, "type", inner_path));
                if (type == "text") {
                    SB_TRY(inner_text, text_block(inner, inner_path));
                    texts.push_back(inner_text);
                } else if (type == "image") {
                    if (!images_announced) {
                        append_text_part(moved_images,
                                         fmt::format("Images returned by tool call {}:", id));
                        images_announced = true;
                    }
                    if (auto status = append_image_part(moved_images, inner, inner_path); !status) {
                        return status;
                    }
                    texts.push_back("[image: attached to the next user message]");
                } else if (type == "document" || type == "search_result") {
                    return unsupported(path(inner_path, "type"),
                                       fmt::format("OpenAI tool messages carry only text, not "
                                                   "'{}' blocks",
                                                   type));
                } else {
                    return unsupported(path(inner_path, "type"),
                                       fmt::format("block type '{}'", type));
                }
            }
        } else {
            return wrong_type(content_path, "a valid string or a list of content blocks");
        }
    }
    begin_item(messages_);
    messages_ += "{\"role\":\"tool\",\"tool_call_id\":";
    append_string(messages_, id);
    messages_ += ",\"content\":";
    if (is_error) {
        std::string joined = "Error: ";
        for (std::size_t i = 0; i < texts.size(); ++i) {
            if (i > 0) {
                joined += '\n';
            }
            joined += texts[i];
        }
        append_string(messages_, joined);
    } else if (texts.empty()) {
        messages_ += "\"\"";
    } else {
        append_text_content(messages_, texts);
    }
    messages_ += '}';
    return {};
}

Status Translator::read_assistant(element content, const std::string& base, bool last) {
    if (last) {
        // Anthropic continues a final assistant message (prefill); OpenAI chat would start a
        // new turn instead, a different answer. Refused rather than silently changed.
        return unsupported(base.substr(0, base.rfind('.')),
                           "a final assistant message (prefill) cannot be continued by an "
                           "OpenAI-format model");
    }
    std::string_view text;
    if (content.get_string().get(text) == simdjson::SUCCESS) {
        add_text_message("assistant", text);
        return {};
    }
    array blocks;
    if (content.get_array().get(blocks) != simdjson::SUCCESS) {
        return wrong_type(base, "a valid string or a list of content blocks");
    }
    std::vector<std::string_view> texts;
    std::string calls;
    std::size_t i = 0;
    for (const element block_value : blocks) {
        const std::string block_path = path(base, i++);
        SB_TRY(block, as_object(block_value, block_path));
        SB_TRY(type, required_string(block, "type", block_path));
        if (type == "text") {
            SB_TRY(block_text, text_block(block, block_path));
            texts.push_back(block_text);
        } else if (type == "tool_use") {
            if (auto status = only_known(block, block_path, {"id", "name", "input", "caller"});
                !status) {
                return status;
            }
            SB_TRY(id, required_string(block, "id", block_path));
            SB_TRY(name, required_string(block, "name", block_path));
            SB_TRY(input, required_object(block, "input", block_path));
            begin_item(calls);
            calls += "{\"id\":";
            append_string(calls, id);
            calls += ",\"type\":\"function\",\"function\":{\"name\":";
            append_string(calls, name);
            calls += ",\"arguments\":";
            append_string(calls, simdjson::to_string(input));
            calls += "}}";
        } else if (type == "thinking" || type == "redacted_thinking") {
            // Earlier turns' thinking: Anthropic itself strips it from the context, and OpenAI
            // chat has no field for it. Dropped (documented).
            continue;
        } else if (type == "server_tool_use" || type == "web_search_tool_result" ||
                   type == "web_fetch_tool_result" || type == "code_execution_tool_result" ||
                   type == "mcp_tool_use" || type == "mcp_tool_result" ||
                   type == "container_upload") {
            return unsupported(path(block_path, "type"),
                               fmt::format("'{}' blocks belong to Anthropic server tools", type));
        } else if (type == "image" || type == "document" || type == "tool_result") {
            return invalid(path(block_path, "type"),
                           fmt::format("'{}' blocks are not allowed in assistant messages", type));
        } else {
            return unsupported(path(block_path, "type"), fmt::format("block type '{}'", type));
        }
    }
    if (texts.empty() && calls.empty()) {
        return {};  // nothing but thinking: no OpenAI message
    }
    open_message("assistant");
    if (texts.empty()) {
        messages_ += "null";
    } else {
        append_text_content(messages_, texts);
    }
    if (!calls.empty()) {
        messages_ += ",\"tool_calls\":[";
        messages_ += calls;
        messages_ += ']';
    }
    messages_ += '}';
    return {};
}

Status Translator::read_tools(array tools) {
    std::size_t i = 0;
    for (const element tool_value : tools) {
        const std::string base = path("tools", i++);
        SB_TRY(tool, as_object(tool_value, base));
        std::string_view type;
        element type_value;
        if (tool["type"].get(type_value) == simdjson::SUCCESS && !is_null(type_value)) {
            if (type_value.get_string().get(type) != simdjson::SUCCESS) {
                return wrong_type(path(base, "type"), "a valid string");
            }
            if (type != "custom") {
                return unsupported(path(base, "type"),
                                   fmt::format("'{}' is an Anthropic-defined or server tool; only "
                                               "custom tools (name, description, input_schema) "
                                               "translate",
                                               type));
            }
        }
        if (auto status = only_known(tool, base, {"name", "description", "input_schema", "strict"});
            !status) {
            return status;
        }
        SB_TRY(name, required_string(tool, "name", base));
        SB_TRY(schema, required_object(tool, "input_schema", base));
        begin_item(tools_);
        tools_ += "{\"type\":\"function\",\"function\":{\"name\":";
        append_string(tools_, name);
        element description;
        if (tool["description"].get(description) == simdjson::SUCCESS && !is_null(description)) {
            if (!description.is_string()) {
                return wrong_type(path(base, "description"), "a valid string");
            }
            tools_ += ",\"description\":";
            append_element(tools_, description);
        }
        tools_ += ",\"parameters\":";
        append_element(tools_, schema);
        SB_TRY(strict, optional_bool(tool, "strict", base));
        if (strict) {
            tools_ += ",\"strict\":true";
        }
        tools_ += "}}";
    }
    return {};
}

Status Translator::read_tool_choice(element value) {
    SB_TRY(choice, as_object(value, "tool_choice"));
    SB_TRY(type, required_string(choice, "type", "tool_choice"));
    if (auto status = only_known(choice, "tool_choice", {"name", "disable_parallel_tool_use"});
        !status) {
        return status;
    }
    SB_TRY(disabled, optional_bool(choice, "disable_parallel_tool_use", "tool_choice"));
    parallel_disabled_ = disabled;
    if (type == "auto") {
        tool_choice_ = "\"auto\"";
    } else if (type == "any") {
        tool_choice_ = "\"required\"";
        tool_choice_needs_tools_ = true;
    } else if (type == "none") {
        tool_choice_ = "\"none\"";
    } else if (type == "tool") {
        SB_TRY(name, required_string(choice, "name", "tool_choice"));
        tool_choice_ = "{\"type\":\"function\",\"function\":{\"name\":";
        append_string(tool_choice_, name);
        tool_choice_ += "}}";
        tool_choice_needs_tools_ = true;
    } else {
        return invalid("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'");
    }
    if (tool_choice_needs_tools_ && tools_.empty()) {
        return invalid("tool_choice",
                       fmt::format("tool_choice '{}' requires at least one tool in 'tools'", type));
    }
    return {};
}

Status Translator::set_effort(std::string_view effort, const std::string& param) {
    switch (target_.thinking) {
        case Thinking::Refuse:
            return unsupported(param, "the target model has no reasoning setting");
        case Thinking::Ignore:
            return {};
        case Thinking::ReasoningEffort:
            reasoning_effort_ = std::string(effort);
            return {};
    }
    return {};
}

Status Translator::read_thinking(element value) {
    if (is_null(value)) {
        return {};
    }
    SB_TRY(thinking, as_object(value, "thinking"));
    SB_TRY(type, required_string(thinking, "type", "thinking"));
    if (type == "disabled") {
        return only_known(thinking, "thinking", {});
    }
    if (type == "adaptive") {
        // The model decides how much to think: OpenAI's default effort.
        if (auto status = only_known(thinking, "thinking", {}); !status) {
            return status;
        }
        return set_effort("medium", "thinking");
    }
    if (type != "enabled") {
        return invalid("thinking.type", "Input should be 'enabled', 'disabled' or 'adaptive'");
    }
    if (auto status = only_known(thinking, "thinking", {"budget_tokens"}); !status) {
        return status;
    }
    element budget_value;
    if (thinking["budget_tokens"].get(budget_value) != simdjson::SUCCESS) {
        return missing("thinking.budget_tokens");
    }
    std::int64_t budget = 0;
    if (budget_value.get_int64().get(budget) != simdjson::SUCCESS) {
        return wrong_type("thinking.budget_tokens", "a valid integer");
    }
    if (budget < kMinThinkingBudget) {
        return invalid("thinking.budget_tokens", "Input should be greater than or equal to 1024");
    }
    return set_effort(effort_for_budget(budget), "thinking");
}

Status Translator::read_output_config(element value, const std::string& base) {
    if (is_null(value)) {
        return {};
    }
    SB_TRY(config, as_object(value, base));
    for (const auto field : config) {
        const std::string field_path = path(base, field.key);
        if (field.key == "format") {
            if (auto status = read_format(field.value, field_path); !status) {
                return status;
            }
        } else if (field.key == "effort") {
            std::string_view effort;
            if (is_null(field.value)) {
                continue;
            }
            if (field.value.get_string().get(effort) != simdjson::SUCCESS) {
                return wrong_type(field_path, "a valid string");
            }
            if (effort != "low" && effort != "medium" && effort != "high") {
                return unsupported(field_path,
                                   fmt::format("effort '{}' (use low, medium or high)", effort));
            }
            if (auto status = set_effort(effort, field_path); !status) {
                return status;
            }
        } else {
            return unsupported(field_path);
        }
    }
    return {};
}

// Structured output: `{"type":"json_schema","schema":{...}}` -> OpenAI response_format.
Status Translator::read_format(element value, const std::string& base) {
    if (is_null(value)) {
        return {};
    }
    SB_TRY(format, as_object(value, base));
    SB_TRY(type, required_string(format, "type", base));
    if (type != "json_schema") {
        return invalid(path(base, "type"), "Input should be 'json_schema'");
    }
    if (auto status = only_known(format, base, {"schema"}); !status) {
        return status;
    }
    SB_TRY(schema, required_object(format, "schema", base));
    response_format_ = "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"output\",\"schema\":";
    append_element(response_format_, schema);
    response_format_ += ",\"strict\":true}}";
    return {};
}

}  // namespace

TargetOptions target_options_for(config::ProviderType type) {
    TargetOptions target;
    switch (type) {
        case config::ProviderType::OpenAI:
        case config::ProviderType::Azure:
            target.thinking = Thinking::ReasoningEffort;
            target.max_tokens_field = MaxTokensField::MaxCompletionTokens;
            break;
        case config::ProviderType::Anthropic:
        case config::ProviderType::Gemini:
        case config::ProviderType::Vertex:
            target.top_k = true;
            target.thinking = Thinking::ReasoningEffort;
            break;
        case config::ProviderType::OpenAICompatible:
        case config::ProviderType::Bedrock:
            break;
    }
    return target;
}

Result<std::string> to_openai_chat(std::string_view body, const TargetOptions& target) {
    Translator translator(target);
    return translator.run(body);
}

}  // namespace sb::inbound::anthropic
