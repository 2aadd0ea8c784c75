#pragma once

// Small string helpers shared by the translating adapters. Pure functions; any thread.

#include <string_view>

namespace sb::providers::common {

// ASCII case-insensitive equality (header names, URL schemes).
bool iequals(std::string_view a, std::string_view b);

// True when `s` holds only spaces, tabs, CRs and LFs (or nothing).
bool is_blank(std::string_view s);

}  // namespace sb::providers::common
