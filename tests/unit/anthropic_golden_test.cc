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

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "providers/anthropic/anthropic.h"
#include "support/golden.h"

#ifndef SB_GOLDEN_DIR
#error "SB_GOLDEN_DIR must be defined (tests/CMakeLists.txt)"
#endif
#ifndef SB_FIXTURES_DIR
#error "SB_FIXTURES_DIR must be defined (tests/CMakeLists.txt)"
#endif

namespace sb::providers::anthropic {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenDir = fs::path(SB_GOLDEN_DIR) / "anthropic";
const fs::path kFixturesDir = fs::path(SB_FIXTURES_DIR) / "providers";

using test::golden::pretty_json;
using test::golden::read_file;
using test::golden::updating;
using test::golden::write_file;

// Golden inputs of one kind, sorted, as (name, path).
std::vector<std::pair<std::string, fs::path>> inputs(std::string_view kind, std::string_view ext) {
    return test::golden::inputs(kGoldenDir, kind, ext);
}

// Compares with (or, when updating, rewrites) the expected file.
void check_golden(const fs::path& input, std::string_view name, std::string_view ext,
                  const std::string& actual) {
    test::golden::check(input, name, ext, actual);
}

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
    AnthropicAdapter adapter;
    auto decoder = adapter.make_chat_stream_decoder(ctx);
    return test::golden::run_stream(*decoder, pieces);
}

StreamResult decode_whole(const ChatContext& ctx, std::string_view sse) {
    return decode(ctx, {sse});
}

ChatContext stream_context(std::string_view name) {
    ChatContext ctx = golden_context();
    ctx.stream = true;
    ctx.include_usage = name.ends_with("_usage");
    return ctx;
}

// ---------------------------------------------------------------------------------------------
// Golden cases

TEST(AnthropicGolden, RequestCasesMatch) {
    const auto cases = inputs("request", "json");
    ASSERT_FALSE(cases.empty()) << "no golden request cases under " << kGoldenDir;
    AnthropicAdapter adapter;
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        const std::string body = read_file(path);
        ChatContext ctx = golden_context();
        simdjson::dom::parser parser;
        simdjson::dom::element root;
        const simdjson::padded_string padded(body);
        if (parser.parse(padded).get(root) == simdjson::SUCCESS) {
            bool flag = false;
            ctx.stream = root["stream"].get_bool().get(flag) == simdjson::SUCCESS && flag;
            ctx.include_usage =
                root["stream_options"]["include_usage"].get_bool().get(flag) == simdjson::SUCCESS &&
                flag;
        }
        auto result = adapter.build_chat(golden_provider(), body, ctx);
        const std::string actual = result ? pretty_json(result->body) : error_json(result.error());
        check_golden(path, name, "json", actual);
    }
}

TEST(AnthropicGolden, ResponseCasesMatch) {
    const auto cases = inputs("response", "json");
    ASSERT_FALSE(cases.empty());
    AnthropicAdapter adapter;
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        auto result = adapter.translate_chat_response(read_file(path), golden_context());
        const std::string actual = result ? pretty_json(*result) : error_json(result.error());
        check_golden(path, name, "json", actual);
    }
}

TEST(AnthropicGolden, StreamCasesMatch) {
    const auto cases = inputs("stream", "sse");
    ASSERT_FALSE(cases.empty());
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        const StreamResult result = decode_whole(stream_context(name), read_file(path));
        check_golden(path, name, "sse", result.render());
    }
}

TEST(AnthropicGolden, ErrorCasesMatch) {
    const auto cases = inputs("error", "json");
    ASSERT_FALSE(cases.empty());
    AnthropicAdapter adapter;
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        const int status = std::atoi(name.c_str());
        ASSERT_GE(status, 100) << "error case names start with the HTTP status";
        const Error e = adapter.map_error(golden_provider(), status, read_file(path), "7");
        check_golden(path, name, "json", error_json(e));
    }
}

