// OpenAI chat completions request -> Gemini generateContent request. The mapping and every
// refusal are documented in docs/providers/gemini.md; keep the two in step.

#include <fmt/format.h>
#include <simdjson.h>

#include <optional>
#include <unordered_map>
#include <vector>

#include "providers/common/chat_request.h"
#include "providers/gemini/gemini.h"
#include "providers/gemini/internal.h"

namespace sb::providers::gemini::detail {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// OpenAI `reasoning_effort` -> Gemini thinkingConfig. Gemini 2.5 takes a token budget (the
// budgets Google's own OpenAI-compatible endpoint uses: low 1024, medium 8192, high 24576;
// 24576 is the largest every 2.5 model accepts); Gemini 3 and later take a level.
struct Effort {
    std::string_view effort;
    std::int64_t budget;
    std::string_view level;
};
constexpr Effort kEfforts[] = {
    {"none", 0, "minimal"},     {"minimal", 512, "minimal"}, {"low", 1024, "low"},
    {"medium", 8192, "medium"}, {"high", 24576, "high"},     {"xhigh", 24576, "high"},
};

using common::invalid;
using common::is_null;
using common::is_number;
using common::is_zero;
using common::missing;
using common::param_at;
using common::wrong_type;

// A parameter (or a value of it) Gemini cannot express.
tl::unexpected<Error> unsupported(std::string param, std::string_view why = {}) {
    return common::unsupported("gemini", std::move(param), why);
}

void append_text_part(std::string& parts, std::string_view text) {
    begin_item(parts);
    parts += "{\"text\":";
    append_string(parts, text);
    parts += '}';
}

void append_inline_data(std::string& parts, std::string_view mime_type, std::string_view data) {
    begin_item(parts);
    parts += "{\"inlineData\":{\"mimeType\":";
    append_string(parts, mime_type);
    parts += ",\"data\":";
    append_string(parts, data);
    parts += "}}";
}

// `data:<media type>[;params];base64,<data>` -> media type and base64 data.
struct DataUrl {
    std::string_view mime_type;
    std::string_view data;
};

std::optional<DataUrl> parse_data_url(std::string_view url) {
    const std::optional<common::DataUrl> split = common::split_data_url(url);
    if (!split) {
        return std::nullopt;
    }
    // Parameters before `;base64` (`;charset=...`) are not part of the MIME type.
    const std::string_view mime_type = split->media_type.substr(0, split->media_type.find(';'));
    const std::string_view data = split->data;
    if (mime_type.empty() || mime_type.find('/') == std::string_view::npos || data.empty()) {
        return std::nullopt;
    }
    return DataUrl{mime_type, data};
}

// One Gemini `Content` being assembled.
struct Turn {
    std::string_view role;  // "user" or "model"
    std::string parts;      // comma-separated Part objects
    bool tool_results = false;
};

class Translator {
  public:
    explicit Translator(const ChatContext& ctx)
        : generation_(model_generation(ctx.upstream_model)) {}

    Result<std::string> run(std::string_view openai_body);

  private:
    Status read_top_level(object root);
    Status translate_messages(element messages);
    Status translate_system(element content, const std::string& param);
    Status translate_user(element content, const std::string& param);
    Status translate_assistant(element message, std::size_t index);
    Status translate_tool(element message, std::size_t index);
    Status append_user_part(element part, const std::string& param, std::string& parts);
    Status append_image(element part, const std::string& param, std::string& parts);
    Result<std::string> tool_result_text(element content, const std::string& param);
    Status translate_tools(element tools);
    Status translate_tool_choice(element choice);
    Status translate_response_format(element format);
    Status translate_reasoning_effort(element effort);
    std::string render() const;

    const int generation_;  // of the upstream model: 3+ takes thinking levels, signatures
    simdjson::dom::parser parser_;
    simdjson::dom::parser aux_parser_;  // tool arguments and results (JSON inside strings)

    std::optional<element> messages_;
    std::optional<element> tools_element_;
    std::optional<element> tool_choice_element_;
    std::optional<element> max_tokens_;
    std::optional<element> max_completion_tokens_;
    std::optional<element> temperature_;
    std::optional<element> top_p_;
    std::optional<element> top_k_;
    std::optional<element> n_;
    std::optional<element> seed_;
    std::optional<element> presence_penalty_;
    std::optional<element> frequency_penalty_;

