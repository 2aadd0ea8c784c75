#include "support/golden.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sb::test::golden {

namespace fs = std::filesystem;

bool updating() {
    const char* value = std::getenv("SB_UPDATE_GOLDEN");
    return value != nullptr && std::string_view(value) == "1";
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

void write_file(const fs::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

std::vector<std::pair<std::string, fs::path>> inputs(const fs::path& dir, std::string_view kind,
                                                     std::string_view ext) {
    std::vector<std::pair<std::string, fs::path>> out;
    const fs::path kind_dir = dir / kind;
    if (!fs::exists(kind_dir)) {
        return out;
    }
    const std::string suffix = ".in." + std::string(ext);
    for (const auto& entry : fs::directory_iterator(kind_dir)) {
        const std::string file = entry.path().filename().string();
        if (file.size() > suffix.size() && file.ends_with(suffix)) {
            out.emplace_back(file.substr(0, file.size() - suffix.size()), entry.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

void pretty(const simdjson::dom::element& e, std::string& out, int depth) {
    const std::string indent(static_cast<std::size_t>(depth + 1) * 2, ' ');
    const std::string close(static_cast<std::size_t>(depth) * 2, ' ');
    if (e.is_object()) {
        const simdjson::dom::object obj = e.get_object().value_unsafe();
        if (obj.size() == 0) {
            out += "{}";
            return;
        }
        out += "{\n";
        bool first = true;
        for (const auto field : obj) {
            if (!first) {
                out += ",\n";
            }
            first = false;
            out += indent;
            out += '"';
            append_json_escaped(out, field.key);
            out += "\": ";
            pretty(field.value, out, depth + 1);
        }
        out += '\n';
        out += close;
        out += '}';
    } else if (e.is_array()) {
        const simdjson::dom::array arr = e.get_array().value_unsafe();
        if (arr.size() == 0) {
            out += "[]";
            return;
        }
        out += "[\n";
        bool first = true;
        for (const simdjson::dom::element item : arr) {
            if (!first) {
                out += ",\n";
            }
            first = false;
            out += indent;
            pretty(item, out, depth + 1);
        }
        out += '\n';
        out += close;
        out += ']';
    } else {
        out += simdjson::to_string(e);
    }
}

std::string pretty_json(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    const simdjson::padded_string padded(json);
    if (parser.parse(padded).get(root) != simdjson::SUCCESS) {
        return "!!! NOT JSON: " + std::string(json) + "\n";
    }
    std::string out;
    pretty(root, out, 0);
    out += '\n';
    return out;
}

std::string error_json(const Error& e) {
    std::string json = "{\"error\":{\"status\":" + std::to_string(http_status(e)) + ",\"type\":\"";
    append_json_escaped(json, error_type(e));
    json += "\",\"code\":\"";
    append_json_escaped(json, error_code_name(e));
    json += "\",\"param\":\"";
    append_json_escaped(json, e.param);
    json += "\",\"message\":\"";
    append_json_escaped(json, e.message);
    json += "\",\"retry_after\":\"";
    append_json_escaped(json, e.retry_after);
    json += "\"}}";
    return pretty_json(json);
}

std::string StreamResult::render() const {
    std::string text = output;
    if (error) {
        text += "# error: " + std::to_string(http_status(*error)) + " " +
                std::string(error_type(*error)) + ": " + error->message + "\n";
    }
    return text;
}

StreamResult run_stream(providers::StreamDecoder& decoder,
                        const std::vector<std::string_view>& pieces) {
    StreamResult result;
    for (const std::string_view piece : pieces) {
        auto status = decoder.feed(piece, result.output);
        if (!status) {
            result.error = status.error();
            return result;
        }
    }
    auto status = decoder.finish(result.output);
    if (!status) {
        result.error = status.error();
    }
    return result;
}

StreamResult run_stream(const providers::Adapter& adapter, const providers::ChatContext& ctx,
                        const std::vector<std::string_view>& pieces) {
    const auto decoder = adapter.make_chat_stream_decoder(ctx);
    return run_stream(*decoder, pieces);
}

StreamFlags stream_flags(std::string_view body) {
    StreamFlags flags;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    const simdjson::padded_string padded(body);
    if (parser.parse(padded).get(root) == simdjson::SUCCESS) {
        bool flag = false;
        flags.stream = root["stream"].get_bool().get(flag) == simdjson::SUCCESS && flag;
        flags.include_usage =
            root["stream_options"]["include_usage"].get_bool().get(flag) == simdjson::SUCCESS &&
            flag;
    }
    return flags;
}

providers::ChatContext stream_context(providers::ChatContext base, std::string_view name) {
    base.stream = true;
    base.include_usage = name.ends_with("_usage");
    return base;
}

void check(const fs::path& input, std::string_view name, std::string_view ext,
           const std::string& actual) {
    const fs::path expected_path =
        input.parent_path() / (std::string(name) + ".expected." + std::string(ext));
    if (updating()) {
        if (!fs::exists(expected_path) || read_file(expected_path) != actual) {
            write_file(expected_path, actual);
            std::printf("updated %s\n", expected_path.string().c_str());
        }
        return;
    }
    if (!fs::exists(expected_path)) {
        // Not fatal, so that run_cases' fatal-failure check sees only its callback's ASSERTs.
        ADD_FAILURE() << expected_path << " is missing; run with SB_UPDATE_GOLDEN=1 to create it";
        return;
    }
    EXPECT_EQ(read_file(expected_path), actual)
        << "golden mismatch for " << input << " (SB_UPDATE_GOLDEN=1 regenerates)";
}

void run_cases(const fs::path& dir, std::string_view kind, std::string_view in_ext,
               std::string_view out_ext, const CaseRun& run) {
    const auto cases = inputs(dir, kind, in_ext);
    ASSERT_FALSE(cases.empty()) << "no golden " << kind << " cases under " << dir / kind;
    for (const auto& [name, path] : cases) {
        SCOPED_TRACE(name);
        std::string actual;
        run(name, read_file(path), actual);
        if (::testing::Test::HasFatalFailure()) {
            return;
        }
        check(path, name, out_ext, actual);
    }
}

}  // namespace sb::test::golden
