#include "providers/bedrock/eventstream.h"

#include <array>

namespace sb::providers::bedrock::eventstream {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1U) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
        }
        table[i] = c;
    }
    return table;
}

constexpr std::array<std::uint32_t, 256> kCrcTable = make_crc_table();

std::uint32_t read_u32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

std::uint64_t read_be(const unsigned char* p, std::size_t size) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < size; ++i) {
        value = (value << 8) | p[i];
    }
    return value;
}

void put_be(std::string& out, std::uint64_t value, std::size_t size) {
    for (std::size_t i = size; i > 0; --i) {
        out += static_cast<char>((value >> ((i - 1) * 8)) & 0xff);
    }
}

// Size of a fixed-size value, 0 for the length-prefixed types, -1 for an unknown type.
int fixed_size(std::uint8_t type) {
    switch (static_cast<HeaderType>(type)) {
        case HeaderType::BoolTrue:
        case HeaderType::BoolFalse:
            return 0;
        case HeaderType::Byte:
            return 1;
        case HeaderType::Short:
            return 2;
        case HeaderType::Integer:
            return 4;
        case HeaderType::Long:
        case HeaderType::Timestamp:
            return 8;
        case HeaderType::Uuid:
            return 16;
        case HeaderType::ByteArray:
        case HeaderType::String:
            return 0;
    }
    return -1;
}

// Sign-extends a big-endian two's complement value of `size` bytes.
std::int64_t to_signed(std::uint64_t value, std::size_t size) {
    if (size >= 8) {
        return static_cast<std::int64_t>(value);
    }
    const std::uint64_t sign = std::uint64_t{1} << (size * 8 - 1);
    if ((value & sign) != 0) {
        return static_cast<std::int64_t>(value) - static_cast<std::int64_t>(sign << 1);
    }
    return static_cast<std::int64_t>(value);
}

}  // namespace

std::uint32_t crc32(std::string_view data, std::uint32_t crc) {
    crc = ~crc;
    for (const char ch : data) {
        crc = kCrcTable[(crc ^ static_cast<unsigned char>(ch)) & 0xffU] ^ (crc >> 8);
    }
    return ~crc;
}

std::string_view Message::string_header(std::string_view name) const {
    for (const Header& header : headers) {
        if (header.name == name) {
            return header.type == HeaderType::String ? header.bytes : std::string_view{};
        }
    }
    return {};
}

void Decoder::append(std::string_view bytes) {
    if (error_) {
        return;
    }
    if (pos_ > 0) {
        buffer_.erase(0, pos_);
        pos_ = 0;
    }
    buffer_.append(bytes);
}

Result<bool> Decoder::fail_with(std::string why) {
    error_ = Error(ErrorCode::UpstreamBadResponse,
                   "The upstream provider bedrock sent an invalid event stream: " + why);
    buffer_.clear();
    pos_ = 0;
    return tl::unexpected<Error>(*error_);
}

