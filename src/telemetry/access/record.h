#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sb::telemetry::access {

// The version of the access-log schema written to every file (column `schema_version` and footer
// metadata `switchboard.schema_version`); docs/access-log.md lists what each version holds.
inline constexpr std::int32_t kSchemaVersion = 1;

// One upstream attempt of a request (a retry or a fallback is one more).
struct AttemptRecord {
    std::int32_t index = 0;  // 1-based
    std::string provider;
    std::string target;  // the upstream model the attempt asked for
    std::int32_t status = 0;
    std::string error_code;
    std::int64_t started_at_us = 0;  // Unix time, microseconds
    double duration_ms = 0;
};

// One finished request, as the worker knows it when the response is done. Built on a worker
// thread, then moved into AccessLog::submit(). Empty strings and unset optionals are written as
// NULL. Never holds a secret: `key_id` is the key's public id or short hash, never the key.
struct AccessRecord {
    std::string request_id;
    std::int64_t started_at_us = 0;   // Unix time, microseconds
    std::int64_t finished_at_us = 0;  // Unix time, microseconds
    std::string endpoint;             // "/v1/chat/completions"
    std::string method;               // "POST"
    std::string principal;
    std::string key_id;
    std::string team;
    std::string model_requested;  // `model` as the client sent it
    std::string target;           // the upstream model of the answering attempt
    std::string provider;
    std::int32_t status = 0;
    std::string error_code;
    double total_ms = 0;
    std::optional<double> overhead_ms;
    std::optional<double> ttft_ms;  // streams: time to the first byte of the body
    std::optional<std::int64_t> tokens_in;
    std::optional<std::int64_t> tokens_out;
    std::optional<std::int64_t> tokens_cached;
    std::optional<std::int64_t> tokens_reasoning;
    std::optional<double> cost_usd;
    std::int32_t attempts = 0;
    bool stream = false;
    std::string cache_outcome;      // "hit", "miss", ... (empty: no cache)
    std::string guardrail_outcome;  // "pass", "blocked:<name>", ... (empty: none ran)
    // Only when `logging.bodies.enabled`; redacted by the writer before they reach the spool.
    std::optional<std::string> request_body;
    std::optional<std::string> response_body;
    std::vector<AttemptRecord> attempt_details;
};

// The spool's payload encoding of a record (little-endian, length-prefixed strings, a leading
// format byte). decode() rejects truncated or malformed input with an error, never a crash.
void encode(const AccessRecord& record, std::string& out);
Result<AccessRecord> decode(std::string_view bytes);
// The same into an existing record, reusing its strings' capacity (for decoding a segment's
// records one after another). On error `record` holds a partial decode.
Status decode(std::string_view bytes, AccessRecord& record);

}  // namespace sb::telemetry::access
