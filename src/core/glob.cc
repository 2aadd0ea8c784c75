#include "core/glob.h"

#include <algorithm>

namespace sb {
namespace {

// Greedy matcher with single-star backtracking (linear in practice, O(n*m) worst case).
// `same(p, t)` says whether pattern character p (not `*`) matches text character t.
template <typename Same>
bool match_with(std::string_view p, std::string_view t, Same same) {
    std::size_t pi = 0;
    std::size_t ti = 0;
    std::size_t star = std::string_view::npos;
    std::size_t star_t = 0;
    while (ti < t.size()) {
        if (pi < p.size() && p[pi] != '*' && same(p[pi], t[ti])) {
            ++pi;
            ++ti;
        } else if (pi < p.size() && p[pi] == '*') {
            star = pi++;
            star_t = ti;
        } else if (star != std::string_view::npos) {
            pi = star + 1;
            ti = ++star_t;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '*') {
        ++pi;
    }
    return pi == p.size();
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
    return match_with(pattern, text, [](char p, char t) { return p == '?' || p == t; });
}

bool glob_covers(std::string_view outer, std::string_view inner) {
    // Treat `inner` as text: an outer `*` absorbs anything (wildcards included); an outer `?`
    // absorbs exactly one character that stands for exactly one (a literal or `?`); an outer
    // literal only matches the same literal. Inner `*` can thus only be covered by outer `*`.
    return match_with(outer, inner, [](char p, char t) {
        if (t == '*') {
            return false;
        }
        if (p == '?') {
            return true;
        }
        return t != '?' && p == t;
    });
}

bool any_glob_matches(const std::vector<std::string>& patterns, std::string_view text) {
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return glob_match(p, text); });
}

bool globs_cover(const std::vector<std::string>& outer, const std::vector<std::string>& inner) {
    return std::all_of(inner.begin(), inner.end(), [&](const std::string& i) {
        return std::any_of(outer.begin(), outer.end(),
                           [&](const std::string& o) { return glob_covers(o, i); });
    });
}

}  // namespace sb
