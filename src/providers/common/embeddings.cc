#include "providers/common/embeddings.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "providers/common/errors.h"
#include "providers/common/json.h"

namespace sb::providers::common {
namespace {

Error invalid(std::string message, std::string_view param) {
    return Error(ErrorCode::InvalidRequest, std::move(message), std::string(param));
}

}  // namespace

void record_request(const EmbeddingsRequest& req, EmbeddingsContext& ctx) {
    ctx.inputs = req.texts.size();
    ctx.base64 = req.base64;
}

Error unsupported_parameter(std::string_view provider, std::string_view param,
                            std::string_view why) {
    std::string message = fmt::format("Provider {} cannot express '{}'", provider, param);
    if (!why.empty()) {
        message += ": ";
        message += why;
    }
    message += '.';
    return invalid(std::move(message), param);
}

Result<EmbeddingsRequest> parse_embeddings_request(std::string_view body,
                                                   std::string_view provider) {
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(body);
    simdjson::dom::element root;
    simdjson::dom::object object;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
        root.get_object().get(object) != simdjson::SUCCESS) {
        return tl::unexpected(
            Error(ErrorCode::InvalidJson, "We could not parse the JSON body of your request."));
    }
    EmbeddingsRequest req;
    bool has_input = false;
    for (const auto field : object) {
        const std::string_view key = field.key;
        const simdjson::dom::element value = field.value;
        if (key == "model") {
            continue;  // routing read it; the adapter sends the upstream's name
        }
        if (key == "input") {
            has_input = true;
            std::string_view text;
            simdjson::dom::array items;
            if (value.get_string().get(text) == simdjson::SUCCESS) {
                req.texts.emplace_back(text);
            } else if (value.get_array().get(items) == simdjson::SUCCESS) {
                for (const simdjson::dom::element item : items) {
                    if (item.get_string().get(text) == simdjson::SUCCESS) {
                        req.texts.emplace_back(text);
                    } else if (item.is_number() || item.is_array()) {
                        return tl::unexpected(invalid(
                            fmt::format("Provider {} takes text only: 'input' as token arrays "
                                        "cannot be translated.",
                                        provider),
                            "input"));
                    } else {
                        return tl::unexpected(invalid(
                            "Invalid 'input': expected a string or an array of strings.", "input"));
                    }
                }
            } else {
                return tl::unexpected(
                    invalid("Invalid 'input': expected a string or an array of strings.", "input"));
            }
            if (req.texts.empty()) {
                return tl::unexpected(invalid("'input' must not be empty.", "input"));
            }
        } else if (key == "encoding_format") {
            std::string_view format;
            if (value.is_null()) {
                continue;
            }
            if (value.get_string().get(format) != simdjson::SUCCESS ||
                (format != "float" && format != "base64")) {
                return tl::unexpected(
                    invalid("Invalid 'encoding_format': supported values are 'float' and 'base64'.",
                            "encoding_format"));
            }
            req.base64 = format == "base64";
        } else if (key == "dimensions") {
            if (value.is_null()) {
                continue;
            }
            std::int64_t n = 0;
            if (value.get_int64().get(n) != simdjson::SUCCESS || n < 1) {
                return tl::unexpected(invalid(
                    "Invalid 'dimensions': expected an integer of at least 1.", "dimensions"));
            }
            req.dimensions = n;
        } else if (key == "user") {
            std::string_view id;
            if (!value.is_null() && value.get_string().get(id) != simdjson::SUCCESS) {
                return tl::unexpected(invalid("Invalid 'user': expected a string.", "user"));
            }
            // An end-user id for OpenAI's abuse monitoring; no translated provider has a field
            // for it and it does not change the answer: not sent (documented).
        } else {
            req.extra.emplace_back(std::string(key), simdjson::to_string(value));
        }
    }
    if (!has_input) {
        return tl::unexpected(invalid("Missing required parameter: 'input'.", "input"));
    }
    return req;
}

Result<simdjson::dom::element> parse_embeddings_answer(simdjson::dom::parser& parser,
                                                       std::string_view body,
                                                       std::string_view provider) {
    return parse_upstream_object(parser, body, provider,
                                 "the embeddings answer is not a JSON object");
}

Status check_embeddings_count(std::size_t vectors, std::size_t inputs, std::string_view provider) {
    if (vectors != inputs) {
        return tl::unexpected(
            bad_response(provider, fmt::format("{} embeddings for {} inputs", vectors, inputs)));
    }
    return {};
}

bool read_floats(simdjson::dom::element values, std::vector<float>& out) {
    simdjson::dom::array array;
    if (values.get_array().get(array) != simdjson::SUCCESS) {
        return false;
    }
    out.reserve(out.size() + array.size());
    for (const simdjson::dom::element v : array) {
        double d = 0;
        if (v.get_double().get(d) != simdjson::SUCCESS) {
            return false;
        }
        out.push_back(static_cast<float>(d));
    }
    return true;
}

void append_base64(std::string& out, std::string_view bytes) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t size = bytes.size();
    out.reserve(out.size() + (size + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= size; i += 3) {
        const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) |
                                std::uint32_t{data[i + 2]};
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (i + 1 == size) {
        const std::uint32_t v = std::uint32_t{data[i]} << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += "==";
    } else if (i + 2 == size) {
        const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += '=';
    }
}

std::string render_embeddings(const std::vector<std::vector<float>>& vectors,
                              std::string_view model, std::int64_t prompt_tokens, bool base64) {
    std::string out;
    std::size_t floats = 0;
    for (const auto& v : vectors) {
        floats += v.size();
    }
    out.reserve(96 + floats * (base64 ? 6 : 14));
    out += "{\"object\":\"list\",\"data\":[";
    std::string bytes;
    char buf[32];
    for (std::size_t i = 0; i < vectors.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        out += "{\"object\":\"embedding\",\"index\":";
        append_int(out, static_cast<std::int64_t>(i));
        out += ",\"embedding\":";
        const std::vector<float>& values = vectors[i];
        if (base64) {
            // float32, little-endian, whatever the host's byte order.
            bytes.clear();
            bytes.reserve(values.size() * 4);
            for (const float f : values) {
                std::uint32_t bits = 0;
                std::memcpy(&bits, &f, sizeof(bits));
                bytes += static_cast<char>(bits & 0xFF);
                bytes += static_cast<char>((bits >> 8) & 0xFF);
                bytes += static_cast<char>((bits >> 16) & 0xFF);
                bytes += static_cast<char>((bits >> 24) & 0xFF);
            }
            out += '"';
            append_base64(out, bytes);
            out += '"';
        } else {
            out += '[';
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
    out += "],\"model\":";
    append_string(out, model);
    out += ",\"usage\":{\"prompt_tokens\":";
    append_int(out, prompt_tokens);
    out += ",\"total_tokens\":";
    append_int(out, prompt_tokens);
    out += "}}";
    return out;
}

}  // namespace sb::providers::common
