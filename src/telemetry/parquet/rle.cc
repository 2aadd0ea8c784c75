#include "telemetry/parquet/rle.h"

#include <algorithm>
#include <bit>

#include "telemetry/parquet/thrift_compact.h"

namespace sb::telemetry::parquet::detail {

namespace {

constexpr std::size_t kGroupSize = 8;  // bit-packed runs hold a multiple of 8 values
// Run lengths must stay within [1, 2^31 - 1] (Encodings.md, note 3).
constexpr std::size_t kMaxRunLength = 0x7FFFFFFF;
constexpr std::size_t kMaxBitPackedGroups = kMaxRunLength / kGroupSize;

void append_rle_run(std::string& out, std::uint32_t value, std::size_t count, int width) {
    append_varint(out, static_cast<std::uint64_t>(count) << 1);
    const int value_bytes = (width + 7) / 8;
    for (int i = 0; i < value_bytes; ++i) {
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
    }
}

// Writes `values` (any count) as bit-packed runs; a partial last group is padded with zeros.
void append_bit_packed_runs(std::string& out, std::span<const std::uint32_t> values, int width) {
    while (!values.empty()) {
        const std::size_t groups =
            std::min((values.size() + kGroupSize - 1) / kGroupSize, kMaxBitPackedGroups);
        const std::size_t count = std::min(values.size(), groups * kGroupSize);
        append_varint(out, (static_cast<std::uint64_t>(groups) << 1) | 1);
        const std::size_t start = out.size();
        append_bit_packed(out, values.first(count), width);
        // Padding values are zeros: the body is always groups * width bytes.
        out.resize(start + groups * static_cast<std::size_t>(width), '\0');
        values = values.subspan(count);
    }
}

}  // namespace

int bit_width(std::uint32_t max_value) {
    return static_cast<int>(std::bit_width(max_value));
}

void append_bit_packed(std::string& out, std::span<const std::uint32_t> values, int width) {
    if (width == 0) {
        return;
    }
    const std::uint64_t mask = (std::uint64_t{1} << width) - 1;
    std::uint64_t buffer = 0;  // pending bits, LSB first
    int buffered = 0;
    for (std::uint32_t v : values) {
        buffer |= (v & mask) << buffered;
        buffered += width;
        while (buffered >= 8) {
            out.push_back(static_cast<char>(buffer & 0xFF));
            buffer >>= 8;
            buffered -= 8;
        }
    }
    if (buffered > 0) {
        out.push_back(static_cast<char>(buffer & 0xFF));
    }
}

void append_rle_bit_packed_hybrid(std::string& out, std::span<const std::uint32_t> values,
                                  int width) {
    // Values not yet written that go into the next bit-packed run: [literal_begin, i).
    std::size_t literal_begin = 0;
    std::size_t i = 0;
    while (i < values.size()) {
        std::size_t run = 1;
        while (i + run < values.size() && values[i + run] == values[i]) {
            ++run;
        }
        if (run < kGroupSize) {
            i += run;
            continue;
        }
        // A bit-packed run must hold whole groups of 8 (only the stream's last may be padded),
        // so top the pending literals up to a multiple of 8 from the start of this run.
        const std::size_t pending = i - literal_begin;
        const std::size_t borrow = (kGroupSize - pending % kGroupSize) % kGroupSize;
        i += borrow;
        run -= borrow;
        append_bit_packed_runs(out, values.subspan(literal_begin, i - literal_begin), width);
        while (run > 0) {
            const std::size_t count = std::min(run, kMaxRunLength);
            append_rle_run(out, values[i], count, width);
            i += count;
            run -= count;
        }
        literal_begin = i;
    }
    append_bit_packed_runs(out, values.subspan(literal_begin), width);
}

}  // namespace sb::telemetry::parquet::detail
