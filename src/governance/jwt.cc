#include "governance/jwt.h"

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <cmath>
#include <unordered_set>

#include "governance/keys.h"

namespace sb::governance {
namespace {

namespace json = boost::json;
using config::JwtAlgorithm;

constexpr std::size_t kMaxTokenBytes = 16 * 1024;

std::string_view alg_name(JwtAlgorithm a) {
    return a == JwtAlgorithm::RS256 ? "RS256" : "ES256";
}

int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

tl::unexpected<Error> unauthorized(std::string msg) {
    return fail(ErrorCode::Unauthorized, std::move(msg));
}

// A validating-only handler for json::basic_parser: refuses a member name that appears twice
// in one object. Boost.JSON's value parser keeps the last duplicate silently, and two parsers
// reading `{"alg":"RS256","alg":"none"}` differently is how verification bypasses happen.
struct DuplicateKeyCheck {
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);
    using ec_t = boost::system::error_code;

    std::vector<std::unordered_set<std::string>> objects;  // names seen, per open object
    std::string key;

    bool on_document_begin(ec_t&) { return true; }
    bool on_document_end(ec_t&) { return true; }
    bool on_object_begin(ec_t&) {
        objects.emplace_back();
        return true;
    }
    bool on_object_end(std::size_t, ec_t&) {
        objects.pop_back();
        return true;
    }
    bool on_array_begin(ec_t&) { return true; }
    bool on_array_end(std::size_t, ec_t&) { return true; }
    bool on_key_part(json::string_view s, std::size_t, ec_t&) {
        key.append(s.data(), s.size());
        return true;
    }
    bool on_key(json::string_view s, std::size_t, ec_t& ec) {
        key.append(s.data(), s.size());
        if (!objects.back().insert(std::move(key)).second) {
            ec = json::error::syntax;
            return false;
        }
        key.clear();
        return true;
    }
    bool on_string_part(json::string_view, std::size_t, ec_t&) { return true; }
    bool on_string(json::string_view, std::size_t, ec_t&) { return true; }
    bool on_number_part(json::string_view, ec_t&) { return true; }
    bool on_int64(std::int64_t, json::string_view, ec_t&) { return true; }
    bool on_uint64(std::uint64_t, json::string_view, ec_t&) { return true; }
    bool on_double(double, json::string_view, ec_t&) { return true; }
    bool on_bool(bool, ec_t&) { return true; }
    bool on_null(ec_t&) { return true; }
    bool on_comment_part(json::string_view, ec_t&) { return false; }
    bool on_comment(json::string_view, ec_t&) { return false; }
};

bool has_duplicate_keys(std::string_view text) {
    json::parse_options opts;
    opts.max_depth = 32;
    json::basic_parser<DuplicateKeyCheck> p(opts);
    boost::system::error_code ec;
    const std::size_t n = p.write_some(false, text.data(), text.size(), ec);
    return ec || n != text.size();
}

// Parses a JSON object strictly: the whole text, an object, no duplicate member names.
std::optional<json::object> parse_object(std::string_view text) {
    if (has_duplicate_keys(text)) {
        return std::nullopt;
    }
    boost::system::error_code ec;
    json::parse_options opts;
    opts.max_depth = 32;
    json::value v = json::parse(text, ec, {}, opts);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    return std::move(v.as_object());
}

std::optional<std::string_view> get_string(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
        return std::nullopt;
    }
    return std::string_view(v->as_string());
}

// A NumericDate (RFC 7519 §2): seconds, integer or not; returns nullopt if absent.
tl::expected<std::optional<double>, std::string> get_time(const json::object& o,
                                                          std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) {
        return std::optional<double>();
    }
    double d = 0;
    if (v->is_int64()) {
        d = static_cast<double>(v->as_int64());
    } else if (v->is_uint64()) {
        d = static_cast<double>(v->as_uint64());
    } else if (v->is_double()) {
        d = v->as_double();
    } else {
        return tl::unexpected(fmt::format("claim {} is not a number", key));
    }
    if (!std::isfinite(d)) {
        return tl::unexpected(fmt::format("claim {} is not a number", key));
    }
    return std::optional<double>(d);
}

