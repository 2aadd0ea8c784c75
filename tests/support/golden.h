#pragma once

// The golden-file harness shared by the adapters' golden tests (tests/golden/<provider>/).
//
// Layout: <kind>/<name>.in.<ext> is an input, <name>.expected.<ext> its expected output. Run
// with SB_UPDATE_GOLDEN=1 to rewrite the expected files, then review the diff. Test-thread only.

#include <simdjson.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "providers/provider.h"

namespace sb::test::golden {

// True when SB_UPDATE_GOLDEN=1: expected files are rewritten instead of compared.
bool updating();

// The whole file, as bytes (empty when it cannot be read).
std::string read_file(const std::filesystem::path& path);
// Replaces the file's contents with `text`.
void write_file(const std::filesystem::path& path, std::string_view text);

// Inputs of one kind (`dir`/`kind`/<name>.in.`ext`), sorted, as (name, path).
std::vector<std::pair<std::string, std::filesystem::path>> inputs(const std::filesystem::path& dir,
                                                                  std::string_view kind,
                                                                  std::string_view ext);

// Pretty JSON (2-space indent, members in document order) so golden diffs are reviewable.
void pretty(const simdjson::dom::element& e, std::string& out, int depth);
// `json` pretty-printed with a final newline, or a marker line when it is not valid JSON.
std::string pretty_json(std::string_view json);

// An Error as pretty JSON: `{"error":{"status","type","code","param","message",
// "retry_after"}}` (status, type and code as the core table maps the ErrorCode).
std::string error_json(const Error& e);

// What a stream decoder produced for a whole stream: its output and the error that stopped it.
struct StreamResult {
    std::string output;
    std::optional<Error> error;

    // The output, plus "# error: <status> <type>: <message>" when it failed.
    std::string render() const;
};

// Feeds `pieces` to `decoder` in order, then finishes it; stops at the first error.
StreamResult run_stream(providers::StreamDecoder& decoder,
                        const std::vector<std::string_view>& pieces);
// The same with a fresh chat stream decoder of `adapter` for `ctx`.
StreamResult run_stream(const providers::Adapter& adapter, const providers::ChatContext& ctx,
                        const std::vector<std::string_view>& pieces);

// The "stream" and "stream_options.include_usage" flags of an OpenAI request body (false when
// absent, not booleans, or the body is not JSON).
struct StreamFlags {
    bool stream = false;
    bool include_usage = false;
};
StreamFlags stream_flags(std::string_view body);

// `base` set up for a golden stream case: streaming, with include_usage when `name` ends in
// "_usage".
providers::ChatContext stream_context(providers::ChatContext base, std::string_view name);

// Compares `actual` with <name>.expected.<ext> beside `input` (a gtest failure when it differs
// or is missing) or, when updating, rewrites that file.
void check(const std::filesystem::path& input, std::string_view name, std::string_view ext,
           const std::string& actual);

// Fills `actual` with what one golden case produces from its input text.
using CaseRun =
    std::function<void(const std::string& name, const std::string& input, std::string& actual)>;

// Runs every `dir`/`kind`/<name>.in.`in_ext` case (a fatal failure when there is none): under
// SCOPED_TRACE(name), `run` turns the input into `actual`, then check() compares it with
// <name>.expected.`out_ext`. Stops at the first fatal failure (an ASSERT in `run`).
void run_cases(const std::filesystem::path& dir, std::string_view kind, std::string_view in_ext,
               std::string_view out_ext, const CaseRun& run);

}  // namespace sb::test::golden
