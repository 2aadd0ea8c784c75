#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace sb::telemetry::parquet::detail {

// Bits needed for values up to `max_value` (0 for 0): the width of definition levels.
int bit_width(std::uint32_t max_value);

// Appends `values` in the RLE / bit-packing hybrid of Parquet's Encodings.md, without the 4-byte
// length prefix that data page v1 puts before levels. Runs of 8 or more equal values become RLE
// runs; everything else is bit-packed in groups of 8, LSB first, the last group padded with
// zeros (readers stop after the page's value count). Each value must fit in `width` bits
// (0..32).
void append_rle_bit_packed_hybrid(std::string& out, std::span<const std::uint32_t> values,
                                  int width);

// Appends values bit-packed LSB first at `width` bits each, zero-padded to a whole byte: the
// layout of a bit-packed run's body and of PLAIN-encoded BOOLEAN values (width 1).
void append_bit_packed(std::string& out, std::span<const std::uint32_t> values, int width);

}  // namespace sb::telemetry::parquet::detail
