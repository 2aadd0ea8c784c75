// libFuzzer target: arbitrary bytes as an OpenAI chat.completion.chunk stream for the inbound
// Anthropic stream translator.
//
// The first byte picks a split position in the rest (scaled to its length); the rest is fed
// whole and in the two pieces either side of that position. Checks that the translator never
// crashes, that its output does not depend on the split, and that what it writes is a sequence
// of well-formed `event:` / `data: <JSON object>` events.
// Seeds: fuzz/corpus/anthropic_inbound_stream/ (replayed under g++ by
// tests/unit/anthropic_inbound_fuzz_corpus_test.cc).

#include <cstddef>
#include <cstdint>

#include "anthropic_inbound_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sb::fuzz::check_inbound_stream(data, size);
    return 0;
}
