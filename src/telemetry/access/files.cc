#include "telemetry/access/files.h"

#include <fmt/format.h>

#include "telemetry/parquet/sink.h"
#include "telemetry/parquet/writer.h"

namespace sb::telemetry::access {

namespace pq = sb::telemetry::parquet;

namespace {

pq::Schema requests_schema() {
    auto schema = pq::Schema::create({
        {"schema_version", pq::ColumnType::Int32, false},
        {"request_id", pq::ColumnType::String, false},
        {"started_at", pq::ColumnType::Timestamp, false},
        {"finished_at", pq::ColumnType::Timestamp, false},
        {"endpoint", pq::ColumnType::String, true},
        {"method", pq::ColumnType::String, true},
        {"principal", pq::ColumnType::String, true},
        {"key_id", pq::ColumnType::String, true},
        {"team", pq::ColumnType::String, true},
        {"model_requested", pq::ColumnType::String, true},
        {"target", pq::ColumnType::String, true},
        {"provider", pq::ColumnType::String, true},
        {"status", pq::ColumnType::Int32, false},
        {"error_code", pq::ColumnType::String, true},
        {"total_ms", pq::ColumnType::Double, false},
        {"overhead_ms", pq::ColumnType::Double, true},
        {"ttft_ms", pq::ColumnType::Double, true},
        {"tokens_in", pq::ColumnType::Int64, true},
        {"tokens_out", pq::ColumnType::Int64, true},
        {"tokens_cached", pq::ColumnType::Int64, true},
        {"tokens_reasoning", pq::ColumnType::Int64, true},
        {"cost_usd", pq::ColumnType::Double, true},
        {"attempts", pq::ColumnType::Int32, false},
        {"stream", pq::ColumnType::Boolean, false},
        {"cache", pq::ColumnType::String, true},
        {"guardrail", pq::ColumnType::String, true},
        {"request_body", pq::ColumnType::String, true},
        {"response_body", pq::ColumnType::String, true},
        {"spool_segment", pq::ColumnType::Int64, false},
        {"spool_index", pq::ColumnType::Int32, false},
    });
    return std::move(*schema);  // a fixed, valid schema
}

pq::Schema attempts_schema() {
    auto schema = pq::Schema::create({
        {"schema_version", pq::ColumnType::Int32, false},
        {"request_id", pq::ColumnType::String, false},
        {"attempt", pq::ColumnType::Int32, false},
        {"started_at", pq::ColumnType::Timestamp, false},
        {"provider", pq::ColumnType::String, true},
        {"target", pq::ColumnType::String, true},
        {"status", pq::ColumnType::Int32, false},
        {"error_code", pq::ColumnType::String, true},
        {"duration_ms", pq::ColumnType::Double, false},
        {"spool_segment", pq::ColumnType::Int64, false},
        {"spool_index", pq::ColumnType::Int32, false},
    });
    return std::move(*schema);
}

pq::Value str_or_null(const std::string& s) {
    if (s.empty()) {
        return pq::Null{};
    }
    return std::string_view(s);
}

template <typename T>
pq::Value opt(const std::optional<T>& v) {
    if (!v) {
        return pq::Null{};
    }
    return *v;
}

pq::Value opt_str(const std::optional<std::string>& v) {
    if (!v) {
        return pq::Null{};
    }
    return std::string_view(*v);
}

// Days since 1970-01-01 to a civil date (Howard Hinnant's public-domain algorithm).
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0));
}

}  // namespace

