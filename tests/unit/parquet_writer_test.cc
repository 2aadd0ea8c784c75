#include <gtest/gtest.h>
#include <stdlib.h>
#include <zstd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "parquet/thrift_reader.h"
#include "telemetry/parquet/row_group_builder.h"
#include "telemetry/parquet/schema.h"
#include "telemetry/parquet/sink.h"
#include "telemetry/parquet/writer.h"

namespace sb::telemetry::parquet {
namespace {

using testing::CompactReader;
using testing::Node;

// parquet.thrift ids used below.
constexpr int kTypeBoolean = 0;
constexpr int kTypeInt32 = 1;
constexpr int kTypeInt64 = 2;
constexpr int kTypeDouble = 5;
constexpr int kTypeByteArray = 6;
constexpr int kPlain = 0;
constexpr int kRle = 3;
constexpr int kCodecUncompressed = 0;
constexpr int kCodecZstd = 6;

Schema make_schema(std::vector<Column> columns) {
    auto schema = Schema::create(std::move(columns));
    EXPECT_TRUE(schema.has_value());
    return *std::move(schema);
}

WriterOptions uncompressed() {
    WriterOptions options;
    options.compression = Compression::Uncompressed;
    return options;
}

// Runs `fill` on a writer over a StringSink, finishes, returns the file.
template <typename Fill>
std::string write_parquet(const Schema& schema, WriterOptions options, Fill fill) {
    StringSink sink;
    auto writer = Writer::open(schema, std::move(options), sink);
    EXPECT_TRUE(writer.has_value());
    if (!writer) {
        return {};
    }
    fill(*writer);
    auto ok = writer->finish();
    EXPECT_TRUE(ok.has_value()) << (ok ? "" : ok.error().message);
    return sink.take();
}

// One column, one row group holding `cells`.
std::string write_column(Column column, std::vector<Value> cells,
                         WriterOptions options = uncompressed()) {
    return write_parquet(make_schema({std::move(column)}), std::move(options), [&](Writer& w) {
        for (const auto& cell : cells) {
            ASSERT_TRUE(w.rows().append_row({cell}).has_value());
        }
    });
}

std::uint32_t read_le32(const std::string& s, std::size_t at) {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
        v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + k])) << (8 * k);
    }
    return v;
}

template <typename T>
std::string le(T value) {
    auto bits = static_cast<std::make_unsigned_t<T>>(value);
    std::string out;
    for (std::size_t k = 0; k < sizeof(T); ++k) {
        out.push_back(static_cast<char>(bits & 0xFF));
        bits = static_cast<decltype(bits)>(bits >> 8);
    }
    return out;
}

std::string le_double(double v) {
    return le(std::bit_cast<std::int64_t>(v));
}

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) {
        out.push_back(static_cast<char>(v));
    }
    return out;
}

// Decodes the footer: "PAR1" ... FileMetaData, its 4-byte little-endian length, "PAR1".
Node footer_of(const std::string& file) {
    if (file.size() < 12) {
        ADD_FAILURE() << "file too short: " << file.size();
        return {};
    }
    EXPECT_EQ(file.substr(0, 4), "PAR1");
    EXPECT_EQ(file.substr(file.size() - 4), "PAR1");
    const std::uint32_t length = read_le32(file, file.size() - 8);
    EXPECT_LE(length + 12u, file.size());
    CompactReader reader(std::string_view(file).substr(file.size() - 8 - length, length));
    Node footer = reader.read_struct();
    EXPECT_TRUE(reader.ok());
    EXPECT_EQ(reader.position(), length) << "footer length covers exactly the FileMetaData";
    return footer;
}

// FileMetaData.row_groups[group].columns[column].meta_data
const Node& chunk_meta(const Node& footer, std::size_t group, std::size_t column) {
    return footer.field(4).items.at(group).field(1).items.at(column).field(3);
}

const Node& stats_of(const Node& footer, std::size_t column = 0) {
    return chunk_meta(footer, 0, column).field(12);
}

struct Page {
    Node header;
    std::string body;  // decompressed
};

// Walks the pages of one column chunk, from data_page_offset over total_compressed_size bytes.
std::vector<Page> pages_of(const std::string& file, const Node& meta) {
    std::vector<Page> pages;
    auto pos = static_cast<std::size_t>(meta.field(9).i);
    const std::size_t end = pos + static_cast<std::size_t>(meta.field(7).i);
    while (pos < end) {
        CompactReader reader(std::string_view(file).substr(pos, end - pos));
        Page page;
        page.header = reader.read_struct();
        EXPECT_TRUE(reader.ok());
        pos += reader.position();
        const auto compressed = static_cast<std::size_t>(page.header.field(3).i);
        const auto uncompressed = static_cast<std::size_t>(page.header.field(2).i);
        const std::string stored = file.substr(pos, compressed);
        pos += compressed;
        if (meta.field(4).i == kCodecZstd) {
            page.body.resize(uncompressed);
            const std::size_t n =
                ZSTD_decompress(page.body.data(), page.body.size(), stored.data(), stored.size());
            EXPECT_EQ(ZSTD_isError(n), 0u);
            EXPECT_EQ(n, uncompressed);
        } else {
            EXPECT_EQ(compressed, uncompressed);
            page.body = stored;
        }
        pages.push_back(std::move(page));
    }
    EXPECT_EQ(pos, end) << "pages fill the chunk exactly";
    return pages;
}

