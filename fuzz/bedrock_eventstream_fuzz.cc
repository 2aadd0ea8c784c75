// libFuzzer target: arbitrary bytes as a Bedrock ConverseStream body.
//
// Checks that the event-stream decoder and its translation to OpenAI chunks never crash, never
// allocate without bound, and give the same output however the bytes are split across feed()
// calls (whole, and in chunks of 1, 2, 3, 5, 8, ... bytes). Seeds: fuzz/corpus/
// bedrock_eventstream/, written by tests/unit/bedrock_golden_test.cc (SB_UPDATE_GOLDEN=1).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "providers/bedrock/bedrock.h"
#include "providers/bedrock/eventstream.h"

namespace {

using sb::providers::ChatContext;
using sb::providers::bedrock::BedrockAdapter;

// Output of one run, plus the error text when it failed.
std::string run(const BedrockAdapter& adapter, const ChatContext& ctx, std::string_view data,
                bool split) {
    auto decoder = adapter.make_chat_stream_decoder(ctx);
    std::string out;
    std::size_t pos = 0;
    std::size_t a = 1;
    std::size_t b = 1;
    while (pos < data.size()) {
        const std::size_t n = split ? a : data.size();
        const std::size_t next = b;
        b = a + b > 4096 ? 1 : a + b;
        a = next;
        auto status = decoder->feed(data.substr(pos, n), out);
        pos += n;
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
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);

    // The frame decoder alone.
    sb::providers::bedrock::eventstream::Decoder frames;
    sb::providers::bedrock::eventstream::Message message;
    frames.append(bytes);
    while (true) {
        auto decoded = frames.next(message);
        if (!decoded || !*decoded) {
            break;
        }
    }

    // The whole translation, fed whole and in pieces.
    static const BedrockAdapter adapter({}, [] { return std::int64_t{0}; });
    ChatContext ctx;
    ctx.public_model = "m";
    ctx.upstream_model = "m";
    ctx.stream = true;
    ctx.include_usage = size % 2 == 0;
    ctx.response_id = "chatcmpl-fuzz";
    if (run(adapter, ctx, bytes, false) != run(adapter, ctx, bytes, true)) {
        std::abort();  // output must not depend on how the bytes are split
    }
    return 0;
}
