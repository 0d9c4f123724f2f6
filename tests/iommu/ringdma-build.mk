# Review R: builds tests/iommu/ringdma.c as $(BUILD)/ringdma.efi without
# touching the project's makefiles: make -f tests/iommu/ringdma-build.mk BUILD=...
include Makefile
$(eval $(call efi_app,ringdma,tests/iommu/ringdma.c tests/guests/print.c lib/string.c lib/format.c))
# NOT under tests/emu/: tests/emu/module.mk includes every tests/emu/*.mk,
# and this file includes the Makefile (an include loop).
