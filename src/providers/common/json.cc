#include "providers/common/json.h"

#include <charconv>

#include "core/error.h"
#include "providers/common/errors.h"

namespace sb::providers::common {

void append_string(std::string& out, std::string_view s) {
    out += '"';
    append_json_escaped(out, s);
    out += '"';
}

void append_int(std::string& out, std::int64_t value) {
    char buf[24];
    const auto result = std::to_chars(buf, buf + sizeof(buf), value);
    out.append(buf, result.ptr);
}

void append_element(std::string& out, simdjson::dom::element value) {
    out += simdjson::to_string(value);
}

std::string_view string_member(simdjson::dom::element object, std::string_view key) {
    std::string_view value;
    if (object[key].get_string().get(value) != simdjson::SUCCESS) {
        return {};
    }
    return value;
}

std::int64_t int_member(simdjson::dom::element object, std::string_view key,
                        std::int64_t fallback) {
    std::int64_t value = 0;
    if (object[key].get_int64().get(value) != simdjson::SUCCESS) {
        return fallback;
    }
    return value;
}

void update_int(simdjson::dom::element object, std::string_view key, std::int64_t& field) {
    std::int64_t value = 0;
    if (object[key].get_int64().get(value) == simdjson::SUCCESS) {
        field = value;
    }
}

void begin_item(std::string& list) {
    if (!list.empty()) {
        list += ',';
    }
}

Result<simdjson::dom::element> parse_upstream_object(simdjson::dom::parser& parser,
                                                     std::string_view body,
                                                     std::string_view provider,
                                                     std::string_view why) {
    const simdjson::padded_string padded(body);
    simdjson::dom::element root;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object()) {
        return fail(bad_response(provider, why));
    }
    return root;
}

}  // namespace sb::providers::common
