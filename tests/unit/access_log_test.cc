#include "telemetry/access/access_log.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "aws/sigv4.h"
#include "parquet/thrift_reader.h"
#include "telemetry/access/files.h"
#include "telemetry/access/record.h"
#include "telemetry/access/redact.h"
#include "telemetry/access/spool.h"

namespace sb::telemetry::access {
namespace {

namespace fs = std::filesystem;

class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::path(::testing::TempDir()) / "sb-access-XXXXXX").string();
        if (::mkdtemp(pattern.data()) != nullptr) {
            path_ = pattern;
        }
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_all(const fs::path& p, std::string_view bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Rows in a Parquet file, from its footer (FileMetaData field 3), decoded independently of the
// writer.
std::int64_t parquet_rows(const std::string& file) {
    if (file.size() < 12 || file.substr(0, 4) != "PAR1" || file.substr(file.size() - 4) != "PAR1") {
        return -1;
    }
    std::uint32_t len = 0;
    std::memcpy(&len, file.data() + file.size() - 8, 4);
    std::string_view footer(file.data() + file.size() - 8 - len, len);
    parquet::testing::CompactReader reader(footer);
    auto meta = reader.read_struct();
    return reader.ok() ? meta.field(3).i : -1;
}

std::vector<fs::path> files_under(const fs::path& root) {
    std::vector<fs::path> out;
    if (!fs::exists(root)) {
        return out;
    }
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (e.is_regular_file()) {
            out.push_back(e.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

AccessRecord sample_record(int i) {
    AccessRecord r;
    r.request_id = "req-" + std::to_string(i);
    r.started_at_us = 1'764'084'000'000'000 + i;  // 2025-11-25T15:20:00Z
    r.finished_at_us = r.started_at_us + 1500;
    r.endpoint = "/v1/chat/completions";
    r.method = "POST";
    r.principal = "svc-a";
    r.key_id = "key_1a2b";
    r.team = "search";
    r.model_requested = "gpt-4o-mini";
    r.target = "gpt-4o-mini-2024-07-18";
    r.provider = "openai";
    r.status = 200;
    r.total_ms = 1.5;
    r.overhead_ms = 0.25;
    r.ttft_ms = 0.75;
    r.tokens_in = 12;
    r.tokens_out = 34;
    r.tokens_cached = 0;
    r.tokens_reasoning = 5;
    r.cost_usd = 0.000123;
    r.attempts = 2;
    r.stream = true;
    r.cache_outcome = "miss";
    r.guardrail_outcome = "pass";
    r.attempt_details = {{1, "openai", "gpt-4o-mini", 429, "rate_limited", r.started_at_us, 0.5},
                         {2, "openai", "gpt-4o-mini", 200, "", r.started_at_us + 600, 0.9}};
    return r;
}

Options local_options(const TempDir& dir) {
    Options o;
    o.directory = (dir.path() / "out").string();
    o.spool_dir = (dir.path() / "spool").string();
    o.fsync_interval = std::chrono::milliseconds(5);
    o.retry_initial = std::chrono::milliseconds(5);
    o.retry_max = std::chrono::milliseconds(20);
    o.close_timeout = std::chrono::milliseconds(2000);
    return o;
}

// -- spool framing ----------------------------------------------------------------------------

std::string segment_of(const std::vector<std::string>& payloads) {
    std::string seg(kSegmentMagic);
    for (const auto& p : payloads) {
        append_frame(seg, p);
    }
    return seg;
}

TEST(AccessSpool, FramesRoundTripWithLengthAndCrc) {
    std::string seg = segment_of({"alpha", "b", std::string(70'000, 'x')});
    // The first frame: length 5, CRC-32C of "alpha", then the bytes.
    std::uint32_t len = 0;
    std::uint32_t crc = 0;
    std::memcpy(&len, seg.data() + 8, 4);
    std::memcpy(&crc, seg.data() + 12, 4);
    EXPECT_EQ(len, 5u);
    EXPECT_EQ(crc, 0x78d92f81u);  // CRC-32C of "alpha" (bitwise reference, in Python)
    auto parsed = parse_segment(seg);
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->payloads.size(), 3u);
    EXPECT_EQ(parsed->payloads[0], "alpha");
    EXPECT_EQ(parsed->payloads[1], "b");
    EXPECT_EQ(parsed->payloads[2].size(), 70'000u);
    EXPECT_FALSE(parsed->torn);
    EXPECT_EQ(parsed->valid_bytes, seg.size());
}

TEST(AccessSpool, Crc32cMatchesTheStandardCheckValues) {
    EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // the CRC-32C check value
    EXPECT_EQ(crc32c(""), 0u);
    // RFC 3720 (iSCSI), appendix B.4.
    EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
    EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
    std::string ascending;
    for (int i = 0; i < 32; ++i) {
        ascending.push_back(static_cast<char>(i));
    }
    EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
    // Long and unaligned: whole words, then a tail of single bytes.
    std::string longer(1002, '\0');
    for (std::size_t i = 0; i < longer.size(); ++i) {
        longer[i] = static_cast<char>((i * 7) % 256);
    }
    EXPECT_EQ(crc32c(std::string_view(longer).substr(0, 1001)), 0x4C693FD5u);
    EXPECT_EQ(crc32c(std::string_view(longer).substr(1)),
              crc32c(std::string(longer.begin() + 1, longer.end())));
    // The portable fallback agrees with whatever crc32c() used here.
    for (std::size_t n : {0, 1, 7, 8, 9, 31, 32, 1001}) {
        const std::string_view part = std::string_view(longer).substr(0, n);
        EXPECT_EQ(crc32c_portable(part), crc32c(part)) << n;
    }
    EXPECT_EQ(crc32c_portable("123456789"), 0xE3069283u);
}

TEST(AccessSpool, SegmentsOfTheFirstFormatAreStillRead) {
    // "SBSPOOL1" segments (zlib CRC-32), as an older gateway left them: replayed, not refused.
    std::string seg(kSegmentMagicV1);
    for (std::string_view p : {"one", "two"}) {
        const auto len = static_cast<std::uint32_t>(p.size());
        const std::uint32_t crc = crc32(p);
        seg.append(reinterpret_cast<const char*>(&len), 4);
        seg.append(reinterpret_cast<const char*>(&crc), 4);
        seg.append(p);
    }
    auto parsed = parse_segment(seg);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->payloads, (std::vector<std::string>{"one", "two"}));
    EXPECT_FALSE(parsed->torn);
    // Checked with their own CRC: the new checksum does not validate them.
    std::string wrong(kSegmentMagic);
    wrong.append(seg, kSegmentMagicV1.size());
    parsed = parse_segment(wrong);
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parsed->payloads.empty());
    EXPECT_TRUE(parsed->torn);
}

TEST(AccessSpool, TornTailKeepsEveryCompleteFrameBeforeIt) {
    const std::string full = segment_of({"one", "two", "three"});
    const std::string two = segment_of({"one", "two"});
    // Every cut inside the third frame keeps exactly the first two.
    for (std::size_t cut = two.size() + 1; cut < full.size(); ++cut) {
        auto parsed = parse_segment(std::string_view(full).substr(0, cut));
        ASSERT_TRUE(parsed);
        ASSERT_EQ(parsed->payloads.size(), 2u) << cut;
        EXPECT_TRUE(parsed->torn);
        EXPECT_EQ(parsed->valid_bytes, two.size());
    }
}

TEST(AccessSpool, CrcMismatchStopsReadingAtTheCorruptFrame) {
    std::string seg = segment_of({"one", "two", "three"});
    const std::size_t second_payload = 8 + (8 + 3) + 8;
    seg[second_payload] ^= 0x01;  // flip a bit of "two"
    auto parsed = parse_segment(seg);
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->payloads.size(), 1u);
    EXPECT_EQ(parsed->payloads[0], "one");
    EXPECT_TRUE(parsed->torn);
}

TEST(AccessSpool, AbsurdLengthIsCorruptionNotAnAllocation) {
    std::string seg(kSegmentMagic);
    seg += std::string("\xff\xff\xff\x7f\0\0\0\0", 8);
    auto parsed = parse_segment(seg);
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parsed->payloads.empty());
    EXPECT_TRUE(parsed->torn);
}

TEST(AccessSpool, BadMagicIsAnError) {
    EXPECT_FALSE(parse_segment("NOTASPOOL"));
}

TEST(AccessSpool, SegmentNamesRoundTrip) {
    EXPECT_EQ(segment_file_name(42), "seg-00000000000000000042.spool");
    EXPECT_EQ(parse_segment_file_name("seg-00000000000000000042.spool"), 42u);
    EXPECT_EQ(parse_segment_file_name("seg-0000000000000000004x.spool"), 0u);
    EXPECT_EQ(parse_segment_file_name("seg-42.spool"), 0u);
    EXPECT_EQ(parse_segment_file_name("seg-00000000000000000042.spool.tmp"), 0u);
}

TEST(AccessSpool, WriterAppendsAndReaderReadsBack) {
    TempDir dir;
    auto w = SegmentWriter::create(dir.path().string(), 7);
    ASSERT_TRUE(w);
    std::string frames;
    append_frame(frames, "a");
    append_frame(frames, "bc");
    ASSERT_TRUE(w->append(frames));
    ASSERT_TRUE(w->sync());
    ASSERT_TRUE(w->close());
    EXPECT_FALSE(SegmentWriter::create(dir.path().string(), 7));  // never reopened
    auto contents = read_segment((dir.path() / segment_file_name(7)).string());
    ASSERT_TRUE(contents);
    EXPECT_EQ(contents->payloads, (std::vector<std::string>{"a", "bc"}));
    auto ids = list_segments(dir.path().string());
    ASSERT_TRUE(ids);
    EXPECT_EQ(*ids, std::vector<std::uint64_t>{7});
    // close() cut the preallocated reserve: the file holds exactly what was written.
    EXPECT_EQ(fs::file_size(dir.path() / segment_file_name(7)), w->bytes());
}

TEST(AccessSpool, ZeroFilledReserveAfterTheFramesIsNotTorn) {
    // What a crash leaves of a preallocated segment: frames, then zeros to the reserve's end.
    std::string seg = segment_of({"one", "two"}) + std::string(4096, '\0');
    auto parsed = parse_segment(seg);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->payloads, (std::vector<std::string>{"one", "two"}));
    EXPECT_FALSE(parsed->torn);
    EXPECT_EQ(parsed->valid_bytes, segment_of({"one", "two"}).size());
    // A half-written frame before the zeros is torn, and the frames before it are kept.
    std::string half = segment_of({"one", "three"});
    half.resize(half.size() - 2);
    half += std::string(4096, '\0');
    parsed = parse_segment(half);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->payloads, std::vector<std::string>{"one"});
    EXPECT_TRUE(parsed->torn);
}

TEST(AccessSpool, AppendsAreInTheFileBeforeCloseOrSync) {
    // A process kill leaves the page cache intact: what append() returned from must be readable
    // by another reader of the file without sync() or close(), past several growths of the
    // reserve, and its zero tail must not count as corruption.
    TempDir dir;
    auto w = SegmentWriter::create(dir.path().string(), 9);
    ASSERT_TRUE(w);
    EXPECT_TRUE(w->mapped());
    std::vector<std::string> payloads;
    std::string frames;
    for (int i = 0; frames.size() < 3 * SegmentWriter::kInitialReserve; ++i) {
        payloads.push_back(std::string(1000 + i % 700, static_cast<char>('a' + i % 26)));
        std::string one;
        append_frame(one, payloads.back());
        ASSERT_TRUE(w->append(one));
        frames += one;
    }
    const auto path = (dir.path() / segment_file_name(9)).string();
    EXPECT_GT(fs::file_size(path), w->bytes());  // the reserve is still there
    auto contents = read_segment(path);
    ASSERT_TRUE(contents);
    EXPECT_EQ(contents->payloads, payloads);
    EXPECT_FALSE(contents->torn);
    EXPECT_EQ(contents->valid_bytes, w->bytes());
    ASSERT_TRUE(w->close());
    EXPECT_EQ(fs::file_size(path), kSegmentMagic.size() + frames.size());
}

TEST(AccessSpool, PlainWritesWhereNothingCanBeMappedHoldTheSameFrames) {
    TempDir dir;
    auto w = SegmentWriter::create(dir.path().string(), 10, /*mapped=*/false);
    ASSERT_TRUE(w);
    EXPECT_FALSE(w->mapped());
    std::vector<std::string> payloads;
    for (int i = 0; i < 300; ++i) {
        payloads.push_back(std::string(5000 + i, static_cast<char>('a' + i % 26)));
        std::string one;
        append_frame(one, payloads.back());
        ASSERT_TRUE(w->append(one));
    }
    const auto path = (dir.path() / segment_file_name(10)).string();
    EXPECT_EQ(fs::file_size(path), w->bytes());  // no reserve: the file is what was written
    auto contents = read_segment(path);
    ASSERT_TRUE(contents);
    EXPECT_EQ(contents->payloads, payloads);
    EXPECT_FALSE(contents->torn);
    ASSERT_TRUE(w->sync());
    ASSERT_TRUE(w->close());
    EXPECT_EQ(fs::file_size(path), w->bytes());
}

TEST(AccessSpool, AZeroFilledSegmentIsEmptyNotCorrupt) {
    // Created and preallocated, then a crash before the magic reached the disk.
    TempDir dir;
    const auto path = (dir.path() / segment_file_name(11)).string();
    std::ofstream(path, std::ios::binary) << std::string(8192, '\0');
    auto contents = read_segment(path);
    ASSERT_TRUE(contents);
    EXPECT_TRUE(contents->payloads.empty());
    EXPECT_FALSE(contents->torn);
}

// -- record codec -----------------------------------------------------------------------------

TEST(AccessRecordCodec, RoundTripsEveryField) {
    AccessRecord r = sample_record(3);
    r.request_body = "{\"q\":1}";
    std::string bytes;
    encode(r, bytes);
    auto back = decode(bytes);
    ASSERT_TRUE(back);
    std::string again;
    encode(*back, again);
    EXPECT_EQ(again, bytes);
    EXPECT_EQ(back->request_id, "req-3");
    EXPECT_EQ(back->tokens_reasoning, 5);
    EXPECT_FALSE(back->response_body.has_value());
    ASSERT_EQ(back->attempt_details.size(), 2u);
    EXPECT_EQ(back->attempt_details[0].error_code, "rate_limited");
}

TEST(AccessRecordCodec, DecodingIntoAReusedRecordLeavesNothingOfTheLastOne) {
    // deliver() decodes a segment's records one after another into one AccessRecord.
    AccessRecord full = sample_record(1);
    full.request_body = "{\"q\":1}";
    full.response_body = "{\"a\":2}";
    AccessRecord bare;
    bare.request_id = "r2";
    bare.status = 503;
    std::string full_bytes;
    std::string bare_bytes;
    encode(full, full_bytes);
    encode(bare, bare_bytes);
    AccessRecord r;
    ASSERT_TRUE(decode(full_bytes, r));
    ASSERT_TRUE(decode(bare_bytes, r));
    std::string again;
    encode(r, again);
    EXPECT_EQ(again, bare_bytes);
    EXPECT_FALSE(r.request_body.has_value());
    EXPECT_TRUE(r.attempt_details.empty());
    EXPECT_TRUE(r.principal.empty());
    // And back: nothing of the bare record stays either.
    ASSERT_TRUE(decode(full_bytes, r));
    again.clear();
    encode(r, again);
    EXPECT_EQ(again, full_bytes);
}

TEST(AccessRecordCodec, EveryTruncationIsAnError) {
    std::string bytes;
    encode(sample_record(1), bytes);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        EXPECT_FALSE(decode(std::string_view(bytes).substr(0, n))) << n;
    }
    EXPECT_FALSE(decode(bytes + "x"));
}

// -- Parquet files ----------------------------------------------------------------------------

TEST(AccessFiles, PartitionIsUtcDateAndHour) {
    EXPECT_EQ(partition_of(0), "dt=1970-01-01/hour=00");
    EXPECT_EQ(partition_of(1'764'084'000'000'000), "dt=2025-11-25/hour=15");
    EXPECT_EQ(partition_of(951'782'400'000'000 + 23 * 3'600'000'000LL), "dt=2000-02-29/hour=23");
    EXPECT_EQ(partition_of(-1), "dt=1969-12-31/hour=23");
}

TEST(AccessFiles, SegmentBecomesRequestsAndAttemptsFilesWithDeterministicNames) {
    std::vector<AccessRecord> records{sample_record(0), sample_record(1)};
    records[1].attempt_details.clear();
    auto files = encode_segment(records, 1234, 3);
    ASSERT_TRUE(files);
    ASSERT_EQ(files->size(), 2u);
    EXPECT_EQ((*files)[0].name, "requests/dt=2025-11-25/hour=15/00000000000000001234.parquet");
    EXPECT_EQ((*files)[1].name, "attempts/dt=2025-11-25/hour=15/00000000000000001234.parquet");
    EXPECT_EQ(parquet_rows((*files)[0].bytes), 2);
    EXPECT_EQ(parquet_rows((*files)[1].bytes), 2);
    auto again = encode_segment(records, 1234, 3);
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)[0].bytes, (*files)[0].bytes);  // replay writes the same bytes
}

TEST(AccessFiles, NoAttemptDetailsMeansNoAttemptsFile) {
    AccessRecord r = sample_record(0);
    r.attempt_details.clear();
    auto files = encode_segment({r}, 1, 3);
    ASSERT_TRUE(files);
    EXPECT_EQ(files->size(), 1u);
}

// -- redaction --------------------------------------------------------------------------------

TEST(AccessRedact, ReplacesEveryMatchOfEveryPattern) {
    auto r = Redactor::create({"sk-[A-Za-z0-9]+", R"(\d{3}-\d{2}-\d{4})"});
    ASSERT_TRUE(r);
    std::string text = "key sk-abc123 and sk-XYZ, ssn 123-45-6789.";
    (*r)->redact(text);
    EXPECT_EQ(text, "key [REDACTED] and [REDACTED], ssn [REDACTED].");
}

TEST(AccessRedact, BadPatternIsAnErrorNamingIt) {
    auto r = Redactor::create({"ok", "(unclosed"});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("pattern 1"), std::string::npos);
}

TEST(AccessRedact, InvalidUtf8BecomesReplacementCharacters) {
    std::string s =
        "a\xff"
        "b\xc3\xa9"
        "c\xe2\x82";
    make_valid_utf8(s);
    EXPECT_EQ(s,
              "a\xef\xbf\xbd"
              "b\xc3\xa9"
              "c\xef\xbf\xbd\xef\xbf\xbd");
    std::string overlong = "\xc0\xaf";
    make_valid_utf8(overlong);
    EXPECT_EQ(overlong, "\xef\xbf\xbd\xef\xbf\xbd");
}

// -- the pipeline -----------------------------------------------------------------------------

TEST(AccessLogPipeline, DeliversSubmittedRecordsToTheLocalFolder) {
    TempDir dir;
    AccessLog log(local_options(dir));
    ASSERT_TRUE(log.open());
    for (int i = 0; i < 100; ++i) {
        EXPECT_TRUE(log.submit(sample_record(i)));
    }
    ASSERT_TRUE(log.wait_delivered(std::chrono::seconds(20)));
    auto files = files_under(dir.path() / "out" / "requests");
    std::int64_t rows = 0;
    for (const auto& f : files) {
        EXPECT_EQ(f.parent_path().filename(), "hour=15");
        EXPECT_EQ(f.parent_path().parent_path().filename(), "dt=2025-11-25");
        rows += parquet_rows(read_all(f));
    }
    EXPECT_EQ(rows, 100);
    auto s = log.stats();
    EXPECT_EQ(s.records_delivered, 100u);
    EXPECT_EQ(s.records_dropped, 0u);
    // Delivered segments are deleted; what is left is the empty segment the next records go to.
    EXPECT_EQ(s.spool_bytes, kSegmentMagic.size());
    EXPECT_EQ(files_under(dir.path() / "spool").size(), 1u);
    log.close();
    EXPECT_TRUE(files_under(dir.path() / "spool").empty());
}

TEST(AccessLogPipeline, ConcurrentSubmittersLoseAndDuplicateNothing) {
    for (bool write_through : {true, false}) {
        TempDir dir;
        Options o = local_options(dir);
        o.write_through = write_through;
        o.rotate_bytes = 16 * 1024;  // many segments sealed while the threads write
        AccessLog log(o);
        ASSERT_TRUE(log.open());
        constexpr int kThreads = 4;
        constexpr int kPerThread = 500;
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&log, t] {
                for (int i = 0; i < kPerThread; ++i) {
                    log.submit(sample_record(t * kPerThread + i));
                }
            });
        }
        for (auto& t : threads) {
            t.join();
        }
        ASSERT_TRUE(log.wait_delivered(std::chrono::seconds(30)));
        std::int64_t rows = 0;
        for (const auto& f : files_under(dir.path() / "out" / "requests")) {
            rows += parquet_rows(read_all(f));
        }
        EXPECT_EQ(rows, kThreads * kPerThread) << "write_through=" << write_through;
        EXPECT_EQ(log.stats().records_delivered, std::uint64_t{kThreads * kPerThread});
        EXPECT_EQ(log.stats().records_dropped, 0u);
    }
}

