#include "telemetry/parquet/writer.h"

#include <limits>

#include "telemetry/parquet/column_chunk.h"

namespace sb::telemetry::parquet {

namespace {

constexpr std::string_view kMagic = "PAR1";

detail::SchemaElement schema_element(const Column& column) {
    detail::SchemaElement e;
    e.type = detail::physical_type(column.type);
    e.repetition_type =
        column.nullable ? detail::Repetition::Optional : detail::Repetition::Required;
    e.name = column.name;
    // LogicalType plus the matching ConvertedType for older readers (parquet.thrift, LogicalType).
    if (column.type == ColumnType::String) {
        e.converted_type = detail::ConvertedType::Utf8;
        e.logical_type = detail::LogicalType::String;
    } else if (column.type == ColumnType::Timestamp) {
        e.converted_type = detail::ConvertedType::TimestampMicros;
        e.logical_type = detail::LogicalType::TimestampMicrosUtc;
    }
    return e;
}

}  // namespace

Writer::Writer(Schema schema, WriterOptions options, Sink& sink, detail::PageCompressor compressor)
    : schema_(std::move(schema)),
      options_(std::move(options)),
      sink_(&sink),
      compressor_(std::move(compressor)),
      pending_(schema_) {}

Result<Writer> Writer::open(Schema schema, WriterOptions options, Sink& sink) {
    if (options.row_group_target_bytes == 0 || options.page_target_bytes == 0) {
        return fail(ErrorCode::InvalidRequest, "parquet: row group and page targets must be > 0");
    }
    const auto codec = options.compression == Compression::Zstd
                           ? detail::CompressionCodec::Zstd
                           : detail::CompressionCodec::Uncompressed;
    auto compressor = detail::PageCompressor::create(codec, options.zstd_level);
    if (!compressor) {
        return fail(std::move(compressor).error());
    }
    Writer writer(std::move(schema), std::move(options), sink, std::move(*compressor));
    if (auto ok = writer.write(kMagic); !ok) {
        return fail(std::move(ok).error());
    }
    return writer;
}

Status Writer::check_open() const {
    switch (state_) {
        case State::Open:
            return {};
        case State::Finished:
            return fail(ErrorCode::Internal, "parquet writer: already finished");
        case State::Failed:
            break;
    }
    return fail(ErrorCode::Internal, "parquet writer: an earlier write failed");
}

Status Writer::write(std::string_view bytes) {
    if (auto ok = sink_->write(bytes); !ok) {
        state_ = State::Failed;
        return ok;
    }
    offset_ += bytes.size();
    return {};
}

Status Writer::flush_if_full() {
    if (pending_.estimated_bytes() < options_.row_group_target_bytes) {
        return check_open();
    }
    return flush();
}

Status Writer::flush() {
    if (auto ok = write_row_group(pending_); !ok) {
        return ok;
    }
    pending_.clear();
    return {};
}

Status Writer::write_row_group(const RowGroupBuilder& rows) {
    if (auto ok = check_open(); !ok) {
        return ok;
    }
    if (rows.column_count() != schema_.size()) {
        return fail(ErrorCode::InvalidRequest, "parquet: row group built for another schema");
    }
    for (std::size_t i = 0; i < schema_.size(); ++i) {
        if (!(rows.column(i).column() == schema_.column(i))) {
            return fail(ErrorCode::InvalidRequest, "parquet: row group built for another schema");
        }
    }
    if (!rows.consistent()) {
        return fail(ErrorCode::InvalidRequest,
                    "parquet: columns of a row group have different row counts");
    }
    const std::size_t num_rows = rows.num_rows();
    if (num_rows == 0) {
        return {};
    }

    const detail::ChunkOptions chunk_options{options_.page_target_bytes,
                                             options_.statistics_max_bytes};
    detail::RowGroup group;
    group.num_rows = static_cast<std::int64_t>(num_rows);
    group.file_offset = static_cast<std::int64_t>(offset_);
    if (row_groups_.size() <= static_cast<std::size_t>(std::numeric_limits<std::int16_t>::max())) {
        group.ordinal = static_cast<std::int16_t>(row_groups_.size());
    }
    for (std::size_t i = 0; i < rows.column_count(); ++i) {
        auto chunk = detail::encode_column_chunk(rows.column(i), chunk_options, compressor_);
        if (!chunk) {
            state_ = State::Failed;
            return fail(std::move(chunk).error());
        }
        chunk->meta.data_page_offset = static_cast<std::int64_t>(offset_);
        if (auto ok = write(chunk->bytes); !ok) {
            return ok;
        }
        group.total_byte_size += chunk->meta.total_uncompressed_size;
        group.total_compressed_size += chunk->meta.total_compressed_size;
        group.columns.push_back(detail::ColumnChunk{0, std::move(chunk->meta)});
    }
    row_groups_.push_back(std::move(group));
    rows_written_ += static_cast<std::int64_t>(num_rows);
    return {};
}

detail::FileMetaData Writer::file_metadata() const {
    detail::FileMetaData meta;
    meta.version = 1;
    detail::SchemaElement root;
    root.name = "schema";
    root.num_children = static_cast<std::int32_t>(schema_.size());
    meta.schema.push_back(std::move(root));
    for (const auto& column : schema_.columns()) {
        meta.schema.push_back(schema_element(column));
    }
    meta.num_rows = rows_written_;
    meta.row_groups = row_groups_;
    for (const auto& [key, value] : options_.key_value_metadata) {
        meta.key_value_metadata.push_back({key, value});
    }
    meta.created_by = std::string(kCreatedBy);
    meta.type_defined_column_orders = schema_.size();
    return meta;
}

Status Writer::finish() {
    if (auto ok = flush(); !ok) {
        return ok;
    }
    // FileMetaData, its length as 4 little-endian bytes, the magic again.
    std::string tail = detail::serialize(file_metadata());
    if (tail.size() > std::numeric_limits<std::uint32_t>::max()) {
        state_ = State::Failed;
        return fail(ErrorCode::Internal, "parquet: footer exceeds 4 GiB");
    }
    const auto length = static_cast<std::uint32_t>(tail.size());
    for (int i = 0; i < 4; ++i) {
        tail.push_back(static_cast<char>((length >> (8 * i)) & 0xFF));
    }
    tail += kMagic;
    if (auto ok = write(tail); !ok) {
        return ok;
    }
    state_ = State::Finished;
    return {};
}

}  // namespace sb::telemetry::parquet
