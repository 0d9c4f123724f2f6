#!/usr/bin/env bash
# make image: build/minihv-usb.img, a GPT disk with one EFI system partition
# holding EFI/BOOT/BOOTX64.EFI (minihv) and EFI/BOOT/minihv.cfg (the example).
set -eu
BUILD=${BUILD:-build}
IMG=$BUILD/minihv-usb.img
PART=$BUILD/minihv-esp.img
SIZE_MB=64
rm -f "$IMG" "$PART"
# ESP: from 1 MiB to the end (sgdisk leaves room for the backup GPT).
dd if=/dev/zero of="$IMG" bs=1M count=$SIZE_MB status=none
sgdisk -n 1:2048:0 -t 1:ef00 -c 1:minihv "$IMG" >/dev/null
start=$(sgdisk -i 1 "$IMG" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
end=$(sgdisk -i 1 "$IMG" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
sectors=$((end - start + 1))
dd if=/dev/zero of="$PART" bs=512 count=$sectors status=none
mkfs.vfat -n MINIHV "$PART" >/dev/null
mmd -i "$PART" ::EFI ::EFI/BOOT
mcopy -i "$PART" "$BUILD/minihv.efi" ::EFI/BOOT/BOOTX64.EFI
mcopy -i "$PART" scripts/minihv.cfg.example ::EFI/BOOT/minihv.cfg
dd if="$PART" of="$IMG" bs=512 seek="$start" conv=notrunc status=none
rm -f "$PART"
echo "image: $IMG ($SIZE_MB MiB, GPT, ESP with EFI/BOOT/BOOTX64.EFI and minihv.cfg)"
