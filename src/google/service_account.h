#pragma once

// Google service-account credentials: the JSON key file, the RS256-signed JWT assertion and the
// OAuth 2.0 JWT-bearer token exchange's request and answer ("Using OAuth 2.0 for Server to
// Server Applications"; RFC 7523). Pure functions (no I/O but reading the key file); any thread.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sb::google {

inline constexpr std::string_view kCloudPlatformScope =
    "https://www.googleapis.com/auth/cloud-platform";
inline constexpr std::string_view kDefaultTokenUri = "https://oauth2.googleapis.com/token";
inline constexpr std::string_view kJwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";

// The fields of a service-account key file we use. `private_key` is a secret: never logged.
struct ServiceAccountKey {
    std::string client_email;
    std::string private_key;     // PEM (PKCS#8)
    std::string private_key_id;  // the JWT's `kid`, may be empty
    std::string token_uri;       // where assertions are exchanged for access tokens
};

// Parses a key file's JSON: `type` must be "service_account"; `client_email` and a PEM
// `private_key` that OpenSSL can load are required; `token_uri` defaults to Google's.
Result<ServiceAccountKey> parse_service_account_key(std::string_view json);
// Reads and parses a key file; errors name the file (never its contents).
Result<ServiceAccountKey> load_service_account_key(const std::string& path);

// The signed JWT assertion: header {"alg":"RS256","typ":"JWT"[,"kid"]}, claims {iss, scope,
// aud = token_uri, iat = now, exp = now + lifetime (at most one hour)}.
Result<std::string> make_assertion(const ServiceAccountKey& key, std::string_view scope,
                                   std::int64_t now_unix,
                                   std::chrono::seconds lifetime = std::chrono::seconds(3600));

// The form body of the token request for an assertion.
std::string token_request_body(std::string_view assertion);

struct AccessToken {
    std::string token;
    std::chrono::seconds expires_in{0};
};

// Parses the token endpoint's JSON answer ({"access_token","expires_in","token_type"}); an
// OAuth error answer ({"error","error_description"}) becomes an UpstreamAuth error for a 4xx,
// UpstreamError otherwise, naming `provider`.
Result<AccessToken> parse_token_response(int status, std::string_view body,
                                         std::string_view provider);

// base64url without padding (RFC 7515 section 2).
std::string base64url(std::string_view bytes);

}  // namespace sb::google
