#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"
#include "telemetry/parquet/schema.h"

namespace sb::telemetry::parquet {

// A null cell (only nullable columns accept it).
struct Null {
    friend bool operator==(Null, Null) = default;
};

// A TIMESTAMP cell: microseconds since 1970-01-01T00:00:00Z (negative before it).
struct Timestamp {
    std::int64_t micros = 0;

    friend bool operator==(Timestamp, Timestamp) = default;
};

// One cell for ColumnBuilder::append / RowGroupBuilder::append_row. Its alternative must match
// the column type exactly (Int32 for INT32, Int64 for INT64, ...): an int literal is an
// std::int32_t, so write std::int64_t{5} for an INT64 column. A string_view is copied on append.
using Value =
    std::variant<Null, bool, std::int32_t, std::int64_t, double, std::string_view, Timestamp>;

// The buffered cells of one column: values of present cells in order, plus one "defined" flag
// per row for nullable columns. Filled through a RowGroupBuilder; each append checks the value
// against the column's type and nullability and fails (InvalidRequest) without appending.
// Not thread-safe.
class ColumnBuilder {
  public:
    explicit ColumnBuilder(Column column);

    Status append(const Value& value);
    Status append_null();
    Status append_bool(bool value);
    Status append_int32(std::int32_t value);
    Status append_int64(std::int64_t value);
    Status append_double(double value);
    // Fails on invalid UTF-8 (the STRING logical type promises UTF-8 to every reader).
    Status append_string(std::string_view value);
    Status append_timestamp(Timestamp value);
    // Whether append(value) would succeed, without appending.
    Status check(const Value& value) const;

    const Column& column() const { return column_; }
    // Rows appended (nulls included) and how many of them are null.
    std::size_t size() const { return rows_; }
    std::size_t null_count() const { return rows_ - present_; }
    // PLAIN-encoded size of the buffered cells, before compression.
    std::size_t estimated_bytes() const { return estimated_bytes_; }
    void clear();

    // Read access for the encoder. `defined()` has one entry (0/1) per row for nullable columns
    // and is empty otherwise; the value arrays hold present cells only, in row order.
    const std::vector<std::uint8_t>& defined() const { return defined_; }
    const std::vector<std::uint8_t>& bools() const { return bools_; }
    const std::vector<std::int32_t>& int32s() const { return int32s_; }
    // INT64 and TIMESTAMP cells.
    const std::vector<std::int64_t>& int64s() const { return int64s_; }
    const std::vector<double>& doubles() const { return doubles_; }
    std::size_t string_count() const { return string_ends_.size(); }
    std::string_view string_at(std::size_t index) const;

  private:
    friend class RowGroupBuilder;

    Status type_error(std::string_view got) const;
    void mark_present(std::size_t value_bytes);
    // check() without building an error: the hot path (a Status is a large object to return).
    // Inline, with put(), below.
    bool accepts(const Value& value) const;
    // Appends a cell check() accepted, without checking it again.
    void put(const Value& value);

    Column column_;
    std::size_t rows_ = 0;
    std::size_t present_ = 0;
    std::size_t estimated_bytes_ = 0;
    std::vector<std::uint8_t> defined_;
    std::vector<std::uint8_t> bools_;
    std::vector<std::int32_t> int32s_;
    std::vector<std::int64_t> int64s_;
    std::vector<double> doubles_;
    std::string string_bytes_;
    std::vector<std::size_t> string_ends_;  // end offset of each string in string_bytes_
};

namespace detail {
// The column type each alternative of Value fills (Null: none, never looked up).
inline constexpr ColumnType kValueColumnType[] = {
    ColumnType::Int64,  ColumnType::Boolean, ColumnType::Int32,     ColumnType::Int64,
    ColumnType::Double, ColumnType::String,  ColumnType::Timestamp,
};
static_assert(std::size(kValueColumnType) == std::variant_size_v<Value>);
}  // namespace detail

inline bool ColumnBuilder::accepts(const Value& value) const {
    const std::size_t alternative = value.index();
    if (alternative == 0) {
        return column_.nullable;
    }
    if (detail::kValueColumnType[alternative] != column_.type) {
        return false;
    }
    const auto* s = std::get_if<std::string_view>(&value);
    return s == nullptr || is_valid_utf8(*s);
}

inline void ColumnBuilder::mark_present(std::size_t value_bytes) {
    if (column_.nullable) {
        defined_.push_back(1);
    }
    ++rows_;
    ++present_;
    estimated_bytes_ += value_bytes;
}

inline void ColumnBuilder::put(const Value& value) {
    switch (value.index()) {
        case 0:
            defined_.push_back(0);
            ++rows_;
            return;
        case 1:
            bools_.push_back(*std::get_if<bool>(&value) ? 1 : 0);
            mark_present(1);  // an eighth of a byte, rounded up: only an estimate
            return;
        case 2:
            int32s_.push_back(*std::get_if<std::int32_t>(&value));
            mark_present(sizeof(std::int32_t));
            return;
        case 3:
            int64s_.push_back(*std::get_if<std::int64_t>(&value));
            mark_present(sizeof(std::int64_t));
            return;
        case 4:
            doubles_.push_back(*std::get_if<double>(&value));
            mark_present(sizeof(double));
            return;
        case 5: {
            const std::string_view v = *std::get_if<std::string_view>(&value);
            string_bytes_.append(v);
            string_ends_.push_back(string_bytes_.size());
            mark_present(sizeof(std::uint32_t) + v.size());
            return;
        }
        default:
            int64s_.push_back(std::get_if<Timestamp>(&value)->micros);
            mark_present(sizeof(std::int64_t));
            return;
    }
}

// The rows of one row group, column by column. Fill it cell by cell through column(i) (every
// column must end with the same number of rows before it is written) or a row at a time with
// append_row(), then hand it to Writer. Owned by one thread at a time.
class RowGroupBuilder {
  public:
    explicit RowGroupBuilder(const Schema& schema);

    std::size_t column_count() const { return columns_.size(); }
    // `index` < column_count().
    ColumnBuilder& column(std::size_t index) { return columns_[index]; }
    const ColumnBuilder& column(std::size_t index) const { return columns_[index]; }

    // Appends one cell per column, in schema order. All cells are checked first, so a failed
    // call appends nothing.
    Status append_row(std::span<const Value> row);
    Status append_row(std::initializer_list<Value> row) {
        return append_row(std::span<const Value>(row.begin(), row.size()));
    }

    // Rows of the first column (all columns agree when the builder is consistent()).
    std::size_t num_rows() const;
    // True when every column has the same number of rows.
    bool consistent() const;
    std::size_t estimated_bytes() const;
    void clear();

  private:
    std::vector<ColumnBuilder> columns_;
};

}  // namespace sb::telemetry::parquet
