#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sb {

// Model-name globs, for routing patterns (config `models:`) and governance allow-lists alike: `*`
// matches any run of characters (also empty), `?` exactly one; everything else matches itself.
// Pure functions, any thread.
bool glob_match(std::string_view pattern, std::string_view text);

// True only if every name `inner` matches is also matched by `outer` (a sound, conservative
// subset test: `gpt-*` covers `gpt-4o*` and `gpt-4o`, but `gpt-4o` never covers `gpt-*`).
bool glob_covers(std::string_view outer, std::string_view inner);

bool any_glob_matches(const std::vector<std::string>& patterns, std::string_view text);

// Every pattern of `inner` is covered by some pattern of `outer`.
bool globs_cover(const std::vector<std::string>& outer, const std::vector<std::string>& inner);

}  // namespace sb
