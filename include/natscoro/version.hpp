// natscoro's version, and the language standard it needs. The single source of
// the version: CMakeLists.txt and conanfile.py read it from here.
#pragma once

#if __cplusplus < 202002L
#error "natscoro needs C++20 or later (for example -std=c++20)"
#endif

#define NATSCORO_VERSION_MAJOR 0
#define NATSCORO_VERSION_MINOR 1
#define NATSCORO_VERSION_PATCH 0
#define NATSCORO_VERSION_STRING "0.1.0"
/// For comparisons in #if: major * 10000 + minor * 100 + patch.
#define NATSCORO_VERSION (NATSCORO_VERSION_MAJOR * 10000 + NATSCORO_VERSION_MINOR * 100 + NATSCORO_VERSION_PATCH)

namespace natscoro {

/// The version of the library linked in (the macros give the headers' version).
const char* version() noexcept;

}  // namespace natscoro
