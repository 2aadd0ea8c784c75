// Gemini streamGenerateContent?alt=sse -> OpenAI chat.completion.chunk SSE.
//
// Gemini sends data-only SSE events (`data: <GenerateContentResponse>\r\n\r\n`) and no
// terminator (fixtures README section 3). Each event's parts are deltas; usageMetadata is
// cumulative, so the last one counts; a complete functionCall arrives in one event. OpenAI
// clients expect the shape of OpenAI's own streams (fixtures openai/stream.*.sse): a role chunk,
// content or tool-call deltas, a chunk with an empty delta and the finish_reason, the usage
// chunk when asked for, then `data: [DONE]`.

#include <simdjson.h>

#include <optional>
#include <vector>

#include "providers/common/chunk.h"
#include "providers/common/errors.h"
#include "providers/common/sse.h"
#include "providers/common/strings.h"
#include "providers/gemini/gemini.h"
#include "providers/gemini/internal.h"

namespace sb::providers::gemini {
namespace {

// One SSE line (or one event's data) longer than this is not Gemini talking.
constexpr std::size_t kMaxEventBytes = std::size_t{16} << 20;
// Bytes of a non-SSE body kept to report an error sent as plain JSON.
constexpr std::size_t kMaxRawBytes = std::size_t{64} << 10;

using common::is_blank;

Error bad_stream(std::string_view why) {
    return common::bad_stream("gemini", why);
}

// Decodes one Gemini stream. Owned by one request; not thread-safe.
class GenerateStreamDecoder final : public common::SseStreamDecoder {
  public:
    explicit GenerateStreamDecoder(const ChatContext& ctx)
        : SseStreamDecoder("gemini", kMaxEventBytes, /*limit_joined_lines=*/true),
          response_id_(ctx.response_id),
          chunks_(ctx) {}

  private:
    struct Candidate {
        std::int64_t index = 0;
        std::int64_t tools = 0;  // functionCalls seen: the tool_calls index of the next one
        bool finished = false;
    };

    void on_other_line(std::string_view line) override;
    Status on_event(const std::string& event, std::string& data, std::string& out) override;
    Status on_end(std::string& out) override;
    Status on_candidate(simdjson::dom::element candidate, std::int64_t index, std::string& out);
    Candidate& start_candidate(std::int64_t index, std::string& out);
    std::optional<Error> raw_error();

    void emit_delta(std::string& out, std::int64_t index, std::string_view field,
                    std::string_view text) const;

    std::string response_id_;
    common::ChunkWriter chunks_;

    bool saw_event_ = false;  // a data event arrived
    std::string raw_;         // non-SSE lines before any event (an error sent as plain JSON)

