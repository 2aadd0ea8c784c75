#include "telemetry/parquet/schema.h"

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
        if (!detail::is_valid_utf8(column.name)) {
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

namespace detail {

bool is_valid_utf8(std::string_view bytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* end = p + bytes.size();
    while (p < end) {
        const unsigned char lead = *p;
        if (lead < 0x80) {
            ++p;
            continue;
        }
        int length = 0;
        std::uint32_t code_point = 0;
        std::uint32_t min_code_point = 0;
        if ((lead & 0xE0) == 0xC0) {
            length = 2;
            code_point = lead & 0x1F;
            min_code_point = 0x80;
        } else if ((lead & 0xF0) == 0xE0) {
            length = 3;
            code_point = lead & 0x0F;
            min_code_point = 0x800;
        } else if ((lead & 0xF8) == 0xF0) {
            length = 4;
            code_point = lead & 0x07;
            min_code_point = 0x10000;
        } else {
            return false;  // continuation byte or 0xF8..0xFF as a lead
        }
        if (end - p < length) {
            return false;
        }
        for (int i = 1; i < length; ++i) {
            if ((p[i] & 0xC0) != 0x80) {
                return false;
            }
            code_point = (code_point << 6) | (p[i] & 0x3F);
        }
        if (code_point < min_code_point || code_point > 0x10FFFF ||
            (code_point >= 0xD800 && code_point <= 0xDFFF)) {
            return false;
        }
        p += length;
    }
    return true;
}

}  // namespace detail

}  // namespace sb::telemetry::parquet
