// The Bedrock adapter's request building, credentials, error mapping and stream decoder
// behaviour. Translation cases live in the golden files (bedrock_golden_test.cc).

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "aws/sigv4.h"
#include "core/error.h"
#include "providers/bedrock/bedrock.h"
#include "providers/bedrock/eventstream.h"

namespace sb::providers::bedrock {
namespace {
namespace sigv4 = aws::sigv4;

constexpr std::int64_t kTime = 1440938160;  // 2015-08-30T12:36:00Z
constexpr std::string_view kModel = "anthropic.claude-3-5-sonnet-20240620-v1:0";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

BedrockCredentials credentials(std::string session_token = {}) {
    return {"AKIDEXAMPLE", std::string(kSecret), std::move(session_token), "us-east-1"};
}

BedrockAdapter adapter(BedrockCredentials c = credentials()) {
    return BedrockAdapter(std::move(c), [] { return kTime; });
}

config::Provider provider() {
    config::Provider p;
    p.name = "bedrock";
    return p;
}

ChatContext context(bool stream = false) {
    ChatContext ctx;
    ctx.public_model = "claude";
    ctx.upstream_model = std::string(kModel);
    ctx.stream = stream;
    ctx.response_id = "chatcmpl-1";
    ctx.created = 1700000000;
    return ctx;
}

constexpr std::string_view kHello =
    R"({"model":"claude","messages":[{"role":"user","content":"Hello"}]})";

// The header value for `name` (case-sensitive, as we write them), or nullopt.
std::optional<std::string> header(const http::UpstreamRequest& req, std::string_view name) {
    const std::string prefix = std::string(name) + ": ";
    for (const std::string& line : req.headers) {
        if (line.starts_with(prefix)) {
            return line.substr(prefix.size());
        }
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// build_chat

// End to end: body, URL and signature are what botocore's SigV4Auth produces for the same
// request (see bedrock_sigv4_test.cc for the vector's source).
TEST(BedrockRequest, SignsTheRequestAsBotocoreDoes) {
    auto req = adapter().build_chat(provider(), kHello, context());
    ASSERT_TRUE(req) << req.error().message;
    EXPECT_EQ(req->url,
              "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
              "anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
    EXPECT_EQ(req->body, R"({"messages":[{"role":"user","content":[{"text":"Hello"}]}]})");
    EXPECT_EQ(req->headers,
              (std::vector<std::string>{
                  "Content-Type: application/json",
                  "X-Amz-Date: 20150830T123600Z",
                  "X-Amz-Content-Sha256: "
                  "7421da8d1a0949a481724fee62d5886aacde03836bf58248adb73e8b61ac0d54",
                  "Authorization: AWS4-HMAC-SHA256 "
                  "Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
                  "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, "
                  "Signature=7cff346b2fe84765240d6c7289252ad8b9c8696c282819cb49398ad26a316c47",
              }));
}

TEST(BedrockRequest, StreamGoesToConverseStreamAndSignsTheSessionToken) {
    auto req =
        adapter(credentials("session-token-value")).build_chat(provider(), kHello, context(true));
    ASSERT_TRUE(req) << req.error().message;
    EXPECT_TRUE(
        req->url.ends_with("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/"
                           "converse-stream"));
    EXPECT_EQ(header(*req, "X-Amz-Security-Token"), "session-token-value");
    const auto authorization = header(*req, "Authorization");
    ASSERT_TRUE(authorization);
    EXPECT_NE(authorization->find("SignedHeaders=content-type;host;x-amz-content-sha256;"
                                  "x-amz-date;x-amz-security-token"),
              std::string::npos);
}

TEST(BedrockRequest, InferenceProfileArnIsOneEncodedPathSegment) {
    ChatContext ctx = context();
    ctx.upstream_model =
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
        "us.anthropic.claude-3-5-sonnet-20240620-v1:0";
    auto req = adapter().build_chat(provider(), kHello, ctx);
    ASSERT_TRUE(req);
    // What botocore's bedrock-runtime client puts on the wire for the same model id.
    EXPECT_EQ(req->url,
              "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
              "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F"
              "us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
}

TEST(BedrockRequest, BaseUrlReplacesTheEndpointAndIsSignedAsSent) {
    config::Provider p = provider();
    p.base_url = "http://127.0.0.1:8080/prefix/";
    auto req = adapter().build_chat(p, kHello, context());
    ASSERT_TRUE(req);
    const std::string path = "/prefix/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse";
    EXPECT_EQ(req->url, "http://127.0.0.1:8080" + path);

    sigv4::Request to_sign;
    to_sign.host = "127.0.0.1:8080";
    to_sign.path = path;
    to_sign.headers = {{"content-type", "application/json"}};
    to_sign.payload = req->body;
    const auto expected =
        sigv4::sign(to_sign, {"AKIDEXAMPLE", kSecret, ""}, {"us-east-1", "bedrock", true}, kTime);
    EXPECT_EQ(header(*req, "Authorization"), expected.authorization);
}

TEST(BedrockRequest, DefaultPortIsLeftOutOfTheSignedHost) {
    config::Provider p = provider();
    p.base_url = "https://vpce-0123.bedrock-runtime.us-east-1.vpce.amazonaws.com:443";
    auto req = adapter().build_chat(p, kHello, context());
    ASSERT_TRUE(req);
    sigv4::Request to_sign;
    to_sign.host = "vpce-0123.bedrock-runtime.us-east-1.vpce.amazonaws.com";
    to_sign.path = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse";
    to_sign.headers = {{"content-type", "application/json"}};
    to_sign.payload = req->body;
    const auto expected =
        sigv4::sign(to_sign, {"AKIDEXAMPLE", kSecret, ""}, {"us-east-1", "bedrock", true}, kTime);
    EXPECT_EQ(header(*req, "Authorization"), expected.authorization);
}

TEST(BedrockRequest, ApiKeyIsSentAsBearerWhenThereAreNoAccessKeys) {
    config::Provider p = provider();
    p.api_key = "bedrock-api-key-123";
    auto req = adapter({"", "", "", "us-west-2"}).build_chat(p, kHello, context());
    ASSERT_TRUE(req) << req.error().message;
    EXPECT_EQ(header(*req, "Authorization"), "Bearer bedrock-api-key-123");
    EXPECT_FALSE(header(*req, "X-Amz-Date"));
    EXPECT_TRUE(req->url.starts_with("https://bedrock-runtime.us-west-2.amazonaws.com/"));
}

TEST(BedrockRequest, NoCredentialsIsAnInternalError) {
    auto req = adapter({"", "", "", "us-east-1"}).build_chat(provider(), kHello, context());
    ASSERT_FALSE(req);
    EXPECT_EQ(req.error().code, ErrorCode::Internal);
}

TEST(BedrockRequest, ConfiguredHeadersAreSentUnsigned) {
    config::Provider p = provider();
    p.headers = {{"X-Trace", "abc"}};
    auto req = adapter().build_chat(p, kHello, context());
    ASSERT_TRUE(req);
    EXPECT_EQ(req->headers.back(), "X-Trace: abc");
    EXPECT_EQ(header(*req, "Authorization")->find("x-trace"), std::string::npos);
}

TEST(BedrockRequest, TimeoutsComeFromTheProvider) {
    config::Provider p = provider();
    p.timeouts.first_byte = config::Millis(1234);
    auto req = adapter().build_chat(p, kHello, context());
    ASSERT_TRUE(req);
    EXPECT_EQ(req->timeouts.first_byte, std::chrono::milliseconds(1234));
}

TEST(BedrockRequest, RefusedParameterIsA400NamingIt) {
    auto req = adapter().build_chat(
        provider(),
        R"({"model":"m","frequency_penalty":0.5,"messages":[{"role":"user","content":"x"}]})",
        context());
    ASSERT_FALSE(req);
    EXPECT_EQ(http_status(req.error()), 400);
    EXPECT_EQ(req.error().param, "frequency_penalty");
}

// ---------------------------------------------------------------------------------------------
// Credentials

TEST(BedrockCredentialsCheck, AcceptsKeysOrAnApiKey) {
    EXPECT_TRUE(validate(credentials(), provider()));
    EXPECT_TRUE(validate(credentials("token"), provider()));
    config::Provider p = provider();
    p.api_key = "key";
    EXPECT_TRUE(validate({"", "", "", "eu-central-1"}, p));
}

TEST(BedrockCredentialsCheck, NamesTheFieldAtFault) {
    const auto param_of = [](const BedrockCredentials& c, const config::Provider& p) {
        auto status = validate(c, p);
        return status ? std::string() : status.error().param;
    };
    EXPECT_EQ(param_of({"AKID", "secret", "", ""}, provider()), "providers.bedrock.region");
    EXPECT_EQ(param_of({"AKID", "secret", "", "US_EAST"}, provider()), "providers.bedrock.region");
    EXPECT_EQ(param_of({"AKID", "", "", "us-east-1"}, provider()),
              "providers.bedrock.secret_access_key");
    EXPECT_EQ(param_of({"", "secret", "", "us-east-1"}, provider()),
              "providers.bedrock.access_key_id");
    EXPECT_EQ(param_of({"", "", "token", "us-east-1"}, provider()),
              "providers.bedrock.session_token");
    EXPECT_EQ(param_of({"", "", "", "us-east-1"}, provider()), "providers.bedrock.access_key_id");
    EXPECT_EQ(param_of({"AKID", "sec\nret", "", "us-east-1"}, provider()),
              "providers.bedrock.secret_access_key");
    config::Provider p = provider();
    p.headers = {{"authorization", "x"}};
    EXPECT_EQ(param_of(credentials(), p), "providers.bedrock.headers.authorization");
}

TEST(BedrockCredentialsCheck, ReadsTheStandardAwsEnvironment) {
    const std::map<std::string, std::string> env = {
        {"AWS_ACCESS_KEY_ID", "AKID"},
        {"AWS_SECRET_ACCESS_KEY", "secret"},
        {"AWS_DEFAULT_REGION", "eu-west-1"},
    };
    const config::EnvLookup lookup = [&env](std::string_view name) -> std::optional<std::string> {
        const auto it = env.find(std::string(name));
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    const BedrockCredentials c = credentials_from_env(lookup);
    EXPECT_EQ(c.access_key_id, "AKID");
    EXPECT_EQ(c.secret_access_key, "secret");
    EXPECT_EQ(c.session_token, "");
    EXPECT_EQ(c.region, "eu-west-1");
}

// ---------------------------------------------------------------------------------------------
// map_error

TEST(BedrockErrors, RejectedCredentialsAreUpstreamAuthWithSecretsScrubbed) {
    config::Provider p = provider();
    const std::string body = std::string(R"({"message":"bad signature for AKIDEXAMPLE with )") +
                             std::string(kSecret) + R"("})";
    const Error e = adapter(credentials("tok")).map_error(p, 403, body, "");
    EXPECT_EQ(e.code, ErrorCode::UpstreamAuth);
    EXPECT_EQ(http_status(e), 502);
    EXPECT_EQ(e.message.find("AKIDEXAMPLE"), std::string::npos);
    EXPECT_EQ(e.message.find(kSecret), std::string::npos);
    EXPECT_NE(e.message.find("[redacted]"), std::string::npos);
}

TEST(BedrockErrors, ThrottlingKeepsItsStatusAndRetryAfter) {
    const Error e = adapter().map_error(
        provider(), 429,
        R"({"message":"Too many requests","__type":"ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"})",
        "12");
    EXPECT_EQ(e.code, ErrorCode::UpstreamError);
    EXPECT_EQ(http_status(e), 429);
    EXPECT_EQ(e.upstream_type, "ThrottlingException");
    EXPECT_EQ(e.retry_after, "12");
    EXPECT_EQ(e.message, "Too many requests");
}

TEST(BedrockErrors, ExceptionNamesAreNormalised) {
    EXPECT_EQ(detail::exception_name("ThrottlingException:http://internal.amazon.com/coral/x/"),
              "ThrottlingException");
    EXPECT_EQ(detail::exception_name("com.amazonaws.bedrockruntime#ValidationException"),
              "ValidationException");
    EXPECT_EQ(detail::exception_name("modelStreamErrorException"), "ModelStreamErrorException");
    EXPECT_EQ(detail::exception_name(""), "");
    EXPECT_EQ(detail::status_for_exception("throttlingException"), 429);
    EXPECT_EQ(detail::status_for_exception("modelStreamErrorException"), 424);
    EXPECT_EQ(detail::status_for_exception("internalServerException"), 500);
    EXPECT_EQ(detail::status_for_exception("validationException"), 400);
    EXPECT_EQ(detail::status_for_exception("serviceUnavailableException"), 503);
    EXPECT_EQ(detail::status_for_exception("SomethingNew"), 0);
}

// ---------------------------------------------------------------------------------------------
// Stream decoder behaviour not visible in the golden outputs

struct Decoded {
    std::string out;
    Status status;
};

Decoded run(std::string_view bytes, bool include_usage) {
    ChatContext ctx = context(true);
    ctx.include_usage = include_usage;
    auto decoder = adapter().make_chat_stream_decoder(ctx);
    Decoded result;
    result.status = decoder->feed(bytes, result.out);
    if (result.status) {
        result.status = decoder->finish(result.out);
    }
    return result;
}

std::string complete_stream() {
    namespace es = eventstream;
    return es::encode_event("messageStart", R"({"role":"assistant"})") +
           es::encode_event("contentBlockDelta",
                            R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})") +
           es::encode_event("messageStop", R"({"stopReason":"end_turn"})") +
           es::encode_event(
               "metadata",
               R"({"usage":{"inputTokens":3,"outputTokens":1,"totalTokens":4},"metrics":{"latencyMs":1}})");
}

TEST(BedrockStream, UsageChunkOnlyWhenAskedFor) {
    const Decoded without = run(complete_stream(), false);
    ASSERT_TRUE(without.status);
    EXPECT_EQ(without.out.find("\"usage\""), std::string::npos);
    const Decoded with = run(complete_stream(), true);
    ASSERT_TRUE(with.status);
    const std::size_t finish = with.out.find("\"finish_reason\":\"stop\"");
    const std::size_t usage = with.out.find("\"choices\":[],\"usage\":{\"prompt_tokens\":3");
    const std::size_t done = with.out.find("data: [DONE]");
    ASSERT_NE(finish, std::string::npos);
    ASSERT_NE(usage, std::string::npos);
    EXPECT_LT(finish, usage);
    EXPECT_LT(usage, done);
    EXPECT_TRUE(with.out.ends_with("data: [DONE]\n\n"));
}

TEST(BedrockStream, ErrorsAreStickyAndFinishIsIdempotent) {
    auto decoder = adapter().make_chat_stream_decoder(context(true));
    std::string out;
    ASSERT_FALSE(decoder->feed("garbage that is not a prelude", out));
    EXPECT_FALSE(decoder->feed(complete_stream(), out));
    EXPECT_FALSE(decoder->finish(out));

    auto ok = adapter().make_chat_stream_decoder(context(true));
    std::string good;
    ASSERT_TRUE(ok->feed(complete_stream(), good));
    ASSERT_TRUE(ok->finish(good));
    const std::string once = good;
    ASSERT_TRUE(ok->finish(good));
    EXPECT_EQ(good, once);
}

TEST(BedrockStream, ThrottlingMidStreamIsA429UpstreamError) {
    const std::string bytes =
        eventstream::encode_event("messageStart", R"({"role":"assistant"})") +
        eventstream::encode_exception("throttlingException", R"({"message":"slow down"})");
    const Decoded result = run(bytes, false);
    ASSERT_FALSE(result.status);
    EXPECT_EQ(result.status.error().code, ErrorCode::UpstreamError);
    EXPECT_EQ(http_status(result.status.error()), 429);
    EXPECT_EQ(result.status.error().upstream_type, "ThrottlingException");
    EXPECT_EQ(result.status.error().message, "slow down");
    EXPECT_NE(result.out.find("\"role\":\"assistant\""), std::string::npos);
    EXPECT_EQ(result.out.find("[DONE]"), std::string::npos);
}

TEST(BedrockStream, EndingInsideAFrameIsABadResponse) {
    const std::string bytes = complete_stream();
    const Decoded result = run(std::string_view(bytes).substr(0, bytes.size() - 3), false);
    ASSERT_FALSE(result.status);
    EXPECT_EQ(result.status.error().code, ErrorCode::UpstreamBadResponse);
    EXPECT_NE(result.status.error().message.find("incomplete"), std::string::npos);
}

}  // namespace
}  // namespace sb::providers::bedrock
