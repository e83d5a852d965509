#ifndef MAILTRAIL_CSCHED_SHIM_H
#define MAILTRAIL_CSCHED_SHIM_H

/* Linux sched_setattr(2)/sched_getattr(2) for the calling thread. glibc has no wrappers and
   Swift cannot call the variadic syscall(2), so these small non-variadic ones stand in. */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct mt_sched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
    uint32_t sched_util_min;
    uint32_t sched_util_max;
};

/* Reads the calling thread's attributes into `attr`; returns 0 or an errno value. */
static inline int mt_read_attr(struct mt_sched_attr *attr) {
    memset(attr, 0, sizeof *attr);
    return syscall(SYS_sched_getattr, 0, attr, sizeof *attr, 0) == 0 ? 0 : errno;
}

/* Gives the calling thread this time slice in nanoseconds (0: the default), keeping its policy
   and nice value: raising a thread's priority needs privilege, a slice does not. Only the fair
   policies (SCHED_OTHER, SCHED_BATCH) have slices, on Linux 6.12 and later (earlier kernels
   accept and ignore it); a thread under any other policy is left alone. Returns 0 or an errno
   value. */
static inline int mt_set_time_slice(uint64_t slice_ns) {
    struct mt_sched_attr attr;
    int error = mt_read_attr(&attr);
    if (error != 0) return error;
    if (attr.sched_policy != 0 /* SCHED_OTHER */ && attr.sched_policy != 3 /* SCHED_BATCH */) return 0;
    attr.size = sizeof attr;
    attr.sched_flags &= 0x01; /* SCHED_FLAG_RESET_ON_FORK; the rest would ask for other changes */
    attr.sched_runtime = slice_ns;
    return syscall(SYS_sched_setattr, 0, &attr, 0) == 0 ? 0 : errno;
}

/* The calling thread's nice value and slice in nanoseconds; returns 0 or an errno value. */
static inline int mt_time_slice(int32_t *nice, uint64_t *slice_ns) {
    struct mt_sched_attr attr;
    int error = mt_read_attr(&attr);
    if (error != 0) return error;
    *nice = attr.sched_nice;
    *slice_ns = attr.sched_runtime;
    return 0;
}

#endif
