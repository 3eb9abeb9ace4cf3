#!/bin/sh
# arch/x86_64/gen-ksyms.sh ELF OUT.S - emit the kernel's function symbol table
# (sorted addresses, name offsets, names) as assembly for the .ksyms section.
# With ELF "-" it emits an empty table (the first link pass).
set -e
elf=$1 out=$2
{
	echo '	.section .ksyms, "a"'
	echo '	.globl ksyms_count, ksyms_addrs, ksyms_offs, ksyms_names'
	echo '	.balign 8'
	if [ "$elf" = "-" ]; then
		printf 'ksyms_count: .quad 0\nksyms_addrs: .quad 0\nksyms_offs: .long 0\nksyms_names: .asciz ""\n'
	else
		nm -n --defined-only "$elf" | awk '$2 ~ /^[tT]$/ && $1 ~ /^ffffffff8/ { a[n] = $1; s[n++] = $3 }
		END {
			printf "ksyms_count: .quad %d\nksyms_addrs:\n", n
			for (i = 0; i < n; i++) printf "\t.quad 0x%s\n", a[i]
			printf "ksyms_offs:\n"; off = 0
			for (i = 0; i < n; i++) { printf "\t.long %d\n", off; off += length(s[i]) + 1 }
			printf "ksyms_names:\n"
			for (i = 0; i < n; i++) printf "\t.asciz \"%s\"\n", s[i]
		}'
	fi
} > "$out.tmp"
mv "$out.tmp" "$out"
