#include "providers/common/sse.h"

#include <utility>

#include "providers/common/errors.h"

namespace sb::providers::common {
namespace {

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

void SseReader::Sink::on_other_line(std::string_view /*line*/) {}

SseReader::SseReader(std::string_view provider, std::size_t max_bytes, bool limit_joined_lines)
    : provider_(provider), max_bytes_(max_bytes), limit_joined_lines_(limit_joined_lines) {}

Error SseReader::too_big(std::string_view what) const {
    constexpr std::size_t kMiB = std::size_t{1} << 20;
    const std::string size = max_bytes_ % kMiB == 0 ? std::to_string(max_bytes_ / kMiB) + " MiB"
                                                    : std::to_string(max_bytes_) + " bytes";
    return bad_stream(provider_, "an SSE " + std::string(what) + " exceeds " + size + ".");
}

Status SseReader::feed(std::string_view bytes, Sink& sink) {
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        if (skip_lf_) {
            skip_lf_ = false;
            if (bytes[pos] == '\n') {
                ++pos;
                continue;
            }
        }
        const std::size_t eol = bytes.find_first_of("\r\n", pos);
        if (eol == std::string_view::npos) {
            if (line_.size() + (bytes.size() - pos) > max_bytes_) {
                return tl::unexpected<Error>(too_big("line"));
            }
            line_.append(bytes.substr(pos));
            break;
        }
        Status status;
        if (line_.empty()) {
            status = on_line(bytes.substr(pos, eol - pos), sink);
        } else {
            if (limit_joined_lines_ && line_.size() + (eol - pos) > max_bytes_) {
                return tl::unexpected<Error>(too_big("line"));
            }
            line_.append(bytes.substr(pos, eol - pos));
            status = on_line(line_, sink);
            line_.clear();
        }
        if (!status) {
            return status;
        }
        skip_lf_ = bytes[eol] == '\r';
        pos = eol + 1;
    }
    return {};
}

Status SseReader::finish(Sink& sink) {
    if (!line_.empty()) {
        const std::string line = std::move(line_);
        line_.clear();
        if (auto status = on_line(line, sink); !status) {
            return status;
        }
    }
    return dispatch(sink);
}

// One SSE line: "field: value", ":" comments, a blank line ends the event.
Status SseReader::on_line(std::string_view line, Sink& sink) {
    if (line.empty()) {
        return dispatch(sink);
    }
    if (line.front() == ':') {
        return {};
    }
    const std::size_t colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
        value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') {
            value.remove_prefix(1);
        }
    }
    if (field == "event") {
        event_.assign(trim_right(value));
    } else if (field == "data") {
        if (data_.size() + value.size() + 1 > max_bytes_) {
            return tl::unexpected<Error>(too_big("event"));
        }
        if (has_data_) {
            data_ += '\n';
        }
        data_.append(value);
        has_data_ = true;
    } else if (field != "id" && field != "retry") {
        sink.on_other_line(line);
    }
    // id and retry: nothing to do.
    return {};
}

Status SseReader::dispatch(Sink& sink) {
    if (!has_data_ && event_.empty()) {
        return {};
    }
    auto status = sink.on_event(event_, data_);
    event_.clear();
    data_.clear();
    has_data_ = false;
    return status;
}

class SseStreamDecoder::Events final : public SseReader::Sink {
  public:
    Events(SseStreamDecoder& decoder, std::string& out) : decoder_(decoder), out_(out) {}

    Status on_event(const std::string& event, std::string& data) override {
        return decoder_.on_event(event, data, out_);
    }
    void on_other_line(std::string_view line) override { decoder_.on_other_line(line); }

  private:
    SseStreamDecoder& decoder_;
    std::string& out_;
};

SseStreamDecoder::SseStreamDecoder(std::string_view provider, std::size_t max_bytes,
                                   bool limit_joined_lines)
    : sse_(provider, max_bytes, limit_joined_lines) {}

void SseStreamDecoder::on_other_line(std::string_view /*line*/) {}

Status SseStreamDecoder::decode(std::string_view bytes, std::string& out) {
    Events events(*this, out);
    return sse_.feed(bytes, events);
}

Status SseStreamDecoder::end(std::string& out) {
    Events events(*this, out);
    if (auto status = sse_.finish(events); !status) {
        return status;
    }
    return on_end(out);
}

}  // namespace sb::providers::common
