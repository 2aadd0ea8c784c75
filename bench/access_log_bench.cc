// The access log's two halves (docs/access-log.md), per record:
//   - the worker's share: AccessLog::submit() with write-through (sanitise, encode, frame, append
//     to the spool segment);
//   - the delivery thread's share: read a sealed segment, decode its records and encode the
//     Parquet files (ZSTD).
// Records look like the gateway's for a plain chat completion with one attempt.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "telemetry/access/access_log.h"
#include "telemetry/access/files.h"
#include "telemetry/access/record.h"
#include "telemetry/access/spool.h"

namespace {

using namespace sb::telemetry::access;
namespace fs = std::filesystem;

AccessRecord typical_record(int i) {
    // Random where the gateway's records are (request ids, timings), so compression sees what it
    // would see in production.
    std::mt19937_64 rng(static_cast<std::uint64_t>(i));
    char id[32];
    std::snprintf(id, sizeof id, "req_%016llx%04x", static_cast<unsigned long long>(rng()),
                  i & 0xffff);
    AccessRecord r;
    r.request_id = id;
    r.started_at_us = 1'764'000'000'000'000 + i * 37 + static_cast<std::int64_t>(rng() % 30);
    r.finished_at_us = r.started_at_us + 1200 + static_cast<std::int64_t>(rng() % 3000);
    r.endpoint = "/v1/chat/completions";
    r.method = "POST";
    r.principal = "key_3f9a2b7c";
    r.key_id = "key_3f9a2b7c";
    r.team = "search";
    r.model_requested = "gpt-4o-mini";
    r.target = "gpt-4o-mini";
    r.provider = "openai";
    r.status = 200;
    r.total_ms = static_cast<double>(r.finished_at_us - r.started_at_us) / 1000.0;
    r.overhead_ms = 0.05 + static_cast<double>(rng() % 1000) / 10'000.0;
    r.tokens_in = 12 + i % 50;
    r.tokens_out = 40 + i % 200;
    r.tokens_cached = 0;
    r.tokens_reasoning = 0;
    r.cost_usd = 0.0000123 * (1 + i % 7);
    r.attempts = 1;
    r.attempt_details = {
        {1, "openai", "gpt-4o-mini", 200, "", r.started_at_us + 20, r.total_ms - 0.07}};
    return r;
}

std::string temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "sb-access-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        return {};
    }
    return pattern;
}

void BM_AccessRecord_Encode(benchmark::State& state) {
    const AccessRecord r = typical_record(1);
    std::string out;
    for (auto _ : state) {
        out.clear();
        encode(r, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AccessRecord_Encode);

// The worker's cost: submit() of a record the worker built (the copy stands for building it).
void BM_AccessLog_Submit(benchmark::State& state) {
    const std::string dir = temp_dir();
    Options o;
    o.directory = dir + "/out";
    o.spool_dir = dir + "/spool";
    AccessLog log(std::move(o));
    if (!log.open()) {
        state.SkipWithError("cannot open the access log");
        return;
    }
    const AccessRecord r = typical_record(1);
    for (auto _ : state) {
        AccessRecord copy = r;
        benchmark::DoNotOptimize(log.submit(std::move(copy)));
    }
    state.SetItemsProcessed(state.iterations());
    log.close();
    std::error_code ec;
    fs::remove_all(dir, ec);
}
BENCHMARK(BM_AccessLog_Submit);

// The delivery thread's cost for a segment of 10,000 records (as AccessLog::deliver does it):
// parse and check its frames, decode the records one by one, encode both Parquet files.
void BM_AccessSegment_ToParquet(benchmark::State& state) {
    constexpr int kRecords = 10'000;
    std::string segment(kSegmentMagic);
    std::string payload;
    for (int i = 0; i < kRecords; ++i) {
        payload.clear();
        encode(typical_record(i), payload);
        append_frame(segment, payload);
    }
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto contents = parse_segment(segment);
        SegmentEncoder encoder(1'764'000'000'000'000, static_cast<int>(state.range(0)));
        AccessRecord r;
        for (const auto& p : contents->payloads) {
            if (!decode(p, r) || !encoder.add(r)) {
                state.SkipWithError("decode or add failed");
                return;
            }
        }
        auto files = encoder.finish();
        if (!files) {
            state.SkipWithError("encode_segment failed");
            return;
        }
        bytes = 0;
        for (const EncodedFile& f : *files) {
            bytes += f.bytes.size();
        }
    }
    state.SetItemsProcessed(state.iterations() * kRecords);
    state.counters["parquet_bytes_per_record"] = static_cast<double>(bytes) / kRecords;
    state.counters["spool_bytes_per_record"] = static_cast<double>(segment.size()) / kRecords;
}
// Argument: the zstd level (logging.zstd_level).
BENCHMARK(BM_AccessSegment_ToParquet)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);

}  // namespace