TEST(AccessLogPipeline, RotatesBySize) {
    TempDir dir;
    Options o = local_options(dir);
    o.rotate_bytes = 2048;  // a few records per segment
    AccessLog log(o);
    ASSERT_TRUE(log.open());
    for (int i = 0; i < 50; ++i) {
        log.submit(sample_record(i));
        if (i % 5 == 4) {
            // Give the writer separate batches, so segments fill up one batch at a time.
            ASSERT_TRUE(log.wait_delivered(std::chrono::seconds(20)));
        }
    }
    ASSERT_TRUE(log.wait_delivered(std::chrono::seconds(20)));
    auto files = files_under(dir.path() / "out" / "requests");
    EXPECT_GE(files.size(), 10u);
    std::int64_t rows = 0;
    for (const auto& f : files) {
        rows += parquet_rows(read_all(f));
    }
    EXPECT_EQ(rows, 50);
}

TEST(AccessLogPipeline, RotatesByAgeWithoutAnExplicitFlush) {
    TempDir dir;
    Options o = local_options(dir);
    o.rotate_age = std::chrono::milliseconds(50);
    AccessLog log(o);
    ASSERT_TRUE(log.open());
    log.submit(sample_record(1));
    // No flush(): the writer seals the segment when it is 50 ms old. Wait for the file itself.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (log.stats().files_delivered < 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
    }
    EXPECT_EQ(log.stats().files_delivered, 2u);  // requests + attempts
    EXPECT_EQ(files_under(dir.path() / "out" / "requests").size(), 1u);
}

