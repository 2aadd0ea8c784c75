#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

// The AWS event stream binary framing (`application/vnd.amazon.eventstream`) that Bedrock
// ConverseStream answers with. Layout (big-endian; botocore botocore/eventstream.py):
//
//   total_length u32 | headers_length u32 | prelude_crc u32 | headers | payload | message_crc u32
//
// prelude_crc is the CRC-32 (IEEE, as zlib) of the first 8 bytes, message_crc that of everything
// before it. A header is name_len u8, name, type u8, value; type 7 is a string (u16 length +
// bytes), the others are listed in HeaderType.
namespace sb::providers::bedrock::eventstream {

inline constexpr std::size_t kPreludeSize = 12;
inline constexpr std::size_t kMinMessageSize = 16;  // prelude + message CRC
// Nothing Bedrock sends comes close; a larger length is corruption, not a big event.
inline constexpr std::size_t kMaxMessageSize = std::size_t{16} << 20;
inline constexpr std::size_t kMaxHeadersSize = std::size_t{128} << 10;  // botocore's limit
inline constexpr std::size_t kMaxHeaders = 1024;

enum class HeaderType : std::uint8_t {
    BoolTrue = 0,
    BoolFalse = 1,
    Byte = 2,
    Short = 3,
    Integer = 4,
    Long = 5,
    ByteArray = 6,
    String = 7,
    Timestamp = 8,  // milliseconds since the epoch
    Uuid = 9,
};

// A header of a decoded message. Views point into the decoder's buffer.
struct Header {
    std::string_view name;
    HeaderType type = HeaderType::String;
    std::string_view bytes;    // String and ByteArray: the value; Uuid: its 16 bytes
    std::int64_t integer = 0;  // bools (1/0), Byte, Short, Integer, Long, Timestamp
};

// One decoded message. Views point into the decoder's buffer and stay valid until the next
// Decoder::append().
struct Message {
    std::vector<Header> headers;
    std::string_view payload;

    // The value of the first string header called `name`; empty when there is none.
    std::string_view string_header(std::string_view name) const;
};

// CRC-32 (IEEE 802.3, reflected, as zlib's crc32), continuing from `crc`.
std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0);

// Splits a byte stream into messages, whatever the split of the bytes across append() calls.
// Each message's prelude is checked (CRC, then lengths against the limits above) as soon as its
// 12 bytes are in, so a corrupt length never makes it wait for, or buffer, more than
// kMaxMessageSize. Any malformation is an UpstreamBadResponse error, after which the decoder
// stays failed. One per stream; not thread-safe.
class Decoder {
  public:
    void append(std::string_view bytes);
    // Decodes the next complete message into `message`: true when one was decoded, false when
    // more bytes are needed.
    Result<bool> next(Message& message);
    // Bytes of a message not yet complete.
    std::size_t buffered() const { return buffer_.size() - pos_; }

  private:
    Result<bool> fail_with(std::string why);

    std::string buffer_;
    std::size_t pos_ = 0;  // start of the first message not yet decoded
    bool decoded_any_ = false;
    std::optional<Error> error_;
};

// A header to encode.
struct EncodeHeader {
    std::string name;
    HeaderType type = HeaderType::String;
    std::string bytes;
    std::int64_t integer = 0;
};

// Encodes one message (lengths and both CRCs computed). For tests, golden inputs and the fuzz
// corpus; the gateway itself never encodes.
std::string encode(const std::vector<EncodeHeader>& headers, std::string_view payload);

// A Bedrock event as the service frames it: string headers :event-type, :content-type
// (application/json) and :message-type (event).
std::string encode_event(std::string_view event_type, std::string_view json_payload);

// A modeled exception as the service frames it: :exception-type, :content-type and
// :message-type (exception).
std::string encode_exception(std::string_view exception_type, std::string_view json_payload);

}  // namespace sb::providers::bedrock::eventstream
