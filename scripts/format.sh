#!/usr/bin/env bash
# Formats the C++ sources with clang-format-19 and .clang-format, or with
# --check says which files are not formatted (CI) and fails.
#   scripts/format.sh [--check]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
cd "$root"
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if [[ ${1:-} == --check ]]; then
  if ! clang-format-19 --dry-run --Werror "${files[@]}" 2>/tmp/format-check.$$; then
    grep "error:" /tmp/format-check.$$ | cut -d: -f1 | sort | uniq -c | sed 's/^/format.sh: not formatted: /' >&2
    rm -f /tmp/format-check.$$
    echo "format.sh: run scripts/format.sh to format them" >&2
    exit 1
  fi
  rm -f /tmp/format-check.$$
  echo "format.sh: ${#files[@]} files formatted as .clang-format says"
else
  clang-format-19 -i "${files[@]}"
fi
