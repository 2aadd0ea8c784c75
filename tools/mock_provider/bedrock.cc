// AWS Bedrock Converse for the mock provider: POST /model/{modelId}/converse (JSON) and
// /converse-stream (binary application/vnd.amazon.eventstream frames), as bedrock-runtime answers
// them (shared/fixtures/providers/bedrock/, README.md of the mock).

#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "mock_provider/internal.h"

namespace sb::mock::detail {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

constexpr std::string_view kEventStreamType = "application/vnd.amazon.eventstream";
// The namespaces AWS writes after the error name in X-Amzn-ErrorType: the service's own errors,
// and the front door's (credentials, signatures).
constexpr std::string_view kBedrockNamespace =
    "http://internal.amazon.com/coral/com.amazon.bedrock/";
constexpr std::string_view kCoralNamespace =
    "http://internal.amazon.com/coral/com.amazon.coral.service/";
constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256 ";
constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
constexpr long kToolUseTokens = 5;  // outputTokens of the mock tool use
// ConverseStream payloads carry a random-length "p" member (padding against traffic analysis);
// the mock uses prefixes of this.
constexpr std::string_view kPadding =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

// ---------------------------------------------------------------------------------------------
// The AWS event stream framing (eventstream.framing.md): total length u32, headers length u32,
// prelude CRC32, headers, payload, message CRC32; big-endian; CRC-32 as zlib's.

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        table[i] = c;
    }
    return table;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = make_crc_table();

std::uint32_t crc32(std::string_view data) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (const char c : data) {
        crc = kCrcTable[(crc ^ static_cast<unsigned char>(c)) & 0xFF] ^ (crc >> 8);
    }
    return crc ^ 0xFFFFFFFFu;
}

void append_u32(std::string& out, std::uint32_t value) {
    out += static_cast<char>((value >> 24) & 0xFF);
    out += static_cast<char>((value >> 16) & 0xFF);
    out += static_cast<char>((value >> 8) & 0xFF);
    out += static_cast<char>(value & 0xFF);
}

// A header of type 7 (string): name length u8, name, 7, value length u16, value.
void append_string_header(std::string& out, std::string_view name, std::string_view value) {
    out += static_cast<char>(name.size());
    out += name;
    out += static_cast<char>(7);
    out += static_cast<char>((value.size() >> 8) & 0xFF);
    out += static_cast<char>(value.size() & 0xFF);
    out += value;
}

void append_frame(std::string& out, std::string_view headers, std::string_view payload) {
    const std::size_t start = out.size();
    const auto total = static_cast<std::uint32_t>(12 + headers.size() + payload.size() + 4);
    append_u32(out, total);
    append_u32(out, static_cast<std::uint32_t>(headers.size()));
    append_u32(out, crc32(std::string_view(out.data() + start, 8)));
    out += headers;
    out += payload;
    append_u32(out, crc32(std::string_view(out.data() + start, total - 4)));
}

// ---------------------------------------------------------------------------------------------
// Responses

// A request id in AWS's form (a UUID), derived from the request number.
void append_request_id_header(std::string& out, std::uint64_t number) {
    char hex[13];
    for (int i = 11; i >= 0; --i) {
        hex[i] = "0123456789abcdef"[number & 0xF];
        number >>= 4;
    }
    hex[12] = '\0';
    out += "x-amzn-RequestId: 00000000-0000-4000-8000-";
    out += hex;
    out += "\r\n";
}

// An AWS JSON error: {"message": ...} (`key` "Message" for the bearer-key check, as AWS sends
// it) and the X-Amzn-ErrorType header "<type>:<namespace>".
void respond_aws_error(Context& context, int status, std::string_view type,
                       std::string_view message, std::string_view ns = kBedrockNamespace,
                       std::string_view key = "message") {
    std::string& body = context.response.body;
    body.clear();
    body += "{\"";
    body += key;
    body += "\":";
    append_quoted(body, message);
    body += '}';
    std::string headers;
    append_request_id_header(headers, context.number);
    headers += "x-amzn-ErrorType: ";
    headers += type;
    headers += ':';
    headers += ns;
    headers += "\r\n";
    write_head(context, status, kJson, false, headers);
}

