// Anthropic Messages SSE -> OpenAI chat.completion.chunk SSE.
//
// Anthropic names its events (`event: message_start` + `data: {...}`), sends `ping`s, and ends
// with `message_stop` and no [DONE] (fixtures README section 3). OpenAI clients expect the
// shape of OpenAI's own streams (fixtures openai/stream.*.sse): a role chunk, content or
// tool-call deltas, a chunk with an empty delta and the finish_reason, the usage chunk when
// asked for, then `data: [DONE]`.

#include <simdjson.h>

#include <optional>
#include <vector>

#include "providers/anthropic/anthropic.h"
#include "providers/anthropic/internal.h"
#include "providers/common/chunk.h"
#include "providers/common/completion.h"
#include "providers/common/errors.h"
#include "providers/common/sse.h"
#include "providers/common/strings.h"

namespace sb::providers::anthropic {
namespace {

// One SSE line (or one event's data) longer than this is not Anthropic talking.
constexpr std::size_t kMaxEventBytes = std::size_t{16} << 20;

using common::is_blank;

Error bad_stream(std::string_view why) {
    return common::bad_stream("anthropic", why);
}

// Decodes one Anthropic stream. Owned by one request; not thread-safe.
class MessagesStreamDecoder final : public common::SseStreamDecoder {
  public:
    explicit MessagesStreamDecoder(const ChatContext& ctx)
        : SseStreamDecoder("anthropic", kMaxEventBytes, /*limit_joined_lines=*/false),
          chunks_(ctx) {}

  private:
    enum class BlockKind : std::uint8_t { Text, Thinking, ToolUse, Other };
    struct Block {
        Block(std::int64_t index_in, BlockKind kind_in, int tool_ordinal_in,
              std::string_view thinking_in = {}, std::string_view signature_in = {})
            : index(index_in),
              kind(kind_in),
              tool_ordinal(tool_ordinal_in),
              thinking(thinking_in),
              signature(signature_in) {}

        std::int64_t index;
        BlockKind kind;
        int tool_ordinal;
        // Thinking: the text and signature so far, sent as one thinking_blocks entry when the
        // block stops; `closed` once sent.
        std::string thinking;
        std::string signature;
        bool closed = false;
    };

    Status on_event(const std::string& event, std::string& data, std::string& out) override;
    Status on_end(std::string& out) override;
    Block* find_block(std::int64_t index);

    void ensure_started(std::string& out);
    void emit_delta(std::string& out, std::string_view field, std::string_view text);
    void emit_finish(std::string& out, std::string_view stop_reason);

    common::ChunkWriter chunks_;

