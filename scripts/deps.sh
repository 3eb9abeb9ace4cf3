#!/usr/bin/env bash
# Install what Kestrel needs from Debian, only when something is missing.
# Idempotent and quiet when everything is there. Needs root (or sudo) to install.
set -euo pipefail

PKGS=(gcc g++ make cmake ninja-build qemu-system-x86 liburcu-dev libck-dev
      libbenchmark-dev lcov musl-tools libbsd-dev gdb cpio python3)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
