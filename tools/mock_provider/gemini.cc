// Google Gemini (Developer API) for the mock provider: POST /v1beta/models/{model}:generateContent
// and :streamGenerateContent (SSE with ?alt=sse, else a JSON array), as generativelanguage.
// googleapis.com answers them (shared/fixtures/providers/gemini/, README.md of the mock).

#include <simdjson.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "mock_provider/internal.h"

namespace sb::mock::detail {
namespace {

constexpr std::string_view kGeminiJson = "application/json; charset=UTF-8";
constexpr std::string_view kGeminiEventStream = "text/event-stream";
constexpr std::string_view kToolFinishMessage = "Model generated function call(s).";
constexpr long kToolCallTokens = 5;  // candidatesTokenCount of the mock function call

constexpr std::string_view kKeyInvalid = "API key not valid. Please pass a valid API key.";
constexpr std::string_view kOverloaded = "The model is overloaded. Please try again later.";
constexpr std::string_view kInternal =
    "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting";
constexpr std::string_view kQuota =
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.";

// ---------------------------------------------------------------------------------------------
// Google's JSON

// Like append_escaped, plus '<', '>' and '&' as \u003c, \u003e and \u0026 (Google's servers
// escape them so).
void append_google_escaped(std::string& out, std::string_view s) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c != '<' && c != '>' && c != '&') {
            continue;
        }
        append_escaped(out, s.substr(start, i - start));
        out += c == '<' ? "\\u003c" : (c == '>' ? "\\u003e" : "\\u0026");
        start = i + 1;
    }
    append_escaped(out, s.substr(start));
}

void append_google_quoted(std::string& out, std::string_view s) {
    out += '"';
    append_google_escaped(out, s);
    out += '"';
}

