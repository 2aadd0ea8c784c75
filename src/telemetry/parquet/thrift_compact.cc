#include "telemetry/parquet/thrift_compact.h"

#include <bit>

namespace sb::telemetry::parquet::detail {

void append_varint(std::string& out, std::uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<char>((value & 0x7F) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<char>(value));
}

void CompactWriter::begin_struct() {
    last_field_ids_.push_back(0);
}

void CompactWriter::end_struct() {
    out_.push_back('\0');  // stop field
    if (!last_field_ids_.empty()) {
        last_field_ids_.pop_back();
    }
}

void CompactWriter::field_header(std::int16_t id, CompactType type) {
    const auto type_bits = static_cast<std::uint8_t>(type);
    std::int16_t& last = last_field_ids_.back();
    const int delta = static_cast<int>(id) - static_cast<int>(last);
    if (delta > 0 && delta <= 15) {
        out_.push_back(static_cast<char>((delta << 4) | type_bits));
    } else {
        // Long form: the type alone, then the id as a zigzag var int (an i16 widened to i32).
        out_.push_back(static_cast<char>(type_bits));
        append_varint(out_, zigzag32(id));
    }
    last = id;
}

void CompactWriter::field_bool(std::int16_t id, bool value) {
    field_header(id, value ? CompactType::BooleanTrue : CompactType::BooleanFalse);
}

void CompactWriter::field_i8(std::int16_t id, std::int8_t value) {
    field_header(id, CompactType::I8);
    out_.push_back(static_cast<char>(value));
}

void CompactWriter::field_i16(std::int16_t id, std::int16_t value) {
    field_header(id, CompactType::I16);
    append_varint(out_, zigzag32(value));
}

void CompactWriter::field_i32(std::int16_t id, std::int32_t value) {
    field_header(id, CompactType::I32);
    append_varint(out_, zigzag32(value));
}

void CompactWriter::field_i64(std::int16_t id, std::int64_t value) {
    field_header(id, CompactType::I64);
    append_varint(out_, zigzag64(value));
}

void CompactWriter::field_double(std::int16_t id, double value) {
    field_header(id, CompactType::Double);
    element_double(value);
}

void CompactWriter::field_binary(std::int16_t id, std::string_view value) {
    field_header(id, CompactType::Binary);
    element_binary(value);
}

void CompactWriter::begin_struct_field(std::int16_t id) {
    field_header(id, CompactType::Struct);
    begin_struct();
}

void CompactWriter::begin_list_field(std::int16_t id, CompactType element_type, std::size_t size) {
    field_header(id, CompactType::List);
    const auto type_bits = static_cast<std::uint8_t>(element_type);
    if (size < 15) {
        out_.push_back(static_cast<char>((size << 4) | type_bits));
    } else {
        out_.push_back(static_cast<char>(0xF0 | type_bits));
        append_varint(out_, size);
    }
}

void CompactWriter::element_bool(bool value) {
    out_.push_back(value ? '\1' : '\0');
}

void CompactWriter::element_i32(std::int32_t value) {
    append_varint(out_, zigzag32(value));
}

void CompactWriter::element_i64(std::int64_t value) {
    append_varint(out_, zigzag64(value));
}

void CompactWriter::element_double(double value) {
    // Little-endian IEEE 754 bits (the compact protocol's de facto byte order).
    auto bits = std::bit_cast<std::uint64_t>(value);
    for (int i = 0; i < 8; ++i) {
        out_.push_back(static_cast<char>(bits & 0xFF));
        bits >>= 8;
    }
}

void CompactWriter::element_binary(std::string_view value) {
    append_varint(out_, value.size());
    out_.append(value);
}

}  // namespace sb::telemetry::parquet::detail
