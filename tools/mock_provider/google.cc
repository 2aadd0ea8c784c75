// Google OAuth 2.0 for service accounts, as the mock provider plays it: POST /token takes a
// JWT-bearer grant (RFC 7523; Google's "Using OAuth 2.0 for Server to Server Applications"),
// checks the assertion's header, claims and RS256 signature against the public key given with
// --google-public-key, and issues an access token that the Vertex AI paths then demand as
// `Authorization: Bearer`. Issued tokens are process-wide, like the request counters.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mock_provider/internal.h"

namespace sb::mock::detail {
namespace {

constexpr std::string_view kGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr std::string_view kCloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";

struct KeyDeleter {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

struct GoogleAuth {
    std::mutex mutex;
    std::unique_ptr<EVP_PKEY, KeyDeleter> public_key;
    long token_ttl = 3599;
    std::uint64_t issued = 0;
    std::unordered_map<std::string, std::int64_t> tokens;  // token -> expiry (unix seconds)
};

GoogleAuth& auth() {
    static GoogleAuth instance;
    return instance;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// base64url without padding (RFC 7515 section 2); false on any other character.
bool base64url_decode(std::string_view in, std::string& out) {
    out.clear();
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
            return false;
        }
        buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xFF);
        }
    }
    return true;
}

// Form-decoding of one application/x-www-form-urlencoded value ('+' is a space).
std::string form_value(std::string_view body, std::string_view name) {
    std::string raw(query_param(body, name));
    for (char& c : raw) {
        if (c == '+') {
            c = ' ';
        }
    }
    return percent_decode(raw);
}

void respond_oauth_error(Context& context, int status, std::string_view error,
                         std::string_view description) {
    std::string& body = context.response.body;
    body.clear();
    body += "{\"error\":";
    append_quoted(body, error);
    body += ",\"error_description\":";
    append_quoted(body, description);
    body += '}';
    write_head(context, status, "application/json; charset=utf-8", false);
}

bool verify_rs256(EVP_PKEY* key, std::string_view signed_part, std::string_view signature) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
        return false;
    }
    return EVP_DigestVerify(
               md.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
               reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
}

}  // namespace

bool configure_google_auth(const std::string& public_key_file, long token_ttl, std::string& error) {
    std::FILE* file = std::fopen(public_key_file.c_str(), "rb");
    if (file == nullptr) {
        error = "cannot open --google-public-key file '" + public_key_file + "'";
        return false;
    }
    EVP_PKEY* key = PEM_read_PUBKEY(file, nullptr, nullptr, nullptr);
    std::fclose(file);
    if (key == nullptr) {
        error = "--google-public-key: '" + public_key_file + "' holds no PEM public key";
        return false;
    }
    GoogleAuth& state = auth();
    const std::lock_guard lock(state.mutex);
    state.public_key.reset(key);
    state.token_ttl = token_ttl;
    return true;
}

bool is_google_token_path(std::string_view path) {
    return path == "/token";
}

