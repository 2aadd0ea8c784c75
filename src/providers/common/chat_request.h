#pragma once

// Reading OpenAI chat completions requests, shared by the translating adapters' request
// translators: parameter errors, JSON type tests, content parts, image data URLs and assistant
// tool calls. Pure functions, no state; any thread.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/result.h"

namespace sb::providers::common {

// An invalid_request_error about `param`.
tl::unexpected<Error> invalid(std::string param, std::string message);
// A parameter (or a value of it) `provider` cannot express: "The parameter '<param>' is not
// supported by provider <provider>[: <why>]."
tl::unexpected<Error> unsupported(std::string_view provider, std::string param,
                                  std::string_view why = {});
// "Invalid type for '<param>': expected <expected>."
tl::unexpected<Error> wrong_type(std::string param, std::string_view expected);
// "Missing required parameter: '<param>'."
tl::unexpected<Error> missing(std::string param);

bool is_null(simdjson::dom::element e);
bool is_number(simdjson::dom::element e);
// True for a number equal to zero.
bool is_zero(simdjson::dom::element e);
// True for null and for a number equal to zero (OpenAI's default for the penalties).
bool is_null_or_zero(simdjson::dom::element e);

// `base[i]`.
std::string param_at(std::string_view base, std::size_t i);

// Parses a client's chat completions body with `parser` into its root object: InvalidJson "We
// could not parse the JSON body of your request." for bad JSON, InvalidRequest "Invalid type for
// request body: expected a JSON object." for another value. The object lives in `parser`.
Result<simdjson::dom::object> parse_request_object(simdjson::dom::parser& parser,
                                                   std::string_view body);

// The members of a chat completions body that the anthropic and bedrock translators read
// before translating anything: `messages`, `tools` and `tool_choice` (kept when not null),
// `parallel_tool_calls` (a boolean or null), and `max_tokens` and `max_completion_tokens`
// (read_max_tokens, or null). `model`, `stream` and `stream_options` are read and skipped: the
// route names the upstream model and the ChatContext says how to answer.
struct ChatFields {
    std::optional<simdjson::dom::element> messages;
    std::optional<simdjson::dom::element> tools;
    std::optional<simdjson::dom::element> tool_choice;
    bool parallel_tool_calls_disabled = false;
    std::optional<std::int64_t> max_tokens;
    std::optional<std::int64_t> max_completion_tokens;

    // The client's output token limit: max_completion_tokens when given (OpenAI's newer name
    // wins), else max_tokens; nullopt when neither is.
    std::optional<std::int64_t> max_output_tokens() const {
        return max_completion_tokens ? max_completion_tokens : max_tokens;
    }

    // True when `key` is one of the members above (and its value is fine), false otherwise.
    Result<bool> read(std::string_view key, simdjson::dom::element value);
    // `messages` as an array: "Missing required parameter" when absent, else a wrong type.
    Result<simdjson::dom::array> messages_array() const;
    // `tools` as an array (nullopt when absent or null), else a wrong type.
    Result<std::optional<simdjson::dom::array>> tools_array() const;
};

// The passes that the anthropic and bedrock translators make over a chat completions body, in
// order: parse it (parse_request_object); give each top-level member to ChatFields, then to
// check_default_only, then to read_field; then translate_messages with the messages array,
// translate_tools with the tools array when given and translate_tool_choice with tool_choice
// when given. The first failure ends them. The parsed body lives as long as the reader; one
// reader per request, on one thread.
class ChatRequestReader {
  public:
    ChatRequestReader(const ChatRequestReader&) = delete;
    ChatRequestReader& operator=(const ChatRequestReader&) = delete;

  protected:
    // `provider` names the target in refusals; it must outlive the reader.
    explicit ChatRequestReader(std::string_view provider) : provider_(provider) {}
    ~ChatRequestReader() = default;

    // Runs the passes over `body`.
    Status read(std::string_view body);

    // A top-level member that neither ChatFields nor check_default_only takes.
    virtual Status read_field(std::string_view key, simdjson::dom::element value) = 0;
    virtual Status translate_messages(simdjson::dom::array messages) = 0;
    virtual Status translate_tools(simdjson::dom::array tools) = 0;
    virtual Status translate_tool_choice(simdjson::dom::element choice) = 0;

    const ChatFields& fields() const { return fields_; }

