#!/bin/sh
# scripts/qemu-run.sh [BUILD_DIR] [-- extra QEMU args] - boot Kestrel on 4
# vCPUs (TCG) with the serial console on this terminal. Without ktest= on
# the command line the kernel shows its banner and a small SMP demo, then
# idles; quit with Ctrl-A X. Environment: SMP (4), MEM (256M), APPEND
# (kernel command line, e.g. "smp=2 loglevel=7" or "ktest=all"), INITRD
# (an initramfs.cpio for user programs; adds -cpu max for SMEP/SMAP/NX).
set -e
build=${1:-build/host}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
kernel=$build/kernel/kestrel.bin
[ -f "$kernel" ] || { echo "no $kernel: build first (cmake --build $build)" >&2; exit 1; }
[ -n "${INITRD:-}" ] && set -- -initrd "$INITRD" -cpu max "$@"
exec qemu-system-x86_64 -kernel "$kernel" -smp "${SMP:-4}" -m "${MEM:-256M}" \
	-accel tcg,thread=multi -display none -serial mon:stdio -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-append "${APPEND:-loglevel=6}" "$@"
