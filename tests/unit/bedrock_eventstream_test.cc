// The AWS event-stream frame decoder (src/providers/bedrock/eventstream.h).
//
// The hex vectors below are botocore's decoder test vectors (boto/botocore
// tests/unit/test_eventstream.py @ abe14a7164048eef4afbf9b988e53071951e1528, byte literals written
// as hex); the conformance test in bedrock_golden_test.cc also replays them from the shared
// fixtures when those are present.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "providers/bedrock/eventstream.h"

namespace sb::providers::bedrock::eventstream {
namespace {

std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
    }
    return out;
}

// botocore EMPTY_MESSAGE, PAYLOAD_ONE_STR_HEADER, ERROR_EVENT_MESSAGE, ALL_HEADERS_TYPES and
// INT8_HEADER.
constexpr std::string_view kEmptyMessage = "000000100000000005c248eb7d98c8ff";
constexpr std::string_view kOneStringHeader =
    "0000003d0000002007fd83960c636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b"
    "27666f6f273a27626172277d8d9c08b1";
constexpr std::string_view kErrorEvent =
    "0000005200000042bf23637e0d3a6d6573736167652d747970650700056572726f720b3a6572726f722d636f64"
    "65070004636f64650e3a6572726f722d6d6573736167650700076d6573736167656b6cea3d";
constexpr std::string_view kAllHeaderTypes =
    "000000620000005203b5cb9c01300001310101320202013303000301340400000004013505000000000000000501"
    "36060005627974657301370700047574663801380800000000000000080139093031323334353637383961626364"
    "656663353671";
constexpr std::string_view kInt8Header = "000000170000000729860158046279746502ffc2f869dc";

// Decodes every complete message in `bytes` fed in one piece.
Result<std::vector<std::string>> payloads(std::string_view bytes) {
    Decoder decoder;
    Message message;
    decoder.append(bytes);
    std::vector<std::string> out;
    while (true) {
        auto decoded = decoder.next(message);
        if (!decoded) {
            return tl::unexpected<Error>(decoded.error());
        }
        if (!*decoded) {
            return out;
        }
        out.emplace_back(message.payload);
    }
}

TEST(BedrockEventStream, Crc32IsZlibCrc32) {
    EXPECT_EQ(crc32("123456789"), 0xCBF43926U);  // the CRC-32 check value
    EXPECT_EQ(crc32(""), 0U);
    EXPECT_EQ(crc32("6789", crc32("12345")), 0xCBF43926U);
}