    std::vector<Turn> turns_;
    std::string system_parts_;
    // tool_call_id -> function name, from the assistant messages read so far (views into the
    // parsed request, which outlives the translation).
    std::unordered_map<std::string_view, std::string_view> call_names_;
    std::string tools_;        // FunctionDeclaration objects
    std::string tool_config_;  // the functionCallingConfig object
    std::string stop_sequences_;
    std::string_view response_mime_type_;
    std::string response_schema_;
    std::string thinking_config_;
};

Result<std::string> Translator::run(std::string_view openai_body) {
    const simdjson::padded_string padded(openai_body);
    element root;
    if (parser_.parse(padded).get(root) != simdjson::SUCCESS) {
        return fail(ErrorCode::InvalidJson, "The request body is not valid JSON.");
    }
    object fields;
    if (root.get_object().get(fields) != simdjson::SUCCESS) {
        return fail(ErrorCode::InvalidRequest, "The request body must be a JSON object.");
    }
    if (auto status = read_top_level(fields); !status) {
        return fail(std::move(status).error());
    }
    if (!messages_) {
        return missing("messages");
    }
    if (auto status = translate_messages(*messages_); !status) {
        return fail(std::move(status).error());
    }
    if (tools_element_) {
        if (auto status = translate_tools(*tools_element_); !status) {
            return fail(std::move(status).error());
        }
    }
    if (tool_choice_element_) {
        if (auto status = translate_tool_choice(*tool_choice_element_); !status) {
            return fail(std::move(status).error());
        }
    }
    return render();
}

Status Translator::read_top_level(object root) {
    for (const auto field : root) {
        const std::string_view key = field.key;
        const element value = field.value;
        if (key == "model" || key == "stream" || key == "stream_options") {
            // model: the route's upstream model is in the URL; stream and stream_options: the
            // gateway's ChatContext says how to answer.
            continue;
        }
        if (key == "messages") {
            messages_ = value;
            continue;
        }
        if (is_null(value)) {
            continue;  // null is OpenAI's "not set" for every optional parameter
        }
        if (key == "max_tokens" || key == "max_completion_tokens" || key == "n" || key == "top_k" ||
            key == "seed") {
            std::int64_t n = 0;
            if (value.get_int64().get(n) != simdjson::SUCCESS) {
                return wrong_type(std::string(key), "an integer");
            }
            if (n < 1 && key != "seed" && key != "top_k") {
                return invalid(std::string(key),
                               fmt::format("Invalid '{}': integer below minimum value. Expected "
                                           "a value >= 1, but got {} instead.",
                                           key, n));
            }
            if (key == "max_tokens") {
                max_tokens_ = value;
            } else if (key == "max_completion_tokens") {
                max_completion_tokens_ = value;
            } else if (key == "n") {
                n_ = value;
            } else if (key == "top_k") {
                top_k_ = value;  // not an OpenAI parameter, but Gemini has it: carried
            } else {
                seed_ = value;
            }
        } else if (key == "temperature" || key == "top_p" || key == "presence_penalty" ||
                   key == "frequency_penalty") {
            if (!is_number(value)) {
                return wrong_type(std::string(key), "a number");
            }
            if (key == "temperature") {
                temperature_ = value;
            } else if (key == "top_p") {
                top_p_ = value;
            } else if (!is_zero(value)) {
                // 0 is OpenAI's default and many clients always send it; Gemini 2.5 and later
                // reject any penalty ("Penalty is not enabled for models/..."), so a zero,
                // which changes nothing, is not sent. Other values go through.
                (key == "presence_penalty" ? presence_penalty_ : frequency_penalty_) = value;
            }
        } else if (key == "stop") {
            if (auto status =
                    common::append_stop_sequences(value, stop_sequences_, /*skip_empty=*/false);
                !status) {
                return status;
            }
        } else if (key == "tools") {
            tools_element_ = value;
        } else if (key == "tool_choice") {
            tool_choice_element_ = value;
        } else if (key == "parallel_tool_calls") {
            bool parallel = true;
            if (value.get_bool().get(parallel) != simdjson::SUCCESS) {
                return wrong_type("parallel_tool_calls", "a boolean");
            }
            if (!parallel) {
                return unsupported("parallel_tool_calls",
                                   "Gemini cannot be limited to one function call per turn");
            }
        } else if (key == "response_format") {
            if (auto status = translate_response_format(value); !status) {
                return status;
            }
        } else if (key == "reasoning_effort") {
            if (auto status = translate_reasoning_effort(value); !status) {
                return status;
            }
        } else if (key == "logprobs") {
            bool wanted = false;
            if (value.get_bool().get(wanted) != simdjson::SUCCESS) {
                return wrong_type("logprobs", "a boolean");
            }
            if (wanted) {
                return unsupported("logprobs");
            }
        } else if (key == "logit_bias") {
            object bias;
            if (value.get_object().get(bias) != simdjson::SUCCESS) {
                return wrong_type("logit_bias", "an object");
            }
            if (bias.size() != 0) {
                return unsupported("logit_bias");
            }
        } else if (key == "modalities") {
            array modalities;
            if (value.get_array().get(modalities) != simdjson::SUCCESS) {
                return wrong_type("modalities", "an array");
            }
            for (const element modality : modalities) {
                std::string_view name;
                if (modality.get_string().get(name) != simdjson::SUCCESS || name != "text") {
                    return unsupported("modalities", "only text output");
                }
            }
        } else if (key == "store") {
            bool store = false;
            if (value.get_bool().get(store) != simdjson::SUCCESS) {
                return wrong_type("store", "a boolean");
            }
            if (store) {
                return unsupported("store", "completions cannot be stored");
            }
        } else if (key == "service_tier") {
            std::string_view tier;
            if (value.get_string().get(tier) != simdjson::SUCCESS ||
                (tier != "auto" && tier != "default")) {
                return unsupported("service_tier", "only 'auto' or 'default'");
            }
        } else if (key == "user" || key == "safety_identifier" || key == "metadata" ||
                   key == "prompt_cache_key") {
            // End-user ids, stored-completion tags and a cache routing hint: no effect on the
            // answer and no Gemini field; dropped, as documented.
            continue;
        } else {
            // top_logprobs, audio, prediction, web_search_options, verbosity, functions,
            // function_call (no Gemini equivalent), and fields we do not know: Gemini rejects
            // unknown fields, so one cannot be carried.
            return unsupported(std::string(key));
        }
    }
    return {};
}

Status Translator::translate_response_format(element format) {
    std::string_view type;
    if (format["type"].get_string().get(type) != simdjson::SUCCESS) {
        return wrong_type("response_format.type", "a string");
    }
    if (type == "text") {
        return {};
    }
    if (type == "json_object") {
        response_mime_type_ = "application/json";
        return {};
    }
    if (type != "json_schema") {
        return invalid("response_format.type",
                       fmt::format("Invalid value for 'response_format.type': '{}'. Supported "
                                   "values are: 'text', 'json_object' and 'json_schema'.",
                                   type));
    }
    // Gemini structured output: responseMimeType + responseJsonSchema (fixture
    // req.json_schema.json); the schema's name and `strict` have no Gemini field.
    response_mime_type_ = "application/json";
    element schema;
    if (format["json_schema"]["schema"].get(schema) == simdjson::SUCCESS && !is_null(schema)) {
        if (!schema.is_object()) {
            return wrong_type("response_format.json_schema.schema", "an object");
        }
        append_element(response_schema_, schema);
    }
    return {};
}

Status Translator::translate_reasoning_effort(element value) {
    std::string_view effort;
    if (value.get_string().get(effort) != simdjson::SUCCESS) {
        return wrong_type("reasoning_effort", "a string");
    }
    for (const Effort& entry : kEfforts) {
        if (entry.effort != effort) {
            continue;
        }
        thinking_config_.clear();
        if (generation_ >= 3) {
            thinking_config_ = "{\"thinkingLevel\":";
            append_string(thinking_config_, entry.level);
        } else {
            thinking_config_ = "{\"thinkingBudget\":";
            append_int(thinking_config_, entry.budget);
        }
        // Thought summaries come back as `reasoning_content` (docs/providers/gemini.md).
        if (entry.effort != "none") {
            thinking_config_ += ",\"includeThoughts\":true";
        }
        thinking_config_ += '}';
        return {};
    }
    return invalid("reasoning_effort",
                   fmt::format("Invalid value for 'reasoning_effort': '{}'. Supported values are: "
                               "'none', 'minimal', 'low', 'medium', 'high' and 'xhigh'.",
                               effort));
}

// ---------------------------------------------------------------------------------------------
// Messages

Status Translator::translate_messages(element messages) {
    array list;
    if (messages.get_array().get(list) != simdjson::SUCCESS) {
        return wrong_type("messages", "an array");
    }
    std::size_t i = 0;
    for (const element message : list) {
        const std::string param = param_at("messages", i);
        if (!message.is_object()) {
            return wrong_type(param, "an object");
        }
        std::string_view role;
        if (message["role"].get_string().get(role) != simdjson::SUCCESS) {
            return missing(param + ".role");
        }
        element content;
        const bool has_content = message["content"].get(content) == simdjson::SUCCESS;
        Status status;
        if (role == "system" || role == "developer") {
            if (!has_content) {
                return missing(param + ".content");
            }
            status = translate_system(content, param + ".content");
        } else if (role == "user") {
            if (!has_content) {
                return missing(param + ".content");
            }
            status = translate_user(content, param + ".content");
        } else if (role == "assistant") {
            status = translate_assistant(message, i);
        } else if (role == "tool") {
            status = translate_tool(message, i);
        } else if (role == "function") {
            return unsupported(param + ".role", "the deprecated 'function' role; use 'tool'");
        } else {
            return invalid(param + ".role",
                           fmt::format("Invalid value for '{}.role': '{}'. Supported values are: "
                                       "'system', 'developer', 'user', 'assistant' and 'tool'.",
                                       param, role));
        }
        if (!status) {
            return status;
        }
        ++i;
    }
    if (turns_.empty()) {
        return invalid("messages",
                       "Provider gemini needs at least one user or assistant message besides the "
                       "system prompt.");
    }
    return {};
}

// System and developer messages, wherever they are, go to `systemInstruction` in order:
// Gemini has one system instruction per request.
Status Translator::translate_system(element content, const std::string& param) {
    std::string_view text;
    if (content.get_string().get(text) == simdjson::SUCCESS) {
        append_text_part(system_parts_, text);
        return {};
    }
    array parts;
    if (content.get_array().get(parts) != simdjson::SUCCESS) {
        return wrong_type(param, "a string or an array of text parts");
    }
    std::size_t j = 0;
    for (const element part : parts) {
        const std::string part_param = param_at(param, j);
        if (string_member(part, "type") != "text") {
            return unsupported(part_param + ".type", "system messages take text parts only");
        }
        if (part["text"].get_string().get(text) != simdjson::SUCCESS) {
            return wrong_type(part_param + ".text", "a string");
        }
        append_text_part(system_parts_, text);
        ++j;
    }
    return {};
}

Status Translator::translate_user(element content, const std::string& param) {
    Turn turn{"user", {}, false};
    std::string_view text;
    if (content.get_string().get(text) == simdjson::SUCCESS) {
        append_text_part(turn.parts, text);
    } else {
        array parts;
        if (content.get_array().get(parts) != simdjson::SUCCESS) {
            return wrong_type(param, "a string or an array of content parts");
        }
        std::size_t j = 0;
        for (const element part : parts) {
            if (auto status = append_user_part(part, param_at(param, j), turn.parts); !status) {
                return status;
            }
            ++j;
        }
        if (turn.parts.empty()) {
            return invalid(param, fmt::format("'{}' must not be an empty array.", param));
        }
    }
    turns_.push_back(std::move(turn));
    return {};
}

Status Translator::append_user_part(element part, const std::string& param, std::string& parts) {
    std::string_view type;
    if (part["type"].get_string().get(type) != simdjson::SUCCESS) {
        return missing(param + ".type");
    }
    if (type == "text") {
        std::string_view text;
        if (part["text"].get_string().get(text) != simdjson::SUCCESS) {
            return wrong_type(param + ".text", "a string");
        }
        append_text_part(parts, text);
        return {};
    }
    if (type == "image_url") {
        return append_image(part, param, parts);
    }
    if (type == "input_audio") {
        // {"data": <base64>, "format": "wav"|"mp3"} -> inlineData audio/<format>.
        std::string_view data;
        std::string_view format;
        if (part["input_audio"]["data"].get_string().get(data) != simdjson::SUCCESS) {
            return missing(param + ".input_audio.data");
        }
        if (part["input_audio"]["format"].get_string().get(format) != simdjson::SUCCESS) {
            return missing(param + ".input_audio.format");
        }
        if (format != "mp3" && format != "wav") {
            return invalid(param + ".input_audio.format",
                           fmt::format("Invalid value for '{}.input_audio.format': '{}'. "
                                       "Supported values are: 'wav' and 'mp3'.",
                                       param, format));
        }
        append_inline_data(parts, format == "mp3" ? "audio/mp3" : "audio/wav", data);
        return {};
    }
    if (type == "file") {
        element file;
        if (part["file"].get(file) != simdjson::SUCCESS || !file.is_object()) {
            return missing(param + ".file");
        }
        std::string_view file_data;
        if (file["file_data"].get_string().get(file_data) != simdjson::SUCCESS) {
            return unsupported(param + ".file",
                               "only inline files ('file_data' as a base64 data: URL); "
                               "uploaded file ids are not supported");
        }
        const std::optional<DataUrl> data_url = parse_data_url(file_data);
        if (!data_url) {
            return invalid(param + ".file.file_data",
                           "Invalid file data: expected a base64 data: URL "
                           "('data:<media type>;base64,<data>').");
        }
        append_inline_data(parts, data_url->mime_type, data_url->data);
        return {};
    }
    return unsupported(param + ".type", fmt::format("content part type '{}'", type));
}

Status Translator::append_image(element part, const std::string& param, std::string& parts) {
    SB_TRY(url, common::image_url(part, param));
    const std::string url_param = param + ".image_url.url";
    if (url.starts_with("https://") || url.starts_with("http://")) {
        // The Developer API rejects external URLs in fileData.fileUri with a 400 (fixture
        // req.image_file_uri_cases.json) and the gateway does not fetch on a client's behalf.
        return unsupported(url_param,
                           "image URLs are not fetched by the gateway and Gemini does not "
                           "accept them; send the image inline as a base64 data: URL");
    }
    const std::optional<DataUrl> data_url = parse_data_url(url);
    if (!data_url) {
        return invalid(url_param,
                       "Invalid image URL: expected a base64 data: URL "
                       "('data:<media type>;base64,<data>').");
    }
    // `detail` has no Gemini equivalent per part; it only tunes cost, so it is dropped.
    append_inline_data(parts, data_url->mime_type, data_url->data);
    return {};
}

Status Translator::translate_assistant(element message, std::size_t index) {
    const std::string param = param_at("messages", index);
    Turn turn{"model", {}, false};
    element content;
    if (message["content"].get(content) == simdjson::SUCCESS && !is_null(content)) {
        std::string_view text;
        array parts;
        if (content.get_string().get(text) == simdjson::SUCCESS) {
            if (!text.empty()) {
                append_text_part(turn.parts, text);
            }
        } else if (content.get_array().get(parts) == simdjson::SUCCESS) {
            std::size_t j = 0;
            for (const element part : parts) {
                const std::string part_param = param_at(param + ".content", j);
                const std::string_view type = string_member(part, "type");
                const std::string_view field = type == "refusal" ? "refusal" : "text";
                if (type != "text" && type != "refusal") {
                    return unsupported(part_param + ".type",
                                       "assistant messages take text and refusal parts only");
                }
                if (part[field].get_string().get(text) != simdjson::SUCCESS) {
                    return wrong_type(part_param + "." + std::string(field), "a string");
                }
                if (!text.empty()) {
                    append_text_part(turn.parts, text);
                }
                ++j;
            }
        } else {
            return wrong_type(param + ".content", "a string or an array of content parts");
        }
    }
    // `reasoning_content` (ours, echoed back) is not sent: Gemini does not take thought text
    // back; its reasoning state travels in thought signatures. `thinking_blocks` (Anthropic's
    // signed thinking, from a conversation begun on Anthropic) are ignored too, unread: Gemini
    // cannot verify Anthropic signatures, and a client that switches providers keeps its history.

    element tool_calls;
    if (message["tool_calls"].get(tool_calls) == simdjson::SUCCESS && !is_null(tool_calls)) {
        array calls;
        if (tool_calls.get_array().get(calls) != simdjson::SUCCESS) {
            return wrong_type(param + ".tool_calls", "an array");
        }
        std::size_t j = 0;
        for (const element call : calls) {
            const std::string call_param = param_at(param + ".tool_calls", j);
            const std::string_view type = string_member(call, "type");
            if (!type.empty() && type != "function") {
                return unsupported(call_param + ".type", fmt::format("tool call type '{}'", type));
            }
            std::string_view id;
            std::string_view name;
            if (call["id"].get_string().get(id) != simdjson::SUCCESS) {
                return missing(call_param + ".id");
            }
            if (call["function"]["name"].get_string().get(name) != simdjson::SUCCESS) {
                return missing(call_param + ".function.name");
            }
            std::string_view arguments;
            element arguments_element;
            if (call["function"]["arguments"].get(arguments_element) == simdjson::SUCCESS &&
                !is_null(arguments_element) &&
                arguments_element.get_string().get(arguments) != simdjson::SUCCESS) {
                return wrong_type(call_param + ".function.arguments", "a string");
            }
            // OpenAI arguments are a JSON string; Gemini's args a JSON object (fixtures README
            // section 2, "Arguments").
            std::string args = "{}";
            if (arguments.find_first_not_of(" \t\r\n") != std::string_view::npos) {
                element parsed;
                if (aux_parser_.parse(std::string(arguments)).get(parsed) != simdjson::SUCCESS ||
                    !parsed.is_object()) {
                    return invalid(call_param + ".function.arguments",
                                   fmt::format("Invalid '{}.function.arguments': expected a "
                                               "JSON object, as provider gemini needs.",
                                               call_param));
                }
                args = simdjson::to_string(parsed);
            }
            // Thought signatures round-trip in `extra_content.google.thought_signature`, where
            // we (and Google's OpenAI-compatible endpoint) put them. Gemini 3 rejects a turn
            // whose first function call has none (Gemini API docs, "Thought signatures").
            std::string_view signature;
            if (call["extra_content"]["google"]["thought_signature"].get_string().get(signature) !=
                simdjson::SUCCESS) {
                signature = {};
            }
            if (signature.empty() && j == 0 && generation_ >= 3) {
                signature = kSkipThoughtSignature;
            }
            begin_item(turn.parts);
            turn.parts += "{\"functionCall\":{\"name\":";
            append_string(turn.parts, name);
            turn.parts += ",\"args\":";
            turn.parts += args;
            turn.parts += '}';
            if (!signature.empty()) {
                turn.parts += ",\"thoughtSignature\":";
                append_string(turn.parts, signature);
            }
            turn.parts += '}';
            call_names_[id] = name;
            ++j;
        }
    }
    // An assistant message with neither text nor tool calls has nothing to send (Gemini
    // rejects a Content without parts).
    if (!turn.parts.empty()) {
        turns_.push_back(std::move(turn));
    }
    return {};
}

// The text of a tool message (a string, or text parts joined).
Result<std::string> Translator::tool_result_text(element content, const std::string& param) {
    std::string_view text;
    if (content.get_string().get(text) == simdjson::SUCCESS) {
        return std::string(text);
    }
    array parts;
    if (content.get_array().get(parts) != simdjson::SUCCESS) {
        return wrong_type(param, "a string or an array of text parts");
    }
    std::string joined;
    std::size_t j = 0;
    for (const element part : parts) {
        const std::string part_param = param_at(param, j);
        if (string_member(part, "type") != "text") {
            return unsupported(part_param + ".type", "tool messages take text parts only");
        }
        if (part["text"].get_string().get(text) != simdjson::SUCCESS) {
            return wrong_type(part_param + ".text", "a string");
        }
        joined += text;
        ++j;
    }
    return joined;
}

Status Translator::translate_tool(element message, std::size_t index) {
    const std::string param = param_at("messages", index);
    std::string_view id;
    if (message["tool_call_id"].get_string().get(id) != simdjson::SUCCESS) {
        return missing(param + ".tool_call_id");
    }
    // Gemini matches a functionResponse to its functionCall by name (function calls carry no
    // id: fixtures README section 2, "Tool-call ids").
    const auto found = call_names_.find(id);
    if (found == call_names_.end()) {
        return invalid(param + ".tool_call_id",
                       fmt::format("Invalid '{}.tool_call_id': no earlier assistant message has "
                                   "a tool call with id '{}'. Provider gemini matches tool "
                                   "results to calls by function name, so the call must be in "
                                   "the request.",
                                   param, id));
    }
    element content;
    if (message["content"].get(content) != simdjson::SUCCESS) {
        return missing(param + ".content");
    }
    auto text = tool_result_text(content, param + ".content");
    if (!text) {
        return fail(std::move(text).error());
    }
    // A JSON object result is Gemini's `response` as it is; anything else is wrapped as
    // {"output": <text>} (fixture req.function_response_turn.json uses "output").
    std::string response;
    element parsed;
    if (text->find_first_not_of(" \t\r\n") != std::string::npos &&
        aux_parser_.parse(*text).get(parsed) == simdjson::SUCCESS && parsed.is_object()) {
        response = simdjson::to_string(parsed);
    } else {
        response = "{\"output\":";
        append_string(response, *text);
        response += '}';
    }
    // All results for one model turn go in one user turn, in order.
    if (turns_.empty() || !turns_.back().tool_results) {
        turns_.push_back(Turn{"user", {}, true});
    }
    std::string& parts = turns_.back().parts;
    begin_item(parts);
    parts += "{\"functionResponse\":{\"name\":";
    append_string(parts, found->second);
    parts += ",\"response\":";
    parts += response;
    parts += "}}";
    return {};
}

// ---------------------------------------------------------------------------------------------
// Tools

Status Translator::translate_tools(element tools) {
    array list;
    if (tools.get_array().get(list) != simdjson::SUCCESS) {
        return wrong_type("tools", "an array");
    }
    std::size_t k = 0;
    for (const element tool : list) {
        const std::string param = param_at("tools", k);
        if (tool["type"].get_string().error() != simdjson::SUCCESS) {
            return missing(param + ".type");
        }
        SB_TRY(function, common::read_function_tool(tool, param, "gemini"));
        begin_item(tools_);
        tools_ += "{\"name\":";
        append_string(tools_, function.name);
        if (function.description) {
            tools_ += ",\"description\":";
            append_element(tools_, *function.description);
        }
        if (function.parameters) {
            // JSON Schema as it is (fixture req.tools_tool_config_auto.json); `strict` has no
            // Gemini field and is dropped.
            tools_ += ",\"parametersJsonSchema\":";
            append_element(tools_, *function.parameters);
        }
        tools_ += '}';
        ++k;
    }
    return {};
}

Status Translator::translate_tool_choice(element choice) {
    std::string_view mode;
    std::string names;  // allowedFunctionNames entries
    if (choice.get_string().get(mode) == simdjson::SUCCESS) {
        if (mode == "none") {
            mode = "NONE";
        } else if (mode == "auto") {
            mode = "AUTO";
        } else if (mode == "required") {
            mode = "ANY";
        } else {
            return common::invalid_tool_choice_mode(mode);
        }
    } else if (choice.is_object()) {
        const std::string_view type = string_member(choice, "type");
        if (type == "function") {
            std::string_view name;
            if (choice["function"]["name"].get_string().get(name) != simdjson::SUCCESS) {
                return missing("tool_choice.function.name");
            }
            mode = "ANY";
            append_string(names, name);
        } else if (type == "allowed_tools") {
            element allowed;
            if (choice["allowed_tools"].get(allowed) != simdjson::SUCCESS) {
                return missing("tool_choice.allowed_tools");
            }
            const std::string_view allowed_mode = string_member(allowed, "mode");
            if (allowed_mode == "required") {
                mode = "ANY";
            } else if (allowed_mode == "auto") {
                // VALIDATED: a function call or text, calls limited to allowedFunctionNames.
                mode = "VALIDATED";
            } else {
                return invalid("tool_choice.allowed_tools.mode",
                               "Invalid value for 'tool_choice.allowed_tools.mode': expected "
                               "'auto' or 'required'.");
            }
            array tools;
            if (allowed["tools"].get_array().get(tools) != simdjson::SUCCESS) {
                return missing("tool_choice.allowed_tools.tools");
            }
            std::size_t k = 0;
            for (const element tool : tools) {
                std::string_view name;
                if (tool["function"]["name"].get_string().get(name) != simdjson::SUCCESS) {
                    return missing(param_at("tool_choice.allowed_tools.tools", k) +
                                   ".function.name");
                }
                begin_item(names);
                append_string(names, name);
                ++k;
            }
        } else {
            return unsupported("tool_choice", fmt::format("tool choice type '{}'", type));
        }
    } else {
        return wrong_type("tool_choice", "a string or an object");
    }
    if (tools_.empty()) {
        if (mode == "NONE") {
            return {};
        }
        return common::tool_choice_without_tools();
    }
    tool_config_ = "{\"mode\":\"";
    tool_config_ += mode;
    tool_config_ += '"';
    if (!names.empty()) {
        tool_config_ += ",\"allowedFunctionNames\":[";
        tool_config_ += names;
        tool_config_ += ']';
    }
    tool_config_ += '}';
    return {};
}

// ---------------------------------------------------------------------------------------------
// Output

std::string Translator::render() const {
    std::string out;
    std::size_t size = 256 + system_parts_.size() + tools_.size() + stop_sequences_.size() +
                       response_schema_.size();
    for (const Turn& turn : turns_) {
        size += turn.parts.size() + 32;
    }
    out.reserve(size);

    out += "{\"contents\":[";
    bool first = true;
    for (const Turn& turn : turns_) {
        if (!first) {
            out += ',';
        }
        first = false;
        out += "{\"role\":\"";
        out += turn.role;
        out += "\",\"parts\":[";
        out += turn.parts;
        out += "]}";
    }
    out += ']';
    if (!system_parts_.empty()) {
        out += ",\"systemInstruction\":{\"parts\":[";
        out += system_parts_;
        out += "]}";
    }
    if (!tools_.empty()) {
        out += ",\"tools\":[{\"functionDeclarations\":[";
        out += tools_;
        out += "]}]";
    }
    if (!tool_config_.empty()) {
        out += ",\"toolConfig\":{\"functionCallingConfig\":";
        out += tool_config_;
        out += '}';
    }

    std::string config;
    const auto member = [&config](std::string_view name) {
        begin_item(config);
        config += '"';
        config += name;
        config += "\":";
    };
    if (!stop_sequences_.empty()) {
        member("stopSequences");
        config += '[';
        config += stop_sequences_;
        config += ']';
    }
    if (n_) {
        member("candidateCount");
        append_element(config, *n_);
    }
    // max_completion_tokens supersedes max_tokens in OpenAI's API.
    if (const auto& max = max_completion_tokens_ ? max_completion_tokens_ : max_tokens_; max) {
        member("maxOutputTokens");
        append_element(config, *max);
    }
    const std::pair<std::string_view, const std::optional<element>*> numbers[] = {
        {"temperature", &temperature_},
        {"topP", &top_p_},
        {"topK", &top_k_},
        {"seed", &seed_},
        {"presencePenalty", &presence_penalty_},
        {"frequencyPenalty", &frequency_penalty_},
    };
    for (const auto& [name, value] : numbers) {
        if (*value) {
            member(name);
            append_element(config, **value);
        }
    }
    if (!response_mime_type_.empty()) {
        member("responseMimeType");
        append_string(config, response_mime_type_);
    }
    if (!response_schema_.empty()) {
        member("responseJsonSchema");
        config += response_schema_;
    }
    if (!thinking_config_.empty()) {
        member("thinkingConfig");
        config += thinking_config_;
    }
    if (!config.empty()) {
        out += ",\"generationConfig\":{";
        out += config;
        out += '}';
    }
    out += '}';
    return out;
}

}  // namespace

Result<std::string> translate_request(std::string_view openai_body, const ChatContext& ctx) {
    Translator translator(ctx);
    return translator.run(openai_body);
}

}  // namespace sb::providers::gemini::detail
