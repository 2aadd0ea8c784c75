#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "telemetry/parquet/rle.h"
#include "telemetry/parquet/thrift_compact.h"

namespace sb::telemetry::parquet::detail {
namespace {

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) {
        out.push_back(static_cast<char>(v));
    }
    return out;
}

std::string varint(std::uint64_t value) {
    std::string out;
    append_varint(out, value);
    return out;
}

// --- Thrift compact protocol (apache/thrift doc/specs/thrift-compact-protocol.md) ---

TEST(ThriftCompact, EncodesVarIntsAsUnsignedLeb128) {
    EXPECT_EQ(varint(0), bytes({0x00}));
    EXPECT_EQ(varint(1), bytes({0x01}));
    EXPECT_EQ(varint(127), bytes({0x7F}));
    EXPECT_EQ(varint(128), bytes({0x80, 0x01}));
    EXPECT_EQ(varint(300), bytes({0xAC, 0x02}));
    EXPECT_EQ(varint(50399), bytes({0xDF, 0x89, 0x03}));  // the spec's example
    EXPECT_EQ(varint(std::numeric_limits<std::uint64_t>::max()),
              bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
}

TEST(ThriftCompact, ZigZagFoldsSignedIntoUnsigned) {
    EXPECT_EQ(zigzag32(0), 0u);
    EXPECT_EQ(zigzag32(-1), 1u);
    EXPECT_EQ(zigzag32(1), 2u);
    EXPECT_EQ(zigzag32(-2), 3u);
    EXPECT_EQ(zigzag32(2), 4u);
    EXPECT_EQ(zigzag32(std::numeric_limits<std::int32_t>::max()), 0xFFFFFFFEu);
    EXPECT_EQ(zigzag32(std::numeric_limits<std::int32_t>::min()), 0xFFFFFFFFu);
    EXPECT_EQ(zigzag64(-1), 1u);
    EXPECT_EQ(zigzag64(std::numeric_limits<std::int64_t>::max()), 0xFFFFFFFFFFFFFFFEu);
    EXPECT_EQ(zigzag64(std::numeric_limits<std::int64_t>::min()), 0xFFFFFFFFFFFFFFFFu);
}

TEST(ThriftCompact, ShortFieldHeadersCarryTheIdDeltaAndType) {
    CompactWriter w;
    w.begin_struct();
    w.field_i32(1, 5);    // delta 1, I32 (5): 0x15, zigzag(5) = 10
    w.field_i64(3, -1);   // delta 2, I64 (6): 0x26, zigzag(-1) = 1
    w.field_i16(4, -64);  // delta 1, I16 (4): 0x14, zigzag(-64) = 127
    w.field_i8(5, -2);    // delta 1, I8 (3): 0x13, the byte itself
    w.end_struct();
    EXPECT_EQ(w.bytes(), bytes({0x15, 0x0A, 0x26, 0x01, 0x14, 0x7F, 0x13, 0xFE, 0x00}));
}

TEST(ThriftCompact, LongFieldHeaderForDeltaAbove15OrDecreasingIds) {
    CompactWriter w;
    w.begin_struct();
    w.field_binary(20, "hi");  // delta 20: type byte 0x08, then zigzag(20) = 40 as var int
    w.field_i32(2, 1);         // id goes down: long form again
    w.field_i32(17, 0);        // delta 15: still the short form
    w.end_struct();
    EXPECT_EQ(w.bytes(), bytes({0x08, 0x28, 0x02, 'h', 'i', 0x05, 0x04, 0x02, 0xF5, 0x00, 0x00}));
}

TEST(ThriftCompact, BoolFieldsKeepTheValueInTheHeader) {
    CompactWriter w;
    w.begin_struct();
    w.field_bool(1, true);   // BOOLEAN_TRUE = 1
    w.field_bool(2, false);  // BOOLEAN_FALSE = 2
    w.end_struct();
    EXPECT_EQ(w.bytes(), bytes({0x11, 0x12, 0x00}));  // deltas 1 and 1
}

TEST(ThriftCompact, DoublesAreLittleEndianIeee754) {
    CompactWriter w;
    w.begin_struct();
    w.field_double(1, 1.0);
    w.field_double(2, -2.5);
    w.end_struct();
    EXPECT_EQ(w.bytes(), bytes({0x17, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F,  //
                                0x17, 0, 0, 0, 0, 0, 0, 0x04, 0xC0, 0x00}));
}

TEST(ThriftCompact, NestedStructsRestartFieldIdsAndEndWithStop) {
    CompactWriter w;
    w.begin_struct();
    w.begin_struct_field(5);  // 0x5C
    w.field_i32(1, 7);        // ids restart at 0 inside: 0x15 0x0E
    w.begin_struct_field(2);  // empty nested struct, delta 1 from the inner id: 0x1C 0x00
    w.end_struct();
    w.end_struct();
    w.field_i32(6, 1);  // outer delta from 5, not from the inner ids: 0x15
    w.end_struct();
    EXPECT_EQ(w.bytes(), bytes({0x5C, 0x15, 0x0E, 0x1C, 0x00, 0x00, 0x15, 0x02, 0x00}));
}

TEST(ThriftCompact, ListHeadersShortUpTo14ElementsLongFrom15) {
    CompactWriter w;
    w.begin_struct();
    w.begin_list_field(1, CompactType::I32, 3);  // 0x19, size 3 + I32: 0x35
    w.element_i32(0);
    w.element_i32(-1);
    w.element_i32(3);
    w.begin_list_field(2, CompactType::Binary, 15);  // 0x19, 0xF8, size 15 as var int
    for (int k = 0; k < 15; ++k) {
        w.element_binary("");
    }
    w.begin_list_field(3, CompactType::Bool, 2);  // BOOL elements: type 2, a byte each
    w.element_bool(true);
    w.element_bool(false);
    w.begin_list_field(4, CompactType::I64, 0);
    w.end_struct();
    std::string want = bytes({0x19, 0x35, 0x00, 0x01, 0x06, 0x19, 0xF8, 0x0F});
    want += std::string(15, '\0');
    want += bytes({0x19, 0x22, 0x01, 0x00, 0x19, 0x06, 0x00});
    EXPECT_EQ(w.bytes(), want);
}

TEST(ThriftCompact, ListsOfStructs) {
    CompactWriter w;
    w.begin_struct();
    w.begin_list_field(1, CompactType::Struct, 2);  // 0x19 0x2C
    for (int k = 0; k < 2; ++k) {
        w.begin_struct();
        w.field_binary(1, "k");
        w.end_struct();
    }
    w.field_i32(2, 1);
    w.end_struct();
    EXPECT_EQ(w.bytes(),
              bytes({0x19, 0x2C, 0x18, 0x01, 'k', 0x00, 0x18, 0x01, 'k', 0x00, 0x15, 0x02, 0x00}));
}

// --- RLE / bit-packing hybrid (apache/parquet-format Encodings.md) ---

// Decodes the hybrid (without length prefix) back into `count` values.
std::vector<std::uint32_t> decode_hybrid(const std::string& data, int width, std::size_t count) {
    std::vector<std::uint32_t> out;
    std::size_t pos = 0;
    auto next_byte = [&]() -> std::uint32_t {
        return pos < data.size() ? static_cast<unsigned char>(data[pos++]) : 0;
    };
    while (out.size() < count && pos < data.size()) {
        std::uint64_t header = 0;
        for (int shift = 0;; shift += 7) {
            const std::uint32_t b = next_byte();
            header |= static_cast<std::uint64_t>(b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                break;
            }
        }
        if ((header & 1) != 0) {
            const std::size_t n = (header >> 1) * 8;
            std::uint64_t buffer = 0;
            int buffered = 0;
            for (std::size_t k = 0; k < n; ++k) {
                while (buffered < width) {
                    buffer |= static_cast<std::uint64_t>(next_byte()) << buffered;
                    buffered += 8;
                }
                const auto v =
                    static_cast<std::uint32_t>(buffer & ((std::uint64_t{1} << width) - 1));
                buffer >>= width;
                buffered -= width;
                if (out.size() < count) {
                    out.push_back(v);
                }
            }
        } else {
            std::uint32_t v = 0;
            for (int k = 0; k < (width + 7) / 8; ++k) {
                v |= next_byte() << (8 * k);
            }
            for (std::uint64_t k = 0; k < (header >> 1); ++k) {
                out.push_back(v);
            }
        }
    }
    return out;
}

std::string hybrid(const std::vector<std::uint32_t>& values, int width) {
    std::string out;
    append_rle_bit_packed_hybrid(out, values, width);
    return out;
}

TEST(RleHybrid, BitWidthOfMaxLevel) {
    EXPECT_EQ(bit_width(0), 0);
    EXPECT_EQ(bit_width(1), 1);
    EXPECT_EQ(bit_width(2), 2);
    EXPECT_EQ(bit_width(3), 2);
    EXPECT_EQ(bit_width(4), 3);
    EXPECT_EQ(bit_width(255), 8);
}

TEST(RleHybrid, BitPacksLsbFirstAsInTheSpecExample) {
    // Encodings.md: 0..7 at bit width 3 pack to 10001000 11000110 11111010.
    std::string out;
    append_bit_packed(out, std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6, 7}, 3);
    EXPECT_EQ(out, bytes({0x88, 0xC6, 0xFA}));
    EXPECT_EQ(hybrid({0, 1, 2, 3, 4, 5, 6, 7}, 3), bytes({0x03, 0x88, 0xC6, 0xFA}));
}

