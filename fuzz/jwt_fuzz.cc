// Credential parsing: the bytes as a bearer credential (API key or JWT) through
// Governance::authenticate, as a JWKS document, and as base64url. Nothing may crash, and a
// token without a valid signature must never authenticate.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "governance/governance.h"
#include "governance/jwt.h"

namespace {

sb::governance::Governance& governance() {
    static std::shared_ptr<sb::governance::Governance> gov = [] {
        std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(2048), EVP_PKEY_free);
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
        PEM_write_bio_PUBKEY(bio.get(), key.get());
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio.get(), &data);
        const std::string pem(data, static_cast<std::size_t>(n));
        std::string yaml = "auth:\n  keys: {k: {hash: \"" + std::string(64, 'a') +
                           "\"}}\n  jwt:\n    issuers:\n      idp:\n        issuer: https://idp\n"
                           "        algorithm: RS256\n        public_key: |\n";
        for (std::size_t pos = 0; pos < pem.size();) {
            const std::size_t nl = pem.find('\n', pos);
            yaml += "          " + pem.substr(pos, nl - pos) + "\n";
            pos = nl + 1;
        }
        auto cfg = sb::config::parse(yaml, [](std::string_view) { return std::nullopt; });
        sb::governance::Options o;
        o.start_threads = false;
        o.now_ms = [] { return std::int64_t{1'800'000'000'000}; };
        return *sb::governance::Governance::create(*cfg, o);
    }();
    return *gov;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    // The private key is never known to the fuzzer: nothing may authenticate.
    if (governance().authenticate(std::string("Bearer ") + std::string(in), "")) {
        std::abort();
    }
    (void)governance().authenticate("", in);
    (void)sb::governance::parse_jwks(in, sb::config::JwtAlgorithm::RS256);
    (void)sb::governance::parse_jwks(in, sb::config::JwtAlgorithm::ES256);
    (void)sb::governance::base64url_decode(in);
    return 0;
}