std::string partition_of(std::int64_t unix_micros) {
    constexpr std::int64_t kMicrosPerDay = 86'400'000'000;
    std::int64_t days = unix_micros / kMicrosPerDay;
    std::int64_t rem = unix_micros % kMicrosPerDay;
    if (rem < 0) {
        rem += kMicrosPerDay;
        --days;
    }
    int y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(days, y, m, d);
    return fmt::format("dt={:04d}-{:02d}-{:02d}/hour={:02d}", y, m, d, rem / 3'600'000'000);
}

Result<std::vector<EncodedFile>> encode_segment(const std::vector<AccessRecord>& records,
                                                std::uint64_t segment_id, int zstd_level) {
    SegmentEncoder encoder(segment_id, zstd_level);
    for (const AccessRecord& r : records) {
        if (auto st = encoder.add(r); !st) {
            return fail(st.error());
        }
    }
    return encoder.finish();
}

SegmentEncoder::SegmentEncoder(std::uint64_t segment_id, int zstd_level)
    : segment_id_(segment_id), zstd_level_(zstd_level) {}

SegmentEncoder::~SegmentEncoder() = default;

Status SegmentEncoder::open() {
    pq::WriterOptions options;
    options.zstd_level = zstd_level_;
    options.key_value_metadata = {{"switchboard.schema_version", std::to_string(kSchemaVersion)}};
    for (auto* table : {&requests_, &attempts_}) {
        *table = std::make_unique<Table>();
        auto writer = pq::Writer::open(table == &requests_ ? requests_schema() : attempts_schema(),
                                       options, (*table)->sink);
        if (!writer) {
            return fail(writer.error());
        }
        (*table)->writer.emplace(std::move(*writer));
    }
    return {};
}

Status SegmentEncoder::add(const AccessRecord& r) {
    if (!requests_) {
        partition_ = partition_of(r.started_at_us);
        if (auto st = open(); !st) {
            requests_.reset();
            attempts_.reset();
            return st;
        }
    }
    const auto seg = static_cast<std::int64_t>(segment_id_);
    const std::int32_t index = index_;
    const pq::Value row[] = {
        kSchemaVersion,
        std::string_view(r.request_id),
        pq::Timestamp{r.started_at_us},
        pq::Timestamp{r.finished_at_us},
        str_or_null(r.endpoint),
        str_or_null(r.method),
        str_or_null(r.principal),
        str_or_null(r.key_id),
        str_or_null(r.team),
        str_or_null(r.model_requested),
        str_or_null(r.target),
        str_or_null(r.provider),
        r.status,
        str_or_null(r.error_code),
        r.total_ms,
        opt(r.overhead_ms),
        opt(r.ttft_ms),
        opt(r.tokens_in),
        opt(r.tokens_out),
        opt(r.tokens_cached),
        opt(r.tokens_reasoning),
        opt(r.cost_usd),
        r.attempts,
        r.stream,
        str_or_null(r.cache_outcome),
        str_or_null(r.guardrail_outcome),
        opt_str(r.request_body),
        opt_str(r.response_body),
        seg,
        index,
    };
    auto failed = [&](const Error& e) {
        return fail(ErrorCode::Internal,
                    fmt::format("access record {}: {}", r.request_id, e.message));
    };
    if (auto st = requests_->writer->rows().append_row(row); !st) {
        return failed(st.error());
    }
    for (const AttemptRecord& a : r.attempt_details) {
        const pq::Value attempt[] = {
            kSchemaVersion,
            std::string_view(r.request_id),
            a.index,
            pq::Timestamp{a.started_at_us},
            str_or_null(a.provider),
            str_or_null(a.target),
            a.status,
            str_or_null(a.error_code),
            a.duration_ms,
            seg,
            index,
        };
        if (auto st = attempts_->writer->rows().append_row(attempt); !st) {
            return failed(st.error());
        }
        ++attempts_->rows;
    }
    ++requests_->rows;
    ++index_;
    return {};
}

Result<std::vector<EncodedFile>> SegmentEncoder::finish() {
    std::vector<EncodedFile> out;
    if (!requests_) {
        return out;
    }
    const std::string base = fmt::format("{}/{:020d}.parquet", partition_, segment_id_);
    for (auto* table : {&requests_, &attempts_}) {
        Table& t = **table;
        if (t.rows == 0) {
            continue;  // no attempts file without attempts
        }
        if (auto st = t.writer->finish(); !st) {
            return fail(st.error());
        }
        out.push_back(
            {(table == &requests_ ? "requests/" : "attempts/") + base, t.sink.take(), t.rows});
    }
    requests_.reset();
    attempts_.reset();
    return out;
}

}  // namespace sb::telemetry::access
