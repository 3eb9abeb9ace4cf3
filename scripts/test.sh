#!/usr/bin/env bash
# The whole test suite: install what is missing, build both flavours (host
# under ASan+UBSan, and the kernel), run every CTest test (labels host,
# stress, bench-smoke, native, qemu). Extra arguments go to ctest, e.g.
#   scripts/test.sh -L host        scripts/test.sh -R mt_
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$(nproc)"
ctest --preset asan -j 2 --timeout 600 "$@"