std::shared_ptr<EVP_PKEY> wrap(EVP_PKEY* k) {
    return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free);
}

Result<PublicKey> check_key(std::shared_ptr<EVP_PKEY> pkey, JwtAlgorithm alg) {
    if (!pkey) {
        return fail(ErrorCode::Internal, "not a public key");
    }
    const int id = EVP_PKEY_get_base_id(pkey.get());
    if (alg == JwtAlgorithm::RS256) {
        if (id != EVP_PKEY_RSA || EVP_PKEY_get_bits(pkey.get()) < 2048) {
            return fail(ErrorCode::Internal, "RS256 needs an RSA public key of at least 2048 bits");
        }
    } else {
        char group[64] = {0};
        std::size_t len = 0;
        if (id != EVP_PKEY_EC ||
            EVP_PKEY_get_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof group, &len) != 1 ||
            std::string_view(group, len) != "prime256v1") {
            return fail(ErrorCode::Internal, "ES256 needs an EC P-256 public key");
        }
    }
    return PublicKey{std::move(pkey), alg};
}

std::shared_ptr<EVP_PKEY> rsa_from_jwk(const std::string& n, const std::string& e) {
    using BnPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
    BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                         static_cast<int>(n.size()), nullptr),
               BN_free);
    BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                         static_cast<int>(e.size()), nullptr),
               BN_free);
    std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(),
                                                                        OSSL_PARAM_BLD_free);
    if (!bn_n || !bn_e || !bld ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
        return nullptr;
    }
    std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(
        OSSL_PARAM_BLD_to_param(bld.get()), OSSL_PARAM_free);
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr), EVP_PKEY_CTX_free);
    EVP_PKEY* out = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        return nullptr;
    }
    return wrap(out);
}

std::shared_ptr<EVP_PKEY> ec_from_jwk(const std::string& x, const std::string& y) {
    if (x.size() != 32 || y.size() != 32) {
        return nullptr;
    }
    std::string point = "\x04" + x + y;  // uncompressed SEC1 point
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
        OSSL_PARAM_construct_end()};
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free);
    EVP_PKEY* out = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        return nullptr;
    }
    return wrap(out);
}

}  // namespace

std::optional<std::string> base64url_decode(std::string_view in) {
    if (in.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(in.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        const int v = b64_value(c);
        if (v < 0) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    // Leftover bits (2 or 4) must be zero: otherwise two strings would decode the same.
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        return std::nullopt;
    }
    return out;
}

Result<PublicKey> parse_pem_public_key(std::string_view pem, JwtAlgorithm alg) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    if (!bio) {
        return fail(ErrorCode::Internal, "out of memory");
    }
    EVP_PKEY* k = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (k == nullptr) {
        return fail(ErrorCode::Internal,
                    "not a PEM public key (expected -----BEGIN PUBLIC KEY-----)");
    }
    return check_key(wrap(k), alg);
}

