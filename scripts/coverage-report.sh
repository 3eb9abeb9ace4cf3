#!/usr/bin/env bash
# coverage-report.sh BUILD_DIR SOURCE_DIR: lcov capture over BUILD_DIR, HTML
# report in BUILD_DIR/coverage/, and the line coverage of mm/ and sync/.
set -euo pipefail
build=$1 src=$2
out=$build/coverage
mkdir -p "$out"
lcov --quiet --capture --directory "$build" --output-file "$out/all.info" \
     --rc lcov_branch_coverage=0 --ignore-errors gcov,source >/dev/null
lcov --quiet --extract "$out/all.info" "$src/mm/*" "$src/sync/*" "$src/arch/host/*" \
     --output-file "$out/kestrel.info" >/dev/null
genhtml --quiet "$out/kestrel.info" --output-directory "$out" --title "Kestrel host tests" >/dev/null
for part in mm sync; do
  lcov --quiet --extract "$out/kestrel.info" "$src/$part/*" --output-file "$out/$part.info" >/dev/null 2>&1 || true
  printf '%-5s ' "$part/"
  lcov --summary "$out/$part.info" 2>&1 | grep -E 'lines' || echo "no data"
done
echo "HTML report: $out/index.html"
