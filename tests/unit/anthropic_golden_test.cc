// Golden cases for the Anthropic adapter (tests/golden/anthropic/), stream split invariance and
// a conformance replay of the recorded provider fixtures (shared/fixtures/providers/).
//
// Golden layout: <kind>/<name>.in.<ext> is the input, <name>.expected.<ext> the output.
//   request/   OpenAI chat request  -> Anthropic request body (or the 400 we answer)
//   response/  Anthropic message    -> OpenAI chat.completion (or the error)
//   stream/    Anthropic SSE        -> OpenAI SSE chunks (+ "# error: ..." when it fails);
//              names ending in "_usage" run with stream_options.include_usage
//   error/     Anthropic error body -> our Error; the name starts with the HTTP status
// Regenerate with SB_UPDATE_GOLDEN=1 and review the diff.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "providers/anthropic/anthropic.h"
#include "support/dirs.h"
#include "support/golden.h"
#include "support/harness.h"

namespace sb::providers::anthropic {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenDir = test::golden_dir("anthropic");
const fs::path kFixturesDir = test::provider_fixtures_dir();

using test::golden::pretty_json;
using test::golden::read_file;
using test::golden::run_cases;

// The ErrorCode the adapter chose (the core table maps it to a status, type and code).
std::string_view code_label(ErrorCode code) {
    switch (code) {
        case ErrorCode::InvalidRequest:
            return "InvalidRequest";
        case ErrorCode::InvalidJson:
            return "InvalidJson";
        case ErrorCode::UpstreamError:
            return "UpstreamError";
        case ErrorCode::UpstreamAuth:
            return "UpstreamAuth";
        case ErrorCode::UpstreamBadResponse:
            return "UpstreamBadResponse";
        default:
            return "other";
    }
}

std::string error_json(const Error& e) {
    std::string json = "{\"error\":{\"kind\":\"";
    json += code_label(e.code);
    json += "\",\"status\":" + std::to_string(http_status(e)) + ",\"type\":\"";
    append_json_escaped(json, error_type(e));
    json += "\",\"upstream_code\":\"";
    append_json_escaped(json, e.upstream_code);
    json += "\",\"param\":\"";
    append_json_escaped(json, e.param);
    json += "\",\"message\":\"";
    append_json_escaped(json, e.message);
    json += "\",\"retry_after\":\"";
    append_json_escaped(json, e.retry_after);
    json += "\"}}";
    return pretty_json(json);
}

ChatContext golden_context() {
    ChatContext ctx;
    ctx.public_model = "claude-public";
    ctx.upstream_model = "claude-sonnet-4-5";
    ctx.response_id = "chatcmpl-golden";
    ctx.created = 1700000000;
    return ctx;
}

config::Provider golden_provider() {
    config::Provider p;
    p.name = "anthropic";
    p.base_url = std::string(kDefaultBaseUrl);
    p.api_key = "sk-ant-golden-key";
    return p;
}

using test::golden::StreamResult;

// Runs a whole Anthropic stream through a decoder, fed in the given pieces.
StreamResult decode(const ChatContext& ctx, const std::vector<std::string_view>& pieces) {
    return test::golden::run_stream(AnthropicAdapter(), ctx, pieces);
}

StreamResult decode_whole(const ChatContext& ctx, std::string_view sse) {
    return decode(ctx, {sse});
}

ChatContext stream_context(std::string_view name) {
    return test::golden::stream_context(golden_context(), name);
}

// ---------------------------------------------------------------------------------------------
// Golden cases

TEST(AnthropicGolden, RequestCasesMatch) {
    AnthropicAdapter adapter;
    run_cases(kGoldenDir, "request", "json", "json",
              [&](const auto&, const auto& body, auto& actual) {
                  ChatContext ctx = golden_context();
                  const auto flags = test::golden::stream_flags(body);
                  ctx.stream = flags.stream;
                  ctx.include_usage = flags.include_usage;
                  auto result = adapter.build_chat(golden_provider(), body, ctx);
                  actual = result ? pretty_json(result->body) : error_json(result.error());
              });
}

TEST(AnthropicGolden, ResponseCasesMatch) {
    AnthropicAdapter adapter;
    run_cases(kGoldenDir, "response", "json", "json",
              [&](const auto&, const auto& in, auto& actual) {
                  auto result = adapter.translate_chat_response(in, golden_context());
                  actual = result ? pretty_json(*result) : error_json(result.error());
              });
}

TEST(AnthropicGolden, StreamCasesMatch) {
    run_cases(kGoldenDir, "stream", "sse", "sse",
              [](const auto& name, const auto& in, auto& actual) {
                  actual = decode_whole(stream_context(name), in).render();
              });
}

TEST(AnthropicGolden, ErrorCasesMatch) {
    AnthropicAdapter adapter;
    run_cases(kGoldenDir, "error", "json", "json",
              [&](const auto& name, const auto& in, auto& actual) {
                  const int status = std::atoi(name.c_str());
                  ASSERT_GE(status, 100) << "error case names start with the HTTP status";
                  actual = error_json(adapter.map_error(golden_provider(), status, in, "7"));
              });
}

// Every golden stream gives the same output fed whole, byte by byte, and in random pieces.
TEST(AnthropicStream, OutputDoesNotDependOnHowTheBytesAreSplit) {
    test::expect_stream_cases_split_invariant(
        kGoldenDir, "sse", 20240611, {.max_piece = 40}, nullptr,
        [](const auto& name, const auto& pieces) {
            return decode(stream_context(name), pieces).render();
        });
}

// ---------------------------------------------------------------------------------------------
// Conformance: replay the recorded provider fixtures and check invariants.

TEST(AnthropicConformance, RecordedStreamsDecodeToValidOpenAIStreams) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir / "anthropic");
    const auto files = test::fixture_files(kFixturesDir / "anthropic", "stream.", ".sse");
    ASSERT_FALSE(files.empty());
    for (const fs::path& path : files) {
        SCOPED_TRACE(path.filename().string());
        const std::string sse = read_file(path);
        for (const bool include_usage : {false, true}) {
            ChatContext ctx = golden_context();
            ctx.stream = true;
            ctx.include_usage = include_usage;
            const StreamResult result = decode_whole(ctx, sse);
            if (sse.find("event: error") != std::string::npos) {
                ASSERT_TRUE(result.error.has_value());
                EXPECT_EQ(result.error->code, ErrorCode::UpstreamError);
                EXPECT_FALSE(result.error->upstream_type.empty());
                EXPECT_GE(http_status(*result.error), 400);
                continue;
            }
            ASSERT_FALSE(result.error.has_value()) << result.error->message;
            test::check_openai_stream(result.output, include_usage);
        }
    }
}

