#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// AWS Signature Version 4 (header form), our own: libcurl's built-in SigV4 mis-signs paths that
// hold percent-encoded bytes such as Bedrock model ids with ':' (DESIGN.md section 8). Pure
// functions of their inputs, the timestamp included; HMAC and SHA-256 come from OpenSSL. Any
// thread may call them.
//
// The rules follow the SigV4 specification as AWS's own signers implement it (botocore
// SigV4Auth, @smithy/signature-v4) and are checked against AWS's published test suite
// (tests/unit/bedrock_sigv4_test.cc).
namespace sb::aws::sigv4 {

struct Credentials {
    std::string_view access_key_id;
    std::string_view secret_access_key;
    std::string_view session_token;  // empty for long-term keys; signed when set
};

// One request to sign.
struct Request {
    std::string_view method = "POST";
    // The Host header value as sent: host name, plus ":port" when not the scheme's default.
    std::string_view host;
    // The path exactly as sent on the wire (already percent-encoded where needed), e.g.
    // "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse".
    std::string_view path = "/";
    // The query string as sent, without '?'; empty for none.
    std::string_view query;
    // Further headers to sign besides host, x-amz-date, x-amz-security-token and
    // x-amz-content-sha256 (which sign() adds itself), e.g. {"content-type",
    // "application/json"}. Names in any case; a name given several times is one header with
    // the values joined by ',' in the order given.
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    std::string_view payload;
};

struct Options {
    std::string_view region;
    std::string_view service;
    // Sends and signs `x-amz-content-sha256: <hex SHA-256 of the payload>` (Bedrock: yes; AWS's
    // generic test suite predates the header, so its vectors are signed without it).
    bool content_sha256_header = true;
    // S3 signs the wire path as sent (already URI-encoded once, no dot-segment removal, no
    // second encoding), unlike every other service; set for S3 object requests.
    bool s3_path = false;
};

// What a signed request must carry.
struct Signed {
    std::string amz_date;        // "20150830T123600Z"
    std::string payload_sha256;  // lower-case hex
    std::string authorization;   // the Authorization header value
    std::string signed_headers;  // "content-type;host;x-amz-date"
    // The headers to send, "Name: value", besides Host and the `Request::headers` (which the
    // caller sends itself): X-Amz-Date, X-Amz-Security-Token when a session token is set,
    // X-Amz-Content-Sha256 when asked for, and Authorization.
    std::vector<std::string> headers;
    // The intermediate strings, for tests and for diagnosing a SignatureDoesNotMatch (they hold
    // no secret).
    std::string canonical_request;
    std::string string_to_sign;
};

// URI-encodes `text` the SigV4 way: every byte except the unreserved A-Z a-z 0-9 - . _ ~ becomes
// %XX with upper-case hex; '/' is kept when `keep_slash`.
std::string uri_encode(std::string_view text, bool keep_slash);

// Decodes %XX escapes (a '%' not followed by two hex digits is kept as is); '+' stays '+'.
std::string uri_decode(std::string_view text);

// The canonical URI for a non-S3 service: the wire path with dot segments and empty segments
// removed (RFC 3986 section 5.2.4), then URI-encoded once more. A wire path that holds escapes
// is therefore encoded twice: "/model/x-v1%3A0/converse" -> "/model/x-v1%253A0/converse", which
// is what Bedrock computes on its side (botocore `quote(path, safe='/~')` on the sent path).
std::string canonical_uri(std::string_view wire_path);

// The canonical query string: every name and value decoded, then URI-encoded, and the pairs
// sorted by name, then value.
std::string canonical_query(std::string_view query);

// "YYYYMMDDTHHMMSSZ" for a Unix time in seconds (UTC, proleptic Gregorian calendar).
std::string amz_date(std::int64_t unix_seconds);

std::string sha256_hex(std::string_view data);
std::string hex(const unsigned char* data, std::size_t size);

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
std::array<unsigned char, 32> signing_key(std::string_view secret_access_key, std::string_view date,
                                          std::string_view region, std::string_view service);

// Signs `request` at `unix_seconds`.
Signed sign(const Request& request, const Credentials& credentials, const Options& options,
            std::int64_t unix_seconds);

}  // namespace sb::aws::sigv4
