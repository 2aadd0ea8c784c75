#include "api/openai_request.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <span>

namespace sb::api {
namespace {

static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING);

using simdjson::dom::element;
using simdjson::dom::element_type;

std::string_view type_name(element_type t) {
    switch (t) {
        case element_type::ARRAY:
            return "an array";
        case element_type::OBJECT:
            return "an object";
        case element_type::INT64:
        case element_type::UINT64:
            return "an integer";
        case element_type::DOUBLE:
            return "a number";
        case element_type::STRING:
            return "a string";
        case element_type::BOOL:
            return "a boolean";
        case element_type::NULL_VALUE:
            return "null";
    }
    return "a value";
}

// The JSON types a field may have; nullable fields accept null too.
enum Kind : unsigned {
    kString = 1,
    kArray = 2,
    kObject = 4,
    kInteger = 8,
    kNumber = 16,
    kBoolean = 32,
    kNull = 64,
};

unsigned kind_of(element_type t) {
    switch (t) {
        case element_type::ARRAY:
            return kArray;
        case element_type::OBJECT:
            return kObject;
        case element_type::INT64:
        case element_type::UINT64:
            return kInteger | kNumber;
        case element_type::DOUBLE:
            return kNumber;
        case element_type::STRING:
            return kString;
        case element_type::BOOL:
            return kBoolean;
        case element_type::NULL_VALUE:
            return kNull;
    }
    return 0;
}

std::string expected_text(unsigned allowed) {
    std::string out;
    auto add = [&](unsigned k, std::string_view name) {
        if ((allowed & k) == 0) {
            return;
        }
        if (!out.empty()) {
            out += " or ";
        }
        out += name;
    };
    add(kString, "a string");
    add(kArray, "an array");
    add(kObject, "an object");
    if ((allowed & kNumber) != 0) {
        add(kNumber, "a number");
    } else {
        add(kInteger, "an integer");
    }
    add(kBoolean, "a boolean");
    return out;
}

struct FieldRule {
    std::string_view name;
    unsigned allowed;
    bool required;
};

// Fields we act on or whose type a client commonly gets wrong; the rest is carried through.
constexpr FieldRule kChatRules[] = {
    {"model", kString, true},
    {"messages", kArray, true},
    {"stream", kBoolean | kNull, false},
    {"stream_options", kObject | kNull, false},
    {"max_tokens", kInteger | kNull, false},
    {"max_completion_tokens", kInteger | kNull, false},
    {"n", kInteger | kNull, false},
    {"temperature", kNumber | kNull, false},
    {"top_p", kNumber | kNull, false},
    {"tools", kArray | kNull, false},
    {"stop", kString | kArray | kNull, false},
    {"user", kString | kNull, false},
    {"metadata", kObject | kNull, false},
};
constexpr FieldRule kCompletionRules[] = {
    {"model", kString, true},
    {"prompt", kString | kArray, true},
    {"stream", kBoolean | kNull, false},
    {"stream_options", kObject | kNull, false},
    {"max_tokens", kInteger | kNull, false},
    {"n", kInteger | kNull, false},
    {"temperature", kNumber | kNull, false},
    {"top_p", kNumber | kNull, false},
    {"stop", kString | kArray | kNull, false},
    {"user", kString | kNull, false},
};
constexpr FieldRule kEmbeddingRules[] = {
    {"model", kString, true},
    {"input", kString | kArray, true},
    {"encoding_format", kString, false},
    {"dimensions", kInteger, false},
    {"user", kString, false},
};

std::span<const FieldRule> rules_for(Endpoint e) {
    switch (e) {
        case Endpoint::ChatCompletions:
            return kChatRules;
        case Endpoint::Completions:
            return kCompletionRules;
        case Endpoint::Embeddings:
            return kEmbeddingRules;
    }
    return {};
}

Error invalid(std::string message, std::string_view param) {
    return Error{ErrorCode::InvalidRequest, std::move(message), std::string(param)};
}

}  // namespace

std::string_view upstream_path(Endpoint e) {
    switch (e) {
        case Endpoint::ChatCompletions:
            return "/chat/completions";
        case Endpoint::Completions:
            return "/completions";
        case Endpoint::Embeddings:
            return "/embeddings";
    }
    return "";
}

