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

}  // namespace sb::providers::common
