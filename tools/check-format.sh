#!/usr/bin/env bash
# Fails when a tracked C source, header or OpenCL kernel differs from
# .clang-format. The kernels are checked too: clang-format reads .cl files
# as C and only moves whitespace in them (address-space qualifiers, vector
# literals and kernel attributes come through unchanged). The version is
# pinned to Debian 12's clang-format 14, as another version formats some
# constructs differently; CLANG_FORMAT names another binary.
# Usage: tools/check-format.sh (from anywhere in the repository).
set -euo pipefail
cd "$(dirname "$0")/.."

clang_format=${CLANG_FORMAT:-clang-format-14}
command -v "$clang_format" >/dev/null || clang_format=clang-format
if ! command -v "$clang_format" >/dev/null; then
    echo "check-format: clang-format not found (tools/install-deps.sh installs it)" >&2
    exit 2
fi
version=$("$clang_format" --version)
case "$version" in
*"version 14."*) ;;
*) echo "check-format: warning: $version; CI formats with clang-format 14" >&2 ;;
esac

files=()
while IFS= read -r -d '' f; do
    files+=("$f")
done < <(git ls-files -z -- '*.c' '*.h' '*.cl')

# One run per file, so that the report names each file that differs (with
# its first difference) instead of every line clang-format would move.
bad=0
for f in "${files[@]}"; do
    if ! out=$("$clang_format" --dry-run --Werror "$f" 2>&1); then
        bad=$((bad + 1))
        echo "${out%%$'\n'*}" >&2
    fi
done
if [ "$bad" -ne 0 ]; then
    echo "check-format: $bad of ${#files[@]} files differ from .clang-format (clang-format -i FILE)" >&2
    exit 1
fi
echo "check-format: ${#files[@]} files match .clang-format"
