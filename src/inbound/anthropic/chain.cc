// The answer path for a non-Anthropic target in one place: the target adapter's translation
// (when the upstream is not OpenAI-format), then OpenAI -> Anthropic.

#include "inbound/anthropic/messages.h"

namespace sb::inbound::anthropic {

InboundStream::InboundStream(std::unique_ptr<providers::StreamDecoder> decoder, ResponseContext ctx)
    : decoder_(std::move(decoder)), translator_(std::move(ctx)) {}

Status InboundStream::feed(std::string_view bytes, std::string& out) {
    if (!decoder_) {
        return translator_.feed(bytes, out);
    }
    openai_.clear();
    auto status = decoder_->feed(bytes, openai_);
    // Chunks the decoder completed before an error still reach the client.
    if (auto translated = translator_.feed(openai_, out); !translated) {
        return translated;
    }
    return status;
}

Status InboundStream::finish(std::string& out) {
    if (decoder_) {
        openai_.clear();
        auto status = decoder_->finish(openai_);
        if (auto translated = translator_.feed(openai_, out); !translated) {
            return translated;
        }
        if (!status) {
            return status;
        }
    }
    return translator_.finish(out);
}

Result<std::string> anthropic_response(const providers::Adapter* adapter,
                                       std::string_view upstream_body,
                                       const providers::ChatContext& chat,
                                       const ResponseContext& ctx) {
    if (adapter == nullptr) {
        return to_anthropic_response(upstream_body, ctx);
    }
    SB_TRY(openai, adapter->translate_chat_response(upstream_body, chat));
    return to_anthropic_response(openai, ctx);
}

}  // namespace sb::inbound::anthropic
