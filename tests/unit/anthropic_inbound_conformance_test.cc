// Conformance of the inbound Anthropic translation against the recorded provider fixtures
// (shared/fixtures/providers/, outside the repository; the tests skip without them):
//   - OpenAI recordings (responses and streams) translate to well-formed Anthropic answers;
//   - Anthropic recordings go through the outbound Anthropic adapter (Anthropic -> OpenAI) and
//     back through this library (OpenAI -> Anthropic), and the result says the same thing as
//     the recording: text, thinking, tool calls with their inputs, stop reason, token counts.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "anthropic_inbound_fuzz.h"
#include "inbound/anthropic/messages.h"
#include "providers/anthropic/anthropic.h"
#include "providers/common/json.h"
#include "providers/common/sse.h"
#include "providers/gemini/gemini.h"
#include "support/dirs.h"
#include "support/golden.h"
#include "support/harness.h"

namespace sb::inbound::anthropic {
namespace {

namespace fs = std::filesystem;

const fs::path kFixturesDir = test::provider_fixtures_dir();

// What an Anthropic answer says, however it was delivered (message or stream).
struct Said {
    std::string text;
    std::string thinking;
    struct Tool {
        std::string id;
        std::string name;
        std::string input;  // minified JSON, or the raw text when it does not parse
    };
    std::vector<Tool> tools;
    std::string stop_reason;
    std::int64_t input = 0;
    std::int64_t cache_read = 0;
    std::int64_t cache_creation = 0;
    std::int64_t output = 0;
    std::string error_type;
};

std::string minified(std::string_view json) {
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(json);
    simdjson::dom::element e;
    if (parser.parse(padded).get(e) != simdjson::SUCCESS) {
        return std::string(json);
    }
    return simdjson::to_string(e);
}

void take_usage(simdjson::dom::element usage, Said& said) {
    providers::common::update_int(usage, "input_tokens", said.input);
    providers::common::update_int(usage, "cache_read_input_tokens", said.cache_read);
    providers::common::update_int(usage, "cache_creation_input_tokens", said.cache_creation);
    providers::common::update_int(usage, "output_tokens", said.output);
}

Said read_message(std::string_view body) {
    Said said;
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(body);
    const simdjson::dom::element root = parser.parse(padded).value();
    const simdjson::dom::array blocks = root["content"].get_array().value();
    for (const simdjson::dom::element block : blocks) {
        const std::string_view type = block["type"].get_string().value();
        if (type == "text") {
            said.text += block["text"].get_string().value();
        } else if (type == "thinking") {
            said.thinking += block["thinking"].get_string().value();
        } else if (type == "tool_use") {
            said.tools.push_back({std::string(block["id"].get_string().value()),
                                  std::string(block["name"].get_string().value()),
                                  simdjson::to_string(block["input"].value())});
        }
    }
    said.stop_reason = std::string(root["stop_reason"].get_string().value());
    take_usage(root["usage"].value(), said);
    return said;
}

// Reassembles an Anthropic event stream the way the SDKs do.
struct StreamReader final : providers::common::SseReader::Sink {
    Status on_event(const std::string& event, std::string& data) override {
        if (event == "ping") {
            return {};
        }
        const simdjson::padded_string padded(data);
        simdjson::dom::element root;
        if (parser.parse(padded).get(root) != simdjson::SUCCESS) {
            ADD_FAILURE() << "not JSON: " << data;
            return {};
        }
        const std::string_view type = root["type"].get_string().value();
        if (type == "message_start") {
            take_usage(root["message"]["usage"].value(), said);
        } else if (type == "content_block_start") {
            const auto block = root["content_block"];
            kinds[root["index"].get_int64().value()] =
                std::string(block["type"].get_string().value());
            if (block["type"].get_string().value() == std::string_view("tool_use")) {
                tool_at[root["index"].get_int64().value()] = said.tools.size();
                said.tools.push_back({std::string(block["id"].get_string().value()),
                                      std::string(block["name"].get_string().value()), ""});
            }
        } else if (type == "content_block_delta") {
            const auto delta = root["delta"];
            const std::string_view delta_type = delta["type"].get_string().value();
            if (delta_type == "text_delta") {
                said.text += delta["text"].get_string().value();
            } else if (delta_type == "thinking_delta") {
                said.thinking += delta["thinking"].get_string().value();
            } else if (delta_type == "input_json_delta") {
                said.tools.at(tool_at.at(root["index"].get_int64().value())).input +=
                    delta["partial_json"].get_string().value();
            }
        } else if (type == "message_delta") {
            std::string_view stop;
            if (root["delta"]["stop_reason"].get_string().get(stop) == simdjson::SUCCESS) {
                said.stop_reason = std::string(stop);
            }
            take_usage(root["usage"].value(), said);
        } else if (type == "error") {
            said.error_type = std::string(root["error"]["type"].get_string().value());
        }
        return {};
    }
    simdjson::dom::parser parser;
    Said said;
    std::map<std::int64_t, std::string> kinds;
    std::map<std::int64_t, std::size_t> tool_at;
};

Said read_stream(std::string_view sse) {
    StreamReader reader;
    providers::common::SseReader sse_reader("test", std::size_t{1} << 24, false);
    EXPECT_TRUE(sse_reader.feed(sse, reader));
    EXPECT_TRUE(sse_reader.finish(reader));
    for (Said::Tool& tool : reader.said.tools) {
        tool.input = tool.input.empty() ? "{}" : minified(tool.input);
    }
    return reader.said;
}

ResponseContext context() {
    ResponseContext ctx;
    ctx.message_id = "msg_conformance";
    ctx.model = "claude-public";
    return ctx;
}

providers::ChatContext chat_context(bool stream) {
    providers::ChatContext ctx;
    ctx.public_model = "claude-public";
    ctx.upstream_model = "claude-upstream";
    ctx.stream = stream;
    ctx.include_usage = true;  // as to_openai_chat asks for
    ctx.response_id = "chatcmpl-conformance";
    return ctx;
}

// The stop reason that survives a trip through OpenAI's finish_reason.
std::string expected_stop(std::string_view original) {
    if (original == "stop_sequence" || original == "pause_turn") {
        return "end_turn";  // OpenAI's "stop" does not say which (docs/anthropic-inbound.md)
    }
    if (original == "model_context_window_exceeded") {
        return "max_tokens";
    }
    return std::string(original);
}

void expect_same(const Said& original, const Said& translated, bool truncated) {
    EXPECT_EQ(translated.text, original.text);
    EXPECT_EQ(translated.thinking, original.thinking);
    ASSERT_EQ(translated.tools.size(), original.tools.size());
    for (std::size_t i = 0; i < original.tools.size(); ++i) {
        EXPECT_EQ(translated.tools[i].id, original.tools[i].id);
        EXPECT_EQ(translated.tools[i].name, original.tools[i].name);
        if (!truncated) {
            EXPECT_EQ(translated.tools[i].input, original.tools[i].input);
        }
    }
    EXPECT_EQ(translated.stop_reason, expected_stop(original.stop_reason));
    EXPECT_EQ(translated.output, original.output);
    // OpenAI folds cache writes into prompt_tokens and reports only cache reads.
    EXPECT_EQ(translated.input + translated.cache_read,
              original.input + original.cache_read + original.cache_creation);
    EXPECT_EQ(translated.cache_read, original.cache_read);
}

TEST(AnthropicInboundConformance, AnthropicStreamsSurviveTheRoundTripThroughOpenAI) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir / "anthropic", kFixturesDir / "openai");
    const providers::anthropic::AnthropicAdapter adapter;
    for (const fs::path& path :
         test::fixture_files(kFixturesDir / "anthropic", "stream.", ".sse")) {
        SCOPED_TRACE(path.filename().string());
        const std::string recorded = test::golden::read_file(path);
        InboundStream stream(adapter.make_chat_stream_decoder(chat_context(true)), context());
        std::string out;
        auto status = stream.feed(recorded, out);
        if (status) {
            status = stream.finish(out);
        }
        if (!status) {
            stream.fail(status.error(), out);
        }
        EXPECT_EQ(fuzz::check_event_sequence(out), "") << out;
        const Said original = read_stream(recorded);
        const Said result = read_stream(out);
        if (!original.error_type.empty()) {
            EXPECT_EQ(result.error_type, original.error_type) << out;
            continue;
        }
        ASSERT_TRUE(result.error_type.empty()) << out;
        expect_same(original, result, original.stop_reason == "max_tokens");
    }
}