Result<KeySet> parse_jwks(std::string_view text, JwtAlgorithm alg) {
    auto doc = parse_object(text);
    if (!doc) {
        return fail(ErrorCode::Internal, "JWKS is not a JSON object");
    }
    const json::value* keys = doc->if_contains("keys");
    if (keys == nullptr || !keys->is_array()) {
        return fail(ErrorCode::Internal, "JWKS has no \"keys\" array");
    }
    KeySet out;
    for (const json::value& kv : keys->as_array()) {
        if (!kv.is_object()) {
            continue;
        }
        const json::object& k = kv.as_object();
        const auto kty = get_string(k, "kty");
        const auto kid = get_string(k, "kid").value_or("");
        if (auto use = get_string(k, "use"); use && *use != "sig") {
            continue;
        }
        if (auto a = get_string(k, "alg"); a && *a != alg_name(alg)) {
            continue;
        }
        std::shared_ptr<EVP_PKEY> pkey;
        if (alg == JwtAlgorithm::RS256 && kty && *kty == "RSA") {
            auto n = get_string(k, "n");
            auto e = get_string(k, "e");
            auto nb = n ? base64url_decode(*n) : std::nullopt;
            auto eb = e ? base64url_decode(*e) : std::nullopt;
            if (nb && eb) {
                pkey = rsa_from_jwk(*nb, *eb);
            }
        } else if (alg == JwtAlgorithm::ES256 && kty && *kty == "EC" &&
                   get_string(k, "crv").value_or("") == "P-256") {
            auto x = get_string(k, "x");
            auto y = get_string(k, "y");
            auto xb = x ? base64url_decode(*x) : std::nullopt;
            auto yb = y ? base64url_decode(*y) : std::nullopt;
            if (xb && yb) {
                pkey = ec_from_jwk(*xb, *yb);
            }
        }
        if (!pkey) {
            continue;
        }
        auto checked = check_key(std::move(pkey), alg);
        if (checked) {
            out.emplace(std::string(kid), std::move(*checked));
        }
    }
    return out;
}

bool verify_signature(const PublicKey& key, std::string_view signing_input,
                      std::string_view signature) {
    std::string der;
    std::string_view sig = signature;
    if (key.algorithm == JwtAlgorithm::ES256) {
        // JWS carries r||s (RFC 7518 §3.4); OpenSSL verifies DER ECDSA-Sig-Value.
        if (signature.size() != 64) {
            return false;
        }
        const auto* p = reinterpret_cast<const unsigned char*>(signature.data());
        BIGNUM* r = BN_bin2bn(p, 32, nullptr);
        BIGNUM* s = BN_bin2bn(p + 32, 32, nullptr);
        ECDSA_SIG* es = ECDSA_SIG_new();
        if (r == nullptr || s == nullptr || es == nullptr || ECDSA_SIG_set0(es, r, s) != 1) {
            BN_free(r);
            BN_free(s);
            ECDSA_SIG_free(es);
            return false;
        }
        unsigned char* buf = nullptr;
        const int len = i2d_ECDSA_SIG(es, &buf);
        ECDSA_SIG_free(es);
        if (len <= 0) {
            return false;
        }
        der.assign(reinterpret_cast<char*>(buf), static_cast<std::size_t>(len));
        OPENSSL_free(buf);
        sig = der;
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx ||
        EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.pkey.get()) != 1) {
        return false;
    }
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                            sig.size(),
                            reinterpret_cast<const unsigned char*>(signing_input.data()),
                            signing_input.size()) == 1;
}

void IssuerKeys::set(KeySet keys, std::int64_t fetched_at_ms) {
    auto snap = std::make_shared<Snapshot>();
    snap->keys = std::move(keys);
    snap->fetched_at_ms = fetched_at_ms;
    current_.store(std::move(snap));
}

Result<std::shared_ptr<JwtVerifier>> JwtVerifier::create(
    const std::vector<config::JwtIssuer>& cfg) {
    auto v = std::make_shared<JwtVerifier>();
    for (const config::JwtIssuer& c : cfg) {
        Issuer is;
        is.config = c;
        is.keys = std::make_shared<IssuerKeys>();
        if (!c.public_key_pem.empty()) {
            auto key = parse_pem_public_key(c.public_key_pem, c.algorithm);
            if (!key) {
                return fail(ErrorCode::Internal, fmt::format("auth.jwt.issuers.{}.public_key: {}",
                                                             c.name, key.error().message));
            }
            KeySet ks;
            ks.emplace("", std::move(*key));
            is.keys->set(std::move(ks), 0);
            is.is_static = true;
        }
        v->issuers_.push_back(std::move(is));
    }
    return v;
}

