#include "telemetry/parquet/compression.h"

#include <zstd.h>

namespace sb::telemetry::parquet::detail {

void PageCompressor::ContextDeleter::operator()(ZSTD_CCtx_s* context) const {
    ZSTD_freeCCtx(context);
}

Result<PageCompressor> PageCompressor::create(CompressionCodec codec, int zstd_level) {
    PageCompressor compressor(codec, zstd_level);
    if (codec == CompressionCodec::Zstd) {
        if (zstd_level < ZSTD_minCLevel() || zstd_level > ZSTD_maxCLevel()) {
            return fail(ErrorCode::InvalidRequest,
                        "parquet: zstd level " + std::to_string(zstd_level) + " out of range " +
                            std::to_string(ZSTD_minCLevel()) + ".." +
                            std::to_string(ZSTD_maxCLevel()));
        }
        compressor.zstd_.reset(ZSTD_createCCtx());
        if (!compressor.zstd_) {
            return fail(ErrorCode::Internal, "parquet: ZSTD_createCCtx failed");
        }
    }
    return compressor;
}

Status PageCompressor::compress(std::string_view input, std::string& out) {
    if (codec_ == CompressionCodec::Uncompressed) {
        out.assign(input);
        return {};
    }
    out.resize(ZSTD_compressBound(input.size()));
    const std::size_t n =
        ZSTD_compressCCtx(zstd_.get(), out.data(), out.size(), input.data(), input.size(), level_);
    if (ZSTD_isError(n) != 0) {
        return fail(ErrorCode::Internal,
                    std::string("parquet: zstd compression failed: ") + ZSTD_getErrorName(n));
    }
    out.resize(n);
    return {};
}

}  // namespace sb::telemetry::parquet::detail
