#!/usr/bin/env bash
# Install what is missing, build, and boot Kestrel on 4 vCPUs in QEMU (TCG)
# with the serial console on this terminal. Arguments go to qemu-run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset host >/dev/null
cmake --build --preset host -j "$(nproc)"
exec bash scripts/qemu-run.sh build/host "$@"
