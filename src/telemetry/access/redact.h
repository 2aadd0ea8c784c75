#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace re2 {
class RE2;
}

namespace sb::telemetry::access {

inline constexpr std::string_view kRedacted = "[REDACTED]";

// Replaces every match of the configured RE2 patterns with "[REDACTED]". Immutable after
// create(); any thread may call redact().
class Redactor {
  public:
    // Fails naming the first pattern RE2 rejects (index and RE2's reason).
    static Result<std::unique_ptr<Redactor>> create(const std::vector<std::string>& patterns);
    Redactor() = default;  // no patterns
    ~Redactor();
    Redactor(const Redactor&) = delete;
    Redactor& operator=(const Redactor&) = delete;

    void redact(std::string& text) const;

  private:
    std::vector<std::unique_ptr<re2::RE2>> patterns_;
};

// Checks one pattern (for config validation): empty on success, RE2's reason otherwise.
std::string check_pattern(const std::string& pattern);

// Replaces bytes that are not valid UTF-8 with U+FFFD, so every string can be a Parquet STRING.
void make_valid_utf8(std::string& text);

}  // namespace sb::telemetry::access
