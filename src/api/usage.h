#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::api {

// Token counts of one answer, in OpenAI's terms: cached_tokens are part of prompt_tokens,
// reasoning_tokens part of completion_tokens.
struct Usage {
    std::uint64_t prompt_tokens = 0;
    std::uint64_t completion_tokens = 0;
    std::uint64_t cached_tokens = 0;     // prompt_tokens_details.cached_tokens
    std::uint64_t reasoning_tokens = 0;  // completion_tokens_details.reasoning_tokens

    std::uint64_t total() const { return prompt_tokens + completion_tokens; }
};

// Prices of one target in currency units per million tokens (a target's `price` in the config,
// config::Price). cached_input is the price of prompt tokens read from the provider's prompt
// cache; the config sets it to `input` when not given, and code building a Price must set it
// too (a cached_input of 0 makes cached tokens free).
struct Price {
    double input = 0;
    double output = 0;
    double cached_input = 0;
};

// Money is counted in nano-units (1e-9 of the currency) so that counters are exact integers.
using Nanos = std::int64_t;
inline constexpr double kNanosPerUnit = 1e9;

// The one cost arithmetic (budgets, the cost header, the access record, metrics, lowest_cost
// routing): prompt tokens not read from cache at `input`, cached ones (at most prompt_tokens)
// at `cached_input`, completion tokens (reasoning included) at `output`, rounded up to a whole
// nano-unit.
Nanos cost_nanos(const Price& price, const Usage& usage);
// The same cost in currency units (e.g. USD): from_nanos(cost_nanos(price, usage)).
double cost(const Price& price, const Usage& usage);
// Currency units -> nano-units, rounded up (a tolerance of 1e-6 nano-units absorbs binary
// floating-point error); 0 for amounts <= 0 or NaN; capped at INT64_MAX / 4.
Nanos to_nanos(double amount);
double from_nanos(Nanos n);
// Exact decimal text of an amount, without trailing zeros: 7'250'000 -> "0.00725", 0 -> "0".
// For the cost response header and the access record.
std::string format_cost(Nanos n);

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
