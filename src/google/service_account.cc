#include "google/service_account.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <simdjson.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "core/error.h"

namespace sb::google {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioFree {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

std::unique_ptr<EVP_PKEY, PkeyFree> load_private_key(std::string_view pem) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        return nullptr;
    }
    return std::unique_ptr<EVP_PKEY, PkeyFree>(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    append_json_escaped(out, s);
    out += '"';
    return out;
}

// Form encoding (application/x-www-form-urlencoded) of one value.
std::string form_encode(std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size() + 16);
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 0xF];
        }
    }
    return out;
}

}  // namespace

std::string base64url(std::string_view bytes) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) |
                                std::uint32_t{data[i + 2]};
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (i + 1 == bytes.size()) {
        const std::uint32_t v = std::uint32_t{data[i]} << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
    } else if (i + 2 == bytes.size()) {
        const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
    }
    return out;
}

Result<ServiceAccountKey> parse_service_account_key(std::string_view json) {
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(json);
    simdjson::dom::element root;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object()) {
        return fail(ErrorCode::InvalidRequest, "the key file is not a JSON object");
    }
    auto member = [&](std::string_view name) {
        std::string_view value;
        if (root[name].get_string().get(value) != simdjson::SUCCESS) {
            return std::string();
        }
        return std::string(value);
    };
    if (member("type") != "service_account") {
        return fail(ErrorCode::InvalidRequest,
                    "the key file's \"type\" is not \"service_account\" (Vertex AI needs a "
                    "service-account key)");
    }
    ServiceAccountKey key;
    key.client_email = member("client_email");
    key.private_key = member("private_key");
    key.private_key_id = member("private_key_id");
    key.token_uri = member("token_uri");
    if (key.client_email.empty()) {
        return fail(ErrorCode::InvalidRequest, "the key file has no \"client_email\"");
    }
    if (key.private_key.empty() || !load_private_key(key.private_key)) {
        return fail(ErrorCode::InvalidRequest,
                    "the key file's \"private_key\" is missing or not a PEM private key");
    }
    if (key.token_uri.empty()) {
        key.token_uri = std::string(kDefaultTokenUri);
    }
    if (!key.token_uri.starts_with("https://") && !key.token_uri.starts_with("http://")) {
        return fail(ErrorCode::InvalidRequest,
                    "the key file's \"token_uri\" is not an http(s) URL");
    }
    return key;
}

Result<ServiceAccountKey> load_service_account_key(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return fail(ErrorCode::InvalidRequest, fmt::format("cannot read '{}'", path));
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto key = parse_service_account_key(text.str());
    if (!key) {
        return fail(ErrorCode::InvalidRequest, fmt::format("'{}': {}", path, key.error().message));
    }
    return key;
}

Result<std::string> make_assertion(const ServiceAccountKey& key, std::string_view scope,
                                   std::int64_t now_unix, std::chrono::seconds lifetime) {
    std::string header = "{\"alg\":\"RS256\",\"typ\":\"JWT\"";
    if (!key.private_key_id.empty()) {
        header += ",\"kid\":";
        header += json_string(key.private_key_id);
    }
    header += '}';
    const std::string claims =
        fmt::format("{{\"iss\":{},\"scope\":{},\"aud\":{},\"iat\":{},\"exp\":{}}}",
                    json_string(key.client_email), json_string(scope), json_string(key.token_uri),
                    now_unix, now_unix + lifetime.count());
    std::string signing_input = base64url(header);
    signing_input += '.';
    signing_input += base64url(claims);

    const auto pkey = load_private_key(key.private_key);
    if (!pkey) {
        return fail(ErrorCode::Internal, "the service-account private key cannot be loaded");
    }
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
    std::size_t size = 0;
    if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1 ||
        EVP_DigestSign(md.get(), nullptr, &size,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) != 1) {
        return fail(ErrorCode::Internal, "signing the service-account assertion failed");
    }
    std::string signature(size, '\0');
    if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) != 1) {
        return fail(ErrorCode::Internal, "signing the service-account assertion failed");
    }
    signature.resize(size);
    signing_input += '.';
    signing_input += base64url(signature);
    return signing_input;
}

std::string token_request_body(std::string_view assertion) {
    std::string body = "grant_type=";
    body += form_encode(kJwtBearerGrant);
    body += "&assertion=";
    body += form_encode(assertion);
    return body;
}

Result<AccessToken> parse_token_response(int status, std::string_view body,
                                         std::string_view provider) {
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(body);
    simdjson::dom::element root;
    const bool json = parser.parse(padded).get(root) == simdjson::SUCCESS && root.is_object();
    auto member = [&](std::string_view name) {
        std::string_view value;
        if (!json || root[name].get_string().get(value) != simdjson::SUCCESS) {
            return std::string_view();
        }
        return value;
    };
    if (status < 200 || status >= 300) {
        const std::string_view error = member("error");
        const std::string_view description = member("error_description");
        Error e(status >= 400 && status < 500 ? ErrorCode::UpstreamAuth
                                              : ErrorCode::UpstreamUnreachable,
                fmt::format(
                    "The OAuth token endpoint refused the service account of provider "
                    "'{}' (HTTP {}){}{}{}",
                    provider, status, error.empty() ? "" : ": ", error,
                    description.empty() ? std::string() : " (" + std::string(description) + ")"));
        e.upstream_status = status;
        e.upstream_code = std::string(error);
        return tl::unexpected(std::move(e));
    }
    AccessToken token;
    token.token = std::string(member("access_token"));
    std::int64_t expires_in = 0;
    if (json && root["expires_in"].get_int64().get(expires_in) != simdjson::SUCCESS) {
        expires_in = 0;
    }
    if (token.token.empty() || expires_in <= 0) {
        return fail(ErrorCode::UpstreamBadResponse,
                    fmt::format("The OAuth token endpoint of provider '{}' answered without an "
                                "access_token and a positive expires_in.",
                                provider));
    }
    for (const char c : token.token) {
        if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
            return fail(ErrorCode::UpstreamBadResponse,
                        fmt::format("The OAuth token endpoint of provider '{}' sent an access "
                                    "token that cannot go in a header.",
                                    provider));
        }
    }
    token.expires_in = std::chrono::seconds(expires_in);
    return token;
}

}  // namespace sb::google