TEST(RleHybrid, LongRunBecomesOneRleRun) {
    // Header (100 << 1) = 200 as var int, then the value in ceil(1 / 8) = 1 byte.
    EXPECT_EQ(hybrid(std::vector<std::uint32_t>(100, 1), 1), bytes({0xC8, 0x01, 0x01}));
    // Bit width 9: the repeated value takes two little-endian bytes.
    EXPECT_EQ(hybrid(std::vector<std::uint32_t>(8, 300), 9), bytes({0x10, 0x2C, 0x01}));
}

TEST(RleHybrid, LiteralsBorrowFromARunToFillAGroupOfEight) {
    // 0 1 0 then ten 1s: the first five 1s complete a bit-packed group (01011111 read LSB
    // first = 0xFA), the remaining five 1s are an RLE run (header 5 << 1 = 0x0A).
    EXPECT_EQ(hybrid({0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 1), bytes({0x03, 0xFA, 0x0A, 0x01}));
}

TEST(RleHybrid, PadsTheLastBitPackedGroupWithZeros) {
    EXPECT_EQ(hybrid({1, 0, 1}, 1), bytes({0x03, 0x05}));
    // Nine literals need two groups: header (2 << 1) | 1 = 5, two bytes at width 1.
    EXPECT_EQ(hybrid({1, 0, 1, 0, 1, 0, 1, 0, 1}, 1), bytes({0x05, 0x55, 0x01}));
    EXPECT_EQ(hybrid({}, 1), "");
}

TEST(RleHybrid, RoundTripsMixedRunsAtEveryWidth) {
    std::uint32_t state = 12345;
    auto random = [&state]() {
        state = state * 1103515245u + 12345u;
        return state >> 16;
    };
    for (int width = 1; width <= 20; ++width) {
        std::vector<std::uint32_t> values;
        while (values.size() < 2000) {
            const std::uint32_t v = random() & ((1u << width) - 1);
            const std::uint32_t repeat = random() % 4 == 0 ? random() % 40 : 1;
            values.insert(values.end(), repeat, v);
        }
        const std::string encoded = hybrid(values, width);
        EXPECT_EQ(decode_hybrid(encoded, width, values.size()), values) << "width " << width;
    }
}

}  // namespace
}  // namespace sb::telemetry::parquet::detail
