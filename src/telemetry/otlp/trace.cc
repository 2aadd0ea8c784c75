#include "telemetry/otlp/trace.h"

namespace sb::telemetry::otlp {
namespace {

bool is_lower_hex(std::string_view s) {
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

bool all_zero(std::string_view s) {
    return s.find_first_not_of('0') == std::string_view::npos;
}

std::uint8_t hex_byte(std::string_view two) {
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    return static_cast<std::uint8_t>(nibble(two[0]) * 16 + nibble(two[1]));
}

}  // namespace

std::optional<TraceContext> parse_traceparent(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
        v.remove_prefix(1);
    }
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
        v.remove_suffix(1);
    }
    // version "-" trace-id "-" parent-id "-" trace-flags: 2+1+32+1+16+1+2 = 55 characters.
    constexpr std::size_t kLength = 55;
    if (v.size() < kLength) {
        return std::nullopt;
    }
    std::string_view version = v.substr(0, 2);
    if (!is_lower_hex(version) || version == "ff") {
        return std::nullopt;
    }
    if (version == "00" ? v.size() != kLength : (v.size() > kLength && v[kLength] != '-')) {
        return std::nullopt;
    }
    if (v[2] != '-' || v[35] != '-' || v[52] != '-') {
        return std::nullopt;
    }
    std::string_view trace_id = v.substr(3, 32);
    std::string_view span_id = v.substr(36, 16);
    std::string_view flags = v.substr(53, 2);
    if (!is_lower_hex(trace_id) || !is_lower_hex(span_id) || !is_lower_hex(flags) ||
        all_zero(trace_id) || all_zero(span_id)) {
        return std::nullopt;
    }
    return TraceContext{std::string(trace_id), std::string(span_id), hex_byte(flags)};
}

std::string_view genai_provider_name(std::string_view config_type) {
    if (config_type == "openai") {
        return "openai";
    }
    if (config_type == "azure") {
        return "azure.ai.openai";
    }
    if (config_type == "anthropic") {
        return "anthropic";
    }
    if (config_type == "gemini") {
        return "gcp.gemini";
    }
    if (config_type == "bedrock") {
        return "aws.bedrock";
    }
    return "";
}

std::string_view operation_for_path(std::string_view target) {
    std::string_view path = target.substr(0, target.find('?'));
    if (path == "/v1/chat/completions" || path == "/v1/messages") {
        return "chat";
    }
    if (path == "/v1/completions") {
        return "text_completion";
    }
    if (path == "/v1/embeddings") {
        return "embeddings";
    }
    return "";
}

}  // namespace sb::telemetry::otlp
