# check-svm: minihv's SVM core in QEMU and Bochs (ryzen), checked from
# inside by the probe guest.
CHECK_SUITES += svm
check-svm: $(BUILD)/minihv.efi $(BUILD)/probe.efi
	$(Q)BUILD=$(BUILD) bash tests/emu/svm.sh

.PHONY: check-svm
