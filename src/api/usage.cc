#include "api/usage.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace sb::api {
namespace {

constexpr std::string_view kKey = "\"usage\":";

// Whether the quote at `pos` is escaped (preceded by an odd number of backslashes).
bool escaped(std::string_view s, std::size_t pos) {
    std::size_t n = 0;
    while (pos > n && s[pos - n - 1] == '\\') {
        ++n;
    }
    return n % 2 == 1;
}

// End (one past the closing brace) of the JSON object starting at `begin`, or npos.
std::size_t object_end(std::string_view s, std::size_t begin) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = begin; i < s.size(); ++i) {
        const char c = s[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{') {
            ++depth;
        } else if (c == '}') {
            if (--depth == 0) {
                return i + 1;
            }
        }
    }
    return std::string_view::npos;
}

std::uint64_t field(simdjson::ondemand::object& obj, std::string_view name) {
    std::uint64_t v = 0;
    if (obj.find_field_unordered(name).get_uint64().get(v) != simdjson::SUCCESS) {
        return 0;
    }
    return v;
}

std::uint64_t nested(simdjson::ondemand::object& obj, std::string_view outer,
                     std::string_view inner) {
    simdjson::ondemand::object details;
    if (obj.find_field_unordered(outer).get_object().get(details) != simdjson::SUCCESS) {
        return 0;
    }
    return field(details, inner);
}

std::optional<Usage> parse_usage_object(std::string_view text) {
    thread_local simdjson::ondemand::parser parser;
    simdjson::padded_string padded(text);
    simdjson::ondemand::document doc;
    if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
        return std::nullopt;
    }
    simdjson::ondemand::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) {
        return std::nullopt;
    }
    Usage u;
    // Fields are looked up in any order; a field that is absent or not a count stays 0.
    u.prompt_tokens = field(obj, "prompt_tokens");
    u.completion_tokens = field(obj, "completion_tokens");
    u.cached_tokens = nested(obj, "prompt_tokens_details", "cached_tokens");
    u.reasoning_tokens = nested(obj, "completion_tokens_details", "reasoning_tokens");
    return u;
}

}  // namespace

std::optional<Usage> find_usage(std::string_view json) {
    std::size_t pos = json.size();
    while (pos > 0) {
        pos = json.rfind(kKey, pos - 1);
        if (pos == std::string_view::npos) {
            return std::nullopt;
        }
        if (escaped(json, pos)) {
            continue;
        }
        std::size_t begin = pos + kKey.size();
        while (begin < json.size() && (json[begin] == ' ' || json[begin] == '\t' ||
                                       json[begin] == '\n' || json[begin] == '\r')) {
            ++begin;
        }
        if (begin >= json.size() || json[begin] != '{') {
            continue;  // `"usage":null`
        }
        const std::size_t end = object_end(json, begin);
        if (end == std::string_view::npos) {
            return std::nullopt;
        }
        return parse_usage_object(json.substr(begin, end - begin));
    }
    return std::nullopt;
}

std::optional<Usage> find_stream_usage(std::string_view events) {
    if (events.find(kKey) == std::string_view::npos) {
        return std::nullopt;  // the common case: one search, no parsing
    }
    std::optional<Usage> last;
    std::size_t line_start = 0;
    while (line_start < events.size()) {
        std::size_t line_end = events.find('\n', line_start);
        if (line_end == std::string_view::npos) {
            line_end = events.size();
        }
        std::string_view line = events.substr(line_start, line_end - line_start);
        if (line.starts_with("data:") && line.find(kKey) != std::string_view::npos) {
            if (auto u = find_usage(line)) {
                last = u;
            }
        }
        line_start = line_end + 1;
    }
    return last;
}

bool strip_usage_chunks(std::string& events) {
    if (events.find(kKey) == std::string::npos) {
        return false;
    }
    std::string kept;
    kept.reserve(events.size());
    bool removed = false;
    std::size_t start = 0;
    while (start < events.size()) {
        // One event: up to and including its blank line ("\n\n"; "\r\n\r\n" ends in it too).
        std::size_t end = events.find("\n\n", start);
        end = end == std::string::npos ? events.size() : end + 2;
        const std::string_view event = std::string_view(events).substr(start, end - start);
        if (event.find("\"choices\":[]") != std::string_view::npos && find_usage(event)) {
            removed = true;
        } else {
            kept.append(event);
        }
        start = end;
    }
    if (removed) {
        events = std::move(kept);
    }
    return removed;
}

