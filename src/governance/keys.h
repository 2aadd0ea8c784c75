#pragma once

#include <array>
#include <string>
#include <string_view>

namespace sb::governance {

// API key material. A key is `sk-sb-` followed by 256 random bits in base64url (43 characters);
// only its SHA-256 is ever stored. The id is separate random data, safe to log.
inline constexpr std::string_view kKeyPrefix = "sk-sb-";

struct NewKey {
    std::string secret;  // shown once, never stored or logged
    std::string id;      // "key_" + 16 random hex digits
    std::string hash;    // lower-case hex SHA-256 of `secret`
};

// Fresh key from OpenSSL's CSPRNG (RAND_bytes). Aborts if the CSPRNG fails: no key is better
// than a weak one.
NewKey generate_key();

using Digest = std::array<unsigned char, 32>;
Digest sha256(std::string_view data);
std::string to_hex(const Digest& d);
// Parses 64 hex digits; false on anything else.
bool from_hex(std::string_view hex, Digest& out);
std::string new_key_id();

}  // namespace sb::governance