// --- footer ---

TEST(ParquetFooter, FileIsMagicPagesFooterLengthMagic) {
    const std::string file = write_column({"n", ColumnType::Int64, false}, {std::int64_t{7}});
    const Node footer = footer_of(file);
    EXPECT_EQ(footer.field(1).i, 1);  // version
    EXPECT_EQ(footer.field(3).i, 1);  // num_rows
    EXPECT_EQ(footer.field(6).s, "switchboard");
    EXPECT_EQ(footer.field(4).items.size(), 1u);
    // The single page starts right after the leading magic.
    EXPECT_EQ(chunk_meta(footer, 0, 0).field(9).i, 4);
}

TEST(ParquetFooter, SchemaIsRootThenOneLeafPerColumn) {
    const Schema schema = make_schema({
        {"b", ColumnType::Boolean, false},
        {"i", ColumnType::Int32, true},
        {"l", ColumnType::Int64, false},
        {"d", ColumnType::Double, true},
        {"s", ColumnType::String, true},
        {"t", ColumnType::Timestamp, false},
    });
    const Node footer = footer_of(write_parquet(schema, uncompressed(), [](Writer&) {}));
    const auto& elements = footer.field(2).items;
    ASSERT_EQ(elements.size(), 7u);

    const Node& root = elements[0];
    EXPECT_EQ(root.field(4).s, "schema");
    EXPECT_EQ(root.field(5).i, 6);  // num_children
    EXPECT_FALSE(root.has(1));      // a group has no type
    EXPECT_FALSE(root.has(3));      // nor, as the root, a repetition

    struct Want {
        const char* name;
        int type;
        int repetition;  // 0 REQUIRED, 1 OPTIONAL
    };
    const Want want[] = {{"b", kTypeBoolean, 0}, {"i", kTypeInt32, 1},     {"l", kTypeInt64, 0},
                         {"d", kTypeDouble, 1},  {"s", kTypeByteArray, 1}, {"t", kTypeInt64, 0}};
    for (std::size_t k = 0; k < 6; ++k) {
        const Node& e = elements[k + 1];
        EXPECT_EQ(e.field(4).s, want[k].name);
        EXPECT_EQ(e.field(1).i, want[k].type) << want[k].name;
        EXPECT_EQ(e.field(3).i, want[k].repetition) << want[k].name;
        EXPECT_FALSE(e.has(5)) << "leaves have no num_children";
    }
    for (std::size_t k : {1, 2, 3, 4}) {
        EXPECT_FALSE(elements[k].has(6)) << "no converted type";
        EXPECT_FALSE(elements[k].has(10)) << "no logical type";
    }

    const Node& s = elements[5];
    EXPECT_EQ(s.field(6).i, 0);                               // ConvertedType UTF8
    EXPECT_EQ(s.field(10).field_ids, (std::vector<int>{1}));  // LogicalType.STRING
    EXPECT_TRUE(s.field(10).field(1).field_ids.empty());      // StringType {}

    const Node& t = elements[6];
    EXPECT_EQ(t.field(6).i, 10);                              // ConvertedType TIMESTAMP_MICROS
    ASSERT_EQ(t.field(10).field_ids, (std::vector<int>{8}));  // LogicalType.TIMESTAMP
    const Node& timestamp = t.field(10).field(8);
    EXPECT_EQ(timestamp.field(1).type, 1);
    EXPECT_TRUE(timestamp.field(1).b);                               // isAdjustedToUTC
    EXPECT_EQ(timestamp.field(2).field_ids, (std::vector<int>{2}));  // unit: MICROS
    EXPECT_TRUE(timestamp.field(2).field(2).field_ids.empty());      // MicroSeconds {}

    // One TYPE_ORDER column order per leaf.
    const auto& orders = footer.field(7).items;
    ASSERT_EQ(orders.size(), 6u);
    for (const Node& order : orders) {
        EXPECT_EQ(order.field_ids, (std::vector<int>{1}));
    }
    EXPECT_EQ(footer.field(3).i, 0);
    EXPECT_TRUE(footer.field(4).items.empty());
    EXPECT_EQ(footer.field(4).type, 9) << "row_groups is written even when empty";
}

