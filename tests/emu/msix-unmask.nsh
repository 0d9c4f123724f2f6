# check-attack q-nvme's pre-step (msix-left): before minihv starts, unmask
# the NVMe's MSI-X entry 0 (Vector Control at BAR0 + 0x2000 + 12; OVMF puts
# BAR0 at 0xe000000000 on that machine), as a firmware or a previous OS may
# leave an entry. The core must mask it at init.
mm E00000200C 0 -w 4 -MMIO -n
