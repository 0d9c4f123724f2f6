/* See svm_policy.h. */
#include <minihv/hypercall.h>
#include <minihv/x86.h>
#include "hv/msr_policy.h"
#include "hv/svm/svm_policy.h"

bool msrpm_locate(uint32_t msr, bool write, unsigned *byte, unsigned *bit)
{
    static const struct { uint32_t first; unsigned offset; } ranges[] = {
        { 0x00000000u, 0x000 }, { 0xc0000000u, 0x800 }, { 0xc0010000u, 0x1000 },
    };
    for (unsigned i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        if (msr - ranges[i].first < 0x2000u) {
            unsigned n = (msr - ranges[i].first) * 2 + (write ? 1 : 0);
            *byte = ranges[i].offset + n / 8;
            *bit = n % 8;
            return true;
        }
    }
    return false;
}

void msrpm_fill(uint8_t *map)
{
    /* Everything exits (bit set), then the rows that pass on SVM clear
     * their bits (hv/msr_policy.c). */
    for (unsigned i = 0; i < MSRPM_BYTES; i++)
        map[i] = 0xff;
    for (unsigned i = 0; i < msr_rule_count; i++) {
        const struct msr_rule *r = &msr_rules[i];
        if (!(r->on & MSR_ON_SVM))
            continue;
        for (uint64_t m = r->first; m <= r->last; m++)
            for (int write = 0; write <= 1; write++) {
                unsigned byte, bit;
                if ((write ? r->write : r->read) == MSR_PASS &&
                    msrpm_locate((uint32_t)m, write, &byte, &bit))
                    map[byte] &= (uint8_t)~(1u << bit);
            }
    }
}

void svm_cpuid_policy(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    (void)subleaf;
    if (leaf == 0x80000001u)
        r[2] &= ~CPUID_80000001_ECX_SVM;
    else if (leaf == 0x8000000au)
        r[0] = r[1] = r[2] = r[3] = 0;
}

uint64_t svm_efer_read(uint64_t vmcb_efer)
{
    return vmcb_efer & ~EFER_SVME;
}

enum msr_result svm_efer_write(uint64_t vmcb_efer, uint64_t value, uint64_t allowed, bool paging,
                               uint64_t *out)
{
    if ((value & ~(allowed | EFER_LMA)) || (value & EFER_SVME))
        return MSR_GP;
    if (paging && ((value ^ vmcb_efer) & EFER_LME))
        return MSR_GP;
    *out = (value & ~EFER_LMA) | (vmcb_efer & EFER_LMA) | EFER_SVME;
    return MSR_OK;
}

enum msr_result svm_msr_read_policy(uint32_t msr, uint64_t *value)
{
    if (msr == MSR_VM_CR) {
        *value = VM_CR_LOCK | VM_CR_SVMDIS;
        return MSR_OK;
    }
    if (msr == MSR_VM_HSAVE_PA) {
        *value = 0;
        return MSR_OK;
    }
    return MSR_GP;
}

enum msr_result svm_msr_write_policy(uint32_t msr, uint64_t value)
{
    (void)value;
    return msr == MSR_VM_CR ? MSR_OK : MSR_GP;
}

static bool legacy_prefix(uint8_t b)
{
    switch (b) {
    case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
    case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
        return true;
    default:
        return false;
    }
}

unsigned svm_insn_length(const uint8_t *bytes, unsigned n, enum decode_mode mode, enum svm_insn insn)
{
    static const uint8_t opcodes[][3] = {
        [SVM_INSN_CPUID] = { 0x0f, 0xa2, 0 },   [SVM_INSN_RDMSR] = { 0x0f, 0x32, 0 },
        [SVM_INSN_WRMSR] = { 0x0f, 0x30, 0 },   [SVM_INSN_INVD] = { 0x0f, 0x08, 0 },
        [SVM_INSN_VMMCALL] = { 0x0f, 0x01, 0xd9 }, [SVM_INSN_VMCALL] = { 0x0f, 0x01, 0xc1 },
        [SVM_INSN_XSETBV] = { 0x0f, 0x01, 0xd1 },
    };
    if ((unsigned)insn >= sizeof(opcodes) / sizeof(opcodes[0]))
        return 0;
    unsigned len = opcodes[insn][2] ? 3 : 2, i = 0;
    if (n > DECODE_MAX_INSN_LEN)
        n = DECODE_MAX_INSN_LEN;
    while (i < n && legacy_prefix(bytes[i]))
        i++;
    /* REX must come last, right before the opcode (SDM Vol. 2 2.2.1). */
    if (mode == DECODE_MODE_64 && i < n && (bytes[i] & 0xf0) == 0x40)
        i++;
    if (i + len > n)
        return 0;
    for (unsigned k = 0; k < len; k++)
        if (bytes[i + k] != opcodes[insn][k])
            return 0;
    return i + len;
}