TEST(ParquetFooter, RowGroupsAndChunksAccountForEveryByte) {
    const Schema schema =
        make_schema({{"id", ColumnType::Int64, false}, {"name", ColumnType::String, true}});
    WriterOptions options;  // ZSTD
    options.key_value_metadata = {{"switchboard.schema_version", "3"}};
    const std::string file = write_parquet(schema, options, [](Writer& w) {
        for (int group = 0; group < 2; ++group) {
            for (int k = 0; k < 10 + group; ++k) {
                const Value name = k % 3 == 0 ? Value(Null{}) : Value(std::string_view("x"));
                ASSERT_TRUE(w.rows().append_row({std::int64_t{k}, name}).has_value());
            }
            ASSERT_TRUE(w.flush().has_value());
        }
    });
    const Node footer = footer_of(file);
    EXPECT_EQ(footer.field(3).i, 21);
    const auto& groups = footer.field(4).items;
    ASSERT_EQ(groups.size(), 2u);

    std::int64_t expected_offset = 4;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        const Node& group = groups[g];
        EXPECT_EQ(group.field(3).i, 10 + static_cast<int>(g));  // num_rows
        EXPECT_EQ(group.field(5).i, expected_offset);           // file_offset: first page
        EXPECT_EQ(group.field(7).i, static_cast<int>(g));       // ordinal
        std::int64_t uncompressed = 0;
        std::int64_t compressed = 0;
        ASSERT_EQ(group.field(1).items.size(), 2u);
        for (std::size_t c = 0; c < 2; ++c) {
            const Node& chunk = group.field(1).items[c];
            EXPECT_EQ(chunk.field(2).i, 0);  // deprecated file_offset
            const Node& meta = chunk.field(3);
            EXPECT_EQ(meta.field(1).i, c == 0 ? kTypeInt64 : kTypeByteArray);
            std::vector<std::int64_t> encodings;
            for (const Node& e : meta.field(2).items) {
                encodings.push_back(e.i);
            }
            const std::vector<std::int64_t> want_encodings =
                c == 0 ? std::vector<std::int64_t>{kPlain}
                       : std::vector<std::int64_t>{kPlain, kRle};
            EXPECT_EQ(encodings, want_encodings);
            ASSERT_EQ(meta.field(3).items.size(), 1u);
            EXPECT_EQ(meta.field(3).items[0].s, c == 0 ? "id" : "name");
            EXPECT_EQ(meta.field(4).i, kCodecZstd);
            EXPECT_EQ(meta.field(5).i, 10 + static_cast<int>(g));  // num_values, nulls included
            EXPECT_EQ(meta.field(9).i, expected_offset);           // chunks are contiguous
            std::int64_t page_bytes = 0;
            std::int64_t page_uncompressed = 0;
            for (const Page& page : pages_of(file, meta)) {
                page_bytes += page.header.field(3).i;
                page_uncompressed += page.header.field(2).i;
            }
            EXPECT_GT(meta.field(7).i, page_bytes) << "total sizes include the page headers";
            EXPECT_EQ(meta.field(6).i - meta.field(7).i, page_uncompressed - page_bytes);
            expected_offset += meta.field(7).i;
            uncompressed += meta.field(6).i;
            compressed += meta.field(7).i;
        }
        EXPECT_EQ(group.field(2).i, uncompressed);  // total_byte_size
        EXPECT_EQ(group.field(6).i, compressed);    // total_compressed_size
    }
    // The footer starts where the last chunk ends.
    const std::uint32_t footer_length = read_le32(file, file.size() - 8);
    EXPECT_EQ(static_cast<std::size_t>(expected_offset) + footer_length + 8, file.size());

    ASSERT_EQ(footer.field(5).items.size(), 1u);
    EXPECT_EQ(footer.field(5).items[0].field(1).s, "switchboard.schema_version");
    EXPECT_EQ(footer.field(5).items[0].field(2).s, "3");
}

// --- pages ---

TEST(ParquetPages, NullableColumnPageIsLengthPrefixedLevelsThenPlainValues) {
    const std::string file =
        write_column({"n", ColumnType::Int32, true}, {std::int32_t{1}, Null{}, std::int32_t{3}});
    const Node footer = footer_of(file);
    const auto pages = pages_of(file, chunk_meta(footer, 0, 0));
    ASSERT_EQ(pages.size(), 1u);
    const Node& header = pages[0].header;
    EXPECT_EQ(header.field(1).i, 0);  // DATA_PAGE
    const Node& data = header.field(5);
    EXPECT_EQ(data.field(1).i, 3);  // num_values, the null included
    EXPECT_EQ(data.field(2).i, kPlain);
    EXPECT_EQ(data.field(3).i, kRle);  // definition levels
    EXPECT_EQ(data.field(4).i, kRle);  // repetition levels (none written)
    // Levels 1 0 1: one bit-packed group (header 0x03, bits 101 = 0x05), length 2 in front.
    const std::string want =
        bytes({2, 0, 0, 0, 0x03, 0x05}) + le(std::int32_t{1}) + le(std::int32_t{3});
    EXPECT_EQ(pages[0].body, want);
}

