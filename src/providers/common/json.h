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
// empty, else `,"<key>":` and the value; `key` is written as is (a plain member name).
// `value`, minified (append_element).
void append_member(std::string& out, std::string_view key,
                   const std::optional<simdjson::dom::element>& value);
// `json`, JSON text written as is.
void append_raw_member(std::string& out, std::string_view key, std::string_view json);
// `[<items>]`, `items` being a comma-separated list of JSON values (begin_item).
void append_list_member(std::string& out, std::string_view key, std::string_view items);

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
