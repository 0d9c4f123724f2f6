/* Runs inside the Linux guest (static, from the display initramfs, issue
 * 19): draws the check-display test pattern into /dev/fb0 and prints the
 * mode, one "key value" line each, for tests/emu/display.sh.
 *
 * usage: fbpattern [FRAMES]   (default 1)
 *
 * The fbcon console is switched to KD_GRAPHICS first (console_ioctl(2)
 * KDSETMODE) so that its cursor does not draw over the pattern. Each frame
 * writes every visible pixel through an mmap of /dev/fb0; the last frame is
 * the pattern tests/display/pattern.py generates independently:
 *   red = x & 0xff, green = y & 0xff,
 *   blue = ((x >> 8) & 0xf) << 4 | ((y >> 8) & 0xf), xor 0x5a
 * Frames before the last draw the same image with the colours inverted,
 * so every frame changes every pixel. Only 32 bits per pixel with 8-bit
 * fields (the mode bochs-drm and virtio-gpu set up) is drawn. */
#include <fcntl.h>
#include <linux/fb.h>
#include <linux/kd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint32_t pattern(uint32_t x, uint32_t y, const struct fb_var_screeninfo *v, uint32_t invert)
{
    uint32_t r = x & 0xff, g = y & 0xff, b = ((((x >> 8) & 0xf) << 4) | ((y >> 8) & 0xf)) ^ 0x5a;
    r ^= invert, g ^= invert, b ^= invert;
    return r << v->red.offset | g << v->green.offset | b << v->blue.offset;
}

int main(int argc, char **argv)
{
    long frames = argc > 1 ? strtol(argv[1], NULL, 0) : 1;
    if (frames < 1 || frames > 10000) {
        fprintf(stderr, "fbpattern: FRAMES %s out of range 1..10000\n", argv[1]);
        return 2;
    }
    int tty = open("/dev/tty0", O_RDWR);
    if (tty >= 0 && ioctl(tty, KDSETMODE, KD_GRAPHICS) == 0)
        printf("kd_graphics 1\n");
    else
        printf("kd_graphics 0\n");
    int fd = open("/dev/fb0", O_RDWR);
    if (fd < 0) {
        perror("fbpattern: /dev/fb0");
        return 1;
    }
    struct fb_var_screeninfo v;
    struct fb_fix_screeninfo f;
    if (ioctl(fd, FBIOGET_VSCREENINFO, &v) || ioctl(fd, FBIOGET_FSCREENINFO, &f)) {
        perror("fbpattern: FBIOGET_*SCREENINFO");
        return 1;
    }
    char id[sizeof f.id + 1];
    memcpy(id, f.id, sizeof f.id);
    id[sizeof f.id] = '\0';
    printf("id %s\nmode %ux%u bpp %u line_length %u smem_len %u smem_start 0x%lx\n", id, v.xres, v.yres,
           v.bits_per_pixel, f.line_length, f.smem_len, f.smem_start);
    printf("fields red %u/%u green %u/%u blue %u/%u\n", v.red.offset, v.red.length, v.green.offset,
           v.green.length, v.blue.offset, v.blue.length);
    if (v.bits_per_pixel != 32 || v.red.length != 8 || v.green.length != 8 || v.blue.length != 8) {
        fprintf(stderr, "fbpattern: bits_per_pixel %u (want 32, 8-bit fields)\n", v.bits_per_pixel);
        return 1;
    }
    size_t need = (size_t)f.line_length * (v.yres_virtual > v.yres ? v.yres_virtual : v.yres);
    if ((uint64_t)v.xres * 4 > f.line_length || need > f.smem_len) {
        fprintf(stderr, "fbpattern: line_length %u / smem_len %u too small for %ux%u\n", f.line_length, f.smem_len,
                v.xres, v.yres);
        return 1;
    }
    uint8_t *fb = mmap(NULL, f.smem_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fb == MAP_FAILED) {
        perror("fbpattern: mmap /dev/fb0");
        return 1;
    }
    /* Draw at the visible offset (pan). */
    size_t base = (size_t)v.yoffset * f.line_length + (size_t)v.xoffset * 4;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long k = 0; k < frames; k++) {
        uint32_t invert = k == frames - 1 ? 0 : 0xff;
        for (uint32_t y = 0; y < v.yres; y++) {
            uint32_t *row = (uint32_t *)(fb + base + (size_t)y * f.line_length);
            for (uint32_t x = 0; x < v.xres; x++)
                row[x] = pattern(x, y, &v, invert);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* Deferred I/O (a shadow buffer the DRM fbdev helper copies to the
     * device): msync/fsync push the damage out now. */
    msync(fb, f.smem_len, MS_SYNC);
    fsync(fd);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("frames %ld bytes %llu ms %ld\n", frames, (unsigned long long)frames * v.xres * v.yres * 4, ms);
    return 0;
}
