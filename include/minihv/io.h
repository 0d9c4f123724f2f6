/* Port I/O and control-register access, for the loader and the core. */
#ifndef MINIHV_IO_H
#define MINIHV_IO_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static inline void cpu_pause(void) { __asm__ volatile("pause"); }

/* COM1-style 16550 UART at 115200 8N1 (divisor 1). Shared by the loader
 * and the core's console so both write the same way. */
static inline void uart_init(uint16_t port)
{
    outb(port + 1, 0x00); /* IER: no interrupts */
    outb(port + 3, 0x80); /* LCR: DLAB */
    outb(port + 0, 0x01); /* DLL: 115200 */
    outb(port + 1, 0x00); /* DLM */
    outb(port + 3, 0x03); /* LCR: 8N1 */
    outb(port + 2, 0xc7); /* FCR: FIFO on, cleared */
    outb(port + 4, 0x03); /* MCR: DTR, RTS */
}

static inline void uart_putc(uint16_t port, char c)
{
    /* LSR.THRE; bounded so a missing UART cannot hang us. */
    for (unsigned spin = 0; spin < 100000 && !(inb(port + 5) & 0x20); spin++)
        cpu_pause();
    outb(port, (uint8_t)c);
}

/* A string, '\n' as CR LF (a serial terminal wants both). */
static inline void uart_puts(uint16_t port, const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            uart_putc(port, '\r');
        uart_putc(port, *s);
    }
}

#endif