  private:
    std::string_view provider_;
    simdjson::dom::parser parser_;
    ChatFields fields_;
};

// The OpenAI parameters that `provider` (anthropic, bedrock) takes only at their default value,
// checked: n (1), logprobs (false), modalities (["text"]), store (false), service_tier ("auto" or
// "default"), and top_logprobs, seed, audio, prediction, web_search_options, verbosity,
// functions and function_call (null). metadata and prompt_cache_key (OpenAI-side bookkeeping
// with no effect on the answer) are accepted and dropped. True when `key` is one of these and
// its value is fine; false when `key` is none of them; an error for any other value.
Result<bool> check_default_only(std::string_view key, simdjson::dom::element value,
                                std::string_view provider);

// OpenAI `response_format` for a provider with structured output but no JSON mode (anthropic,
// bedrock; `upstream` names its API in the refusal): true for type `json_schema`, whose schema
// the caller reads; false for null and `text`. `json_object` is refused ("'json_object' has no
// <upstream> equivalent; use 'json_schema' with a schema") and any other type is invalid.
Result<bool> is_json_schema_format(simdjson::dom::element format, std::string_view provider,
                                   std::string_view upstream);

// `max_tokens` or `max_completion_tokens` (`name`): an integer of at least 1.
Result<std::int64_t> read_max_tokens(simdjson::dom::element value, std::string_view name);

// OpenAI `stop`: null (no sequences), a string, or an array of strings. Appends each sequence to
// `list`, a comma-separated list of JSON strings; with `skip_empty`, empty sequences are left out.
Status append_stop_sequences(simdjson::dom::element stop, std::string& list, bool skip_empty);

// Text of a `{"type":"text","text":...}` part (or of a `{"type":"refusal","refusal":...}`
// part).
Result<std::string_view> part_text(simdjson::dom::element part, const std::string& param);

// Walks the content parts of a message: `on_text` gets the text of each text part (and of each
// refusal part when `allow_refusal`), `on_image` each image_url part (when `images`); any other
// part type is a parameter `provider` does not support here.
Status visit_parts(
    simdjson::dom::array parts, const std::string& param, bool images, bool allow_refusal,
    std::string_view provider, const std::function<void(std::string_view)>& on_text,
    const std::function<Status(simdjson::dom::element, const std::string&)>& on_image);

// A message's `content` at `param`: a string goes whole to `on_text`; an array of parts goes
// through visit_parts; anything else is a wrong type, `expected` saying what was wanted.
Status visit_content(
    simdjson::dom::element content, const std::string& param, bool images, bool allow_refusal,
    std::string_view provider, std::string_view expected,
    const std::function<void(std::string_view)>& on_text,
    const std::function<Status(simdjson::dom::element, const std::string&)>& on_image);

// A system or developer message's `content` at `param`: a string, or an array of text parts (any
// other part type is a parameter `provider` does not support there). `on_text` gets each text,
// empty ones included, in order.
Status visit_system_content(simdjson::dom::element content, const std::string& param,
                            std::string_view provider,
                            const std::function<void(std::string_view)>& on_text);

// The URL of an `image_url` part: `image_url` as a string or `image_url.url`.
Result<std::string_view> image_url(simdjson::dom::element part, const std::string& param);

// `data:<media type>;base64,<data>`: the media type (with any parameters before `;base64`) and
// the base64 data; nullopt for anything else.
struct DataUrl {
    std::string_view media_type;
    std::string_view data;
};
std::optional<DataUrl> split_data_url(std::string_view url);

// One entry of an assistant message's `tool_calls`, checked in this order: `id` present, `type`
// absent or "function", `function.name` present, `function.arguments` absent, null or a string.
struct ToolCall {
    std::string_view id;
    std::string_view name;
    std::string_view arguments;  // empty when absent or null
};
Result<ToolCall> read_tool_call(simdjson::dom::element call, const std::string& call_param,
                                std::string_view provider);

// The `tool_calls` of the assistant message `message` at `param` (none when absent or null):
// each entry is read with read_tool_call and its arguments with append_arguments_object (into a
// JSON object, parsed with `arguments_parser`), then given to `on_call` in order.
Status visit_tool_calls(
    simdjson::dom::element message, const std::string& param,
    simdjson::dom::parser& arguments_parser, std::string_view provider,
    const std::function<void(const ToolCall& call, std::string_view arguments_object)>& on_call);

// One entry of `tools`, checked in this order: `type` a string and "function", `function` an
// object, `function.name` a string, `function.description` absent, null or a string,
// `function.parameters` absent, null or an object.
struct FunctionTool {
    std::string_view name;
    std::optional<simdjson::dom::element> description;  // a string; nullopt when absent or null
    std::optional<simdjson::dom::element> parameters;   // an object; nullopt when absent or null
    bool strict = false;                                // `function.strict` is true
};
Result<FunctionTool> read_function_tool(simdjson::dom::element tool, const std::string& param,
                                        std::string_view provider);

// OpenAI `tool_choice` as a string ("none", "auto", "required") or
// `{"type":"function","function":{"name"}}`; any other value is an error.
enum class ToolChoiceMode : std::uint8_t { None, Auto, Required, Function };
struct ToolChoice {
    ToolChoiceMode mode = ToolChoiceMode::Auto;
    std::string_view name;  // for Function
};
Result<ToolChoice> read_tool_choice(simdjson::dom::element choice, std::string_view provider);
// The error for a `tool_choice` sent without `tools`.
tl::unexpected<Error> tool_choice_without_tools();
// The error for a `tool_choice` string other than none, auto and required.
tl::unexpected<Error> invalid_tool_choice_mode(std::string_view mode);

// Appends tool-call `arguments` (OpenAI's JSON text) as a JSON object: "{}" for blank
// arguments (seen from SDK tests: a call without arguments); invalid JSON or a non-object is an
// invalid request naming `provider`.
Status append_arguments_object(std::string& out, std::string_view arguments,
                               const std::string& arguments_param, simdjson::dom::parser& parser,
                               std::string_view provider);

}  // namespace sb::providers::common
