#include "telemetry/parquet/row_group_builder.h"

#include <algorithm>

namespace sb::telemetry::parquet {

namespace {

std::string_view value_type_name(const Value& value) {
    struct Visitor {
        std::string_view operator()(Null) const { return "null"; }
        std::string_view operator()(bool) const { return "BOOLEAN"; }
        std::string_view operator()(std::int32_t) const { return "INT32"; }
        std::string_view operator()(std::int64_t) const { return "INT64"; }
        std::string_view operator()(double) const { return "DOUBLE"; }
        std::string_view operator()(std::string_view) const { return "STRING"; }
        std::string_view operator()(Timestamp) const { return "TIMESTAMP"; }
    };
    return std::visit(Visitor{}, value);
}

}  // namespace

ColumnBuilder::ColumnBuilder(Column column) : column_(std::move(column)) {}

Status ColumnBuilder::type_error(std::string_view got) const {
    return fail(ErrorCode::InvalidRequest, "parquet column '" + column_.name + "' is " +
                                               std::string(column_type_name(column_.type)) +
                                               ", not " + std::string(got));
}

Status ColumnBuilder::check(const Value& value) const {
    if (std::holds_alternative<Null>(value)) {
        if (!column_.nullable) {
            return fail(ErrorCode::InvalidRequest,
                        "parquet column '" + column_.name + "' is not nullable");
        }
        return {};
    }
    if (detail::kValueColumnType[value.index()] != column_.type) {
        return type_error(value_type_name(value));
    }
    if (const auto* s = std::get_if<std::string_view>(&value); s && !is_valid_utf8(*s)) {
        return fail(ErrorCode::InvalidRequest,
                    "parquet column '" + column_.name + "': string is not valid UTF-8");
    }
    return {};
}

Status ColumnBuilder::append(const Value& value) {
    if (!accepts(value)) {
        return check(value);
    }
    put(value);
    return {};
}

Status ColumnBuilder::append_null() {
    return append(Null{});
}

Status ColumnBuilder::append_bool(bool value) {
    return append(value);
}

Status ColumnBuilder::append_int32(std::int32_t value) {
    return append(value);
}

Status ColumnBuilder::append_int64(std::int64_t value) {
    return append(value);
}

Status ColumnBuilder::append_double(double value) {
    return append(value);
}

Status ColumnBuilder::append_string(std::string_view value) {
    return append(value);
}

Status ColumnBuilder::append_timestamp(Timestamp value) {
    return append(value);
}

std::string_view ColumnBuilder::string_at(std::size_t index) const {
    const std::size_t begin = index == 0 ? 0 : string_ends_[index - 1];
    return std::string_view(string_bytes_).substr(begin, string_ends_[index] - begin);
}

void ColumnBuilder::clear() {
    rows_ = 0;
    present_ = 0;
    estimated_bytes_ = 0;
    defined_.clear();
    bools_.clear();
    int32s_.clear();
    int64s_.clear();
    doubles_.clear();
    string_bytes_.clear();
    string_ends_.clear();
}

RowGroupBuilder::RowGroupBuilder(const Schema& schema) {
    columns_.reserve(schema.size());
    for (const auto& column : schema.columns()) {
        columns_.emplace_back(column);
    }
}

Status RowGroupBuilder::append_row(std::span<const Value> row) {
    if (row.size() != columns_.size()) {
        return fail(ErrorCode::InvalidRequest, "parquet row has " + std::to_string(row.size()) +
                                                   " cells, the schema " +
                                                   std::to_string(columns_.size()) + " columns");
    }
    for (std::size_t i = 0; i < row.size(); ++i) {
        if (!columns_[i].accepts(row[i])) {
            return columns_[i].check(row[i]);
        }
    }
    for (std::size_t i = 0; i < row.size(); ++i) {
        columns_[i].put(row[i]);
    }
    return {};
}

std::size_t RowGroupBuilder::num_rows() const {
    return columns_.empty() ? 0 : columns_.front().size();
}

bool RowGroupBuilder::consistent() const {
    return std::all_of(columns_.begin(), columns_.end(),
                       [&](const ColumnBuilder& c) { return c.size() == num_rows(); });
}

std::size_t RowGroupBuilder::estimated_bytes() const {
    std::size_t total = 0;
    for (const auto& column : columns_) {
        total += column.estimated_bytes();
    }
    return total;
}

void RowGroupBuilder::clear() {
    for (auto& column : columns_) {
        column.clear();
    }
}

}  // namespace sb::telemetry::parquet