void google_token_endpoint(Context& context) {
    const Request& request = context.request;
    if (request.method != "POST") {
        respond_oauth_error(context, 405, "invalid_request", "The token endpoint takes POST.");
        return;
    }
    const Header* type = find_header(request, "content-type");
    if (type == nullptr || !trim(type->value).starts_with("application/x-www-form-urlencoded")) {
        respond_oauth_error(context, 400, "invalid_request",
                            "Content-Type must be application/x-www-form-urlencoded.");
        return;
    }
    if (form_value(request.body, "grant_type") != kGrantType) {
        respond_oauth_error(context, 400, "unsupported_grant_type", "Invalid grant_type: ");
        return;
    }
    const std::string assertion = form_value(request.body, "assertion");
    const std::size_t dot1 = assertion.find('.');
    const std::size_t dot2 =
        dot1 == std::string::npos ? std::string::npos : assertion.find('.', dot1 + 1);
    std::string header_json;
    std::string claims_json;
    std::string signature;
    if (dot2 == std::string::npos || assertion.find('.', dot2 + 1) != std::string::npos ||
        !base64url_decode(std::string_view(assertion).substr(0, dot1), header_json) ||
        !base64url_decode(std::string_view(assertion).substr(dot1 + 1, dot2 - dot1 - 1),
                          claims_json) ||
        !base64url_decode(std::string_view(assertion).substr(dot2 + 1), signature)) {
        respond_oauth_error(context, 400, "invalid_grant", "Invalid JWT: not a compact JWS.");
        return;
    }
    simdjson::dom::parser parser;
    simdjson::dom::element header;
    if (parser.parse(header_json).get(header) != simdjson::SUCCESS || !header.is_object()) {
        respond_oauth_error(context, 400, "invalid_grant", "Invalid JWT header.");
        return;
    }
    std::string_view alg;
    if (header["alg"].get_string().get(alg) != simdjson::SUCCESS || alg != "RS256") {
        respond_oauth_error(context, 400, "invalid_grant", "Invalid JWT: alg must be RS256.");
        return;
    }
    simdjson::dom::parser claims_parser;
    simdjson::dom::element claims;
    if (claims_parser.parse(claims_json).get(claims) != simdjson::SUCCESS || !claims.is_object()) {
        respond_oauth_error(context, 400, "invalid_grant", "Invalid JWT claim set.");
        return;
    }
    std::string_view iss;
    std::string_view scope;
    std::string_view aud;
    std::int64_t iat = 0;
    std::int64_t exp = 0;
    if (claims["iss"].get_string().get(iss) != simdjson::SUCCESS || iss.empty()) {
        respond_oauth_error(context, 400, "invalid_grant", "Invalid JWT: 'iss' is missing.");
        return;
    }
    if (claims["scope"].get_string().get(scope) != simdjson::SUCCESS ||
        scope.find(kCloudPlatformScope) == std::string_view::npos) {
        respond_oauth_error(context, 400, "invalid_scope",
                            "Invalid OAuth scope or ID token audience provided.");
        return;
    }
    // The audience is this endpoint's URL (the key file's token_uri).
    const Header* host = find_header(request, "host");
    std::string expected_aud = "http://";
    expected_aud += host == nullptr ? std::string_view{} : trim(host->value);
    expected_aud += request.path;
    if (claims["aud"].get_string().get(aud) != simdjson::SUCCESS || aud != expected_aud) {
        respond_oauth_error(context, 400, "invalid_grant",
                            "Invalid JWT: Token must be a short-lived token (60 minutes) and in "
                            "a reasonable timeframe. Check your iat and exp values in the JWT "
                            "claim. (aud is not the token endpoint)");
        return;
    }
    const std::int64_t now = unix_now();
    if (claims["iat"].get_int64().get(iat) != simdjson::SUCCESS ||
        claims["exp"].get_int64().get(exp) != simdjson::SUCCESS || exp <= now || iat > now + 60 ||
        exp - iat > 3600 || exp <= iat) {
        respond_oauth_error(context, 400, "invalid_grant",
                            "Invalid JWT: Token must be a short-lived token (60 minutes) and in "
                            "a reasonable timeframe. Check your iat and exp values in the JWT "
                            "claim.");
        return;
    }
    GoogleAuth& state = auth();
    const std::lock_guard lock(state.mutex);
    if (!state.public_key ||
        !verify_rs256(state.public_key.get(), std::string_view(assertion).substr(0, dot2),
                      signature)) {
        respond_oauth_error(context, 400, "invalid_grant", "Invalid JWT Signature.");
        return;
    }
    std::string token = "ya29.mock-";
    append_uint(token, ++state.issued);
    token += '-';
    append_uint(token, next_sequence());
    // Expired tokens are forgotten as new ones are issued.
    for (auto it = state.tokens.begin(); it != state.tokens.end();) {
        it = it->second <= now ? state.tokens.erase(it) : std::next(it);
    }
    state.tokens.emplace(token, now + state.token_ttl);
    std::string& body = context.response.body;
    body.clear();
    body += "{\"access_token\":";
    append_quoted(body, token);
    body += ",\"expires_in\":";
    append_int(body, state.token_ttl);
    body += ",\"token_type\":\"Bearer\"}";
    write_head(context, 200, "application/json; charset=utf-8", false);
}

bool google_token_valid(std::string_view token) {
    GoogleAuth& state = auth();
    const std::lock_guard lock(state.mutex);
    const auto it = state.tokens.find(std::string(token));
    return it != state.tokens.end() && it->second > unix_now();
}

std::uint64_t google_tokens_issued() {
    GoogleAuth& state = auth();
    const std::lock_guard lock(state.mutex);
    return state.issued;
}

}  // namespace sb::mock::detail