Result<JwtIdentity> JwtVerifier::verify(std::string_view token, std::int64_t now_ms,
                                        bool* unknown_kid) const {
    if (token.size() > kMaxTokenBytes) {
        return unauthorized("The bearer token is too long.");
    }
    const Digest digest = sha256(token);
    const std::string cache_key(reinterpret_cast<const char*>(digest.data()), digest.size());
    CacheStripe& stripe = cache_[digest[0] % kCacheStripes];
    const double now_s = static_cast<double>(now_ms) / 1000.0;
    {
        std::lock_guard lock(stripe.mu);
        if (auto it = stripe.map.find(cache_key); it != stripe.map.end()) {
            const CacheEntry& e = it->second;
            const Issuer& is = issuers_[e.issuer_index];
            const double leeway_s = static_cast<double>(is.config.leeway.count()) / 1000.0;
            const bool same_keys = is.keys->get() == e.keys;
            const bool fresh =
                is.is_static || now_ms - e.keys->fetched_at_ms <= is.config.jwks_ttl.count();
            if (same_keys && fresh && now_s < e.exp_s + leeway_s) {
                return e.identity;
            }
            stripe.map.erase(it);  // stale: verify again from scratch
        }
    }
    std::size_t issuer_index = 0;
    std::shared_ptr<const IssuerKeys::Snapshot> used;
    auto id = verify_uncached(token, now_ms, unknown_kid, issuer_index, used);
    if (id && used) {
        std::lock_guard lock(stripe.mu);
        if (stripe.map.size() >= kCachePerStripe) {
            stripe.map.clear();
        }
        stripe.map.emplace(cache_key, CacheEntry{*id, issuer_index, std::move(used), id->exp_s});
    }
    return id;
}

