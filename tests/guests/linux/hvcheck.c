/* Runs inside the Linux guest (static, from the initramfs): prints what
 * CPUID says about the hypervisor, one "key value" per line, for the init
 * script to check. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/klog.h>

static void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

int main(void)
{
    uint32_t r[4];
    char sig[13];
    cpuid(1, r);
    printf("hypervisor_bit %u\n", (r[2] >> 31) & 1);
    printf("vmx_bit %u\n", (r[2] >> 5) & 1);
    cpuid(0x80000001, r);
    printf("svm_bit %u\n", (r[2] >> 2) & 1);
    cpuid(0x40000000, r);
    memcpy(sig, &r[1], 4);
    memcpy(sig + 4, &r[2], 4);
    memcpy(sig + 8, &r[3], 4);
    sig[12] = '\0';
    for (int i = 0; i < 12; i++)
        if (sig[i] && (sig[i] < 0x20 || sig[i] > 0x7e))
            sig[i] = '?';
    printf("signature %s\n", sig[0] ? sig : "(none)");
    printf("max_leaf 0x%x\n", r[0]);
    /* Under QEMU -icount shift=0 the TSC follows the instruction count:
     * this is (about) how many guest instructions it took to get here. */
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    printf("tsc %llu\n", (unsigned long long)hi << 32 | lo);
    /* make bench-linux only (minihv.bench on the kernel command line): TSC
     * ticks over a loop of a known instruction count, to check that under
     * -icount shift=0 one TSC tick is one guest instruction. */
    FILE *f = fopen("/proc/cmdline", "r");
    char cmd[1024] = "";
    if (f) {
        if (!fgets(cmd, sizeof cmd, f))
            cmd[0] = '\0';
        fclose(f);
    }
    if (strstr(cmd, "minihv.bench")) {
        const unsigned long n = 10000000; /* dec + jnz: 2 instructions each */
        unsigned long c = n;
        uint32_t lo1, hi1;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        __asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(c));
        __asm__ volatile("rdtsc" : "=a"(lo1), "=d"(hi1));
        printf("tsc_loop %llu ticks for %lu instructions\n",
               ((unsigned long long)hi1 << 32 | lo1) - ((unsigned long long)hi << 32 | lo), 2 * n);
        /* The kernel's own clock (TSC based) when it started /init, from
         * its log, and the idle time so far (seconds, all CPUs). */
        static char log[1 << 20];
        int len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof log - 1);
        if (len > 0) {
            log[len] = '\0';
            char *run = strstr(log, "] Run /init as init process");
            if (run) {
                char *open = run;
                while (open > log && *open != '[')
                    open--;
                printf("kernel_run_init %.*s\n", (int)(run - open - 1), open + 1);
            }
        }
        f = fopen("/proc/uptime", "r");
        if (f) {
            char up[64];
            if (fgets(up, sizeof up, f))
                printf("uptime_idle %s", up);
            fclose(f);
        }
    }
    return 0;
}
