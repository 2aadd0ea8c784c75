// Bedrock ConverseStream (binary AWS event stream) -> OpenAI chat.completion.chunk SSE.
//
// Bedrock frames each event as an event-stream message whose `:event-type` header names it
// (messageStart, contentBlockStart, contentBlockDelta, contentBlockStop, messageStop, metadata)
// and whose payload is the event's JSON (fixture bedrock/eventstream.framing.md). OpenAI clients
// expect the shape of OpenAI's own streams (fixtures openai/stream.*.sse): a role chunk, content
// or tool-call deltas, a chunk with an empty delta and the finish_reason, the usage chunk when
// asked for, then `data: [DONE]`. Bedrock puts the stop reason in messageStop and the usage in
// the metadata event after it, so the finish chunk goes out at messageStop and the usage chunk
// at metadata.

#include <simdjson.h>

#include <optional>
#include <vector>

#include "providers/bedrock/bedrock.h"
#include "providers/bedrock/eventstream.h"
#include "providers/bedrock/internal.h"
#include "providers/common/chunk.h"
#include "providers/common/errors.h"
#include "providers/common/stream_decoder.h"

namespace sb::providers::bedrock {
namespace {

// Far above what a model emits in one turn; bounds the tool table a broken stream can grow.
constexpr std::size_t kMaxToolCalls = 4096;

Error bad_stream(std::string_view why) {
    return common::bad_stream("bedrock", why);
}

// Decodes one ConverseStream. Owned by one request; not thread-safe.
class ConverseStreamDecoder final : public common::ChatStreamDecoder {
  public:
    explicit ConverseStreamDecoder(const ChatContext& ctx) : chunks_(ctx) {}

  private:
    struct ToolBlock {
        std::int64_t block_index;  // Bedrock contentBlockIndex
        int ordinal;               // OpenAI tool_calls[].index
    };

    Status decode(std::string_view bytes, std::string& out) override;
    Status end(std::string& out) override;
    Status on_message(const eventstream::Message& message, std::string& out);
    Status on_event(std::string_view type, std::string& out);
    // `parsed`: whether root_ holds the exception's JSON payload.
    Status on_exception(std::string_view type, bool parsed);
    // Parses the current message's payload into `root`.
    bool parse_payload(std::string_view payload, simdjson::dom::element& root);
    const ToolBlock* find_tool(std::int64_t block_index) const;

    void ensure_started(std::string& out);
    void emit_delta(std::string& out, std::string_view field, std::string_view text);
    void emit_usage(std::string& out);

    common::ChunkWriter chunks_;

    eventstream::Decoder frames_;
    eventstream::Message message_;
    simdjson::dom::parser parser_;
    std::string payload_;  // the payload copied with simdjson's padding
    simdjson::dom::element root_;

