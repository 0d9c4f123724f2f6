# drivers/igd/: OpRegion, VBT, video BIOS and stolen memory for IGD passthrough.
IGD_SRCS := drivers/igd/vbt.c drivers/igd/opregion.c drivers/igd/rom.c drivers/igd/stolen.c drivers/igd/devices.c
HV_SRCS += $(IGD_SRCS)
