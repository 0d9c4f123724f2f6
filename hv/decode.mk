# The MMIO instruction decoder (hv/decode.c) and the emulation of what it
# decoded (hv/emulate.c): linked into the core, tested on the host against
# GNU as encodings, fuzzed. Included from hv/module.mk.
DECODE_SRCS := hv/decode.c hv/emulate.c
HV_SRCS += $(DECODE_SRCS)
$(eval $(call host_test,test_decode,tests/unit/test_decode.c tests/unit/decode_cases.S $(DECODE_SRCS)))
$(eval $(call fuzz_target,fuzz_decode,tests/fuzz/fuzz_decode.c $(DECODE_SRCS)))
