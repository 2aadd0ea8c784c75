# Warnings for project targets: -Wall -Wextra -Wpedantic -Wshadow; -Werror when SB_WERROR=ON (CI).
option(SB_WERROR "Treat warnings as errors" OFF)
add_library(sb_warnings INTERFACE)
target_compile_options(sb_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow)
if(SB_WERROR)
  target_compile_options(sb_warnings INTERFACE -Werror)
endif()