TEST(BedrockEventStream, DecodesBotocoreVectors) {
    Decoder decoder;
    Message message;

    decoder.append(from_hex(kEmptyMessage));
    auto decoded = decoder.next(message);
    ASSERT_TRUE(decoded && *decoded);
    EXPECT_TRUE(message.headers.empty());
    EXPECT_EQ(message.payload, "");

    decoder.append(from_hex(kOneStringHeader));
    decoded = decoder.next(message);
    ASSERT_TRUE(decoded && *decoded);
    EXPECT_EQ(message.string_header("content-type"), "application/json");
    EXPECT_EQ(message.payload, "{'foo':'bar'}");

    decoder.append(from_hex(kErrorEvent));
    decoded = decoder.next(message);
    ASSERT_TRUE(decoded && *decoded);
    EXPECT_EQ(message.string_header(":message-type"), "error");
    EXPECT_EQ(message.string_header(":error-code"), "code");
    EXPECT_EQ(message.string_header(":error-message"), "message");

    decoder.append(from_hex(kInt8Header));
    decoded = decoder.next(message);
    ASSERT_TRUE(decoded && *decoded);
    ASSERT_EQ(message.headers.size(), 1u);
    EXPECT_EQ(message.headers[0].name, "byte");
    EXPECT_EQ(message.headers[0].type, HeaderType::Byte);
    EXPECT_EQ(message.headers[0].integer, -1);
    EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(BedrockEventStream, DecodesEveryHeaderType) {
    Decoder decoder;
    Message message;
    decoder.append(from_hex(kAllHeaderTypes));
    auto decoded = decoder.next(message);
    ASSERT_TRUE(decoded && *decoded);
    ASSERT_EQ(message.headers.size(), 10u);
    EXPECT_EQ(message.headers[0].type, HeaderType::BoolTrue);
    EXPECT_EQ(message.headers[0].integer, 1);
    EXPECT_EQ(message.headers[1].type, HeaderType::BoolFalse);
    EXPECT_EQ(message.headers[1].integer, 0);
    EXPECT_EQ(message.headers[2].integer, 2);
    EXPECT_EQ(message.headers[3].integer, 3);
    EXPECT_EQ(message.headers[4].integer, 4);
    EXPECT_EQ(message.headers[5].integer, 5);
    EXPECT_EQ(message.headers[6].type, HeaderType::ByteArray);
    EXPECT_EQ(message.headers[6].bytes, "bytes");
    EXPECT_EQ(message.string_header("7"), "utf8");
    EXPECT_EQ(message.headers[8].type, HeaderType::Timestamp);
    EXPECT_EQ(message.headers[8].integer, 8);
    EXPECT_EQ(message.headers[9].type, HeaderType::Uuid);
    EXPECT_EQ(message.headers[9].bytes, "0123456789abcdef");
    EXPECT_EQ(message.string_header("6"), "") << "a byte array is not a string header";
}

TEST(BedrockEventStream, EncodeRoundTripsAndMatchesBotocore) {
    EXPECT_EQ(encode({}, ""), from_hex(kEmptyMessage));
    EXPECT_EQ(
        encode({{"content-type", HeaderType::String, "application/json", 0}}, "{'foo':'bar'}"),
        from_hex(kOneStringHeader));
    EXPECT_EQ(encode({{"byte", HeaderType::Byte, "", -1}}, ""), from_hex(kInt8Header));

    const std::string event = encode_event("contentBlockDelta", R"({"delta":{"text":"hi"}})");
    Decoder decoder;
    Message message;
    decoder.append(event);
    auto decoded = decoder.next(message);
    ASSERT_TRUE(decoded && *decoded);
    EXPECT_EQ(message.string_header(":event-type"), "contentBlockDelta");
    EXPECT_EQ(message.string_header(":message-type"), "event");
    EXPECT_EQ(message.string_header(":content-type"), "application/json");
    EXPECT_EQ(message.payload, R"({"delta":{"text":"hi"}})");
}

// Three messages split in two at every byte position, and fed one byte at a time, give the
// same messages.
TEST(BedrockEventStream, MessagesSplitAtAnyByteDecodeTheSame) {
    const std::string stream = encode_event("messageStart", R"({"role":"assistant"})") +
                               from_hex(kEmptyMessage) +
                               encode_event("messageStop", R"({"stopReason":"end_turn"})");
    const std::vector<std::string> expected = {R"({"role":"assistant"})", "",
                                               R"({"stopReason":"end_turn"})"};
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        Decoder decoder;
        Message message;
        std::vector<std::string> got;
        for (const std::string_view piece :
             {std::string_view(stream).substr(0, cut), std::string_view(stream).substr(cut)}) {
            decoder.append(piece);
            while (true) {
                auto decoded = decoder.next(message);
                ASSERT_TRUE(decoded) << decoded.error().message;
                if (!*decoded) {
                    break;
                }
                got.emplace_back(message.payload);
            }
        }
        ASSERT_EQ(got, expected) << "split at " << cut;
        EXPECT_EQ(decoder.buffered(), 0u);
    }

    Decoder decoder;
    Message message;
    std::vector<std::string> got;
    for (const char byte : stream) {
        decoder.append(std::string_view(&byte, 1));
        while (true) {
            auto decoded = decoder.next(message);
            ASSERT_TRUE(decoded);
            if (!*decoded) {
                break;
            }
            got.emplace_back(message.payload);
        }
    }
    EXPECT_EQ(got, expected);
}

TEST(BedrockEventStream, IncompleteMessageIsBufferedNotDecoded) {
    const std::string event = encode_event("messageStart", R"({"role":"assistant"})");
    Decoder decoder;
    Message message;
    decoder.append(std::string_view(event).substr(0, event.size() - 1));
    auto decoded = decoder.next(message);
    ASSERT_TRUE(decoded);
    EXPECT_FALSE(*decoded);
    EXPECT_EQ(decoder.buffered(), event.size() - 1);
}