void newline(std::string& out, int depth) {
    out += '\n';
    out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

// Re-indents JSON the way Google pretty-prints its non-stream bodies: two-space indents, one
// member or element a line, `"key": value`, empty containers as {} and []. Whitespace outside
// strings is dropped first, so the input may be compact or in the stream style
// (`{"key": value,"next": ...}`).
void append_pretty(std::string& out, std::string_view json) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < json.size(); ++i) {
        const char c = json[i];
        if (in_string) {
            out += c;
            if (c == '\\' && i + 1 < json.size()) {
                out += json[++i];
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        switch (c) {
            case '"':
                in_string = true;
                out += c;
                break;
            case '{':
            case '[': {
                std::size_t next = i + 1;
                while (next < json.size() && (json[next] == ' ' || json[next] == '\n')) {
                    ++next;
                }
                out += c;
                if (next < json.size() && json[next] == (c == '{' ? '}' : ']')) {
                    out += json[next];
                    i = next;
                } else {
                    newline(out, ++depth);
                }
                break;
            }
            case '}':
            case ']':
                newline(out, --depth);
                out += c;
                break;
            case ',':
                out += ',';
                newline(out, depth);
                break;
            case ':':
                out += ": ";
                break;
            case ' ':
            case '\n':
            case '\r':
            case '\t':
                break;
            default:
                out += c;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors: google.rpc.Status as JSON, pretty-printed, with a final newline.

void respond_google_error(Context& context, int code, std::string_view status,
                          std::string_view message, std::string_view details = {},
                          std::string_view content_type = kGeminiJson) {
    thread_local std::string compact;
    compact.clear();
    compact += "{\"error\": {\"code\": ";
    append_int(compact, code);
    compact += ",\"message\": ";
    append_google_quoted(compact, message);
    compact += ",\"status\": ";
    append_google_quoted(compact, status);
    if (!details.empty()) {
        compact += ",\"details\": [";
        compact += details;
        compact += ']';
    }
    compact += "}}";
    std::string& body = context.response.body;
    body.clear();
    append_pretty(body, compact);
    body += '\n';
    write_head(context, code, content_type, false);
}

// Adds a field violation to a google.rpc.BadRequest detail being built in `details` (the caller
// closes it with "]}"); `field` may be empty.
void append_bad_request(std::string& details, std::string_view field,
                        std::string_view description) {
    if (details.empty()) {
        details +=
            "{\"@type\": \"type.googleapis.com/google.rpc.BadRequest\",\"fieldViolations\": [";
    } else {
        details += ',';
    }
    details += '{';
    if (!field.empty()) {
        details += "\"field\": ";
        append_google_quoted(details, field);
        details += ',';
    }
    details += "\"description\": ";
    append_google_quoted(details, description);
    details += '}';
}

// The google.rpc.Code name and Gemini's message for an HTTP status (the troubleshooting page's
// table; errors.status_map.md).
struct GoogleError {
    std::string_view status;
    std::string_view message;
};

GoogleError google_error_for(int code) {
    switch (code) {
        case 400:
            return {"INVALID_ARGUMENT", "Request contains an invalid argument."};
        case 401:
            return {"UNAUTHENTICATED",
                    "Request had invalid authentication credentials. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential. See "
                    "https://developers.google.com/identity/sign-in/web/devconsole-project."};
        case 403:
            return {"PERMISSION_DENIED", "The caller does not have permission"};
        case 404:
            return {"NOT_FOUND", "Requested entity was not found."};
        case 409:
            return {"ABORTED", "The operation was aborted."};
        case 429:
            return {"RESOURCE_EXHAUSTED", kQuota};
        case 499:
            return {"CANCELLED", "The operation was cancelled."};
        case 500:
            return {"INTERNAL", kInternal};
        case 501:
            return {"UNIMPLEMENTED", "Method not implemented."};
        case 503:
            return {"UNAVAILABLE", kOverloaded};
        case 504:
            return {"DEADLINE_EXCEEDED", "Deadline expired before operation could complete."};
        default:
            return code >= 500 ? GoogleError{"INTERNAL", kInternal}
                               : GoogleError{"FAILED_PRECONDITION",
                                             "The mock provider was asked to reject this "
                                             "request."};
    }
}

// The `stream_error` control for Gemini: the google.rpc status of the in-stream error, empty
// for none.
std::string_view gemini_stream_error(std::string_view value) {
    if (value == "1" || iequals(value, "unavailable") || value == "overloaded") {
        return "UNAVAILABLE";
    }
    if (iequals(value, "internal")) {
        return "INTERNAL";
    }
    if (iequals(value, "resource_exhausted")) {
        return "RESOURCE_EXHAUSTED";
    }
    return {};
}

int status_code_of(std::string_view status) {
    if (status == "INTERNAL") {
        return 500;
    }
    if (status == "RESOURCE_EXHAUSTED") {
        return 429;
    }
    return 503;
}

// ---------------------------------------------------------------------------------------------
// Routing

enum class Action : std::uint8_t { Generate, StreamGenerate, BatchEmbed, Predict };

struct Route {
    std::string_view version;   // "v1beta"
    std::string_view resource;  // "models/gemini-2.0-flash" (still percent-encoded)
    std::string_view id;        // "gemini-2.0-flash" (still percent-encoded)
    bool stream = false;
    Action action = Action::Generate;
    // Vertex AI: /v1/projects/{project}/locations/{location}/publishers/google/models/{model}
    bool vertex = false;
};

// "/v1beta/models/{model}:generateContent" (or :streamGenerateContent, :batchEmbedContents),
// "/v1/projects/{p}/locations/{l}/publishers/google/models/{model}:generateContent" (or
// :streamGenerateContent, :predict) -> its parts; false for any other path.
bool parse_route(std::string_view path, Route& route) {
    if (!path.starts_with('/')) {
        return false;
    }
    path.remove_prefix(1);
    const std::size_t slash = path.find('/');
    if (slash == std::string_view::npos) {
        return false;
    }
    route.version = path.substr(0, slash);
    const std::string_view rest = path.substr(slash + 1);
    const std::size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
        return false;
    }
    route.resource = rest.substr(0, colon);
    route.vertex = route.resource.starts_with("projects/");
    const std::string_view action = rest.substr(colon + 1);
    if (action == "generateContent") {
        route.action = Action::Generate;
    } else if (action == "streamGenerateContent") {
        route.action = Action::StreamGenerate;
    } else if (action == "batchEmbedContents" && !route.vertex) {
        route.action = Action::BatchEmbed;
    } else if (action == "predict" && route.vertex) {
        route.action = Action::Predict;
    } else {
        return false;
    }
    route.stream = route.action == Action::StreamGenerate;
    if (route.vertex) {
        // projects/{p}/locations/{l}/publishers/google/models/{model}
        constexpr std::string_view kPublisher = "/publishers/google/models/";
        const std::size_t locations = route.resource.find("/locations/");
        const std::size_t publisher = route.resource.find(kPublisher);
        if (locations == std::string_view::npos || publisher == std::string_view::npos ||
            publisher < locations || locations <= 9 ||
            publisher == locations + std::string_view("/locations/").size()) {
            return false;
        }
        route.id = route.resource.substr(publisher + kPublisher.size());
        return !route.id.empty() && route.id.find('/') == std::string_view::npos;
    }
    for (const std::string_view collection : {"models/", "tunedModels/"}) {
        if (route.resource.starts_with(collection)) {
            route.id = route.resource.substr(collection.size());
            return !route.id.empty() && route.id.find('/') == std::string_view::npos;
        }
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// The request body

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// A member under its lowerCamel JSON name or its proto (snake_case) name; both are accepted.
simdjson::simdjson_result<element> member(const object& o, std::string_view camel,
                                          std::string_view snake) {
    auto value = o[camel];
    if (value.error() == simdjson::SUCCESS || snake.empty()) {
        return value;
    }
    return o[snake];
}

bool is_one_of(std::string_view key, std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), key) != names.end();
}

// Fields of GenerateContentRequest, Content and Part (v1beta reference), JSON and proto names.
bool is_request_field(std::string_view key) {
    return is_one_of(
        key, {"model", "contents", "tools", "toolConfig", "tool_config", "safetySettings",
              "safety_settings", "systemInstruction", "system_instruction", "generationConfig",
              "generation_config", "cachedContent", "cached_content"});
}

bool is_content_field(std::string_view key) {
    return key == "parts" || key == "role";
}

// Part's `data` oneof.
bool is_part_data(std::string_view key) {
    return is_one_of(
        key, {"text", "inlineData", "inline_data", "functionCall", "function_call",
              "functionResponse", "function_response", "fileData", "file_data", "executableCode",
              "executable_code", "codeExecutionResult", "code_execution_result"});
}

bool is_part_field(std::string_view key) {
    return is_part_data(key) ||
           is_one_of(key, {"thought", "thoughtSignature", "thought_signature", "videoMetadata",
                           "video_metadata", "mediaResolution", "media_resolution", "partMetadata",
                           "part_metadata"});
}

// Collects `Unknown name "x"[ at 'where']: Cannot find field.` violations (Google's JSON parser
// rejects unknown fields).
class UnknownNames {
  public:
    void check(const object& o, bool (*known)(std::string_view), std::string_view where) {
        for (const auto field : o) {
            if (known(field.key) || count_ >= 20) {
                continue;
            }
            std::string line = "Invalid JSON payload received. Unknown name \"";
            append_google_escaped(line, field.key);
            line += '"';
            if (!where.empty()) {
                line += " at '";
                line += where;
                line += '\'';
            }
            line += ": Cannot find field.";
            append_bad_request(details_, where, line);
            if (!message_.empty()) {
                message_ += '\n';
            }
            message_ += line;
            ++count_;
        }
    }
    bool any() const { return count_ > 0; }
    const std::string& message() const { return message_; }
    std::string details() const { return details_ + "]}"; }

  private:
    std::string message_;
    std::string details_;
    int count_ = 0;
};

long parts_tokens(const array& parts) {
    long tokens = 0;
    for (const element part : parts) {
        std::string_view text;
        if (part["text"].get_string().get(text) == simdjson::SUCCESS) {
            tokens += text_tokens(text);
        }
    }
    return tokens;
}

// What the answer depends on, read from a valid request.
struct Ask {
    long prompt_tokens = 3;
    long max_output_tokens = 0;  // 0: not given
    std::string_view tool_name;  // non-empty: answer with a functionCall
};

// Validates the body like Gemini and fills `ask`; answers 400 and returns false if invalid.
bool read_request(Context& context, const object& root, std::string_view content_type, Ask& ask) {
    // Unknown fields anywhere we look are a parse error, reported before anything else.
    UnknownNames unknown;
    unknown.check(root, is_request_field, {});
    element contents_value;
    array contents;
    const bool has_contents = root["contents"].get(contents_value) == simdjson::SUCCESS;
    const bool contents_array =
        has_contents && contents_value.get_array().get(contents) == simdjson::SUCCESS;
    if (contents_array) {
        std::size_t i = 0;
        for (const element content : contents) {
            object content_object;
            if (content.get_object().get(content_object) == simdjson::SUCCESS) {
                const std::string where = "contents[" + std::to_string(i) + "]";
                unknown.check(content_object, is_content_field, where);
                array parts;
                if (content_object["parts"].get_array().get(parts) == simdjson::SUCCESS) {
                    std::size_t j = 0;
                    for (const element part : parts) {
                        object part_object;
                        if (part.get_object().get(part_object) == simdjson::SUCCESS) {
                            unknown.check(part_object, is_part_field,
                                          where + ".parts[" + std::to_string(j) + "]");
                        }
                        ++j;
                    }
                }
            }
            ++i;
        }
    }
    if (unknown.any()) {
        respond_google_error(context, 400, "INVALID_ARGUMENT", unknown.message(), unknown.details(),
                             content_type);
        return false;
    }
    if (has_contents && !contents_array && !contents_value.is_null()) {
        std::string message =
            "Invalid value at 'contents' "
            "(type.googleapis.com/google.ai.generativelanguage.v1beta.Content), ";
        message += simdjson::to_string(contents_value);
        std::string details;
        append_bad_request(details, "contents", message);
        details += "]}";
        respond_google_error(context, 400, "INVALID_ARGUMENT", message, details, content_type);
        return false;
    }
    if (!contents_array || contents.size() == 0) {
        respond_google_error(context, 400, "INVALID_ARGUMENT",
                             "* GenerateContentRequest.contents: contents is not specified\n", {},
                             content_type);
        return false;
    }

    // The turns: roles, parts, and the prompt size.
    std::size_t i = 0;
    for (const element content : contents) {
        const std::string where = "GenerateContentRequest.contents[" + std::to_string(i) + "]";
        std::string_view role;
        if (content["role"].get_string().get(role) == simdjson::SUCCESS && !role.empty() &&
            role != "user" && role != "model") {
            respond_google_error(context, 400, "INVALID_ARGUMENT",
                                 "Please use a valid role: user, model.", {}, content_type);
            return false;
        }
        array parts;
        if (content["parts"].get_array().get(parts) != simdjson::SUCCESS || parts.size() == 0) {
            respond_google_error(context, 400, "INVALID_ARGUMENT",
                                 "* " + where + ".parts: contents.parts must not be empty.\n", {},
                                 content_type);
            return false;
        }
        std::size_t j = 0;
        for (const element part : parts) {
            object part_object;
            bool has_data = false;
            if (part.get_object().get(part_object) == simdjson::SUCCESS) {
                for (const auto field : part_object) {
                    has_data = has_data || is_part_data(field.key);
                }
            }
            if (!has_data) {
                respond_google_error(context, 400, "INVALID_ARGUMENT",
                                     "* " + where + ".parts[" + std::to_string(j) +
                                         "].data: required oneof field 'data' must have one "
                                         "initialized field\n",
                                     {}, content_type);
                return false;
            }
            ++j;
        }
        ask.prompt_tokens += 4 + parts_tokens(parts);
        ++i;
    }
    object system;
    if (member(root, "systemInstruction", "system_instruction").get_object().get(system) ==
        simdjson::SUCCESS) {
        array parts;
        if (system["parts"].get_array().get(parts) == simdjson::SUCCESS) {
            ask.prompt_tokens += parts_tokens(parts);
        }
    }

    object generation;
    if (member(root, "generationConfig", "generation_config").get_object().get(generation) ==
        simdjson::SUCCESS) {
        std::int64_t max_tokens = 0;
        if (member(generation, "maxOutputTokens", "max_output_tokens")
                    .get_int64()
                    .get(max_tokens) == simdjson::SUCCESS &&
            max_tokens > 0) {
            ask.max_output_tokens = static_cast<long>(std::min<std::int64_t>(max_tokens, 1L << 30));
        }
    }

    // A functionCall answers when asked for (tool_call=1), when the request declares functions
    // and the calling mode is not NONE: the first allowed function name, else the first
    // declared function.
    array tools;
    if (context.controls.tool_call != 1 ||
        root["tools"].get_array().get(tools) != simdjson::SUCCESS) {
        return true;
    }
    std::string_view first_function;
    for (const element tool : tools) {
        object tool_object;
        array declarations;
        if (tool.get_object().get(tool_object) != simdjson::SUCCESS ||
            member(tool_object, "functionDeclarations", "function_declarations")
                    .get_array()
                    .get(declarations) != simdjson::SUCCESS) {
            continue;
        }
        for (const element declaration : declarations) {
            std::string_view name;
            if (declaration["name"].get_string().get(name) == simdjson::SUCCESS && !name.empty()) {
                first_function = name;
                break;
            }
        }
        if (!first_function.empty()) {
            break;
        }
    }
    if (first_function.empty()) {
        return true;
    }
    object tool_config;
    object calling;
    if (member(root, "toolConfig", "tool_config").get_object().get(tool_config) ==
            simdjson::SUCCESS &&
        member(tool_config, "functionCallingConfig", "function_calling_config")
                .get_object()
                .get(calling) == simdjson::SUCCESS) {
        std::string_view mode;
        if (calling["mode"].get_string().get(mode) == simdjson::SUCCESS && mode == "NONE") {
            return true;
        }
        array allowed;
        std::string_view name;
        if (member(calling, "allowedFunctionNames", "allowed_function_names")
                    .get_array()
                    .get(allowed) == simdjson::SUCCESS &&
            allowed.size() != 0 && allowed.at(0).get_string().get(name) == simdjson::SUCCESS &&
            !name.empty()) {
            first_function = name;
        }
    }
    ask.tool_name = first_function;
    return true;
}

// ---------------------------------------------------------------------------------------------
// The answer

// `{"candidates": [{"content": {"parts": [<part>],"role": "model"}[,"finishReason": R],
// "index": 0[,"finishMessage": ...]}],"usageMetadata": {...},"modelVersion": M,"responseId": I}`
// in the stream's spacing (a space after each colon, none after commas), as Google sends it.
// `part` writes the part object.
template <typename Part>
void append_generate_response(std::string& out, Part&& part, std::string_view finish,
                              bool tool_call, long prompt_tokens, long candidates_tokens,
                              std::string_view model, std::string_view response_id) {
    out += "{\"candidates\": [{\"content\": {\"parts\": [";
    part(out);
    out += "],\"role\": \"model\"}";
    if (!finish.empty()) {
        out += ",\"finishReason\": ";
        append_google_quoted(out, finish);
    }
    out += ",\"index\": 0";
    if (!finish.empty() && tool_call) {
        out += ",\"finishMessage\": ";
        append_google_quoted(out, kToolFinishMessage);
    }
    out += "}],\"usageMetadata\": {\"promptTokenCount\": ";
    append_int(out, prompt_tokens);
    if (candidates_tokens > 0) {  // proto3 JSON leaves zero counts out
        out += ",\"candidatesTokenCount\": ";
        append_int(out, candidates_tokens);
    }
    out += ",\"totalTokenCount\": ";
    append_int(out, prompt_tokens + candidates_tokens);
    out += ",\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": ";
    append_int(out, prompt_tokens);
    out += "}]},\"modelVersion\": ";
    append_google_quoted(out, model);
    out += ",\"responseId\": ";
    append_google_quoted(out, response_id);
    out += '}';
}

// The mock call: `{"functionCall": {"name": N,"args": {"location": "Paris"}}}`, name before
// args and no id, as the Developer API sends it.
void append_function_call(std::string& out, std::string_view name) {
    out += "{\"functionCall\": {\"name\": ";
    append_google_quoted(out, name);
    out += ",\"args\": {\"location\": \"Paris\"}}}";
}

// The `status` control: Gemini's error for that status. Returns true if it answered.
bool respond_status_control(Context& context, const Route& route, std::string_view model,
                            std::string_view content_type) {
    const Controls& controls = context.controls;
    if (!controls.error_status()) {
        return false;
    }
    const int code = static_cast<int>(controls.status);
    if ((controls.set & kErrorBody) != 0) {
        context.response.body.assign(controls.error_body);
        write_head(context, code, content_type, false);
        return true;
    }
    const GoogleError error = google_error_for(code);
    std::string details;
    std::string message(error.message);
    if (code == 404) {
        // Recorded from the streaming endpoint (err.404.not_found.streaming_endpoint.json).
        message = "models/";
        message += model;
        message += " is not found for API version ";
        message += route.version;
        message +=
            ", or is not supported for generateContent. Call ListModels to see the list of "
            "available models and their supported methods.";
    } else if (code == 429) {
        details =
            "{\"@type\": \"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\": "
            "[{\"quotaMetric\": "
            "\"generativelanguage.googleapis.com/generate_content_free_tier_requests\","
            "\"quotaId\": \"GenerateRequestsPerMinutePerProjectPerModel-FreeTier\","
            "\"quotaDimensions\": {\"location\": \"global\",\"model\": ";
        append_google_quoted(details, model);
        details +=
            "},\"quotaValue\": \"15\"}]},{\"@type\": \"type.googleapis.com/google.rpc.Help\","
            "\"links\": [{\"description\": \"Learn more about Gemini API quotas\",\"url\": "
            "\"https://ai.google.dev/gemini-api/docs/rate-limits\"}]}";
        long seconds = 0;
        if ((controls.set & kRetryAfter) != 0 && parse_long(controls.retry_after, seconds) &&
            seconds >= 0) {
            details +=
                ",{\"@type\": \"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\": \"";
            append_int(details, seconds);
            details += "s\"}";
        }
    }
    respond_google_error(context, code, error.status, message, details, content_type);
    return true;
}

// With --api-key: the key in `x-goog-api-key` (or `?key=`), as Gemini checks it. A wrong key is
// 400 API_KEY_INVALID; a bearer token instead of a key 401; no credential at all 403.
bool check_auth(Context& context, const Route& route, std::string_view api_key) {
    const Request& request = context.request;
    const Header* header = find_header(request, "x-goog-api-key");
    std::string key;
    if (header != nullptr && !trim(header->value).empty()) {
        key.assign(trim(header->value));
    } else {
        key = percent_decode(query_param(request.query, "key"));
    }
    if (!key.empty()) {
        if (key == api_key) {
            return true;
        }
        respond_google_error(context, 400, "INVALID_ARGUMENT", kKeyInvalid,
                             "{\"@type\": \"type.googleapis.com/google.rpc.ErrorInfo\","
                             "\"reason\": \"API_KEY_INVALID\",\"domain\": \"googleapis.com\","
                             "\"metadata\": {\"service\": \"generativelanguage.googleapis.com\"}},"
                             "{\"@type\": \"type.googleapis.com/google.rpc.LocalizedMessage\","
                             "\"locale\": \"en-US\",\"message\": \"API key not valid. Please pass "
                             "a valid API key.\"}");
        return false;
    }
    if (find_header(request, "authorization") != nullptr) {
        // The key sent as an OAuth token (Authorization: Bearer): Google cannot use it.
        std::string details =
            "{\"@type\": \"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\": "
            "\"ACCESS_TOKEN_TYPE_UNSUPPORTED\",\"metadata\": {\"method\": "
            "\"google.ai.generativelanguage.";
        details += route.version;
        details += route.stream ? ".GenerativeService.StreamGenerateContent\""
                                : ".GenerativeService.GenerateContent\"";
        details += ",\"service\": \"generativelanguage.googleapis.com\"}}";
        const GoogleError error = google_error_for(401);
        respond_google_error(context, 401, error.status, error.message, details);
        return false;
    }
    respond_google_error(context, 403, "PERMISSION_DENIED",
                         "Method doesn't allow unregistered callers (callers without established "
                         "identity). Please use API Key or other form of API consumer identity to "
                         "call this API.");
    return false;
}

// Vertex AI: `Authorization: Bearer <token>` with a token the mock's /token endpoint issued
// (--google-public-key). Anything else is Google's 401 UNAUTHENTICATED.
bool check_vertex_auth(Context& context) {
    const Header* header = find_header(context.request, "authorization");
    std::string_view value = header == nullptr ? std::string_view{} : trim(header->value);
    if (value.size() > 7 && iequals(value.substr(0, 7), "bearer ") &&
        google_token_valid(trim(value.substr(7)))) {
        return true;
    }
    const GoogleError error = google_error_for(401);
    respond_google_error(context, 401, error.status, error.message,
                         "{\"@type\": \"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\": "
                         "\"ACCESS_TOKEN_TYPE_UNSUPPORTED\",\"domain\": \"googleapis.com\","
                         "\"metadata\": {\"service\": \"aiplatform.googleapis.com\"}}");
    return false;
}

// The embedding size asked for (outputDimensionality), 8 when absent; false (after answering
// 400) when it is not a positive integer up to 4096.
bool embedding_size(Context& context, const element& value_holder, std::string_view key,
                    std::size_t& size) {
    size = 8;
    element value;
    if (value_holder[key].get(value) != simdjson::SUCCESS) {
        return true;
    }
    std::int64_t n = 0;
    if (value.get_int64().get(n) != simdjson::SUCCESS || n < 1 || n > 4096) {
        respond_google_error(context, 400, "INVALID_ARGUMENT",
                             "Invalid value at 'outputDimensionality': must be from 1 to 4096.");
        return false;
    }
    size = static_cast<std::size_t>(n);
    return true;
}

// POST models/{model}:batchEmbedContents: {"requests":[{"model":"models/{model}","content":
// {"parts":[{"text":...}]},"taskType":...,"outputDimensionality":N}]} ->
// {"embeddings":[{"values":[...]}]}.
void batch_embed(Context& context, const Route& route, const object& root) {
    array requests;
    if (root["requests"].get_array().get(requests) != simdjson::SUCCESS || requests.size() == 0) {
        respond_google_error(context, 400, "INVALID_ARGUMENT",
                             "* BatchEmbedContentsRequest.requests: must not be empty\n");
        return;
    }
    std::string expected_model(route.resource);
    std::string compact = "{\"embeddings\": [";
    std::vector<float> values;
    std::size_t i = 0;
    for (const element item : requests) {
        std::string_view model;
        std::string_view text;
        array parts;
        element first;
        std::size_t size = 8;
        if (item["model"].get_string().get(model) != simdjson::SUCCESS ||
            percent_decode(model) != percent_decode(expected_model)) {
            std::string message =
                "Model names should start with `models/`, and the model in "
                "each request must match the batch's: requests[";
            append_uint(message, i);
            message += "].model";
            respond_google_error(context, 400, "INVALID_ARGUMENT", message);
            return;
        }
        if (item["content"]["parts"].get_array().get(parts) != simdjson::SUCCESS ||
            parts.at(0).get(first) != simdjson::SUCCESS ||
            first["text"].get_string().get(text) != simdjson::SUCCESS) {
            respond_google_error(context, 400, "INVALID_ARGUMENT",
                                 "* BatchEmbedContentsRequest.requests[].content: contents must "
                                 "have text parts\n");
            return;
        }
        if (!embedding_size(context, item, "outputDimensionality", size)) {
            return;
        }
        values.resize(size);
        text_embedding(text, values);
        if (i++ > 0) {
            compact += ',';
        }
        compact += "{\"values\": ";
        append_float_array(compact, values);
        compact += '}';
    }
    compact += "]}";
    std::string& body = context.response.body;
    body.clear();
    append_pretty(body, compact);
    body += '\n';
    write_head(context, 200, kGeminiJson, false);
}

// Vertex AI text embeddings, POST .../models/{model}:predict: {"instances":[{"content":...,
// "task_type":...}],"parameters":{"outputDimensionality":N}} -> {"predictions":[{"embeddings":
// {"statistics":{"truncated":false,"token_count":N},"values":[...]}}],"metadata":
// {"billableCharacterCount":N}}.
void predict_embeddings(Context& context, const object& root) {
    array instances;
    if (root["instances"].get_array().get(instances) != simdjson::SUCCESS ||
        instances.size() == 0) {
        respond_google_error(context, 400, "INVALID_ARGUMENT", "instances must not be empty.");
        return;
    }
    std::size_t size = 8;
    element parameters;
    if (root["parameters"].get(parameters) == simdjson::SUCCESS &&
        !embedding_size(context, parameters, "outputDimensionality", size)) {
        return;
    }
    std::string compact = "{\"predictions\": [";
    std::vector<float> values(size);
    long characters = 0;
    std::size_t i = 0;
    for (const element instance : instances) {
        std::string_view text;
        if (instance["content"].get_string().get(text) != simdjson::SUCCESS) {
            respond_google_error(context, 400, "INVALID_ARGUMENT",
                                 "Each instance must have a string 'content'.");
            return;
        }
        characters += static_cast<long>(text.size());
        text_embedding(text, values);
        if (i++ > 0) {
            compact += ',';
        }
        compact += "{\"embeddings\": {\"statistics\": {\"truncated\": false,\"token_count\": ";
        append_int(compact, text_tokens(text));
        compact += "},\"values\": ";
        append_float_array(compact, values);
        compact += "}}";
    }
    compact += "],\"metadata\": {\"billableCharacterCount\": ";
    append_int(compact, characters);
    compact += "}}";
    std::string& body = context.response.body;
    body.clear();
    append_pretty(body, compact);
    body += '\n';
    write_head(context, 200, kGeminiJson, false);
}

}  // namespace

bool is_gemini_path(const Request& request) {
    const std::string_view path = request.path;
    if (path.starts_with("/v1beta/") || path.starts_with("/v1alpha/")) {
        return true;
    }
    // Vertex AI's publisher models (same wire format, OAuth instead of a key).
    if (request.method == "POST" &&
        (path.starts_with("/v1/projects/") || path.starts_with("/v1beta1/projects/"))) {
        return true;
    }
    // Gemini's v1: only the generate methods, so GET /v1/models/{id} stays OpenAI's.
    return request.method == "POST" &&
           (path.starts_with("/v1/models/") || path.starts_with("/v1/tunedModels/")) &&
           (path.ends_with(":generateContent") || path.ends_with(":streamGenerateContent"));
}

bool gemini_auth_present(const Request& request) {
    return find_header(request, "x-goog-api-key") != nullptr ||
           find_header(request, "authorization") != nullptr ||
           !query_param(request.query, "key").empty();
}

void gemini_endpoint(Context& context, std::string_view api_key) {
    const Request& request = context.request;
    Route route;
    if (!parse_route(request.path, route) || request.method != "POST") {
        context.faults = false;
        std::string message = "Method not found: ";
        message += request.method;
        message += ' ';
        message += request.path;
        message += '.';
        respond_google_error(context, 404, "NOT_FOUND", message);
        return;
    }
    if (route.vertex ? !check_vertex_auth(context)
                     : (!api_key.empty() && !check_auth(context, route, api_key))) {
        context.faults = false;
        return;
    }
    // The model id comes percent-encoded (our adapter encodes ';' and '='), controls and all.
    const std::string decoded = percent_decode(route.id);
    const std::string_view model = apply_model_controls(decoded, context.controls);
    const bool sse = route.stream && query_param(request.query, "alt") == "sse";
    // Errors on the SSE endpoint come as plain JSON labelled text/event-stream (recorded).
    const std::string_view error_type = sse ? kGeminiEventStream : kGeminiJson;
    if (respond_status_control(context, route, model, error_type)) {
        return;
    }

    const std::string_view raw = request.body;
    element root;
    object root_object;
    if (json_parser().parse(raw.data(), raw.size(), false).get(root) != simdjson::SUCCESS) {
        constexpr std::string_view kMessage = "Invalid JSON payload received. Unexpected token.";
        std::string details;
        append_bad_request(details, {}, kMessage);
        details += "]}";
        respond_google_error(context, 400, "INVALID_ARGUMENT", kMessage, details, error_type);
        return;
    }
    if (root.get_object().get(root_object) != simdjson::SUCCESS) {
        constexpr std::string_view kMessage =
            "Invalid JSON payload received. Unknown name \"\": Root element must be a message.";
        std::string details;
        append_bad_request(details, {}, kMessage);
        details += "]}";
        respond_google_error(context, 400, "INVALID_ARGUMENT", kMessage, details, error_type);
        return;
    }
    if (route.action == Action::BatchEmbed) {
        batch_embed(context, route, root_object);
        return;
    }
    if (route.action == Action::Predict) {
        predict_embeddings(context, root_object);
        return;
    }
    Ask ask;
    if (!read_request(context, root_object, error_type, ask)) {
        return;
    }

    const bool tool = !ask.tool_name.empty();
    const long chunks = context.controls.chunks;
    const long words = ask.max_output_tokens > 0 ? std::min(chunks, ask.max_output_tokens) : chunks;
    const std::string_view finish =
        !tool && ask.max_output_tokens > 0 && chunks > ask.max_output_tokens ? "MAX_TOKENS"
                                                                             : "STOP";
    const std::uint64_t sequence = next_sequence();
    Response& response = context.response;
    if (route.stream) {
        StreamRenderer::Setup setup;
        setup.kind = tool ? StreamRenderer::Kind::GeminiToolCall : StreamRenderer::Kind::GeminiText;
        setup.sequence = sequence;
        setup.model = model;
        setup.tool_name = ask.tool_name;
        setup.chunks = words;
        setup.bytes_per_chunk = context.controls.bytes_per_chunk;
        setup.prompt_tokens = ask.prompt_tokens;
        setup.stop_reason = finish;
        setup.error_type = gemini_stream_error(context.controls.stream_error);
        setup.json_array = !sse;
        response.renderer.reset(setup);
        response.stream = true;
        write_head(context, 200, sse ? kGeminiEventStream : kGeminiJson, true);
        return;
    }

    std::string response_id;
    append_mock_id(response_id, "", sequence);
    thread_local std::string compact;
    compact.clear();
    const long bytes_per_chunk = context.controls.bytes_per_chunk;
    if (tool) {
        append_generate_response(
            compact, [&](std::string& out) { append_function_call(out, ask.tool_name); }, finish,
            true, ask.prompt_tokens, kToolCallTokens, model, response_id);
    } else {
        append_generate_response(
            compact,
            [&](std::string& out) {
                out += "{\"text\": \"";
                for (long i = 0; i < words; ++i) {
                    append_word(out, i, bytes_per_chunk);
                }
                out += "\"}";
            },
            finish, false, ask.prompt_tokens, words, model, response_id);
    }
    response.body.clear();
    append_pretty(response.body, compact);
    response.body += '\n';
    write_head(context, 200, kGeminiJson, false);
}

// One Gemini stream event: a GenerateContentResponse with one word (cumulative usage; the last
// one carries finishReason), or the whole functionCall, or the in-stream error. SSE frames it as
// `data: <json>\r\n\r\n`; without alt=sse the events are the elements of one JSON array.
void StreamRenderer::append_gemini_event(std::size_t index, std::string& out) const {
    thread_local std::string event;
    event.clear();
    const std::size_t content = content_count();
    const bool tool = kind_ == Kind::GeminiToolCall;
    if (!error_type_.empty() && index >= content) {
        event += "{\"error\": {\"code\": ";
        append_int(event, status_code_of(error_type_));
        event += ",\"message\": ";
        append_google_quoted(event,
                             error_type_ == "INTERNAL"
                                 ? kInternal
                                 : (error_type_ == "RESOURCE_EXHAUSTED" ? kQuota : kOverloaded));
        event += ",\"status\": ";
        append_google_quoted(event, error_type_);
        event += "}}";
    } else {
        const bool last = error_type_.empty() && index + 1 == event_count();
        const std::string_view finish = last ? std::string_view(stop_reason_) : std::string_view();
        if (tool) {
            append_generate_response(
                event, [&](std::string& o) { append_function_call(o, tool_name_); }, finish, true,
                prompt_tokens_, kToolCallTokens, model_, message_id_);
        } else {
            const long word = static_cast<long>(index);
            append_generate_response(
                event,
                [&](std::string& o) {
                    o += "{\"text\": \"";
                    if (word < chunks_) {
                        append_word(o, word, bytes_per_chunk_);
                    }
                    o += "\"}";
                },
                finish, false, prompt_tokens_, std::min(word + 1, chunks_), model_, message_id_);
        }
    }
    if (json_array_) {
        out += index == 0 ? "[" : ",\r\n";
        append_pretty(out, event);
        if (index + 1 == event_count()) {
            out += ']';
        }
    } else {
        out += "data: ";
        out += event;
        out += "\r\n\r\n";
    }
}

}  // namespace sb::mock::detail
