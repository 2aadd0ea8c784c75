// libFuzzer target: arbitrary bytes as a Gemini streamGenerateContent (alt=sse) stream.
//
// The first byte picks a split position in the rest (scaled to its length); the rest is fed to
// the stream decoder whole and in the two pieces either side of that position. Checks that the
// decoder never crashes and that its output (and error, if any) does not depend on the split.
// Seeds: fuzz/corpus/gemini_stream/ (replayed under g++ by tests/unit/fuzz_corpus_test.cc).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "providers/gemini/gemini.h"

namespace {

using sb::providers::ChatContext;
using sb::providers::gemini::GeminiAdapter;

// Output of one run fed as data[0, split) then data[split, end), plus the error text when it
// failed.
std::string run(const GeminiAdapter& adapter, const ChatContext& ctx, std::string_view data,
                std::size_t split) {
    auto decoder = adapter.make_chat_stream_decoder(ctx);
    std::string out;
    for (const std::string_view piece : {data.substr(0, split), data.substr(split)}) {
        auto status = decoder->feed(piece, out);
        if (!status) {
            return out + "\n#error " + status.error().message;
        }
    }
    auto status = decoder->finish(out);
    if (!status) {
        return out + "\n#error " + status.error().message;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t split = static_cast<std::size_t>(data[0]) * bytes.size() / 255;

    static const GeminiAdapter adapter;
    ChatContext ctx;
    ctx.public_model = "m";
    ctx.upstream_model = "m";
    ctx.stream = true;
    ctx.include_usage = (data[0] & 1) != 0;
    ctx.response_id = "chatcmpl-fuzz";
    if (run(adapter, ctx, bytes, bytes.size()) != run(adapter, ctx, bytes, split)) {
        std::abort();  // output must not depend on how the bytes are split
    }
    return 0;
}
