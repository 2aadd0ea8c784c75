// count_tokens for targets without Anthropic's token counter: an estimate from the request's
// text (docs/anthropic-inbound.md, "count_tokens").

#include <simdjson.h>

#include "inbound/anthropic/internal.h"
#include "inbound/anthropic/messages.h"

namespace sb::inbound::anthropic {
namespace {

using detail::string_member;
using simdjson::dom::array;
using simdjson::dom::element;

constexpr std::int64_t kBytesPerToken = 4;
constexpr std::int64_t kTokensPerMessage = 3;
// Anthropic's documented cost of a ~1.15 megapixel image (width * height / 750); we cannot see
// the dimensions without decoding, so every image counts as a large one.
constexpr std::int64_t kTokensPerImage = 1600;
// Anthropic's documented cost of a PDF page is 1,500 to 3,000 tokens; a PDF counts as one page.
constexpr std::int64_t kTokensPerPdf = 1500;
// Anthropic's documented tool-use system prompt (313-346 tokens, by model and tool_choice).
constexpr std::int64_t kToolsOverhead = 300;

struct Counter {
    std::int64_t bytes = 0;
    std::int64_t messages = 0;
    std::int64_t images = 0;
    std::int64_t pdfs = 0;
    bool tools = false;

    void text(std::string_view s) { bytes += static_cast<std::int64_t>(s.size()); }

    void block(element b) {
        const std::string_view type = string_member(b, "type");
        if (type == "text") {
            text(string_member(b, "text"));
        } else if (type == "image") {
            ++images;
        } else if (type == "tool_use") {
            text(string_member(b, "name"));
            element input;
            if (b["input"].get(input) == simdjson::SUCCESS) {
                text(simdjson::to_string(input));
            }
        } else if (type == "tool_result") {
            content(b["content"]);
        } else if (type == "document") {
            element source;
            if (b["source"].get(source) != simdjson::SUCCESS) {
                return;
            }
            const std::string_view source_type = string_member(source, "type");
            if (source_type == "text") {
                text(string_member(source, "data"));
            } else if (source_type == "content") {
                content(source["content"]);
            } else {
                ++pdfs;  // the page count is inside the PDF; one page is assumed
            }
        }
        // thinking and redacted_thinking of earlier turns: Anthropic strips them from the
        // context, so they count nothing.
    }

    void content(simdjson::simdjson_result<element> value) {
        element v;
        if (value.get(v) != simdjson::SUCCESS) {
            return;
        }
        std::string_view s;
        array blocks;
        if (v.get_string().get(s) == simdjson::SUCCESS) {
            text(s);
        } else if (v.get_array().get(blocks) == simdjson::SUCCESS) {
            for (const element b : blocks) {
                block(b);
            }
        }
    }

    std::int64_t total() const {
        return (bytes + kBytesPerToken - 1) / kBytesPerToken + kTokensPerMessage * messages +
               kTokensPerImage * images + kTokensPerPdf * pdfs + (tools ? kToolsOverhead : 0);
    }
};

}  // namespace

Result<std::int64_t> estimate_input_tokens(std::string_view body) {
    SB_TRY(request, parse(Endpoint::CountTokens, body));
    (void)request;
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(body);
    SB_TRY(root, detail::parse_object(parser, padded));

    Counter counter;
    counter.content(root["system"]);
    array messages;
    if (root["messages"].get_array().get(messages) == simdjson::SUCCESS) {
        for (const element message : messages) {
            ++counter.messages;
            counter.content(message["content"]);
        }
    }
    array tools;
    if (root["tools"].get_array().get(tools) == simdjson::SUCCESS) {
        for (const element tool : tools) {
            counter.tools = true;
            counter.text(string_member(tool, "name"));
            counter.text(string_member(tool, "description"));
            element schema;
            if (tool["input_schema"].get(schema) == simdjson::SUCCESS) {
                counter.text(simdjson::to_string(schema));
            }
        }
    }
    return counter.total();
}

Result<std::string> count_tokens_response(std::string_view body) {
    SB_TRY(tokens, estimate_input_tokens(body));
    std::string out = "{\"input_tokens\":";
    detail::append_int(out, tokens);
    out += '}';
    return out;
}

}  // namespace sb::inbound::anthropic