Result<bool> Decoder::next(Message& message) {
    if (error_) {
        return tl::unexpected<Error>(*error_);
    }
    const std::size_t available = buffer_.size() - pos_;
    if (available < kPreludeSize) {
        return false;
    }
    const auto* base = reinterpret_cast<const unsigned char*>(buffer_.data() + pos_);
    const std::uint32_t total_length = read_u32(base);
    const std::uint32_t headers_length = read_u32(base + 4);
    const std::uint32_t prelude_crc = read_u32(base + 8);
    const std::string_view view(buffer_.data() + pos_, available);
    if (crc32(view.substr(0, 8)) != prelude_crc) {
        if (!decoded_any_ && buffer_.front() == '{') {
            return fail_with(
                "the prelude CRC does not match; the body starts with '{' (a JSON body where "
                "an event stream was expected?).");
        }
        return fail_with("the prelude CRC does not match.");
    }
    if (total_length < kMinMessageSize || total_length > kMaxMessageSize) {
        return fail_with("a message length of " + std::to_string(total_length) +
                         " bytes is outside 16 bytes to 16 MiB.");
    }
    if (headers_length > total_length - kMinMessageSize || headers_length > kMaxHeadersSize) {
        return fail_with("a headers length of " + std::to_string(headers_length) +
                         " bytes does not fit the message.");
    }
    if (available < total_length) {
        return false;
    }
    const std::uint32_t message_crc = read_u32(base + total_length - 4);
    if (crc32(view.substr(0, total_length - 4)) != message_crc) {
        return fail_with("the message CRC does not match.");
    }

    message.headers.clear();
    const std::string_view headers = view.substr(kPreludeSize, headers_length);
    std::size_t pos = 0;
    const auto* h = reinterpret_cast<const unsigned char*>(headers.data());
    while (pos < headers.size()) {
        if (message.headers.size() == kMaxHeaders) {
            return fail_with("a message has more than 1024 headers.");
        }
        Header header;
        const std::size_t name_length = h[pos];
        if (pos + 1 + name_length + 1 > headers.size()) {
            return fail_with("a header runs past the end of the headers.");
        }
        header.name = headers.substr(pos + 1, name_length);
        pos += 1 + name_length;
        const std::uint8_t type = h[pos++];
        const int size = fixed_size(type);
        if (size < 0) {
            return fail_with("unknown header type " + std::to_string(type) + ".");
        }
        header.type = static_cast<HeaderType>(type);
        if (header.type == HeaderType::String || header.type == HeaderType::ByteArray) {
            if (pos + 2 > headers.size()) {
                return fail_with("a header runs past the end of the headers.");
            }
            const std::size_t value_length = (std::size_t{h[pos]} << 8) | h[pos + 1];
            pos += 2;
            if (pos + value_length > headers.size()) {
                return fail_with("a header runs past the end of the headers.");
            }
            header.bytes = headers.substr(pos, value_length);
            pos += value_length;
        } else {
            const auto value_size = static_cast<std::size_t>(size);
            if (pos + value_size > headers.size()) {
                return fail_with("a header runs past the end of the headers.");
            }
            if (header.type == HeaderType::Uuid) {
                header.bytes = headers.substr(pos, value_size);
            } else if (header.type == HeaderType::BoolTrue) {
                header.integer = 1;
            } else if (header.type != HeaderType::BoolFalse) {
                header.integer = to_signed(read_be(h + pos, value_size), value_size);
            }
            pos += value_size;
        }
        message.headers.push_back(header);
    }
    message.payload =
        view.substr(kPreludeSize + headers_length, total_length - headers_length - kMinMessageSize);
    pos_ += total_length;
    decoded_any_ = true;
    return true;
}

std::string encode(const std::vector<EncodeHeader>& headers, std::string_view payload) {
    std::string encoded_headers;
    for (const EncodeHeader& header : headers) {
        encoded_headers += static_cast<char>(header.name.size() & 0xff);
        encoded_headers += header.name;
        encoded_headers += static_cast<char>(header.type);
        switch (header.type) {
            case HeaderType::BoolTrue:
            case HeaderType::BoolFalse:
                break;
            case HeaderType::String:
            case HeaderType::ByteArray:
                put_be(encoded_headers, header.bytes.size(), 2);
                encoded_headers += header.bytes;
                break;
            case HeaderType::Uuid:
                encoded_headers += header.bytes;
                break;
            default:
                put_be(
                    encoded_headers, static_cast<std::uint64_t>(header.integer),
                    static_cast<std::size_t>(fixed_size(static_cast<std::uint8_t>(header.type))));
                break;
        }
    }
    const std::size_t total = kMinMessageSize + encoded_headers.size() + payload.size();
    std::string out;
    out.reserve(total);
    put_be(out, total, 4);
    put_be(out, encoded_headers.size(), 4);
    put_be(out, crc32(out), 4);
    out += encoded_headers;
    out += payload;
    put_be(out, crc32(out), 4);
    return out;
}

std::string encode_event(std::string_view event_type, std::string_view json_payload) {
    return encode({{":event-type", HeaderType::String, std::string(event_type), 0},
                   {":content-type", HeaderType::String, "application/json", 0},
                   {":message-type", HeaderType::String, "event", 0}},
                  json_payload);
}

std::string encode_exception(std::string_view exception_type, std::string_view json_payload) {
    return encode({{":exception-type", HeaderType::String, std::string(exception_type), 0},
                   {":content-type", HeaderType::String, "application/json", 0},
                   {":message-type", HeaderType::String, "exception", 0}},
                  json_payload);
}

}  // namespace sb::providers::bedrock::eventstream