TEST(ParquetPages, PlainEncodingOfEveryType) {
    const Schema schema = make_schema({
        {"b", ColumnType::Boolean, false},
        {"i", ColumnType::Int32, false},
        {"l", ColumnType::Int64, false},
        {"d", ColumnType::Double, false},
        {"s", ColumnType::String, false},
        {"t", ColumnType::Timestamp, false},
    });
    for (Compression compression : {Compression::Uncompressed, Compression::Zstd}) {
        WriterOptions options;
        options.compression = compression;
        const std::string file = write_parquet(schema, options, [](Writer& w) {
            ASSERT_TRUE(w.rows()
                            .append_row({true, std::int32_t{-2}, std::int64_t{-1}, 1.0,
                                         std::string_view("hé"), Timestamp{-1}})
                            .has_value());
            ASSERT_TRUE(w.rows()
                            .append_row({false, std::int32_t{258}, std::int64_t{1}, -0.0,
                                         std::string_view(""), Timestamp{1700000000000000}})
                            .has_value());
            ASSERT_TRUE(w.rows()
                            .append_row({true, std::int32_t{0}, std::int64_t{0}, 0.5,
                                         std::string_view("z"), Timestamp{0}})
                            .has_value());
        });
        const Node footer = footer_of(file);
        const std::string want[] = {
            bytes({0x05}),  // 1 0 1, LSB first
            le(std::int32_t{-2}) + le(std::int32_t{258}) + le(std::int32_t{0}),
            le(std::int64_t{-1}) + le(std::int64_t{1}) + le(std::int64_t{0}),
            le_double(1.0) + le_double(-0.0) + le_double(0.5),
            le(std::uint32_t{3}) + "hé" + le(std::uint32_t{0}) + le(std::uint32_t{1}) + "z",
            le(std::int64_t{-1}) + le(std::int64_t{1700000000000000}) + le(std::int64_t{0}),
        };
        for (std::size_t c = 0; c < 6; ++c) {
            const Node& meta = chunk_meta(footer, 0, c);
            EXPECT_EQ(meta.field(4).i,
                      compression == Compression::Zstd ? kCodecZstd : kCodecUncompressed);
            const auto pages = pages_of(file, meta);
            ASSERT_EQ(pages.size(), 1u);
            EXPECT_EQ(pages[0].body, want[c]) << "column " << c;
        }
    }
}

TEST(ParquetPages, ChunksAreCutIntoPagesNearTheTarget) {
    WriterOptions options;
    options.page_target_bytes = 100;
    std::vector<Value> cells;
    for (int k = 0; k < 1000; ++k) {
        cells.push_back(k % 10 == 0 ? Value(Null{}) : Value(std::int64_t{k}));
    }
    const std::string file = write_column({"n", ColumnType::Int64, true}, cells, options);
    const Node footer = footer_of(file);
    const auto pages = pages_of(file, chunk_meta(footer, 0, 0));
    EXPECT_GT(pages.size(), 50u);
    std::int64_t values = 0;
    std::size_t present = 0;
    for (const Page& page : pages) {
        values += page.header.field(5).field(1).i;
        const std::uint32_t levels = read_le32(page.body, 0);
        const std::size_t value_bytes = page.body.size() - 4 - levels;
        EXPECT_EQ(value_bytes % 8, 0u);
        EXPECT_LE(value_bytes, 2 * options.page_target_bytes);
        present += value_bytes / 8;
    }
    EXPECT_EQ(values, 1000);
    EXPECT_EQ(present, 900u);
}

// --- statistics ---

std::string min_of(const Node& stats) {
    return stats.field(6).s;
}
std::string max_of(const Node& stats) {
    return stats.field(5).s;
}

TEST(ParquetStatistics, IntegersAndTimestampsUseSignedOrder) {
    Node footer = footer_of(
        write_column({"i", ColumnType::Int32, false},
                     {std::int32_t{-5}, std::int32_t{3}, std::int32_t{-100}, std::int32_t{7}}));
    EXPECT_EQ(min_of(stats_of(footer)), le(std::int32_t{-100}));
    EXPECT_EQ(max_of(stats_of(footer)), le(std::int32_t{7}));

    footer = footer_of(write_column({"l", ColumnType::Int64, false},
                                    {std::numeric_limits<std::int64_t>::max(), std::int64_t{-1},
                                     std::numeric_limits<std::int64_t>::min()}));
    EXPECT_EQ(min_of(stats_of(footer)), le(std::numeric_limits<std::int64_t>::min()));
    EXPECT_EQ(max_of(stats_of(footer)), le(std::numeric_limits<std::int64_t>::max()));

    footer =
        footer_of(write_column({"t", ColumnType::Timestamp, false}, {Timestamp{5}, Timestamp{-7}}));
    EXPECT_EQ(min_of(stats_of(footer)), le(std::int64_t{-7}));
    EXPECT_EQ(max_of(stats_of(footer)), le(std::int64_t{5}));
}

