#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sb::telemetry::access {

// The on-disk spool: a directory of segment files `seg-<id>.spool`, `<id>` twenty decimal
// digits (the segment's creation time in Unix microseconds, made unique and increasing by the
// writer). A segment is the 8-byte magic "SBSPOOL1" followed by frames:
//
//   u32 little-endian payload length | u32 little-endian CRC-32 (zlib) of the payload | payload
//
// A frame is valid only if it is complete and its CRC matches; reading stops at the first frame
// that is not (a torn tail after a crash, or corruption), and everything before it is kept.
inline constexpr std::string_view kSegmentMagic = "SBSPOOL1";
// Frames longer than this are refused on write and treated as corruption on read.
inline constexpr std::uint32_t kMaxFrameBytes = 64u << 20;

std::uint32_t crc32(std::string_view bytes);
// Appends one frame holding `payload` to `out`.
void append_frame(std::string& out, std::string_view payload);

std::string segment_file_name(std::uint64_t id);
// The id of a file named by segment_file_name(), or 0 if `name` is not a segment.
std::uint64_t parse_segment_file_name(std::string_view name);

// What read_segment() found.
struct SegmentContents {
    std::vector<std::string> payloads;  // valid frames, in order
    std::uint64_t valid_bytes = 0;      // magic + valid frames
    std::uint64_t file_bytes = 0;
    bool torn = false;  // bytes after the last valid frame (torn write or corruption)
};

// Splits segment bytes into frames. A missing or wrong magic is an error (not a segment).
Result<SegmentContents> parse_segment(std::string_view bytes);
Result<SegmentContents> read_segment(const std::string& path);

// Segments in `dir`, ascending by id.
Result<std::vector<std::uint64_t>> list_segments(const std::string& dir);

// The segment the writer appends to. Owned by the writer thread. Appends go to the page cache
// with write(2) (so they survive a crash of the process); sync() makes them durable.
class SegmentWriter {
  public:
    static Result<SegmentWriter> create(const std::string& dir, std::uint64_t id);
    SegmentWriter(SegmentWriter&& other) noexcept;
    SegmentWriter& operator=(SegmentWriter&& other) noexcept;
    SegmentWriter(const SegmentWriter&) = delete;
    SegmentWriter& operator=(const SegmentWriter&) = delete;
    ~SegmentWriter();

    // Writes bytes holding whole frames. On a short or failed write the segment is cut back to
    // its last good length so it never holds a half frame followed by more frames.
    Status append(std::string_view frames);
    Status sync();
    Status close();

    std::uint64_t id() const { return id_; }
    std::uint64_t bytes() const { return bytes_; }
    const std::string& path() const { return path_; }

  private:
    SegmentWriter(int fd, std::uint64_t id, std::string path)
        : fd_(fd), id_(id), path_(std::move(path)) {}
    int fd_ = -1;
    std::uint64_t id_ = 0;
    std::string path_;
    std::uint64_t bytes_ = 0;
};

}  // namespace sb::telemetry::access
