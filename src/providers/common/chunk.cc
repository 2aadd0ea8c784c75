#include "providers/common/chunk.h"

#include "providers/common/json.h"

namespace sb::providers::common {

ChunkWriter::ChunkWriter(const ChatContext& ctx) : include_usage_(ctx.include_usage) {
    prefix_ = "data: {\"id\":";
    append_string(prefix_, ctx.response_id);
    prefix_ += ",\"object\":\"chat.completion.chunk\",\"created\":";
    append_int(prefix_, ctx.created);
    prefix_ += ",\"model\":";
    append_string(prefix_, ctx.public_model);
    prefix_ += ",\"choices\":[";
    // With include_usage every chunk but the last carries "usage": null (OpenAI API reference,
    // stream_options.include_usage).
    suffix_ = include_usage_ ? "],\"usage\":null}\n\n" : "]}\n\n";
}

void ChunkWriter::begin(std::string& out, std::int64_t index) const {
    out += prefix_;
    out += "{\"index\":";
    append_int(out, index);
    out += ",\"delta\":";
}

void ChunkWriter::end(std::string& out, std::string_view finish) const {
    out += ",\"logprobs\":null,\"finish_reason\":";
    if (finish.empty()) {
        out += "null";
    } else {
        append_string(out, finish);
    }
    out += '}';
    out += suffix_;
}

void ChunkWriter::role(std::string& out, std::int64_t index) const {
    begin(out, index);
    out += "{\"role\":\"assistant\",\"content\":\"\"}";
    end(out);
}

void ChunkWriter::delta(std::string& out, std::string_view field, std::string_view text,
                        std::int64_t index) const {
    begin(out, index);
    out += "{\"";
    out += field;
    out += "\":";
    append_string(out, text);
    out += '}';
    end(out);
}

void ChunkWriter::thinking_block(std::string& out, std::string_view entry) const {
    begin(out);
    out += "{\"thinking_blocks\":[";
    out += entry;
    out += "]}";
    end(out);
}

void ChunkWriter::tool_call_start(std::string& out, std::int64_t ordinal, std::string_view id,
                                  std::string_view name) const {
    begin(out);
    out += "{\"tool_calls\":[{\"index\":";
    append_int(out, ordinal);
    out += ",\"id\":";
    append_string(out, id);
    out += ",\"type\":\"function\",\"function\":{\"name\":";
    append_string(out, name);
    out += ",\"arguments\":\"\"}}]}";
    end(out);
}

void ChunkWriter::tool_call_arguments(std::string& out, std::int64_t ordinal,
                                      std::string_view fragment) const {
    begin(out);
    out += "{\"tool_calls\":[{\"index\":";
    append_int(out, ordinal);
    out += ",\"function\":{\"arguments\":";
    append_string(out, fragment);
    out += "}}]}";
    end(out);
}

void ChunkWriter::finish(std::string& out, std::string_view finish_reason,
                         std::int64_t index) const {
    begin(out, index);
    out += "{}";
    end(out, finish_reason);
}

void ChunkWriter::usage(std::string& out, std::string_view usage_object) const {
    out += prefix_;
    out += "],\"usage\":";
    out += usage_object;
    out += "}\n\n";
}

void ChunkWriter::done(std::string& out) {
    out += "data: [DONE]\n\n";
}

}  // namespace sb::providers::common
