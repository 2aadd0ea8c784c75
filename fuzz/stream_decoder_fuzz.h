#pragma once

// The body shared by the SSE stream decoder fuzz targets (anthropic_stream_fuzz,
// gemini_stream_fuzz): arbitrary bytes as one upstream stream for `Adapter`.
//
// The first byte picks a split position in the rest (scaled to its length); the rest is fed to
// the stream decoder whole and in the two pieces either side of that position. Checks that the
// decoder never crashes and that its output (and error, if any) does not depend on the split.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "providers/provider.h"

namespace sb::fuzz {

// Output of one run fed as data[0, split) then data[split, end), plus the error text when it
// failed.
template <class Adapter>
std::string run_stream_decoder(const Adapter& adapter, const providers::ChatContext& ctx,
                               std::string_view data, std::size_t split) {
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

// One fuzz input for `Adapter`'s stream decoder; the body of LLVMFuzzerTestOneInput.
template <class Adapter>
int fuzz_stream_decoder(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t split = static_cast<std::size_t>(data[0]) * bytes.size() / 255;

    static const Adapter adapter;
    providers::ChatContext ctx;
    ctx.public_model = "m";
    ctx.upstream_model = "m";
    ctx.stream = true;
    ctx.include_usage = (data[0] & 1) != 0;
    ctx.response_id = "chatcmpl-fuzz";
    if (run_stream_decoder(adapter, ctx, bytes, bytes.size()) !=
        run_stream_decoder(adapter, ctx, bytes, split)) {
        std::abort();  // output must not depend on how the bytes are split
    }
    return 0;
}

}  // namespace sb::fuzz
