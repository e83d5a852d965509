/* Buffered reads of libmilter's session sockets (see LibmilterIO.h for why).

   One buffer per descriptor, made on the first read of a stream socket and dropped when
   libmilter closes it. libmilter's calls carry nothing but the descriptor, so the buffers
   live in one process-wide table indexed by it. libmilter reads a session from one thread
   at a time, but its pool controller polls waiting sessions from another, so the buffer's
   fill is kept under a lock; the block itself is only written by the reading thread while
   it holds no bytes. */

#define _GNU_SOURCE
#include "LibmilterIO.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Postfix writes milter packets in blocks of four TCP segments; 16 KiB takes several. */
#define BLOCK_SIZE 16384
/* Descriptors at or above this are read directly. */
#define TABLE_SIZE 65536
/* libmilter's "is another packet coming" check: poll(fd, 1, MI_RD_CMD_TO), 1 ms. */
#define READY_CHECK_MS 1

struct session_buffer {
    size_t start, end; /* the unread bytes are data[start..<end] */
    unsigned char data[BLOCK_SIZE];
};

/* Marks a descriptor that is not a stream socket: read directly, never buffered. */
static char unbuffered_marker;
#define UNBUFFERED ((struct session_buffer *)(void *)&unbuffered_marker)

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct session_buffer *table[TABLE_SIZE];
static int hold_ms = READY_CHECK_MS;
static uint64_t socket_reads, buffered_reads;

void mt_session_set_hold(int ms) { __atomic_store_n(&hold_ms, ms, __ATOMIC_RELAXED); }

struct mt_session_io_counts mt_session_io_counts(void) {
    struct mt_session_io_counts counts = {
        __atomic_load_n(&socket_reads, __ATOMIC_RELAXED),
        __atomic_load_n(&buffered_reads, __ATOMIC_RELAXED),
    };
    return counts;
}

static int is_stream_socket(int fd) {
    struct stat st;
    int type = 0;
    socklen_t length = sizeof type;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)
        && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 && type == SOCK_STREAM;
}

/* The descriptor's buffer, made on first use; NULL when none could be allocated (the read
   then goes directly, and the next one tries again). Called with the lock held. */
static struct session_buffer *buffer_for(int fd) {
    struct session_buffer *b = table[fd];
    if (b == NULL) {
        if (!is_stream_socket(fd)) {
            b = UNBUFFERED;
        } else if ((b = malloc(sizeof *b)) != NULL) {
            b->start = b->end = 0;
        }
        table[fd] = b;
    }
    return b;
}

ssize_t mt_session_read(int fd, void *out, size_t count) {
    if (fd < 0 || fd >= TABLE_SIZE || count == 0) return read(fd, out, count);
    pthread_mutex_lock(&table_lock);
    struct session_buffer *b = buffer_for(fd);
    if (b != NULL && b != UNBUFFERED && b->start < b->end) {
        size_t n = b->end - b->start < count ? b->end - b->start : count;
        memcpy(out, b->data + b->start, n);
        b->start += n;
        pthread_mutex_unlock(&table_lock);
        __atomic_fetch_add(&buffered_reads, 1, __ATOMIC_RELAXED);
        return (ssize_t)n;
    }
    pthread_mutex_unlock(&table_lock);
    __atomic_fetch_add(&socket_reads, 1, __ATOMIC_RELAXED);
    if (b == NULL || b == UNBUFFERED || count >= BLOCK_SIZE) return read(fd, out, count);

    ssize_t got = read(fd, b->data, BLOCK_SIZE);
    if (got <= 0) return got;
    size_t n = (size_t)got < count ? (size_t)got : count;
    memcpy(out, b->data, n);
    pthread_mutex_lock(&table_lock);
    b->start = n;
    b->end = (size_t)got;
    pthread_mutex_unlock(&table_lock);
    return (ssize_t)n;
}

/* Sets POLLIN in the revents of the descriptors asking for it that have buffered bytes;
   returns how many there are. Called with the lock held. */
static nfds_t mark_buffered(struct pollfd *fds, nfds_t count, int set) {
    nfds_t ready = 0;
    for (nfds_t i = 0; i < count; i++) {
        int fd = fds[i].fd;
        if (fd < 0 || fd >= TABLE_SIZE || !(fds[i].events & POLLIN)) continue;
        struct session_buffer *b = table[fd];
        if (b == NULL || b == UNBUFFERED || b->start == b->end) continue;
        ready++;
        if (set) fds[i].revents |= POLLIN;
    }
    return ready;
}

int mt_session_poll(struct pollfd *fds, nfds_t count, int timeout) {
    pthread_mutex_lock(&table_lock);
    nfds_t buffered = mark_buffered(fds, count, 0);
    pthread_mutex_unlock(&table_lock);
    if (buffered == 0) {
        int hold = __atomic_load_n(&hold_ms, __ATOMIC_RELAXED);
        if (count == 1 && timeout == READY_CHECK_MS && hold > timeout) timeout = hold;
        return poll(fds, count, timeout);
    }
    /* Some bytes are here already: look at the others without waiting. */
    if (count > 1) {
        if (poll(fds, count, 0) < 0) return -1;
    } else {
        fds[0].revents = 0;
    }
    pthread_mutex_lock(&table_lock);
    mark_buffered(fds, count, 1);
    pthread_mutex_unlock(&table_lock);
    int ready = 0;
    for (nfds_t i = 0; i < count; i++) {
        if (fds[i].revents != 0) ready++;
    }
    return ready;
}

int mt_session_close(int fd) {
    if (fd >= 0 && fd < TABLE_SIZE) {
        pthread_mutex_lock(&table_lock);
        struct session_buffer *b = table[fd];
        table[fd] = NULL;
        pthread_mutex_unlock(&table_lock);
        if (b != UNBUFFERED) free(b);
    }
    return close(fd);
}
