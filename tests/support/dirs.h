#pragma once

// Where sb_unit_tests finds its data: the paths tests/CMakeLists.txt compiles in. Only for unit
// tests (the integration tests do not define these macros).

#include <filesystem>
#include <string_view>

#ifndef SB_GOLDEN_DIR
#error "SB_GOLDEN_DIR must be defined (tests/CMakeLists.txt)"
#endif
#ifndef SB_FIXTURES_DIR
#error "SB_FIXTURES_DIR must be defined (tests/CMakeLists.txt)"
#endif
#ifndef SB_FUZZ_CORPUS_DIR
#error "SB_FUZZ_CORPUS_DIR must be defined (tests/CMakeLists.txt)"
#endif

namespace sb::test {

// tests/golden/<name>/.
inline std::filesystem::path golden_dir(std::string_view name) {
    return std::filesystem::path(SB_GOLDEN_DIR) / name;
}

// The recorded provider fixtures, shared/fixtures/providers/ (outside the repository; tests that
// need them skip with SB_SKIP_WITHOUT_FIXTURES when they are absent).
inline std::filesystem::path provider_fixtures_dir() {
    return std::filesystem::path(SB_FIXTURES_DIR) / "providers";
}

// fuzz/corpus/<target>/.
inline std::filesystem::path fuzz_corpus_dir(std::string_view target) {
    return std::filesystem::path(SB_FUZZ_CORPUS_DIR) / target;
}

}  // namespace sb::test
