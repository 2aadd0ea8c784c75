// libFuzzer target: arbitrary bytes as an inbound OpenAI request body.
//
// The first byte picks the endpoint; the rest is the body, copied into a buffer with
// kJsonPadding bytes of slack as the server's is. Checks that inspect_request never crashes
// (nor reads past the padding), and that when it accepts a body, rewriting the model token
// gives a body that is accepted again with the new model and the same stream flags.
// Seeds: fuzz/corpus/openai_request/ (replayed under g++ by tests/unit/fuzz_corpus_test.cc).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/openai_request.h"

namespace {

using sb::api::Endpoint;

// `body` in its own buffer with room for the parser's padding.
std::string padded(std::string_view body) {
    std::string buffer;
    buffer.reserve(body.size() + sb::api::kJsonPadding);
    buffer.assign(body);
    return buffer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    static constexpr Endpoint kEndpoints[] = {Endpoint::ChatCompletions, Endpoint::Completions,
                                              Endpoint::Embeddings};
    const Endpoint endpoint = kEndpoints[data[0] % 3];
    const std::string body = padded({reinterpret_cast<const char*>(data) + 1, size - 1});

    auto req = sb::api::inspect_request(endpoint, body, body.capacity());
    if (!req) {
        return 0;
    }
    const std::string rewritten = padded(sb::api::rewrite_model(body, *req, "fuzz/\"model\""));
    auto again = sb::api::inspect_request(endpoint, rewritten, rewritten.capacity());
    if (!again || again->model != "fuzz/\"model\"" || again->stream != req->stream ||
        again->include_usage != req->include_usage) {
        std::abort();  // rewriting the model must keep the body valid and change only the model
    }
    return 0;
}