TEST(AccessLogPipeline, ReplaysLeftoverSegmentsIncludingATornTail) {
    TempDir dir;
    const auto spool = dir.path() / "spool";
    fs::create_directories(spool);
    std::string seg(kSegmentMagic);
    for (int i = 0; i < 3; ++i) {
        std::string payload;
        encode(sample_record(i), payload);
        append_frame(seg, payload);
    }
    seg += std::string("\x20\0\0\0\x01\x02", 6);  // a torn fourth frame
    write_all(spool / segment_file_name(555), seg);

    AccessLog log(local_options(dir));
    ASSERT_TRUE(log.open());
    ASSERT_TRUE(log.wait_delivered(std::chrono::seconds(20)));
    const auto file = dir.path() / "out" / "requests" / "dt=2025-11-25" / "hour=15" /
                      "00000000000000000555.parquet";
    ASSERT_TRUE(fs::exists(file));
    EXPECT_EQ(parquet_rows(read_all(file)), 3);
    EXPECT_EQ(log.stats().corrupt_frames, 1u);
    EXPECT_FALSE(fs::exists(spool / segment_file_name(555)));
    log.close();
}

TEST(AccessLogPipeline, ReplayingTheSameSegmentAgainDoesNotDuplicate) {
    TempDir dir;
    const auto spool = dir.path() / "spool";
    fs::create_directories(spool);
    std::string seg(kSegmentMagic);
    for (int i = 0; i < 4; ++i) {
        std::string payload;
        encode(sample_record(i), payload);
        append_frame(seg, payload);
    }
    std::string first_bytes;
    for (int run = 0; run < 2; ++run) {
        // As after a crash between delivery and deleting the segment: it is there again.
        write_all(spool / segment_file_name(777), seg);
        AccessLog log(local_options(dir));
        ASSERT_TRUE(log.open());
        ASSERT_TRUE(log.wait_delivered(std::chrono::seconds(20)));
        log.close();
        auto files = files_under(dir.path() / "out" / "requests");
        ASSERT_EQ(files.size(), 1u);
        if (run == 0) {
            first_bytes = read_all(files[0]);
        } else {
            EXPECT_EQ(read_all(files[0]), first_bytes);
        }
        EXPECT_EQ(parquet_rows(read_all(files[0])), 4);
    }
}

