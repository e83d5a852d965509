#ifndef MAILTRAIL_REPLY_SHAPE_H
#define MAILTRAIL_REPLY_SHAPE_H

#include <hiredis/hiredis.h>

/*
 * Replies read for their shape only: which reply is an error (and its message), which is an
 * array (and its elements), which is nil. Strings and integers keep their type, not their
 * value.
 *
 * A transaction's replies (a QUEUED per command, then EXEC's array of results) are checked
 * for errors and nothing else. hiredis' own reply objects cost two allocations per string
 * (the object and a copy of the bytes) and two frees; read this way, a non-error leaf is a
 * shared constant that costs nothing, and only arrays and errors are allocated.
 */
typedef struct mt_reply_shape {
    int type;                        /* REDIS_REPLY_* */
    char *str;                       /* REDIS_REPLY_ERROR: the message, NUL-terminated */
    size_t len;                      /* its length */
    size_t elements;                 /* REDIS_REPLY_ARRAY: the number of elements */
    struct mt_reply_shape **element; /* and the elements */
} mt_reply_shape;

/*
 * Makes `reader` build shapes instead of hiredis' reply objects; returns the functions it
 * used before, for mt_reply_shape_restore. A reply read meanwhile is freed with
 * mt_reply_shape_free; a reader freed meanwhile (redisFree) frees a partial reply right.
 */
redisReplyObjectFunctions *mt_reply_shape_begin(redisReader *reader);

/* Gives `reader` back the functions mt_reply_shape_begin returned. */
void mt_reply_shape_restore(redisReader *reader, redisReplyObjectFunctions *previous);

/* Frees a reply read as a shape (NULL is ignored). */
void mt_reply_shape_free(void *reply);

#endif
