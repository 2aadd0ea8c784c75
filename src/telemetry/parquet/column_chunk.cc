#include "telemetry/parquet/column_chunk.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "telemetry/parquet/rle.h"

namespace sb::telemetry::parquet::detail {

namespace {

// Page sizes and value counts are i32 in the page header.
constexpr std::size_t kMaxPageBytes = std::numeric_limits<std::int32_t>::max();
constexpr std::size_t kMaxPageValues = std::numeric_limits<std::int32_t>::max();

template <typename T>
void append_little_endian(std::string& out, T value) {
    using Unsigned = std::make_unsigned_t<T>;
    auto bits = static_cast<Unsigned>(value);
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        out.push_back(static_cast<char>(bits & 0xFF));
        bits = static_cast<Unsigned>(bits >> 8);
    }
}

void append_double(std::string& out, double value) {
    append_little_endian(out, std::bit_cast<std::int64_t>(value));
}

// Unsigned bytewise comparison (memcmp compares as unsigned char), shorter prefix first.
bool bytes_less(std::string_view a, std::string_view b) {
    const int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
    return c != 0 ? c < 0 : a.size() < b.size();
}

// PLAIN encoding of fixed-width values: their little-endian bytes, copied whole on a
// little-endian host.
template <typename T>
void append_fixed(std::string& out, const std::vector<T>& values, std::size_t begin,
                  std::size_t end) {
    if constexpr (std::endian::native == std::endian::little) {
        out.append(reinterpret_cast<const char*>(values.data() + begin), (end - begin) * sizeof(T));
    } else {
        for (std::size_t i = begin; i < end; ++i) {
            if constexpr (std::is_floating_point_v<T>) {
                append_double(out, values[i]);
            } else {
                append_little_endian(out, values[i]);
            }
        }
    }
}

// Size in bits of the PLAIN encoding of present value `index`, for cutting pages.
std::size_t value_bits(const ColumnBuilder& column, std::size_t index) {
    switch (column.column().type) {
        case ColumnType::Boolean:
            return 1;
        case ColumnType::Int32:
            return 32;
        case ColumnType::Int64:
        case ColumnType::Timestamp:
        case ColumnType::Double:
            return 64;
        case ColumnType::String:
            return 8 * (4 + column.string_at(index).size());
    }
    return 64;
}

// PLAIN encoding of present values [begin, end).
void append_plain(std::string& out, const ColumnBuilder& column, std::size_t begin,
                  std::size_t end) {
    switch (column.column().type) {
        case ColumnType::Boolean: {
            // Bit-packed, LSB first, like the hybrid's bit-packed runs (Encodings.md, PLAIN).
            std::vector<std::uint32_t> bits(column.bools().begin() + begin,
                                            column.bools().begin() + end);
            append_bit_packed(out, bits, 1);
            break;
        }
        case ColumnType::Int32:
            append_fixed(out, column.int32s(), begin, end);
            break;
        case ColumnType::Int64:
        case ColumnType::Timestamp:
            append_fixed(out, column.int64s(), begin, end);
            break;
        case ColumnType::Double:
            append_fixed(out, column.doubles(), begin, end);
            break;
        case ColumnType::String:
            for (std::size_t i = begin; i < end; ++i) {
                const std::string_view s = column.string_at(i);
                append_little_endian(out, static_cast<std::uint32_t>(s.size()));
                out.append(s);
            }
            break;
    }
}

template <typename T>
void set_min_max(Statistics& stats, const std::vector<T>& values) {
    if (values.empty()) {
        return;
    }
    const auto [min, max] = std::minmax_element(values.begin(), values.end());
    stats.min_value.emplace();
    stats.max_value.emplace();
    append_little_endian(*stats.min_value, *min);
    append_little_endian(*stats.max_value, *max);
}

Statistics compute_statistics(const ColumnBuilder& column, std::size_t max_bytes) {
    Statistics stats;
    stats.null_count = static_cast<std::int64_t>(column.null_count());
    switch (column.column().type) {
        case ColumnType::Boolean: {
            const auto& values = column.bools();
            if (!values.empty()) {
                const bool any_false = std::find(values.begin(), values.end(), 0) != values.end();
                const bool any_true = std::find(values.begin(), values.end(), 1) != values.end();
                stats.min_value = std::string(1, any_false ? '\0' : '\1');
                stats.max_value = std::string(1, any_true ? '\1' : '\0');
            }
            break;
        }
        case ColumnType::Int32:
            set_min_max(stats, column.int32s());
            break;
        case ColumnType::Int64:
        case ColumnType::Timestamp:
            set_min_max(stats, column.int64s());
            break;
        case ColumnType::Double: {
            std::int64_t nans = 0;
            bool any = false;
            double min = 0;
            double max = 0;
            for (double v : column.doubles()) {
                if (std::isnan(v)) {
                    ++nans;
                    continue;
                }
                if (!any || v < min) {
                    min = v;
                }
                if (!any || v > max) {
                    max = v;
                }
                any = true;
            }
            stats.nan_count = nans;
            if (any) {
                // TYPE_ORDER for floating point (parquet.thrift, ColumnOrder): a zero min is
                // written as -0.0 and a zero max as +0.0, since either zero may be present.
                stats.min_value.emplace();
                stats.max_value.emplace();
                append_double(*stats.min_value, min == 0 ? -0.0 : min);
                append_double(*stats.max_value, max == 0 ? 0.0 : max);
            }
            break;
        }
        case ColumnType::String: {
            const std::size_t n = column.string_count();
            if (n == 0) {
                break;
            }
            std::string_view min = column.string_at(0);
            std::string_view max = min;
            for (std::size_t i = 1; i < n; ++i) {
                const std::string_view s = column.string_at(i);
                if (bytes_less(s, min)) {
                    min = s;
                }
                if (bytes_less(max, s)) {
                    max = s;
                }
            }
            // Long values would bloat every footer; leave the bounds out rather than truncate.
            if (min.size() <= max_bytes && max.size() <= max_bytes) {
                stats.min_value = std::string(min);
                stats.max_value = std::string(max);
            }
            break;
        }
    }
    return stats;
}

}  // namespace

