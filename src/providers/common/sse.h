#pragma once

// Server-sent events framing (WHATWG HTML, server-sent events), shared by the adapters whose
// upstream streams SSE: bytes in, complete events {event name, data} out, across any split of
// the input. CRLF, LF and CR line ends; ":" comments ignored; a blank line ends an event. Owned
// by one stream decoder; not thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/result.h"
#include "providers/common/stream_decoder.h"

namespace sb::providers::common {

class SseReader {
  public:
    // Receives what the reader finds. A failed Status from on_event stops the reader and is
    // returned as is.
    class Sink {
      public:
        // One complete event: its name (the last `event:` value, trailing blanks removed; empty
        // when none) and its data lines joined with '\n'. `data` may be modified (e.g. padded for
        // in-place parsing); it is cleared afterwards. Called when an event has data or a name.
        virtual Status on_event(const std::string& event, std::string& data) = 0;
        // A line whose field is none of data, event, id and retry (or that has no colon): not
        // SSE. Ignored by default.
        virtual void on_other_line(std::string_view line);

      protected:
        Sink() = default;
        Sink(const Sink&) = default;
        Sink& operator=(const Sink&) = default;
        ~Sink() = default;
    };

    // `provider` names the upstream in errors (common::bad_stream); it must outlive the reader.
    // A line or an event's data longer than `max_bytes` fails the stream ("an SSE line exceeds
    // 16 MiB." / "an SSE event exceeds 16 MiB."). The line limit applies to the unterminated
    // tail kept between feeds; with `limit_joined_lines`, also to a line completed from it.
    SseReader(std::string_view provider, std::size_t max_bytes, bool limit_joined_lines);

    // Frames `bytes`, calling `sink` for each event completed by them.
    Status feed(std::string_view bytes, Sink& sink);
    // End of input: the last line and event may lack their terminators.
    Status finish(Sink& sink);

  private:
    Status on_line(std::string_view line, Sink& sink);
    Status dispatch(Sink& sink);
    Error too_big(std::string_view what) const;

    std::string_view provider_;
    std::size_t max_bytes_;
    bool limit_joined_lines_;

    std::string line_;      // a line not yet terminated
    bool skip_lf_ = false;  // the last byte was CR: a following LF belongs to it
    std::string event_;
    std::string data_;
    bool has_data_ = false;
};

// A ChatStreamDecoder for an upstream that streams SSE (anthropic, gemini): frames the upstream
// bytes with an SseReader and hands each event to on_event. At the end it frames what is left
// (the last event may lack its blank line), then calls on_end. Owned by one request; not
// thread-safe.
class SseStreamDecoder : public ChatStreamDecoder {
  protected:
    // `provider`, `max_bytes` and `limit_joined_lines` as for SseReader.
    SseStreamDecoder(std::string_view provider, std::size_t max_bytes, bool limit_joined_lines);

    // One complete event (SseReader::Sink::on_event); chunks go to `out`.
    virtual Status on_event(const std::string& event, std::string& data, std::string& out) = 0;
    // A line that is not SSE (SseReader::Sink::on_other_line). Ignored by default.
    virtual void on_other_line(std::string_view line);
    // The upstream ended and its last event was handled: writes the closing chunks (through
    // `data: [DONE]`) to `out`, or fails for a stream that ended early.
    virtual Status on_end(std::string& out) = 0;

  private:
    class Events;  // hands the reader's events and other lines to this decoder

    Status decode(std::string_view bytes, std::string& out) final;
    Status end(std::string& out) final;

    SseReader sse_;  // SSE framing state, kept across feed() calls
};

}  // namespace sb::providers::common
