#pragma once

// The checks shared by the inbound Anthropic fuzz targets (anthropic_inbound_request_fuzz,
// anthropic_inbound_stream_fuzz) and their g++ corpus replay
// (tests/unit/anthropic_inbound_fuzz_corpus_test.cc). Each returns an empty string when the
// input passes, otherwise what went wrong; the fuzz targets abort on a non-empty answer.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/openai_request.h"
#include "inbound/anthropic/messages.h"

namespace sb::fuzz {

inline bool is_json_object(std::string_view text) {
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(text);
    simdjson::dom::element root;
    return parser.parse(padded).get(root) == simdjson::SUCCESS && root.is_object();
}

// One request input: data[0] picks the options, the rest is the body.
inline std::string check_inbound_request(const std::uint8_t* data, std::size_t size) {
    using namespace sb::inbound::anthropic;
    if (size == 0) {
        return {};
    }
    const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
    TargetOptions target;
    target.top_k = (data[0] & 1) != 0;
    target.thinking = static_cast<Thinking>((data[0] >> 1) % 3);
    target.max_tokens_field =
        (data[0] & 8) != 0 ? MaxTokensField::MaxCompletionTokens : MaxTokensField::MaxTokens;

    auto parsed = parse(Endpoint::Messages, body);
    auto translated = to_openai_chat(body, target);
    (void)estimate_input_tokens(body);
    if (translated) {
        if (!parsed) {
            return "to_openai_chat accepted a body parse refused: " + parsed.error().message;
        }
        if (!is_json_object(*translated)) {
            return "to_openai_chat wrote invalid JSON: " + *translated;
        }
    }
    if (parsed) {
        const std::string rewritten = api::rewrite_model(body, parsed->inbound, "fuzz/\"model\"");
        auto again = parse(Endpoint::Messages, rewritten);
        if (!again || again->inbound.model != "fuzz/\"model\"" ||
            again->inbound.stream != parsed->inbound.stream ||
            again->max_tokens != parsed->max_tokens) {
            return "rewriting the model broke the body: " + rewritten;
        }
    }
    return {};
}

// Output of one run fed as bytes[0, split) then bytes[split, end), ending with the error event
// (as the gateway would) when it failed.
inline std::string run_inbound_stream(std::string_view bytes, std::size_t split) {
    using namespace sb::inbound::anthropic;
    ResponseContext ctx;
    ctx.message_id = "msg_fuzz";
    ctx.model = "m";
    ctx.stop_sequences = {"END"};
    StreamTranslator translator(ctx);
    std::string out;
    Status status;
    for (const std::string_view piece : {bytes.substr(0, split), bytes.substr(split)}) {
        status = translator.feed(piece, out);
        if (!status) {
            break;
        }
    }
    if (status) {
        status = translator.finish(out);
    }
    if (!status) {
        translator.fail(status.error(), out);
    }
    return out;
}

// Checks that `sse` is a sequence of `event: <name>\ndata: <JSON object>\n\n`, starting with
// message_start or error and ending with message_stop or error.
inline std::string check_event_sequence(std::string_view sse) {
    std::size_t pos = 0;
    std::string first;
    std::string last;
    while (pos < sse.size()) {
        const std::size_t end = sse.find("\n\n", pos);
        if (end == std::string_view::npos) {
            return "unterminated event";
        }
        const std::string_view event = sse.substr(pos, end - pos);
        pos = end + 2;
        if (!event.starts_with("event: ")) {
            return "event without a name: " + std::string(event);
        }
        const std::size_t newline = event.find('\n');
        if (newline == std::string_view::npos || !event.substr(newline + 1).starts_with("data: ")) {
            return "event without data: " + std::string(event);
        }
        const std::string name(event.substr(7, newline - 7));
        if (!is_json_object(event.substr(newline + 7))) {
            return "event data is not a JSON object: " + std::string(event);
        }
        if (first.empty()) {
            first = name;
        }
        last = name;
    }
    if (sse.empty()) {
        return "no events";
    }
    if (first != "message_start" && first != "error") {
        return "the stream starts with " + first;
    }
    if (last != "message_stop" && last != "error") {
        return "the stream ends with " + last;
    }
    return {};
}

// One stream input: data[0] picks the split position, the rest is the stream.
inline std::string check_inbound_stream(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return {};
    }
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t split = static_cast<std::size_t>(data[0]) * bytes.size() / 255;
    const std::string whole = run_inbound_stream(bytes, bytes.size());
    if (run_inbound_stream(bytes, split) != whole) {
        return "output depends on the split at " + std::to_string(split);
    }
    return check_event_sequence(whole);
}

}  // namespace sb::fuzz
