#include "telemetry/access/redact.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include "telemetry/parquet/schema.h"

namespace sb::telemetry::access {

Result<std::unique_ptr<Redactor>> Redactor::create(const std::vector<std::string>& patterns) {
    auto r = std::make_unique<Redactor>();
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        RE2::Options opts;
        opts.set_log_errors(false);
        auto re = std::make_unique<re2::RE2>(patterns[i], opts);
        if (!re->ok()) {
            return fail(ErrorCode::InvalidRequest,
                        fmt::format("redact pattern {}: {}", i, re->error()));
        }
        r->patterns_.push_back(std::move(re));
    }
    return r;
}

Redactor::~Redactor() = default;

void Redactor::redact(std::string& text) const {
    for (const auto& re : patterns_) {
        re2::RE2::GlobalReplace(&text, *re, std::string(kRedacted));
    }
}

std::string check_pattern(const std::string& pattern) {
    RE2::Options opts;
    opts.set_log_errors(false);
    re2::RE2 re(pattern, opts);
    return re.ok() ? std::string() : re.error();
}

void make_valid_utf8(std::string& text) {
    auto valid_at = [&](std::size_t i, std::size_t& len) {
        const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
        const unsigned char c = b(i);
        if (c < 0x80) {
            len = 1;
            return true;
        }
        std::uint32_t cp = 0;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > text.size()) {
            return false;
        }
        for (std::size_t k = 1; k < len; ++k) {
            if ((b(i + k) & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (b(i + k) & 0x3f);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        return cp >= kMin[len] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    };
    if (parquet::is_valid_utf8(text)) {
        return;  // the common case (ASCII fast path, then simdjson)
    }
    std::size_t len = 0;
    std::size_t i = 0;
    while (i < text.size() && valid_at(i, len)) {
        i += len;
    }
    std::string out = text.substr(0, i);
    while (i < text.size()) {
        if (valid_at(i, len)) {
            out.append(text, i, len);
            i += len;
        } else {
            out += "\xef\xbf\xbd";
            ++i;
        }
    }
    text = std::move(out);
}

}  // namespace sb::telemetry::access
