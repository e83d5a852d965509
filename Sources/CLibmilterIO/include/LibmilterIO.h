#ifndef MAILTRAIL_LIBMILTER_IO_H
#define MAILTRAIL_LIBMILTER_IO_H

/* Buffered socket reads for libmilter, and the hook that gives them to it.

   Debian's libmilter (built with _FFR_WORKERS_POOL) reads every milter packet with three
   poll(2) calls and two read(2) calls, and hands a session back to its pool controller
   after 1 ms without a packet: under load every message then moves between threads several
   times and worker threads are started and ended all the time. The functions here stand in
   for libmilter's read, poll and close (its own calls only, see mt_libmilter_io_install):
   a session socket is read in blocks and packets are served from the block; a poll finds
   buffered bytes without a system call; and the 1 ms "is another packet coming" check waits
   up to a hold time instead, so the thread that serves a message keeps it. */

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Replaces the read, poll and close entries of the loaded shared library whose path contains
   `library` (e.g. "libmilter.so") in its global offset table with the functions below;
   `hold_ms` is the hold time. All three or none: returns the number of entries replaced
   (3 unless the library has several for one), or -1 with `*why` naming the failure
   (library not loaded, an entry not found, mprotect refused). Call it before the library starts any thread. */
int mt_libmilter_io_install(const char *library, int hold_ms, const char **why);

/* read(2) through a per-descriptor block buffer for stream sockets; other descriptors and
   reads of a whole block or more go straight to read(2). */
ssize_t mt_session_read(int fd, void *buffer, size_t count);

/* poll(2) that reports POLLIN at once for descriptors with buffered bytes; a poll of one
   descriptor with a 1 ms timeout (libmilter's readiness check) waits up to the hold time. */
int mt_session_poll(struct pollfd *fds, nfds_t count, int timeout);

/* close(2) that first drops the descriptor's buffer. */
int mt_session_close(int fd);

/* The hold time mt_session_poll uses (milliseconds). */
void mt_session_set_hold(int hold_ms);

/* Reads libmilter made so far: those that called read(2) (on its sockets, or the other
   descriptors it reads, such as its worker pool's pipe) and those served from buffered bytes. */
struct mt_session_io_counts {
    uint64_t socket_reads;
    uint64_t buffered_reads;
};
struct mt_session_io_counts mt_session_io_counts(void);

#endif
