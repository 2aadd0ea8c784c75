#include "providers/common/chat_request.h"

#include <fmt/format.h>

#include "providers/common/json.h"

namespace sb::providers::common {

using simdjson::dom::element;
using simdjson::dom::element_type;

tl::unexpected<Error> invalid(std::string param, std::string message) {
    return fail(ErrorCode::InvalidRequest, std::move(message), std::move(param));
}

tl::unexpected<Error> unsupported(std::string_view provider, std::string param,
                                  std::string_view why) {
    std::string message =
        why.empty()
            ? fmt::format("The parameter '{}' is not supported by provider {}.", param, provider)
            : fmt::format("The parameter '{}' is not supported by provider {}: {}.", param,
                          provider, why);
    return invalid(std::move(param), std::move(message));
}

tl::unexpected<Error> wrong_type(std::string param, std::string_view expected) {
    std::string message = fmt::format("Invalid type for '{}': expected {}.", param, expected);
    return invalid(std::move(param), std::move(message));
}

tl::unexpected<Error> missing(std::string param) {
    std::string message = fmt::format("Missing required parameter: '{}'.", param);
    return invalid(std::move(param), std::move(message));
}

bool is_null(element e) {
    return e.type() == element_type::NULL_VALUE;
}

bool is_number(element e) {
    const element_type t = e.type();
    return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

bool is_zero(element e) {
    double value = 0;
    return e.get_double().get(value) == simdjson::SUCCESS && value == 0;
}

bool is_null_or_zero(element e) {
    return is_null(e) || is_zero(e);
}

std::string param_at(std::string_view base, std::size_t i) {
    return fmt::format("{}[{}]", base, i);
}

Result<simdjson::dom::object> parse_request_object(simdjson::dom::parser& parser,
                                                   std::string_view body) {
    const simdjson::padded_string padded(body);
    element root;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS) {
        return fail(ErrorCode::InvalidJson, "We could not parse the JSON body of your request.");
    }
    simdjson::dom::object object;
    if (root.get_object().get(object) != simdjson::SUCCESS) {
        return fail(ErrorCode::InvalidRequest,
                    "Invalid type for request body: expected a JSON object.");
    }
    return object;
}

Result<bool> ChatFields::read(std::string_view key, element value) {
    if (key == "model" || key == "stream" || key == "stream_options") {
        return true;
    }
    if (key == "messages") {
        messages = value;
    } else if (key == "tools") {
        if (!is_null(value)) {
            tools = value;
        }
    } else if (key == "tool_choice") {
        if (!is_null(value)) {
            tool_choice = value;
        }
    } else if (key == "parallel_tool_calls") {
        bool parallel = true;
        if (!is_null(value) && value.get_bool().get(parallel) != simdjson::SUCCESS) {
            return wrong_type("parallel_tool_calls", "a boolean");
        }
        parallel_tool_calls_disabled = !parallel;
    } else if (key == "max_tokens" || key == "max_completion_tokens") {
        if (is_null(value)) {
            return true;
        }
        SB_TRY(n, read_max_tokens(value, key));
        (key == "max_tokens" ? max_tokens : max_completion_tokens) = n;
    } else {
        return false;
    }
    return true;
}

Result<simdjson::dom::array> ChatFields::messages_array() const {
    if (!messages) {
        return missing("messages");
    }
    simdjson::dom::array list;
    if (messages->get_array().get(list) != simdjson::SUCCESS) {
        return wrong_type("messages", "an array");
    }
    return list;
}

Result<std::optional<simdjson::dom::array>> ChatFields::tools_array() const {
    if (!tools) {
        return std::nullopt;
    }
    simdjson::dom::array list;
    if (tools->get_array().get(list) != simdjson::SUCCESS) {
        return wrong_type("tools", "an array");
    }
    return list;
}

Status ChatRequestReader::read(std::string_view body) {
    SB_TRY(root, parse_request_object(parser_, body));
    for (const auto field : root) {
        const std::string_view key = field.key;
        const element value = field.value;
        SB_TRY(chat_field, fields_.read(key, value));
        if (chat_field) {
            continue;
        }
        SB_TRY(default_only, check_default_only(key, value, provider_));
        if (default_only) {
            continue;
        }
        if (auto status = read_field(key, value); !status) {
            return status;
        }
    }
    SB_TRY(messages, fields_.messages_array());
    if (auto status = translate_messages(messages); !status) {
        return status;
    }
    SB_TRY(tools, fields_.tools_array());
    if (tools) {
        if (auto status = translate_tools(*tools); !status) {
            return status;
        }
    }
    if (fields_.tool_choice) {
        if (auto status = translate_tool_choice(*fields_.tool_choice); !status) {
            return status;
        }
    }
    return {};
}

Result<bool> check_default_only(std::string_view key, element value, std::string_view provider) {
    if (key == "n") {
        std::int64_t n = 1;
        if (!is_null(value) && (value.get_int64().get(n) != simdjson::SUCCESS || n != 1)) {
            return unsupported(provider, "n", "only one choice per request");
        }
    } else if (key == "logprobs") {
        bool wanted = false;
        if (!is_null(value) && (value.get_bool().get(wanted) != simdjson::SUCCESS || wanted)) {
            return unsupported(provider, "logprobs");
        }
    } else if (key == "top_logprobs" || key == "seed" || key == "audio" || key == "prediction" ||
               key == "web_search_options" || key == "verbosity" || key == "functions" ||
               key == "function_call") {
        if (!is_null(value)) {
            return unsupported(provider, std::string(key));
        }
    } else if (key == "modalities") {
        simdjson::dom::array modalities;
        if (is_null(value)) {
            return true;
        }
        if (value.get_array().get(modalities) != simdjson::SUCCESS) {
            return wrong_type("modalities", "an array");
        }
        for (element modality : modalities) {
            std::string_view name;
            if (modality.get_string().get(name) != simdjson::SUCCESS || name != "text") {
                return unsupported(provider, "modalities", "only text output");
            }
        }
    } else if (key == "store") {
        bool store = false;
        if (!is_null(value) && (value.get_bool().get(store) != simdjson::SUCCESS || store)) {
            return unsupported(provider, "store", "completions cannot be stored");
        }
    } else if (key == "service_tier") {
        std::string_view tier;
        if (!is_null(value) && (value.get_string().get(tier) != simdjson::SUCCESS ||
                                (tier != "auto" && tier != "default"))) {
            return unsupported(provider, "service_tier", "only 'auto' or 'default'");
        }
    } else if (key != "metadata" && key != "prompt_cache_key") {
        return false;
    }
    return true;
}

Result<bool> is_json_schema_format(element format, std::string_view provider,
                                   std::string_view upstream) {
    if (is_null(format)) {
        return false;
    }
    std::string_view type;
    if (format["type"].get_string().get(type) != simdjson::SUCCESS) {
        return wrong_type("response_format.type", "a string");
    }
    if (type == "text") {
        return false;
    }
    if (type == "json_object") {
        return unsupported(provider, "response_format",
                           fmt::format("'json_object' has no {} equivalent; use 'json_schema' "
                                       "with a schema",
                                       upstream));
    }
    if (type != "json_schema") {
        return invalid("response_format.type",
                       fmt::format("Invalid value for 'response_format.type': '{}'.", type));
    }
    return true;
}

Result<std::int64_t> read_max_tokens(element value, std::string_view name) {
    std::int64_t n = 0;
    if (value.get_int64().get(n) != simdjson::SUCCESS) {
        return wrong_type(std::string(name), "an integer");
    }
    if (n < 1) {
        return invalid(std::string(name),
                       fmt::format("Invalid '{}': integer below minimum value. Expected a value "
                                   ">= 1, but got {} instead.",
                                   name, n));
    }
    return n;
}

Status append_stop_sequences(element stop, std::string& list, bool skip_empty) {
    if (is_null(stop)) {
        return {};
    }
    const auto add = [&list, skip_empty](std::string_view sequence) {
        if (skip_empty && sequence.empty()) {
            return;
        }
        begin_item(list);
        append_string(list, sequence);
    };
    std::string_view text;
    if (stop.get_string().get(text) == simdjson::SUCCESS) {
        add(text);
        return {};
    }
    simdjson::dom::array items;
    if (stop.get_array().get(items) != simdjson::SUCCESS) {
        return wrong_type("stop", "a string or an array of strings");
    }
    std::size_t i = 0;
    for (element item : items) {
        if (item.get_string().get(text) != simdjson::SUCCESS) {
            return wrong_type(param_at("stop", i), "a string");
        }
        add(text);
        ++i;
    }
    return {};
}

Result<std::string_view> part_text(element part, const std::string& param) {
    std::string_view text;
    if (part["text"].get_string().get(text) == simdjson::SUCCESS) {
        return text;
    }
    if (string_member(part, "type") == "refusal" &&
        part["refusal"].get_string().get(text) == simdjson::SUCCESS) {
        return text;
    }
    return wrong_type(param + ".text", "a string");
}

Status visit_parts(simdjson::dom::array parts, const std::string& param, bool images,
                   bool allow_refusal, std::string_view provider,
                   const std::function<void(std::string_view)>& on_text,
                   const std::function<Status(element, const std::string&)>& on_image) {
    std::size_t j = 0;
    for (element part : parts) {
        const std::string part_param = param_at(param, j++);
        std::string_view type;
        if (part["type"].get_string().get(type) != simdjson::SUCCESS) {
            return wrong_type(part_param + ".type", "a string");
        }
        if (type == "text" || (allow_refusal && type == "refusal")) {
            SB_TRY(text, part_text(part, part_param));
            on_text(text);
        } else if (type == "image_url" && images) {
            if (auto status = on_image(part, part_param); !status) {
                return status;
            }
        } else {
            return unsupported(provider, part_param + ".type",
                               fmt::format("content part type '{}' in this message", type));
        }
    }
    return {};
}

Status visit_content(element content, const std::string& param, bool images, bool allow_refusal,
                     std::string_view provider, std::string_view expected,
                     const std::function<void(std::string_view)>& on_text,
                     const std::function<Status(element, const std::string&)>& on_image) {
    std::string_view text;
    if (content.get_string().get(text) == simdjson::SUCCESS) {
        on_text(text);
        return {};
    }
    simdjson::dom::array parts;
    if (content.get_array().get(parts) != simdjson::SUCCESS) {
        return wrong_type(param, expected);
    }
    return visit_parts(parts, param, images, allow_refusal, provider, on_text, on_image);
}

Status visit_system_content(element content, const std::string& param, std::string_view provider,
                            const std::function<void(std::string_view)>& on_text) {
    std::string_view text;
    if (content.get_string().get(text) == simdjson::SUCCESS) {
        on_text(text);
        return {};
    }
    simdjson::dom::array parts;
    if (content.get_array().get(parts) != simdjson::SUCCESS) {
        return wrong_type(param, "a string or an array of text parts");
    }
    std::size_t j = 0;
    for (element part : parts) {
        const std::string part_param = param_at(param, j++);
        if (string_member(part, "type") != "text") {
            return unsupported(provider, part_param + ".type",
                               "only text parts in system messages");
        }
        SB_TRY(part_value, part_text(part, part_param));
        on_text(part_value);
    }
    return {};
}

Result<std::string_view> image_url(element part, const std::string& param) {
    element image_url;
    std::string_view url;
    if (part["image_url"].get(image_url) != simdjson::SUCCESS) {
        return missing(param + ".image_url");
    }
    if (image_url.get_string().get(url) != simdjson::SUCCESS &&
        image_url["url"].get_string().get(url) != simdjson::SUCCESS) {
        return wrong_type(param + ".image_url.url", "a string");
    }
    return url;
}

std::optional<DataUrl> split_data_url(std::string_view url) {
    if (!url.starts_with("data:")) {
        return std::nullopt;
    }
    const std::size_t comma = url.find(',');
    if (comma == std::string_view::npos) {
        return std::nullopt;
    }
    const std::string_view meta = url.substr(5, comma - 5);
    constexpr std::string_view kBase64 = ";base64";
    if (!meta.ends_with(kBase64)) {
        return std::nullopt;
    }
    return DataUrl{meta.substr(0, meta.size() - kBase64.size()), url.substr(comma + 1)};
}

Result<ToolCall> read_tool_call(element call, const std::string& call_param,
                                std::string_view provider) {
    ToolCall result;
    if (call["id"].get_string().get(result.id) != simdjson::SUCCESS) {
        return missing(call_param + ".id");
    }
    const std::string_view type = string_member(call, "type");
    if (!type.empty() && type != "function") {
        return unsupported(provider, call_param + ".type",
                           fmt::format("tool call type '{}'", type));
    }
    if (call["function"]["name"].get_string().get(result.name) != simdjson::SUCCESS) {
        return missing(call_param + ".function.name");
    }
    element arguments;
    if (call["function"]["arguments"].get(arguments) == simdjson::SUCCESS && !is_null(arguments) &&
        arguments.get_string().get(result.arguments) != simdjson::SUCCESS) {
        return wrong_type(call_param + ".function.arguments", "a string");
    }
    return result;
}

Result<FunctionTool> read_function_tool(element tool, const std::string& param,
                                        std::string_view provider) {
    std::string_view type;
    if (tool["type"].get_string().get(type) != simdjson::SUCCESS) {
        return wrong_type(param + ".type", "a string");
    }
    if (type != "function") {
        return unsupported(provider, param + ".type", fmt::format("tool type '{}'", type));
    }
    element function;
    if (tool["function"].get(function) != simdjson::SUCCESS || !function.is_object()) {
        return missing(param + ".function");
    }
    FunctionTool result;
    if (function["name"].get_string().get(result.name) != simdjson::SUCCESS) {
        return missing(param + ".function.name");
    }
    element description;
    if (function["description"].get(description) == simdjson::SUCCESS && !is_null(description)) {
        if (!description.is_string()) {
            return wrong_type(param + ".function.description", "a string");
        }
        result.description = description;
    }
    element parameters;
    if (function["parameters"].get(parameters) == simdjson::SUCCESS && !is_null(parameters)) {
        if (!parameters.is_object()) {
            return wrong_type(param + ".function.parameters", "an object");
        }
        result.parameters = parameters;
    }
    bool strict = false;
    result.strict = function["strict"].get_bool().get(strict) == simdjson::SUCCESS && strict;
    return result;
}

tl::unexpected<Error> invalid_tool_choice_mode(std::string_view mode) {
    return invalid("tool_choice", fmt::format("Invalid value for 'tool_choice': '{}'. Supported "
                                              "values are: 'none', 'auto' and 'required'.",
                                              mode));
}

tl::unexpected<Error> tool_choice_without_tools() {
    return invalid("tool_choice",
                   "Invalid value for 'tool_choice': 'tool_choice' is only allowed when "
                   "'tools' are specified.");
}

Result<ToolChoice> read_tool_choice(element choice, std::string_view provider) {
    std::string_view mode;
    if (choice.get_string().get(mode) == simdjson::SUCCESS) {
        if (mode == "none") {
            return ToolChoice{ToolChoiceMode::None, {}};
        }
        if (mode == "auto") {
            return ToolChoice{ToolChoiceMode::Auto, {}};
        }
        if (mode == "required") {
            return ToolChoice{ToolChoiceMode::Required, {}};
        }
        return invalid_tool_choice_mode(mode);
    }
    if (!choice.is_object()) {
        return wrong_type("tool_choice", "a string or an object");
    }
    const std::string_view type = string_member(choice, "type");
    if (type != "function") {
        return unsupported(provider, "tool_choice.type",
                           fmt::format("tool_choice type '{}'", type));
    }
    std::string_view name;
    if (choice["function"]["name"].get_string().get(name) != simdjson::SUCCESS) {
        return missing("tool_choice.function.name");
    }
    return ToolChoice{ToolChoiceMode::Function, name};
}

Status append_arguments_object(std::string& out, std::string_view arguments,
                               const std::string& arguments_param, simdjson::dom::parser& parser,
                               std::string_view provider) {
    std::size_t first = 0;
    while (first < arguments.size() && (arguments[first] == ' ' || arguments[first] == '\n' ||
                                        arguments[first] == '\r' || arguments[first] == '\t')) {
        ++first;
    }
    if (first == arguments.size()) {
        out += "{}";  // "" (seen from SDK tests): a call without arguments
        return {};
    }
    element input;
    const simdjson::padded_string padded(arguments);
    if (parser.parse(padded).get(input) != simdjson::SUCCESS) {
        return invalid(
            arguments_param,
            fmt::format("Invalid '{}': the arguments are not valid JSON.", arguments_param));
    }
    if (!input.is_object()) {
        return invalid(arguments_param,
                       fmt::format("Invalid '{}': the arguments must be a JSON object for "
                                   "provider {}.",
                                   arguments_param, provider));
    }
    append_element(out, input);
    return {};
}

Status visit_tool_calls(
    element message, const std::string& param, simdjson::dom::parser& arguments_parser,
    std::string_view provider,
    const std::function<void(const ToolCall& call, std::string_view arguments_object)>& on_call) {
    element calls_value;
    simdjson::dom::array calls;
    if (message["tool_calls"].get(calls_value) != simdjson::SUCCESS || is_null(calls_value)) {
        return {};
    }
    if (calls_value.get_array().get(calls) != simdjson::SUCCESS) {
        return wrong_type(param + ".tool_calls", "an array");
    }
    std::size_t j = 0;
    std::string arguments;
    for (element call : calls) {
        const std::string call_param = param_at(param + ".tool_calls", j++);
        SB_TRY(tool_call, read_tool_call(call, call_param, provider));
        arguments.clear();
        if (auto status = append_arguments_object(arguments, tool_call.arguments,
                                                  call_param + ".function.arguments",
                                                  arguments_parser, provider);
            !status) {
            return status;
        }
        on_call(tool_call, arguments);
    }
    return {};
}

}  // namespace sb::providers::common