TEST(AnthropicInboundConformance, AnthropicMessagesSurviveTheRoundTripThroughOpenAI) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir / "anthropic", kFixturesDir / "openai");
    const providers::anthropic::AnthropicAdapter adapter;
    for (const fs::path& path : test::fixture_files(kFixturesDir / "anthropic", "resp.", ".json")) {
        SCOPED_TRACE(path.filename().string());
        const std::string recorded = test::golden::read_file(path);
        auto back = anthropic_response(&adapter, recorded, chat_context(false), context());
        ASSERT_TRUE(back) << back.error().message;
        expect_same(read_message(recorded), read_message(*back), false);
    }
}

// Every OpenAI stream our translating adapters produce in their golden cases (Anthropic, Gemini,
// Bedrock; tests/golden/<provider>/stream/*.expected.sse) becomes a well-formed Anthropic
// stream: complete ones end with message_stop and complete tool inputs, failed ones
// ("# error:" lines, no [DONE]) with an error event.
TEST(AnthropicInboundConformance, AdapterGoldenStreamsTranslate) {
    int complete = 0;
    for (const std::string_view provider : {"anthropic", "gemini", "bedrock"}) {
        for (const auto& [name, path] :
             test::golden::inputs(test::golden_dir(provider), "stream", "sse")) {
            const fs::path expected = path.parent_path() / (name + ".expected.sse");
            SCOPED_TRACE(expected.string());
            const std::string openai = test::golden::read_file(expected);
            if (!openai.starts_with("data: ")) {
                continue;  // an error before any chunk: nothing to translate
            }
            StreamTranslator translator(context());
            std::string out;
            auto status = translator.feed(openai, out);
            if (status) {
                status = translator.finish(out);
            }
            if (!status) {
                translator.fail(status.error(), out);
            }
            EXPECT_EQ(fuzz::check_event_sequence(out), "") << out;
            const bool done = openai.find("data: [DONE]") != std::string::npos;
            EXPECT_EQ(out.ends_with("{\"type\":\"message_stop\"}\n\n"), done) << out;
            if (!done) {
                continue;
            }
            ++complete;
            const Said said = read_stream(out);
            if (said.stop_reason != "max_tokens") {
                for (const Said::Tool& tool : said.tools) {
                    EXPECT_EQ(minified(tool.input), tool.input) << "complete JSON";
                    EXPECT_TRUE(tool.input.starts_with('{')) << tool.input;
                }
            }
        }
    }
    EXPECT_GT(complete, 10);
}

