#pragma once

// Harness pieces shared by the adapters' unit tests: recorded-fixture lookup (and the skip when
// shared/fixtures is absent), reading a fuzz corpus, parsed JSON files, splitting a stream into
// pieces, and the invariants of an OpenAI chat-completion chunk stream. Test-thread only.

#include <simdjson.h>

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::test {

// Empty when every one of `dirs` is a directory; otherwise "provider fixtures not found at <the
// first missing one> (they live outside the repository, in shared/fixtures)".
std::string missing_fixtures(std::initializer_list<std::filesystem::path> dirs);

// Skips the current test, saying which directory is missing, unless every argument (a path) is a
// directory. Only in a TEST body (GTEST_SKIP returns from it).
#define SB_SKIP_WITHOUT_FIXTURES(...)                                                        \
    if (const std::string sb_missing_fixtures = ::sb::test::missing_fixtures({__VA_ARGS__}); \
        !sb_missing_fixtures.empty())                                                        \
    GTEST_SKIP() << sb_missing_fixtures

// The files of `dir` whose names start with `prefix` and end with `suffix`, sorted.
std::vector<std::filesystem::path> fixture_files(const std::filesystem::path& dir,
                                                 std::string_view prefix, std::string_view suffix);

// Every regular file of `dir` as (file name, bytes), sorted by name; a gtest failure (and no
// files) when `dir` is missing.
std::vector<std::pair<std::string, std::string>> corpus_files(const std::filesystem::path& dir);

// A JSON file parsed once, kept alive with its parser; a gtest failure when it does not parse.
class JsonFile {
  public:
    explicit JsonFile(const std::filesystem::path& path);
    JsonFile(const JsonFile&) = delete;
    JsonFile& operator=(const JsonFile&) = delete;

    simdjson::dom::element root() const { return root_; }

  private:
    simdjson::dom::parser parser_;
    simdjson::padded_string text_;
    simdjson::dom::element root_;
};

// `bytes` as one-byte pieces.
std::vector<std::string_view> byte_by_byte(std::string_view bytes);

// `bytes` cut into consecutive pieces of 0 to `max_piece` bytes (empty pieces included), the
// lengths drawn from `rng`.
std::vector<std::string_view> random_pieces(std::string_view bytes, std::size_t max_piece,
                                            std::mt19937& rng);

// Runs a whole stream fed as the given pieces and renders what came out (output and error).
using StreamRun = std::function<std::string(const std::vector<std::string_view>&)>;

struct SplitChecks {
    std::size_t max_piece = 40;  // longest random piece
    int rounds = 25;             // random splits per input
    bool every_cut = false;      // also split in two at every position
};

// Expects `run` to render `bytes` the same fed whole, byte by byte ("byte by byte"), split in two
// at every position when `checks.every_cut` (a fatal failure "split at byte N" at the first
// difference), and cut by random_pieces `checks.rounds` times ("random split, round N").
void expect_same_however_split(std::string_view bytes, const StreamRun& run,
                               const SplitChecks& checks, std::mt19937& rng);

// Renders a stream case (`name`, its bytes fed as `pieces`).
using StreamCaseRun = std::function<std::string(const std::string& name,
                                                const std::vector<std::string_view>& pieces)>;

// For every golden stream case `dir`/stream/<name>.in.`in_ext` (a fatal failure when there is
// none), under SCOPED_TRACE(name): expect_same_however_split on the bytes `to_bytes(input)` (the
// input itself when `to_bytes` is empty), one rng seeded with `seed` for all cases. Stops at the
// first fatal failure.
void expect_stream_cases_split_invariant(
    const std::filesystem::path& dir, std::string_view in_ext, std::mt19937::result_type seed,
    const SplitChecks& checks, const std::function<std::string(const std::string&)>& to_bytes,
    const StreamCaseRun& run);

// Checks an OpenAI chat-completion chunk stream: blank-line-terminated `data:` events holding
// JSON chunks, role first, one finish_reason, a usage member on every chunk and a usage chunk
// last exactly when `include_usage`, [DONE] last, one header per tool call with ordinal indexes,
// and tool-call arguments that reassemble to JSON objects (unless cut by the length limit).
void check_openai_stream(const std::string& sse, bool include_usage);

}  // namespace sb::test
