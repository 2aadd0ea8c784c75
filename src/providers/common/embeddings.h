#pragma once

// The OpenAI embeddings request and response, shared by the adapters that translate embeddings
// (gemini, vertex, bedrock). Pure functions, no state; any thread.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "providers/provider.h"

namespace sb::providers::common {

// An OpenAI embeddings request, read for translation.
struct EmbeddingsRequest {
    std::vector<std::string> texts;  // `input`: one string, or each string of the array
    bool base64 = false;             // encoding_format "base64" (else "float", the default)
    std::int64_t dimensions = 0;     // 0: not given
    // Members other than model, input, encoding_format, dimensions and user, as (name, minified
    // JSON value): the adapter maps the ones its provider can express and refuses the rest.
    std::vector<std::pair<std::string, std::string>> extra;
};

// Parses an OpenAI embeddings body. `provider` names the target in messages ("gemini"). Token
// arrays in `input` (integers) are refused with a 400 naming `input`: the translated providers
// take text only. `user` (an end-user id for abuse monitoring) is accepted and not sent.
Result<EmbeddingsRequest> parse_embeddings_request(std::string_view body,
                                                   std::string_view provider);

// Records in `ctx` what the answer's translation needs from the request: how many inputs it
// had (ctx.inputs) and whether it asked for base64 (ctx.base64).
void record_request(const EmbeddingsRequest& req, EmbeddingsContext& ctx);

// A 400 naming `param`: "Provider <provider> cannot express '<param>'[: <why>]."
Error unsupported_parameter(std::string_view provider, std::string_view param,
                            std::string_view why = {});

// Reads a JSON array of numbers into `out` (appended, as float). False when `values` is not an
// array of numbers.
bool read_floats(simdjson::dom::element values, std::vector<float>& out);

// Parses an upstream embeddings answer with `parser`: its root object, else bad_response(provider,
// "the embeddings answer is not a JSON object"). The element lives in `parser`.
Result<simdjson::dom::element> parse_embeddings_answer(simdjson::dom::parser& parser,
                                                       std::string_view body,
                                                       std::string_view provider);

// An upstream answer must hold one vector per input: else bad_response(provider, "<vectors>
// embeddings for <inputs> inputs") (common/errors.h).
Status check_embeddings_count(std::size_t vectors, std::size_t inputs, std::string_view provider);

// Writes OpenAI's embeddings answer: {"object":"list","data":[{"object":"embedding",
// "index":i,"embedding":[...] or "<base64>"}...],"model":...,"usage":{"prompt_tokens",
// "total_tokens"}}. With `base64`, each vector is its float32 values in little-endian byte
// order, base64-encoded (what OpenAI sends for encoding_format=base64).
std::string render_embeddings(const std::vector<std::vector<float>>& vectors,
                              std::string_view model, std::int64_t prompt_tokens, bool base64);

// Standard base64 (RFC 4648 section 4, with padding) of `bytes`.
void append_base64(std::string& out, std::string_view bytes);

}  // namespace sb::providers::common
