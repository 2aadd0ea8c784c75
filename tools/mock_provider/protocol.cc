#include "mock_provider/protocol.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <mutex>
#include <utility>
#include <vector>

#include "mock_provider/internal.h"

namespace sb::mock::detail {

static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING);
// OpenAI's base64 embeddings are the float32 array in little-endian byte order.
static_assert(std::endian::native == std::endian::little);

namespace {

constexpr std::string_view kEventStream = "text/event-stream; charset=utf-8";
constexpr std::string_view kFingerprint = "fp_mock";

// The deterministic answer: word k of the content is kWords[k % 16].
constexpr std::string_view kWords[] = {
    "Hello", " from", " the", " mock",          " provider", " of",  " Switchboard", ".",
    " This", " is",   " a",   " deterministic", " answer",   " for", " testing",     ".",
};
constexpr std::size_t kWordCount = sizeof(kWords) / sizeof(kWords[0]);

// Anthropic's input_json_delta fragments of the same arguments; its first one is always empty
// (shared/fixtures/providers/anthropic/stream.tool_use.sse).
constexpr std::string_view kMessagesToolFragments[] = {"",      "{\"",   "location",
                                                       "\":\"", "Paris", "\"}"};
constexpr std::size_t kMessagesToolFragmentCount =
    sizeof(kMessagesToolFragments) / sizeof(kMessagesToolFragments[0]);

constexpr std::string_view kModelIds[] = {
    "gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-3.5-turbo-instruct", "text-embedding-3-small",
    "mock-model",
};

constexpr char kHexDigits[] = "0123456789abcdef";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Writers

void append_uint(std::string& out, std::uint64_t value) {
    char buf[24];
    const auto result = std::to_chars(buf, buf + sizeof(buf), value);
    out.append(buf, result.ptr);
}

void append_int(std::string& out, std::int64_t value) {
    char buf[24];
    const auto result = std::to_chars(buf, buf + sizeof(buf), value);
    out.append(buf, result.ptr);
}

void append_hex(std::string& out, std::size_t value) {
    char buf[24];
    const auto result = std::to_chars(buf, buf + sizeof(buf), value, 16);
    out.append(buf, result.ptr);
}

void append_escaped(std::string& out, std::string_view s) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        out.append(s.data() + start, i - start);
        start = i + 1;
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                out += "\\u00";
                out += kHexDigits[c >> 4];
                out += kHexDigits[c & 0xf];
        }
    }
    out.append(s.data() + start, s.size() - start);
}

namespace {

// Like append_escaped for arbitrary bytes: if `s` is not valid UTF-8, bytes >= 0x80 are written
// as \u00XX (read as Latin-1) so the output is always valid JSON.
void append_escaped_bytes(std::string& out, std::string_view s) {
    if (simdjson::validate_utf8(s.data(), s.size())) {
        append_escaped(out, s);
        return;
    }
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x80) {
            append_escaped(out, std::string_view(&ch, 1));
        } else {
            out += "\\u00";
            out += kHexDigits[c >> 4];
            out += kHexDigits[c & 0xf];
        }
    }
}

}  // namespace

void append_quoted(std::string& out, std::string_view s) {
    out += '"';
    append_escaped(out, s);
    out += '"';
}

void append_word(std::string& out, long index, long bytes_per_chunk) {
    const std::string_view word = kWords[static_cast<std::size_t>(index) % kWordCount];
    out += word;
    if (bytes_per_chunk > static_cast<long>(word.size())) {
        out.append(static_cast<std::size_t>(bytes_per_chunk) - word.size(), 'x');
    }
}

namespace {

void append_chat_usage(std::string& out, long prompt_tokens, long completion_tokens) {
    out += "{\"prompt_tokens\":";
    append_int(out, prompt_tokens);
    out += ",\"completion_tokens\":";
    append_int(out, completion_tokens);
    out += ",\"total_tokens\":";
    append_int(out, prompt_tokens + completion_tokens);
    out +=
        ",\"prompt_tokens_details\":{\"cached_tokens\":0},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":0}}";
}

void append_messages_usage(std::string& out, long input_tokens, long output_tokens) {
    out += "{\"input_tokens\":";
    append_int(out, input_tokens);
    out += ",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":";
    append_int(out, output_tokens);
    out += '}';
}

// Anthropic's error messages for the error types the mock produces.
std::string_view messages_error_message(std::string_view type) {
    return type == "overloaded_error" ? "Overloaded" : "Internal server error";
}

void append_completion_usage(std::string& out, long prompt_tokens, long completion_tokens) {
    out += "{\"prompt_tokens\":";
    append_int(out, prompt_tokens);
    out += ",\"completion_tokens\":";
    append_int(out, completion_tokens);
    out += ",\"total_tokens\":";
    append_int(out, prompt_tokens + completion_tokens);
    out += '}';
}

}  // namespace

void append_mock_id(std::string& out, std::string_view prefix, std::uint64_t sequence) {
    char digits[24];
    const auto result = std::to_chars(digits, digits + sizeof(digits), sequence);
    const auto length = static_cast<std::size_t>(result.ptr - digits);
    out += prefix;
    out += "mock";
    if (length < 20) {
        out.append(20 - length, '0');
    }
    out.append(digits, length);
}

