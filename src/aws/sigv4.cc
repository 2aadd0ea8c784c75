#include "aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

namespace sb::aws::sigv4 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr char kHexLower[] = "0123456789abcdef";

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
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

char to_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = to_lower(c);
    }
    return out;
}

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

// Trimall: leading and trailing spaces removed, runs of spaces collapsed to one (SigV4
// canonical headers; test-suite case get-header-value-trim).
void append_trimmed(std::string& out, std::string_view value) {
    bool pending_space = false;
    bool any = false;
    for (const char c : value) {
        if (is_space(c)) {
            pending_space = any;
            continue;
        }
        if (pending_space) {
            out += ' ';
            pending_space = false;
        }
        out += c;
        any = true;
    }
}

using Digest = std::array<unsigned char, 32>;

Digest hmac(const unsigned char* key, std::size_t key_size, std::string_view data) {
    Digest out{};
    unsigned int size = 0;
    HMAC(EVP_sha256(), key, static_cast<int>(key_size),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &size);
    return out;
}

Digest hmac(const Digest& key, std::string_view data) {
    return hmac(key.data(), key.size(), data);
}

// 2-digit and 4-digit zero-padded decimal.
void append_padded(std::string& out, std::int64_t value, int width) {
    char buf[8];
    for (int i = width - 1; i >= 0; --i) {
        buf[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    out.append(buf, static_cast<std::size_t>(width));
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
    std::string out;
    out.reserve(text.size() + text.size() / 4);
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out += ch;
        } else {
            out += '%';
            out += kHexUpper[c >> 4];
            out += kHexUpper[c & 0x0f];
        }
    }
    return out;
}

std::string uri_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int high = hex_value(text[i + 1]);
            const int low = hex_value(text[i + 2]);
            if (high >= 0 && low >= 0) {
                out += static_cast<char>(high * 16 + low);
                i += 2;
                continue;
            }
        }
        out += text[i];
    }
    return out;
}

std::string canonical_uri(std::string_view wire_path) {
    std::vector<std::string_view> segments;
    std::size_t pos = 0;
    while (pos <= wire_path.size()) {
        std::size_t slash = wire_path.find('/', pos);
        if (slash == std::string_view::npos) {
            slash = wire_path.size();
        }
        const std::string_view segment = wire_path.substr(pos, slash - pos);
        if (segment == "..") {
            if (!segments.empty()) {
                segments.pop_back();
            }
        } else if (!segment.empty() && segment != ".") {
            segments.push_back(segment);
        }
        pos = slash + 1;
    }
    std::string out = "/";
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (i > 0) {
            out += '/';
        }
        out += uri_encode(segments[i], /*keep_slash=*/false);
    }
    if (!segments.empty() && !wire_path.empty() && wire_path.back() == '/') {
        out += '/';
    }
    return out;
}

std::string canonical_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> pairs;
    std::size_t pos = 0;
    while (pos <= query.size() && !query.empty()) {
        std::size_t amp = query.find('&', pos);
        if (amp == std::string_view::npos) {
            amp = query.size();
        }
        const std::string_view pair = query.substr(pos, amp - pos);
        if (!pair.empty()) {
            const std::size_t eq = pair.find('=');
            const std::string_view name = pair.substr(0, eq);
            const std::string_view value =
                eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
            pairs.emplace_back(uri_encode(uri_decode(name), false),
                               uri_encode(uri_decode(value), false));
        }
        pos = amp + 1;
    }
    std::sort(pairs.begin(), pairs.end());
    std::string out;
    for (const auto& [name, value] : pairs) {
        if (!out.empty()) {
            out += '&';
        }
        out += name;
        out += '=';
        out += value;
    }
    return out;
}

std::string amz_date(std::int64_t unix_seconds) {
    // Days to civil date: H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"
    // (civil_from_days), valid for every int64 day count we can meet.
    std::int64_t days = unix_seconds / 86400;
    std::int64_t secs = unix_seconds % 86400;
    if (secs < 0) {
        secs += 86400;
        --days;
    }
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
    const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

    std::string out;
    out.reserve(16);
    append_padded(out, year, 4);
    append_padded(out, month, 2);
    append_padded(out, day, 2);
    out += 'T';
    append_padded(out, secs / 3600, 2);
    append_padded(out, secs / 60 % 60, 2);
    append_padded(out, secs % 60, 2);
    out += 'Z';
    return out;
}

