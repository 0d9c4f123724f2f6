/* Runs inside the Linux guest (static, from the initramfs): prints what
 * CPUID says about the hypervisor, one "key value" per line, for the init
 * script to check. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
    return 0;
}