TEST(ParquetStatistics, StringsUseUnsignedByteOrder) {
    // Signed chars would put "é" (0xC3 0xA9) before "A"; UTF-8 order puts it after "z".
    Node footer =
        footer_of(write_column({"s", ColumnType::String, false},
                               {std::string_view("b"), std::string_view("é"), std::string_view("a"),
                                std::string_view("Z"), std::string_view("")}));
    EXPECT_EQ(min_of(stats_of(footer)), "");
    EXPECT_EQ(max_of(stats_of(footer)), "é");

    footer = footer_of(write_column({"s", ColumnType::String, false},
                                    {std::string_view("abc"), std::string_view("ab")}));
    EXPECT_EQ(min_of(stats_of(footer)), "ab");  // a prefix sorts first
    EXPECT_EQ(max_of(stats_of(footer)), "abc");

    footer = footer_of(write_column({"s", ColumnType::String, false},
                                    {std::string_view("\U0001F680"), std::string_view("\x7f")}));
    EXPECT_EQ(min_of(stats_of(footer)), "\x7f");
    EXPECT_EQ(max_of(stats_of(footer)), "\U0001F680");
}

TEST(ParquetStatistics, BooleansOrderFalseBeforeTrue) {
    Node footer = footer_of(write_column({"b", ColumnType::Boolean, false}, {true, true}));
    EXPECT_EQ(min_of(stats_of(footer)), bytes({1}));
    EXPECT_EQ(max_of(stats_of(footer)), bytes({1}));
    footer = footer_of(write_column({"b", ColumnType::Boolean, false}, {true, false, true}));
    EXPECT_EQ(min_of(stats_of(footer)), bytes({0}));
    EXPECT_EQ(max_of(stats_of(footer)), bytes({1}));
}

TEST(ParquetStatistics, DoublesLeaveOutNanAndWriteZeroBoundsAsMinusAndPlusZero) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Node footer = footer_of(write_column({"d", ColumnType::Double, false}, {nan, 0.0, 2.0}));
    EXPECT_EQ(min_of(stats_of(footer)), le_double(-0.0));
    EXPECT_EQ(max_of(stats_of(footer)), le_double(2.0));
    EXPECT_EQ(stats_of(footer).field(9).i, 1);  // nan_count

    footer = footer_of(write_column({"d", ColumnType::Double, false}, {-3.0, -0.0}));
    EXPECT_EQ(min_of(stats_of(footer)), le_double(-3.0));
    EXPECT_EQ(max_of(stats_of(footer)), le_double(0.0));
    EXPECT_EQ(stats_of(footer).field(9).i, 0);
    EXPECT_TRUE(stats_of(footer).has(9)) << "nan_count is written even when zero";

    footer = footer_of(write_column({"d", ColumnType::Double, false}, {nan, -nan}));
    EXPECT_FALSE(stats_of(footer).has(5));
    EXPECT_FALSE(stats_of(footer).has(6));
    EXPECT_EQ(stats_of(footer).field(9).i, 2);

    footer = footer_of(write_column({"d", ColumnType::Double, false},
                                    {std::numeric_limits<double>::infinity(), -1e300}));
    EXPECT_EQ(min_of(stats_of(footer)), le_double(-1e300));
    EXPECT_EQ(max_of(stats_of(footer)), le_double(std::numeric_limits<double>::infinity()));
}

TEST(ParquetStatistics, NullCountIsAlwaysWrittenAndAllNullChunksHaveNoBounds) {
    Node footer = footer_of(write_column({"n", ColumnType::Int64, true}, {Null{}, Null{}}));
    EXPECT_EQ(stats_of(footer).field(3).i, 2);
    EXPECT_FALSE(stats_of(footer).has(5));
    EXPECT_FALSE(stats_of(footer).has(6));

    footer = footer_of(write_column({"n", ColumnType::Int64, true},
                                    {Null{}, std::int64_t{4}, Null{}, std::int64_t{-4}}));
    EXPECT_EQ(stats_of(footer).field(3).i, 2);
    EXPECT_EQ(min_of(stats_of(footer)), le(std::int64_t{-4}));

    footer = footer_of(write_column({"n", ColumnType::Int64, false}, {std::int64_t{4}}));
    EXPECT_TRUE(stats_of(footer).has(3));
    EXPECT_EQ(stats_of(footer).field(3).i, 0);
    EXPECT_FALSE(stats_of(footer).has(1)) << "no deprecated max";
    EXPECT_FALSE(stats_of(footer).has(2)) << "no deprecated min";
}

