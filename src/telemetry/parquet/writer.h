#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "telemetry/parquet/compression.h"
#include "telemetry/parquet/format.h"
#include "telemetry/parquet/row_group_builder.h"
#include "telemetry/parquet/schema.h"
#include "telemetry/parquet/sink.h"

namespace sb::telemetry::parquet {

enum class Compression : std::uint8_t { Uncompressed, Zstd };

// What ends up in the footer's created_by.
inline constexpr std::string_view kCreatedBy = "switchboard";

struct WriterOptions {
    Compression compression = Compression::Zstd;
    int zstd_level = 3;
    // flush_if_full() writes the pending rows as a row group once their PLAIN-encoded size
    // (before compression) reaches this.
    std::size_t row_group_target_bytes = std::size_t{64} << 20;
    // Column chunks are cut into data pages of about this many PLAIN-encoded bytes.
    std::size_t page_target_bytes = std::size_t{1} << 20;
    // A string column chunk whose min or max value is longer than this gets no min/max
    // statistics (its null count is still written).
    std::size_t statistics_max_bytes = 4096;
    // Footer key/value metadata, e.g. {"switchboard.schema_version", "1"}.
    std::vector<std::pair<std::string, std::string>> key_value_metadata;
};

// Writes one Parquet file to a Sink: "PAR1", then each row group as it is flushed (column
// chunks of PLAIN data pages v1, ZSTD or uncompressed), then on finish() the footer (Thrift
// compact FileMetaData with the schema, row groups, column statistics and created_by
// "switchboard"), its length and "PAR1". Memory holds only the pending row group.
//
// Fill rows() cell by cell or row by row, call flush_if_full() between whole rows, and
// finish() at the end. A failed sink write or encoding error leaves the writer failed: every
// later call returns an error and the file is incomplete (no footer). The file is readable only
// after finish() succeeds; syncing it is the caller's business (FileSink::sync()).
//
// Blocking (it writes to the sink); for a dedicated telemetry thread, never a worker. Not
// thread-safe. The writer keeps a pointer to the sink: it must outlive the writer and not move.
class Writer {
  public:
    // Writes the leading magic. Fails on invalid options (zero targets, bad zstd level).
    static Result<Writer> open(Schema schema, WriterOptions options, Sink& sink);

    Writer(Writer&&) noexcept = default;
    Writer& operator=(Writer&&) noexcept = default;
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    ~Writer() = default;

    const Schema& schema() const { return schema_; }
    const WriterOptions& options() const { return options_; }

    // The rows of the next row group.
    RowGroupBuilder& rows() { return pending_; }
    // Writes rows() as a row group if its estimated size reached row_group_target_bytes.
    Status flush_if_full();
    // Writes rows() as a row group now (nothing when empty) and clears it. Fails if its columns
    // have different row counts.
    Status flush();
    // Writes `rows` (built for the same schema) as one row group; leaves `rows` untouched.
    Status write_row_group(const RowGroupBuilder& rows);
    // Flushes pending rows and writes the footer. After it, the writer accepts nothing more.
    Status finish();

    bool finished() const { return state_ == State::Finished; }
    std::uint64_t bytes_written() const { return offset_; }
    std::int64_t rows_written() const { return rows_written_; }
    std::size_t row_groups_written() const { return row_groups_.size(); }

  private:
    enum class State : std::uint8_t { Open, Finished, Failed };

    Writer(Schema schema, WriterOptions options, Sink& sink, detail::PageCompressor compressor);

    Status check_open() const;
    Status write(std::string_view bytes);
    detail::FileMetaData file_metadata() const;

    Schema schema_;
    WriterOptions options_;
    Sink* sink_;
    detail::PageCompressor compressor_;
    RowGroupBuilder pending_;
    std::vector<detail::RowGroup> row_groups_;
    std::uint64_t offset_ = 0;
    std::int64_t rows_written_ = 0;
    State state_ = State::Open;
};

}  // namespace sb::telemetry::parquet