Result<InboundRequest> inspect_request(Endpoint e, std::string_view body, std::size_t capacity) {
    if (capacity < body.size() + kJsonPadding) {
        return fail(ErrorCode::Internal, "request buffer lacks JSON padding");
    }
    // Validation pass: the DOM parser checks the whole document (UTF-8, syntax, nesting).
    thread_local simdjson::dom::parser dom_parser;
    element root;
    if (auto err = dom_parser.parse(body.data(), body.size(), false).get(root)) {
        if (body.empty()) {
            return fail(ErrorCode::InvalidJson,
                        "We could not parse the JSON body of your request: the body is empty. "
                        "(HINT: send a JSON object with Content-Type: application/json.)");
        }
        return fail(ErrorCode::InvalidJson,
                    fmt::format("We could not parse the JSON body of your request ({}). (HINT: "
                                "This likely means you aren't using your HTTP library correctly.)",
                                simdjson::error_message(err)));
    }
    if (root.type() != element_type::OBJECT) {
        return fail(invalid(fmt::format("The request body must be a JSON object, but got {}.",
                                        type_name(root.type())),
                            ""));
    }
    simdjson::dom::object obj = root.get_object().value_unsafe();

    InboundRequest out;
    int model_seen = 0;
    for (auto field : obj) {
        std::string_view key = field.key;
        if (key == "model") {
            ++model_seen;
        }
        for (const FieldRule& rule : rules_for(e)) {
            if (rule.name != key) {
                continue;
            }
            unsigned kind = kind_of(field.value.type());
            if ((kind & rule.allowed) == 0) {
                return fail(invalid(
                    fmt::format("Invalid type for '{}': expected {}, but got {} instead.", key,
                                expected_text(rule.allowed), type_name(field.value.type())),
                    key));
            }
            break;
        }
        if (key == "stream" && field.value.is_bool()) {
            out.stream = field.value.get_bool().value_unsafe();
        } else if ((key == "max_tokens" || key == "max_completion_tokens") &&
                   field.value.is_uint64()) {
            out.max_tokens = field.value.get_uint64().value_unsafe();
        } else if (key == "stream_options" && field.value.is_object()) {
            auto inc = field.value["include_usage"];
            if (inc.error() == simdjson::SUCCESS) {
                if (!inc.value_unsafe().is_bool()) {
                    return fail(invalid(
                        fmt::format("Invalid type for 'stream_options.include_usage': expected a "
                                    "boolean, but got {} instead.",
                                    type_name(inc.value_unsafe().type())),
                        "stream_options.include_usage"));
                }
                out.include_usage = inc.value_unsafe().get_bool().value_unsafe();
            }
        }
    }
    for (const FieldRule& rule : rules_for(e)) {
        if (rule.required && obj[rule.name].error() != simdjson::SUCCESS) {
            return fail(
                invalid(fmt::format("Missing required parameter: '{}'.", rule.name), rule.name));
        }
    }
    if (model_seen > 1) {
        // Parsers disagree on which duplicate wins; refusing keeps routing and upstream in step.
        return fail(invalid("The 'model' parameter appears more than once.", "model"));
    }
    if (out.stream && e == Endpoint::Embeddings) {
        return fail(invalid("Streaming is not supported for embeddings.", "stream"));
    }
    out.model = std::string(obj["model"].get_string().value_unsafe());
    if (out.model.empty()) {
        return fail(invalid("Invalid value for 'model': must be a non-empty string.", "model"));
    }
    if (!out.stream && out.include_usage) {
        out.include_usage = false;
    }

    // Position pass: locate the raw `model` token so it can be replaced in place.
    thread_local simdjson::ondemand::parser od_parser;
    simdjson::padded_string_view view(body.data(), body.size(), capacity);
    simdjson::ondemand::document doc;
    if (od_parser.iterate(view).get(doc) != simdjson::SUCCESS) {
        return fail(ErrorCode::InvalidJson, "We could not parse the JSON body of your request.");
    }
    simdjson::ondemand::object od_obj;
    if (doc.get_object().get(od_obj) != simdjson::SUCCESS) {
        return fail(ErrorCode::InvalidJson, "We could not parse the JSON body of your request.");
    }
    for (auto field : od_obj) {
        std::string_view key;
        if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
            return fail(ErrorCode::InvalidJson,
                        "We could not parse the JSON body of your request.");
        }
        if (key != "model") {
            continue;
        }
        std::string_view token = field.value().raw_json_token();
        // The token starts at the opening quote; find the closing one (skipping escapes).
        std::size_t i = 1;
        while (i < token.size() && token[i] != '"') {
            i += token[i] == '\\' ? 2 : 1;
        }
        out.model_offset = static_cast<std::size_t>(token.data() - body.data());
        out.model_length = i + 1;
        return out;
    }
    return fail(ErrorCode::Internal, "model token not found after validation");
}

std::string rewrite_model(std::string_view body, const InboundRequest& req,
                          std::string_view new_model) {
    std::string out;
    out.reserve(body.size() + new_model.size() + kJsonPadding);
    out.append(body.substr(0, req.model_offset));
    out += '"';
    append_json_escaped(out, new_model);
    out += '"';
    out.append(body.substr(req.model_offset + req.model_length));
    return out;
}

std::optional<std::string> metadata_value(std::string_view body, std::string_view key) {
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(body);
    auto doc = parser.iterate(padded);
    if (doc.error()) {
        return std::nullopt;
    }
    simdjson::ondemand::object root;
    if (doc.get_object().get(root)) {
        return std::nullopt;
    }
    simdjson::ondemand::object metadata;
    if (root.find_field_unordered("metadata").get_object().get(metadata)) {
        return std::nullopt;
    }
    std::string_view value;
    if (metadata.find_field_unordered(key).get_string().get(value)) {
        return std::nullopt;
    }
    return std::string(value);
}

}  // namespace sb::api
