#!/usr/bin/env bash
# Installs the Debian packages minihv needs to build and test. Idempotent:
# when every package is there it only asks dpkg and returns.
set -euo pipefail

PACKAGES=(
  build-essential clang nasm gnu-efi mtools dosfstools gdisk
  libcmocka-dev linux-libc-dev
  qemu-system-x86 ovmf bochs bochsbios vgabios bochs-term
  intel-gpu-tools ipxe-qemu acpica-tools
  linux-image-amd64 busybox-static cpio kmod bc python3
  sbsigntool shim-signed efitools swtpm swtpm-tools tpm2-tools
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: these Debian packages are missing: ${missing[*]}" >&2
  echo "deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