// Every golden stream gives the same output fed whole, byte by byte, and in random pieces.
TEST(AnthropicStream, OutputDoesNotDependOnHowTheBytesAreSplit) {
    const auto cases = inputs("stream", "sse");
    ASSERT_FALSE(cases.empty());
    std::mt19937 rng(20240611);
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        const std::string sse = read_file(path);
        const ChatContext ctx = stream_context(name);
        const std::string whole = decode_whole(ctx, sse).render();

        std::vector<std::string_view> bytes;
        for (std::size_t i = 0; i < sse.size(); ++i) {
            bytes.push_back(std::string_view(sse).substr(i, 1));
        }
        EXPECT_EQ(decode(ctx, bytes).render(), whole) << "byte by byte";

        for (int round = 0; round < 25; ++round) {
            std::vector<std::string_view> pieces;
            std::size_t pos = 0;
            while (pos < sse.size()) {
                const std::size_t n = std::uniform_int_distribution<std::size_t>(0, 40)(rng);
                pieces.push_back(std::string_view(sse).substr(pos, n));
                pos += n;
            }
            EXPECT_EQ(decode(ctx, pieces).render(), whole) << "random split, round " << round;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conformance: replay the recorded provider fixtures and check invariants.

bool fixtures_present() {
    return fs::is_directory(kFixturesDir / "anthropic");
}

std::vector<fs::path> fixture_files(std::string_view dir, std::string_view prefix,
                                    std::string_view ext) {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(kFixturesDir / dir)) {
        const std::string file = entry.path().filename().string();
        if (file.starts_with(prefix) && file.ends_with(ext)) {
            out.push_back(entry.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Checks an OpenAI chunk stream: JSON chunks, one finish_reason, usage chunk, [DONE], and
// tool-call arguments that reassemble to JSON objects (unless cut by the length limit).
void check_openai_stream(const std::string& sse, bool include_usage) {
    std::vector<std::string> events;
    std::size_t pos = 0;
    while (pos < sse.size()) {
        const std::size_t end = sse.find("\n\n", pos);
        ASSERT_NE(end, std::string::npos) << "an event is not terminated by a blank line";
        events.push_back(sse.substr(pos, end - pos));
        pos = end + 2;
    }
    ASSERT_GE(events.size(), 3u);
    EXPECT_EQ(events.back(), "data: [DONE]");
    events.pop_back();

    simdjson::dom::parser parser;
    std::string finish;
    int finish_count = 0;
    bool saw_usage = false;
    std::map<std::int64_t, std::string> arguments;
    std::map<std::int64_t, std::string> ids;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const std::string& event = events[i];
        ASSERT_TRUE(event.starts_with("data: ")) << event;
        const simdjson::padded_string padded(event.substr(6));
        simdjson::dom::element chunk;
        ASSERT_EQ(parser.parse(padded).get(chunk), simdjson::SUCCESS) << event;
        EXPECT_EQ(std::string_view(chunk["object"].get_string().value_unsafe()),
                  "chat.completion.chunk");
        simdjson::dom::array choices;
        ASSERT_EQ(chunk["choices"].get_array().get(choices), simdjson::SUCCESS);
        if (include_usage) {
            EXPECT_EQ(chunk["usage"].error(), simdjson::SUCCESS) << "usage member on " << event;
        }
        if (choices.size() == 0) {
            EXPECT_EQ(i + 1, events.size()) << "the usage chunk comes last";
            EXPECT_TRUE(chunk["usage"]["prompt_tokens"].is_int64());
            saw_usage = true;
            continue;
        }
        const simdjson::dom::element choice = choices.at(0).value_unsafe();
        if (i == 0) {
            EXPECT_EQ(std::string_view(choice["delta"]["role"].get_string().value_unsafe()),
                      "assistant");
        }
        std::string_view reason;
        if (choice["finish_reason"].get_string().get(reason) == simdjson::SUCCESS) {
            finish = reason;
            ++finish_count;
        }
        simdjson::dom::array calls;
        if (choice["delta"]["tool_calls"].get_array().get(calls) == simdjson::SUCCESS) {
            for (const simdjson::dom::element call : calls) {
                const std::int64_t index = call["index"].get_int64().value_unsafe();
                std::string_view id;
                if (call["id"].get_string().get(id) == simdjson::SUCCESS) {
                    EXPECT_EQ(ids.count(index), 0u) << "one header per tool call";
                    EXPECT_EQ(index, static_cast<std::int64_t>(ids.size()))
                        << "tool call indexes are ordinals";
                    ids[index] = std::string(id);
                }
                std::string_view fragment;
                if (call["function"]["arguments"].get_string().get(fragment) == simdjson::SUCCESS) {
                    arguments[index] += fragment;
                }
            }
        }
    }
    EXPECT_EQ(finish_count, 1);
    EXPECT_EQ(saw_usage, include_usage);
    for (const auto& [index, text] : arguments) {
        if (finish == "length") {
            continue;  // a tool call cut by max_tokens is partial JSON
        }
        const simdjson::padded_string padded(text);
        simdjson::dom::element parsed;
        EXPECT_EQ(parser.parse(padded).get(parsed), simdjson::SUCCESS)
            << "arguments of tool call " << index << ": " << text;
        EXPECT_TRUE(parsed.is_object());
    }
}

TEST(AnthropicConformance, RecordedStreamsDecodeToValidOpenAIStreams) {
    if (!fixtures_present()) {
        GTEST_SKIP() << "provider fixtures not found at " << kFixturesDir
                     << " (they live outside the repository, in shared/fixtures)";
    }
    const auto files = fixture_files("anthropic", "stream.", ".sse");
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
            check_openai_stream(result.output, include_usage);
        }
    }
}

TEST(AnthropicConformance, RecordedResponsesTranslateToValidCompletions) {
    if (!fixtures_present()) {
        GTEST_SKIP() << "provider fixtures not found at " << kFixturesDir;
    }
    const auto files = fixture_files("anthropic", "resp.", ".json");
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
    if (!fixtures_present()) {
        GTEST_SKIP() << "provider fixtures not found at " << kFixturesDir;
    }
    const auto files = fixture_files("anthropic", "err.", ".json");
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
    if (!fixtures_present()) {
        GTEST_SKIP() << "provider fixtures not found at " << kFixturesDir;
    }
    const auto files = fixture_files("openai", "req.", ".json");
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
