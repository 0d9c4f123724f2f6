# log/: the log ring (issue 17, include/minihv/logring.h). Pure C, buffers
# only: the writer (ring_write.c) goes into the loader and the core; the
# reader (ring_read.c) into the loader, tools/minihv-log and the tests.
LOG_WRITE_SRCS := log/ring_write.c

HV_SRCS += $(LOG_WRITE_SRCS)

$(eval $(call host_test,test_log_ring_write,tests/unit/test_log_ring_write.c $(LOG_WRITE_SRCS)))

# make bench: cycles per appended line (host build, -O2, no sanitizers).
$(BUILD)/bench/bench_log_ring: tests/unit/bench_log_ring.c $(LOG_WRITE_SRCS) $(HDRS)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) -std=gnu11 -Wall -Wextra -Werror -O2 -Iinclude -I. -o $@ tests/unit/bench_log_ring.c $(LOG_WRITE_SRCS)

bench-log: $(BUILD)/bench/bench_log_ring
	$(Q)$(BUILD)/bench/bench_log_ring

bench: bench-log
.PHONY: bench-log

# ---- the reader (helper LB): ring_read.c checks and walks a ring; the
# loader (previous boot's ring), the core (last lines at FATAL),
# tools/minihv-log and the tests build it. lib/format.c for host builds.
LOG_READ_SRCS := log/ring_read.c
HV_SRCS += $(LOG_READ_SRCS)
$(eval $(call host_test,test_log_ring_read,tests/unit/test_log_ring_read.c $(LOG_READ_SRCS) $(LOG_WRITE_SRCS) lib/format.c))
$(eval $(call fuzz_target,fuzz_log_ring,tests/fuzz/fuzz_log_ring.c $(LOG_READ_SRCS) lib/format.c))
