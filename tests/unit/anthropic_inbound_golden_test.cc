// Golden cases for the inbound Anthropic Messages translation (tests/golden/anthropic_inbound/)
// and stream split invariance.
//
// Layout: <kind>/<name>.in.<ext> is the input, <name>.expected.<ext> the output.
//   request/       Anthropic request -> OpenAI chat body (or the 400, as error JSON plus the
//                  Anthropic error body). Options from the name: "topk" allows top_k,
//                  "reasoning" maps thinking to reasoning_effort, "thinking_ignored" drops it,
//                  "mct" writes max_completion_tokens.
//   response/      OpenAI chat.completion -> Anthropic message (or the error)
//   stream/        OpenAI SSE -> Anthropic SSE; a failing stream ends with the Anthropic error
//                  event and a "# http status: N" line
//   count_tokens/  Anthropic count_tokens request -> {"input_tokens": N} (or the error)
// Every case runs with the context of golden_context(): stop sequences "\n\nHuman:" and "END",
// message id msg_golden, model claude-public, input estimate 42.
// Regenerate with SB_UPDATE_GOLDEN=1 and review the diff.

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "inbound/anthropic/messages.h"
#include "support/golden.h"

#ifndef SB_GOLDEN_DIR
#error "SB_GOLDEN_DIR must be defined (tests/CMakeLists.txt)"
#endif

namespace sb::inbound::anthropic {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenDir = fs::path(SB_GOLDEN_DIR) / "anthropic_inbound";

using test::golden::pretty_json;
using test::golden::read_file;

std::vector<std::pair<std::string, fs::path>> inputs(std::string_view kind, std::string_view ext) {
    return test::golden::inputs(kGoldenDir, kind, ext);
}

// The Error as the core table sees it, then the Anthropic body the client gets.
std::string error_text(const Error& e) {
    return test::golden::error_json(e) + pretty_json(anthropic_error_body(e));
}

ResponseContext golden_context() {
    ResponseContext ctx;
    ctx.message_id = "msg_golden";
    ctx.model = "claude-public";
    ctx.stop_sequences = {"\n\nHuman:", "END"};
    ctx.input_tokens_estimate = 42;
    ctx.upstream = "openai";
    return ctx;
}

TargetOptions options_for(std::string_view name) {
    TargetOptions target;
    target.top_k = name.find("topk") != std::string_view::npos;
    if (name.find("reasoning") != std::string_view::npos) {
        target.thinking = Thinking::ReasoningEffort;
    } else if (name.find("thinking_ignored") != std::string_view::npos) {
        target.thinking = Thinking::Ignore;
    }
    if (name.find("mct") != std::string_view::npos) {
        target.max_tokens_field = MaxTokensField::MaxCompletionTokens;
    }
    return target;
}

// Runs an OpenAI stream through a translator fed in the given pieces; an error ends the stream
// with the Anthropic error event, as the gateway does once the head is sent.
std::string translate_stream(const std::vector<std::string_view>& pieces) {
    StreamTranslator translator(golden_context());
    std::string out;
    Status status;
    for (const std::string_view piece : pieces) {
        status = translator.feed(piece, out);
        if (!status) {
            break;
        }
    }
    if (status) {
        status = translator.finish(out);
    }
    if (!status) {
        translator.fail(status.error(), out);
        out += "# http status: " + std::to_string(http_status(status.error())) + "\n";
    }
    return out;
}

std::string translate_whole(std::string_view sse) {
    return translate_stream({sse});
}

TEST(AnthropicInboundGolden, RequestCasesMatch) {
    const auto cases = inputs("request", "json");
    ASSERT_FALSE(cases.empty()) << "no golden request cases under " << kGoldenDir;
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        auto result = to_openai_chat(read_file(path), options_for(name));
        const std::string actual = result ? pretty_json(*result) : error_text(result.error());
        test::golden::check(path, name, "json", actual);
    }
}

TEST(AnthropicInboundGolden, ResponseCasesMatch) {
    const auto cases = inputs("response", "json");
    ASSERT_FALSE(cases.empty());
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        auto result = to_anthropic_response(read_file(path), golden_context());
        const std::string actual = result ? pretty_json(*result) : error_text(result.error());
        test::golden::check(path, name, "json", actual);
    }
}

TEST(AnthropicInboundGolden, StreamCasesMatch) {
    const auto cases = inputs("stream", "sse");
    ASSERT_FALSE(cases.empty());
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        test::golden::check(path, name, "sse", translate_whole(read_file(path)));
    }
}

TEST(AnthropicInboundGolden, CountTokensCasesMatch) {
    const auto cases = inputs("count_tokens", "json");
    ASSERT_FALSE(cases.empty());
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        auto result = count_tokens_response(read_file(path));
        const std::string actual = result ? pretty_json(*result) : error_text(result.error());
        test::golden::check(path, name, "json", actual);
    }
}

// Every golden stream gives the same output fed whole, byte by byte, split at every position
// and in random pieces.
TEST(AnthropicInboundStream, OutputDoesNotDependOnHowTheBytesAreSplit) {
    const auto cases = inputs("stream", "sse");
    ASSERT_FALSE(cases.empty());
    std::mt19937 rng(20261125);
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        const std::string sse = read_file(path);
        const std::string_view view = sse;
        const std::string whole = translate_whole(sse);

        std::vector<std::string_view> bytes;
        for (std::size_t i = 0; i < sse.size(); ++i) {
            bytes.push_back(view.substr(i, 1));
        }
        EXPECT_EQ(translate_stream(bytes), whole) << "byte by byte";

        for (std::size_t at = 0; at <= sse.size(); ++at) {
            const std::string two = translate_stream({view.substr(0, at), view.substr(at)});
            if (two != whole) {
                ADD_FAILURE() << "split at " << at;
                break;
            }
        }
        for (int round = 0; round < 20; ++round) {
            std::vector<std::string_view> pieces;
            std::size_t pos = 0;
            while (pos < sse.size()) {
                const std::size_t n = std::uniform_int_distribution<std::size_t>(0, 40)(rng);
                pieces.push_back(view.substr(pos, n));
                pos += n;
            }
            EXPECT_EQ(translate_stream(pieces), whole) << "random split, round " << round;
        }
    }
}

}  // namespace
}  // namespace sb::inbound::anthropic
