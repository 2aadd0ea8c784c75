#include "support/harness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>

#include "support/golden.h"

namespace sb::test {

namespace fs = std::filesystem;

std::string missing_fixtures(std::initializer_list<fs::path> dirs) {
    for (const fs::path& dir : dirs) {
        if (!fs::is_directory(dir)) {
            return "provider fixtures not found at " + dir.string() +
                   " (they live outside the repository, in shared/fixtures)";
        }
    }
    return {};
}

std::vector<fs::path> fixture_files(const fs::path& dir, std::string_view prefix,
                                    std::string_view suffix) {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string file = entry.path().filename().string();
        if (file.starts_with(prefix) && file.ends_with(suffix)) {
            out.push_back(entry.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::pair<std::string, std::string>> corpus_files(const fs::path& dir) {
    std::vector<std::pair<std::string, std::string>> files;
    if (!fs::is_directory(dir)) {
        ADD_FAILURE() << dir << " is missing";
        return files;
    }
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.is_regular_file()) {
            files.emplace_back(entry.path().filename().string(), golden::read_file(entry.path()));
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

JsonFile::JsonFile(const fs::path& path) : text_(golden::read_file(path)) {
    EXPECT_EQ(parser_.parse(text_).get(root_), simdjson::SUCCESS) << path;
}

std::vector<std::string_view> byte_by_byte(std::string_view bytes) {
    std::vector<std::string_view> pieces;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        pieces.push_back(bytes.substr(i, 1));
    }
    return pieces;
}

std::vector<std::string_view> random_pieces(std::string_view bytes, std::size_t max_piece,
                                            std::mt19937& rng) {
    std::vector<std::string_view> pieces;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        const std::size_t n = std::uniform_int_distribution<std::size_t>(0, max_piece)(rng);
        pieces.push_back(bytes.substr(pos, n));
        pos += n;
    }
    return pieces;
}

void expect_same_however_split(std::string_view bytes, const StreamRun& run,
                               const SplitChecks& checks, std::mt19937& rng) {
    const std::string whole = run({bytes});
    EXPECT_EQ(run(byte_by_byte(bytes)), whole) << "byte by byte";
    if (checks.every_cut) {
        for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
            ASSERT_EQ(run({bytes.substr(0, cut), bytes.substr(cut)}), whole)
                << "split at byte " << cut;
        }
    }
    for (int round = 0; round < checks.rounds; ++round) {
        EXPECT_EQ(run(random_pieces(bytes, checks.max_piece, rng)), whole)
            << "random split, round " << round;
    }
}

void expect_stream_cases_split_invariant(
    const fs::path& dir, std::string_view in_ext, std::mt19937::result_type seed,
    const SplitChecks& checks, const std::function<std::string(const std::string&)>& to_bytes,
    const StreamCaseRun& run) {
    const auto cases = golden::inputs(dir, "stream", in_ext);
    ASSERT_FALSE(cases.empty()) << "no golden stream cases under " << dir / "stream";
    std::mt19937 rng(seed);
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        const std::string input = golden::read_file(path);
        const std::string bytes = to_bytes ? to_bytes(input) : input;
        expect_same_however_split(
            bytes, [&](const std::vector<std::string_view>& pieces) { return run(name, pieces); },
            checks, rng);
        if (::testing::Test::HasFatalFailure()) {
            return;
        }
    }
}

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

}  // namespace sb::test
