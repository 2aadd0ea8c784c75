#pragma once

#include <cstddef>
#include <string>

#include "core/result.h"
#include "telemetry/parquet/compression.h"
#include "telemetry/parquet/format.h"
#include "telemetry/parquet/row_group_builder.h"

namespace sb::telemetry::parquet::detail {

struct ChunkOptions {
    std::size_t page_target_bytes = 1 << 20;
    std::size_t statistics_max_bytes = 4096;
};

// One column chunk, ready to append to the file: its pages (v1 data page headers and bodies) and
// its metadata, whose data_page_offset is 0 until the writer knows where the bytes land.
struct EncodedChunk {
    std::string bytes;
    ColumnMetaData meta;
};

// Encodes the cells of one column as PLAIN data pages of about page_target_bytes each (cut at
// row boundaries), nullable columns with RLE/bit-packed definition levels (bit width 1) in front
// of the values, each page body compressed by `compressor`. Statistics follow each type's
// ColumnOrder (TYPE_ORDER): signed for integers and timestamps, false < true, unsigned bytewise
// for strings, and for doubles NaN left out (and counted), a zero min as -0.0 and a zero max as
// +0.0.
Result<EncodedChunk> encode_column_chunk(const ColumnBuilder& column, const ChunkOptions& options,
                                         PageCompressor& compressor);

PhysicalType physical_type(ColumnType type);

}  // namespace sb::telemetry::parquet::detail
