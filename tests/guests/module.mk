# Guest EFI applications minihv chain-loads to check itself from inside
# (tests/emu/vmx.sh boots them): build/probe.efi.
$(eval $(call efi_app,probe,tests/guests/probe.c tests/guests/guard.c tests/guests/print.c lib/string.c lib/format.c))
# build/hvstats.efi: the core's counters and footprint, for `make bench`.
$(eval $(call efi_app,hvstats,tests/guests/hvstats.c tests/guests/hvcall.c tests/guests/guard.c tests/guests/print.c lib/string.c lib/format.c))
# build/ptprobe.efi: the passthrough probe (tests/emu/passthrough.sh).
$(eval $(call efi_app,ptprobe,tests/guests/ptprobe.c tests/guests/hvcall.c tests/guests/guard.c tests/guests/args.c tests/guests/print.c lib/string.c lib/format.c))
# build/attack.efi: the attack guest (issue 14, tests/emu/attack.sh).
$(eval $(call efi_app,attack,tests/guests/attack.c tests/guests/attack_cpu.c tests/guests/attack_dev.c tests/guests/attack_sleep.c tests/guests/attack_a20.c tests/guests/attack_ioapic_dma.c tests/guests/attack_lvt.c tests/guests/attack_mtrr.c tests/guests/attack_smi.c tests/guests/attack_cfg.c tests/guests/attack_pm.c tests/guests/attack_msi_dma.c tests/guests/attack_dbg.c tests/guests/attack_ports.c tests/guests/attack_mmio.c tests/guests/guest_acpi.c tests/guests/hvcall.c tests/guests/guard.c tests/guests/args.c tests/guests/print.c lib/string.c lib/format.c))
# build/fadtmem.efi: check-attack's pre-step that puts two sleep control registers of the FADT in System Memory.
$(eval $(call efi_app,fadtmem,tests/guests/fadtmem.c tests/guests/guest_acpi.c tests/guests/print.c lib/string.c lib/format.c))
# build/transparency.efi: bare vs minihv, value by value (issue 15, tests/emu/transparency.sh).
$(eval $(call efi_app,transparency,tests/guests/transparency.c tests/guests/hvcall.c tests/guests/guard.c tests/guests/print.c lib/string.c lib/format.c))
# build/fatal.efi: asks a test core (HV_TEST_HOOKS=1) to go FATAL (issue 17, tests/emu/log_reboot.sh).
$(eval $(call efi_app,fatal,tests/guests/fatal.c tests/guests/hvcall.c tests/guests/guard.c tests/guests/print.c lib/string.c lib/format.c))
# build/fuzzguest.efi: the fuzzing guest (issue 16, tests/emu/fuzzguest.sh).
$(eval $(call efi_app,fuzzguest,tests/guests/fuzzguest.c tests/guests/fuzzguest_ops.c tests/guests/fuzzguest_asm.c tests/guests/fuzzguest_alias.c hv/msr_policy.c tests/guests/args.c tests/guests/print.c lib/string.c lib/format.c))
