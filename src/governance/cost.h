#pragma once

// Governance's names for the one price, usage and cost arithmetic, defined in api/usage.h:
// these are the same types and functions as api::Price, api::Usage, api::cost_nanos... (no
// conversion). The routing layer owns the per-target price table (config::Price, also
// api::Price) and passes a Price in; governance counts money in exact nano-units.

#include "api/usage.h"

namespace sb::governance {

using api::cost;
using api::cost_nanos;
using api::format_cost;
using api::from_nanos;
using api::kNanosPerUnit;
using api::Nanos;
using api::Price;
using api::to_nanos;
using api::Usage;

}  // namespace sb::governance
