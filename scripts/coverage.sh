#!/usr/bin/env bash
# Line coverage of the host tests: build with gcov, run the host tests, write
# an HTML report to build/coverage/coverage/index.html and print the line
# coverage of mm/ and sync/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset coverage >/dev/null
cmake --build --preset coverage -j "$(nproc)"
find build/coverage -name '*.gcda' -delete
ctest --preset coverage -j 2 || true	# the report covers what ran; failures are the suite's job
cmake --build --preset coverage --target coverage
