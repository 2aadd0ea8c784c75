#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sb::telemetry::access {

// The on-disk spool: a directory of segment files `seg-<id>.spool`, `<id>` twenty decimal
// digits (the segment's creation time in Unix microseconds, made unique and increasing by the
// writer). A segment is the 8-byte magic "SBSPOOL2" followed by frames:
//
//   u32 little-endian payload length | u32 little-endian CRC-32C of the payload | payload
//
// CRC-32C (Castagnoli, as in iSCSI, RFC 3720) has an instruction of its own on x86-64 (SSE4.2).
// Segments of the first format, "SBSPOOL1", checked with zlib's CRC-32, are still read (a spool
// left by an older version is replayed).
//
// A frame is valid only if it is complete and its CRC matches; reading stops at the first frame
// that is not (a torn tail after a crash, or corruption), and everything before it is kept.
// Payloads are never empty, so a header of eight zero bytes is not a frame: it marks the end of
// what was written to a preallocated segment (the zero-filled reserve a crash leaves behind).
inline constexpr std::string_view kSegmentMagic = "SBSPOOL2";
inline constexpr std::string_view kSegmentMagicV1 = "SBSPOOL1";
// Frames longer than this are refused on write and treated as corruption on read.
inline constexpr std::uint32_t kMaxFrameBytes = 64u << 20;

// CRC-32C (the frames' checksum), in hardware where the CPU has it.
std::uint32_t crc32c(std::string_view bytes);
// The table-driven CRC-32C crc32c() uses without SSE4.2 (exposed for tests).
std::uint32_t crc32c_portable(std::string_view bytes);
// zlib's CRC-32 (the checksum of "SBSPOOL1" segments).
std::uint32_t crc32(std::string_view bytes);
// Appends one frame holding `payload` (not empty) to `out`.
void append_frame(std::string& out, std::string_view payload);
// The same in two steps, for a payload encoded straight into `out`: begin_frame() reserves the
// header at the end of `out` and returns its offset; end_frame() fills it in for the payload
// appended since.
std::size_t begin_frame(std::string& out);
void end_frame(std::string& out, std::size_t frame_offset);

std::string segment_file_name(std::uint64_t id);
// The id of a file named by segment_file_name(), or 0 if `name` is not a segment.
std::uint64_t parse_segment_file_name(std::string_view name);

// What read_segment() found.
struct SegmentContents {
    std::vector<std::string> payloads;  // valid frames, in order
    std::uint64_t valid_bytes = 0;      // magic + valid frames
    std::uint64_t file_bytes = 0;
    // Non-zero bytes after the last valid frame (torn write or corruption); the zero-filled
    // reserve of a preallocated segment is not torn.
    bool torn = false;
};

// Splits segment bytes into frames. A missing or wrong magic is an error (not a segment).
Result<SegmentContents> parse_segment(std::string_view bytes);
Result<SegmentContents> read_segment(const std::string& path);

// Segments in `dir`, ascending by id.
Result<std::vector<std::uint64_t>> list_segments(const std::string& dir);

// The segment the access log appends to (under its spool lock). The file is preallocated in
// growing chunks (fallocate(2), so a full disk is an error on append, never a SIGBUS) and
// mapped shared: an append is a memcpy into the page cache, no system call, and survives a crash
// of the process as soon as it returns. sync() (fdatasync, which also writes back pages dirtied
// through the mapping) makes appends durable; close() cuts the file to the bytes written. If the
// file system cannot map or preallocate, the writer falls back to one write(2) per append, with
// the same guarantees.
class SegmentWriter {
  public:
    // The first chunk of a new segment; each growth doubles the reserve, by at most kMaxGrowth.
    static constexpr std::uint64_t kInitialReserve = std::uint64_t{1} << 20;
    static constexpr std::uint64_t kMaxGrowth = std::uint64_t{64} << 20;

    // `mapped` false: plain writes from the start (what a file system that cannot preallocate
    // or map gets; also for tests of that path).
    static Result<SegmentWriter> create(const std::string& dir, std::uint64_t id,
                                        bool mapped = true);
    SegmentWriter(SegmentWriter&& other) noexcept;
    SegmentWriter& operator=(SegmentWriter&& other) noexcept;
    SegmentWriter(const SegmentWriter&) = delete;
    SegmentWriter& operator=(const SegmentWriter&) = delete;
    ~SegmentWriter();

    // Writes bytes holding whole frames. A failed append (the reserve cannot grow, or a short
    // write) leaves the segment as it was, so it never holds a half frame followed by more
    // frames. Not safe to call concurrently with itself or close().
    Status append(std::string_view frames);
    // May run concurrently with append().
    Status sync();
    Status close();

    std::uint64_t id() const { return id_; }
    // Bytes written (magic and frames), not the reserve.
    std::uint64_t bytes() const { return bytes_; }
    const std::string& path() const { return path_; }
    // Whether appends go through the mapping (false: write(2) fallback).
    bool mapped() const { return map_ != nullptr; }

  private:
    SegmentWriter(int fd, std::uint64_t id, std::string path)
        : fd_(fd), id_(id), path_(std::move(path)) {}
    // Grows the preallocated, mapped reserve to hold at least `needed` bytes.
    Status reserve(std::uint64_t needed);
    void release();

    int fd_ = -1;
    std::uint64_t id_ = 0;
    std::string path_;
    std::uint64_t bytes_ = 0;
    char* map_ = nullptr;
    std::uint64_t reserved_ = 0;  // preallocated and mapped bytes
};

}  // namespace sb::telemetry::access
