// Google service-account credentials: key file parsing, the RS256 JWT assertion (verified here
// with the public key, independently of the signer), the token request and answer.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <simdjson.h>

#include <memory>
#include <string>

#include "google/service_account.h"
#include "google/token_source.h"
#include "support/rsa_key.h"

namespace sb::google {
namespace {

std::string base64url_decode(std::string_view in) {
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : in) {
        int v = 0;
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == '-') {
            v = 62;
        } else if (c == '_') {
            v = 63;
        } else {
            ADD_FAILURE() << "not base64url: " << c;
            return {};
        }
        buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xFF);
        }
    }
    return out;
}

bool verify(std::string_view public_pem, std::string_view signed_part, std::string_view sig) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())), BIO_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!key || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
        return false;
    }
    return EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                            sig.size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                            signed_part.size()) == 1;
}

class GoogleAuth : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { keys_ = new test::RsaKeyPair(test::make_rsa_key_pair()); }
    static void TearDownTestSuite() {
        delete keys_;
        keys_ = nullptr;
    }
    static test::RsaKeyPair* keys_;
};
test::RsaKeyPair* GoogleAuth::keys_ = nullptr;

TEST_F(GoogleAuth, ParsesAServiceAccountKeyFile) {
    auto key = parse_service_account_key(
        test::service_account_json(keys_->private_pem, "http://127.0.0.1:9/token"));
    ASSERT_TRUE(key) << key.error().message;
    EXPECT_EQ(key->client_email, "gateway@my-project.iam.gserviceaccount.com");
    EXPECT_EQ(key->private_key_id, "k1");
    EXPECT_EQ(key->token_uri, "http://127.0.0.1:9/token");
}

TEST_F(GoogleAuth, TokenUriDefaultsToGoogles) {
    std::string json = test::service_account_json(keys_->private_pem, "x");
    const std::string member = ",\"token_uri\":\"x\"";
    json.replace(json.find(member), member.size(), "");
    auto key = parse_service_account_key(json);
    ASSERT_TRUE(key) << key.error().message;
    EXPECT_EQ(key->token_uri, kDefaultTokenUri);
}

TEST_F(GoogleAuth, RefusesKeyFilesThatAreNotServiceAccounts) {
    EXPECT_FALSE(parse_service_account_key("{\"type\":\"authorized_user\"}"));
    EXPECT_FALSE(parse_service_account_key("not json"));
    auto bad_pem = parse_service_account_key(
        "{\"type\":\"service_account\",\"client_email\":\"a@b\",\"private_key\":\"-----BEGIN "
        "PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\"}");
    ASSERT_FALSE(bad_pem);
    EXPECT_NE(bad_pem.error().message.find("private_key"), std::string::npos);
    EXPECT_EQ(bad_pem.error().message.find("AAAA"), std::string::npos) << "no key material";
}

TEST_F(GoogleAuth, AssertionIsAnRs256JwtWithTheClaimsGoogleChecks) {
    auto key = parse_service_account_key(
        test::service_account_json(keys_->private_pem, "https://oauth2.googleapis.com/token"));
    ASSERT_TRUE(key);
    auto jwt = make_assertion(*key, kCloudPlatformScope, 1700000000);
    ASSERT_TRUE(jwt) << jwt.error().message;
    const std::size_t dot1 = jwt->find('.');
    const std::size_t dot2 = jwt->rfind('.');
    ASSERT_NE(dot1, dot2);
    const std::string header = base64url_decode(std::string_view(*jwt).substr(0, dot1));
    const std::string claims =
        base64url_decode(std::string_view(*jwt).substr(dot1 + 1, dot2 - dot1 - 1));
    EXPECT_EQ(header, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}");
    simdjson::dom::parser parser;
    simdjson::dom::element c = parser.parse(claims);
    EXPECT_EQ(std::string_view(c["iss"]), "gateway@my-project.iam.gserviceaccount.com");
    EXPECT_EQ(std::string_view(c["scope"]), kCloudPlatformScope);
    EXPECT_EQ(std::string_view(c["aud"]), "https://oauth2.googleapis.com/token");
    EXPECT_EQ(std::int64_t(c["iat"]), 1700000000);
    EXPECT_EQ(std::int64_t(c["exp"]), 1700003600);
    const std::string signature = base64url_decode(std::string_view(*jwt).substr(dot2 + 1));
    EXPECT_TRUE(verify(keys_->public_pem, std::string_view(*jwt).substr(0, dot2), signature));
    // A changed claim no longer verifies.
    std::string tampered(std::string_view(*jwt).substr(0, dot2));
    tampered[dot1 + 3] = tampered[dot1 + 3] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verify(keys_->public_pem, tampered, signature));
}

TEST_F(GoogleAuth, TokenRequestIsAFormEncodedJwtBearerGrant) {
    EXPECT_EQ(token_request_body("a.b-c_d"),
              "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b-c_d");
}

TEST_F(GoogleAuth, ParsesTheTokenAnswer) {
    auto token = parse_token_response(
        200, "{\"access_token\":\"ya29.abc\",\"expires_in\":3599,\"token_type\":\"Bearer\"}", "v");
    ASSERT_TRUE(token);
    EXPECT_EQ(token->token, "ya29.abc");
    EXPECT_EQ(token->expires_in.count(), 3599);
}

TEST_F(GoogleAuth, RefusedGrantIsAnUpstreamAuthError) {
    auto token = parse_token_response(
        400, "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}",
        "vertex");
    ASSERT_FALSE(token);
    EXPECT_EQ(token.error().code, ErrorCode::UpstreamAuth);
    EXPECT_EQ(http_status(token.error()), 502);
    EXPECT_NE(token.error().message.find("Invalid JWT Signature."), std::string::npos);
    EXPECT_NE(token.error().message.find("'vertex'"), std::string::npos);
}

TEST_F(GoogleAuth, TokenAnswerWithoutATokenIsABadResponse) {
    auto token = parse_token_response(200, "{\"expires_in\":3599}", "v");
    ASSERT_FALSE(token);
    EXPECT_EQ(token.error().code, ErrorCode::UpstreamBadResponse);
    EXPECT_FALSE(parse_token_response(200, "{\"access_token\":\"a b\",\"expires_in\":9}", "v"));
    EXPECT_FALSE(parse_token_response(200, "<html>", "v"));
}

TEST_F(GoogleAuth, UnreachableTokenEndpointIsReportedAndRetried) {
    // Port 1 on loopback refuses connections: each exchange fails, and the source keeps trying.
    auto key = parse_service_account_key(
        test::service_account_json(keys_->private_pem, "http://127.0.0.1:1/token"));
    ASSERT_TRUE(key);
    ServiceAccountTokenSource::Options options;
    options.provider_name = "vertex";
    options.min_backoff = std::chrono::milliseconds(10);
    options.max_backoff = std::chrono::milliseconds(20);
    ServiceAccountTokenSource source(std::move(*key), options);
    ASSERT_TRUE(source.wait_for_attempts(3, std::chrono::seconds(20)));
    EXPECT_EQ(source.successes(), 0u);
    auto token = source.access_token();
    ASSERT_FALSE(token);
    EXPECT_EQ(token.error().code, ErrorCode::UpstreamUnreachable);
    EXPECT_EQ(http_status(token.error()), 502);
}

}  // namespace
}  // namespace sb::google
