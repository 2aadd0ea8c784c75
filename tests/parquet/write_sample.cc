// Writes the sample Parquet files that tests/parquet/readers.test.mjs reads back with
// independent readers (DuckDB, hyparquet). Usage: parquet-sample-writer OUTPUT_DIR
//
// The rows come from sample_row(i), which readers.test.mjs re-implements to know what to expect;
// change both together. Files:
//   types_zstd.parquet   every column type, nulls, ZSTD, many row groups (flush_if_full) and pages
//   types_plain.parquet  the same rows, UNCOMPRESSED, filled column by column, two row groups
//   edge.parquet         all-null, all-NaN, all-true and over-long string columns (statistics)
//   empty.parquet        a schema and no rows
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "telemetry/parquet/row_group_builder.h"
#include "telemetry/parquet/schema.h"
#include "telemetry/parquet/sink.h"
#include "telemetry/parquet/writer.h"

namespace {

namespace pq = sb::telemetry::parquet;

constexpr int kRows = 3000;

struct SampleRow {
    pq::Value flag;
    pq::Value id;
    pq::Value big;
    pq::Value ratio;
    pq::Value name;
    pq::Value ts;
    pq::Value note;
};

const char* const kWords[] = {"", "a", "héllo", "日本語", "🚀 launch", "zürich-ß", "plain ascii"};

// Keeps the strings a SampleRow's string_views point at.
struct RowStrings {
    std::string name;
    std::string note;
};

SampleRow sample_row(int i, RowStrings& strings) {
    SampleRow r;
    r.flag = i % 7 == 0 ? pq::Value(pq::Null{}) : pq::Value(i % 3 == 0);

    std::int32_t id = i * 37 - 5000;
    if (i == 1) {
        id = std::numeric_limits<std::int32_t>::min();
    } else if (i == 2) {
        id = std::numeric_limits<std::int32_t>::max();
    }
    r.id = id;

    if (i % 11 == 5) {
        r.big = pq::Null{};
    } else if (i == 3) {
        r.big = std::numeric_limits<std::int64_t>::min();
    } else if (i == 4) {
        r.big = std::numeric_limits<std::int64_t>::max();
    } else {
        r.big = std::int64_t{i - 1000} * 1000000007;
    }

    if (i % 13 == 7) {
        r.ratio = pq::Null{};
    } else if (i == 0) {
        r.ratio = -0.0;
    } else if (i == 8) {
        r.ratio = std::numeric_limits<double>::quiet_NaN();
    } else if (i == 9) {
        r.ratio = 1e300;
    } else if (i == 10) {
        r.ratio = -1e-300;
    } else {
        r.ratio = (i - 1500) / 16.0;
    }

    if (i % 9 == 4) {
        r.name = pq::Null{};
    } else {
        strings.name = kWords[i % 7];
        if (i % 2 == 1) {
            strings.name += "-" + std::to_string(i);
        }
        r.name = std::string_view(strings.name);
    }

    if (i % 17 == 16) {
        r.ts = pq::Null{};
    } else if (i == 0) {
        r.ts = pq::Timestamp{0};
    } else if (i == 1) {
        r.ts = pq::Timestamp{-1};  // 1969-12-31T23:59:59.999999Z
    } else if (i == 2) {
        r.ts = pq::Timestamp{253402300799999999};  // 9999-12-31T23:59:59.999999Z
    } else {
        r.ts = pq::Timestamp{1700000000000000 + std::int64_t{i} * 1000003};
    }

    strings.note = "row-" + std::to_string(i);
    r.note = std::string_view(strings.note);
    return r;
}

pq::Schema types_schema() {
    auto schema = pq::Schema::create({
        {"flag", pq::ColumnType::Boolean, true},
        {"id", pq::ColumnType::Int32, false},
        {"big", pq::ColumnType::Int64, true},
        {"ratio", pq::ColumnType::Double, true},
        {"name", pq::ColumnType::String, true},
        {"ts", pq::ColumnType::Timestamp, true},
        {"note", pq::ColumnType::String, false},
    });
    return std::move(*schema);  // a fixed, valid schema
}

bool report(const sb::Status& status, const std::string& what) {
    if (!status) {
        std::fprintf(stderr, "parquet-sample-writer: %s: %s\n", what.c_str(),
                     status.error().message.c_str());
        return false;
    }
    return true;
}

// Opens `path`, runs `fill` on a writer, finishes and syncs.
template <typename Fill>
bool write_file(const std::string& path, const pq::Schema& schema, pq::WriterOptions options,
                Fill fill) {
    auto sink = pq::FileSink::open(path, pq::FileMode::Replace);
    if (!sink) {
        return report(sb::fail(sink.error()), path);
    }
    auto writer = pq::Writer::open(schema, std::move(options), *sink);
    if (!writer) {
        return report(sb::fail(writer.error()), path);
    }
    return report(fill(*writer), path) && report(writer->finish(), path + ": finish") &&
           report(sink->sync(), path + ": fsync") && report(sink->close(), path + ": close");
}

sb::Status fill_rows(pq::Writer& writer) {
    for (int i = 0; i < kRows; ++i) {
        RowStrings strings;
        const SampleRow r = sample_row(i, strings);
        if (auto ok =
                writer.rows().append_row({r.flag, r.id, r.big, r.ratio, r.name, r.ts, r.note});
            !ok) {
            return ok;
        }
        if (auto ok = writer.flush_if_full(); !ok) {
            return ok;
        }
    }
    return {};
}

// Column by column into an outside builder, one row group per half.
sb::Status fill_columns(pq::Writer& writer) {
    pq::RowGroupBuilder rows(writer.schema());
    for (int half = 0; half < 2; ++half) {
        const int begin = half * kRows / 2;
        const int end = (half + 1) * kRows / 2;
        for (std::size_t c = 0; c < rows.column_count(); ++c) {
            for (int i = begin; i < end; ++i) {
                RowStrings strings;
                const SampleRow r = sample_row(i, strings);
                const pq::Value cells[] = {r.flag, r.id, r.big, r.ratio, r.name, r.ts, r.note};
                if (auto ok = rows.column(c).append(cells[c]); !ok) {
                    return ok;
                }
            }
        }
        if (auto ok = writer.write_row_group(rows); !ok) {
            return ok;
        }
        rows.clear();
    }
    return {};
}

sb::Status fill_edge(pq::Writer& writer) {
    const std::string long_text(5000, 'x');
    for (int i = 0; i < 10; ++i) {
        const pq::Value text =
            i == 3 ? pq::Value(std::string_view(long_text)) : pq::Value(std::string_view("short"));
        if (auto ok = writer.rows().append_row(
                {pq::Null{}, std::numeric_limits<double>::quiet_NaN(), true, text});
            !ok) {
            return ok;
        }
    }
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: parquet-sample-writer OUTPUT_DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    const pq::Schema schema = types_schema();

    pq::WriterOptions zstd;
    zstd.compression = pq::Compression::Zstd;
    zstd.row_group_target_bytes = 16 * 1024;
    zstd.page_target_bytes = 2 * 1024;
    zstd.key_value_metadata = {{"switchboard.sample", "types_zstd"}};

    pq::WriterOptions plain;
    plain.compression = pq::Compression::Uncompressed;

    auto edge_schema = pq::Schema::create({
        {"nothing", pq::ColumnType::Int64, true},
        {"nan_only", pq::ColumnType::Double, false},
        {"always", pq::ColumnType::Boolean, false},
        {"text", pq::ColumnType::String, false},
    });
    auto empty_schema = pq::Schema::create({
        {"id", pq::ColumnType::Int64, false},
        {"name", pq::ColumnType::String, true},
    });
    if (!edge_schema || !empty_schema) {
        std::fprintf(stderr, "parquet-sample-writer: bad schema\n");
        return 1;
    }

    const bool ok = write_file(dir + "/types_zstd.parquet", schema, zstd, fill_rows) &&
                    write_file(dir + "/types_plain.parquet", schema, plain, fill_columns) &&
                    write_file(dir + "/edge.parquet", *edge_schema, zstd, fill_edge) &&
                    write_file(dir + "/empty.parquet", *empty_schema, plain,
                               [](pq::Writer&) { return sb::Status{}; });
    return ok ? 0 : 1;
}
