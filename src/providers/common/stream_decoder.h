#pragma once

// The error and end discipline shared by the translating adapters' stream decoders (anthropic,
// gemini, bedrock): the first error sticks, so every later feed() or finish() returns it; a
// finish() that succeeded makes any further finish() write nothing. Owned by one request; not
// thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/result.h"
#include "providers/provider.h"

namespace sb::providers::common {

class ChatStreamDecoder : public StreamDecoder {
  public:
    Status feed(std::string_view bytes, std::string& out) final;
    Status finish(std::string& out) final;

  protected:
    ChatStreamDecoder() = default;

    // Decodes upstream bytes (any split), appending OpenAI chunks to `out`.
    virtual Status decode(std::string_view bytes, std::string& out) = 0;
    // The upstream ended: appends the closing chunks (through `data: [DONE]`) to `out`, or fails
    // for a stream that ended early. Called at most once successfully.
    virtual Status end(std::string& out) = 0;

    // Keeps `e` as the decoder's error and returns it.
    Status fail_with(Error e);
    // True once an error was kept.
    bool failed() const { return error_.has_value(); }

  private:
    std::optional<Error> error_;
    bool done_ = false;  // finish() succeeded
};

}  // namespace sb::providers::common