// The chain for a Gemini target: its SSE through the Gemini decoder and the translator.
TEST(AnthropicInboundConformance, GeminiStreamsTranslateThroughTheChain) {
    const providers::gemini::GeminiAdapter adapter;
    int complete = 0;
    for (const auto& [name, path] :
         test::golden::inputs(test::golden_dir("gemini"), "stream", "sse")) {
        SCOPED_TRACE(name);
        InboundStream stream(adapter.make_chat_stream_decoder(chat_context(true)), context());
        std::string out;
        auto status = stream.feed(test::golden::read_file(path), out);
        if (status) {
            status = stream.finish(out);
        }
        if (!status) {
            EXPECT_TRUE(stream.started() || out.empty());
            stream.fail(status.error(), out);
        } else {
            ++complete;
        }
        EXPECT_EQ(fuzz::check_event_sequence(out), "") << out;
    }
    EXPECT_GT(complete, 0);
}

TEST(AnthropicInboundConformance, OpenAIStreamsBecomeWellFormedAnthropicStreams) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir / "anthropic", kFixturesDir / "openai");
    for (const fs::path& path : test::fixture_files(kFixturesDir / "openai", "stream.", ".sse")) {
        SCOPED_TRACE(path.filename().string());
        const std::string recorded = test::golden::read_file(path);
        StreamTranslator translator(context());
        std::string out;
        auto status = translator.feed(recorded, out);
        if (status) {
            status = translator.finish(out);
        }
        ASSERT_TRUE(status) << status.error().message;
        EXPECT_EQ(fuzz::check_event_sequence(out), "") << out;
        const Said said = read_stream(out);
        EXPECT_FALSE(said.stop_reason.empty());
        EXPECT_FALSE(said.text.empty() && said.tools.empty()) << out;
        if (said.stop_reason != "max_tokens") {
            for (const Said::Tool& tool : said.tools) {
                EXPECT_TRUE(tool.input.starts_with('{')) << tool.input;
                EXPECT_EQ(minified(tool.input), tool.input) << "arguments are complete JSON";
            }
        }
    }
}

TEST(AnthropicInboundConformance, OpenAIResponsesBecomeAnthropicMessages) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir / "anthropic", kFixturesDir / "openai");
    for (const fs::path& path : test::fixture_files(kFixturesDir / "openai", "resp.", ".json")) {
        SCOPED_TRACE(path.filename().string());
        auto result = to_anthropic_response(test::golden::read_file(path), context());
        ASSERT_TRUE(result) << result.error().message;
        const Said said = read_message(*result);
        EXPECT_FALSE(said.stop_reason.empty());
    }
    for (const fs::path& path : test::fixture_files(kFixturesDir / "openai", "err.", ".json")) {
        SCOPED_TRACE(path.filename().string());
        auto result = to_anthropic_response(test::golden::read_file(path), context());
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().code, ErrorCode::UpstreamError);
        const int status = std::stoi(path.filename().string().substr(4, 3));
        EXPECT_EQ(http_status(result.error()), status);
    }
}

}  // namespace
}  // namespace sb::inbound::anthropic
