#pragma once

// OpenAI `chat.completion.chunk` SSE events for the translating adapters' stream decoders.

#include <cstdint>
#include <string>
#include <string_view>

#include "providers/provider.h"

namespace sb::providers::common {

// Writes the chunks of one streamed response in the shape of OpenAI's own streams (fixtures
// openai/stream.*.sse): role chunk, content deltas, tool-call deltas, finish chunk, usage chunk
// and `data: [DONE]`. Made once per response and owned by its decoder; const after construction,
// so whichever thread holds it may call it.
class ChunkWriter {
  public:
    explicit ChunkWriter(const ChatContext& ctx);

    bool include_usage() const { return include_usage_; }

    // `data: {"id":...,"choices":[{"index":N,"delta":` (the caller writes the delta object).
    void begin(std::string& out, std::int64_t index = 0) const;
    // `,"logprobs":null,"finish_reason":...}]...}` and the blank line; null when `finish` is
    // empty.
    void end(std::string& out, std::string_view finish = {}) const;

    // The first chunk of a choice: `{"role":"assistant","content":""}`.
    void role(std::string& out, std::int64_t index = 0) const;
    // A `{"<field>":"<text>"}` delta (content, reasoning_content).
    void delta(std::string& out, std::string_view field, std::string_view text,
               std::int64_t index = 0) const;
    // A `{"thinking_blocks":[<entry>]}` delta: `entry` is one complete JSON object
    // (completion.h append_thinking_block / append_redacted_thinking).
    void thinking_block(std::string& out, std::string_view entry) const;
    // A tool call's first chunk: its ordinal, id and name with empty arguments.
    void tool_call_start(std::string& out, std::int64_t ordinal, std::string_view id,
                         std::string_view name) const;
    // A fragment of a tool call's arguments.
    void tool_call_arguments(std::string& out, std::int64_t ordinal,
                             std::string_view fragment) const;
    // The chunk with an empty delta and the finish_reason.
    void finish(std::string& out, std::string_view finish_reason, std::int64_t index = 0) const;
    // The usage chunk (sent when include_usage is set): empty choices and `usage_object`, an
    // OpenAI usage JSON object.
    void usage(std::string& out, std::string_view usage_object) const;
    // `data: [DONE]`.
    static void done(std::string& out);

  private:
    bool include_usage_;
    std::string prefix_;  // `data: {"id":...,"choices":[`
    std::string suffix_;  // `]}` (with `"usage":null` when asked for) and the blank line
};

}  // namespace sb::providers::common
