#include "api/usage.h"

#include <gtest/gtest.h>

namespace sb::api {
namespace {

TEST(FindUsage, ReadsCountsAndDetailsFromAChatCompletion) {
    const auto u = find_usage(
        R"({"id":"x","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":12,)"
        R"("completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":8},)"
        R"("completion_tokens_details":{"reasoning_tokens":3}}})");
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(u->prompt_tokens, 12u);
    EXPECT_EQ(u->completion_tokens, 5u);
    EXPECT_EQ(u->cached_tokens, 8u);
    EXPECT_EQ(u->reasoning_tokens, 3u);
}

TEST(FindUsage, IgnoresUsageTextInsideStrings) {
    // A model that writes `"usage":{...}` in its answer cannot set the counts.
    const auto u =
        find_usage(R"({"choices":[{"message":{"content":"say \"usage\":{\"prompt_tokens\":0}"}}],)"
                   R"("usage":{"prompt_tokens":40,"completion_tokens":2}})");
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(u->prompt_tokens, 40u);
    EXPECT_FALSE(find_usage(R"({"content":"\"usage\":{\"prompt_tokens\":9}"})").has_value());
}

TEST(FindUsage, NullOrMissingOrMalformedUsageIsNothing) {
    EXPECT_FALSE(find_usage(R"({"usage":null})").has_value());
    EXPECT_FALSE(find_usage(R"({"id":"x"})").has_value());
    EXPECT_FALSE(find_usage(R"({"usage":{"prompt_tokens":1)").has_value());
    EXPECT_FALSE(find_usage("").has_value());
}

TEST(FindUsage, EmbeddingsUsageHasPromptTokensOnly) {
    const auto u = find_usage(R"({"data":[],"usage":{"prompt_tokens":7,"total_tokens":7}})");
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(u->prompt_tokens, 7u);
    EXPECT_EQ(u->completion_tokens, 0u);
}

TEST(FindStreamUsage, TakesTheUsageChunkAndSkipsNullUsage) {
    const std::string events =
        "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n"
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":9}}\n\n"
        "data: [DONE]\n\n";
    const auto u = find_stream_usage(events);
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(u->prompt_tokens, 3u);
    EXPECT_EQ(u->completion_tokens, 9u);
    EXPECT_FALSE(find_stream_usage("data: {\"choices\":[]}\n\n").has_value());
}

TEST(StripUsageChunks, RemovesOnlyTheUsageOnlyChunk) {
    std::string events =
        "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n"
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":9}}\n\n"
        "data: [DONE]\n\n";
    EXPECT_TRUE(strip_usage_chunks(events));
    EXPECT_EQ(events,
              "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n"
              "data: [DONE]\n\n");
    std::string plain = "data: {\"choices\":[]}\n\n";
    EXPECT_FALSE(strip_usage_chunks(plain));
    EXPECT_EQ(plain, "data: {\"choices\":[]}\n\n");
}

TEST(AnthropicUsage, ReadsAMessageBodyInOpenAITerms) {
    const auto u = AnthropicUsage::from_message(
        R"({"id":"msg_1","content":[{"type":"text","text":"\"usage\":{\"input_tokens\":99}"}],)"
        R"("usage":{"input_tokens":10,"cache_creation_input_tokens":2,)"
        R"("cache_read_input_tokens":30,"output_tokens":7}})");
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(u->input_tokens, 10u);
    const auto usage = u->to_usage();
    ASSERT_TRUE(usage.has_value());
    EXPECT_EQ(usage->prompt_tokens, 42u);  // Anthropic's input_tokens excludes cache reads
    EXPECT_EQ(usage->cached_tokens, 30u);
    EXPECT_EQ(usage->completion_tokens, 7u);
    EXPECT_FALSE(AnthropicUsage::from_message(R"({"id":"msg_1"})").has_value());
}

TEST(AnthropicUsage, MergesStreamEventsLaterCountsWin) {
    AnthropicUsage u;
    EXPECT_FALSE(u.update_from_events("event: ping\ndata: {\"type\":\"ping\"}\n\n"));
    EXPECT_FALSE(u.to_usage().has_value());
    EXPECT_TRUE(u.update_from_events(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\","
        "\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n"));
    EXPECT_TRUE(u.update_from_events(
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        "\"end_turn\"},\"usage\":{\"output_tokens\":12}}\n\n"));
    const auto usage = u.to_usage();
    ASSERT_TRUE(usage.has_value());
    EXPECT_EQ(usage->prompt_tokens, 30u);
    EXPECT_EQ(usage->cached_tokens, 5u);
    EXPECT_EQ(usage->completion_tokens, 12u);
}

}  // namespace
}  // namespace sb::api
