#pragma once

// A fresh RSA key pair for tests (OpenSSL 3), as PEM text, and a Google service-account key
// file built around it. Test-thread only.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace sb::test {

struct RsaKeyPair {
    std::string private_pem;  // PKCS#8
    std::string public_pem;   // SubjectPublicKeyInfo
};

inline std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(size));
}

inline RsaKeyPair make_rsa_key_pair() {
    RsaKeyPair pair;
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(2048), EVP_PKEY_free);
    if (!key) {
        return pair;
    }
    std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    PEM_write_bio_PUBKEY(pub.get(), key.get());
    pair.private_pem = bio_text(priv.get());
    pair.public_pem = bio_text(pub.get());
    return pair;
}

// A service-account key file's JSON for `private_pem`, exchanging tokens at `token_uri`.
inline std::string service_account_json(std::string_view private_pem, std::string_view token_uri,
                                        std::string_view email =
                                            "gateway@my-project.iam."
                                            "gserviceaccount.com") {
    std::string json =
        "{\"type\":\"service_account\",\"project_id\":\"my-project\","
        "\"private_key_id\":\"k1\",\"private_key\":\"";
    append_json_escaped(json, private_pem);
    json += "\",\"client_email\":\"";
    append_json_escaped(json, email);
    json += "\",\"token_uri\":\"";
    append_json_escaped(json, token_uri);
    json += "\"}";
    return json;
}

}  // namespace sb::test
