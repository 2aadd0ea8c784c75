// libFuzzer target: arbitrary bytes as an Anthropic Messages SSE stream.
//
// The first byte picks a split position in the rest (scaled to its length); the rest is fed to
// the stream decoder whole and in the two pieces either side of that position. Checks that the
// decoder never crashes and that its output (and error, if any) does not depend on the split.
// Seeds: fuzz/corpus/anthropic_stream/ (replayed under g++ by tests/unit/fuzz_corpus_test.cc).

#include <cstddef>
#include <cstdint>

#include "providers/anthropic/anthropic.h"
#include "stream_decoder_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return sb::fuzz::fuzz_stream_decoder<sb::providers::anthropic::AnthropicAdapter>(data, size);
}
