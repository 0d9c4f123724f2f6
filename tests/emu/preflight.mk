# check-preflight (issue 18): minihv-preflight's parsers on the real-table
# corpus against iasl -d, its bad-input lines, and --root on saved trees
# (tests/emu/preflight.sh). The bad-input tests run an ASan/UBSan build.
CHECK_SUITES += preflight

check-preflight: $(BUILD)/tools/minihv-preflight $(BUILD)/tools/minihv-preflight-san
	$(Q)BUILD=$(BUILD) PREFLIGHT=$(BUILD)/tools/minihv-preflight \
	  PREFLIGHT_SAN=$(BUILD)/tools/minihv-preflight-san bash tests/emu/preflight.sh

.PHONY: check-preflight
