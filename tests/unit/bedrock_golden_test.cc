// Golden cases for the Bedrock adapter (tests/golden/bedrock/), stream split invariance, a
// conformance replay of the shared provider fixtures (shared/fixtures/providers/bedrock/), and
// the fuzz corpus (fuzz/corpus/bedrock_eventstream/): written from the golden streams, replayed
// here in the g++ build.
//
// Golden layout: <kind>/<name>.in.<ext> is the input, <name>.expected.<ext> the output.
//   request/   OpenAI chat request  -> {"url", "body"} of the Converse request (or the 400)
//   response/  Converse response    -> OpenAI chat.completion (or the error)
//   stream/    ConverseStream, described as JSON frames (below) and encoded by the test with
//              real CRCs -> OpenAI SSE chunks (+ "# error: ..." when it fails); names ending in
//              "_usage" run with stream_options.include_usage
//   error/     Bedrock error body   -> our Error; the name starts with the HTTP status
// A stream input is {"frames": [...], "truncate": N?, "corrupt_at": I?} where a frame is one of
//   {"event": "<:event-type>", "payload": {...}}              a Bedrock event
//   {"exception": "<:exception-type>", "payload": {...}}      a modeled exception
//   {"headers": {"<name>": "<string value>", ...}, "payload_text": "..."}   any message
// "truncate" drops the last N bytes of the encoded stream, "corrupt_at" flips byte I.
// Regenerate with SB_UPDATE_GOLDEN=1 and review the diff (it rewrites the fuzz seeds too).

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "providers/bedrock/bedrock.h"
#include "providers/bedrock/eventstream.h"
#include "support/dirs.h"
#include "support/golden.h"
#include "support/harness.h"

namespace sb::providers::bedrock {
namespace {

namespace fs = std::filesystem;
namespace es = eventstream;

const fs::path kGoldenDir = test::golden_dir("bedrock");
const fs::path kFixturesDir = test::provider_fixtures_dir() / "bedrock";
const fs::path kCorpusDir = test::fuzz_corpus_dir("bedrock_eventstream");

constexpr std::int64_t kGoldenTime = 1440938160;  // 2015-08-30T12:36:00Z

using test::byte_by_byte;
using test::golden::error_json;
using test::golden::pretty_json;
using test::golden::read_file;
using test::golden::run_cases;
using test::golden::updating;
using test::golden::write_file;

std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
    }
    return out;
}

std::string to_hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (const char c : bytes) {
        out += kDigits[static_cast<unsigned char>(c) >> 4];
        out += kDigits[static_cast<unsigned char>(c) & 0x0f];
    }
    return out;
}

// Canonical JSON (object members sorted) to compare documents whatever their member order.
void canonical(const simdjson::dom::element& e, std::string& out) {
    if (e.is_object()) {
        std::vector<std::pair<std::string, std::string>> members;
        const simdjson::dom::object object = e.get_object().value_unsafe();
        for (const auto field : object) {
            std::string value;
            canonical(field.value, value);
            members.emplace_back(std::string(field.key), std::move(value));
        }
        std::sort(members.begin(), members.end());
        out += '{';
        for (std::size_t i = 0; i < members.size(); ++i) {
            out += i > 0 ? "," : "";
            out += '"' + members[i].first + "\":" + members[i].second;
        }
        out += '}';
    } else if (e.is_array()) {
        out += '[';
        bool first = true;
        const simdjson::dom::array array = e.get_array().value_unsafe();
        for (const simdjson::dom::element item : array) {
            out += first ? "" : ",";
            first = false;
            canonical(item, out);
        }
        out += ']';
    } else {
        out += simdjson::to_string(e);
    }
}