TEST(ParquetStatistics, BoundsAreMarkedExact) {
    const Node footer = footer_of(write_column({"n", ColumnType::Int32, false}, {std::int32_t{1}}));
    EXPECT_TRUE(stats_of(footer).field(7).b);  // is_max_value_exact
    EXPECT_TRUE(stats_of(footer).field(8).b);  // is_min_value_exact
    EXPECT_FALSE(stats_of(footer).has(9)) << "nan_count only for floating point";
}

TEST(ParquetStatistics, LongStringsLoseTheirBoundsButKeepTheNullCount) {
    WriterOptions options = uncompressed();
    options.statistics_max_bytes = 8;
    const Node footer = footer_of(write_column(
        {"s", ColumnType::String, true},
        {std::string_view("short"), Null{}, std::string_view("much too long")}, options));
    EXPECT_FALSE(stats_of(footer).has(5));
    EXPECT_FALSE(stats_of(footer).has(6));
    EXPECT_FALSE(stats_of(footer).has(7));
    EXPECT_EQ(stats_of(footer).field(3).i, 1);
}

TEST(ParquetStatistics, EachRowGroupHasItsOwnBounds) {
    const Schema schema = make_schema({{"n", ColumnType::Int32, false}});
    const Node footer = footer_of(write_parquet(schema, uncompressed(), [](Writer& w) {
        for (std::int32_t v : {5, 1, 9}) {
            ASSERT_TRUE(w.rows().column(0).append_int32(v).has_value());
        }
        ASSERT_TRUE(w.flush().has_value());
        for (std::int32_t v : {-2, -8}) {
            ASSERT_TRUE(w.rows().column(0).append_int32(v).has_value());
        }
    }));
    EXPECT_EQ(chunk_meta(footer, 0, 0).field(12).field(6).s, le(std::int32_t{1}));
    EXPECT_EQ(chunk_meta(footer, 0, 0).field(12).field(5).s, le(std::int32_t{9}));
    EXPECT_EQ(chunk_meta(footer, 1, 0).field(12).field(6).s, le(std::int32_t{-8}));
    EXPECT_EQ(chunk_meta(footer, 1, 0).field(12).field(5).s, le(std::int32_t{-2}));
}

// --- schema and builders ---

TEST(ParquetSchema, RejectsEmptyDuplicateAndUnnamedColumns) {
    EXPECT_FALSE(Schema::create({}).has_value());
    EXPECT_FALSE(Schema::create({{"", ColumnType::Int32, false}}).has_value());
    auto duplicate =
        Schema::create({{"a", ColumnType::Int32, false}, {"a", ColumnType::Int64, true}});
    ASSERT_FALSE(duplicate.has_value());
    EXPECT_EQ(duplicate.error().code, ErrorCode::InvalidRequest);
    EXPECT_NE(duplicate.error().message.find("'a'"), std::string::npos);
    auto ok = Schema::create({{"a", ColumnType::Int32, false}, {"b", ColumnType::String, true}});
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->index_of("b"), 1u);
    EXPECT_FALSE(ok->index_of("c").has_value());
}

TEST(ParquetSchema, ValidatesUtf8) {
    using sb::telemetry::parquet::is_valid_utf8;
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain"));
    EXPECT_TRUE(is_valid_utf8("héllo 日本語 \U0001F680 \U0010FFFF"));
    EXPECT_FALSE(is_valid_utf8("\x80"));              // lone continuation byte
    EXPECT_FALSE(is_valid_utf8("\xC0\x80"));          // overlong NUL
    EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // UTF-16 surrogate
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xE6\x97"));          // truncated
    EXPECT_FALSE(is_valid_utf8("\xFF"));
    // Past the eight-byte ASCII fast path, in a whole word and in the tail.
    EXPECT_TRUE(is_valid_utf8("0123456789abcdef 日本語"));
    EXPECT_FALSE(is_valid_utf8("01234567\xED\xA0\x80 and more ASCII"));
    EXPECT_FALSE(is_valid_utf8("0123456789\xFF"));
}

TEST(ParquetWriter, AppendsRejectTheWrongTypeAndAppendNothing) {
    RowGroupBuilder rows(make_schema({{"n", ColumnType::Int64, false}}));
    ColumnBuilder& n = rows.column(0);
    auto wrong = n.append_int32(1);
    ASSERT_FALSE(wrong.has_value());
    EXPECT_EQ(wrong.error().code, ErrorCode::InvalidRequest);
    EXPECT_EQ(wrong.error().message, "parquet column 'n' is INT64, not INT32");
    EXPECT_FALSE(n.append(Value(1)).has_value()) << "an int literal is an INT32 value";
    EXPECT_FALSE(n.append_string("1").has_value());
    EXPECT_FALSE(n.append_timestamp(Timestamp{1}).has_value());
    EXPECT_FALSE(n.append_null().has_value()) << "required column";
    EXPECT_EQ(n.size(), 0u);
    EXPECT_TRUE(n.append(Value(std::int64_t{1})).has_value());
    EXPECT_EQ(n.size(), 1u);
}