PhysicalType physical_type(ColumnType type) {
    switch (type) {
        case ColumnType::Boolean:
            return PhysicalType::Boolean;
        case ColumnType::Int32:
            return PhysicalType::Int32;
        case ColumnType::Int64:
        case ColumnType::Timestamp:
            return PhysicalType::Int64;
        case ColumnType::Double:
            return PhysicalType::Double;
        case ColumnType::String:
            return PhysicalType::ByteArray;
    }
    return PhysicalType::Int64;
}

Result<EncodedChunk> encode_column_chunk(const ColumnBuilder& column, const ChunkOptions& options,
                                         PageCompressor& compressor) {
    const Column& schema_column = column.column();
    const bool nullable = schema_column.nullable;
    const std::size_t rows = column.size();
    const std::size_t page_target_bits = std::max<std::size_t>(options.page_target_bytes, 1) * 8;

    EncodedChunk chunk;
    ColumnMetaData& meta = chunk.meta;
    meta.type = physical_type(schema_column.type);
    meta.encodings = nullable ? std::vector<Encoding>{Encoding::Plain, Encoding::Rle}
                              : std::vector<Encoding>{Encoding::Plain};
    meta.path_in_schema = {schema_column.name};
    meta.codec = compressor.codec();
    meta.num_values = static_cast<std::int64_t>(rows);

    std::string body;
    std::string levels;
    std::string compressed;
    std::vector<std::uint32_t> definition_levels;
    std::size_t row = 0;
    std::size_t value = 0;  // index of the next present value
    while (row < rows) {
        const std::size_t first_row = row;
        const std::size_t first_value = value;
        std::size_t bits = 0;
        while (row < rows && bits < page_target_bits && row - first_row < kMaxPageValues) {
            const bool present = !nullable || column.defined()[row] != 0;
            if (present) {
                bits += value_bits(column, value);
                ++value;
            }
            bits += nullable ? 1 : 0;
            ++row;
        }

        body.clear();
        if (nullable) {
            // Data page v1: definition levels first, as RLE/bit-packed hybrid with a 4-byte
            // little-endian length; max definition level 1, so bit width 1.
            definition_levels.assign(column.defined().begin() + first_row,
                                     column.defined().begin() + row);
            levels.clear();
            append_rle_bit_packed_hybrid(levels, definition_levels, 1);
            append_little_endian(body, static_cast<std::uint32_t>(levels.size()));
            body += levels;
        }
        append_plain(body, column, first_value, value);
        if (body.size() > kMaxPageBytes) {
            return fail(ErrorCode::InvalidRequest,
                        "parquet column '" + schema_column.name + "': a page exceeds 2 GiB");
        }
        if (auto ok = compressor.compress(body, compressed); !ok) {
            return fail(std::move(ok).error());
        }
        if (compressed.size() > kMaxPageBytes) {
            return fail(ErrorCode::InvalidRequest, "parquet column '" + schema_column.name +
                                                       "': a compressed page exceeds 2 GiB");
        }

        PageHeader header;
        header.type = PageType::DataPage;
        header.uncompressed_page_size = static_cast<std::int32_t>(body.size());
        header.compressed_page_size = static_cast<std::int32_t>(compressed.size());
        header.data_page_header.num_values = static_cast<std::int32_t>(row - first_row);
        const std::string header_bytes = serialize(header);

        chunk.bytes += header_bytes;
        chunk.bytes += compressed;
        meta.total_uncompressed_size +=
            static_cast<std::int64_t>(header_bytes.size() + body.size());
        meta.total_compressed_size +=
            static_cast<std::int64_t>(header_bytes.size() + compressed.size());
    }
    meta.statistics = compute_statistics(column, options.statistics_max_bytes);
    return chunk;
}

}  // namespace sb::telemetry::parquet::detail
