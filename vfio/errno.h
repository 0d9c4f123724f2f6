/* Error codes of the vfio model: negative, with the values of the Linux
 * errno the vfio-pci ioctl or read/write path returns in the same case, so
 * a caller comparing against the kernel sees the same numbers. */
#ifndef MINIHV_VFIO_ERRNO_H
#define MINIHV_VFIO_ERRNO_H

#include <stdint.h>

#define VFIO_EPERM  (-1)  /* access the region's flags do not allow */
#define VFIO_EIO    (-5)  /* a callback (physical access) failed */
#define VFIO_EFAULT (-14) /* caller's buffer too small for what must be written */
#define VFIO_ENODEV (-19) /* region has no backing operations */
#define VFIO_EINVAL (-22) /* bad argument, bad index, malformed input */
#define VFIO_ENOSPC (-28) /* fixed storage full (regions, caps, hooks) */
#define VFIO_ERANGE (-34) /* offset/count outside the region */
#define VFIO_ELOOP  (-40) /* capability chain loops */

/* A short name for an error code ("EINVAL"), for logs and tools. */
const char *vfio_strerror(int err);

/* Where init found a malformed config dump: a static description of the
 * field and the config-space offset it sits at. */
struct vfio_error {
    const char *what;
    uint32_t offset;
};

#endif