    simdjson::dom::parser parser_;
    std::vector<Block> blocks_;
    int tools_ = 0;  // tool_use blocks seen: the OpenAI tool_calls index of the next one
    detail::Usage usage_;
    bool started_ = false;
    bool finish_sent_ = false;
    bool stopped_ = false;  // message_stop seen
};

Status MessagesStreamDecoder::on_end(std::string& out) {
    if (!stopped_) {
        return fail_with(bad_stream("the stream ended before message_stop."));
    }
    if (chunks_.include_usage()) {
        std::string usage_object;
        detail::append_usage(usage_object, usage_);
        chunks_.usage(out, usage_object);
    }
    common::ChunkWriter::done(out);
    return {};
}

MessagesStreamDecoder::Block* MessagesStreamDecoder::find_block(std::int64_t index) {
    for (Block& block : blocks_) {
        if (block.index == index) {
            return &block;
        }
    }
    return nullptr;
}

void MessagesStreamDecoder::ensure_started(std::string& out) {
    if (started_) {
        return;
    }
    started_ = true;
    chunks_.role(out);
}

void MessagesStreamDecoder::emit_delta(std::string& out, std::string_view field,
                                       std::string_view text) {
    if (text.empty()) {
        return;
    }
    ensure_started(out);
    chunks_.delta(out, field, text);
}

void MessagesStreamDecoder::emit_finish(std::string& out, std::string_view stop_reason) {
    if (finish_sent_) {
        return;
    }
    finish_sent_ = true;
    ensure_started(out);
    chunks_.finish(out, detail::finish_reason(stop_reason));
}

Status MessagesStreamDecoder::on_event(const std::string& event, std::string& data,
                                       std::string& out) {
    if (event == "ping" || stopped_) {
        return {};  // keep-alive; anything after message_stop is ignored
    }
    if (is_blank(data)) {
        if (event == "error") {
            return fail_with(detail::upstream_error(500, "api_error", {}));
        }
        return {};
    }
    // data keeps SIMDJSON_PADDING readable bytes past its end, so it is parsed in place.
    data.reserve(data.size() + simdjson::SIMDJSON_PADDING);
    simdjson::dom::element root;
    if (parser_.parse(data.data(), data.size(), false).get(root) != simdjson::SUCCESS ||
        !root.is_object()) {
        return fail_with(bad_stream(event.empty() ? std::string("malformed JSON in an event.")
                                                  : "malformed JSON in a '" + event + "' event."));
    }
    std::string_view type = detail::string_member(root, "type");
    if (type.empty()) {
        type = event;
    }

    if (type == "message_start") {
        simdjson::dom::element usage;
        if (root["message"]["usage"].get(usage) == simdjson::SUCCESS) {
            usage_.update(usage);
        }
        ensure_started(out);
    } else if (type == "content_block_start") {
        simdjson::dom::element block;
        if (root["content_block"].get(block) != simdjson::SUCCESS) {
            return fail_with(bad_stream("content_block_start without content_block."));
        }
        const std::int64_t index = detail::int_member(root, "index");
        const std::string_view block_type = detail::string_member(block, "type");
        if (block_type == "text") {
            blocks_.emplace_back(index, BlockKind::Text, -1);
            emit_delta(out, "content", detail::string_member(block, "text"));
        } else if (block_type == "thinking") {
            const std::string_view thinking = detail::string_member(block, "thinking");
            blocks_.emplace_back(index, BlockKind::Thinking, -1, thinking,
                                 detail::string_member(block, "signature"));
            emit_delta(out, "reasoning_content", thinking);
        } else if (block_type == "redacted_thinking") {
            // Encrypted and complete in its start event: one thinking_blocks entry.
            blocks_.emplace_back(index, BlockKind::Other, -1);
            std::string entry;
            common::append_redacted_thinking(entry, detail::string_member(block, "data"));
            ensure_started(out);
            chunks_.thinking_block(out, entry);
        } else if (block_type == "tool_use") {
            // OpenAI's tool_calls[].index is the ordinal of the call, not Anthropic's block
            // index (a text block usually comes first: fixture stream.tool_use.sse).
            const int ordinal = tools_++;
            blocks_.emplace_back(index, BlockKind::ToolUse, ordinal);
            ensure_started(out);
            chunks_.tool_call_start(out, ordinal, detail::string_member(block, "id"),
                                    detail::string_member(block, "name"));
        } else {
            blocks_.emplace_back(index, BlockKind::Other, -1);
        }
    } else if (type == "content_block_delta") {
        simdjson::dom::element delta;
        if (root["delta"].get(delta) != simdjson::SUCCESS) {
            return fail_with(bad_stream("content_block_delta without delta."));
        }
        const std::string_view delta_type = detail::string_member(delta, "type");
        if (delta_type == "text_delta") {
            emit_delta(out, "content", detail::string_member(delta, "text"));
        } else if (delta_type == "thinking_delta") {
            const std::string_view text = detail::string_member(delta, "thinking");
            if (Block* block = find_block(detail::int_member(root, "index"));
                block != nullptr && block->kind == BlockKind::Thinking) {
                block->thinking += text;
            }
            emit_delta(out, "reasoning_content", text);
        } else if (delta_type == "signature_delta") {
            if (Block* block = find_block(detail::int_member(root, "index"));
                block != nullptr && block->kind == BlockKind::Thinking) {
                block->signature += detail::string_member(delta, "signature");
            }
        } else if (delta_type == "input_json_delta") {
            const Block* block = find_block(detail::int_member(root, "index"));
            const std::string_view fragment = detail::string_member(delta, "partial_json");
            if (block != nullptr && block->kind == BlockKind::ToolUse && !fragment.empty()) {
                ensure_started(out);
                chunks_.tool_call_arguments(out, block->tool_ordinal, fragment);
            }
        }
        // citations_delta and later delta types carry nothing an OpenAI client reads.
    } else if (type == "content_block_stop") {
        // A thinking block is complete: its text and signature as one thinking_blocks entry,
        // which the client sends back on its next turn (docs/providers/anthropic.md).
        if (Block* block = find_block(detail::int_member(root, "index"));
            block != nullptr && block->kind == BlockKind::Thinking && !block->closed) {
            block->closed = true;
            std::string entry;
            common::append_thinking_block(entry, block->thinking, block->signature);
            ensure_started(out);
            chunks_.thinking_block(out, entry);
            block->thinking = std::string();
        }
    } else if (type == "message_delta") {
        simdjson::dom::element usage;
        if (root["usage"].get(usage) == simdjson::SUCCESS) {
            usage_.update(usage);
        }
        simdjson::dom::element delta;
        if (root["delta"].get(delta) == simdjson::SUCCESS) {
            const std::string_view stop_reason = detail::string_member(delta, "stop_reason");
            if (!stop_reason.empty()) {
                emit_finish(out, stop_reason);
            }
        }
    } else if (type == "message_stop") {
        emit_finish(out, "end_turn");  // only if message_delta carried no stop_reason
        stopped_ = true;
    } else if (type == "error") {
        simdjson::dom::element err;
        std::string_view error_type;
        std::string_view message;
        if (root["error"].get(err) == simdjson::SUCCESS) {
            error_type = detail::string_member(err, "type");
            message = detail::string_member(err, "message");
        }
        return fail_with(
            detail::upstream_error(detail::status_for_error_type(error_type), error_type, message));
    }
    // Event types added later: nothing to emit.
    return {};
}

}  // namespace

std::unique_ptr<StreamDecoder> AnthropicAdapter::make_chat_stream_decoder(
    const ChatContext& ctx) const {
    return std::make_unique<MessagesStreamDecoder>(ctx);
}

}  // namespace sb::providers::anthropic