    simdjson::dom::parser parser_;
    std::vector<Candidate> candidates_;
    detail::Usage usage_;
};

Status GenerateStreamDecoder::on_end(std::string& out) {
    if (!saw_event_) {
        if (std::optional<Error> e = raw_error()) {
            return fail_with(std::move(*e));
        }
    }
    bool finished = !candidates_.empty();
    for (const Candidate& candidate : candidates_) {
        finished = finished && candidate.finished;
    }
    if (!finished) {
        return fail_with(bad_stream("the stream ended before a finishReason."));
    }
    if (chunks_.include_usage()) {
        std::string usage_object;
        detail::append_usage(usage_object, usage_);
        chunks_.usage(out, usage_object);
    }
    common::ChunkWriter::done(out);
    return {};
}

// A line the SSE reader does not know (field other than data, event, id and retry).
void GenerateStreamDecoder::on_other_line(std::string_view line) {
    if (!saw_event_ && raw_.size() + line.size() < kMaxRawBytes) {
        // Not SSE: Google sends some errors as a plain (pretty-printed) JSON body even on the
        // streaming endpoint (errors.status_map.md). Kept to report it if no event comes.
        raw_.append(line);
        raw_ += '\n';
    }
}

std::optional<Error> GenerateStreamDecoder::raw_error() {
    if (is_blank(raw_)) {
        return std::nullopt;
    }
    simdjson::dom::element root;
    raw_.reserve(raw_.size() + simdjson::SIMDJSON_PADDING);
    if (parser_.parse(raw_.data(), raw_.size(), false).get(root) != simdjson::SUCCESS) {
        return std::nullopt;
    }
    simdjson::dom::element first;
    if (root.is_array() && root.get_array().at(0).get(first) == simdjson::SUCCESS) {
        root = first;
    }
    simdjson::dom::element err;
    if (root["error"].get(err) != simdjson::SUCCESS || !err.is_object()) {
        return std::nullopt;
    }
    return detail::upstream_error(err, 0, {}, {});
}

GenerateStreamDecoder::Candidate& GenerateStreamDecoder::start_candidate(std::int64_t index,
                                                                         std::string& out) {
    for (Candidate& candidate : candidates_) {
        if (candidate.index == index) {
            return candidate;
        }
    }
    candidates_.push_back(Candidate{index, 0, false});
    chunks_.role(out, index);
    return candidates_.back();
}

void GenerateStreamDecoder::emit_delta(std::string& out, std::int64_t index, std::string_view field,
                                       std::string_view text) const {
    chunks_.delta(out, field, text, index);
}

Status GenerateStreamDecoder::on_event(const std::string& /*event*/, std::string& data,
                                       std::string& out) {
    if (is_blank(data)) {
        return {};
    }
    saw_event_ = true;
    // data keeps SIMDJSON_PADDING readable bytes past its end, so it is parsed in place.
    data.reserve(data.size() + simdjson::SIMDJSON_PADDING);
    simdjson::dom::element root;
    if (parser_.parse(data.data(), data.size(), false).get(root) != simdjson::SUCCESS ||
        !root.is_object()) {
        return fail_with(bad_stream("malformed JSON in an event."));
    }
    // An error inside a 200 stream: {"error":{"code","message","status"}} (js-genai
    // processStreamResponse treats it so; errors.status_map.md).
    simdjson::dom::element err;
    if (root["error"].get(err) == simdjson::SUCCESS && err.is_object()) {
        return fail_with(detail::upstream_error(err, 0, {}, {}));
    }
    simdjson::dom::element usage;
    if (root["usageMetadata"].get(usage) == simdjson::SUCCESS) {
        usage_.assign(usage);
    }
    simdjson::dom::array candidates;
    if (root["candidates"].get_array().get(candidates) == simdjson::SUCCESS &&
        candidates.size() != 0) {
        std::int64_t position = 0;
        for (const simdjson::dom::element candidate : candidates) {
            const std::int64_t index = detail::int_member(candidate, "index", position);
            if (auto status = on_candidate(candidate, index, out); !status) {
                return status;
            }
            ++position;
        }
        return {};
    }
    // A blocked prompt: no candidates, promptFeedback.blockReason (docs/providers/gemini.md).
    simdjson::dom::element feedback;
    if (root["promptFeedback"].get(feedback) == simdjson::SUCCESS &&
        !detail::string_member(feedback, "blockReason").empty()) {
        Candidate& candidate = start_candidate(0, out);
        if (!candidate.finished) {
            candidate.finished = true;
            chunks_.finish(out, "content_filter", 0);
        }
    }
    // Otherwise a usage-only event: nothing to emit.
    return {};
}

Status GenerateStreamDecoder::on_candidate(simdjson::dom::element candidate, std::int64_t index,
                                           std::string& out) {
    Candidate& state = start_candidate(index, out);
    if (state.finished) {
        return {};  // nothing follows a finish chunk
    }
    simdjson::dom::array parts;
    if (candidate["content"]["parts"].get_array().get(parts) == simdjson::SUCCESS) {
        for (const simdjson::dom::element part : parts) {
            std::string_view text;
            simdjson::dom::element function_call;
            if (part["text"].get_string().get(text) == simdjson::SUCCESS) {
                // An empty text part may only carry a thoughtSignature: nothing to say.
                if (!text.empty()) {
                    emit_delta(
                        out, index,
                        detail::bool_member(part, "thought") ? "reasoning_content" : "content",
                        text);
                }
            } else if (part["functionCall"].get(function_call) == simdjson::SUCCESS &&
                       function_call.is_object()) {
                if (function_call["partialArgs"].error() == simdjson::SUCCESS ||
                    detail::bool_member(function_call, "willContinue")) {
                    // Vertex streamFunctionCallArguments (fixture
                    // stream.vertex_partial_function_args.segments.json); never requested.
                    return fail_with(bad_stream(
                        "streamed function-call arguments (partialArgs) are not supported."));
                }
                if (detail::string_member(function_call, "name").empty()) {
                    continue;  // an empty functionCall carries nothing
                }
                // The Developer API sends each call whole, in one event (fixture
                // stream.function_call.segments.json): header and full arguments in one chunk.
                // OpenAI's tool_calls[].index is the call's ordinal.
                const std::int64_t ordinal = state.tools++;
                chunks_.begin(out, index);
                out += "{\"tool_calls\":[";
                detail::append_tool_call(out, part, function_call,
                                         detail::tool_call_id(response_id_, index, ordinal),
                                         ordinal);
                out += "]}";
                chunks_.end(out);
            }
            // Other part kinds have no chunk field (as in the non-stream response).
        }
    }
    const std::string_view reason = detail::string_member(candidate, "finishReason");
    if (!reason.empty()) {
        // The finish reason comes on the candidate's last event (fixtures README section 3).
        state.finished = true;
        chunks_.finish(out, detail::finish_reason(reason, state.tools > 0), index);
    }
    return {};
}

}  // namespace

std::unique_ptr<StreamDecoder> GeminiAdapter::make_chat_stream_decoder(
    const ChatContext& ctx) const {
    return std::make_unique<GenerateStreamDecoder>(ctx);
}

}  // namespace sb::providers::gemini
