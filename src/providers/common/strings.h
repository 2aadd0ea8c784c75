#pragma once

// Small string helpers shared by the translating adapters. Pure functions; any thread.

#include <string_view>

namespace sb::providers::common {

// ASCII case-insensitive equality (header names, URL schemes).
bool iequals(std::string_view a, std::string_view b);

}  // namespace sb::providers::common
