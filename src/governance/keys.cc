#include "governance/keys.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>

namespace sb::governance {
namespace {

void random_bytes(unsigned char* out, int n) {
    if (RAND_bytes(out, n) != 1) {
        std::abort();  // the CSPRNG is broken; never hand out a predictable key
    }
}

std::string base64url(const unsigned char* data, int n) {
    std::string out(static_cast<std::size_t>(4 * ((n + 2) / 3) + 1), '\0');
    const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, n);
    out.resize(static_cast<std::size_t>(len));
    while (!out.empty() && out.back() == '=') {
        out.pop_back();
    }
    for (char& c : out) {
        if (c == '+') {
            c = '-';
        } else if (c == '/') {
            c = '_';
        }
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

}  // namespace

Digest sha256(std::string_view data) {
    Digest d{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
    return d;
}

std::string to_hex(const Digest& d) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (unsigned char b : d) {
        out += kHex[b >> 4];
        out += kHex[b & 0xF];
    }
    return out;
}

bool from_hex(std::string_view hex, Digest& out) {
    if (hex.size() != 64) {
        return false;
    }
    for (std::size_t i = 0; i < 32; ++i) {
        const int hi = hex_value(hex[2 * i]);
        const int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    return true;
}

std::string new_key_id() {
    unsigned char raw[8];
    random_bytes(raw, sizeof raw);
    std::string out = "key_";
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char b : raw) {
        out += kHex[b >> 4];
        out += kHex[b & 0xF];
    }
    return out;
}

NewKey generate_key() {
    unsigned char raw[32];
    random_bytes(raw, sizeof raw);
    NewKey k;
    k.secret = std::string(kKeyPrefix) + base64url(raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    k.hash = to_hex(sha256(k.secret));
    k.id = new_key_id();
    return k;
}

}  // namespace sb::governance
