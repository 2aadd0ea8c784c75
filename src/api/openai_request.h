#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sb::api {

// The inbound OpenAI endpoints that proxy to a model.
enum class Endpoint : std::uint8_t { ChatCompletions, Completions, Embeddings };

// Upstream path suffix for an endpoint ("/chat/completions"), appended to a provider base URL.
std::string_view upstream_path(Endpoint e);

// What routing needs from a client request, read without re-serialising the body.
struct InboundRequest {
    std::string model;
    bool stream = false;
    bool include_usage = false;
    std::uint64_t max_tokens = 0;  // max_tokens or max_completion_tokens; 0 when not given
    std::size_t model_offset = 0;  // byte offset of the `model` string token (its opening quote)
    std::size_t model_length = 0;  // length of the token, quotes included
};

// Validates `body` as a JSON object of the endpoint's request type: malformed JSON, a duplicate
// `model` key, a missing required field or a wrong type for a field we know is a 400 naming the
// parameter, with OpenAI's wording. `body` must be followed by at least kJsonPadding readable
// bytes (see padded_capacity) — the caller's buffer reserves them.
Result<InboundRequest> inspect_request(Endpoint e, std::string_view body, std::size_t capacity);

// Bytes of slack the JSON parser may read past the end of the body.
inline constexpr std::size_t kJsonPadding = 64;

// Returns `body` with the `model` token replaced by `new_model` (a JSON string, escaped as needed);
// every other byte is kept as the client sent it.
std::string rewrite_model(std::string_view body, const InboundRequest& req,
                          std::string_view new_model);

// The string value of `metadata.<key>` in a JSON request body, for routing rules. Anything else
// (no such key, not a string, invalid JSON) is std::nullopt. Copies the body: rare path.
std::optional<std::string> metadata_value(std::string_view body, std::string_view key);

}  // namespace sb::api
