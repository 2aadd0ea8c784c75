#pragma once

// JSON writing and reading helpers shared by the translating adapters (anthropic, gemini,
// bedrock). Pure functions, no state; any thread.

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sb::providers::common {

// Appends `s` as a JSON string (quoted, escaped). `s` must be valid UTF-8 (simdjson validated
// every string we copy).
void append_string(std::string& out, std::string_view s);
void append_int(std::string& out, std::int64_t value);
// Appends a parsed JSON value, minified, with its members in their original order.
void append_element(std::string& out, simdjson::dom::element value);

// Object members for a body written by hand. Each writes nothing when its value is absent or
// empty, else `,"<key>":` and the value; `key` is written as is (a plain member name). Inline:
// the request translators call them for every optional member of every body.
// `,"<key>":`.
inline void append_key(std::string& out, std::string_view key) {
    out += ",\"";
    out += key;
    out += "\":";
}
// `value`, minified (append_element).
inline void append_member(std::string& out, std::string_view key,
                          const std::optional<simdjson::dom::element>& value) {
    if (value) {
        append_key(out, key);
        append_element(out, *value);
    }
}
// `json`, JSON text written as is.
inline void append_raw_member(std::string& out, std::string_view key, std::string_view json) {
    if (!json.empty()) {
        append_key(out, key);
        out += json;
    }
}
// `[<items>]`, `items` being a comma-separated list of JSON values (begin_item).
inline void append_list_member(std::string& out, std::string_view key, std::string_view items) {
    if (!items.empty()) {
        append_key(out, key);
        out += '[';
        out += items;
        out += ']';
    }
}

// Parses an upstream's (non-stream) body with `parser`: its root when it is a JSON object, else
// bad_response(provider, why) (common/errors.h). The element lives in `parser`.
Result<simdjson::dom::element> parse_upstream_object(simdjson::dom::parser& parser,
                                                     std::string_view body,
                                                     std::string_view provider,
                                                     std::string_view why);

// Reads a string member; empty when absent or not a string.
std::string_view string_member(simdjson::dom::element object, std::string_view key);
// Reads an integer member; `fallback` when absent or not an integer.
std::int64_t int_member(simdjson::dom::element object, std::string_view key,
                        std::int64_t fallback = 0);

// Sets `field` to an integer member when it is present (kept otherwise).
void update_int(simdjson::dom::element object, std::string_view key, std::int64_t& field);

// Appends a comma to a comma-separated list that already has an item.
void begin_item(std::string& list);

}  // namespace sb::providers::common
