// Replays the seed corpora of the inbound Anthropic fuzz targets (fuzz/corpus/
// anthropic_inbound_request/, fuzz/corpus/anthropic_inbound_stream/) through the same checks in
// the normal (g++) build, where libFuzzer targets are not built. The stream seeds are also
// checked at every split position. Files fuzzing adds to those folders are replayed as well.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "anthropic_inbound_fuzz.h"
#include "support/dirs.h"
#include "support/harness.h"

namespace sb {
namespace {

namespace fs = std::filesystem;

std::vector<std::pair<std::string, std::string>> corpus(std::string_view target) {
    return test::corpus_files(test::fuzz_corpus_dir(target));
}

const std::uint8_t* bytes_of(const std::string& s) {
    return reinterpret_cast<const std::uint8_t*>(s.data());
}

TEST(FuzzCorpus, AnthropicInboundRequestReplays) {
    const auto files = corpus("anthropic_inbound_request");
    EXPECT_FALSE(files.empty());
    int accepted = 0;
    for (const auto& [name, input] : files) {
        SCOPED_TRACE(name);
        EXPECT_EQ(fuzz::check_inbound_request(bytes_of(input), input.size()), "");
        if (!input.empty()) {
            const std::string_view body = std::string_view(input).substr(1);
            accepted +=
                inbound::anthropic::parse(inbound::anthropic::Endpoint::Messages, body) ? 1 : 0;
        }
    }
    // The seeds keep both valid and invalid bodies.
    EXPECT_GT(accepted, 0);
    EXPECT_LT(accepted, static_cast<int>(files.size()));
}

TEST(FuzzCorpus, AnthropicInboundStreamReplays) {
    const auto files = corpus("anthropic_inbound_stream");
    EXPECT_FALSE(files.empty());
    int clean = 0;
    for (const auto& [name, input] : files) {
        SCOPED_TRACE(name);
        EXPECT_EQ(fuzz::check_inbound_stream(bytes_of(input), input.size()), "");
        if (input.empty()) {
            continue;
        }
        const std::string_view bytes = std::string_view(input).substr(1);
        const std::string whole = fuzz::run_inbound_stream(bytes, bytes.size());
        for (std::size_t at = 0; at <= bytes.size(); ++at) {
            if (fuzz::run_inbound_stream(bytes, at) != whole) {
                ADD_FAILURE() << "split at " << at;
                break;
            }
        }
        clean +=
            whole.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n") ? 1 : 0;
    }
    // The seeds keep both complete streams and failing ones.
    EXPECT_GT(clean, 0);
    EXPECT_LT(clean, static_cast<int>(files.size()));
}

}  // namespace
}  // namespace sb
