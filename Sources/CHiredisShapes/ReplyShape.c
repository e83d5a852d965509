#include "ReplyShape.h"

#include <stdlib.h>
#include <string.h>

/* The leaves without a value: shared, never freed. */
static mt_reply_shape status_leaf = { .type = REDIS_REPLY_STATUS };
static mt_reply_shape string_leaf = { .type = REDIS_REPLY_STRING };
static mt_reply_shape integer_leaf = { .type = REDIS_REPLY_INTEGER };
static mt_reply_shape nil_leaf = { .type = REDIS_REPLY_NIL };

static int is_shared(const mt_reply_shape *shape) {
    return shape == &status_leaf || shape == &string_leaf || shape == &integer_leaf || shape == &nil_leaf;
}

/* Puts `shape` in its parent array, as hiredis' own functions do; returns it. */
static void *attach(const redisReadTask *task, mt_reply_shape *shape) {
    if (task->parent != NULL) {
        mt_reply_shape *parent = task->parent->obj;
        parent->element[task->idx] = shape;
    }
    return shape;
}

static void *create_string(const redisReadTask *task, char *str, size_t len) {
    if (task->type == REDIS_REPLY_STATUS) return attach(task, &status_leaf);
    if (task->type != REDIS_REPLY_ERROR) return attach(task, &string_leaf);
    mt_reply_shape *shape = calloc(1, sizeof *shape);
    if (shape == NULL) return NULL;
    shape->str = malloc(len + 1);
    if (shape->str == NULL) {
        free(shape);
        return NULL;
    }
    memcpy(shape->str, str, len);
    shape->str[len] = '\0';
    shape->len = len;
    shape->type = REDIS_REPLY_ERROR;
    return attach(task, shape);
}

static void *create_array(const redisReadTask *task, int elements) {
    mt_reply_shape *shape = calloc(1, sizeof *shape);
    if (shape == NULL) return NULL;
    if (elements > 0) {
        shape->element = calloc((size_t)elements, sizeof *shape->element);
        if (shape->element == NULL) {
            free(shape);
            return NULL;
        }
        shape->elements = (size_t)elements;
    }
    shape->type = REDIS_REPLY_ARRAY;
    return attach(task, shape);
}

static void *create_integer(const redisReadTask *task, long long value) {
    (void)value;
    return attach(task, &integer_leaf);
}

static void *create_nil(const redisReadTask *task) {
    return attach(task, &nil_leaf);
}

void mt_reply_shape_free(void *reply) {
    mt_reply_shape *shape = reply;
    if (shape == NULL || is_shared(shape)) return;
    /* An array being read when its connection failed holds NULL for the elements not read. */
    for (size_t index = 0; index < shape->elements; index++) mt_reply_shape_free(shape->element[index]);
    free(shape->element);
    free(shape->str);
    free(shape);
}

static redisReplyObjectFunctions shape_functions = {
    create_string, create_array, create_integer, create_nil, mt_reply_shape_free,
};

redisReplyObjectFunctions *mt_reply_shape_begin(redisReader *reader) {
    redisReplyObjectFunctions *previous = reader->fn;
    reader->fn = &shape_functions;
    return previous;
}

void mt_reply_shape_restore(redisReader *reader, redisReplyObjectFunctions *previous) {
    reader->fn = previous;
}
