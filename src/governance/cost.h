#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sb::governance {

// Prices of one target in currency per million tokens. The routing layer owns the per-target
// table and passes a Price in; governance only does the arithmetic.
struct Price {
    double input_per_million = 0;
    double output_per_million = 0;
    std::optional<double> cached_input_per_million;  // unset: cached tokens cost as input
};

// Token usage of one attempt, as reported by the provider adapter. `cached_prompt_tokens` is
// the part of `prompt_tokens` served from the provider's prompt cache (OpenAI semantics).
struct Usage {
    std::uint64_t prompt_tokens = 0;
    std::uint64_t completion_tokens = 0;
    std::uint64_t cached_prompt_tokens = 0;

    std::uint64_t total() const { return prompt_tokens + completion_tokens; }
};

// Money is counted in nano-units (1e-9 of the currency) so that counters are exact integers.
using Nanos = std::int64_t;
inline constexpr double kNanosPerUnit = 1e9;

Nanos cost_nanos(const Price& price, const Usage& usage);
// The cost in currency units (e.g. USD).
double cost(const Price& price, const Usage& usage);
Nanos to_nanos(double amount);
double from_nanos(Nanos n);
// Exact decimal text of an amount, without trailing zeros: 7'250'000 -> "0.00725", 0 -> "0".
// For the cost response header and the access record.
std::string format_cost(Nanos n);

}  // namespace sb::governance
