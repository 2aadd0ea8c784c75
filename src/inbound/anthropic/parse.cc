// parse(): what routing needs from an inbound Anthropic request, validated, and the byte span of
// its `model` token for the in-place rewrite of a native Anthropic target's body.

#include <simdjson.h>

#include "inbound/anthropic/internal.h"
#include "inbound/anthropic/messages.h"

namespace sb::inbound::anthropic {

using detail::invalid;
using detail::is_null;
using detail::missing;
using detail::wrong_type;
using simdjson::dom::element;

Result<MessagesRequest> parse(Endpoint endpoint, std::string_view body) {
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(body);
    SB_TRY(root, detail::parse_object(parser, padded));

    MessagesRequest out;
    int model_seen = 0;
    bool has_messages = false;
    for (const auto field : root) {
        const std::string_view key = field.key;
        const element value = field.value;
        if (key == "model") {
            ++model_seen;
            std::string_view model;
            if (value.get_string().get(model) != simdjson::SUCCESS) {
                return wrong_type("model", "a valid string");
            }
            out.inbound.model = std::string(model);
        } else if (key == "messages") {
            if (!value.is_array()) {
                return wrong_type("messages", "a valid list");
            }
            has_messages = true;
        } else if (key == "max_tokens" && endpoint == Endpoint::Messages) {
            std::int64_t n = 0;
            if (value.get_int64().get(n) != simdjson::SUCCESS) {
                return wrong_type("max_tokens", "a valid integer");
            }
            if (n < 0) {
                return invalid("max_tokens", "Input should be greater than or equal to 0");
            }
            out.max_tokens = n;
        } else if (key == "stream" && endpoint == Endpoint::Messages) {
            bool stream = false;
            if (!is_null(value) && value.get_bool().get(stream) != simdjson::SUCCESS) {
                return wrong_type("stream", "a valid boolean");
            }
            out.inbound.stream = stream;
        } else if (key == "stop_sequences" && endpoint == Endpoint::Messages) {
            if (auto status = detail::read_string_list(
                    value, "stop_sequences",
                    [&](std::string_view s) { out.stop_sequences.emplace_back(s); });
                !status) {
                return fail(std::move(status).error());
            }
        }
    }
    if (model_seen == 0) {
        return missing("model");
    }
    if (model_seen > 1) {
        // Parsers disagree on which duplicate wins; refusing keeps routing and upstream in step.
        return invalid("model", "the 'model' field appears more than once");
    }
    if (out.inbound.model.empty()) {
        return invalid("model", "String should have at least 1 character");
    }
    if (!has_messages) {
        return missing("messages");
    }
    if (endpoint == Endpoint::Messages && !out.max_tokens) {
        return missing("max_tokens");
    }

    // Position pass: the raw `model` token, for api::rewrite_model (offsets are the same in the
    // padded copy as in `body`).
    simdjson::ondemand::parser od_parser;
    simdjson::ondemand::document doc;
    simdjson::ondemand::object od_root;
    if (od_parser.iterate(padded).get(doc) != simdjson::SUCCESS ||
        doc.get_object().get(od_root) != simdjson::SUCCESS) {
        return fail(ErrorCode::InvalidJson, "The request body is not valid JSON.");
    }
    for (auto field : od_root) {
        std::string_view key;
        if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
            return fail(ErrorCode::InvalidJson, "The request body is not valid JSON.");
        }
        if (key != "model") {
            continue;
        }
        const std::string_view token = field.value().raw_json_token();
        std::size_t i = 1;
        while (i < token.size() && token[i] != '"') {
            i += token[i] == '\\' ? 2 : 1;
        }
        out.inbound.model_offset = static_cast<std::size_t>(token.data() - padded.data());
        out.inbound.model_length = i + 1;
        return out;
    }
    return fail(ErrorCode::Internal, "model token not found after validation");
}

}  // namespace sb::inbound::anthropic
