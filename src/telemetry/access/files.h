#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "telemetry/access/record.h"
#include "telemetry/parquet/sink.h"
#include "telemetry/parquet/writer.h"

namespace sb::telemetry::access {

// One Parquet file to deliver: its object name relative to the destination root (deterministic:
// the table, the Hive partition of the segment's first record and the segment id) and its bytes.
struct EncodedFile {
    std::string name;  // "requests/dt=2026-11-25/hour=15/00001764084000000000.parquet"
    std::string bytes;
    std::size_t rows = 0;
};

// The Parquet files of one spool segment: always `requests/...`, plus `attempts/...` when a
// record has attempt details. `segment_id` and each record's position in the segment are
// written as columns (spool_segment, spool_index), so a file's rows are traceable and a
// duplicate would be visible. Pure: the same records and id give the same names and bytes.
Result<std::vector<EncodedFile>> encode_segment(const std::vector<AccessRecord>& records,
                                                std::uint64_t segment_id, int zstd_level);

// encode_segment() a record at a time, for the delivery thread: it decodes a segment's records
// one after another into one reused AccessRecord instead of holding them all. add() the
// records in segment order, then finish() once.
class SegmentEncoder {
  public:
    SegmentEncoder(std::uint64_t segment_id, int zstd_level);
    SegmentEncoder(const SegmentEncoder&) = delete;
    SegmentEncoder& operator=(const SegmentEncoder&) = delete;
    ~SegmentEncoder();

    Status add(const AccessRecord& record);
    // The files (none when no record was added). The encoder accepts nothing after it.
    Result<std::vector<EncodedFile>> finish();

  private:
    struct Table {
        parquet::StringSink sink;  // the writer points to it: never moves (Table is on the heap)
        std::optional<parquet::Writer> writer;
        std::size_t rows = 0;
    };
    Status open();

    std::uint64_t segment_id_;
    int zstd_level_;
    std::int32_t index_ = 0;  // position of the next record in the segment
    std::string partition_;   // of the first record
    std::unique_ptr<Table> requests_;
    std::unique_ptr<Table> attempts_;
};

// "dt=YYYY-MM-DD/hour=HH" (UTC) for a Unix time in microseconds.
std::string partition_of(std::int64_t unix_micros);

}  // namespace sb::telemetry::access
