// libFuzzer target: arbitrary bytes as an inbound Anthropic Messages request body.
//
// The first byte picks the target options (top_k allowed, thinking handling, max_tokens field);
// the rest is the body. Checks that parse, to_openai_chat and the count_tokens estimate never
// crash, that a body to_openai_chat accepts is also accepted by parse and gives valid JSON, and
// that rewriting the model token of a parsed body keeps it parseable with the new model.
// Seeds: fuzz/corpus/anthropic_inbound_request/ (replayed under g++ by
// tests/unit/anthropic_inbound_fuzz_corpus_test.cc).

#include <cstddef>
#include <cstdint>

#include "anthropic_inbound_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sb::fuzz::check_inbound_request(data, size);
    return 0;
}
