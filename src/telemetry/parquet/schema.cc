#include "telemetry/parquet/schema.h"

#include <simdjson.h>

#include <cstring>
#include <unordered_set>

namespace sb::telemetry::parquet {

std::string_view column_type_name(ColumnType type) {
    switch (type) {
        case ColumnType::Boolean:
            return "BOOLEAN";
        case ColumnType::Int32:
            return "INT32";
        case ColumnType::Int64:
            return "INT64";
        case ColumnType::Double:
            return "DOUBLE";
        case ColumnType::String:
            return "STRING";
        case ColumnType::Timestamp:
            return "TIMESTAMP";
    }
    return "UNKNOWN";
}

Result<Schema> Schema::create(std::vector<Column> columns) {
    if (columns.empty()) {
        return fail(ErrorCode::InvalidRequest, "parquet schema: no columns");
    }
    std::unordered_set<std::string_view> names;
    for (const auto& column : columns) {
        if (column.name.empty()) {
            return fail(ErrorCode::InvalidRequest, "parquet schema: empty column name");
        }
        if (!is_valid_utf8(column.name)) {
            return fail(ErrorCode::InvalidRequest, "parquet schema: column name is not UTF-8");
        }
        if (!names.insert(column.name).second) {
            return fail(ErrorCode::InvalidRequest,
                        "parquet schema: duplicate column '" + column.name + "'");
        }
    }
    return Schema(std::move(columns));
}

std::optional<std::size_t> Schema::index_of(std::string_view name) const {
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        if (columns_[i].name == name) {
            return i;
        }
    }
    return std::nullopt;
}

bool is_valid_utf8(std::string_view bytes) {
    // Most cells are short and ASCII: checked eight bytes at a time, inline. Anything else goes
    // to simdjson's validator (rejects overlong forms, surrogates and values past U+10FFFF).
    std::size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, bytes.data() + i, 8);
        if ((word & 0x8080808080808080ULL) != 0) {
            return simdjson::validate_utf8(bytes.data(), bytes.size());
        }
    }
    for (; i < bytes.size(); ++i) {
        if (static_cast<unsigned char>(bytes[i]) >= 0x80) {
            return simdjson::validate_utf8(bytes.data(), bytes.size());
        }
    }
    return true;
}

}  // namespace sb::telemetry::parquet