BedrockCredentials golden_credentials() {
    // AWS's documented example credentials (SigV4 test suite).
    return {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", "us-east-1"};
}

BedrockAdapter golden_adapter() {
    return BedrockAdapter(golden_credentials(), [] { return kGoldenTime; });
}

ChatContext golden_context() {
    ChatContext ctx;
    ctx.public_model = "claude-public";
    ctx.upstream_model = "anthropic.claude-3-5-sonnet-20240620-v1:0";
    ctx.response_id = "chatcmpl-golden";
    ctx.created = 1700000000;
    return ctx;
}

config::Provider golden_provider() {
    config::Provider p;
    p.name = "bedrock";
    return p;
}

// A golden stream description -> the event-stream bytes.
std::string encode_stream(std::string_view description) {
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(description);
    simdjson::dom::element root;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS) {
        ADD_FAILURE() << "stream description is not JSON";
        return {};
    }
    std::string bytes;
    simdjson::dom::array frames;
    if (root["frames"].get_array().get(frames) != simdjson::SUCCESS) {
        ADD_FAILURE() << "stream description has no frames array";
        return {};
    }
    for (const simdjson::dom::element frame : frames) {
        std::string_view name;
        simdjson::dom::element payload;
        const bool has_payload = frame["payload"].get(payload) == simdjson::SUCCESS;
        const std::string payload_json = has_payload ? simdjson::to_string(payload) : "";
        if (frame["event"].get_string().get(name) == simdjson::SUCCESS) {
            bytes += es::encode_event(name, payload_json);
        } else if (frame["exception"].get_string().get(name) == simdjson::SUCCESS) {
            bytes += es::encode_exception(name, payload_json);
        } else {
            std::vector<es::EncodeHeader> headers;
            simdjson::dom::object header_object;
            if (frame["headers"].get_object().get(header_object) == simdjson::SUCCESS) {
                for (const auto field : header_object) {
                    headers.push_back({std::string(field.key), es::HeaderType::String,
                                       std::string(field.value.get_string().value_unsafe()), 0});
                }
            }
            std::string_view text;
            if (frame["payload_text"].get_string().get(text) != simdjson::SUCCESS) {
                text = {};
            }
            bytes += es::encode(headers, text);
        }
    }
    std::int64_t n = 0;
    if (root["truncate"].get_int64().get(n) == simdjson::SUCCESS && n > 0 &&
        static_cast<std::size_t>(n) <= bytes.size()) {
        bytes.resize(bytes.size() - static_cast<std::size_t>(n));
    }
    if (root["corrupt_at"].get_int64().get(n) == simdjson::SUCCESS && n >= 0 &&
        static_cast<std::size_t>(n) < bytes.size()) {
        bytes[static_cast<std::size_t>(n)] = static_cast<char>(
            static_cast<unsigned char>(bytes[static_cast<std::size_t>(n)]) ^ 0xff);
    }
    return bytes;
}

using test::golden::StreamResult;

// Runs a whole stream through a decoder, fed in the given pieces.
StreamResult decode(const ChatContext& ctx, const std::vector<std::string_view>& pieces) {
    return test::golden::run_stream(golden_adapter(), ctx, pieces);
}

StreamResult decode_whole(const ChatContext& ctx, std::string_view bytes) {
    return decode(ctx, {bytes});
}

ChatContext stream_context(std::string_view name) {
    return test::golden::stream_context(golden_context(), name);
}

// ---------------------------------------------------------------------------------------------
// Golden cases

TEST(BedrockGolden, RequestCasesMatch) {
    const BedrockAdapter adapter = golden_adapter();
    run_cases(kGoldenDir, "request", "json", "json",
              [&](const auto&, const auto& body, auto& actual) {
                  ChatContext ctx = golden_context();
                  ctx.stream = test::golden::stream_flags(body).stream;
                  auto result = adapter.build_chat(golden_provider(), body, ctx);
                  if (result) {
                      std::string json = "{\"url\":\"";
                      append_json_escaped(json, result->url);
                      json += "\",\"body\":" + result->body + "}";
                      actual = pretty_json(json);
                  } else {
                      actual = error_json(result.error());
                  }
              });
}

TEST(BedrockGolden, ResponseCasesMatch) {
    const BedrockAdapter adapter = golden_adapter();
    run_cases(kGoldenDir, "response", "json", "json",
              [&](const auto&, const auto& in, auto& actual) {
                  auto result = adapter.translate_chat_response(in, golden_context());
                  actual = result ? pretty_json(*result) : error_json(result.error());
              });
}

TEST(BedrockGolden, StreamCasesMatch) {
    run_cases(kGoldenDir, "stream", "json", "sse",
              [](const auto& name, const auto& in, auto& actual) {
                  actual = decode_whole(stream_context(name), encode_stream(in)).render();
              });
}