TEST(ParquetWriter, StringsMustBeUtf8) {
    RowGroupBuilder rows(make_schema({{"s", ColumnType::String, true}}));
    EXPECT_FALSE(rows.column(0).append_string("\xC3").has_value());
    EXPECT_TRUE(rows.column(0).append_string("").has_value());
    EXPECT_TRUE(rows.column(0).append_string("日本語").has_value());
    EXPECT_TRUE(rows.column(0).append_null().has_value());
    EXPECT_EQ(rows.column(0).size(), 3u);
    EXPECT_EQ(rows.column(0).null_count(), 1u);
    EXPECT_EQ(rows.column(0).string_at(1), "日本語");
}

TEST(ParquetWriter, AppendRowIsAllOrNothing) {
    RowGroupBuilder rows(make_schema({{"a", ColumnType::Int64, false},
                                      {"b", ColumnType::String, true},
                                      {"c", ColumnType::Double, false}}));
    EXPECT_FALSE(rows.append_row({std::int64_t{1}, std::string_view("x"), Null{}}).has_value());
    EXPECT_FALSE(rows.append_row({std::int64_t{1}, std::string_view("x")}).has_value());
    for (std::size_t c = 0; c < 3; ++c) {
        EXPECT_EQ(rows.column(c).size(), 0u);
    }
    EXPECT_TRUE(rows.append_row({std::int64_t{1}, Null{}, 2.5}).has_value());
    EXPECT_EQ(rows.num_rows(), 1u);
    EXPECT_TRUE(rows.consistent());
}

TEST(ParquetWriter, FlushRejectsColumnsOfDifferentLengths) {
    StringSink sink;
    auto writer = Writer::open(
        make_schema({{"a", ColumnType::Int32, false}, {"b", ColumnType::Int32, false}}),
        uncompressed(), sink);
    ASSERT_TRUE(writer.has_value());
    ASSERT_TRUE(writer->rows().column(0).append_int32(1).has_value());
    auto ok = writer->flush();
    ASSERT_FALSE(ok.has_value());
    EXPECT_EQ(ok.error().code, ErrorCode::InvalidRequest);
    ASSERT_TRUE(writer->rows().column(1).append_int32(2).has_value());
    EXPECT_TRUE(writer->finish().has_value()) << "a caller bug does not poison the writer";
    EXPECT_EQ(footer_of(sink.data()).field(3).i, 1);
}

TEST(ParquetWriter, FlushIfFullCutsRowGroupsAtTheTargetSize) {
    WriterOptions options;
    options.row_group_target_bytes = 1000;  // 125 INT64 values
    const Schema schema = make_schema({{"n", ColumnType::Int64, false}});
    StringSink sink;
    auto writer = Writer::open(schema, options, sink);
    ASSERT_TRUE(writer.has_value());
    for (int k = 0; k < 1000; ++k) {
        ASSERT_TRUE(writer->rows().append_row({std::int64_t{k}}).has_value());
        ASSERT_TRUE(writer->flush_if_full().has_value());
    }
    EXPECT_EQ(writer->row_groups_written(), 8u);
    EXPECT_EQ(writer->rows_written(), 1000);
    ASSERT_TRUE(writer->finish().has_value());
    EXPECT_EQ(writer->bytes_written(), sink.data().size());
    const Node footer = footer_of(sink.data());
    EXPECT_EQ(footer.field(3).i, 1000);
    ASSERT_EQ(footer.field(4).items.size(), 8u);
    for (const Node& group : footer.field(4).items) {
        EXPECT_EQ(group.field(3).i, 125);
    }
}

TEST(ParquetWriter, WriteRowGroupTakesAnOutsideBuilderForTheSameSchema) {
    const Schema schema = make_schema({{"n", ColumnType::Int32, false}});
    StringSink sink;
    auto writer = Writer::open(schema, uncompressed(), sink);
    ASSERT_TRUE(writer.has_value());
    RowGroupBuilder batch(schema);
    ASSERT_TRUE(batch.column(0).append_int32(4).has_value());
    ASSERT_TRUE(writer->write_row_group(batch).has_value());
    EXPECT_EQ(batch.num_rows(), 1u) << "the caller's builder is left as it was";

    RowGroupBuilder other(make_schema({{"n", ColumnType::Int64, false}}));
    ASSERT_TRUE(other.column(0).append_int64(4).has_value());
    EXPECT_FALSE(writer->write_row_group(other).has_value());
    ASSERT_TRUE(writer->finish().has_value());
    EXPECT_EQ(footer_of(sink.data()).field(3).i, 1);
}

