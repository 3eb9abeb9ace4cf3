#!/usr/bin/env bash
# Install what is missing, build, and boot Kestrel on 4 vCPUs in QEMU (TCG)
# with the serial console on this terminal, running the demo: /init runs the
# fork, mremap and fault-scaling stress loops (static musl programs, the
# same binaries that run natively on Linux) through the mm core, each
# printing its progress and KTAP results; QEMU exits when they are done.
#   bash scripts/run.sh            the demo
#   bash scripts/run.sh shell      boot to the kernel's banner and SMP demo only
# Environment for qemu-run.sh: SMP, MEM, APPEND.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset host >/dev/null
cmake --build --preset host -j "$(nproc)"
if [ "${1:-}" = "shell" ]; then
  exec bash scripts/qemu-run.sh build/host
fi
demo="/init+/forkloop:iters=10+/mremaploop:threads=2:iters=400+/faultscale:threads=1,2,4:pages=1024:rounds=3"
INITRD=build/host/initramfs.cpio APPEND="${APPEND:-ktest=user_run user=$demo loglevel=6}" \
  exec bash scripts/qemu-run.sh build/host