TEST(AnthropicConformance, RecordedResponsesTranslateToValidCompletions) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir / "anthropic");
    const auto files = test::fixture_files(kFixturesDir / "anthropic", "resp.", ".json");
    ASSERT_FALSE(files.empty());
    AnthropicAdapter adapter;
    simdjson::dom::parser parser;
    simdjson::dom::parser original_parser;
    for (const fs::path& path : files) {
        SCOPED_TRACE(path.filename().string());
        const std::string body = read_file(path);
        auto result = adapter.translate_chat_response(body, golden_context());
        ASSERT_TRUE(result) << result.error().message;
        const simdjson::padded_string padded(*result);
        simdjson::dom::element completion;
        ASSERT_EQ(parser.parse(padded).get(completion), simdjson::SUCCESS) << *result;
        const simdjson::dom::element choice = completion["choices"].at(0).value_unsafe();
        std::string_view finish;
        ASSERT_EQ(choice["finish_reason"].get_string().get(finish), simdjson::SUCCESS);
        EXPECT_FALSE(finish.empty());
        simdjson::dom::array calls;
        if (choice["message"]["tool_calls"].get_array().get(calls) == simdjson::SUCCESS) {
            EXPECT_EQ(finish, "tool_calls");
            for (const simdjson::dom::element call : calls) {
                const std::string arguments(
                    call["function"]["arguments"].get_string().value_unsafe());
                simdjson::dom::parser arguments_parser;
                const simdjson::padded_string padded_arguments(arguments);
                simdjson::dom::element parsed;
                EXPECT_EQ(arguments_parser.parse(padded_arguments).get(parsed), simdjson::SUCCESS);
                EXPECT_TRUE(parsed.is_object());
            }
        }
        // prompt_tokens counts every input token Anthropic reports.
        const simdjson::padded_string padded_body(body);
        simdjson::dom::element original;
        ASSERT_EQ(original_parser.parse(padded_body).get(original), simdjson::SUCCESS);
        const auto usage = original["usage"];
        const std::int64_t input = usage["input_tokens"].get_int64().value_unsafe() +
                                   usage["cache_read_input_tokens"].get_int64().value_unsafe() +
                                   usage["cache_creation_input_tokens"].get_int64().value_unsafe();
        EXPECT_EQ(completion["usage"]["prompt_tokens"].get_int64().value_unsafe(), input);
        EXPECT_EQ(completion["usage"]["completion_tokens"].get_int64().value_unsafe(),
                  usage["output_tokens"].get_int64().value_unsafe());
    }
}

TEST(AnthropicConformance, RecordedErrorsKeepStatusAndType) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir / "anthropic");
    const auto files = test::fixture_files(kFixturesDir / "anthropic", "err.", ".json");
    ASSERT_FALSE(files.empty());
    AnthropicAdapter adapter;
    for (const fs::path& path : files) {
        const std::string file = path.filename().string();  // err.<status>.<type>[.recorded].json
        SCOPED_TRACE(file);
        const std::size_t second_dot = file.find('.', 4);
        const int status = std::atoi(file.substr(4, second_dot - 4).c_str());
        const std::size_t third_dot = file.find('.', second_dot + 1);
        const std::string type = file.substr(second_dot + 1, third_dot - second_dot - 1);
        const Error e = adapter.map_error(golden_provider(), status, read_file(path), "");
        EXPECT_EQ(http_status(e), status);
        EXPECT_EQ(error_type(e), type);
        EXPECT_FALSE(e.message.empty());
    }
}

// The OpenAI fixture requests are all expressible for Anthropic.
TEST(AnthropicConformance, RecordedOpenAIRequestsTranslate) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir / "anthropic");
    const auto files = test::fixture_files(kFixturesDir / "openai", "req.", ".json");
    ASSERT_FALSE(files.empty());
    AnthropicAdapter adapter;
    simdjson::dom::parser parser;
    for (const fs::path& path : files) {
        SCOPED_TRACE(path.filename().string());
        auto result = adapter.build_chat(golden_provider(), read_file(path), golden_context());
        ASSERT_TRUE(result) << result.error().message;
        const simdjson::padded_string padded(result->body);
        simdjson::dom::element body;
        ASSERT_EQ(parser.parse(padded).get(body), simdjson::SUCCESS) << result->body;
        EXPECT_TRUE(body["max_tokens"].is_int64());
        EXPECT_TRUE(body["messages"].is_array());
    }
}

}  // namespace
}  // namespace sb::providers::anthropic