TEST(BedrockGolden, ErrorCasesMatch) {
    const BedrockAdapter adapter = golden_adapter();
    run_cases(kGoldenDir, "error", "json", "json",
              [&](const auto& name, const auto& in, auto& actual) {
                  const int status = std::atoi(name.c_str());
                  ASSERT_GE(status, 100) << "error case names start with the HTTP status";
                  actual = error_json(adapter.map_error(golden_provider(), status, in, "7"));
              });
}

// Every golden stream gives the same output fed whole, byte by byte, split in two at every
// position, and in random pieces.
TEST(BedrockEventStream, OutputDoesNotDependOnHowTheBytesAreSplit) {
    test::expect_stream_cases_split_invariant(
        kGoldenDir, "json", 20240611, {.max_piece = 60, .every_cut = true}, encode_stream,
        [](const auto& name, const auto& pieces) {
            return decode(stream_context(name), pieces).render();
        });
}

// ---------------------------------------------------------------------------------------------
// Conformance: replay the shared provider fixtures (outside the repository).

TEST(BedrockConformance, RecordedBinaryStreamsDecodeTheSameHoweverSplit) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir);
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(kFixturesDir)) {
        if (entry.path().extension() == ".bin") {
            files.push_back(entry.path());
        }
    }
    if (files.empty()) {
        GTEST_SKIP() << "no recorded ConverseStream captures (*.bin) in " << kFixturesDir
                     << " yet (fixtures README, 'Gaps'); the frame fixtures are replayed by the "
                        "other conformance tests";
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& path : files) {
        SCOPED_TRACE(path.filename().string());
        const std::string bytes = read_file(path);
        for (const bool include_usage : {false, true}) {
            ChatContext ctx = golden_context();
            ctx.stream = true;
            ctx.include_usage = include_usage;
            const StreamResult whole = decode_whole(ctx, bytes);
            EXPECT_EQ(decode(ctx, byte_by_byte(bytes)).render(), whole.render());
            if (!whole.error) {
                test::check_openai_stream(whole.output, include_usage);
            } else {
                EXPECT_GE(http_status(*whole.error), 400);
            }
        }
    }
}

// botocore's own decoder vectors (tests/unit/test_eventstream.py, converted to hex in the
// fixture): lengths, headers of every type and payloads decode as botocore decodes them.
TEST(BedrockConformance, BotocoreVectorsDecode) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir);
    const test::JsonFile fixture(kFixturesDir / "eventstream.botocore_test_vectors.json");
    const auto root = fixture.root();
    int checked = 0;
    const simdjson::dom::object vectors = root.get_object().value_unsafe();
    for (const auto field : vectors) {
        std::string_view hex;
        if (field.value["hex"].get_string().get(hex) != simdjson::SUCCESS) {
            continue;
        }
        SCOPED_TRACE(std::string(field.key));
        const std::string bytes = from_hex(hex);
        EXPECT_EQ(static_cast<std::int64_t>(bytes.size()),
                  field.value["total_length"].get_int64().value_unsafe());
        es::Decoder decoder;
        es::Message message;
        decoder.append(bytes);
        auto decoded = decoder.next(message);
        ASSERT_TRUE(decoded) << decoded.error().message;
        ASSERT_TRUE(*decoded);
        EXPECT_EQ(decoder.buffered(), 0u);
        EXPECT_EQ(message.payload, field.value["payload"].get_string().value_unsafe());
        const simdjson::dom::object expected = field.value["headers"].get_object().value_unsafe();
        EXPECT_EQ(message.headers.size(), expected.size());
        for (const es::Header& header : message.headers) {
            SCOPED_TRACE(std::string(header.name));
            simdjson::dom::element want;
            ASSERT_EQ(expected[header.name].get(want), simdjson::SUCCESS);
            switch (header.type) {
                case es::HeaderType::BoolTrue:
                case es::HeaderType::BoolFalse:
                    EXPECT_EQ(want.get_bool().value_unsafe(), header.integer == 1);
                    break;
                case es::HeaderType::String:
                    EXPECT_EQ(header.bytes, want.get_string().value_unsafe());
                    break;
                case es::HeaderType::ByteArray:
                case es::HeaderType::Uuid:
                    EXPECT_EQ(to_hex(header.bytes), want.get_string().value_unsafe());
                    break;
                default:
                    EXPECT_EQ(header.integer, want.get_int64().value_unsafe());
                    break;
            }
        }
        // Our encoder writes the same bytes back (header order kept).
        std::vector<es::EncodeHeader> again;
        for (const es::Header& header : message.headers) {
            again.push_back(
                {std::string(header.name), header.type, std::string(header.bytes), header.integer});
        }
        EXPECT_EQ(to_hex(es::encode(again, message.payload)), hex);
        ++checked;
    }
    EXPECT_GE(checked, 5);
}