TEST(BedrockEventStream, BadPreludeCrcIsAnError) {
    std::string bytes = from_hex(kOneStringHeader);
    bytes[8] = static_cast<char>(bytes[8] ^ 0x01);
    auto result = payloads(bytes);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::UpstreamBadResponse);
    EXPECT_NE(result.error().message.find("prelude CRC"), std::string::npos);
}

TEST(BedrockEventStream, BadMessageCrcIsAnError) {
    std::string bytes = from_hex(kOneStringHeader);
    bytes[20] = static_cast<char>(bytes[20] ^ 0x01);  // inside the headers
    auto result = payloads(bytes);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::UpstreamBadResponse);
    EXPECT_NE(result.error().message.find("message CRC"), std::string::npos);
}

// A prelude with a valid CRC but a length above 16 MiB fails at once: the decoder never waits
// for (or buffers) the bytes such a length announces.
TEST(BedrockEventStream, OversizedLengthFailsBeforeBuffering) {
    std::string prelude;
    const std::uint32_t total = (16U << 20) + 1;
    for (const std::uint32_t value : {total, 0U}) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            prelude += static_cast<char>((value >> shift) & 0xff);
        }
    }
    const std::uint32_t crc = crc32(prelude);
    for (int shift = 24; shift >= 0; shift -= 8) {
        prelude += static_cast<char>((crc >> shift) & 0xff);
    }
    Decoder decoder;
    Message message;
    decoder.append(prelude);
    auto decoded = decoder.next(message);
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().code, ErrorCode::UpstreamBadResponse);
    EXPECT_NE(decoded.error().message.find("16 MiB"), std::string::npos);
    EXPECT_EQ(decoder.buffered(), 0u);

    // The decoder stays failed.
    decoder.append(from_hex(kEmptyMessage));
    EXPECT_FALSE(decoder.next(message));
}

TEST(BedrockEventStream, LengthsThatDoNotFitAreErrors) {
    const auto prelude = [](std::uint32_t total, std::uint32_t headers) {
        std::string out;
        for (const std::uint32_t value : {total, headers}) {
            for (int shift = 24; shift >= 0; shift -= 8) {
                out += static_cast<char>((value >> shift) & 0xff);
            }
        }
        const std::uint32_t crc = crc32(out);
        for (int shift = 24; shift >= 0; shift -= 8) {
            out += static_cast<char>((crc >> shift) & 0xff);
        }
        return out;
    };
    EXPECT_FALSE(payloads(prelude(15, 0)));   // shorter than prelude + CRC
    EXPECT_FALSE(payloads(prelude(32, 17)));  // headers longer than the message allows
    EXPECT_FALSE(payloads(prelude(1U << 20, 200U << 10)));  // headers above 128 KiB
}

TEST(BedrockEventStream, MalformedHeadersAreErrors) {
    // A header whose string value runs past the headers section.
    std::string headers;
    headers += '\x01';
    headers += 'a';
    headers += '\x07';
    headers += '\x00';
    headers += '\x09';  // 9 bytes announced, none present
    const auto frame = [](std::string_view header_bytes) {
        std::string out;
        const auto put = [&out](std::uint32_t value) {
            for (int shift = 24; shift >= 0; shift -= 8) {
                out += static_cast<char>((value >> shift) & 0xff);
            }
        };
        put(static_cast<std::uint32_t>(16 + header_bytes.size()));
        put(static_cast<std::uint32_t>(header_bytes.size()));
        put(crc32(out));
        out += header_bytes;
        put(crc32(out));
        return out;
    };
    auto result = payloads(frame(headers));
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("runs past"), std::string::npos);

    // An unknown header type.
    result =
        payloads(frame(std::string("\x01"
                                   "a"
                                   "\x0a",
                                   3)));
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("unknown header type 10"), std::string::npos);

    // A name that runs past the end.
    result =
        payloads(frame(std::string("\x05"
                                   "ab",
                                   3)));
    ASSERT_FALSE(result);
}

TEST(BedrockEventStream, JsonBodyInsteadOfAStreamSaysSo) {
    auto result =
        payloads(R"({"message":"The security token included in the request is invalid."})");
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("JSON body"), std::string::npos);
}

}  // namespace
}  // namespace sb::providers::bedrock::eventstream
