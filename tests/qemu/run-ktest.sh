#!/bin/sh
# tests/qemu/run-ktest.sh KERNEL SMP MEM KTEST [fail [REGEX...]] - boot Kestrel
# under QEMU (TCG) with ktest=KTEST on the command line and turn the
# isa-debug-exit status into a CTest result: the kernel writes 0x10 (pass)
# or 0x11 (fail) to port 0xf4 and QEMU exits with (code << 1) | 1, i.e. 33 or
# 35. Any other status (0 after a triple fault with -no-reboot, 124 on
# timeout) fails. "fail" expects status 35 and every REGEX in the output
# (tests of the crash path itself).
kernel=$1 smp=$2 mem=$3 sel=$4 expect=${5:-pass}
if [ $# -ge 5 ]; then shift 5; else shift $#; fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout -k 5 110 qemu-system-x86_64 -kernel "$kernel" -smp "$smp" -m "$mem" \
	-accel tcg,thread=multi -display none -serial file:"$log" -monitor none -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-append "ktest=$sel loglevel=6" </dev/null
rc=$?
cat "$log"
echo "qemu exit status $rc"
if [ "$expect" = fail ]; then
	[ "$rc" = 35 ] || exit 1
	for re in "$@"; do
		grep -Eq "$re" "$log" || { echo "missing in output: $re"; exit 1; }
	done
	exit 0
fi
[ "$rc" = 33 ] && grep -q '^[0-9]* passed, 0 failed' "$log"
