#pragma once

#include <tl/expected.hpp>

#include "core/error.h"

namespace sb {

// Expected failures are values. The alias is the one line to change for std::expected later.
template <typename T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

inline tl::unexpected<Error> fail(Error e) { return tl::unexpected<Error>(std::move(e)); }
inline tl::unexpected<Error> fail(ErrorCode code, std::string message, std::string param = {}) {
    return tl::unexpected<Error>(Error{code, std::move(message), std::move(param)});
}

}  // namespace sb

#define SB_TRY(var, expr)                         \
    auto var##_result_ = (expr);                  \
    if (!var##_result_) {                         \
        return ::sb::fail(std::move(var##_result_).error()); \
    }                                             \
    auto var = std::move(*var##_result_)
