#include "core/error.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sb {
namespace {

TEST(ErrorTable, MapsEveryCodeToItsStatusAndType) {
    struct Case {
        ErrorCode code;
        int status;
        const char* type;
    };
    const Case cases[] = {
        {ErrorCode::InvalidRequest, 400, "invalid_request_error"},
        {ErrorCode::InvalidJson, 400, "invalid_request_error"},
        {ErrorCode::BadFraming, 400, "invalid_request_error"},
        {ErrorCode::Unauthorized, 401, "authentication_error"},
        {ErrorCode::PermissionDenied, 403, "permission_denied"},
        {ErrorCode::NotFound, 404, "invalid_request_error"},
        {ErrorCode::ModelNotFound, 404, "invalid_request_error"},
        {ErrorCode::MethodNotAllowed, 405, "invalid_request_error"},
        {ErrorCode::RequestTimeout, 408, "invalid_request_error"},
        {ErrorCode::PayloadTooLarge, 413, "invalid_request_error"},
        {ErrorCode::UnsupportedMediaType, 415, "invalid_request_error"},
        {ErrorCode::HeadersTooLarge, 431, "invalid_request_error"},
        {ErrorCode::RateLimited, 429, "rate_limit_error"},
        {ErrorCode::Internal, 500, "server_error"},
        {ErrorCode::UpstreamError, 502, "upstream_error"},
        {ErrorCode::UpstreamAuth, 502, "upstream_error"},
        {ErrorCode::UpstreamUnreachable, 502, "upstream_error"},
        {ErrorCode::UpstreamBadResponse, 502, "upstream_error"},
        {ErrorCode::UpstreamTimeout, 504, "upstream_error"},
        {ErrorCode::Unavailable, 503, "server_error"},
        {ErrorCode::ContentFiltered, 400, "invalid_request_error"},
    };
    for (const auto& c : cases) {
        Error e(c.code, "m");
        EXPECT_EQ(http_status(e), c.status) << static_cast<int>(c.code);
        EXPECT_EQ(error_type(e), c.type) << static_cast<int>(c.code);
        // InvalidRequest has a null `code`, as OpenAI's own validation errors do.
        EXPECT_EQ(error_code_name(e).empty(),
                  c.code == ErrorCode::InvalidRequest || c.code == ErrorCode::UpstreamError);
    }
}

TEST(ErrorTable, UpstreamErrorKeepsUpstreamStatusTypeAndCode) {
    Error e(ErrorCode::UpstreamError, "Rate limit reached");
    e.upstream_status = 429;
    e.upstream_type = "requests";
    e.upstream_code = "rate_limit_exceeded";
    EXPECT_EQ(http_status(e), 429);
    EXPECT_EQ(error_type(e), "requests");
    EXPECT_EQ(error_code_name(e), "rate_limit_exceeded");
}

TEST(ErrorTable, UpstreamAuthIsAlways502) {
    Error e(ErrorCode::UpstreamAuth, "rejected");
    e.upstream_status = 401;
    EXPECT_EQ(http_status(e), 502);
}

TEST(RenderOpenAiError, ProducesOpenAiShapeWithEscaping) {
    Error e(ErrorCode::InvalidRequest, "bad \"x\"\n\x01", "messages");
    auto v = boost::json::parse(render_openai_error(e)).as_object();
    auto& err = v.at("error").as_object();
    EXPECT_EQ(err.at("message").as_string(), "bad \"x\"\n\x01");
    EXPECT_EQ(err.at("type").as_string(), "invalid_request_error");
    EXPECT_EQ(err.at("param").as_string(), "messages");
    EXPECT_TRUE(err.at("code").is_null());
}

TEST(RenderOpenAiError, NullParamWhenNone) {
    auto v = boost::json::parse(render_openai_error(Error(ErrorCode::ModelNotFound, "x")));
    EXPECT_TRUE(v.at("error").at("param").is_null());
    EXPECT_EQ(v.at("error").at("code").as_string(), "model_not_found");
}

}  // namespace
}  // namespace sb
