#!/bin/sh
# scripts/mkinitramfs.sh LIST OUT - build the initramfs (cpio newc) that the
# kernel reads through -initrd: every file named in LIST (one absolute path a
# line, e.g. ${CMAKE_BINARY_DIR}/userprogs.txt) at the archive's root under
# its base name, so /mm_errno is the program built as .../userprogs/mm_errno.
set -eu
list=$1 out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
while IFS= read -r f; do
	[ -n "$f" ] || continue
	[ -f "$f" ] || { echo "mkinitramfs: missing $f" >&2; exit 1; }
	cp "$f" "$tmp/$(basename "$f")"
done < "$list"
(cd "$tmp" && find . -type f | sort | cpio --quiet -o -H newc) > "$out.tmp"
mv "$out.tmp" "$out"