// aws-sdk-js-v3's ConverseStream snapshot frames: each decodes, and the exceptions the SDK mock
// frames as events become errors with the service model's status.
TEST(BedrockConformance, SdkSnapshotFramesDecode) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir);
    const test::JsonFile fixture(kFixturesDir / "stream.sdk_snapshot_frames.json");
    const auto root = fixture.root();
    int checked = 0;
    simdjson::dom::array frames;
    ASSERT_EQ(root["frames"].get_array().get(frames), simdjson::SUCCESS);
    for (const simdjson::dom::element frame : frames) {
        const std::string_view event_type = frame["event_type"].get_string().value_unsafe();
        SCOPED_TRACE(std::string(event_type));
        const std::string bytes = from_hex(frame["hex"].get_string().value_unsafe());
        es::Decoder decoder;
        es::Message message;
        decoder.append(bytes);
        auto decoded = decoder.next(message);
        ASSERT_TRUE(decoded) << decoded.error().message;
        ASSERT_TRUE(*decoded);
        EXPECT_EQ(message.string_header(":event-type"), event_type);
        EXPECT_EQ(message.payload, frame["payload"].get_string().value_unsafe());
        EXPECT_EQ(static_cast<std::int64_t>(bytes.size()),
                  frame["total_size"].get_int64().value_unsafe());

        ChatContext ctx = golden_context();
        ctx.stream = true;
        const StreamResult result = decode_whole(ctx, bytes);
        if (event_type.ends_with("Exception")) {
            ASSERT_TRUE(result.error.has_value());
            EXPECT_EQ(result.error->code, ErrorCode::UpstreamError);
            EXPECT_EQ(http_status(*result.error), detail::status_for_exception(event_type));
            EXPECT_EQ(result.error->upstream_type, detail::exception_name(event_type));
        } else {
            // A lone frame is not a whole stream: it must end in "ended before messageStop".
            ASSERT_TRUE(result.error.has_value());
            EXPECT_EQ(result.error->code, ErrorCode::UpstreamBadResponse);
        }
        ++checked;
    }
    EXPECT_GE(checked, 8);
}

TEST(BedrockConformance, ThrottlingSnapshotBodyMapsTo429) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir);
    const std::string text = read_file(kFixturesDir / "err.429.throttling.sdk_snapshot.txt");
    const std::size_t start = text.find('{');
    const std::size_t end = text.rfind('}');
    ASSERT_NE(start, std::string::npos);
    const std::string body = text.substr(start, end - start + 1);
    const Error e = golden_adapter().map_error(golden_provider(), 429, body, "3");
    EXPECT_EQ(e.code, ErrorCode::UpstreamError);
    EXPECT_EQ(http_status(e), 429);
    EXPECT_EQ(e.upstream_type, "ThrottlingException");
    EXPECT_EQ(e.retry_after, "3");
}

// The AWS docs' tool-use request (messages + toolConfig) is what we send for the equivalent
// OpenAI request.
TEST(BedrockConformance, AwsDocsToolConfigRequestMatchesOurTranslation) {
    SB_SKIP_WITHOUT_FIXTURES(kFixturesDir);
    const test::JsonFile fixture(kFixturesDir / "req.tool_config.aws_docs.json");
    const auto expected = fixture.root();
    const std::string openai = R"({"model":"m","messages":[{"role":"user",
        "content":"What is the most popular song on WZPZ?"}],
        "tools":[{"type":"function","function":{"name":"top_song",
        "description":"Get the most popular song played on a radio station.",
        "parameters":{"type":"object","properties":{"sign":{"type":"string",
        "description":"The call sign for the radio station for which you want the most popular song. Example calls signs are WZPZ and WKRP."}},
        "required":["sign"]}}}]})";
    auto body = detail::translate_request(openai, golden_context());
    ASSERT_TRUE(body) << body.error().message;
    simdjson::dom::parser ours_parser;
    const simdjson::padded_string padded(*body);
    simdjson::dom::element ours;
    ASSERT_EQ(ours_parser.parse(padded).get(ours), simdjson::SUCCESS);
    std::string want;
    std::string got;
    canonical(expected, want);
    canonical(ours, got);
    EXPECT_EQ(got, want);
}

