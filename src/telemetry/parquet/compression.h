#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "telemetry/parquet/format.h"

struct ZSTD_CCtx_s;

namespace sb::telemetry::parquet::detail {

// Compresses page bodies with one codec, reusing a zstd context across pages. The zstd frame
// is what Parquet's ZSTD codec means (Compression.md). One per Writer; not thread-safe.
class PageCompressor {
  public:
    // Fails (InvalidRequest) on a zstd level outside ZSTD_minCLevel()..ZSTD_maxCLevel().
    static Result<PageCompressor> create(CompressionCodec codec, int zstd_level);

    CompressionCodec codec() const { return codec_; }
    // Replaces `out` with `input` compressed (or copied, for Uncompressed).
    Status compress(std::string_view input, std::string& out);

  private:
    struct ContextDeleter {
        void operator()(ZSTD_CCtx_s* context) const;
    };

    PageCompressor(CompressionCodec codec, int zstd_level) : codec_(codec), level_(zstd_level) {}

    CompressionCodec codec_;
    int level_;
    std::unique_ptr<ZSTD_CCtx_s, ContextDeleter> zstd_;
};

}  // namespace sb::telemetry::parquet::detail
