#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sb::telemetry::parquet::detail {

// Type ids of the Thrift compact protocol (doc/specs/thrift-compact-protocol.md in Apache
// Thrift). Field headers use BooleanTrue/BooleanFalse to carry a bool's value; list headers use
// Bool (2) as the element type and then one byte per element.
enum class CompactType : std::uint8_t {
    BooleanTrue = 1,
    BooleanFalse = 2,
    Bool = 2,
    I8 = 3,
    I16 = 4,
    I32 = 5,
    I64 = 6,
    Double = 7,
    Binary = 8,
    List = 9,
    Set = 10,
    Map = 11,
    Struct = 12,
};

// Unsigned LEB128 ("var int").
void append_varint(std::string& out, std::uint64_t value);
// ZigZag folds signed into unsigned so small magnitudes stay short: 0, -1, 1, -2 -> 0, 1, 2, 3.
constexpr std::uint32_t zigzag32(std::int32_t value) {
    return (static_cast<std::uint32_t>(value) << 1) ^ static_cast<std::uint32_t>(value >> 31);
}
constexpr std::uint64_t zigzag64(std::int64_t value) {
    return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}

// Serialises Thrift structs with the compact protocol, the encoding of every Parquet header and
// of the footer. The caller drives it the way generated code would: begin_struct(), fields in
// any order (ascending ids give one-byte headers), end_struct(). A list field is its header
// followed by exactly `size` elements written with the element_* calls; a struct element is
// begin_struct() ... end_struct(). Single-threaded; one writer per serialised message.
class CompactWriter {
  public:
    void begin_struct();
    void end_struct();

    void field_bool(std::int16_t id, bool value);
    void field_i8(std::int16_t id, std::int8_t value);
    void field_i16(std::int16_t id, std::int16_t value);
    void field_i32(std::int16_t id, std::int32_t value);
    void field_i64(std::int16_t id, std::int64_t value);
    void field_double(std::int16_t id, double value);
    void field_binary(std::int16_t id, std::string_view value);
    // The header of a struct-valued field, then begin_struct(): close it with end_struct().
    void begin_struct_field(std::int16_t id);
    void begin_list_field(std::int16_t id, CompactType element_type, std::size_t size);

    void element_bool(bool value);
    void element_i32(std::int32_t value);
    void element_i64(std::int64_t value);
    void element_double(double value);
    void element_binary(std::string_view value);

    const std::string& bytes() const { return out_; }
    std::string release() { return std::move(out_); }

  private:
    void field_header(std::int16_t id, CompactType type);

    std::string out_;
    std::vector<std::int16_t> last_field_ids_;  // one per open struct; back() is the innermost
};

}  // namespace sb::telemetry::parquet::detail