Result<JwtIdentity> JwtVerifier::verify_uncached(
    std::string_view token, std::int64_t now_ms, bool* unknown_kid, std::size_t& issuer_index,
    std::shared_ptr<const IssuerKeys::Snapshot>& used) const {
    if (token.size() > kMaxTokenBytes) {
        return unauthorized("The bearer token is too long.");
    }
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
        return unauthorized("The bearer token is neither an API key nor a JWT.");
    }
    const auto header_raw = base64url_decode(token.substr(0, dot1));
    const auto payload_raw = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
    const auto sig = base64url_decode(token.substr(dot2 + 1));
    if (!header_raw || !payload_raw || !sig) {
        return unauthorized("The JWT is not valid base64url.");
    }
    const auto header = parse_object(*header_raw);
    const auto payload = parse_object(*payload_raw);
    if (!header || !payload) {
        return unauthorized("The JWT header or payload is not a JSON object.");
    }
    const auto iss = get_string(*payload, "iss");
    if (!iss) {
        return unauthorized("The JWT has no iss claim.");
    }
    const auto issuer = std::find_if(issuers_.begin(), issuers_.end(),
                                     [&](const Issuer& i) { return i.config.issuer == *iss; });
    if (issuer == issuers_.end()) {
        return unauthorized("The JWT's issuer is not trusted.");
    }
    const config::JwtIssuer& cfg = issuer->config;
    issuer_index = static_cast<std::size_t>(issuer - issuers_.begin());
    // The algorithm is pinned per issuer: `none`, HS256 (which would verify an HMAC keyed with
    // the public key) and anything else is refused before any key is looked at.
    const auto alg = get_string(*header, "alg");
    if (!alg || *alg != alg_name(cfg.algorithm)) {
        return unauthorized(
            fmt::format("The JWT algorithm is not allowed for this issuer "
                        "(expected {}).",
                        alg_name(cfg.algorithm)));
    }
    if (header->contains("crit")) {
        return unauthorized(
            "The JWT has critical header parameters this gateway does not "
            "understand.");
    }
    const json::value* kid_value = header->if_contains("kid");
    if (kid_value != nullptr && !kid_value->is_string()) {
        return unauthorized("The JWT kid is not a string.");
    }
    const std::string_view kid =
        kid_value != nullptr ? std::string_view(kid_value->as_string()) : std::string_view();

    const auto snap = issuer->keys->get();
    if (!issuer->is_static && (!snap || now_ms - snap->fetched_at_ms > cfg.jwks_ttl.count())) {
        return fail(ErrorCode::Unavailable,
                    "The signing keys of the token's issuer are not available; try again later.");
    }
    const PublicKey* key = nullptr;
    if (issuer->is_static) {
        key = &snap->keys.begin()->second;
    } else if (auto it = snap->keys.find(std::string(kid)); it != snap->keys.end()) {
        key = &it->second;
    } else if (kid.empty() && snap->keys.size() == 1) {
        key = &snap->keys.begin()->second;
    }
    if (key == nullptr) {
        if (unknown_kid != nullptr) {
            *unknown_kid = true;
        }
        return unauthorized("The JWT's signing key (kid) is not known.");
    }
    if (!verify_signature(*key, token.substr(0, dot2), *sig)) {
        return unauthorized("The JWT signature is not valid.");
    }
    used = snap;

    // Claims (RFC 7519 §4.1), with bounded leeway for clock skew.
    const double now_s = static_cast<double>(now_ms) / 1000.0;
    const double leeway_s = static_cast<double>(cfg.leeway.count()) / 1000.0;
    const auto exp = get_time(*payload, "exp");
    const auto nbf = get_time(*payload, "nbf");
    if (!exp || !nbf) {
        return unauthorized(
            fmt::format("The JWT is malformed: {}.", !exp ? exp.error() : nbf.error()));
    }
    if (!*exp) {
        return unauthorized("The JWT has no exp claim.");
    }
    if (now_s >= **exp + leeway_s) {
        return unauthorized("The JWT has expired.");
    }
    if (*nbf && now_s + leeway_s < **nbf) {
        return unauthorized("The JWT is not valid yet (nbf).");
    }
    if (!cfg.audiences.empty()) {
        bool ok = false;
        const json::value* aud = payload->if_contains("aud");
        auto accepted = [&](std::string_view a) {
            return std::find(cfg.audiences.begin(), cfg.audiences.end(), a) != cfg.audiences.end();
        };
        if (aud != nullptr && aud->is_string()) {
            ok = accepted(aud->as_string());
        } else if (aud != nullptr && aud->is_array()) {
            for (const json::value& a : aud->as_array()) {
                if (a.is_string() && accepted(a.as_string())) {
                    ok = true;
                }
            }
        }
        if (!ok) {
            return unauthorized("The JWT audience (aud) is not accepted.");
        }
    }
    JwtIdentity id;
    id.issuer_name = cfg.name;
    // Clamped: converting an out-of-range double to an integer is undefined behaviour.
    id.expires_at = static_cast<std::int64_t>(std::min(**exp, 1e15));
    id.exp_s = **exp;
    const auto user = get_string(*payload, cfg.user_claim);
    if (!user || user->empty()) {
        return unauthorized(
            fmt::format("The JWT has no {} claim naming the user.", cfg.user_claim));
    }
    id.user = std::string(*user);
    if (const json::value* t = payload->if_contains(cfg.team_claim)) {
        if (!t->is_string()) {
            return unauthorized(fmt::format("The JWT claim {} is not a string.", cfg.team_claim));
        }
        id.team = std::string(t->as_string());
    }
    if (const json::value* r = payload->if_contains(cfg.roles_claim)) {
        if (r->is_string()) {
            // Space-separated, like OAuth `scope`.
            std::string_view s = r->as_string();
            while (!s.empty()) {
                const std::size_t sp = s.find(' ');
                if (sp != 0) {
                    id.roles.emplace_back(s.substr(0, sp));
                }
                if (sp == std::string_view::npos) {
                    break;
                }
                s.remove_prefix(sp + 1);
            }
        } else if (r->is_array()) {
            for (const json::value& x : r->as_array()) {
                if (!x.is_string()) {
                    return unauthorized(
                        fmt::format("The JWT claim {} is not a list of strings.", cfg.roles_claim));
                }
                id.roles.emplace_back(x.as_string());
            }
        } else {
            return unauthorized(
                fmt::format("The JWT claim {} is not a list of strings.", cfg.roles_claim));
        }
    }
    return id;
}

}  // namespace sb::governance
