#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::telemetry::otlp {

// A W3C Trace Context (`traceparent`) parent: ids as lower-case hex.
struct TraceContext {
    std::string trace_id;  // 32 hex digits, not all zero
    std::string span_id;   // 16 hex digits, not all zero
    std::uint8_t flags = 0;
    bool sampled() const { return (flags & 0x01) != 0; }
};

// Parses a `traceparent` header value strictly (W3C Trace Context Level 1, §3.2): version
// `00` must be exactly `00-<32 hex>-<16 hex>-<2 hex>`; a higher version (not `ff`) may append
// `-...` after those fields. Hex must be lower case; all-zero ids are invalid. Leading and
// trailing spaces and tabs (optional whitespace around a header value) are ignored. Returns
// std::nullopt for anything else, in which case the request starts a new trace.
std::optional<TraceContext> parse_traceparent(std::string_view value);

// One upstream attempt of a request (a child CLIENT span).
struct Attempt {
    std::string provider;         // provider name from the config
    std::string provider_system;  // gen_ai.provider.name value, e.g. "openai" ("" if unknown)
    std::string target;           // the upstream model name (gen_ai.request.model)
    int status = 0;               // the upstream's HTTP status; 0 when none was received
    std::string error_code;       // "" on success, else our error code (error.type)
    std::uint64_t start_unix_nano = 0;
    std::uint64_t end_unix_nano = 0;
    std::int64_t input_tokens = -1;  // < 0: unknown
    std::int64_t output_tokens = -1;
    // The span's id when the request path already chose it (to send the upstream a
    // `traceparent` naming this attempt); "" to have the exporter pick one.
    std::string span_id;
};

// What the gateway knows about one finished request: a SERVER span, with one CLIENT child span
// per attempt. Filled on the worker thread and moved into Exporter::submit().
struct RequestTrace {
    std::string request_id;
    std::string operation = "chat";  // gen_ai.operation.name: chat, text_completion, embeddings
    std::string request_model;       // the public model the client asked for
    std::string response_model;      // the model the upstream said answered ("" if unknown)
    std::string provider;            // provider name of the last attempt ("" if none)
    std::string provider_system;     // gen_ai.provider.name value ("" if unknown)
    int status = 0;                  // HTTP status sent to the client
    std::string error_code;          // "" when none
    std::vector<std::string> finish_reasons;
    std::int64_t input_tokens = -1;  // < 0: unknown
    std::int64_t output_tokens = -1;
    double cost = -1;     // < 0: unknown
    bool stream = false;  // the client asked for a stream
    std::uint64_t start_unix_nano = 0;
    std::uint64_t end_unix_nano = 0;
    std::optional<TraceContext> parent;  // from the request's `traceparent`
    // Ids the request path already chose (see Attempt::span_id); "" to have the exporter pick
    // them off the request path. trace_id is ignored when there is a parent.
    std::string trace_id;
    std::string span_id;
    std::vector<Attempt> attempts;
};

// The gen_ai.provider.name value (OpenTelemetry GenAI semantic conventions) for a provider
// type as the config spells it ("openai", "azure", "anthropic", "gemini", "bedrock",
// "openai-compatible"); "" when the conventions have no value for it.
std::string_view genai_provider_name(std::string_view config_type);

// gen_ai.operation.name for a request target (path, optionally with a query): "chat" for
// /v1/chat/completions and /v1/messages, "text_completion" for /v1/completions, "embeddings"
// for /v1/embeddings; "" for any other path.
std::string_view operation_for_path(std::string_view target);

}  // namespace sb::telemetry::otlp