void respond_validation(Context& context, std::string_view message) {
    respond_aws_error(context, 400, "ValidationException", message);
}

struct AwsError {
    std::string_view type;
    std::string_view message;
};

// The Bedrock Runtime exception for an HTTP status (service model httpStatusCode).
AwsError aws_error_for(int status) {
    switch (status) {
        case 403:
            return {"AccessDeniedException",
                    "You don't have access to the model with the specified model ID."};
        case 404:
            return {"ResourceNotFoundException",
                    "Could not resolve the foundation model from the provided model identifier."};
        case 408:
            return {"ModelTimeoutException",
                    "Model has timed out in processing the request. Try your request again."};
        case 424:
            return {"ModelErrorException", "The model returned an error. Try your request again."};
        case 429:
            return {"ThrottlingException", "Too many requests, please wait before trying again."};
        case 503:
            return {"ServiceUnavailableException", "Bedrock is unable to process your request."};
        default:
            if (status >= 500) {
                return {"InternalServerException",
                        "The system encountered an unexpected error during processing. Try your "
                        "request again."};
            }
            return {"ValidationException", "The mock provider was asked to reject this request."};
    }
}

// The `stream_error` control for Bedrock: the ConverseStream exception member, empty for none.
std::string_view bedrock_stream_error(std::string_view value) {
    if (value == "1" || iequals(value, "throttling") || iequals(value, "throttlingException")) {
        return "throttlingException";
    }
    if (iequals(value, "internal") || iequals(value, "internalServerException")) {
        return "internalServerException";
    }
    if (iequals(value, "unavailable") || iequals(value, "service_unavailable") ||
        iequals(value, "serviceUnavailableException")) {
        return "serviceUnavailableException";
    }
    if (iequals(value, "model_stream_error") || iequals(value, "modelStreamErrorException")) {
        return "modelStreamErrorException";
    }
    if (iequals(value, "validation") || iequals(value, "validationException")) {
        return "validationException";
    }
    return {};
}

std::string_view exception_message(std::string_view type) {
    if (type == "throttlingException") {
        return "Too many requests, please wait before trying again.";
    }
    if (type == "serviceUnavailableException") {
        return "Bedrock is unable to process your request.";
    }
    if (type == "modelStreamErrorException") {
        return "The model encountered an error while streaming its response.";
    }
    if (type == "validationException") {
        return "The mock provider was asked to end this stream with a validation error.";
    }
    return "The system encountered an unexpected error during processing. Try your request again.";
}

// ---------------------------------------------------------------------------------------------
// Credentials

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    std::string hex;
    if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
        return hex;
    }
    for (unsigned int i = 0; i < size; ++i) {
        hex += "0123456789abcdef"[digest[i] >> 4];
        hex += "0123456789abcdef"[digest[i] & 0xF];
    }
    return hex;
}

bool is_lower_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// "20240101T000000Z"
bool is_amz_date(std::string_view s) {
    if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') {
        return false;
    }
    for (std::size_t i = 0; i < 15; ++i) {
        if (i != 8 && (s[i] < '0' || s[i] > '9')) {
            return false;
        }
    }
    return true;
}

void respond_signature_error(Context& context, std::string_view type, std::string_view message) {
    respond_aws_error(context, 403, type, message, kCoralNamespace);
}

