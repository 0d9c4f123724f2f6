/* Test-only hypercalls (issue 17): compiled into the core only in a test
 * build (`make BUILD=build-logtest HV_TEST_HOOKS=1` defines
 * MINIHV_TEST_HOOKS); a normal core answers them MINIHV_HC_EINVAL like any
 * unknown function. Never ship a test build: a guest can stop a CPU. */
#ifndef MINIHV_TEST_HOOKS_H
#define MINIHV_TEST_HOOKS_H

/* RBX = MINIHV_TEST_FATAL_KEY -> vcpu_fatal(MINIHV_TEST_FATAL_REASON) on
 * the calling CPU: it never returns. Any other RBX: EINVAL. */
#define MINIHV_HC_TEST_FATAL   0x7e570001u
#define MINIHV_TEST_FATAL_KEY  0x4c41544146ull /* "FATAL" */
#define MINIHV_TEST_FATAL_REASON "test hook: FATAL requested by the guest (MINIHV_HC_TEST_FATAL)"

#endif
