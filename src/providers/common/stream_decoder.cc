#include "providers/common/stream_decoder.h"

#include <utility>

namespace sb::providers::common {

Status ChatStreamDecoder::fail_with(Error e) {
    error_ = std::move(e);
    return tl::unexpected<Error>(*error_);
}

Status ChatStreamDecoder::feed(std::string_view bytes, std::string& out) {
    if (error_) {
        return tl::unexpected<Error>(*error_);
    }
    if (auto status = decode(bytes, out); !status) {
        return fail_with(std::move(status).error());
    }
    return {};
}

Status ChatStreamDecoder::finish(std::string& out) {
    if (error_) {
        return tl::unexpected<Error>(*error_);
    }
    if (done_) {
        return {};
    }
    if (auto status = end(out); !status) {
        return fail_with(std::move(status).error());
    }
    done_ = true;
    return {};
}

}  // namespace sb::providers::common
