# The MMIO instruction decoder (hv/decode.c): linked into the core, tested on
# the host against GNU as encodings, fuzzed. Included from hv/module.mk.
HV_SRCS += hv/decode.c
$(eval $(call host_test,test_decode,tests/unit/test_decode.c tests/unit/decode_cases.S hv/decode.c))
$(eval $(call fuzz_target,fuzz_decode,tests/fuzz/fuzz_decode.c hv/decode.c))