TEST(AccessLogPipeline, RecordsSurviveCloseWhenTheDestinationIsDown) {
    TempDir dir;
    // An S3 endpoint nobody listens on: a port we bound and closed.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t alen = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen);
    ::close(fd);
    Options o = local_options(dir);
    o.directory.clear();
    o.s3 = S3Options{};
    o.s3->endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    o.s3->bucket = "logs";
    o.s3->access_key_id = "AKID";
    o.s3->secret_access_key = "secret";
    o.close_timeout = std::chrono::milliseconds(100);
    {
        AccessLog log(o);
        ASSERT_TRUE(log.open());
        for (int i = 0; i < 10; ++i) {
            log.submit(sample_record(i));
        }
        EXPECT_FALSE(log.wait_delivered(std::chrono::milliseconds(300)));
        EXPECT_GT(log.stats().delivery_failures, 0u);
        log.close();
    }
    // The spool still holds all ten records for the next start.
    auto ids = list_segments((dir.path() / "spool").string());
    ASSERT_TRUE(ids);
    std::size_t records = 0;
    for (auto id : *ids) {
        auto c = read_segment((dir.path() / "spool" / segment_file_name(id)).string());
        ASSERT_TRUE(c);
        records += c->payloads.size();
    }
    EXPECT_EQ(records, 10u);
}

