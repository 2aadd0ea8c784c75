// Replays the seed corpora of the libFuzzer targets in fuzz/ (anthropic_stream, gemini_stream,
// openai_request) through the same code paths in the normal (g++) build, where the fuzz targets
// themselves are not built: no input may crash, the stream decoders must give the same output
// however the bytes are split, and a body the request inspector accepts must stay valid with
// its model rewritten. Files fuzzing adds to fuzz/corpus/<target>/ are replayed as well.

#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/openai_request.h"
#include "providers/anthropic/anthropic.h"
#include "providers/gemini/gemini.h"
#include "support/dirs.h"
#include "support/golden.h"
#include "support/harness.h"

namespace sb {
namespace {

namespace fs = std::filesystem;

using providers::Adapter;
using providers::ChatContext;

// Every regular file of fuzz/corpus/<target>/, as (file name, bytes), sorted by name.
std::vector<std::pair<std::string, std::string>> corpus(std::string_view target) {
    return test::corpus_files(test::fuzz_corpus_dir(target));
}

// The stream decoders' output (and error) for `data` fed as the given pieces, then finish().
std::string decode(const Adapter& adapter, const ChatContext& ctx,
                   const std::vector<std::string_view>& pieces) {
    auto decoder = adapter.make_chat_stream_decoder(ctx);
    return test::golden::run_stream(*decoder, pieces).render();
}

// What the stream fuzz targets check for one input (the first byte picks the split position
// and include_usage), plus the same for every other split position and byte by byte.
// Returns whether the stream ended cleanly (so callers can check the corpus has both kinds).
bool replay_stream(const Adapter& adapter, std::string_view input) {
    if (input.empty()) {
        return false;
    }
    const auto selector = static_cast<unsigned char>(input[0]);
    const std::string_view bytes = input.substr(1);
    ChatContext ctx;
    ctx.public_model = "m";
    ctx.upstream_model = "m";
    ctx.stream = true;
    ctx.include_usage = (selector & 1) != 0;
    ctx.response_id = "chatcmpl-fuzz";

    const std::string whole = decode(adapter, ctx, {bytes});
    const std::size_t split = selector * bytes.size() / 255;
    EXPECT_EQ(decode(adapter, ctx, {bytes.substr(0, split), bytes.substr(split)}), whole)
        << "split at " << split;
    for (std::size_t at = 0; at <= bytes.size(); ++at) {
        const std::string pieces = decode(adapter, ctx, {bytes.substr(0, at), bytes.substr(at)});
        if (pieces != whole) {
            ADD_FAILURE() << "split at " << at << " gives\n" << pieces << "\ninstead of\n" << whole;
            break;
        }
    }
    EXPECT_EQ(decode(adapter, ctx, test::byte_by_byte(bytes)), whole) << "byte by byte";
    return whole.ends_with("data: [DONE]\n\n");
}

std::string padded(std::string_view body) {
    std::string buffer;
    buffer.reserve(body.size() + api::kJsonPadding);
    buffer.assign(body);
    return buffer;
}

// Replays fuzz/corpus/`target`/ through `adapter`'s stream decoder.
void replay_stream_corpus(const Adapter& adapter, std::string_view target) {
    const auto files = corpus(target);
    EXPECT_FALSE(files.empty());
    int clean = 0;
    for (const auto& [name, bytes] : files) {
        SCOPED_TRACE(name);
        clean += replay_stream(adapter, bytes) ? 1 : 0;
    }
    // The seeds keep both complete streams and failing ones.
    EXPECT_GT(clean, 0);
    EXPECT_LT(clean, static_cast<int>(files.size()));
}

TEST(FuzzCorpus, AnthropicStreamReplays) {
    replay_stream_corpus(providers::anthropic::AnthropicAdapter(), "anthropic_stream");
}

TEST(FuzzCorpus, GeminiStreamReplays) {
    replay_stream_corpus(providers::gemini::GeminiAdapter(), "gemini_stream");
}

TEST(FuzzCorpus, OpenAIRequestReplays) {
    static constexpr api::Endpoint kEndpoints[] = {
        api::Endpoint::ChatCompletions, api::Endpoint::Completions, api::Endpoint::Embeddings};
    const auto files = corpus("openai_request");
    EXPECT_FALSE(files.empty());
    int accepted = 0;
    int refused = 0;
    for (const auto& [name, input] : files) {
        SCOPED_TRACE(name);
        if (input.empty()) {
            continue;
        }
        const api::Endpoint endpoint = kEndpoints[static_cast<unsigned char>(input[0]) % 3];
        const std::string body = padded(std::string_view(input).substr(1));
        auto req = api::inspect_request(endpoint, body, body.capacity());
        if (!req) {
            ++refused;
            continue;
        }
        ++accepted;
        EXPECT_FALSE(req->model.empty());
        const std::string rewritten = padded(api::rewrite_model(body, *req, "fuzz/\"model\""));
        auto again = api::inspect_request(endpoint, rewritten, rewritten.capacity());
        ASSERT_TRUE(again) << again.error().message << "\n" << rewritten;
        EXPECT_EQ(again->model, "fuzz/\"model\"");
        EXPECT_EQ(again->stream, req->stream);
        EXPECT_EQ(again->include_usage, req->include_usage);
    }
    // The seeds keep both valid and invalid bodies.
    EXPECT_GT(accepted, 0);
    EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace sb
