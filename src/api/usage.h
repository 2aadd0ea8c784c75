#pragma once

#include <cstdint>
#include <optional>
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

}  // namespace sb::api