namespace {

// Merges one Anthropic usage object's present counts into `into`. False when it is not an
// object.
bool merge_anthropic_usage(std::string_view text, AnthropicUsage& into) {
    thread_local simdjson::ondemand::parser parser;
    simdjson::padded_string padded(text);
    simdjson::ondemand::document doc;
    if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
        return false;
    }
    simdjson::ondemand::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) {
        return false;
    }
    auto read = [&obj](std::string_view name, std::optional<std::uint64_t>& slot) {
        std::uint64_t v = 0;
        if (obj.find_field_unordered(name).get_uint64().get(v) == simdjson::SUCCESS) {
            slot = v;
        }
    };
    read("input_tokens", into.input_tokens);
    read("output_tokens", into.output_tokens);
    read("cache_read_input_tokens", into.cache_read_input_tokens);
    read("cache_creation_input_tokens", into.cache_creation_input_tokens);
    return true;
}

// Every `"usage":{...}` object (as a key, not inside a string) in `json`, in order.
template <typename F>
void for_each_usage_object(std::string_view json, F&& f) {
    std::size_t pos = 0;
    while ((pos = json.find(kKey, pos)) != std::string_view::npos) {
        const std::size_t key_at = pos;
        pos += kKey.size();
        if (escaped(json, key_at)) {
            continue;
        }
        std::size_t begin = pos;
        while (begin < json.size() && (json[begin] == ' ' || json[begin] == '\t' ||
                                       json[begin] == '\n' || json[begin] == '\r')) {
            ++begin;
        }
        if (begin >= json.size() || json[begin] != '{') {
            continue;
        }
        const std::size_t end = object_end(json, begin);
        if (end == std::string_view::npos) {
            return;
        }
        f(json.substr(begin, end - begin));
        pos = end;
    }
}

}  // namespace

std::optional<AnthropicUsage> AnthropicUsage::from_message(std::string_view json) {
    std::optional<std::string_view> last;
    for_each_usage_object(json, [&last](std::string_view obj) { last = obj; });
    if (!last) {
        return std::nullopt;
    }
    AnthropicUsage u;
    if (!merge_anthropic_usage(*last, u)) {
        return std::nullopt;
    }
    return u;
}

bool AnthropicUsage::update_from_events(std::string_view events) {
    if (events.find(kKey) == std::string_view::npos) {
        return false;  // the common case: one search, no parsing
    }
    bool found = false;
    std::size_t line_start = 0;
    while (line_start < events.size()) {
        std::size_t line_end = events.find('\n', line_start);
        if (line_end == std::string_view::npos) {
            line_end = events.size();
        }
        std::string_view line = events.substr(line_start, line_end - line_start);
        if (line.starts_with("data:") && line.find(kKey) != std::string_view::npos) {
            for_each_usage_object(line, [&](std::string_view obj) {
                found = merge_anthropic_usage(obj, *this) || found;
            });
        }
        line_start = line_end + 1;
    }
    return found;
}

std::optional<Usage> AnthropicUsage::to_usage() const {
    if (!input_tokens && !output_tokens && !cache_read_input_tokens &&
        !cache_creation_input_tokens) {
        return std::nullopt;
    }
    Usage u;
    u.cached_tokens = cache_read_input_tokens.value_or(0);
    u.prompt_tokens =
        input_tokens.value_or(0) + u.cached_tokens + cache_creation_input_tokens.value_or(0);
    u.completion_tokens = output_tokens.value_or(0);
    return u;
}

// -- cost --

Nanos to_nanos(double amount) {
    if (!(amount > 0)) {
        return 0;
    }
    const double n = std::ceil(amount * kNanosPerUnit - 1e-6);
    if (n >= static_cast<double>(std::numeric_limits<Nanos>::max() / 4)) {
        return std::numeric_limits<Nanos>::max() / 4;
    }
    return static_cast<Nanos>(n);
}

double from_nanos(Nanos n) {
    return static_cast<double>(n) / kNanosPerUnit;
}

Nanos cost_nanos(const Price& price, const Usage& usage) {
    const std::uint64_t cached = std::min(usage.cached_tokens, usage.prompt_tokens);
    const std::uint64_t uncached = usage.prompt_tokens - cached;
    // price per million tokens * tokens / 1e6 = currency; * 1e9 = nanos.
    const double nanos = (static_cast<double>(uncached) * price.input +
                          static_cast<double>(cached) * price.cached_input +
                          static_cast<double>(usage.completion_tokens) * price.output) *
                         1e3;
    return to_nanos(nanos / kNanosPerUnit);
}

double cost(const Price& price, const Usage& usage) {
    return from_nanos(cost_nanos(price, usage));
}

std::string format_cost(Nanos n) {
    const bool negative = n < 0;
    const auto v = negative ? -static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
    std::string frac = std::to_string(v % 1'000'000'000);
    frac.insert(0, 9 - frac.size(), '0');
    while (!frac.empty() && frac.back() == '0') {
        frac.pop_back();
    }
    std::string out = negative ? "-" : "";
    out += std::to_string(v / 1'000'000'000);
    if (!frac.empty()) {
        out += '.';
        out += frac;
    }
    return out;
}

}  // namespace sb::api