// ---------------------------------------------------------------------------------------------
// Fuzz corpus: seeds written by our own code, replayed in the g++ build.

// The seeds: every golden stream, and a few malformed frames built here.
std::map<std::string, std::string> corpus_seeds() {
    std::map<std::string, std::string> seeds;
    for (const auto& [name, path] : test::golden::inputs(kGoldenDir, "stream", "json")) {
        seeds["golden_" + name] = encode_stream(read_file(path));
    }
    seeds["empty_message"] = es::encode({}, "");
    seeds["all_header_types"] =
        es::encode({{"t", es::HeaderType::BoolTrue, "", 0},
                    {"f", es::HeaderType::BoolFalse, "", 0},
                    {"b", es::HeaderType::Byte, "", -1},
                    {"s", es::HeaderType::Short, "", -2},
                    {"i", es::HeaderType::Integer, "", -3},
                    {"l", es::HeaderType::Long, "", 4},
                    {"a", es::HeaderType::ByteArray, std::string("\x00\x01", 2), 0},
                    {":message-type", es::HeaderType::String, "event", 0},
                    {"ts", es::HeaderType::Timestamp, "", 1700000000000},
                    {"u", es::HeaderType::Uuid, std::string(16, '\x42'), 0}},
                   "{}");
    std::string oversized = es::encode_event("messageStart", R"({"role":"assistant"})");
    oversized[0] = '\x7f';  // total length far above 16 MiB (prelude CRC now wrong too)
    seeds["oversized_length"] = oversized;
    std::string bad_crc = es::encode_event("messageStart", R"({"role":"assistant"})");
    bad_crc.back() = static_cast<char>(bad_crc.back() ^ 0x01);
    seeds["bad_message_crc"] = bad_crc;
    seeds["json_body_instead_of_stream"] = R"({"message":"The security token is invalid."})";
    return seeds;
}

TEST(BedrockFuzzCorpus, SeedsAreWrittenFromTheGoldenStreams) {
    const auto seeds = corpus_seeds();
    if (updating()) {
        fs::create_directories(kCorpusDir);
    }
    for (const auto& [name, bytes] : seeds) {
        const fs::path path = kCorpusDir / (name + ".bin");
        if (updating()) {
            if (!fs::exists(path) || read_file(path) != bytes) {
                write_file(path, bytes);
                std::printf("updated %s\n", path.string().c_str());
            }
            continue;
        }
        ASSERT_TRUE(fs::exists(path)) << path << " is missing; SB_UPDATE_GOLDEN=1 writes it";
        EXPECT_EQ(read_file(path), bytes) << path << " is stale; SB_UPDATE_GOLDEN=1 rewrites it";
    }
}

// Every file in the corpus (seeds and whatever fuzzing added) decodes without crashing and the
// same way whole and byte by byte, as the libFuzzer target checks under clang.
TEST(BedrockFuzzCorpus, ReplaysWithoutCrashing) {
    ASSERT_TRUE(fs::is_directory(kCorpusDir)) << kCorpusDir;
    int replayed = 0;
    for (const auto& entry : fs::directory_iterator(kCorpusDir)) {
        if (!entry.is_regular_file()) {
            continue;
        }
        SCOPED_TRACE(entry.path().filename().string());
        const std::string bytes = read_file(entry.path());
        es::Decoder frames;
        es::Message message;
        frames.append(bytes);
        for (int guard = 0; guard < 100000; ++guard) {
            auto decoded = frames.next(message);
            if (!decoded || !*decoded) {
                break;
            }
        }
        for (const bool include_usage : {false, true}) {
            ChatContext ctx = golden_context();
            ctx.stream = true;
            ctx.include_usage = include_usage;
            const std::string whole = decode_whole(ctx, bytes).render();
            EXPECT_EQ(decode(ctx, byte_by_byte(bytes)).render(), whole);
        }
        ++replayed;
    }
    EXPECT_GT(replayed, 0);
}

}  // namespace
}  // namespace sb::providers::bedrock
