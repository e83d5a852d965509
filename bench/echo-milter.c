/*
 * echo-milter: the cheapest filter that does to each message what mailtrail-milter does, the
 * second reference of bench/milter. Not part of MailTrail.
 *
 * It negotiates the same protocol steps as mailtrail-milter (no replies before end of
 * message; no HELO, end-of-header or unknown commands; no DATA on a Unix socket) and keeps
 * the body in memory. At end of message it adds an X-MailTrail-ID header, sends the body
 * back unchanged as a replacement (in MILTER_CHUNK_SIZE pieces), with -r writes one
 * enrichment hash to Redis (HSET + EXPIRE, pipelined, one connection per session), and logs
 * one line per message on stderr, as mailtrail-milter does. It parses and rewrites nothing,
 * so what it costs is Postfix's share of a body-replacing filter plus a minimal filter's own.
 * Its TCP listening socket gets the options mailtrail-milter sets on its own (TCP_NODELAY,
 * and an MSS of at most 8 KiB so that cleanup's milter buffers stay small; see
 * Sources/Milter/ListenSocketOptions.swift). With -b, libmilter's reads are buffered as in
 * mailtrail-milter (Sources/CLibmilterIO, compiled in); without, they are stock libmilter's.
 *
 *     echo-milter -p inet:PORT@127.0.0.1|unix:/PATH [-r REDIS_PORT] [-b]
 */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <libmilter/mfapi.h>

#include "LibmilterIO.h"

#ifndef ECHO_MSS
#define ECHO_MSS 8192   /* as Sources/Milter/ListenSocketOptions.swift */
#endif

static int redis_port;          /* 0: no Redis */
static int unix_socket;

struct session {
    char   *body;
    size_t  length;
    size_t  capacity;
    int     incomplete;         /* a chunk could not be kept: leave the body alone */
    char    sender[512];
    char    recipient[512];
    redisContext *redis;
};

static struct session *session_of(SMFICTX *ctx)
{
    struct session *s = smfi_getpriv(ctx);

    if (s == NULL) {
        if ((s = calloc(1, sizeof(*s))) == NULL)
            return NULL;
        smfi_setpriv(ctx, s);
    }
    return s;
}

/* copy_address - an envelope address without its angle brackets */

static void copy_address(char *target, size_t size, const char *address)
{
    size_t  length;

    if (*address == '<')
        address++;
    length = strcspn(address, ">");
    snprintf(target, size, "%.*s", (int) length, address);
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                             unsigned long f2, unsigned long f3, unsigned long *pf0,
                             unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    unsigned long steps = SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR
        | SMFIP_NR_BODY | SMFIP_NOHELO | SMFIP_NOEOH | SMFIP_NOUNKNOWN;

    (void) ctx;
    if (unix_socket)
        steps |= SMFIP_NODATA;
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY);
    *pf1 = f1 & steps;
    *pf2 = 0;
    *pf3 = 0;
    (void) f2;
    (void) f3;
    return SMFIS_CONTINUE;
}

static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
    (void) host;
    (void) addr;
    return session_of(ctx) ? SMFIS_NOREPLY : SMFIS_TEMPFAIL;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
    struct session *s = session_of(ctx);

    if (s == NULL)
        return SMFIS_NOREPLY;
    s->length = 0;
    s->incomplete = 0;
    copy_address(s->sender, sizeof(s->sender), argv[0]);
    s->recipient[0] = 0;
    return SMFIS_NOREPLY;
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    struct session *s = session_of(ctx);

    if (s != NULL && s->recipient[0] == 0)
        copy_address(s->recipient, sizeof(s->recipient), argv[0]);
    return SMFIS_NOREPLY;
}

static sfsistat on_data(SMFICTX *ctx)
{
    (void) ctx;
    return SMFIS_CONTINUE;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
    (void) ctx;
    (void) name;
    (void) value;
    return SMFIS_NOREPLY;
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t size)
{
    struct session *s = session_of(ctx);

    if (s == NULL)
        return SMFIS_NOREPLY;
    if (s->length + size > s->capacity) {
        size_t  wanted = s->capacity ? s->capacity : 65536;
        char   *grown;

        while (wanted < s->length + size)
            wanted *= 2;
        if ((grown = realloc(s->body, wanted)) == NULL) {
            s->incomplete = 1;
            return SMFIS_NOREPLY;
        }
        s->body = grown;
        s->capacity = wanted;
    }
    memcpy(s->body + s->length, chunk, size);
    s->length += size;
    return SMFIS_NOREPLY;
}

