#!/usr/bin/env bash
# make image: build/minihv-usb.img, a GPT disk with one EFI system partition.
# minihv.efi is signed (sbsign) for Secure Boot (README, "Secure Boot"):
#   SIGN_KEY=… SIGN_CERT=…  the key (PEM) and certificate (PEM) to sign with;
#                           unset: keys/minihv-sign.{key,crt}, generated once
#                           (keys/ is never committed: .gitignore)
#   SHIM=1                  the layout for machines with Microsoft's keys:
#                           Debian's Microsoft-signed shim as BOOTX64.EFI,
#                           MokManager (mmx64.efi) beside it, minihv as
#                           grubx64.efi (the name shim starts)
# The certificate goes on the stick as DER (minihv.cer, at the root) for
# enrollment: MokManager's "Enroll key from disk", or the firmware's db.
# minihv.efi gets an .sbat section first (shim needs it). Without SHIM:
# EFI/BOOT/BOOTX64.EFI is minihv. minihv.cfg is beside minihv
# (CFG=… picks the file, default the example). IMG=… names the output.
set -eu
BUILD=${BUILD:-build}
IMG=${IMG:-$BUILD/minihv-usb.img}
CFG=${CFG:-scripts/minihv.cfg.example}
SHIM=${SHIM:-0}
PART=$IMG.esp
SIZE_MB=64
SHIM_DIR=${SHIM_DIR:-/usr/lib/shim}

key=${SIGN_KEY:-} cert=${SIGN_CERT:-}
if [ -z "$key" ] || [ -z "$cert" ]; then
  [ -z "$key$cert" ] || { echo "image: set both SIGN_KEY and SIGN_CERT, or neither" >&2; exit 1; }
  key=keys/minihv-sign.key cert=keys/minihv-sign.crt
  if [ ! -f "$key" ] || [ ! -f "$cert" ]; then
    mkdir -p keys
    chmod 700 keys
    openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=minihv signing key ($(hostname))/" \
      -keyout "$key" -out "$cert" 2>/dev/null
    chmod 600 "$key"
    echo "image: generated a signing key pair in keys/ (keep keys/minihv-sign.key private; never commit it)"
  fi
fi
signed=$BUILD/minihv.signed.efi
# An SBAT section (shim's SBAT.md): shim 15.3 and later refuse a second
# stage without one, whatever its signature ("Verification failed: (0x1A)
# Security Violation" even with the key enrolled). Placed after the last
# section, at SizeOfImage (already SectionAlignment-aligned).
sbat=$BUILD/minihv.sbat.csv
printf 'sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\nminihv,1,minihv,minihv,1,README.md\n' > "$sbat"
end=$(objdump -p "$BUILD/minihv.efi" | awk '$1 == "SizeOfImage" { print $2 }')
objcopy --add-section .sbat="$sbat" --set-section-flags .sbat=contents,alloc,load,readonly,data \
  --change-section-vma .sbat=0x"$end" "$BUILD/minihv.efi" "$BUILD/minihv.sbat.efi"
sbsign --key "$key" --cert "$cert" --output "$signed" "$BUILD/minihv.sbat.efi" 2>&1 | grep -v -e '^Signing Unsigned original image$' -e 'gaps between PE/COFF sections' || true
sbverify --cert "$cert" "$signed" >/dev/null 2>&1 || { echo "image: sbverify does not accept $signed with $cert" >&2; exit 1; }
openssl x509 -in "$cert" -outform der -out "$BUILD/minihv.cer"

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
if [ "$SHIM" = 1 ]; then
  for f in shimx64.efi.signed mmx64.efi.signed; do
    [ -f "$SHIM_DIR/$f" ] || { echo "image: no $SHIM_DIR/$f (apt-get install shim-signed)" >&2; exit 1; }
  done
  mcopy -i "$PART" "$SHIM_DIR/shimx64.efi.signed" ::EFI/BOOT/BOOTX64.EFI
  mcopy -i "$PART" "$SHIM_DIR/mmx64.efi.signed" ::EFI/BOOT/mmx64.efi
  mcopy -i "$PART" "$signed" ::EFI/BOOT/grubx64.efi
  layout="shim as BOOTX64.EFI, mmx64.efi, minihv as grubx64.efi"
else
  mcopy -i "$PART" "$signed" ::EFI/BOOT/BOOTX64.EFI
  layout="minihv as BOOTX64.EFI"
fi
mcopy -i "$PART" "$CFG" ::EFI/BOOT/minihv.cfg
mcopy -i "$PART" "$BUILD/minihv.cer" ::minihv.cer
dd if="$PART" of="$IMG" bs=512 seek="$start" conv=notrunc status=none
rm -f "$PART"
echo "image: $IMG ($SIZE_MB MiB, GPT, ESP: $layout, minihv.cfg, minihv.cer; signed with $cert)"
