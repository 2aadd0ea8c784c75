#include "telemetry/parquet/format.h"

#include "telemetry/parquet/thrift_compact.h"

namespace sb::telemetry::parquet::detail {

namespace {

template <typename Enum>
std::int32_t to_i32(Enum value) {
    return static_cast<std::int32_t>(value);
}

void write_statistics_field(CompactWriter& w, std::int16_t id, const Statistics& s) {
    w.begin_struct_field(id);
    if (s.null_count) {
        w.field_i64(3, *s.null_count);
    }
    if (s.max_value) {
        w.field_binary(5, *s.max_value);
    }
    if (s.min_value) {
        w.field_binary(6, *s.min_value);
    }
    if (s.max_value) {
        w.field_bool(7, true);  // is_max_value_exact
    }
    if (s.min_value) {
        w.field_bool(8, true);  // is_min_value_exact
    }
    if (s.nan_count) {
        w.field_i64(9, *s.nan_count);
    }
    w.end_struct();
}

void write_logical_type(CompactWriter& w, LogicalType type) {
    w.begin_struct_field(10);  // SchemaElement.logicalType (a union: exactly one member)
    switch (type) {
        case LogicalType::String:
            w.begin_struct_field(1);  // STRING: StringType {}
            w.end_struct();
            break;
        case LogicalType::TimestampMicrosUtc:
            w.begin_struct_field(8);  // TIMESTAMP: TimestampType
            w.field_bool(1, true);    // isAdjustedToUTC
            w.begin_struct_field(2);  // unit: TimeUnit union
            w.begin_struct_field(2);  // MICROS: MicroSeconds {}
            w.end_struct();
            w.end_struct();
            w.end_struct();
            break;
        case LogicalType::None:
            break;
    }
    w.end_struct();
}

void write_schema_element(CompactWriter& w, const SchemaElement& e) {
    w.begin_struct();
    if (e.type) {
        w.field_i32(1, to_i32(*e.type));
    }
    if (e.repetition_type) {
        w.field_i32(3, to_i32(*e.repetition_type));
    }
    w.field_binary(4, e.name);
    if (e.num_children) {
        w.field_i32(5, *e.num_children);
    }
    if (e.converted_type) {
        w.field_i32(6, to_i32(*e.converted_type));
    }
    if (e.logical_type != LogicalType::None) {
        write_logical_type(w, e.logical_type);
    }
    w.end_struct();
}

void write_column_meta_data(CompactWriter& w, const ColumnMetaData& m) {
    w.field_i32(1, to_i32(m.type));
    w.begin_list_field(2, CompactType::I32, m.encodings.size());
    for (Encoding e : m.encodings) {
        w.element_i32(to_i32(e));
    }
    w.begin_list_field(3, CompactType::Binary, m.path_in_schema.size());
    for (const auto& part : m.path_in_schema) {
        w.element_binary(part);
    }
    w.field_i32(4, to_i32(m.codec));
    w.field_i64(5, m.num_values);
    w.field_i64(6, m.total_uncompressed_size);
    w.field_i64(7, m.total_compressed_size);
    w.field_i64(9, m.data_page_offset);
    if (m.statistics) {
        write_statistics_field(w, 12, *m.statistics);
    }
}

void write_row_group(CompactWriter& w, const RowGroup& g) {
    w.begin_struct();
    w.begin_list_field(1, CompactType::Struct, g.columns.size());
    for (const auto& chunk : g.columns) {
        w.begin_struct();
        w.field_i64(2, chunk.file_offset);
        w.begin_struct_field(3);
        write_column_meta_data(w, chunk.meta_data);
        w.end_struct();
        w.end_struct();
    }
    w.field_i64(2, g.total_byte_size);
    w.field_i64(3, g.num_rows);
    w.field_i64(5, g.file_offset);
    w.field_i64(6, g.total_compressed_size);
    if (g.ordinal) {
        w.field_i16(7, *g.ordinal);
    }
    w.end_struct();
}

}  // namespace

std::string serialize(const PageHeader& header) {
    CompactWriter w;
    w.begin_struct();
    w.field_i32(1, to_i32(header.type));
    w.field_i32(2, header.uncompressed_page_size);
    w.field_i32(3, header.compressed_page_size);
    w.begin_struct_field(5);
    const DataPageHeader& d = header.data_page_header;
    w.field_i32(1, d.num_values);
    w.field_i32(2, to_i32(d.encoding));
    w.field_i32(3, to_i32(d.definition_level_encoding));
    w.field_i32(4, to_i32(d.repetition_level_encoding));
    w.end_struct();
    w.end_struct();
    return w.release();
}

std::string serialize(const FileMetaData& metadata) {
    CompactWriter w;
    w.begin_struct();
    w.field_i32(1, metadata.version);
    w.begin_list_field(2, CompactType::Struct, metadata.schema.size());
    for (const auto& element : metadata.schema) {
        write_schema_element(w, element);
    }
    w.field_i64(3, metadata.num_rows);
    w.begin_list_field(4, CompactType::Struct, metadata.row_groups.size());
    for (const auto& group : metadata.row_groups) {
        write_row_group(w, group);
    }
    if (!metadata.key_value_metadata.empty()) {
        w.begin_list_field(5, CompactType::Struct, metadata.key_value_metadata.size());
        for (const auto& kv : metadata.key_value_metadata) {
            w.begin_struct();
            w.field_binary(1, kv.key);
            w.field_binary(2, kv.value);
            w.end_struct();
        }
    }
    w.field_binary(6, metadata.created_by);
    if (metadata.type_defined_column_orders > 0) {
        w.begin_list_field(7, CompactType::Struct, metadata.type_defined_column_orders);
        for (std::size_t i = 0; i < metadata.type_defined_column_orders; ++i) {
            w.begin_struct();         // ColumnOrder union
            w.begin_struct_field(1);  // TYPE_ORDER: TypeDefinedOrder {}
            w.end_struct();
            w.end_struct();
        }
    }
    w.end_struct();
    return w.release();
}

}  // namespace sb::telemetry::parquet::detail
