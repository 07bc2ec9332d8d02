#!/usr/bin/env bash
# Installs what is missing, builds with clang-19, runs the whole suite (unit and
# integration: the integration tests start their own nats-server processes), then
# builds test_package against an installation into a temporary prefix, with CMake
# and with pkg-config.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bash "$root/scripts/setup.sh"
build=${BUILD_DIR:-$root/build}
configure "$build"
cmake --build "$build"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"

prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
# With config packages preferred, as some toolchains set: Debian's broken cnats
# config must not be picked (cmake/Findcnats.cmake).
cmake -S "$root/test_package" -B "$prefix/test_package-build" -G Ninja -DCMAKE_CXX_COMPILER="$CXX" \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_PACKAGE_PREFER_CONFIG=ON >/dev/null
cmake --build "$prefix/test_package-build" >/dev/null
"$prefix/test_package-build/test_package"
"$prefix/test_package-build/test_package_postgres"
cmp "$prefix/share/natscoro/natscoro_outbox.postgresql.sql" "$root/sql/natscoro_outbox.postgresql.sql"
# The standard is the user's: C++23 here (natscoro.pc does not pin one), and an
# older one is refused by name.
# shellcheck disable=SC2046
"$CXX" -std=c++23 -o "$prefix/test_package-pc" "$root/test_package/test_package.cpp" \
  $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs natscoro) -Wl,-rpath,"$prefix/lib"
"$prefix/test_package-pc"
# shellcheck disable=SC2046
if "$CXX" -std=c++17 -fsyntax-only "$root/test_package/test_package.cpp" \
     $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags natscoro) 2>"$prefix/cxx17.log"; then
  echo "test.sh: a C++17 build of natscoro's headers was not refused" >&2; exit 1
fi
grep -q "natscoro needs C++20 or later" "$prefix/cxx17.log"
# shellcheck disable=SC2046
"$CXX" -std=c++20 -o "$prefix/test_package_postgres-pc" "$root/test_package/test_package_postgres.cpp" \
  $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs natscoro-postgres) -Wl,-rpath,"$prefix/lib"
"$prefix/test_package_postgres-pc"
echo "test.sh: all tests passed; test_package built against the installed package (CMake and pkg-config)"
