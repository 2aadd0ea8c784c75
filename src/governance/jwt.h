#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "core/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace sb::governance {

// Strict base64url (RFC 4648 §5) without padding: only A-Z a-z 0-9 - _, no `=`, and the
// unused low bits of the last character must be zero (one encoding per byte string).
std::optional<std::string> base64url_decode(std::string_view in);

// A public key, shared and immutable.
struct PublicKey {
    std::shared_ptr<EVP_PKEY> pkey;
    config::JwtAlgorithm algorithm = config::JwtAlgorithm::RS256;
};

// Parses a PEM public key and checks it fits the algorithm (RSA >= 2048 bits for RS256, EC
// P-256 for ES256).
Result<PublicKey> parse_pem_public_key(std::string_view pem, config::JwtAlgorithm alg);

// kid -> key. Keys whose type does not fit the issuer's algorithm are skipped.
using KeySet = std::unordered_map<std::string, PublicKey>;
// Parses a JWKS document (RFC 7517) for one pinned algorithm.
Result<KeySet> parse_jwks(std::string_view json, config::JwtAlgorithm alg);

// Verifies `signing_input` against `signature` (JWS raw form: RS256 PKCS#1 v1.5, ES256 r||s).
bool verify_signature(const PublicKey& key, std::string_view signing_input,
                      std::string_view signature);

// The keys of one issuer: a static key, or the last JWKS fetched with when it was fetched.
// Written by the fetcher thread, read by workers (atomic shared_ptr swap).
class IssuerKeys {
  public:
    struct Snapshot {
        KeySet keys;
        std::int64_t fetched_at_ms = 0;
    };
    void set(KeySet keys, std::int64_t fetched_at_ms);
    std::shared_ptr<const Snapshot> get() const { return current_.load(); }

  private:
    std::atomic<std::shared_ptr<const Snapshot>> current_;
};

struct JwtIdentity {
    std::string issuer_name;  // auth.jwt.issuers key
    std::string user;
    std::string team;
    std::vector<std::string> roles;
    std::int64_t expires_at = 0;  // unix seconds
    double exp_s = 0;             // the exp claim as sent
};

// Verifies tokens against the configured issuers. Immutable after construction except for the
// per-issuer key sets, which the JWKS fetcher swaps; any thread may call verify().
class JwtVerifier {
  public:
    struct Issuer {
        config::JwtIssuer config;
        std::shared_ptr<IssuerKeys> keys;
        bool is_static = false;
    };

    static Result<std::shared_ptr<JwtVerifier>> create(const std::vector<config::JwtIssuer>& cfg);

    // Errors: 401 Unauthorized for any token problem; 503 Unavailable when the issuer's keys are
    // not known (JWKS never fetched, or the cache is older than jwks_ttl). `unknown_kid` is set
    // when the token names a kid the cached JWKS lacks (the caller may ask for a refresh).
    Result<JwtIdentity> verify(std::string_view token, std::int64_t now_ms,
                               bool* unknown_kid = nullptr) const;

    const std::vector<Issuer>& issuers() const { return issuers_; }

  private:
    Result<JwtIdentity> verify_uncached(std::string_view token, std::int64_t now_ms,
                                        bool* unknown_kid, std::size_t& issuer_index,
                                        std::shared_ptr<const IssuerKeys::Snapshot>& used) const;

    // Verified tokens by SHA-256 of the whole token. A hit is used only while the issuer still
    // has the very key set that verified it (rotation and jwks_ttl invalidate), and exp still
    // holds; a stripe that grows past its cap is cleared. Saves the signature check (~18 us for
    // RS256) for callers who reuse a token.
    struct CacheEntry {
        JwtIdentity identity;
        std::size_t issuer_index = 0;
        std::shared_ptr<const IssuerKeys::Snapshot> keys;
        double exp_s = 0;
    };
    struct CacheStripe {
        std::mutex mu;
        std::unordered_map<std::string, CacheEntry> map;
    };
    static constexpr std::size_t kCacheStripes = 16;
    static constexpr std::size_t kCachePerStripe = 4096;

    std::vector<Issuer> issuers_;
    mutable std::array<CacheStripe, kCacheStripes> cache_;
};

}  // namespace sb::governance