    std::vector<ToolBlock> tools_;
    detail::Usage usage_;
    bool started_ = false;
    bool finish_sent_ = false;  // messageStop seen, finish chunk written
    bool metadata_seen_ = false;
    bool usage_sent_ = false;
};

Status ConverseStreamDecoder::decode(std::string_view bytes, std::string& out) {
    frames_.append(bytes);
    while (true) {
        auto decoded = frames_.next(message_);
        if (!decoded) {
            return fail_with(std::move(decoded).error());
        }
        if (!*decoded) {
            return {};
        }
        if (auto status = on_message(message_, out); !status) {
            return status;
        }
    }
}

Status ConverseStreamDecoder::end(std::string& out) {
    if (frames_.buffered() > 0) {
        return fail_with(bad_stream("the stream ended inside an event-stream message (" +
                                    std::to_string(frames_.buffered()) +
                                    " bytes of an incomplete message)."));
    }
    if (!finish_sent_) {
        return fail_with(bad_stream("the stream ended before messageStop."));
    }
    if (!metadata_seen_) {
        // The metadata event (usage, metrics) always follows messageStop; without it the
        // connection was cut and the token usage is unknown.
        return fail_with(bad_stream("the stream ended before its metadata event (token usage)."));
    }
    common::ChunkWriter::done(out);
    return {};
}

bool ConverseStreamDecoder::parse_payload(std::string_view payload, simdjson::dom::element& root) {
    payload_.assign(payload);
    payload_.reserve(payload_.size() + simdjson::SIMDJSON_PADDING);
    return parser_.parse(payload_.data(), payload_.size(), false).get(root) == simdjson::SUCCESS &&
           root.is_object();
}

Status ConverseStreamDecoder::on_message(const eventstream::Message& message, std::string& out) {
    const std::string_view message_type = message.string_header(":message-type");
    if (message_type == "event") {
        const std::string_view event_type = message.string_header(":event-type");
        if (event_type.ends_with("Exception")) {
            // The aws-sdk-js-v3 mock stream (fixture stream.sdk_snapshot_frames.json) frames
            // modeled exceptions as events named after the union member.
            const bool parsed = parse_payload(message.payload, root_);
            return on_exception(event_type, parsed);
        }
        if (metadata_seen_) {
            return {};  // nothing follows metadata
        }
        if (!parse_payload(message.payload, root_)) {
            return fail_with(
                bad_stream("malformed JSON in a '" + std::string(event_type) + "' event."));
        }
        return on_event(event_type, out);
    }
    if (message_type == "exception") {
        // A modeled exception (botocore: `:message-type` exception, type in `:exception-type`,
        // {"message": ...} payload).
        const bool parsed = parse_payload(message.payload, root_);
        return on_exception(message.string_header(":exception-type"), parsed);
    }
    if (message_type == "error") {
        // An unmodeled error: code and message in headers, empty payload (botocore vector
        // ERROR_EVENT_MESSAGE).
        return fail_with(detail::stream_error(message.string_header(":error-code"),
                                              message.string_header(":error-message")));
    }
    return fail_with(bad_stream(
        message_type.empty() ? std::string("a message has no :message-type header.")
                             : "unknown :message-type '" + std::string(message_type) + "'."));
}

Status ConverseStreamDecoder::on_exception(std::string_view type, bool parsed) {
    std::string message;
    if (parsed) {
        message = std::string(detail::string_member(root_, "message"));
        if (message.empty()) {
            message = std::string(detail::string_member(root_, "Message"));
        }
        // ModelStreamErrorException carries the model's own status and message.
        std::int64_t original_status = 0;
        const std::string_view original_message = detail::string_member(root_, "originalMessage");
        if (root_["originalStatusCode"].get_int64().get(original_status) == simdjson::SUCCESS &&
            original_status != 0) {
            message += " (model status " + std::to_string(original_status);
            if (!original_message.empty()) {
                message += ": ";
                message += original_message;
            }
            message += ')';
        } else if (!original_message.empty()) {
            message += " (";
            message += original_message;
            message += ')';
        }
    }
    return fail_with(detail::stream_error(type, message));
}

const ConverseStreamDecoder::ToolBlock* ConverseStreamDecoder::find_tool(
    std::int64_t block_index) const {
    for (const ToolBlock& tool : tools_) {
        if (tool.block_index == block_index) {
            return &tool;
        }
    }
    return nullptr;
}

void ConverseStreamDecoder::ensure_started(std::string& out) {
    if (started_) {
        return;
    }
    started_ = true;
    chunks_.role(out);
}

void ConverseStreamDecoder::emit_delta(std::string& out, std::string_view field,
                                       std::string_view text) {
    if (text.empty()) {
        return;
    }
    ensure_started(out);
    chunks_.delta(out, field, text);
}

void ConverseStreamDecoder::emit_usage(std::string& out) {
    if (!chunks_.include_usage() || usage_sent_) {
        return;
    }
    usage_sent_ = true;
    std::string usage_object;
    detail::append_usage(usage_object, usage_);
    chunks_.usage(out, usage_object);
}

Status ConverseStreamDecoder::on_event(std::string_view type, std::string& out) {
    if (type == "messageStart") {
        ensure_started(out);
    } else if (type == "contentBlockStart") {
        simdjson::dom::element tool;
        if (root_["start"]["toolUse"].get(tool) != simdjson::SUCCESS || finish_sent_) {
            return {};  // image and toolResult starts carry nothing for OpenAI
        }
        std::int64_t block_index = 0;
        if (root_["contentBlockIndex"].get_int64().get(block_index) != simdjson::SUCCESS) {
            return fail_with(bad_stream("contentBlockStart without contentBlockIndex."));
        }
        if (tools_.size() == kMaxToolCalls) {
            return fail_with(bad_stream("more than 4096 tool calls in one message."));
        }
        if (find_tool(block_index) != nullptr) {
            return fail_with(
                bad_stream("content block " + std::to_string(block_index) + " started twice."));
        }
        // OpenAI's tool_calls[].index is the ordinal of the call, not Bedrock's block index
        // (text usually comes first, as block 0).
        const int ordinal = static_cast<int>(tools_.size());
        tools_.push_back({block_index, ordinal});
        ensure_started(out);
        chunks_.tool_call_start(out, ordinal, detail::string_member(tool, "toolUseId"),
                                detail::string_member(tool, "name"));
    } else if (type == "contentBlockDelta") {
        if (finish_sent_) {
            return {};
        }
        simdjson::dom::element delta;
        if (root_["delta"].get(delta) != simdjson::SUCCESS) {
            return fail_with(bad_stream("contentBlockDelta without delta."));
        }
        std::string_view text;
        simdjson::dom::element inner;
        if (delta["text"].get_string().get(text) == simdjson::SUCCESS) {
            // Text blocks have no contentBlockStart: the first delta opens them.
            emit_delta(out, "content", text);
        } else if (delta["toolUse"].get(inner) == simdjson::SUCCESS) {
            std::int64_t block_index = 0;
            if (root_["contentBlockIndex"].get_int64().get(block_index) != simdjson::SUCCESS) {
                return fail_with(bad_stream("contentBlockDelta without contentBlockIndex."));
            }
            const ToolBlock* tool = find_tool(block_index);
            if (tool == nullptr) {
                return fail_with(bad_stream("a toolUse delta for content block " +
                                            std::to_string(block_index) +
                                            ", which did not start a tool use."));
            }
            const std::string_view fragment = detail::string_member(inner, "input");
            if (!fragment.empty()) {
                chunks_.tool_call_arguments(out, tool->ordinal, fragment);
            }
        } else if (delta["reasoningContent"]["text"].get_string().get(text) == simdjson::SUCCESS) {
            emit_delta(out, "reasoning_content", text);
        }
        // reasoning signatures and redacted reasoning, citations, images and tool-result deltas
        // carry nothing an OpenAI client reads.
    } else if (type == "messageStop") {
        if (finish_sent_) {
            return {};
        }
        finish_sent_ = true;
        ensure_started(out);
        chunks_.finish(out, detail::finish_reason(detail::string_member(root_, "stopReason")));
    } else if (type == "metadata") {
        simdjson::dom::element usage;
        if (root_["usage"].get(usage) == simdjson::SUCCESS) {
            usage_.update(usage);
        }
        metadata_seen_ = true;
        if (!finish_sent_) {
            return fail_with(bad_stream("the metadata event came before messageStop."));
        }
        emit_usage(out);
    }
    // contentBlockStop and event types added later: nothing to emit.
    return {};
}

}  // namespace

std::unique_ptr<StreamDecoder> BedrockAdapter::make_chat_stream_decoder(
    const ChatContext& ctx) const {
    return std::make_unique<ConverseStreamDecoder>(ctx);
}

}  // namespace sb::providers::bedrock