static void record(struct session *s, const char *id, const char *queue_id)
{
    redisReply *reply;

    if (s->redis == NULL || s->redis->err) {
        if (s->redis)
            redisFree(s->redis);
        s->redis = redisConnect("127.0.0.1", redis_port);
        if (s->redis == NULL || s->redis->err)
            return;
    }
    redisAppendCommand(s->redis, "HSET mt:msg:%s sender %s recipient %s queue_id %s",
                       id, s->sender, s->recipient, queue_id);
    redisAppendCommand(s->redis, "EXPIRE mt:msg:%s 7776000", id);
    for (int i = 0; i < 2; i++)
        if (redisGetReply(s->redis, (void **) &reply) == REDIS_OK)
            freeReplyObject(reply);
}

static sfsistat on_eom(SMFICTX *ctx)
{
    static const size_t chunk = MILTER_CHUNK_SIZE;
    struct session *s = session_of(ctx);
    const char *queue_id = smfi_getsymval(ctx, "i");
    struct timeval now;
    char    id[33];

    if (s == NULL || s->incomplete)
        return SMFIS_CONTINUE;
    gettimeofday(&now, NULL);
    snprintf(id, sizeof(id), "%08lx%08lx%016lx", (unsigned long) getpid() & 0xffffffffUL,
             (unsigned long) now.tv_usec, (unsigned long) random());
    if (smfi_addheader(ctx, "X-MailTrail-ID", id) != MI_SUCCESS)
        return SMFIS_CONTINUE;
    for (size_t offset = 0; offset < s->length; offset += chunk) {
        size_t  size = s->length - offset < chunk ? s->length - offset : chunk;

        if (smfi_replacebody(ctx, (unsigned char *) s->body + offset, (int) size) != MI_SUCCESS)
            return SMFIS_CONTINUE;
    }
    if (redis_port)
        record(s, id, queue_id ? queue_id : "");
    /* One line per message, as mailtrail-milter logs; the test reads it. */
    fprintf(stderr, "%s: body replaced, %zu bytes, X-MailTrail-ID %s\n",
            queue_id ? queue_id : "NOQUEUE", s->length, id);
    return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
    struct session *s = smfi_getpriv(ctx);

    if (s != NULL) {
        if (s->redis)
            redisFree(s->redis);
        free(s->body);
        free(s);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

/* tune_listener - the socket options mailtrail-milter sets on the TCP socket libmilter listens on */

static void tune_listener(void)
{
    for (int fd = 0; fd < 1024; fd++) {
        int     accepting = 0;
        int     one = 1;
        int     mss = ECHO_MSS;
        socklen_t size = sizeof(accepting);
        struct sockaddr_storage address;
        socklen_t address_size = sizeof(address);

        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &size) != 0 || !accepting
            || getsockname(fd, (struct sockaddr *) &address, &address_size) != 0
            || (address.ss_family != AF_INET && address.ss_family != AF_INET6))
            continue;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0
            || setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)) != 0)
            fprintf(stderr, "echo-milter: setsockopt: %s\n", strerror(errno));
    }
}

int     main(int argc, char **argv)
{
    struct smfiDesc filter = {
        .xxfi_name = "echo-milter",
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY,
        .xxfi_connect = on_connect,
        .xxfi_envfrom = on_envfrom,
        .xxfi_envrcpt = on_envrcpt,
        .xxfi_header = on_header,
        .xxfi_body = on_body,
        .xxfi_eom = on_eom,
        .xxfi_close = on_close,
        .xxfi_data = on_data,
        .xxfi_negotiate = on_negotiate,
    };
    const char *socket = NULL;
    const char *why = NULL;
    int     buffered = 0;
    int     option;

    while ((option = getopt(argc, argv, "p:r:b")) != -1) {
        switch (option) {
        case 'p':
            socket = optarg;
            break;
        case 'r':
            redis_port = atoi(optarg);
            break;
        case 'b':
            buffered = 1;
            break;
        default:
            fprintf(stderr, "usage: echo-milter -p SOCKET [-r REDIS_PORT] [-b]\n");
            return 64;
        }
    }
    if (socket == NULL) {
        fprintf(stderr, "usage: echo-milter -p SOCKET [-r REDIS_PORT] [-b]\n");
        return 64;
    }
    /* mailtrail-milter's hold time (Sources/Milter/LibmilterReads.swift) */
    if (buffered && mt_libmilter_io_install("libmilter.so", 1000, &why) < 0) {
        fprintf(stderr, "echo-milter: cannot buffer libmilter's reads: %s\n", why);
        return 70;
    }
    unix_socket = strncmp(socket, "unix:", 5) == 0 || strncmp(socket, "local:", 6) == 0;
    if (smfi_setconn((char *) socket) != MI_SUCCESS || smfi_register(filter) != MI_SUCCESS
        || smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "echo-milter: cannot listen on %s\n", socket);
        return 69;
    }
    tune_listener();
    fprintf(stderr, "echo-milter: listening on %s, %s reads\n", socket,
            buffered ? "buffered" : "stock");
    return smfi_main() == MI_SUCCESS ? 0 : 70;
}
