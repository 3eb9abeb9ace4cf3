#!/bin/sh
# scripts/qemu-debug.sh [BUILD_DIR] - start Kestrel under QEMU halted, with
# its gdb stub on localhost:1234 (-s -S), and attach gdb with the kernel's
# symbols (kestrel.elf). The first `continue` boots; break on kmain, panic
# or any function first. Set NOGDB=1 to only start QEMU (attach yourself:
#   gdb BUILD/kernel/kestrel.elf -ex 'target remote :1234').
# Environment as for qemu-run.sh (SMP, MEM, APPEND).
set -e
build=${1:-build/host}
elf=$build/kernel/kestrel.elf
kernel=$build/kernel/kestrel.bin
[ -f "$kernel" ] || { echo "no $kernel: build first (cmake --build $build)" >&2; exit 1; }
qemu-system-x86_64 -kernel "$kernel" -smp "${SMP:-4}" -m "${MEM:-256M}" \
	-accel tcg,thread=multi -display none -serial file:"$build/qemu-serial.log" \
	-no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-append "${APPEND:-loglevel=7}" -s -S &
qemu=$!
trap 'kill $qemu 2>/dev/null' EXIT
echo "qemu pid $qemu, serial output in $build/qemu-serial.log"
if [ -n "${NOGDB:-}" ]; then
	wait $qemu
	exit
fi
# The image starts in 32-bit mode at _start32; gdb follows once long mode
# is on. Hardware breakpoints work across the mode switch.
gdb -q "$elf" -ex 'set architecture i386:x86-64' -ex 'target remote localhost:1234' \
	-ex 'hbreak kmain' -ex 'echo continue to boot; kmain is the first C function\n'
