#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "telemetry/access/record.h"

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

// "dt=YYYY-MM-DD/hour=HH" (UTC) for a Unix time in microseconds.
std::string partition_of(std::int64_t unix_micros);

}  // namespace sb::telemetry::access