// A SigV4 `Authorization` (shape only: the signature is not recomputed), with X-Amz-Date and an
// X-Amz-Content-Sha256 that is the body's SHA-256; or, with --api-key, `Bearer <key>` (a Bedrock
// API key).
bool check_auth(Context& context, std::string_view api_key) {
    const Request& request = context.request;
    const Header* authorization = find_header(request, "authorization");
    if (authorization == nullptr || trim(authorization->value).empty()) {
        respond_signature_error(context, "MissingAuthenticationTokenException",
                                "Missing Authentication Token");
        return false;
    }
    const std::string_view value = trim(authorization->value);
    if (value.size() >= 7 && iequals(value.substr(0, 7), "bearer ")) {
        if (!api_key.empty() && trim(value.substr(7)) == api_key) {
            return true;
        }
        respond_aws_error(context, 403, "AccessDeniedException",
                          "Authentication failed: Please make sure your API Key is valid.",
                          kBedrockNamespace, "Message");
        return false;
    }

    // AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/bedrock/aws4_request,
    // SignedHeaders=host;x-amz-date, Signature=<64 hex>
    std::string_view credential;
    std::string_view signed_headers;
    std::string_view signature;
    if (value.starts_with(kSigV4Algorithm)) {
        std::string_view rest = value.substr(kSigV4Algorithm.size());
        while (!rest.empty()) {
            const std::size_t comma = std::min(rest.find(','), rest.size());
            const std::string_view item = trim(rest.substr(0, comma));
            rest.remove_prefix(std::min(comma + 1, rest.size()));
            const std::size_t equals = item.find('=');
            if (equals == std::string_view::npos) {
                continue;
            }
            const std::string_view name = item.substr(0, equals);
            const std::string_view param = item.substr(equals + 1);
            if (name == "Credential") {
                credential = param;
            } else if (name == "SignedHeaders") {
                signed_headers = param;
            } else if (name == "Signature") {
                signature = param;
            }
        }
    }
    const Header* date = find_header(request, "x-amz-date");
    std::string missing;
    if (credential.empty()) {
        missing += "Authorization header requires 'Credential' parameter. ";
    }
    if (signature.empty()) {
        missing += "Authorization header requires 'Signature' parameter. ";
    }
    if (signed_headers.empty()) {
        missing += "Authorization header requires 'SignedHeaders' parameter. ";
    }
    if (date == nullptr) {
        missing += "Authorization header requires existence of an 'X-Amz-Date' header. ";
    }
    if (!missing.empty()) {
        missing.pop_back();
        respond_signature_error(context, "IncompleteSignatureException", missing);
        return false;
    }
    const std::string_view amz_date = trim(date->value);
    if (!is_amz_date(amz_date)) {
        std::string message = "Date must be in ISO-8601 'basic format'. Got '";
        message += amz_date;
        message += "'. See http://en.wikipedia.org/wiki/ISO_8601";
        respond_signature_error(context, "IncompleteSignatureException", message);
        return false;
    }
    // keyid/date/region/service/aws4_request
    std::array<std::string_view, 5> scope{};
    std::size_t parts = 0;
    for (std::string_view rest = credential; parts < 6;) {
        const std::size_t slash = rest.find('/');
        if (parts < scope.size()) {
            scope[parts] = rest.substr(0, slash);
        }
        ++parts;
        if (slash == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(slash + 1);
    }
    if (parts != 5 || scope[0].empty() || scope[2].empty()) {
        std::string message =
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            "keyid/date/region/service/term, got '";
        message += credential;
        message += '\'';
        respond_signature_error(context, "IncompleteSignatureException", message);
        return false;
    }
    if (scope[1] != amz_date.substr(0, 8)) {
        std::string message =
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            "HTTP: '";
        message += scope[1];
        message += "' != '";
        message += amz_date.substr(0, 8);
        message += "', from '";
        message += amz_date;
        message += "'.";
        respond_signature_error(context, "InvalidSignatureException", message);
        return false;
    }
    if (scope[3] != "bedrock") {
        respond_signature_error(context, "InvalidSignatureException",
                                "Credential should be scoped to correct service: 'bedrock'. ");
        return false;
    }
    if (scope[4] != "aws4_request") {
        std::string message =
            "Credential should be scoped with a valid terminator: "
            "'aws4_request', not '";
        message += scope[4];
        message += "'. ";
        respond_signature_error(context, "InvalidSignatureException", message);
        return false;
    }
    bool host_signed = false;
    for (std::string_view rest = signed_headers; !rest.empty();) {
        const std::size_t semicolon = std::min(rest.find(';'), rest.size());
        host_signed = host_signed || rest.substr(0, semicolon) == "host";
        rest.remove_prefix(std::min(semicolon + 1, rest.size()));
    }
    if (!host_signed) {
        respond_signature_error(context, "InvalidSignatureException",
                                "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                                "Authorization.");
        return false;
    }
    if (signature.size() != 64 || !is_lower_hex(signature)) {
        respond_signature_error(context, "InvalidSignatureException", kSignatureMismatch);
        return false;
    }
    // The mock's own rule (our adapter always sends it): the payload hash header must be there
    // and must be the body's.
    const Header* content_sha = find_header(request, "x-amz-content-sha256");
    if (content_sha == nullptr || trim(content_sha->value).empty()) {
        respond_signature_error(context, "IncompleteSignatureException",
                                "The request must carry an 'X-Amz-Content-Sha256' header with the "
                                "hex SHA-256 of the body (the mock provider requires it).");
        return false;
    }
    if (trim(content_sha->value) != sha256_hex(request.body)) {
        respond_aws_error(context, 400, "XAmzContentSHA256Mismatch",
                          "The provided 'x-amz-content-sha256' header does not match what was "
                          "computed.",
                          kCoralNamespace);
        return false;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// The request body

// What the answer depends on, read from a valid request.
struct Ask {
    long prompt_tokens = 3;
    long max_tokens = 0;         // 0: not given
    std::string_view tool_name;  // non-empty: answer with a toolUse
};

bool is_tool_block(const element& block) {
    return block["toolUse"].error() == simdjson::SUCCESS ||
           block["toolResult"].error() == simdjson::SUCCESS;
}

// Validates the body as Converse does (ValidationException, 400) and fills `ask`.
bool read_request(Context& context, const object& root, Ask& ask) {
    constexpr std::string_view kStartWithUser =
        "A conversation must start with a user message. Try again with a conversation that "
        "starts with a user message.";
    array messages;
    if (root["messages"].get_array().get(messages) != simdjson::SUCCESS || messages.size() == 0) {
        respond_validation(context, kStartWithUser);
        return false;
    }
    bool tool_blocks = false;
    std::string_view previous;
    std::size_t i = 0;
    for (const element message : messages) {
        std::string_view role;
        if (message["role"].get_string().get(role) != simdjson::SUCCESS ||
            (role != "user" && role != "assistant")) {
            std::string text = "1 validation error detected: Value '";
            text += role;
            text += "' at 'messages.";
            append_uint(text, i + 1);
            text +=
                ".member.role' failed to satisfy constraint: Member must satisfy enum value set: "
                "[user, assistant]";
            respond_validation(context, text);
            return false;
        }
        if (i == 0 && role != "user") {
            respond_validation(context, kStartWithUser);
            return false;
        }
        if (role == previous) {
            respond_validation(context,
                               "A conversation must alternate between user and assistant roles. "
                               "Make sure the conversation alternates between user and assistant "
                               "roles and try again.");
            return false;
        }
        previous = role;
        element content_value;
        array content;
        if (message["content"].get(content_value) != simdjson::SUCCESS ||
            content_value.get_array().get(content) != simdjson::SUCCESS || content.size() == 0) {
            std::string text = "The content field in the Message object at messages.";
            append_uint(text, i);
            text += " is empty. Add a ContentBlock object to the content field and try again.";
            respond_validation(context, text);
            return false;
        }
        for (const element block : content) {
            tool_blocks = tool_blocks || is_tool_block(block);
        }
        ask.prompt_tokens += 4 + content_tokens(content_value);
        ++i;
    }
    element system;
    if (root["system"].get(system) == simdjson::SUCCESS) {
        ask.prompt_tokens += content_tokens(system);
    }
    object tool_config;
    const bool has_tool_config =
        root["toolConfig"].get_object().get(tool_config) == simdjson::SUCCESS;
    if (tool_blocks && !has_tool_config) {
        respond_validation(context,
                           "The toolConfig field must be defined when using toolUse and toolResult "
                           "content blocks.");
        return false;
    }
    element max_tokens_value;
    if (root["inferenceConfig"]["maxTokens"].get(max_tokens_value) == simdjson::SUCCESS) {
        std::int64_t max_tokens = 0;
        if (max_tokens_value.get_int64().get(max_tokens) != simdjson::SUCCESS || max_tokens < 1) {
            std::string text = "1 validation error detected: Value '";
            text += simdjson::to_string(max_tokens_value);
            text +=
                "' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have "
                "value greater than or equal to 1";
            respond_validation(context, text);
            return false;
        }
        ask.max_tokens = static_cast<long>(std::min<std::int64_t>(max_tokens, 1L << 30));
    }

    // tool_call=1 with tools: the named toolChoice, else the first toolSpec.
    array tools;
    if (context.controls.tool_call != 1 || !has_tool_config ||
        tool_config["tools"].get_array().get(tools) != simdjson::SUCCESS) {
        return true;
    }
    std::string_view name;
    if (tool_config["toolChoice"]["tool"]["name"].get_string().get(name) == simdjson::SUCCESS &&
        !name.empty()) {
        ask.tool_name = name;
        return true;
    }
    for (const element tool : tools) {
        if (tool["toolSpec"]["name"].get_string().get(name) == simdjson::SUCCESS && !name.empty()) {
            ask.tool_name = name;
            return true;
        }
    }
    return true;
}

// The `status` control: Bedrock's exception for that status. Returns true if it answered.
bool respond_status_control(Context& context) {
    const Controls& controls = context.controls;
    if (!controls.error_status()) {
        return false;
    }
    const int status = static_cast<int>(controls.status);
    const AwsError error = aws_error_for(status);
    if ((controls.set & kErrorBody) != 0) {
        std::string headers;
        append_request_id_header(headers, context.number);
        headers += "x-amzn-ErrorType: ";
        headers += error.type;
        headers += ':';
        headers += kBedrockNamespace;
        headers += "\r\n";
        context.response.body.assign(controls.error_body);
        write_head(context, status, kJson, false, headers);
        return true;
    }
    respond_aws_error(context, status, error.type, error.message);
    return true;
}

void append_usage(std::string& out, long input, long output) {
    out += "\"usage\":{\"inputTokens\":";
    append_int(out, input);
    out += ",\"outputTokens\":";
    append_int(out, output);
    out += ",\"totalTokens\":";
    append_int(out, input + output);
    out += '}';
}

void append_padding(std::string& out, std::size_t index) {
    out += "\"p\":\"";
    out += kPadding.substr(0, 1 + (index * 13) % (kPadding.size() - 1));
    out += '"';
}

// InvokeModel for the embeddings models the mock knows: Amazon Titan Text Embeddings
// ({"inputText", "dimensions" 256|512|1024 (v2), "normalize"} -> {"embedding",
// "inputTextTokenCount", "embeddingsByType"}) and Cohere Embed ({"texts", "input_type",
// "embedding_types"} ->
// {"id", "embeddings", "texts", "response_type"}). Other models: ValidationException.
void invoke_embeddings(Context& context, std::string_view model, const object& root) {
    std::string headers;
    append_request_id_header(headers, context.number);
    std::string& body = context.response.body;
    std::vector<float> values;
    const bool titan_v2 = model.find("amazon.titan-embed-text-v2") != std::string_view::npos;
    const bool titan = titan_v2 ||
                       model.find("amazon.titan-embed-text-v1") != std::string_view::npos ||
                       model.find("amazon.titan-embed-g1-text") != std::string_view::npos;
    if (titan) {
        std::string_view text;
        if (root["inputText"].get_string().get(text) != simdjson::SUCCESS) {
            respond_validation(context,
                               "Malformed input request: #: required key [inputText] not found, "
                               "please reformat your input and try again.");
            return;
        }
        for (const auto field : root) {
            const std::string_view key = field.key;
            if (key != "inputText" && !(titan_v2 && (key == "dimensions" || key == "normalize" ||
                                                     key == "embeddingTypes"))) {
                std::string message = "Malformed input request: #: extraneous key [";
                message += key;
                message += "] is not permitted, please reformat your input and try again.";
                respond_validation(context, message);
                return;
            }
        }
        std::int64_t dimensions = titan_v2 ? 1024 : 1536;
        element value;
        if (root["dimensions"].get(value) == simdjson::SUCCESS &&
            (value.get_int64().get(dimensions) != simdjson::SUCCESS ||
             (dimensions != 256 && dimensions != 512 && dimensions != 1024))) {
            respond_validation(context,
                               "Malformed input request: #/dimensions: is not a valid enum value, "
                               "please reformat your input and try again.");
            return;
        }
        values.resize(static_cast<std::size_t>(dimensions));
        text_embedding(text, values);
        body.clear();
        body += "{\"embedding\":";
        append_float_array(body, values);
        body += ",\"inputTextTokenCount\":";
        append_int(body, text_tokens(text));
        if (titan_v2) {
            body += ",\"embeddingsByType\":{\"float\":";
            append_float_array(body, values);
            body += '}';
        }
        body += '}';
        write_head(context, 200, kJson, false, headers);
        return;
    }
    if (model.find("cohere.embed-") != std::string_view::npos) {
        array texts;
        std::string_view input_type;
        if (root["texts"].get_array().get(texts) != simdjson::SUCCESS || texts.size() == 0 ||
            texts.size() > 96) {
            respond_validation(context,
                               "Malformed input request: #/texts: expected 1 to 96 strings, "
                               "please reformat your input and try again.");
            return;
        }
        if (root["input_type"].get_string().get(input_type) != simdjson::SUCCESS) {
            respond_validation(context,
                               "Malformed input request: #: required key [input_type] not found, "
                               "please reformat your input and try again.");
            return;
        }
        const bool by_type = root["embedding_types"].error() == simdjson::SUCCESS;
        values.resize(1024);
        body.clear();
        body += "{\"id\":\"";
        append_mock_id(body, "", next_sequence());
        body += by_type ? "\",\"embeddings\":{\"float\":[" : "\",\"embeddings\":[";
        std::string echo;
        std::size_t i = 0;
        for (const element item : texts) {
            std::string_view text;
            if (item.get_string().get(text) != simdjson::SUCCESS) {
                respond_validation(context,
                                   "Malformed input request: #/texts: expected type: String, "
                                   "please reformat your input and try again.");
                return;
            }
            text_embedding(text, values);
            if (i++ > 0) {
                body += ',';
                echo += ',';
            }
            append_float_array(body, values);
            append_quoted(echo, text);
        }
        body += by_type ? "]}" : "]";
        body += ",\"texts\":[";
        body += echo;
        body += by_type ? "],\"response_type\":\"embeddings_by_type\"}"
                        : "],\"response_type\":\"embeddings_floats\"}";
        write_head(context, 200, kJson, false, headers);
        return;
    }
    std::string message = "The provided model identifier is invalid for InvokeModel in the mock ";
    message += "(embeddings models: amazon.titan-embed-*, cohere.embed-*): ";
    message += model;
    respond_validation(context, message);
}

}  // namespace

bool is_bedrock_path(std::string_view path) {
    return path.starts_with("/model/");
}

void bedrock_endpoint(Context& context, std::string_view api_key) {
    const Request& request = context.request;
    // /model/{modelId}/converse[-stream]; the id is one segment, percent-encoded.
    const std::string_view rest = request.path.substr(7);
    const std::size_t slash = rest.find('/');
    const std::string_view raw_id = rest.substr(0, slash);
    const std::string_view operation =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (raw_id.empty() ||
        (operation != "converse" && operation != "converse-stream" && operation != "invoke") ||
        request.method != "POST") {
        context.faults = false;
        std::string message = "The mock provider has no operation for ";
        message += request.method;
        message += ' ';
        message += request.path;
        message +=
            " (Bedrock: POST /model/{modelId}/converse, /converse-stream or /invoke for "
            "embeddings).";
        respond_aws_error(context, 404, "UnknownOperationException", message, kCoralNamespace);
        return;
    }
    if (!check_auth(context, api_key)) {
        context.faults = false;
        return;
    }
    // The model id comes percent-encoded (':' as %3A), controls and all; Converse does not
    // echo it.
    const std::string decoded = percent_decode(raw_id);
    const std::string_view model = apply_model_controls(decoded, context.controls);
    if (respond_status_control(context)) {
        return;
    }
    const std::string_view raw = request.body;
    element root;
    object root_object;
    if (json_parser().parse(raw.data(), raw.size(), false).get(root) != simdjson::SUCCESS ||
        root.get_object().get(root_object) != simdjson::SUCCESS) {
        respond_validation(context,
                           "Malformed input request, please reformat your input and try again.");
        return;
    }
    if (operation == "invoke") {
        invoke_embeddings(context, model, root_object);
        return;
    }
    Ask ask;
    if (!read_request(context, root_object, ask)) {
        return;
    }

    const bool tool = !ask.tool_name.empty();
    const long chunks = context.controls.chunks;
    const long words = ask.max_tokens > 0 ? std::min(chunks, ask.max_tokens) : chunks;
    const std::string_view stop_reason =
        tool ? "tool_use"
             : (ask.max_tokens > 0 && chunks > ask.max_tokens ? "max_tokens" : "end_turn");
    const long latency_ms = std::max(1L, context.controls.latency_ms);
    const std::uint64_t sequence = next_sequence();
    Response& response = context.response;
    std::string headers;
    append_request_id_header(headers, context.number);
    if (operation == "converse-stream") {
        StreamRenderer::Setup setup;
        setup.kind =
            tool ? StreamRenderer::Kind::BedrockToolUse : StreamRenderer::Kind::BedrockText;
        setup.sequence = sequence;
        setup.tool_name = ask.tool_name;
        setup.chunks = words;
        setup.bytes_per_chunk = context.controls.bytes_per_chunk;
        setup.prompt_tokens = ask.prompt_tokens;
        setup.stop_reason = stop_reason;
        setup.error_type = bedrock_stream_error(context.controls.stream_error);
        setup.latency_ms = latency_ms;
        response.renderer.reset(setup);
        response.stream = true;
        write_head(context, 200, kEventStreamType, true, headers);
        return;
    }

    // Members in alphabetical order, as Bedrock writes them.
    std::string& body = response.body;
    body.clear();
    body += "{\"metrics\":{\"latencyMs\":";
    append_int(body, latency_ms);
    body += "},\"output\":{\"message\":{\"content\":[";
    long output_tokens = words;
    if (tool) {
        output_tokens = kToolUseTokens;
        body += "{\"toolUse\":{\"input\":";
        for (const std::string_view fragment : kToolArgumentFragments) {
            body += fragment;
        }
        body += ",\"name\":";
        append_quoted(body, ask.tool_name);
        body += ",\"toolUseId\":\"";
        append_mock_id(body, "tooluse_", sequence);
        body += "\"}}";
    } else if (words > 0) {
        body += "{\"text\":\"";
        for (long i = 0; i < words; ++i) {
            append_word(body, i, context.controls.bytes_per_chunk);
        }
        body += "\"}";
    }
    body += "],\"role\":\"assistant\"}},\"stopReason\":";
    append_quoted(body, stop_reason);
    body += ',';
    append_usage(body, ask.prompt_tokens, output_tokens);
    body += '}';
    write_head(context, 200, kJson, false, headers);
}

// One ConverseStream frame. Text: messageStart, a contentBlockDelta per word, contentBlockStop,
// messageStop, metadata. Tool use: messageStart, contentBlockStart (toolUseId, name), a
// contentBlockDelta per argument fragment, contentBlockStop, messageStop, metadata. With a
// stream error, an exception frame follows the deltas and ends the stream.
void StreamRenderer::append_bedrock_event(std::size_t index, std::string& out) const {
    thread_local std::string payload;
    thread_local std::string headers;
    payload.clear();
    headers.clear();
    const bool tool = kind_ == Kind::BedrockToolUse;
    const std::size_t begin = content_begin();
    const std::size_t end = begin + content_count();
    std::string_view event_type;
    if (index == 0) {
        event_type = "messageStart";
        payload += '{';
        append_padding(payload, index);
        payload += ",\"role\":\"assistant\"}";
    } else if (index < begin) {
        event_type = "contentBlockStart";
        payload += "{\"contentBlockIndex\":0,";
        append_padding(payload, index);
        payload += ",\"start\":{\"toolUse\":{\"name\":";
        append_quoted(payload, tool_name_);
        payload += ",\"toolUseId\":\"";
        payload += call_id_;
        payload += "\"}}}";
    } else if (index < end) {
        event_type = "contentBlockDelta";
        const std::size_t k = index - begin;
        payload += "{\"contentBlockIndex\":0,\"delta\":{";
        if (tool) {
            payload += "\"toolUse\":{\"input\":\"";
            append_escaped(payload, kToolArgumentFragments[k]);
            payload += "\"}";
        } else {
            payload += "\"text\":\"";
            append_word(payload, static_cast<long>(k), bytes_per_chunk_);
            payload += '"';
        }
        payload += "},";
        append_padding(payload, index);
        payload += '}';
    } else if (!error_type_.empty()) {
        // A modeled exception: :message-type exception, the member name in :exception-type.
        payload += "{\"message\":";
        append_quoted(payload, exception_message(error_type_));
        if (error_type_ == "modelStreamErrorException") {
            payload += ",\"originalMessage\":\"Internal server error\",\"originalStatusCode\":500";
        }
        payload += '}';
        append_string_header(headers, ":exception-type", error_type_);
        append_string_header(headers, ":content-type", "application/json");
        append_string_header(headers, ":message-type", "exception");
        append_frame(out, headers, payload);
        return;
    } else {
        // contentBlockStop (only when a block was opened), messageStop, metadata.
        std::size_t tail = index - end;
        if (!tool && chunks_ == 0) {
            ++tail;
        }
        if (tail == 0) {
            event_type = "contentBlockStop";
            payload += "{\"contentBlockIndex\":0,";
            append_padding(payload, index);
            payload += '}';
        } else if (tail == 1) {
            event_type = "messageStop";
            payload += '{';
            append_padding(payload, index);
            payload += ",\"stopReason\":";
            append_quoted(payload, stop_reason_);
            payload += '}';
        } else {
            // Usage comes only here, after messageStop.
            event_type = "metadata";
            payload += "{\"metrics\":{\"latencyMs\":";
            append_int(payload, latency_ms_);
            payload += "},";
            append_padding(payload, index);
            payload += ',';
            append_usage(payload, prompt_tokens_, tool ? kToolUseTokens : chunks_);
            payload += '}';
        }
    }
    append_string_header(headers, ":event-type", event_type);
    append_string_header(headers, ":content-type", "application/json");
    append_string_header(headers, ":message-type", "event");
    append_frame(out, headers, payload);
}

}  // namespace sb::mock::detail