namespace {

void append_call_id(std::string& out, std::uint64_t sequence) {
    // OpenAI ids are "call_" + 24 characters: "call_mock" + 20 digits here.
    append_mock_id(out, "call_", sequence);
}

// OpenAI's error bodies are pretty-printed with four-space indents and a final newline.
void append_error(std::string& out, std::string_view message, std::string_view type,
                  std::string_view param, std::string_view code) {
    out += "{\n    \"error\": {\n        \"message\": ";
    append_quoted(out, message);
    out += ",\n        \"type\": ";
    append_quoted(out, type);
    out += ",\n        \"param\": ";
    if (param.empty()) {
        out += "null";
    } else {
        append_quoted(out, param);
    }
    out += ",\n        \"code\": ";
    if (code.empty()) {
        out += "null";
    } else {
        append_quoted(out, code);
    }
    out += "\n    }\n}\n";
}

struct StatusReason {
    int status;
    std::string_view reason;
};
constexpr StatusReason kReasons[] = {
    {200, "OK"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {413, "Payload Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Entity"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {529, "Site Overloaded"},
};

std::string_view reason_phrase(int status) {
    for (const StatusReason& entry : kReasons) {
        if (entry.status == status) {
            return entry.reason;
        }
    }
    return status < 400 ? "OK" : (status < 500 ? "Client Error" : "Server Error");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Text helpers

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

const Header* find_header(const Request& request, std::string_view name) {
    for (const Header& header : request.headers) {
        if (iequals(header.name, name)) {
            return &header;
        }
    }
    return nullptr;
}

bool parse_long(std::string_view s, long& value) {
    s = trim(s);
    if (s.empty()) {
        return false;
    }
    const auto result = std::from_chars(s.data(), s.data() + s.size(), value);
    return result.ec == std::errc() && result.ptr == s.data() + s.size();
}

long text_tokens(std::string_view text) {
    return static_cast<long>((text.size() + 3) / 4);
}

std::string percent_decode(std::string_view s) {
    const auto hex_value = [](char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    };
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            const int high = hex_value(s[i + 1]);
            const int low = hex_value(s[i + 2]);
            if (high >= 0 && low >= 0) {
                out += static_cast<char>(high * 16 + low);
                i += 2;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

std::string_view query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const std::size_t end = std::min(query.find('&'), query.size());
        const std::string_view pair = query.substr(0, end);
        query.remove_prefix(std::min(end + 1, query.size()));
        const std::size_t equals = pair.find('=');
        if (pair.substr(0, equals) == name) {
            return equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
        }
    }
    return {};
}

namespace {

std::uint64_t fnv1a(std::uint64_t hash, const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
        hash = (hash ^ bytes[i]) * 0x100000001b3ULL;
    }
    return hash;
}
constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::atomic<std::uint64_t> g_sequence{0};  // ids, never reset

}  // namespace

std::uint64_t next_sequence() {
    return g_sequence.fetch_add(1, std::memory_order_relaxed) + 1;
}

namespace {

std::int64_t unix_now() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

}  // namespace

simdjson::dom::parser& json_parser() {
    thread_local simdjson::dom::parser parser;
    return parser;
}

namespace {

// ---------------------------------------------------------------------------------------------
// The most recent provider request, for /_mock/last_request (tests only; one copy per request).

struct LastRequest {
    std::mutex mutex;
    bool present = false;
    std::string method;
    std::string path;
    std::string query;
    std::string head;
    std::string body;
};

LastRequest& last_request() {
    static LastRequest last;
    return last;
}

void record_last_request(const Request& request) {
    LastRequest& last = last_request();
    const std::lock_guard lock(last.mutex);
    last.present = true;
    last.method.assign(request.method);
    last.path.assign(request.path);
    last.query.assign(request.query);
    last.head.assign(request.head);
    last.body.assign(request.body);
}

// ---------------------------------------------------------------------------------------------
// Per-request controls: `x-mock-<name>` headers, or `;name=value` after the model name.

struct NumericControl {
    std::string_view name;
    ControlBit bit;
    long Controls::*field;
    long min;
    long max;
};

constexpr long kMaxDelayMs = 3'600'000;
constexpr NumericControl kNumericControls[] = {
    {"latency_ms", kLatency, &Controls::latency_ms, 0, kMaxDelayMs},
    {"chunk_delay_ms", kChunkDelay, &Controls::chunk_delay_ms, 0, kMaxDelayMs},
    {"chunks", kChunks, &Controls::chunks, 0, 1'000'000},
    {"status", kStatus, &Controls::status, 100, 599},
    {"disconnect_after", kDisconnectAfter, &Controls::disconnect_after, 0, 1'000'000'000},
    {"stall_after", kStallAfter, &Controls::stall_after, 0, 1'000'000'000},
    {"tool_call", kToolCall, &Controls::tool_call, 0, 1},
    {"bytes_per_chunk", kBytesPerChunk, &Controls::bytes_per_chunk, 0, 1L << 23},
};

// Control names match case-insensitively, with '-' and '_' equal (`x-mock-latency-ms` works
// through proxies that drop headers with underscores).
bool control_name_is(std::string_view given, std::string_view name) {
    if (given.size() != name.size()) {
        return false;
    }
    for (std::size_t i = 0; i < given.size(); ++i) {
        const char c = given[i] == '-' ? '_' : lower(given[i]);
        if (c != name[i]) {
            return false;
        }
    }
    return true;
}

bool has_control_chars(std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

void apply_control(Controls& controls, std::string_view name, std::string_view value) {
    for (const NumericControl& control : kNumericControls) {
        if (!control_name_is(name, control.name)) {
            continue;
        }
        long parsed = 0;
        if ((controls.set & control.bit) == 0 && parse_long(value, parsed)) {
            controls.*control.field = std::clamp(parsed, control.min, control.max);
            controls.set |= control.bit;
        }
        return;
    }
    if (control_name_is(name, "error_body")) {
        if ((controls.set & kErrorBody) == 0) {
            controls.error_body = value;
            controls.set |= kErrorBody;
        }
    } else if (control_name_is(name, "retry_after")) {
        // Never let a value inject header lines.
        if ((controls.set & kRetryAfter) == 0 && !has_control_chars(value)) {
            controls.retry_after = trim(value);
            controls.set |= kRetryAfter;
        }
    } else if (control_name_is(name, "content_filter")) {
        const std::string_view kind = trim(value);
        if ((controls.set & kContentFilter) == 0 && (kind == "prompt" || kind == "completion")) {
            controls.content_filter = kind;
            controls.set |= kContentFilter;
        }
    } else if (control_name_is(name, "stream_error")) {
        // Kept as given: each protocol knows its own values (messages_stream_error() etc.).
        const std::string_view kind = trim(value);
        if ((controls.set & kStreamError) == 0 && !kind.empty()) {
            controls.stream_error = kind;
            controls.set |= kStreamError;
        }
    }
}

void apply_header_controls(const Request& request, Controls& controls) {
    constexpr std::string_view kPrefix = "x-mock-";
    for (const Header& header : request.headers) {
        if (header.name.size() > kPrefix.size() &&
            iequals(header.name.substr(0, kPrefix.size()), kPrefix)) {
            apply_control(controls, header.name.substr(kPrefix.size()), header.value);
        }
    }
}

}  // namespace

std::string_view apply_model_controls(std::string_view model, Controls& controls) {
    const std::size_t semicolon = model.find(';');
    if (semicolon == std::string_view::npos) {
        return model;
    }
    std::string_view rest = model.substr(semicolon + 1);
    while (!rest.empty()) {
        const std::size_t end = std::min(rest.find(';'), rest.size());
        const std::string_view pair = rest.substr(0, end);
        rest.remove_prefix(std::min(end + 1, rest.size()));
        const std::size_t equals = pair.find('=');
        if (equals != std::string_view::npos) {
            apply_control(controls, trim(pair.substr(0, equals)), pair.substr(equals + 1));
        }
    }
    return trim(model.substr(0, semicolon));
}

// ---------------------------------------------------------------------------------------------
// One request being answered.

void write_head(Context& context, int status, std::string_view content_type, bool chunked,
                std::string_view extra_headers) {
    Response& response = context.response;
    if (!context.request.keep_alive) {
        response.close = true;
    }
    std::string& head = response.head;
    head.clear();
    head += "HTTP/1.1 ";
    append_uint(head, static_cast<std::uint64_t>(status));
    head += ' ';
    head += reason_phrase(status);
    head += "\r\ncontent-type: ";
    head += content_type;
    if (chunked) {
        head += "\r\ntransfer-encoding: chunked\r\ncache-control: no-cache";
    } else {
        head += "\r\ncontent-length: ";
        append_uint(head, response.body.size());
    }
    head += "\r\nx-request-id: req_mock";
    append_uint(head, context.number);
    head += "\r\nx-mock-request-count: ";
    append_uint(head, context.number);
    head += "\r\nx-mock-received-auth: ";
    head += context.auth_present ? "present" : "absent";
    head += "\r\n";
    if ((context.controls.set & kRetryAfter) != 0) {
        head += "retry-after: ";
        head += context.controls.retry_after;
        head += "\r\n";
    }
    head += extra_headers;
    if (response.close) {
        head += "connection: close\r\n";
    } else if (context.request.http10) {
        head += "connection: keep-alive\r\n";
    }
    head += "\r\n";
}

namespace {

void respond_json(Context& context, int status) {
    write_head(context, status, kJson, false);
}

void respond_error(Context& context, int status, std::string_view message, std::string_view type,
                   std::string_view param = {}, std::string_view code = {}) {
    context.response.body.clear();
    append_error(context.response.body, message, type, param, code);
    respond_json(context, status);
}

void respond_invalid_json(Context& context) {
    // OpenAI's answer to a body that is not JSON.
    respond_error(context, 400,
                  "We could not parse the JSON body of your request. (HINT: This likely means "
                  "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                  "payload, but what was sent was not valid JSON. If you have trouble figuring "
                  "out how to fix this, please contact us through our help center at "
                  "help.openai.com.)",
                  "invalid_request_error");
}

void respond_missing_parameter(Context& context, std::string_view name) {
    std::string message = "Missing required parameter: '";
    message += name;
    message += "'.";
    respond_error(context, 400, message, "invalid_request_error", name,
                  "missing_required_parameter");
}

void respond_invalid_value(Context& context, std::string_view param, std::string_view message) {
    respond_error(context, 400, message, "invalid_request_error", param, "invalid_value");
}

// Answers with the `status` control if it asks for an error. Returns true if it did.
bool respond_status_control(Context& context, std::string_view model) {
    const Controls& controls = context.controls;
    if ((controls.set & kStatus) == 0 || controls.status < 400) {
        return false;
    }
    const int status = static_cast<int>(controls.status);
    std::string& body = context.response.body;
    body.clear();
    if ((controls.set & kErrorBody) != 0) {
        body.assign(controls.error_body);
        respond_json(context, status);
        return true;
    }
    std::string message;
    if (status == 429) {
        message = "Rate limit reached for ";
        message += model.empty() ? "gpt-4o-mini" : model;
        message +=
            " in organization org-mock on requests per min (RPM): Limit 3, Used 3, Requested 1. "
            "Please try again in 20s. Visit https://platform.openai.com/account/rate-limits to "
            "learn more.";
        append_error(body, message, "requests", {}, "rate_limit_exceeded");
    } else if (status == 401) {
        append_error(body,
                     "Incorrect API key provided: sk-mock************. You can find your API key "
                     "at https://platform.openai.com/account/api-keys.",
                     "invalid_request_error", {}, "invalid_api_key");
    } else if (status == 404) {
        message = "The model `";
        message += model.empty() ? "unknown" : model;
        message += "` does not exist or you do not have access to it.";
        append_error(body, message, "invalid_request_error", {}, "model_not_found");
    } else if (status == 500) {
        append_error(body,
                     "The server had an error processing your request. Sorry about that! You can "
                     "retry your request, or contact us through our help center at "
                     "help.openai.com if you keep seeing this error.",
                     "server_error", {}, {});
    } else if (status == 503) {
        append_error(body, "The server is overloaded or not ready yet.", "server_error", {},
                     "service_unavailable");
    } else if (status >= 500) {
        append_error(body, "The mock provider was asked to fail with this status.", "server_error",
                     {}, {});
    } else {
        append_error(body, "The mock provider was asked to reject this request.",
                     "invalid_request_error", {}, {});
    }
    respond_json(context, status);
    return true;
}

// A boolean field; false if absent, null or not a boolean.
bool read_bool(simdjson::simdjson_result<simdjson::dom::element> field) {
    bool value = false;
    return field.get_bool().get(value) == simdjson::SUCCESS && value;
}

// Parses the body as a JSON object; answers 400 and returns false if it is not one.
bool parse_object(Context& context, simdjson::dom::object& object) {
    const std::string_view body = context.request.body;
    simdjson::dom::element root;
    if (json_parser().parse(body.data(), body.size(), false).get(root) != simdjson::SUCCESS) {
        respond_invalid_json(context);
        return false;
    }
    if (root.get_object().get(object) != simdjson::SUCCESS) {
        respond_error(context, 400,
                      "Invalid type for body: expected an object, but got another type instead.",
                      "invalid_request_error");
        return false;
    }
    return true;
}

// Reads `model`, applies its controls and answers a status control. Returns false if a
// response was written.
bool read_model(Context& context, const simdjson::dom::object& object, std::string_view& model) {
    if (object["model"].get_string().get(model) != simdjson::SUCCESS) {
        if (respond_status_control(context, {})) {
            return false;
        }
        respond_error(context, 400, "you must provide a model parameter", "invalid_request_error");
        return false;
    }
    model = apply_model_controls(model, context.controls);
    return !respond_status_control(context, model);
}

}  // namespace

long content_tokens(const simdjson::dom::element& content) {
    std::string_view text;
    if (content.get_string().get(text) == simdjson::SUCCESS) {
        return text_tokens(text);
    }
    simdjson::dom::array parts;
    if (content.get_array().get(parts) != simdjson::SUCCESS) {
        return 0;
    }
    long tokens = 0;
    for (const simdjson::dom::element part : parts) {
        if (part["text"].get_string().get(text) == simdjson::SUCCESS) {
            tokens += text_tokens(text);
        }
    }
    return tokens;
}

namespace {

// Like OpenAI's accounting: a few tokens per message plus its text, plus 3 to prime the reply.
long chat_prompt_tokens(const simdjson::dom::array& messages) {
    long tokens = 3;
    for (const simdjson::dom::element message : messages) {
        tokens += 4;
        simdjson::dom::element content;
        if (message["content"].get(content) == simdjson::SUCCESS) {
            tokens += content_tokens(content);
        }
    }
    return tokens;
}

// Tokens of a `prompt`/`input`: a string, an array of strings, a token array or an array of
// token arrays.
long prompt_tokens(const simdjson::dom::element& prompt) {
    std::string_view text;
    if (prompt.get_string().get(text) == simdjson::SUCCESS) {
        return text_tokens(text);
    }
    simdjson::dom::array items;
    if (prompt.get_array().get(items) != simdjson::SUCCESS) {
        return 0;
    }
    long tokens = 0;
    for (const simdjson::dom::element item : items) {
        simdjson::dom::array inner;
        if (item.get_string().get(text) == simdjson::SUCCESS) {
            tokens += text_tokens(text);
        } else if (item.get_array().get(inner) == simdjson::SUCCESS) {
            tokens += static_cast<long>(inner.size());
        } else {
            tokens += 1;
        }
    }
    return tokens;
}

void set_faults(Context& context) {
    const Controls& controls = context.controls;
    Response& response = context.response;
    response.latency_ms = static_cast<int>(controls.latency_ms);
    response.chunk_delay_ms = static_cast<int>(controls.chunk_delay_ms);
    response.disconnect_after = controls.disconnect_after;
    response.stall_after = controls.stall_after;
}

// ---------------------------------------------------------------------------------------------
// Endpoints

void chat_completions(Context& context) {
    simdjson::dom::object object;
    if (!parse_object(context, object)) {
        return;
    }
    std::string_view model;
    if (!read_model(context, object, model)) {
        return;
    }
    simdjson::dom::array messages;
    if (object["messages"].get_array().get(messages) != simdjson::SUCCESS) {
        respond_missing_parameter(context, "messages");
        return;
    }
    const long prompt = chat_prompt_tokens(messages);
    const bool stream = read_bool(object["stream"]);
    const bool include_usage = read_bool(object["stream_options"]["include_usage"]);
    if (context.controls.content_filter == "prompt") {
        // Azure OpenAI's prompt filter: 400 with code content_filter and the category results.
        context.response.body =
            "{\"error\":{\"message\":\"The response was filtered due to the prompt triggering "
            "Azure OpenAI's content management policy. Please modify your prompt and retry.\","
            "\"type\":null,\"param\":\"prompt\",\"code\":\"content_filter\",\"status\":400,"
            "\"innererror\":{\"code\":\"ResponsibleAIPolicyViolation\","
            "\"content_filter_result\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"},"
            "\"self_harm\":{\"filtered\":false,\"severity\":\"safe\"},"
            "\"sexual\":{\"filtered\":false,\"severity\":\"safe\"},"
            "\"violence\":{\"filtered\":true,\"severity\":\"medium\"}}}}}";
        respond_json(context, 400);
        return;
    }
    // Azure OpenAI's completion filter: the answer is cut, its finish_reason is content_filter
    // and the filter results ride along (streams: see StreamRenderer).
    const bool filtered = !stream && context.controls.content_filter == "completion";

    std::string_view tool_name;
    simdjson::dom::array tools;
    const bool wants_tool = context.controls.tool_call == 1 &&
                            object["tools"].get_array().get(tools) == simdjson::SUCCESS &&
                            tools.begin() != tools.end();
    if (wants_tool) {
        // A named tool_choice wins, else the first tool (`function.name`, or a flat `name`).
        if (object["tool_choice"]["function"]["name"].get_string().get(tool_name) !=
                simdjson::SUCCESS &&
            tools.at(0)["function"]["name"].get_string().get(tool_name) != simdjson::SUCCESS &&
            tools.at(0)["name"].get_string().get(tool_name) != simdjson::SUCCESS) {
            tool_name = "tool";
        }
    }

    const std::uint64_t sequence = next_sequence();
    const std::int64_t created = unix_now();
    const long chunks = context.controls.chunks;
    const long bytes_per_chunk = context.controls.bytes_per_chunk;
    Response& response = context.response;
    if (stream) {
        StreamRenderer::Setup setup;
        setup.kind =
            wants_tool ? StreamRenderer::Kind::ChatToolCall : StreamRenderer::Kind::ChatText;
        setup.sequence = sequence;
        setup.created = created;
        setup.model = model;
        setup.tool_name = tool_name;
        setup.chunks = chunks;
        setup.bytes_per_chunk = bytes_per_chunk;
        setup.include_usage = include_usage;
        setup.prompt_tokens = prompt;
        setup.content_filter = context.controls.content_filter == "completion";
        response.renderer.reset(setup);
        response.stream = true;
        write_head(context, 200, kEventStream, true);
        return;
    }

    std::string& body = response.body;
    body.clear();
    body += "{\"id\":\"chatcmpl-mock-";
    append_uint(body, sequence);
    body += "\",\"object\":\"chat.completion\",\"created\":";
    append_int(body, created);
    body += ",\"model\":";
    append_quoted(body, model);
    long completion = chunks;
    if (wants_tool) {
        completion = static_cast<long>(kToolArgumentFragmentCount);
        body +=
            ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
            "\"tool_calls\":[{\"id\":\"";
        append_call_id(body, sequence);
        body += "\",\"type\":\"function\",\"function\":{\"name\":";
        append_quoted(body, tool_name);
        body += ",\"arguments\":\"";
        for (const std::string_view fragment : kToolArgumentFragments) {
            append_escaped(body, fragment);
        }
        body +=
            "\"}}],\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
            "\"usage\":";
    } else if (filtered) {
        completion = 1;
        body +=
            ",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{"
            "\"hate\":{\"filtered\":false,\"severity\":\"safe\"},"
            "\"violence\":{\"filtered\":false,\"severity\":\"safe\"}}}]";
        body += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"";
        append_word(body, 0, bytes_per_chunk);
        body +=
            "\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"content_filter\","
            "\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"},"
            "\"violence\":{\"filtered\":true,\"severity\":\"high\"}}}],\"usage\":";
    } else {
        body += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"";
        for (long i = 0; i < chunks; ++i) {
            append_word(body, i, bytes_per_chunk);
        }
        body +=
            "\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
            "\"usage\":";
    }
    append_chat_usage(body, prompt, completion);
    body += ",\"system_fingerprint\":\"";
    body += kFingerprint;
    body += "\"}";
    respond_json(context, 200);
}

void completions(Context& context) {
    simdjson::dom::object object;
    if (!parse_object(context, object)) {
        return;
    }
    std::string_view model;
    if (!read_model(context, object, model)) {
        return;
    }
    simdjson::dom::element prompt_value;
    if (object["prompt"].get(prompt_value) != simdjson::SUCCESS) {
        respond_missing_parameter(context, "prompt");
        return;
    }
    const long prompt = prompt_tokens(prompt_value);
    const bool stream = read_bool(object["stream"]);
    const bool include_usage = read_bool(object["stream_options"]["include_usage"]);

    const std::uint64_t sequence = next_sequence();
    const std::int64_t created = unix_now();
    const long chunks = context.controls.chunks;
    const long bytes_per_chunk = context.controls.bytes_per_chunk;
    Response& response = context.response;
    if (stream) {
        StreamRenderer::Setup setup;
        setup.kind = StreamRenderer::Kind::CompletionText;
        setup.sequence = sequence;
        setup.created = created;
        setup.model = model;
        setup.chunks = chunks;
        setup.bytes_per_chunk = bytes_per_chunk;
        setup.include_usage = include_usage;
        setup.prompt_tokens = prompt;
        response.renderer.reset(setup);
        response.stream = true;
        write_head(context, 200, kEventStream, true);
        return;
    }
    std::string& body = response.body;
    body.clear();
    body += "{\"id\":\"cmpl-mock-";
    append_uint(body, sequence);
    body += "\",\"object\":\"text_completion\",\"created\":";
    append_int(body, created);
    body += ",\"model\":";
    append_quoted(body, model);
    body += ",\"system_fingerprint\":\"";
    body += kFingerprint;
    body += "\",\"choices\":[{\"text\":\"";
    for (long i = 0; i < chunks; ++i) {
        append_word(body, i, bytes_per_chunk);
    }
    body += "\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":";
    append_completion_usage(body, prompt, chunks);
    body += '}';
    respond_json(context, 200);
}

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void append_base64(std::string& out, const unsigned char* data, std::size_t size) {
    std::size_t i = 0;
    for (; i + 3 <= size; i += 3) {
        const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) |
                                std::uint32_t{data[i + 2]};
        out += kBase64Alphabet[(v >> 18) & 63];
        out += kBase64Alphabet[(v >> 12) & 63];
        out += kBase64Alphabet[(v >> 6) & 63];
        out += kBase64Alphabet[v & 63];
    }
    if (i + 1 == size) {
        const std::uint32_t v = std::uint32_t{data[i]} << 16;
        out += kBase64Alphabet[(v >> 18) & 63];
        out += kBase64Alphabet[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == size) {
        const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
        out += kBase64Alphabet[(v >> 18) & 63];
        out += kBase64Alphabet[(v >> 12) & 63];
        out += kBase64Alphabet[(v >> 6) & 63];
        out += '=';
    }
}

// A unit vector derived from `seed` only: the same input always embeds the same way.
void make_embedding(std::uint64_t seed, std::vector<float>& values) {
    double norm = 0;
    for (std::size_t j = 0; j < values.size(); ++j) {
        const std::uint64_t bits = splitmix64(seed ^ (j * 0x9e3779b97f4a7c15ULL));
        const double v = static_cast<double>(bits >> 11) * 0x1.0p-53 * 2.0 - 1.0;
        values[j] = static_cast<float>(v);
        norm += v * v;
    }
    if (norm > 0) {
        const double scale = 1.0 / std::sqrt(norm);
        for (float& v : values) {
            v = static_cast<float>(v * scale);
        }
    }
}

void append_embedding(std::string& out, std::size_t index, std::uint64_t seed, bool base64,
                      std::vector<float>& values) {
    make_embedding(seed, values);
    if (index > 0) {
        out += ',';
    }
    out += "{\"object\":\"embedding\",\"index\":";
    append_uint(out, index);
    out += ",\"embedding\":";
    if (base64) {
        out += '"';
        append_base64(out, reinterpret_cast<const unsigned char*>(values.data()),
                      values.size() * sizeof(float));
        out += '"';
    } else {
        out += '[';
        char buf[32];
        for (std::size_t j = 0; j < values.size(); ++j) {
            if (j > 0) {
                out += ',';
            }
            const auto result = std::to_chars(buf, buf + sizeof(buf), values[j]);
            out.append(buf, result.ptr);
        }
        out += ']';
    }
    out += '}';
}

std::uint64_t token_array_seed(const simdjson::dom::array& tokens) {
    std::uint64_t seed = kFnvOffset ^ 0x746f6b656e73ULL;  // distinct from text seeds
    for (const simdjson::dom::element token : tokens) {
        std::int64_t value = 0;
        if (token.get_int64().get(value) != simdjson::SUCCESS) {
            value = -1;
        }
        seed = fnv1a(seed, &value, sizeof(value));
    }
    return seed;
}

void embeddings(Context& context) {
    simdjson::dom::object object;
    if (!parse_object(context, object)) {
        return;
    }
    std::string_view model;
    if (!read_model(context, object, model)) {
        return;
    }
    simdjson::dom::element input;
    if (object["input"].get(input) != simdjson::SUCCESS || input.is_null()) {
        respond_missing_parameter(context, "input");
        return;
    }
    std::int64_t dimensions = 8;
    simdjson::dom::element dimensions_value;
    if (object["dimensions"].get(dimensions_value) == simdjson::SUCCESS &&
        !dimensions_value.is_null()) {
        if (dimensions_value.get_int64().get(dimensions) != simdjson::SUCCESS || dimensions < 1 ||
            dimensions > 65536) {
            respond_invalid_value(context, "dimensions",
                                  "Invalid value for 'dimensions': must be an integer from 1 to "
                                  "65536.");
            return;
        }
    }
    bool base64 = false;
    simdjson::dom::element format_value;
    if (object["encoding_format"].get(format_value) == simdjson::SUCCESS &&
        !format_value.is_null()) {
        std::string_view format;
        if (format_value.get_string().get(format) != simdjson::SUCCESS ||
            (format != "float" && format != "base64")) {
            respond_invalid_value(context, "encoding_format",
                                  "Invalid value for 'encoding_format': supported values are "
                                  "'float' and 'base64'.");
            return;
        }
        base64 = format == "base64";
    }

    // Inputs: one string, one token array, or an array of strings / token arrays.
    thread_local std::vector<float> values;
    values.resize(static_cast<std::size_t>(dimensions));
    std::string& body = context.response.body;
    body.clear();
    body += "{\"object\":\"list\",\"data\":[";
    long tokens = 0;
    std::size_t count = 0;
    constexpr std::size_t kMaxFloats = std::size_t{1} << 24;
    std::string_view text;
    simdjson::dom::array items;
    if (input.get_string().get(text) == simdjson::SUCCESS) {
        tokens = text_tokens(text);
        append_embedding(body, count++, fnv1a(kFnvOffset, text.data(), text.size()), base64,
                         values);
    } else if (input.get_array().get(items) == simdjson::SUCCESS) {
        simdjson::dom::element first;
        if (items.at(0).get(first) != simdjson::SUCCESS) {
            respond_invalid_value(context, "input", "'input' must not be empty.");
            return;
        }
        if (first.is_number()) {
            tokens = static_cast<long>(items.size());
            append_embedding(body, count++, token_array_seed(items), base64, values);
        } else {
            for (const simdjson::dom::element item : items) {
                simdjson::dom::array token_array;
                if ((count + 1) * values.size() > kMaxFloats) {
                    respond_invalid_value(context, "input", "Too many inputs for the mock.");
                    return;
                }
                if (item.get_string().get(text) == simdjson::SUCCESS) {
                    tokens += text_tokens(text);
                    append_embedding(body, count++, fnv1a(kFnvOffset, text.data(), text.size()),
                                     base64, values);
                } else if (item.get_array().get(token_array) == simdjson::SUCCESS) {
                    tokens += static_cast<long>(token_array.size());
                    append_embedding(body, count++, token_array_seed(token_array), base64, values);
                } else {
                    respond_invalid_value(context, "input",
                                          "'input' items must be strings or token arrays.");
                    return;
                }
            }
        }
    } else {
        respond_invalid_value(context, "input",
                              "'input' must be a string, an array of strings or token arrays.");
        return;
    }
    body += "],\"model\":";
    append_quoted(body, model);
    body += ",\"usage\":{\"prompt_tokens\":";
    append_int(body, tokens);
    body += ",\"total_tokens\":";
    append_int(body, tokens);
    body += "}}";
    respond_json(context, 200);
}

void append_model_object(std::string& out, std::string_view id) {
    out += "{\"id\":";
    append_quoted(out, id);
    out += ",\"object\":\"model\",\"created\":1715367049,\"owned_by\":\"system\"}";
}

void list_models(Context& context) {
    if (respond_status_control(context, {})) {
        return;
    }
    std::string& body = context.response.body;
    body.clear();
    body += "{\"object\":\"list\",\"data\":[";
    bool first = true;
    for (const std::string_view id : kModelIds) {
        if (!first) {
            body += ',';
        }
        first = false;
        append_model_object(body, id);
    }
    body += "]}";
    respond_json(context, 200);
}

void retrieve_model(Context& context, std::string_view id) {
    if (respond_status_control(context, id)) {
        return;
    }
    context.response.body.clear();
    append_model_object(context.response.body, id);
    respond_json(context, 200);
}

void respond_invalid_url(Context& context) {
    std::string message = "Invalid URL (";
    message += context.request.method;
    message += ' ';
    message += context.request.path;
    message += ')';
    respond_error(context, 404, message, "invalid_request_error");
}

void respond_method_not_allowed(Context& context, std::string_view allow) {
    std::string message = "Invalid method for URL (";
    message += context.request.method;
    message += ' ';
    message += context.request.path;
    message += ')';
    context.response.body.clear();
    append_error(context.response.body, message, "invalid_request_error", {}, {});
    std::string extra = "allow: ";
    extra += allow;
    extra += "\r\n";
    write_head(context, 405, kJson, false, extra);
}

// Masks a key like OpenAI does: a few characters at each end, stars between.
std::string mask_key(std::string_view key) {
    std::string masked;
    if (key.size() < 12) {
        masked.assign(std::min<std::size_t>(key.size(), 40), '*');
        return masked;
    }
    masked.assign(key.substr(0, 3));
    masked.append(std::min<std::size_t>(key.size() - 7, 40), '*');
    masked.append(key.substr(key.size() - 4));
    for (char& c : masked) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
            c = '?';
        }
    }
    return masked;
}

bool check_auth(Context& context, std::string_view api_key) {
    const Header* header = find_header(context.request, "authorization");
    if (header == nullptr) {
        respond_error(context, 401,
                      "You didn't provide an API key. You need to provide your API key in an "
                      "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                      "YOUR_KEY), or as the password field (with blank username) if you're "
                      "accessing the API from your browser and are prompted for a username and "
                      "password. You can obtain an API key from "
                      "https://platform.openai.com/account/api-keys.",
                      "invalid_request_error", {}, "invalid_api_key");
        return false;
    }
    const std::string_view value = trim(header->value);
    const bool bearer = value.size() >= 7 && iequals(value.substr(0, 7), "bearer ");
    const std::string_view key = bearer ? trim(value.substr(7)) : value;
    if (bearer && key == api_key) {
        return true;
    }
    std::string message = "Incorrect API key provided: ";
    message += mask_key(key);
    message += ". You can find your API key at https://platform.openai.com/account/api-keys.";
    respond_error(context, 401, message, "invalid_request_error", {}, "invalid_api_key");
    return false;
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages: POST /v1/messages (shared/fixtures/providers/anthropic/).

// Anthropic's `request-id` header (and `x-should-retry` on errors, as api.anthropic.com sends).
std::string messages_headers(const Context& context, int status) {
    std::string headers = "request-id: req_mock";
    append_uint(headers, context.number);
    headers += "\r\n";
    if (status >= 400) {
        const bool retry = status == 408 || status == 409 || status == 429 || status >= 500;
        headers += retry ? "x-should-retry: true\r\n" : "x-should-retry: false\r\n";
    }
    return headers;
}

// Anthropic's error body: {"type":"error","error":{"type","message"},"request_id"}.
void respond_messages_error(Context& context, int status, std::string_view type,
                            std::string_view message) {
    std::string& body = context.response.body;
    body.clear();
    body += "{\"type\":\"error\",\"error\":{\"type\":";
    append_quoted(body, type);
    body += ",\"message\":";
    append_quoted(body, message);
    body += "},\"request_id\":\"req_mock";
    append_uint(body, context.number);
    body += "\"}";
    write_head(context, status, kJson, false, messages_headers(context, status));
}

bool check_messages_auth(Context& context, std::string_view api_key) {
    const Header* header = find_header(context.request, "x-api-key");
    if (header == nullptr) {
        respond_messages_error(context, 401, "authentication_error",
                               "x-api-key header is required");
        return false;
    }
    if (trim(header->value) == api_key) {
        return true;
    }
    respond_messages_error(context, 401, "authentication_error", "invalid x-api-key");
    return false;
}

// Answers the `status` control with Anthropic's error for it. Returns true if it did.
bool respond_messages_status_control(Context& context, std::string_view model) {
    const Controls& controls = context.controls;
    if ((controls.set & kStatus) == 0 || controls.status < 400) {
        return false;
    }
    const int status = static_cast<int>(controls.status);
    if ((controls.set & kErrorBody) != 0) {
        context.response.body.assign(controls.error_body);
        write_head(context, status, kJson, false, messages_headers(context, status));
        return true;
    }
    std::string message;
    std::string_view type = status >= 500 ? "api_error" : "invalid_request_error";
    switch (status) {
        case 400:
            message = "The mock provider was asked to reject this request.";
            break;
        case 401:
            type = "authentication_error";
            message = "invalid x-api-key";
            break;
        case 402:
            type = "billing_error";
            message = "Your credit balance is too low to access the Anthropic API.";
            break;
        case 403:
            type = "permission_error";
            message = "Your API key does not have permission to use the specified resource.";
            break;
        case 404:
            type = "not_found_error";
            message = "model: ";
            message += model.empty() ? "unknown" : model;
            break;
        case 413:
            type = "request_too_large";
            message = "Request exceeds the maximum allowed number of bytes.";
            break;
        case 429:
            type = "rate_limit_error";
            message =
                "This request would exceed the rate limit for your organization (org-mock) of 50 "
                "requests per minute. For details, refer to: "
                "https://docs.claude.com/en/api/rate-limits.";
            break;
        case 500:
            message = "Internal server error";
            break;
        case 529:
            type = "overloaded_error";
            message = "Overloaded";
            break;
        default:
            message = status >= 500 ? "The mock provider was asked to fail with this status."
                                    : "The mock provider was asked to reject this request.";
    }
    respond_messages_error(context, status, type, message);
    return true;
}

// The Anthropic error type the `stream_error` control asks for; empty for none.
std::string_view messages_stream_error(std::string_view value) {
    if (value == "overloaded" || value == "overloaded_error") {
        return "overloaded_error";
    }
    if (value == "api_error") {
        return "api_error";
    }
    return {};
}

// The mock's thinking signature: "mocksig-" + FNV-1a of the thinking text in hex, so a
// thinking block sent back with its text or signature changed does not verify.
std::string thinking_signature(std::string_view thinking) {
    std::string out = "mocksig-";
    const std::uint64_t hash = fnv1a(kFnvOffset, thinking.data(), thinking.size());
    static constexpr char kHex[] = "0123456789abcdef";
    for (int shift = 60; shift >= 0; shift -= 4) {
        out += kHex[(hash >> shift) & 0xF];
    }
    return out;
}

// With thinking enabled Anthropic checks the assistant turns sent back: every thinking block
// must carry its valid signature, and the last assistant turn, when it used tools, must start
// with a thinking or redacted_thinking block. Answers the 400 and returns false when a check
// fails.
bool check_thinking_turns(Context& context, const simdjson::dom::array& messages) {
    std::size_t i = 0;
    std::size_t last_assistant = 0;
    bool any_assistant = false;
    for (const simdjson::dom::element message : messages) {
        std::string_view role;
        if (message["role"].get_string().get(role) == simdjson::SUCCESS && role == "assistant") {
            last_assistant = i;
            any_assistant = true;
            simdjson::dom::array blocks;
            if (message["content"].get_array().get(blocks) == simdjson::SUCCESS) {
                std::size_t j = 0;
                for (const simdjson::dom::element block : blocks) {
                    std::string_view type;
                    std::string_view thinking;
                    std::string_view signature;
                    if (block["type"].get_string().get(type) == simdjson::SUCCESS &&
                        type == "thinking" &&
                        (block["thinking"].get_string().get(thinking) != simdjson::SUCCESS ||
                         block["signature"].get_string().get(signature) != simdjson::SUCCESS ||
                         signature != thinking_signature(thinking))) {
                        std::string text = "messages.";
                        append_uint(text, i);
                        text += ".content.";
                        append_uint(text, j);
                        text += ": Invalid `signature` in `thinking` block";
                        respond_messages_error(context, 400, "invalid_request_error", text);
                        return false;
                    }
                    ++j;
                }
            }
        }
        ++i;
    }
    if (!any_assistant) {
        return true;
    }
    simdjson::dom::array blocks;
    if (messages.at(last_assistant)["content"].get_array().get(blocks) != simdjson::SUCCESS ||
        blocks.begin() == blocks.end()) {
        return true;
    }
    bool uses_tool = false;
    for (const simdjson::dom::element block : blocks) {
        std::string_view type;
        uses_tool = uses_tool || (block["type"].get_string().get(type) == simdjson::SUCCESS &&
                                  type == "tool_use");
    }
    std::string_view first;
    if (!uses_tool || (blocks.at(0)["type"].get_string().get(first) == simdjson::SUCCESS &&
                       (first == "thinking" || first == "redacted_thinking"))) {
        return true;
    }
    std::string text = "messages.";
    append_uint(text, last_assistant);
    text += ".content.0.type: Expected `thinking` or `redacted_thinking`, but found `";
    text += first;
    text +=
        "`. When `thinking` is enabled, a final `assistant` message must start with a thinking "
        "block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We "
        "recommend you include thinking blocks from previous turns. To avoid this requirement, "
        "disable `thinking`. Please consult our documentation at "
        "https://docs.claude.com/en/docs/build-with-claude/extended-thinking";
    respond_messages_error(context, 400, "invalid_request_error", text);
    return false;
}

long system_tokens(const simdjson::dom::element& system) {
    return content_tokens(system);
}

void messages(Context& context) {
    if (find_header(context.request, "anthropic-version") == nullptr) {
        respond_messages_error(context, 400, "invalid_request_error",
                               "anthropic-version: header is required");
        return;
    }
    const std::string_view raw = context.request.body;
    simdjson::dom::element root;
    simdjson::dom::object object;
    if (json_parser().parse(raw.data(), raw.size(), false).get(root) != simdjson::SUCCESS ||
        root.get_object().get(object) != simdjson::SUCCESS) {
        if (!respond_messages_status_control(context, {})) {
            respond_messages_error(context, 400, "invalid_request_error",
                                   "There was an error parsing the body of your request: it is "
                                   "not a JSON object.");
        }
        return;
    }
    std::string_view model;
    if (object["model"].get_string().get(model) != simdjson::SUCCESS) {
        if (!respond_messages_status_control(context, {})) {
            respond_messages_error(context, 400, "invalid_request_error", "model: Field required");
        }
        return;
    }
    model = apply_model_controls(model, context.controls);
    if (respond_messages_status_control(context, model)) {
        return;
    }
    std::int64_t max_tokens = 0;
    simdjson::dom::element max_tokens_value;
    if (object["max_tokens"].get(max_tokens_value) != simdjson::SUCCESS) {
        respond_messages_error(context, 400, "invalid_request_error", "max_tokens: Field required");
        return;
    }
    if (max_tokens_value.get_int64().get(max_tokens) != simdjson::SUCCESS || max_tokens < 1) {
        respond_messages_error(context, 400, "invalid_request_error",
                               "max_tokens: Input should be an integer greater than or equal to 1");
        return;
    }
    simdjson::dom::array messages_array;
    if (object["messages"].get_array().get(messages_array) != simdjson::SUCCESS) {
        respond_messages_error(context, 400, "invalid_request_error", "messages: Field required");
        return;
    }
    long prompt = chat_prompt_tokens(messages_array);
    simdjson::dom::element system;
    if (object["system"].get(system) == simdjson::SUCCESS) {
        prompt += system_tokens(system);
    }
    const bool stream = read_bool(object["stream"]);

    std::string_view thinking_type;
    const bool thinking_enabled =
        object["thinking"]["type"].get_string().get(thinking_type) == simdjson::SUCCESS &&
        thinking_type == "enabled";
    if (thinking_enabled && !check_thinking_turns(context, messages_array)) {
        return;
    }

    std::string_view tool_name;
    simdjson::dom::array tools;
    const bool wants_tool = context.controls.tool_call == 1 &&
                            object["tools"].get_array().get(tools) == simdjson::SUCCESS &&
                            tools.begin() != tools.end();
    if (wants_tool) {
        // A `{"type":"tool","name":...}` tool_choice wins, else the first tool.
        if (object["tool_choice"]["name"].get_string().get(tool_name) != simdjson::SUCCESS &&
            tools.at(0)["name"].get_string().get(tool_name) != simdjson::SUCCESS) {
            tool_name = "tool";
        }
    }
    // The answer honours max_tokens: a longer one is cut with stop_reason max_tokens.
    const long words =
        static_cast<long>(std::min<std::int64_t>(context.controls.chunks, max_tokens));
    const std::string_view stop_reason =
        wants_tool ? "tool_use"
                   : (context.controls.chunks > max_tokens ? "max_tokens" : "end_turn");

    const std::uint64_t sequence = next_sequence();
    // With thinking, a thinking block first: its text names this answer, its signature is
    // derived from the text (thinking_signature).
    std::string thinking;
    std::string signature;
    if (thinking_enabled) {
        thinking = "Mock reasoning for answer ";
        append_uint(thinking, sequence);
        thinking += '.';
        signature = thinking_signature(thinking);
    }
    Response& response = context.response;
    if (stream) {
        StreamRenderer::Setup setup;
        setup.kind =
            wants_tool ? StreamRenderer::Kind::MessagesToolUse : StreamRenderer::Kind::MessagesText;
        setup.sequence = sequence;
        setup.model = model;
        setup.tool_name = tool_name;
        setup.chunks = words;
        setup.bytes_per_chunk = context.controls.bytes_per_chunk;
        setup.prompt_tokens = prompt;
        setup.stop_reason = stop_reason;
        setup.error_type = messages_stream_error(context.controls.stream_error);
        setup.thinking = thinking;
        setup.signature = signature;
        response.renderer.reset(setup);
        response.stream = true;
        write_head(context, 200, kEventStream, true, messages_headers(context, 200));
        return;
    }

    std::string& body = response.body;
    body.clear();
    body += "{\"model\":";
    append_quoted(body, model);
    body += ",\"id\":\"";
    append_mock_id(body, "msg_", sequence);
    body += "\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[";
    long completion = words;
    if (thinking_enabled) {
        body += "{\"type\":\"thinking\",\"thinking\":";
        append_quoted(body, thinking);
        body += ",\"signature\":";
        append_quoted(body, signature);
        body += '}';
        if (wants_tool || words > 0) {
            body += ',';
        }
    }
    if (wants_tool) {
        completion = static_cast<long>(kMessagesToolFragmentCount);
        body += "{\"type\":\"tool_use\",\"id\":\"";
        append_mock_id(body, "toolu_", sequence);
        body += "\",\"name\":";
        append_quoted(body, tool_name);
        body += ",\"input\":";
        for (const std::string_view fragment : kMessagesToolFragments) {
            body += fragment;
        }
        body += '}';
    } else if (words > 0) {
        body += "{\"type\":\"text\",\"text\":\"";
        for (long i = 0; i < words; ++i) {
            append_word(body, i, context.controls.bytes_per_chunk);
        }
        body += "\"}";
    }
    body += "],\"stop_reason\":";
    append_quoted(body, stop_reason);
    body += ",\"stop_sequence\":null,\"usage\":";
    append_messages_usage(body, prompt, completion);
    body += '}';
    write_head(context, 200, kJson, false, messages_headers(context, 200));
}

// POST /v1/messages/count_tokens: {"input_tokens": N}, N counted as a message's input_tokens.
// Same header and status-control checks as /v1/messages; no max_tokens.
void count_message_tokens(Context& context) {
    if (find_header(context.request, "anthropic-version") == nullptr) {
        respond_messages_error(context, 400, "invalid_request_error",
                               "anthropic-version: header is required");
        return;
    }
    const std::string_view raw = context.request.body;
    simdjson::dom::element root;
    simdjson::dom::object object;
    if (json_parser().parse(raw.data(), raw.size(), false).get(root) != simdjson::SUCCESS ||
        root.get_object().get(object) != simdjson::SUCCESS) {
        respond_messages_error(context, 400, "invalid_request_error",
                               "There was an error parsing the body of your request: it is "
                               "not a JSON object.");
        return;
    }
    std::string_view model;
    if (object["model"].get_string().get(model) != simdjson::SUCCESS) {
        respond_messages_error(context, 400, "invalid_request_error", "model: Field required");
        return;
    }
    model = apply_model_controls(model, context.controls);
    if (respond_messages_status_control(context, model)) {
        return;
    }
    simdjson::dom::array messages_array;
    if (object["messages"].get_array().get(messages_array) != simdjson::SUCCESS) {
        respond_messages_error(context, 400, "invalid_request_error", "messages: Field required");
        return;
    }
    long prompt = chat_prompt_tokens(messages_array);
    simdjson::dom::element system;
    if (object["system"].get(system) == simdjson::SUCCESS) {
        prompt += system_tokens(system);
    }
    std::string& body = context.response.body;
    body.assign("{\"input_tokens\":");
    append_int(body, prompt);
    body += '}';
    write_head(context, 200, kJson, false, messages_headers(context, 200));
}

// ---------------------------------------------------------------------------------------------
// /_mock endpoints

void append_stats(std::string& out) {
    Counters& c = counters();
    out += "{\"requests\":";
    append_uint(out, c.requests.load(std::memory_order_relaxed));
    out += ",\"completed\":";
    append_uint(out, c.completed.load(std::memory_order_relaxed));
    out += ",\"cancelled\":";
    append_uint(out, c.cancelled.load(std::memory_order_relaxed));
    out += ",\"active\":";
    append_int(out, c.active.load(std::memory_order_relaxed));
    out += ",\"disconnected\":";
    append_uint(out, c.disconnected.load(std::memory_order_relaxed));
}

StatsWait parse_stats_wait(std::string_view query) {
    StatsWait wait;
    long timeout_ms = 10'000;
    while (!query.empty()) {
        const std::size_t end = std::min(query.find('&'), query.size());
        const std::string_view pair = query.substr(0, end);
        query.remove_prefix(std::min(end + 1, query.size()));
        const std::size_t equals = pair.find('=');
        if (equals == std::string_view::npos) {
            continue;
        }
        const std::string_view name = pair.substr(0, equals);
        long value = 0;
        if (!parse_long(pair.substr(equals + 1), value) || value < 0) {
            continue;
        }
        if (name == "wait_requests") {
            wait.requests = static_cast<std::uint64_t>(value);
            wait.active = true;
        } else if (name == "wait_completed") {
            wait.completed = static_cast<std::uint64_t>(value);
            wait.active = true;
        } else if (name == "wait_cancelled") {
            wait.cancelled = static_cast<std::uint64_t>(value);
            wait.active = true;
        } else if (name == "timeout_ms") {
            timeout_ms = value;
        }
    }
    wait.timeout_ms = static_cast<int>(std::clamp(timeout_ms, 0L, 30'000L));
    return wait;
}

void last_request_json(std::string& out) {
    LastRequest& last = last_request();
    const std::lock_guard lock(last.mutex);
    out += "{\"method\":\"";
    append_escaped_bytes(out, last.method);
    out += "\",\"path\":\"";
    append_escaped_bytes(out, last.path);
    out += "\",\"query\":\"";
    append_escaped_bytes(out, last.query);
    out += "\",\"headers\":{";
    // Lower-cased names; repeated headers joined with ", " (RFC 9110 section 5.3).
    std::vector<std::pair<std::string, std::string>> headers;
    std::string_view head = last.head;
    while (!head.empty()) {
        const std::size_t end = std::min(head.find("\r\n"), head.size());
        const std::string_view line = head.substr(0, end);
        head.remove_prefix(std::min(end + 2, head.size()));
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            continue;
        }
        std::string name(line.substr(0, colon));
        for (char& c : name) {
            c = lower(c);
        }
        const std::string_view value = trim(line.substr(colon + 1));
        auto it = std::find_if(headers.begin(), headers.end(),
                               [&](const auto& entry) { return entry.first == name; });
        if (it == headers.end()) {
            headers.emplace_back(std::move(name), std::string(value));
        } else {
            it->second += ", ";
            it->second += value;
        }
    }
    bool first = true;
    for (const auto& [name, value] : headers) {
        if (!first) {
            out += ',';
        }
        first = false;
        out += '"';
        append_escaped_bytes(out, name);
        out += "\":\"";
        append_escaped_bytes(out, value);
        out += '"';
    }
    out += "},\"body\":\"";
    append_escaped_bytes(out, last.body);
    out += "\"}";
}

void reset_counters() {
    Counters& c = counters();
    // `active` counts requests still in flight: it must stay balanced, so it is not reset.
    c.requests.store(0);
    c.completed.store(0);
    c.cancelled.store(0);
    c.disconnected.store(0);
    LastRequest& last = last_request();
    const std::lock_guard lock(last.mutex);
    last.present = false;
    last.method.clear();
    last.path.clear();
    last.query.clear();
    last.head.clear();
    last.body.clear();
}

void mock_endpoint(Context& context) {
    const Request& request = context.request;
    Response& response = context.response;
    if (request.path == "/_mock/stats") {
        if (request.method != "GET") {
            respond_method_not_allowed(context, "GET");
            return;
        }
        response.wait = parse_stats_wait(request.query);
        if (response.wait.active && !stats_wait_satisfied(response.wait)) {
            return;  // the socket layer waits, then calls finish_stats()
        }
        response.wait.active = false;
        response.body.clear();
        append_stats(response.body);
        response.body += '}';
        respond_json(context, 200);
    } else if (request.path == "/_mock/reset") {
        if (request.method != "POST") {
            respond_method_not_allowed(context, "POST");
            return;
        }
        reset_counters();
        response.body.clear();
        append_stats(response.body);
        response.body += '}';
        respond_json(context, 200);
    } else if (request.path == "/_mock/last_request") {
        if (request.method != "GET") {
            respond_method_not_allowed(context, "GET");
            return;
        }
        response.body.clear();
        last_request_json(response.body);
        respond_json(context, 200);
    } else if (request.path == "/_mock/health") {
        response.body.assign("{\"ok\":true}");
        respond_json(context, 200);
    } else {
        respond_invalid_url(context);
    }
}

// `path` is the OpenAI path to serve (Azure requests arrive under their deployment path).
void v1_endpoint(Context& context, std::string_view path) {
    const Request& request = context.request;
    const bool post = request.method == "POST";
    const bool get = request.method == "GET";
    if (path == "/v1/chat/completions") {
        post ? chat_completions(context) : respond_method_not_allowed(context, "POST");
    } else if (path == "/v1/messages") {
        post ? messages(context) : respond_method_not_allowed(context, "POST");
    } else if (path == "/v1/messages/count_tokens") {
        post ? count_message_tokens(context) : respond_method_not_allowed(context, "POST");
    } else if (path == "/v1/completions") {
        post ? completions(context) : respond_method_not_allowed(context, "POST");
    } else if (path == "/v1/embeddings") {
        post ? embeddings(context) : respond_method_not_allowed(context, "POST");
    } else if (path == "/v1/models") {
        get ? list_models(context) : respond_method_not_allowed(context, "GET");
    } else if (path.starts_with("/v1/models/") && path.size() > 11 &&
               path.find('/', 11) == std::string_view::npos) {
        get ? retrieve_model(context, path.substr(11)) : respond_method_not_allowed(context, "GET");
    } else {
        respond_invalid_url(context);
    }
}

// Which API a request is for. Gemini's paths are tested first: POST
// /v1/models/{model}:generateContent is Gemini's v1, not OpenAI's model retrieval (a GET).
enum class Api : std::uint8_t { Mock, OpenAI, Messages, Gemini, Bedrock, Azure };

// Azure OpenAI: /openai/deployments/{deployment}/{chat/completions|completions|embeddings}
// ?api-version=...; returns the OpenAI path ("/v1/chat/completions"), or "" if not Azure's.
std::string azure_openai_path(std::string_view path) {
    constexpr std::string_view kPrefix = "/openai/deployments/";
    if (!path.starts_with(kPrefix)) {
        return {};
    }
    std::string_view rest = path.substr(kPrefix.size());
    auto slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos) {
        return {};
    }
    std::string_view op = rest.substr(slash);
    if (op == "/chat/completions" || op == "/completions" || op == "/embeddings") {
        return "/v1" + std::string(op);
    }
    return {};
}

// Azure authenticates with `api-key` (or a bearer token) and needs `api-version`.
bool check_azure(Context& context, std::string_view api_key) {
    if (context.request.query.find("api-version=") == std::string_view::npos) {
        respond_error(context, 404, "Resource not found", "invalid_request_error", {}, "404");
        return false;
    }
    if (api_key.empty()) {
        return true;
    }
    const Header* header = find_header(context.request, "api-key");
    if (header != nullptr && trim(header->value) == api_key) {
        return true;
    }
    respond_error(context, 401,
                  "Access denied due to invalid subscription key or wrong API endpoint. Make "
                  "sure to provide a valid key for an active subscription and use a correct "
                  "regional API endpoint for your resource.",
                  "invalid_request_error", {}, "401");
    return false;
}

Api classify(const Request& request) {
    const std::string_view path = request.path;
    if (is_gemini_path(request)) {
        return Api::Gemini;
    }
    if (is_bedrock_path(path)) {
        return Api::Bedrock;
    }
    if (path == "/v1/messages" || path == "/v1/messages/count_tokens") {
        return Api::Messages;
    }
    if (!azure_openai_path(path).empty()) {
        return Api::Azure;
    }
    if (path == "/v1" || path.starts_with("/v1/")) {
        return Api::OpenAI;
    }
    return Api::Mock;
}

const Request& empty_request() {
    static const Request request;
    return request;
}

}  // namespace

Counters& counters() {
    static Counters instance;
    return instance;
}

void count_outcome(Outcome outcome) {
    Counters& c = counters();
    switch (outcome) {
        case Outcome::Completed:
            c.completed.fetch_add(1, std::memory_order_relaxed);
            break;
        case Outcome::Cancelled:
            c.cancelled.fetch_add(1, std::memory_order_relaxed);
            break;
        case Outcome::Disconnected:
            c.disconnected.fetch_add(1, std::memory_order_relaxed);
            break;
    }
    c.active.fetch_sub(1, std::memory_order_relaxed);
}

bool stats_wait_satisfied(const StatsWait& wait) {
    const Counters& c = counters();
    return c.requests.load(std::memory_order_relaxed) >= wait.requests &&
           c.completed.load(std::memory_order_relaxed) >= wait.completed &&
           c.cancelled.load(std::memory_order_relaxed) >= wait.cancelled;
}

// ---------------------------------------------------------------------------------------------
// StreamRenderer

void StreamRenderer::reset(const Setup& setup) {
    kind_ = setup.kind;
    chunks_ = setup.chunks;
    bytes_per_chunk_ = setup.bytes_per_chunk;
    include_usage_ = setup.include_usage;
    json_array_ = setup.json_array;
    latency_ms_ = setup.latency_ms;
    content_filter_ = setup.content_filter && setup.kind == Kind::ChatText;
    tool_name_.assign(setup.tool_name);
    model_.assign(setup.model);
    error_type_.assign(setup.error_type);
    prompt_tokens_ = setup.prompt_tokens;
    thinking_.assign(setup.thinking);
    signature_.assign(setup.signature);
    call_id_.clear();
    message_id_.clear();
    if (gemini() || bedrock()) {
        if (gemini()) {
            append_mock_id(message_id_, "", setup.sequence);  // the responseId
        } else {
            append_mock_id(call_id_, "tooluse_", setup.sequence);
        }
        stop_reason_.assign(setup.stop_reason);
        return;
    }

    prefix_.clear();
    if (kind_ == Kind::CompletionText) {
        prefix_ += "{\"id\":\"cmpl-mock-";
        append_uint(prefix_, setup.sequence);
        prefix_ += "\",\"object\":\"text_completion\",\"created\":";
    } else {
        prefix_ += "{\"id\":\"chatcmpl-mock-";
        append_uint(prefix_, setup.sequence);
        prefix_ += "\",\"object\":\"chat.completion.chunk\",\"created\":";
    }
    append_int(prefix_, setup.created);
    prefix_ += ",\"model\":";
    append_quoted(prefix_, setup.model);
    prefix_ += ",\"system_fingerprint\":\"";
    prefix_ += kFingerprint;
    prefix_ += "\",\"choices\":[";

    usage_.clear();
    const long completion = static_cast<long>(content_count());
    if (kind_ == Kind::CompletionText) {
        append_completion_usage(usage_, setup.prompt_tokens, completion);
    } else {
        append_chat_usage(usage_, setup.prompt_tokens, completion);
    }
    if (messages()) {
        append_mock_id(call_id_, "toolu_", setup.sequence);
    } else {
        append_call_id(call_id_, setup.sequence);
    }
    append_mock_id(message_id_, "msg_", setup.sequence);
    stop_reason_.assign(setup.stop_reason.empty() ? std::string_view("end_turn")
                                                  : setup.stop_reason);
}

std::size_t StreamRenderer::content_count() const {
    switch (kind_) {
        case Kind::ChatToolCall:
            return kToolArgumentFragmentCount;
        case Kind::MessagesToolUse:
            return kMessagesToolFragmentCount;
        case Kind::GeminiToolCall:
            return 1;  // the whole call in one event, as the Developer API sends it
        case Kind::BedrockToolUse:
            return kToolArgumentFragmentCount;
        default:
            return static_cast<std::size_t>(chunks_);
    }
}

void StreamRenderer::append_event(std::size_t index, std::string& out) {
    scratch_.clear();
    if (messages()) {
        append_messages_event(index, scratch_);
    } else if (gemini()) {
        append_gemini_event(index, scratch_);
    } else if (bedrock()) {
        append_bedrock_event(index, scratch_);
    } else {
        scratch_ += "data: ";
        append_payload(index, scratch_);
        scratch_ += "\n\n";
    }
    append_hex(out, scratch_.size());
    out += "\r\n";
    out += scratch_;
    out += "\r\n";
}

void StreamRenderer::append_payload(std::size_t index, std::string& out) const {
    const std::size_t count = event_count();
    if (index + 1 == count) {
        out += "[DONE]";
        return;
    }
    if (include_usage_ && index + 2 == count) {
        // OpenAI's usage chunk: no choices, the usage object.
        out += prefix_;
        out += "],\"usage\":";
        out += usage_;
        out += '}';
        return;
    }
    out += prefix_;
    const std::size_t begin = content_begin();
    const std::size_t content_end = begin + content_count();
    if (index < begin) {
        if (kind_ == Kind::ChatToolCall) {
            out +=
                "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                "[{\"index\":0,\"id\":\"";
            out += call_id_;
            out += "\",\"type\":\"function\",\"function\":{\"name\":";
            append_quoted(out, tool_name_);
            out +=
                ",\"arguments\":\"\"}}],\"refusal\":null},\"logprobs\":null,"
                "\"finish_reason\":null}";
        } else {
            out +=
                "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":"
                "null},\"logprobs\":null,\"finish_reason\":null}";
        }
    } else if (index < content_end) {
        const std::size_t k = index - begin;
        switch (kind_) {
            case Kind::ChatText:
                out += "{\"index\":0,\"delta\":{\"content\":\"";
                append_word(out, static_cast<long>(k), bytes_per_chunk_);
                out += "\"},\"logprobs\":null,\"finish_reason\":null}";
                break;
            case Kind::ChatToolCall:
                out += "{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{";
                out += "\"arguments\":\"";
                append_escaped(out, kToolArgumentFragments[k]);
                out += "\"}}]},\"logprobs\":null,\"finish_reason\":null}";
                break;
            case Kind::CompletionText:
                out += "{\"text\":\"";
                append_word(out, static_cast<long>(k), bytes_per_chunk_);
                out += "\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}";
                break;
            case Kind::MessagesText:
            case Kind::MessagesToolUse:
            case Kind::GeminiText:
            case Kind::GeminiToolCall:
            case Kind::BedrockText:
            case Kind::BedrockToolUse:
                break;  // rendered by append_{messages,gemini,bedrock}_event
        }
    } else {
        switch (kind_) {
            case Kind::ChatText:
                out += content_filter_
                           ? "{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"
                             "\"content_filter\",\"content_filter_results\":{\"violence\":{"
                             "\"filtered\":true,\"severity\":\"high\"}}}"
                           : "{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"
                             "\"stop\"}";
                break;
            case Kind::ChatToolCall:
                out +=
                    "{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"
                    "\"tool_calls\"}";
                break;
            case Kind::CompletionText:
                out += "{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}";
                break;
            case Kind::MessagesText:
            case Kind::MessagesToolUse:
            case Kind::GeminiText:
            case Kind::GeminiToolCall:
            case Kind::BedrockText:
            case Kind::BedrockToolUse:
                break;  // rendered by append_{messages,gemini,bedrock}_event
        }
    }
    out += ']';
    if (content_filter_ && index < begin) {
        out +=
            ",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{"
            "\"hate\":{\"filtered\":false,\"severity\":\"safe\"}}}]";
    }
    if (include_usage_) {
        out += ",\"usage\":null";
    }
    out += '}';
}

// One Anthropic SSE event, as recorded from api.anthropic.com
// (shared/fixtures/providers/anthropic/stream.*.sse).
void StreamRenderer::append_messages_event(std::size_t index, std::string& out) const {
    const std::size_t begin = content_begin();
    const std::size_t end = begin + content_count();
    const bool tool = kind_ == Kind::MessagesToolUse;
    const bool thinking = begin > 3;
    // The content block's index: 1 after a thinking block.
    const char* block = thinking ? "1" : "0";
    auto content_block_start = [&] {
        out += "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":";
        out += block;
        out += ',';
        if (tool) {
            out += "\"content_block\":{\"type\":\"tool_use\",\"id\":\"";
            out += call_id_;
            out += "\",\"name\":";
            append_quoted(out, tool_name_);
            out += ",\"input\":{}}}\n\n";
        } else {
            out += "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
        }
    };
    if (index == 0) {
        out += "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":";
        append_quoted(out, model_);
        out += ",\"id\":\"";
        out += message_id_;
        out +=
            "\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"stop_reason\":null,"
            "\"stop_sequence\":null,\"usage\":";
        append_messages_usage(out, prompt_tokens_, 1);
        out += "}}\n\n";
    } else if (index == 2) {
        out += "event: ping\ndata: {\"type\": \"ping\"}\n\n";
    } else if (index < begin && !thinking) {
        content_block_start();  // index 1
    } else if (index < begin) {
        switch (index) {
            case 1:
                out +=
                    "event: content_block_start\ndata: {\"type\":\"content_block_start\","
                    "\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\","
                    "\"signature\":\"\"}}\n\n";
                break;
            case 3:
                out +=
                    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                    "\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":";
                append_quoted(out, thinking_);
                out += "}}\n\n";
                break;
            case 4:
                out +=
                    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                    "\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":";
                append_quoted(out, signature_);
                out += "}}\n\n";
                break;
            case 5:
                out +=
                    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
                    "\"index\":0}\n\n";
                break;
            default:
                content_block_start();  // index 6
                break;
        }
    } else if (index < end) {
        const std::size_t k = index - begin;
        out += "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":";
        out += block;
        out += ',';
        if (tool) {
            out += "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"";
            append_escaped(out, kMessagesToolFragments[k]);
        } else {
            out += "\"delta\":{\"type\":\"text_delta\",\"text\":\"";
            append_word(out, static_cast<long>(k), bytes_per_chunk_);
        }
        out += "\"}}\n\n";
    } else if (!error_type_.empty()) {
        out += "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":";
        append_quoted(out, error_type_);
        out += ",\"message\":";
        append_quoted(out, messages_error_message(error_type_));
        out += "}}\n\n";
    } else if (index == end) {
        out += "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":";
        out += block;
        out += "}\n\n";
    } else if (index == end + 1) {
        out +=
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":";
        append_quoted(out, stop_reason_);
        out += ",\"stop_sequence\":null},\"usage\":";
        append_messages_usage(out, prompt_tokens_, static_cast<long>(content_count()));
        out += "}\n\n";
    } else {
        out += "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    }
}

// ---------------------------------------------------------------------------------------------
// Response and Handler

void Response::clear() {
    head.clear();
    body.clear();
    stream = false;
    close = false;
    counted = false;
    latency_ms = 0;
    chunk_delay_ms = 0;
    disconnect_after = -1;
    stall_after = -1;
    wait = StatsWait{};
}

void Handler::handle(const Request& request, Response& response) {
    response.clear();
    Context context{request, response};
    if (is_google_token_path(request.path)) {
        // Google's OAuth token endpoint: not a provider request (not counted or recorded).
        context.number = counters().requests.load(std::memory_order_relaxed);
        google_token_endpoint(context);
        return;
    }
    const Api api = classify(request);
    // Each API has its own credential: OpenAI a bearer token, Anthropic `x-api-key`, Gemini
    // `x-goog-api-key` (or ?key=), Bedrock a SigV4 or bearer `Authorization`.
    switch (api) {
        case Api::Messages:
            context.auth_present = find_header(request, "x-api-key") != nullptr;
            break;
        case Api::Gemini:
            context.auth_present = gemini_auth_present(request);
            break;
        default:
            context.auth_present = find_header(request, "authorization") != nullptr;
    }
    if (api == Api::Mock) {
        context.number = counters().requests.load(std::memory_order_relaxed);
        mock_endpoint(context);
        return;
    }
    context.number = counters().requests.fetch_add(1, std::memory_order_relaxed) + 1;
    counters().active.fetch_add(1, std::memory_order_relaxed);
    response.counted = true;
    record_last_request(request);
    switch (api) {
        case Api::OpenAI:
        case Api::Messages:
            if (!api_key_.empty() && !(api == Api::Messages ? check_messages_auth(context, api_key_)
                                                            : check_auth(context, api_key_))) {
                return;
            }
            apply_header_controls(request, context.controls);
            v1_endpoint(context, request.path);
            break;
        case Api::Azure:
            if (!check_azure(context, api_key_)) {
                return;
            }
            apply_header_controls(request, context.controls);
            v1_endpoint(context, azure_openai_path(request.path));
            break;
        case Api::Gemini:
            apply_header_controls(request, context.controls);
            gemini_endpoint(context, api_key_);
            break;
        case Api::Bedrock:
            apply_header_controls(request, context.controls);
            bedrock_endpoint(context, api_key_);
            break;
        case Api::Mock:
            break;
    }
    if (context.faults) {
        set_faults(context);
    }
}

void Handler::finish_stats(const Request& request, Response& response, bool timed_out) {
    Context context{request, response};
    context.auth_present = find_header(request, "authorization") != nullptr;
    context.number = counters().requests.load(std::memory_order_relaxed);
    response.wait.active = false;
    response.body.clear();
    append_stats(response.body);
    response.body += timed_out ? ",\"timed_out\":true}" : ",\"timed_out\":false}";
    respond_json(context, 200);
}

void Handler::framing_error(int status, Response& response) {
    response.clear();
    response.close = true;
    Context context{empty_request(), response};
    context.number = counters().requests.load(std::memory_order_relaxed);
    switch (status) {
        case 413:
            respond_error(context, 413,
                          "Request body too large: the mock provider accepts at most 67108864 "
                          "bytes.",
                          "invalid_request_error");
            break;
        case 431:
            respond_error(context, 431, "Request header fields too large.",
                          "invalid_request_error");
            break;
        default:
            respond_error(context, status, "The request is not valid HTTP/1.1.",
                          "invalid_request_error");
    }
}

void text_embedding(std::string_view text, std::vector<float>& values) {
    make_embedding(fnv1a(kFnvOffset, text.data(), text.size()), values);
}

void append_float_array(std::string& out, const std::vector<float>& values) {
    out += '[';
    char buf[32];
    for (std::size_t j = 0; j < values.size(); ++j) {
        if (j > 0) {
            out += ", ";
        }
        const auto result = std::to_chars(buf, buf + sizeof(buf), values[j]);
        out.append(buf, result.ptr);
    }
    out += ']';
}

}  // namespace sb::mock::detail
