#include "governance/cost.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sb::governance {

Nanos to_nanos(double amount) {
    if (!(amount > 0)) {
        return 0;
    }
    const double n = std::ceil(amount * kNanosPerUnit - 1e-6);
    if (n >= static_cast<double>(std::numeric_limits<Nanos>::max() / 4)) {
        return std::numeric_limits<Nanos>::max() / 4;
    }
    return static_cast<Nanos>(n);
}

double from_nanos(Nanos n) {
    return static_cast<double>(n) / kNanosPerUnit;
}

Nanos cost_nanos(const Price& price, const Usage& usage) {
    const std::uint64_t cached = std::min(usage.cached_prompt_tokens, usage.prompt_tokens);
    const std::uint64_t uncached = usage.prompt_tokens - cached;
    const double cached_price = price.cached_input_per_million.value_or(price.input_per_million);
    // price per million tokens * tokens / 1e6 = currency; * 1e9 = nanos.
    const double nanos = (static_cast<double>(uncached) * price.input_per_million +
                          static_cast<double>(cached) * cached_price +
                          static_cast<double>(usage.completion_tokens) * price.output_per_million) *
                         1e3;
    return to_nanos(nanos / kNanosPerUnit);
}

std::string format_cost(Nanos n) {
    const bool negative = n < 0;
    const auto v = negative ? -static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
    std::string frac = std::to_string(v % 1'000'000'000);
    frac.insert(0, 9 - frac.size(), '0');
    while (!frac.empty() && frac.back() == '0') {
        frac.pop_back();
    }
    std::string out = negative ? "-" : "";
    out += std::to_string(v / 1'000'000'000);
    if (!frac.empty()) {
        out += '.';
        out += frac;
    }
    return out;
}

double cost(const Price& price, const Usage& usage) {
    return from_nanos(cost_nanos(price, usage));
}

}  // namespace sb::governance