TEST(AccessLogPipeline, RefusePolicyTurnsAcceptingOffWhenTheSpoolIsFull) {
    TempDir dir;
    Options o = local_options(dir);
    o.directory.clear();
    o.s3 = S3Options{};
    o.s3->endpoint = "http://127.0.0.1:1";  // never delivers
    o.s3->bucket = "logs";
    o.s3->access_key_id = "AKID";
    o.s3->secret_access_key = "secret";
    o.spool_max_bytes = 1024;
    o.close_timeout = std::chrono::milliseconds(50);
    AccessLog log(o);
    ASSERT_TRUE(log.open());
    EXPECT_TRUE(log.accepting());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int i = 0;
    while (log.accepting() && std::chrono::steady_clock::now() < deadline) {
        log.submit(sample_record(i++));
        log.flush();
    }
    EXPECT_FALSE(log.accepting());
    EXPECT_EQ(log.stats().records_dropped, 0u);  // refuse never drops
    std::string text;
    log.append_prometheus(text);
    EXPECT_NE(text.find("switchboard_access_log_accepting 0\n"), std::string::npos);
    log.close();
}

TEST(AccessLogPipeline, DropNewPolicyCountsWhatItDrops) {
    TempDir dir;
    Options o = local_options(dir);
    o.directory.clear();
    o.s3 = S3Options{};
    o.s3->endpoint = "http://127.0.0.1:1";
    o.s3->bucket = "logs";
    o.s3->access_key_id = "AKID";
    o.s3->secret_access_key = "secret";
    o.spool_max_bytes = 1024;
    o.policy = SpoolPolicy::DropNew;
    o.close_timeout = std::chrono::milliseconds(50);
    AccessLog log(o);
    ASSERT_TRUE(log.open());
    for (int i = 0; i < 20; ++i) {
        log.submit(sample_record(i));
        log.flush();
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (log.stats().records_spooled + log.stats().records_dropped < 20 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
    }
    auto s = log.stats();
    EXPECT_TRUE(log.accepting());
    EXPECT_GT(s.records_dropped, 0u);
    EXPECT_EQ(s.records_spooled + s.records_dropped, 20u);
    std::string text;
    log.append_prometheus(text);
    EXPECT_NE(text.find("switchboard_access_log_records_dropped_total{reason=\"spool_full\"} " +
                        std::to_string(s.records_dropped) + "\n"),
              std::string::npos);
    log.close();
}

TEST(AccessLogPipeline, BodiesAreDroppedUnlessEnabledAndRedactedWhenKept) {
    // The spool is what the files are made from: check it with delivery blocked.
    for (bool bodies : {false, true}) {
        TempDir dir;
        Options o = local_options(dir);
        o.directory.clear();
        o.s3 = S3Options{};
        o.s3->endpoint = "http://127.0.0.1:1";
        o.s3->bucket = "b";
        o.s3->access_key_id = "AKID";
        o.s3->secret_access_key = "secret";
        o.close_timeout = std::chrono::milliseconds(10);
        o.bodies = bodies;
        o.redact_patterns = {"sk-canary[0-9]+"};
        {
            AccessLog log(o);
            ASSERT_TRUE(log.open());
            AccessRecord r = sample_record(1);
            r.request_body = "{\"key\":\"sk-canary123\",\"q\":\"hi\"}";
            r.response_body = "answer";
            log.submit(std::move(r));
            log.close();
        }
        auto ids = list_segments((dir.path() / "spool").string());
        ASSERT_TRUE(ids);
        ASSERT_EQ(ids->size(), 1u);
        auto c = read_segment((dir.path() / "spool" / segment_file_name(ids->front())).string());
        ASSERT_TRUE(c);
        ASSERT_EQ(c->payloads.size(), 1u);
        auto rec = decode(c->payloads[0]);
        ASSERT_TRUE(rec);
        if (bodies) {
            EXPECT_EQ(rec->request_body, "{\"key\":\"[REDACTED]\",\"q\":\"hi\"}");
            EXPECT_EQ(rec->response_body, "answer");
        } else {
            EXPECT_FALSE(rec->request_body.has_value());
            EXPECT_FALSE(rec->response_body.has_value());
        }
        EXPECT_EQ(c->payloads[0].find("sk-canary123"), std::string::npos);
    }
}

TEST(AccessLogPipeline, OpenRejectsBadOptions) {
    TempDir dir;
    Options o = local_options(dir);
    o.redact_patterns = {"(bad"};
    AccessLog bad_pattern(o);
    EXPECT_FALSE(bad_pattern.open());
    Options none = local_options(dir);
    none.directory.clear();
    AccessLog no_destination(none);
    EXPECT_FALSE(no_destination.open());
}

TEST(AccessLogPipeline, MetricsTextHasEveryCounter) {
    TempDir dir;
    AccessLog log(local_options(dir));
    ASSERT_TRUE(log.open());
    log.submit(sample_record(1));
    ASSERT_TRUE(log.wait_delivered(std::chrono::seconds(20)));
    std::string text;
    log.append_prometheus(text);
    for (const char* line :
         {"switchboard_access_log_queue_depth 0\n", "switchboard_access_log_spool_bytes 8\n",
          "switchboard_access_log_records_written_total 1\n",
          "switchboard_access_log_records_delivered_total 1\n",
          "switchboard_access_log_files_delivered_total 2\n",
          "switchboard_access_log_delivery_failures_total 0\n",
          "# TYPE switchboard_access_log_records_dropped_total counter\n"}) {
        EXPECT_NE(text.find(line), std::string::npos) << line;
    }
}

// -- S3 addressing and signing ----------------------------------------------------------------

TEST(AccessS3, PathStyleAndVirtualHostedUrls) {
    S3Options o;
    o.endpoint = "http://127.0.0.1:9000/";
    o.bucket = "logs";
    o.prefix = "gw/";
    S3Destination path_style(o, [] { return 0; });
    auto t = path_style.target_for("requests/dt=2025-11-25/hour=15/1.parquet");
    EXPECT_EQ(t.host, "127.0.0.1:9000");
    EXPECT_EQ(t.path, "/logs/gw/requests/dt%3D2025-11-25/hour%3D15/1.parquet");
    EXPECT_EQ(t.url, "http://127.0.0.1:9000/logs/gw/requests/dt%3D2025-11-25/hour%3D15/1.parquet");
    o.path_style = false;
    o.endpoint = "https://s3.eu-west-1.amazonaws.com";
    S3Destination virtual_hosted(o, [] { return 0; });
    t = virtual_hosted.target_for("a b.parquet");
    EXPECT_EQ(t.host, "logs.s3.eu-west-1.amazonaws.com");
    EXPECT_EQ(t.url, "https://logs.s3.eu-west-1.amazonaws.com/gw/a%20b.parquet");
}

// AWS's published S3 SigV4 example "PUT Object" (Authenticating Requests: Using the
// Authorization Header, Signature Version 4): key "test$file.text" sent as /test%24file.text
// and signed as sent, not encoded a second time.
TEST(AccessS3, SignsTheWirePathOnceLikeAwsPutObjectExample) {
    aws::sigv4::Request req;
    req.method = "PUT";
    req.host = "examplebucket.s3.amazonaws.com";
    req.path = "/test%24file.text";
    req.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                   {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
    req.payload = "Welcome to Amazon S3.";
    aws::sigv4::Options opts;
    opts.region = "us-east-1";
    opts.service = "s3";
    opts.s3_path = true;
    auto sig = aws::sigv4::sign(
        req, {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""}, opts,
        1369353600);
    EXPECT_EQ(sig.authorization,
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
              "aws4_request, SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
              "x-amz-storage-class, Signature="
              "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

}  // namespace
}  // namespace sb::telemetry::access