TEST(ParquetWriter, NothingIsAcceptedAfterFinish) {
    StringSink sink;
    auto writer =
        Writer::open(make_schema({{"n", ColumnType::Int32, false}}), uncompressed(), sink);
    ASSERT_TRUE(writer.has_value());
    ASSERT_TRUE(writer->finish().has_value());
    EXPECT_TRUE(writer->finished());
    const std::size_t size = sink.data().size();
    EXPECT_FALSE(writer->finish().has_value());
    EXPECT_FALSE(writer->flush().has_value());
    EXPECT_EQ(sink.data().size(), size);
}

TEST(ParquetWriter, OpenRejectsBadOptions) {
    const Schema schema = make_schema({{"n", ColumnType::Int32, false}});
    StringSink sink;
    WriterOptions options;
    options.zstd_level = 1000;
    EXPECT_FALSE(Writer::open(schema, options, sink).has_value());
    options = WriterOptions{};
    options.page_target_bytes = 0;
    EXPECT_FALSE(Writer::open(schema, options, sink).has_value());
    options = WriterOptions{};
    options.row_group_target_bytes = 0;
    EXPECT_FALSE(Writer::open(schema, options, sink).has_value());
    EXPECT_TRUE(sink.data().empty());
}

// Accepts `budget` writes, then fails every one.
class FailingSink final : public Sink {
  public:
    explicit FailingSink(int budget) : budget_(budget) {}
    Status write(std::string_view bytes) override {
        if (budget_-- <= 0) {
            return fail(ErrorCode::Internal, "disk full");
        }
        data_.append(bytes);
        return {};
    }

  private:
    int budget_;
    std::string data_;
};

TEST(ParquetWriter, ASinkFailureLeavesTheWriterFailed) {
    FailingSink sink(1);  // the magic gets through, the first column chunk does not
    auto writer =
        Writer::open(make_schema({{"n", ColumnType::Int32, false}}), uncompressed(), sink);
    ASSERT_TRUE(writer.has_value());
    ASSERT_TRUE(writer->rows().column(0).append_int32(1).has_value());
    auto ok = writer->flush();
    ASSERT_FALSE(ok.has_value());
    EXPECT_EQ(ok.error().message, "disk full");
    auto again = writer->finish();
    ASSERT_FALSE(again.has_value());
    EXPECT_NE(again.error().message.find("earlier write failed"), std::string::npos);
    EXPECT_FALSE(writer->finished());
}

// --- sinks ---

class ParquetFileSink : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "sb-parquet-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    static std::string read(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

    std::string dir_;
};

TEST_F(ParquetFileSink, WritesTheSameBytesAsTheStringSink) {
    const Schema schema = make_schema({{"s", ColumnType::String, true}});
    auto fill = [](Writer& w) {
        ASSERT_TRUE(w.rows().append_row({std::string_view("a")}).has_value());
        ASSERT_TRUE(w.rows().append_row({Null{}}).has_value());
    };
    const std::string expected = write_parquet(schema, WriterOptions{}, fill);

    const std::string path = dir_ + "/out.parquet";
    auto sink = FileSink::open(path);
    ASSERT_TRUE(sink.has_value());
    auto writer = Writer::open(schema, WriterOptions{}, *sink);
    ASSERT_TRUE(writer.has_value());
    fill(*writer);
    ASSERT_TRUE(writer->finish().has_value());
    EXPECT_TRUE(sink->sync().has_value());
    EXPECT_TRUE(sink->close().has_value());
    EXPECT_TRUE(sync_parent_directory(path).has_value());
    EXPECT_EQ(read(path), expected);
    EXPECT_FALSE(sink->write("x").has_value()) << "closed";
}

TEST_F(ParquetFileSink, CreateNewRefusesAnExistingFileReplaceTruncatesIt) {
    const std::string path = dir_ + "/f.parquet";
    {
        auto sink = FileSink::open(path);
        ASSERT_TRUE(sink.has_value());
        ASSERT_TRUE(sink->write("old contents").has_value());
    }
    auto again = FileSink::open(path, FileMode::CreateNew);
    ASSERT_FALSE(again.has_value());
    EXPECT_NE(again.error().message.find(path), std::string::npos);
    auto replace = FileSink::open(path, FileMode::Replace);
    ASSERT_TRUE(replace.has_value());
    ASSERT_TRUE(replace->write("new").has_value());
    ASSERT_TRUE(replace->close().has_value());
    EXPECT_EQ(read(path), "new");
    EXPECT_FALSE(FileSink::open(dir_ + "/missing/f.parquet").has_value());
}

}  // namespace
}  // namespace sb::telemetry::parquet
