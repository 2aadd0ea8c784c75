// OpenAI chat.completion.chunk SSE -> Anthropic Messages SSE events.
//
// OpenAI streams deltas of one message: text (`content`), reasoning (`reasoning_content` or
// `reasoning`) and tool calls distinguished by `tool_calls[].index`, whose argument fragments
// may interleave. Anthropic streams content blocks one after another, each opened, filled and
// closed before the next starts, with indexes in order (the fixtures' stream.*.sse). So one
// block is open at a time; content for a later block is held until the open one can close:
// a text or thinking block as soon as anything follows it, a tool call once its arguments form
// a complete JSON object (no valid continuation can follow) or at the finish.

#include <fmt/format.h>
#include <simdjson.h>

#include "inbound/anthropic/internal.h"
#include "inbound/anthropic/messages.h"
#include "providers/common/errors.h"

namespace sb::inbound::anthropic {
namespace {

using detail::append_int;
using detail::append_string;
using detail::string_member;
using simdjson::dom::array;
using simdjson::dom::element;

// One SSE line (or one event's data) longer than this is not a chat stream.
constexpr std::size_t kMaxEventBytes = std::size_t{16} << 20;

void append_event(std::string& out, std::string_view name, std::string_view json) {
    out += "event: ";
    out += name;
    out += "\ndata: ";
    out += json;
    out += "\n\n";
}

bool is_blank_char(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

void StreamTranslator::JsonEnd::feed(std::string_view s) {
    for (const char c : s) {
        if (complete) {
            trailing = trailing || !is_blank_char(c);
            continue;
        }
        if (in_string) {
            if (escape) {
                escape = false;
            } else if (c == '\\') {
                escape = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            --depth;
            complete = depth <= 0;
        } else if (c == '"') {
            in_string = true;
        }
    }
}

StreamTranslator::StreamTranslator(ResponseContext ctx)
    : ctx_(std::move(ctx)), sse_(ctx_.upstream, kMaxEventBytes, /*limit_joined_lines=*/false) {}

Status StreamTranslator::decode(std::string_view bytes, std::string& out) {
    if (ended_) {
        return {};
    }
    Events events(*this, out);
    return sse_.feed(bytes, events);
}

Status StreamTranslator::end(std::string& out) {
    if (ended_) {
        return {};
    }
    Events events(*this, out);
    if (auto status = sse_.finish(events); !status) {
        return status;
    }
    if (ended_) {
        return {};  // [DONE] was in the unterminated tail
    }
    // `data: [DONE]` is an OpenAI stream's terminal event; without it the stream was cut (the
    // usage chunk may be missing too), as the adapters' decoders treat a missing terminal event.
    return fail_with(providers::common::bad_stream(
        ctx_.upstream, finish_reason_.empty() ? "the stream ended before a finish_reason."
                                              : "the stream ended before [DONE]."));
}

void StreamTranslator::ping(std::string& out) const {
    if (started_ && !ended_ && !failed()) {
        append_event(out, "ping", R"({"type": "ping"})");
    }
}

void StreamTranslator::fail(const Error& e, std::string& out) {
    if (ended_) {
        return;
    }
    append_error_event(out, e);
    ended_ = true;
}

Status StreamTranslator::on_event(const std::string& event, std::string& data, std::string& out) {
    if (ended_ || detail::is_blank(data)) {
        return {};
    }
    std::string_view text = data;
    while (!text.empty() && is_blank_char(text.back())) {
        text.remove_suffix(1);
    }
    if (text == "[DONE]") {
        end_message(out);
        return {};
    }
    // data keeps SIMDJSON_PADDING readable bytes past its end, so it is parsed in place.
    data.reserve(data.size() + simdjson::SIMDJSON_PADDING);
    element root;
    if (parser_.parse(data.data(), data.size(), false).get(root) != simdjson::SUCCESS ||
        !root.is_object()) {
        return fail_with(
            providers::common::bad_stream(ctx_.upstream, "malformed JSON in an event."));
    }
    element error;
    if (root["error"].get(error) == simdjson::SUCCESS && !detail::is_null(error)) {
        return fail_with(openai_error(error));
    }
    if (event == "error") {
        return fail_with(openai_error(root));
    }
    return on_chunk(root, out);
}

Status StreamTranslator::on_chunk(element chunk, std::string& out) {
    if (!started_) {
        message_id_ = detail::message_id(ctx_.message_id, string_member(chunk, "id"));
    }
    ensure_started(out);
    element usage;
    if (chunk["usage"].get(usage) == simdjson::SUCCESS && usage.is_object()) {
        providers::common::update_int(usage, "prompt_tokens", prompt_tokens_);
        providers::common::update_int(usage, "completion_tokens", completion_tokens_);
        element details;
        if (usage["prompt_tokens_details"].get(details) == simdjson::SUCCESS &&
            details.is_object()) {
            providers::common::update_int(details, "cached_tokens", cached_tokens_);
        }
    }
    array choices;
    if (chunk["choices"].get_array().get(choices) != simdjson::SUCCESS) {
        return {};
    }
    for (const element choice : choices) {
        // We never ask for n > 1: only choice 0 exists.
        if (providers::common::int_member(choice, "index", 0) != 0) {
            continue;
        }
        element delta;
        if (choice["delta"].get(delta) == simdjson::SUCCESS && delta.is_object()) {
            std::string_view reasoning = string_member(delta, "reasoning_content");
            if (reasoning.empty()) {
                reasoning = string_member(delta, "reasoning");
            }
            add_text(Kind::Thinking, reasoning, out);
            add_text(Kind::Text, string_member(delta, "content"), out);
            const std::string_view refusal = string_member(delta, "refusal");
            if (!refusal.empty()) {
                refusal_ = true;
                add_text(Kind::Text, refusal, out);
            }
            array calls;
            if (delta["tool_calls"].get_array().get(calls) == simdjson::SUCCESS) {
                for (const element call : calls) {
                    if (auto status = on_tool_call(call, out); !status) {
                        return status;
                    }
                }
            }
        }
        const std::string_view finish = string_member(choice, "finish_reason");
        if (!finish.empty()) {
            finish_reason_ = std::string(finish);
            matched_stop_ = std::string(
                detail::matched_stop(string_member(choice, "stop_reason"), ctx_.stop_sequences));
            close_all(out);
        }
    }
    return {};
}

Status StreamTranslator::on_tool_call(element call, std::string& out) {
    std::int64_t index = 0;
    const std::string_view id = string_member(call, "id");
    if (call["index"].get_int64().get(index) != simdjson::SUCCESS) {
        // No index (some OpenAI-compatible servers): a call with a new id is a new call; one
        // with a known id, or none, continues that call or the last one.
        index = 0;
        bool known_id = false;
        for (const Block& block : blocks_) {
            if (block.kind == Kind::Tool && !known_id) {
                known_id = !id.empty() && block.id == id;
                index = block.tool_index + (id.empty() || known_id ? 0 : 1);
            }
        }
    }
    element function;
    std::string_view name;
    std::string_view arguments;
    if (call["function"].get(function) == simdjson::SUCCESS && function.is_object()) {
        name = string_member(function, "name");
        arguments = string_member(function, "arguments");
    }
    std::size_t at = blocks_.size();
    for (std::size_t i = blocks_.size(); i-- > 0;) {
        if (blocks_[i].kind == Kind::Tool && blocks_[i].tool_index == index) {
            at = i;
            break;
        }
    }
    if (at == blocks_.size()) {
        Block block;
        block.kind = Kind::Tool;
        block.tool_index = index;
        block.id = id.empty() ? fmt::format("toolu_{}_{}", message_id_, index) : std::string(id);
        block.name = std::string(name);
        blocks_.push_back(std::move(block));
    }
    if (!arguments.empty()) {
        Block& block = blocks_[at];
        if (block.state == State::Closed) {
            if (!detail::is_blank(arguments)) {
                return fail_with(providers::common::bad_stream(
                    ctx_.upstream, "tool call arguments continued after a complete JSON object."));
            }
            return {};
        }
        block.json.feed(arguments);
        append_to(at, arguments, out);
    }
    advance(out);
    return {};
}

void StreamTranslator::ensure_started(std::string& out) {
    if (started_) {
        return;
    }
    started_ = true;
    if (message_id_.empty()) {
        message_id_ = detail::message_id(ctx_.message_id, {});
    }
    std::string json = R"({"type":"message_start","message":{"id":)";
    append_string(json, message_id_);
    json += R"(,"type":"message","role":"assistant","model":)";
    append_string(json, ctx_.model);
    json += R"(,"content":[],"stop_reason":null,"stop_sequence":null,"usage":)";
    detail::append_usage(json, ctx_.input_tokens_estimate, 0, 0);
    json += "}}";
    append_event(out, "message_start", json);
}

void StreamTranslator::add_text(Kind kind, std::string_view text, std::string& out) {
    if (text.empty()) {
        return;
    }
    if (blocks_.empty() || blocks_.back().kind != kind || blocks_.back().state == State::Closed) {
        Block block;
        block.kind = kind;
        blocks_.push_back(std::move(block));
    }
    append_to(blocks_.size() - 1, text, out);
    advance(out);
}

void StreamTranslator::append_to(std::size_t index, std::string_view text, std::string& out) {
    Block& block = blocks_[index];
    if (block.state != State::Open) {
        block.pending += text;
        return;
    }
    std::string json = R"({"type":"content_block_delta","index":)";
    append_int(json, static_cast<std::int64_t>(index));
    switch (block.kind) {
        case Kind::Text:
            json += R"(,"delta":{"type":"text_delta","text":)";
            break;
        case Kind::Thinking:
            json += R"(,"delta":{"type":"thinking_delta","thinking":)";
            break;
        case Kind::Tool:
            json += R"(,"delta":{"type":"input_json_delta","partial_json":)";
            break;
    }
    append_string(json, text);
    json += "}}";
    append_event(out, "content_block_delta", json);
}

void StreamTranslator::open(std::size_t index, std::string& out) {
    Block& block = blocks_[index];
    std::string json = R"({"type":"content_block_start","index":)";
    append_int(json, static_cast<std::int64_t>(index));
    switch (block.kind) {
        case Kind::Text:
            json += R"(,"content_block":{"type":"text","text":""}})";
            break;
        case Kind::Thinking:
            json += R"(,"content_block":{"type":"thinking","thinking":"","signature":""}})";
            break;
        case Kind::Tool:
            json += R"(,"content_block":{"type":"tool_use","id":)";
            append_string(json, block.id);
            json += R"(,"name":)";
            append_string(json, block.name);
            json += R"(,"input":{}}})";
            break;
    }
    append_event(out, "content_block_start", json);
    block.state = State::Open;
    if (!block.pending.empty()) {
        const std::string pending = std::move(block.pending);
        block.pending.clear();
        append_to(index, pending, out);
    }
}

void StreamTranslator::close(std::size_t index, std::string& out) {
    std::string json = R"({"type":"content_block_stop","index":)";
    append_int(json, static_cast<std::int64_t>(index));
    json += '}';
    append_event(out, "content_block_stop", json);
    blocks_[index].state = State::Closed;
}

void StreamTranslator::advance(std::string& out) {
    while (head_ < blocks_.size()) {
        Block& block = blocks_[head_];
        if (block.state == State::Pending) {
            open(head_, out);
        }
        if (head_ + 1 >= blocks_.size()) {
            return;  // nothing follows yet: stays open
        }
        if (block.kind == Kind::Tool && !block.json.complete) {
            return;  // its arguments may still grow
        }
        close(head_, out);
        ++head_;
    }
}

void StreamTranslator::close_all(std::string& out) {
    while (head_ < blocks_.size()) {
        if (blocks_[head_].state == State::Pending) {
            open(head_, out);
        }
        close(head_, out);
        ++head_;
    }
}

void StreamTranslator::end_message(std::string& out) {
    ensure_started(out);
    close_all(out);
    bool tool_calls = false;
    for (const Block& block : blocks_) {
        tool_calls = tool_calls || block.kind == Kind::Tool;
    }
    const bool matched =
        finish_reason_ == "stop" && !refusal_ && !tool_calls && !matched_stop_.empty();
    std::string json = R"({"type":"message_delta","delta":{"stop_reason":")";
    json += detail::stop_reason(finish_reason_, matched, refusal_, tool_calls);
    json += R"(","stop_sequence":)";
    if (matched) {
        append_string(json, matched_stop_);
    } else {
        json += "null";
    }
    json += R"(},"usage":)";
    detail::append_usage(json, prompt_tokens_ >= 0 ? prompt_tokens_ : ctx_.input_tokens_estimate,
                         cached_tokens_, completion_tokens_);
    json += '}';
    append_event(out, "message_delta", json);
    append_event(out, "message_stop", R"({"type":"message_stop"})");
    ended_ = true;
}

}  // namespace sb::inbound::anthropic
