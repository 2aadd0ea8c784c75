#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sb::telemetry::parquet {

// The column types the writer supports and how each is stored:
//   Boolean   BOOLEAN
//   Int32     INT32
//   Int64     INT64
//   Double    DOUBLE
//   String    BYTE_ARRAY, logical type STRING (converted type UTF8); values must be UTF-8
//   Timestamp INT64, logical type TIMESTAMP(isAdjustedToUTC=true, unit=MICROS)
//             (converted type TIMESTAMP_MICROS): microseconds since the Unix epoch, UTC
enum class ColumnType : std::uint8_t { Boolean, Int32, Int64, Double, String, Timestamp };

std::string_view column_type_name(ColumnType type);

// One flat (top-level, non-repeated) column. A nullable column is OPTIONAL in the Parquet
// schema, otherwise REQUIRED.
struct Column {
    std::string name;
    ColumnType type = ColumnType::Int64;
    bool nullable = false;

    friend bool operator==(const Column&, const Column&) = default;
};

// An ordered list of flat columns with unique, non-empty UTF-8 names. Immutable once created;
// copy it freely and share it between threads.
class Schema {
  public:
    // Fails (InvalidRequest) on no columns, an empty, duplicate or non-UTF-8 name.
    static Result<Schema> create(std::vector<Column> columns);

    const std::vector<Column>& columns() const { return columns_; }
    std::size_t size() const { return columns_.size(); }
    const Column& column(std::size_t index) const { return columns_[index]; }
    std::optional<std::size_t> index_of(std::string_view name) const;

    friend bool operator==(const Schema&, const Schema&) = default;

  private:
    explicit Schema(std::vector<Column> columns) : columns_(std::move(columns)) {}

    std::vector<Column> columns_;
};

// True if `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code points
// above U+10FFFF), as the STRING logical type requires.
bool is_valid_utf8(std::string_view bytes);

}  // namespace sb::telemetry::parquet
