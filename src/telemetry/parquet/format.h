#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::telemetry::parquet::detail {

// The subset of parquet.thrift (apache/parquet-format) this writer emits, as plain structs, and
// their compact-protocol serialisation. Field ids in format.cc are the ones in parquet.thrift.

enum class PhysicalType : std::int32_t {
    Boolean = 0,
    Int32 = 1,
    Int64 = 2,
    Double = 5,
    ByteArray = 6,
};

enum class ConvertedType : std::int32_t {
    Utf8 = 0,
    TimestampMicros = 10,
};

enum class Repetition : std::int32_t {
    Required = 0,
    Optional = 1,
};

enum class Encoding : std::int32_t {
    Plain = 0,
    Rle = 3,
};

enum class CompressionCodec : std::int32_t {
    Uncompressed = 0,
    Zstd = 6,
};

enum class PageType : std::int32_t {
    DataPage = 0,
};

// LogicalType is a Thrift union; these are the members we write.
enum class LogicalType : std::uint8_t {
    None,
    String,             // 1: StringType
    TimestampMicrosUtc  // 8: TimestampType{isAdjustedToUTC=true, unit=MICROS}
};

struct Statistics {
    std::optional<std::string> max_value;    // 5, PLAIN bytes without a length prefix
    std::optional<std::string> min_value;    // 6
    std::optional<std::int64_t> null_count;  // 3
    std::optional<std::int64_t> nan_count;   // 9, floating point columns only
    // 7 / 8: written as true alongside max_value / min_value (we never truncate).
};

struct SchemaElement {
    std::optional<PhysicalType> type;              // 1
    std::optional<Repetition> repetition_type;     // 3
    std::string name;                              // 4
    std::optional<std::int32_t> num_children;      // 5
    std::optional<ConvertedType> converted_type;   // 6
    LogicalType logical_type = LogicalType::None;  // 10
};

struct DataPageHeader {
    std::int32_t num_values = 0;  // nulls included
    Encoding encoding = Encoding::Plain;
    Encoding definition_level_encoding = Encoding::Rle;
    Encoding repetition_level_encoding = Encoding::Rle;
};

struct PageHeader {
    PageType type = PageType::DataPage;
    std::int32_t uncompressed_page_size = 0;
    std::int32_t compressed_page_size = 0;
    DataPageHeader data_page_header;
};

struct ColumnMetaData {
    PhysicalType type = PhysicalType::Int64;
    std::vector<Encoding> encodings;
    std::vector<std::string> path_in_schema;
    CompressionCodec codec = CompressionCodec::Uncompressed;
    std::int64_t num_values = 0;
    std::int64_t total_uncompressed_size = 0;  // page headers included
    std::int64_t total_compressed_size = 0;    // page headers included
    std::int64_t data_page_offset = 0;
    std::optional<Statistics> statistics;
};

struct ColumnChunk {
    // 2: deprecated; 0 because no ColumnMetaData is written outside the footer.
    std::int64_t file_offset = 0;
    ColumnMetaData meta_data;
};

struct RowGroup {
    std::vector<ColumnChunk> columns;
    std::int64_t total_byte_size = 0;  // uncompressed
    std::int64_t num_rows = 0;
    std::int64_t file_offset = 0;  // first page of the row group
    std::int64_t total_compressed_size = 0;
    std::optional<std::int16_t> ordinal;
};

struct KeyValue {
    std::string key;
    std::string value;
};

struct FileMetaData {
    std::int32_t version = 1;
    std::vector<SchemaElement> schema;  // root group first, then the leaf columns
    std::int64_t num_rows = 0;
    std::vector<RowGroup> row_groups;
    std::vector<KeyValue> key_value_metadata;
    std::string created_by;
    // 7: one ColumnOrder per leaf column, always TYPE_ORDER (TypeDefinedOrder).
    std::size_t type_defined_column_orders = 0;
};

std::string serialize(const PageHeader& header);
std::string serialize(const FileMetaData& metadata);

}  // namespace sb::telemetry::parquet::detail