std::string hex(const unsigned char* data, std::size_t size) {
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out += kHexLower[data[i] >> 4];
        out += kHexLower[data[i] & 0x0f];
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    Digest digest{};
    unsigned int size = 0;
    EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
    return hex(digest.data(), digest.size());
}

std::array<unsigned char, 32> signing_key(std::string_view secret_access_key, std::string_view date,
                                          std::string_view region, std::string_view service) {
    std::string secret = "AWS4";
    secret += secret_access_key;
    const Digest k_date =
        hmac(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), date);
    const Digest k_region = hmac(k_date, region);
    const Digest k_service = hmac(k_region, service);
    return hmac(k_service, "aws4_request");
}

Signed sign(const Request& request, const Credentials& credentials, const Options& options,
            std::int64_t unix_seconds) {
    Signed out;
    out.amz_date = amz_date(unix_seconds);
    out.payload_sha256 = sha256_hex(request.payload);
    const std::string_view date = std::string_view(out.amz_date).substr(0, 8);

    // Headers to sign, lower-cased; stable sort keeps the order of repeated names' values.
    std::vector<std::pair<std::string, std::string_view>> headers;
    headers.reserve(request.headers.size() + 4);
    headers.emplace_back("host", request.host);
    headers.emplace_back("x-amz-date", out.amz_date);
    if (!credentials.session_token.empty()) {
        headers.emplace_back("x-amz-security-token", credentials.session_token);
    }
    if (options.content_sha256_header) {
        headers.emplace_back("x-amz-content-sha256", out.payload_sha256);
    }
    for (const auto& [name, value] : request.headers) {
        headers.emplace_back(lower(name), value);
    }
    std::stable_sort(headers.begin(), headers.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });

    std::string canonical_headers;
    for (std::size_t i = 0; i < headers.size(); ++i) {
        const bool same_as_previous = i > 0 && headers[i].first == headers[i - 1].first;
        if (same_as_previous) {
            canonical_headers += ',';
        } else {
            if (i > 0) {
                canonical_headers += '\n';
                out.signed_headers += ';';
            }
            canonical_headers += headers[i].first;
            canonical_headers += ':';
            out.signed_headers += headers[i].first;
        }
        append_trimmed(canonical_headers, headers[i].second);
    }
    canonical_headers += '\n';

    out.canonical_request.reserve(256 + canonical_headers.size());
    out.canonical_request += request.method;
    out.canonical_request += '\n';
    out.canonical_request +=
        options.s3_path ? std::string(request.path) : canonical_uri(request.path);
    out.canonical_request += '\n';
    out.canonical_request += canonical_query(request.query);
    out.canonical_request += '\n';
    out.canonical_request += canonical_headers;
    out.canonical_request += '\n';
    out.canonical_request += out.signed_headers;
    out.canonical_request += '\n';
    out.canonical_request += out.payload_sha256;

    std::string scope;
    scope += date;
    scope += '/';
    scope += options.region;
    scope += '/';
    scope += options.service;
    scope += "/aws4_request";

    out.string_to_sign += kAlgorithm;
    out.string_to_sign += '\n';
    out.string_to_sign += out.amz_date;
    out.string_to_sign += '\n';
    out.string_to_sign += scope;
    out.string_to_sign += '\n';
    out.string_to_sign += sha256_hex(out.canonical_request);

    const Digest key =
        signing_key(credentials.secret_access_key, date, options.region, options.service);
    const Digest signature = hmac(key, out.string_to_sign);

    out.authorization += kAlgorithm;
    out.authorization += " Credential=";
    out.authorization += credentials.access_key_id;
    out.authorization += '/';
    out.authorization += scope;
    out.authorization += ", SignedHeaders=";
    out.authorization += out.signed_headers;
    out.authorization += ", Signature=";
    out.authorization += hex(signature.data(), signature.size());

    out.headers.reserve(4);
    out.headers.push_back("X-Amz-Date: " + out.amz_date);
    if (!credentials.session_token.empty()) {
        out.headers.push_back("X-Amz-Security-Token: " + std::string(credentials.session_token));
    }
    if (options.content_sha256_header) {
        out.headers.push_back("X-Amz-Content-Sha256: " + out.payload_sha256);
    }
    out.headers.push_back("Authorization: " + out.authorization);
    return out;
}

}  // namespace sb::aws::sigv4
