/* http.c - the libmicrohttpd daemon: routing, request bodies with a hard
 * size limit, health endpoints, and the hand-off of POST /predict to
 * predict.c. The model pointer is published once with release semantics
 * and read with acquire semantics by the worker threads. */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "config.h"
#include "server.h"
#include "server_internal.h"

struct server {
        struct MHD_Daemon *daemon;
        const struct config *cfg;
        _Atomic(struct served_model *) live;
        unsigned port;
};

/* Per-request state, from the first call of the handler to completion. */
struct request {
        char *body;
        size_t len, cap;
        bool too_large;  /* over max_body_bytes: answer 413 */
        size_t dropped;  /* bytes read and dropped since */
};

/* How much of an oversized body is read (and dropped) to be able to answer
 * 413 before the connection is simply closed. */
#define DRAIN_LIMIT ((size_t)16 << 20)

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct reply *r,
                                  const char *allow)
{
        if (!r->body) {
                /* only when even the error body could not be allocated */
                static const char oom[] = "{\"error\":\"out of memory\"}";
                r->status = 500;
                r->body = (char *)oom;
                r->len = sizeof(oom) - 1;
                struct MHD_Response *resp = MHD_create_response_from_buffer(
                        r->len, r->body, MHD_RESPMEM_PERSISTENT);
                if (!resp)
                        return MHD_NO;
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
                enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
                MHD_destroy_response(resp);
                return ret;
        }
        struct MHD_Response *resp = MHD_create_response_from_buffer(
                r->len, r->body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(r->body);
                return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        if (allow)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static void reply_text(struct reply *r, unsigned status, const char *json)
{
        r->status = status;
        r->body = strdup(json);
        r->len = r->body ? strlen(r->body) : 0;
}

/* Copies what a client sent into an error message as printable ASCII, so
 * the JSON body stays valid UTF-8 whatever bytes the URL decoded to. */
static void printable(const char *in, char *out, size_t len)
{
        size_t o = 0;
        for (; *in && o + 4 < len; in++)
                out[o++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
        if (*in)
                out[o++] = '.', out[o++] = '.', out[o++] = '.';
        out[o] = '\0';
}

enum route { ROUTE_NONE, ROUTE_PREDICT, ROUTE_HEALTHZ, ROUTE_READYZ };

static enum route route_of(const char *url, const char **allow)
{
        if (strcmp(url, "/predict") == 0) {
                *allow = "POST";
                return ROUTE_PREDICT;
        }
        if (strcmp(url, "/healthz") == 0) {
                *allow = "GET, HEAD";
                return ROUTE_HEALTHZ;
        }
        if (strcmp(url, "/readyz") == 0) {
                *allow = "GET, HEAD";
                return ROUTE_READYZ;
        }
        return ROUTE_NONE;
}

static bool method_allowed(enum route rt, const char *method)
{
        if (rt == ROUTE_PREDICT)
                return strcmp(method, MHD_HTTP_METHOD_POST) == 0;
        return strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
               strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
        struct server *srv = cls;
        struct request *req = *con_cls;
        struct reply r = { 0 };
        const char *allow = NULL;
        enum route rt = route_of(url, &allow);

        if (!req) {
                /* First call: headers only. Refuse early what needs no body. */
                char shown_method[24], shown_url[128];
                printable(method, shown_method, sizeof(shown_method));
                printable(url, shown_url, sizeof(shown_url));
                if (rt == ROUTE_NONE) {
                        reply_error(&r, 404,
                                    "no such endpoint: %s %s (expected POST /predict, "
                                    "GET /healthz or GET /readyz)",
                                    shown_method, shown_url);
                        return send_reply(conn, &r, NULL);
                }
                if (!method_allowed(rt, method)) {
                        reply_error(&r, 405, "method %s is not allowed on %s (expected %s)",
                                    shown_method, shown_url, allow);
                        return send_reply(conn, &r, allow);
                }
                if (rt == ROUTE_PREDICT) {
                        const char *cl = MHD_lookup_connection_value(
                                conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
                        if (cl) {
                                char *end;
                                errno = 0;
                                unsigned long long n = strtoull(cl, &end, 10);
                                if (errno == 0 && *end == '\0' && n > srv->cfg->max_body_bytes) {
                                        reply_error(&r, 413,
                                                    "request body of %llu bytes is over the limit "
                                                    "of %zu bytes",
                                                    n, srv->cfg->max_body_bytes);
                                        return send_reply(conn, &r, NULL);
                                }
                        }
                }
                req = calloc(1, sizeof(*req));
                if (!req)
                        return MHD_NO;
                *con_cls = req;
                return MHD_YES;
        }

        if (*upload_data_size) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                if (req->too_large || n > srv->cfg->max_body_bytes - req->len) {
                        /* libmicrohttpd 0.9.75 closes without an answer when a
                         * response is queued mid-upload, so the rest is read
                         * and dropped to send a proper 413; a client that
                         * goes on far past the limit is cut off instead. */
                        req->too_large = true;
                        req->dropped += n;
                        return req->dropped > DRAIN_LIMIT ? MHD_NO : MHD_YES;
                }
                if (req->len + n > req->cap) {
                        size_t cap = req->cap ? req->cap : 4096;
                        while (cap < req->len + n)
                                cap *= 2;
                        char *b = realloc(req->body, cap);
                        if (!b)
                                return MHD_NO;
                        req->body = b;
                        req->cap = cap;
                }
                memcpy(req->body + req->len, upload_data, n);
                req->len += n;
                return MHD_YES;
        }

        struct served_model *sm = atomic_load_explicit(&srv->live, memory_order_acquire);
        switch (rt) {
        case ROUTE_HEALTHZ:
                reply_text(&r, 200, "{\"status\":\"ok\"}");
                break;
        case ROUTE_READYZ:
                if (sm)
                        reply_text(&r, 200, "{\"ready\":true}");
                else
                        reply_text(&r, 503, "{\"ready\":false,\"error\":\"the model is still loading\"}");
                break;
        case ROUTE_PREDICT:
                if (req->too_large)
                        reply_error(&r, 413, "request body is over the limit of %zu bytes",
                                    srv->cfg->max_body_bytes);
                else if (!sm)
                        reply_error(&r, 503, "the model is still loading; retry when /readyz is 200");
                else
                        predict_handle(sm, srv->cfg, req->body ? req->body : "", req->len, &r);
                break;
        case ROUTE_NONE:
                reply_error(&r, 404, "no such endpoint");
                break;
        }
        return send_reply(conn, &r, NULL);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
        struct request *req = *con_cls;
        if (!req)
                return;
        free(req->body);
        free(req);
        *con_cls = NULL;
}

static int fmt_err(char *errbuf, size_t errlen, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fmt_err(char *errbuf, size_t errlen, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
        return code;
}

int server_start(const struct config *cfg, struct server **out, char *errbuf,
                 size_t errlen)
{
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                  .ai_flags = AI_PASSIVE };
        struct addrinfo *ai = NULL;
        char port[16];
        snprintf(port, sizeof(port), "%u", cfg->port);
        int gai = getaddrinfo(cfg->host, port, &hints, &ai);
        if (gai != 0)
                return fmt_err(errbuf, errlen, -EINVAL, "cannot resolve host '%s': %s",
                               cfg->host, gai_strerror(gai));
        struct server *srv = calloc(1, sizeof(*srv));
        if (!srv) {
                freeaddrinfo(ai);
                return fmt_err(errbuf, errlen, -ENOMEM, "out of memory");
        }
        srv->cfg = cfg;
        atomic_init(&srv->live, NULL);
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                         MHD_USE_ERROR_LOG;
        if (ai->ai_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        srv->daemon = MHD_start_daemon(
                flags, (uint16_t)cfg->port, NULL, NULL, handle, srv,
                MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->timeout_s,
                MHD_OPTION_NOTIFY_COMPLETED, completed, srv,
                MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
                MHD_OPTION_END);
        freeaddrinfo(ai);
        if (!srv->daemon) {
                free(srv);
                return fmt_err(errbuf, errlen, -EADDRINUSE,
                               "cannot listen on %s:%u (address in use, or not an address "
                               "of this machine?)",
                               cfg->host, cfg->port);
        }
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon,
                                                             MHD_DAEMON_INFO_BIND_PORT);
        srv->port = di ? di->port : cfg->port;
        *out = srv;
        return 0;
}

unsigned server_port(const struct server *srv)
{
        return srv->port;
}

int server_publish_model(struct server *srv, struct model *model,
                         struct serialize_info *info)
{
        struct served_model *sm;
        int rc = served_model_create(model, info, &sm);
        if (rc < 0)
                return rc;
        atomic_store_explicit(&srv->live, sm, memory_order_release);
        return 0;
}

void server_stop(struct server *srv)
{
        if (!srv)
                return;
        if (srv->daemon)
                MHD_stop_daemon(srv->daemon);
        served_model_free(atomic_load(&srv->live));
        free(srv);
}
