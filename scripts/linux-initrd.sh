#!/usr/bin/env bash
# Builds the Linux test guest from Debian's packages: build/linux/vmlinuz.efi
# (linux-image-amd64, an EFI stub) and build/linux/initrd.img (busybox-static,
# the nvme and virtio-blk modules with their dependencies, hvcheck,
# minihv-preflight, minihv-log, and
# tests/guests/linux/init).
# check-display (tests/emu/display.mk) builds a second initramfs with more:
#   LINUX_INITRD=initrd-display.img  the output's name in build/linux
#   LINUX_EXTRA_MODULES="bochs ..."  modules (with dependencies) added to
#                                    /modules/order, so loaded at boot
#   LINUX_EXTRA_TOOLS="a.c b.c"      static tools, /bin/<name without .c>
# Unset, the initramfs is the one every other suite gets.
set -eu
BUILD=${BUILD:-build}
OUT=$BUILD/linux
kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1)
[ -n "$kernel" ] || { echo "linux-initrd: no /boot/vmlinuz-*-amd64 (apt-get install linux-image-amd64)" >&2; exit 1; }
ver=${kernel#/boot/vmlinuz-}
root=$OUT/root${LINUX_INITRD:+-${LINUX_INITRD%.img}} # one per initramfs: make -j builds both
rm -rf "$root"
mkdir -p "$root"/{bin,proc,sys,dev,tmp,modules}
cp /bin/busybox "$root/bin/busybox"
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static -o "$root/bin/hvcheck" tests/guests/linux/hvcheck.c
# minihv-preflight (issue 18), for check-preflight's guest (tests/emu/preflight.sh).
# Its sources come from tools/module.mk (PREFLIGHT_SRCS), one list.
[ -n "${PREFLIGHT_SRCS:-}" ] || { echo "linux-initrd: PREFLIGHT_SRCS unset (run through make)" >&2; exit 1; }
# shellcheck disable=SC2086
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static -Iinclude -I. -o "$root/bin/minihv-preflight" $PREFLIGHT_SRCS
# minihv-log (issue 17), for check-log's guest (tests/emu/log.sh); sources
# from tools/module.mk (MINIHV_LOG_SRCS, exported by tests/emu/log.mk).
# shellcheck disable=SC2086
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static -Iinclude -I. -o "$root/bin/minihv-log" \
  ${MINIHV_LOG_SRCS:-tools/minihv-log.c log/ring_read.c lib/format.c}
for t in ${LINUX_EXTRA_TOOLS:-}; do
  gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static -Iinclude -I. -o "$root/bin/$(basename "$t" .c)" "$t"
done
cp tests/guests/linux/init "$root/init"
chmod +x "$root/init"
: > "$root/modules/order"
for m in nvme virtio_blk virtio_pci ${LINUX_EXTRA_MODULES:-}; do
  modprobe -S "$ver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
  cp "$ko" "$root/modules/"
  basename "$ko" >> "$root/modules/order"
done
img=$OUT/${LINUX_INITRD:-initrd.img}
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > "$img"
cp "$kernel" "$OUT/vmlinuz.efi"
echo "linux-initrd: $kernel + $(wc -l < "$root/modules/order") modules -> $img ($(du -k "$img" | cut -f1) KiB)"
