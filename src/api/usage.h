#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::api {

// Token counts of one answer, in OpenAI's terms.
struct Usage {
    std::uint64_t prompt_tokens = 0;
    std::uint64_t completion_tokens = 0;
    std::uint64_t cached_tokens = 0;     // prompt_tokens_details.cached_tokens
    std::uint64_t reasoning_tokens = 0;  // completion_tokens_details.reasoning_tokens
};

// The `usage` object of an OpenAI-format JSON answer (chat completion, completion, embeddings,
// or one chunk's JSON), found without parsing the whole body: the last `"usage":{` that is a
// key (not inside a string) is cut out and parsed. std::nullopt when there is none or it is
// malformed.
std::optional<Usage> find_usage(std::string_view json);

// Scans SSE events for chunks carrying usage (`"usage":{...}`; `"usage":null` is skipped) and
// returns the last one found, if any.
std::optional<Usage> find_stream_usage(std::string_view events);

// Removes the usage-only chunks (`"choices":[]` with a usage object) from complete SSE events:
// for a client that did not ask for usage while the gateway did. Returns whether any was removed.
bool strip_usage_chunks(std::string& events);

// Token counts of an Anthropic Messages answer (`/v1/messages`, native or translated), kept as
// Anthropic reports them: input_tokens excludes cache reads and writes. A stream reports them
// in pieces (message_start: input and cache counts; message_delta: output_tokens, and in newer
// API versions the final input counts too): a later value of a field replaces an earlier one.
struct AnthropicUsage {
    std::optional<std::uint64_t> input_tokens;
    std::optional<std::uint64_t> output_tokens;
    std::optional<std::uint64_t> cache_read_input_tokens;
    std::optional<std::uint64_t> cache_creation_input_tokens;

    // Reads the last `usage` object of a message body (a top-level answer).
    static std::optional<AnthropicUsage> from_message(std::string_view json);
    // Merges the `usage` objects of the complete SSE events in `events` (message_start's is
    // inside `message`, message_delta's at the top level). Returns whether any was found.
    bool update_from_events(std::string_view events);
    // In OpenAI's terms: prompt_tokens = input + cache reads + cache writes, cached_tokens =
    // cache reads (priced as cached input), completion_tokens = output. Nothing when no count
    // was reported.
    std::optional<Usage> to_usage() const;
};

}  // namespace sb::api
