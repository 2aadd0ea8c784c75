#include "api/openai_request.h"

#include <gtest/gtest.h>

namespace sb::api {
namespace {

Result<InboundRequest> inspect(Endpoint e, std::string body) {
    body.reserve(body.size() + kJsonPadding);
    return inspect_request(e, body, body.capacity());
}

TEST(InspectRequest, ReadsModelStreamAndIncludeUsage) {
    auto r = inspect(Endpoint::ChatCompletions,
                     R"({"model":"m1","messages":[],"stream":true,"stream_options":{"include_usage":true}})");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->model, "m1");
    EXPECT_TRUE(r->stream);
    EXPECT_TRUE(r->include_usage);
}

TEST(InspectRequest, LocatesModelTokenIncludingEscapes) {
    std::string body = R"({"messages":[], "model" : "a\"b\\c", "x":1})";
    auto r = inspect(Endpoint::ChatCompletions, body);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->model, "a\"b\\c");
    EXPECT_EQ(body.substr(r->model_offset, r->model_length), R"("a\"b\\c")");
}

TEST(InspectRequest, RejectsMalformedJson) {
    for (const char* bad : {"", "{", R"({"model":"m",})", "[1,2]", "{\"model\":\"\xff\"}"}) {
        auto r = inspect(Endpoint::ChatCompletions, bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code == ErrorCode::InvalidJson ||
                      r.error().code == ErrorCode::InvalidRequest,
                  true);
    }
}

TEST(InspectRequest, NamesTheParameterWithAWrongType) {
    struct Case {
        Endpoint e;
        const char* body;
        const char* param;
    };
    const Case cases[] = {
        {Endpoint::ChatCompletions, R"({"model":1,"messages":[]})", "model"},
        {Endpoint::ChatCompletions, R"({"model":"m","messages":{}})", "messages"},
        {Endpoint::ChatCompletions, R"({"model":"m","messages":[],"stream":1})", "stream"},
        {Endpoint::ChatCompletions, R"({"model":"m","messages":[],"max_tokens":1.5})",
         "max_tokens"},
        {Endpoint::ChatCompletions, R"({"model":"m","messages":[],"temperature":"hot"})",
         "temperature"},
        {Endpoint::ChatCompletions,
         R"({"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":"y"}})",
         "stream_options.include_usage"},
        {Endpoint::ChatCompletions, R"({"model":"m"})", "messages"},
        {Endpoint::Completions, R"({"model":"m","prompt":5})", "prompt"},
        {Endpoint::Embeddings, R"({"model":"m"})", "input"},
        {Endpoint::Embeddings, R"({"model":"m","input":"x","stream":true})", "stream"},
        {Endpoint::ChatCompletions, R"({"model":"","messages":[]})", "model"},
    };
    for (const auto& c : cases) {
        auto r = inspect(c.e, c.body);
        ASSERT_FALSE(r) << c.body;
        EXPECT_EQ(r.error().code, ErrorCode::InvalidRequest) << c.body;
        EXPECT_EQ(r.error().param, c.param) << c.body;
    }
}

TEST(InspectRequest, RefusesDuplicateModelEvenWhenEscaped) {
    auto r = inspect(Endpoint::ChatCompletions, R"({"model":"a","messages":[],"m\u006fdel":"b"})");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().param, "model");
}

TEST(InspectRequest, AcceptsNullForNullableFields) {
    auto r = inspect(Endpoint::ChatCompletions,
                     R"({"model":"m","messages":[],"stream":null,"max_tokens":null,"tools":null})");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->stream);
}

TEST(RewriteModel, ChangesOnlyTheModelToken) {
    std::string body = "{ \"messages\":[] ,\n \"model\":\"pub\" ,\"z\":\"model\"}";
    auto r = inspect(Endpoint::ChatCompletions, body);
    ASSERT_TRUE(r);
    EXPECT_EQ(rewrite_model(body, *r, "up/\"x\""),
              "{ \"messages\":[] ,\n \"model\":\"up/\\\"x\\\"\" ,\"z\":\"model\"}");
}

}  // namespace
}  // namespace sb::api
