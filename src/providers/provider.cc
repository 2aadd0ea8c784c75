#include "providers/provider.h"

#include <fmt/format.h>

namespace sb::providers {

Result<http::UpstreamRequest> Adapter::build_embeddings(const config::Provider& provider,
                                                        std::string_view /*openai_body*/,
                                                        EmbeddingsContext& ctx) const {
    return fail(ErrorCode::InvalidRequest,
                fmt::format("The model '{}' is served by provider type {}, which has no "
                            "embeddings endpoint this gateway can translate to.",
                            ctx.public_model, config::to_string(provider.type)),
                "model");
}

Result<std::string> Adapter::translate_embeddings_response(std::string_view /*upstream_body*/,
                                                           const EmbeddingsContext& ctx) const {
    return fail(
        ErrorCode::Internal,
        fmt::format("The provider of model '{}' has no embeddings translation.", ctx.public_model));
}

}  // namespace sb::providers
