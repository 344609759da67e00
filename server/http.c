/* http.c - the libmicrohttpd daemon: routing, request bodies with a hard
 * size limit, health endpoints, and the hand-off of request bodies to the
 * protocol handlers: the seed's /predict (predict.c), the Open Inference
 * Protocol under /v2 (v2.c) and KServe V1 under /v1 (predict.c). Each
 * model is published once with release semantics and read with acquire
 * semantics by the worker threads; readiness flips once all are. */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "config.h"
#include "deadline_internal.h"
#include "server.h"
#include "obs_internal.h"
#include "server_internal.h"

struct server {
        struct MHD_Daemon *daemon;
        const struct config *cfg;
        struct registry *reg;
        struct auth *auth;    /* API keys (auth.c) */
        struct pool *pool;    /* inference, apart from the connection threads */
        struct deadline *dl;  /* --receive-timeout */
        atomic_bool ready;
        atomic_bool draining; /* readiness 503, Connection: close */
        atomic_size_t inflight; /* requests past their headers, not completed */
        int listen_fd;        /* ours until the daemon starts, then -1 (MHD closes it) */
        int quiesced_fd;      /* handed back by MHD_quiesce_daemon; closed after stop */
        unsigned port;
};

struct route;

/* Per-request state, from the first call of the handler to completion.
 * A compute request is suspended while a pool worker answers it; the
 * worker holds a reference of its own, since with --request-timeout the
 * client may be answered (and the request completed) while the model
 * still runs. */
struct request {
        atomic_uint refs;      /* the connection's, and the pool job's */
        atomic_bool answered;  /* REQ_QUEUED: the worker or the timeout won */
        bool v2_binary;        /* an Inference-Header-Content-Length header */
        char *body;
        size_t len, cap;
        size_t declared; /* its Content-Length (at most max_body_bytes), or 0 */
        bool too_large;  /* over max_body_bytes: answer 413 */
        size_t dropped;  /* bytes read and dropped since */
        enum { REQ_READING, REQ_QUEUED, REQ_DONE } state;
        struct server *srv;
        struct MHD_Connection *conn;
        struct route *rt;          /* REQ_QUEUED: the route (owned) */
        struct registry_snap *snap; /* REQ_QUEUED: the models it runs on */
        struct reply reply;        /* REQ_DONE: the answer to send */
};

/* How much of an oversized body is read (and dropped) to be able to answer
 * 413 before the connection is simply closed. */
#define DRAIN_LIMIT ((size_t)16 << 20)

/* Compute requests that may wait for a pool thread, per thread; beyond
 * them the answer is 503 with Retry-After at once. */
#define POOL_QUEUE_PER_THREAD 16u

/* A compute request with a body up to this size (a few dozen rows) is
 * small: the pool's small-job threads take it, so that it is answered
 * at once even while every worker runs a large batch. */
#define SMALL_BODY_BYTES ((size_t)16 << 10)
/* ... and up to this (a few rows), tiny: while such requests are cheap it
 * runs on the HTTP thread it arrived on (pool_take_inline). */
#define TINY_BODY_BYTES ((size_t)4 << 10)

/* libmicrohttpd's memory per connection: the request line and headers
 * must fit in it (past about 15 KiB of them the answer is 431), and the
 * body arrives through it in pieces. libmicrohttpd zeroes all of it after
 * every request; its default of 32 KiB made that memset 4% of a one-row
 * request's CPU. 16 KiB keeps room for the headers servers usually accept
 * (nginx 8 KiB a line, Apache 8 KiB a field). */
#define CONNECTION_MEMORY ((size_t)16 << 10)

/* While draining, every answer closes its connection, so keep-alive
 * clients move to another instance rather than holding this one open. */
static void add_headers(const struct server *srv, struct MHD_Response *resp, const char *type)
{
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                type ? type : "application/json");
        if (atomic_load_explicit(&srv->draining, memory_order_acquire))
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
}

/* The connection's access-log record (log.c), or NULL. */
static struct log_request *log_of(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        const struct conn_ctx *cc = ci ? ci->socket_context : NULL;
        return cc ? cc->log : NULL;
}

static enum MHD_Result send_reply(const struct server *srv, struct MHD_Connection *conn,
                                  struct reply *r, const char *allow)
{
        deadline_received(srv->dl, conn); /* also an answer before the body */
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
                add_headers(srv, resp, NULL);
                log_request_reply(log_of(conn), r, resp);
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
        add_headers(srv, resp, r->content_type);
        log_request_reply(log_of(conn), r, resp);
        if (r->retry_after) {
                char ra[16];
                snprintf(ra, sizeof(ra), "%u", r->retry_after);
                MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
        }
        if (allow)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        if (r->www_authenticate)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                        r->www_authenticate);
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

enum route_kind {
        ROUTE_NONE,
        ROUTE_PREDICT,
        ROUTE_HEALTHZ,
        ROUTE_READYZ,
        ROUTE_V2_SERVER,      /* GET /v2 */
        ROUTE_V2_LIVE,        /* GET /v2/health/live */
        ROUTE_V2_READY,       /* GET /v2/health/ready */
        ROUTE_V2_MODELS,      /* GET /v2/models */
        ROUTE_V2_REPO_INDEX,  /* POST /v2/repository/index (Triton) */
        ROUTE_V2_REPO_LOAD,   /* POST /v2/repository/models/N/load */
        ROUTE_V2_REPO_UNLOAD, /* POST /v2/repository/models/N/unload */
        ROUTE_V2_MODEL,       /* GET /v2/models/N[/versions/V] */
        ROUTE_V2_MODEL_READY, /* GET .../ready */
        ROUTE_V2_INFER,       /* POST .../infer */
        ROUTE_V1_MODELS,      /* GET /v1/models */
        ROUTE_V1_MODEL,       /* GET /v1/models/N[/versions/V] */
        ROUTE_V1_PREDICT,     /* POST /v1/models/N[/versions/V]:predict */
        ROUTE_METRICS,        /* GET /metrics (Prometheus) */
};

struct route {
        enum route_kind kind;
        const char *allow;
        bool hide_names; /* a 404 lists no model names (open route, keys on) */
        char name[CONFIG_MAX_NAME + 2]; /* longer names cannot match */
        char version[24];               /* "" when none is named */
};

#define ENDPOINTS                                                               \
        "POST /predict, GET /healthz, GET /readyz, GET /v2, GET /v2/health/live, " \
        "GET /v2/health/ready, GET /v2/models, GET /v2/models/NAME[/versions/V], "  \
        "GET .../ready, POST .../infer, GET /v1/models, GET /v1/models/NAME, "      \
        "POST /v1/models/NAME:predict, POST /v2/repository/index, "                  \
        "POST /v2/repository/models/NAME/load, POST /v2/repository/models/NAME/unload, " \
        "GET /metrics"

/* Splits path at '/' into at most max non-empty segments (in buf). */
static size_t split(const char *path, char *buf, size_t buflen, char **seg, size_t max)
{
        size_t len = strlen(path);
        if (len >= buflen)
                return 0;
        memcpy(buf, path, len + 1);
        size_t n = 0;
        for (char *p = buf;;) {
                char *slash = strchr(p, '/');
                if (slash)
                        *slash = '\0';
                if (!*p || n == max)
                        return 0; /* an empty segment, or too many */
                seg[n++] = p;
                if (!slash)
                        return n;
                p = slash + 1;
        }
}

/* NAME or NAME/versions/V: fills rt's name and version. */
static bool model_path(const char *const *seg, size_t n, struct route *rt)
{
        if (n != 1 && !(n == 3 && strcmp(seg[1], "versions") == 0))
                return false;
        if (strlen(seg[0]) >= sizeof(rt->name) ||
            (n == 3 && strlen(seg[2]) >= sizeof(rt->version)))
                return false;
        strcpy(rt->name, seg[0]);
        strcpy(rt->version, n == 3 ? seg[2] : "");
        return true;
}

static void route_of(const char *url, struct route *rt)
{
        static const struct {
                const char *path;
                enum route_kind kind;
        } fixed[] = {
                { "/predict", ROUTE_PREDICT },
                { "/healthz", ROUTE_HEALTHZ },
                { "/readyz", ROUTE_READYZ },
                { "/v2", ROUTE_V2_SERVER },
                { "/v2/health/live", ROUTE_V2_LIVE },
                { "/v2/health/ready", ROUTE_V2_READY },
                { "/v2/models", ROUTE_V2_MODELS },
                { "/v2/repository/index", ROUTE_V2_REPO_INDEX },
                { "/v1/models", ROUTE_V1_MODELS },
                { "/metrics", ROUTE_METRICS },
        };
        memset(rt, 0, sizeof(*rt));
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
                if (strcmp(url, fixed[i].path) == 0)
                        rt->kind = fixed[i].kind;
        char buf[512], *seg[5];
        size_t n;
        if (strncmp(url, "/v2/models/", 11) == 0 &&
            (n = split(url + 11, buf, sizeof(buf), seg, 5)) > 0) {
                enum route_kind k = ROUTE_V2_MODEL;
                if (n == 2 || n == 4) {
                        if (strcmp(seg[n - 1], "ready") == 0)
                                k = ROUTE_V2_MODEL_READY;
                        else if (strcmp(seg[n - 1], "infer") == 0)
                                k = ROUTE_V2_INFER;
                        else
                                return;
                        n--;
                }
                if (model_path((const char *const *)seg, n, rt))
                        rt->kind = k;
        } else if (strncmp(url, "/v2/repository/models/", 22) == 0 &&
                   (n = split(url + 22, buf, sizeof(buf), seg, 3)) == 2 &&
                   (strcmp(seg[1], "load") == 0 || strcmp(seg[1], "unload") == 0)) {
                if (model_path((const char *const *)seg, 1, rt))
                        rt->kind = seg[1][0] == 'l' ? ROUTE_V2_REPO_LOAD : ROUTE_V2_REPO_UNLOAD;
        } else if (strncmp(url, "/v1/models/", 11) == 0) {
                const char *colon = strrchr(url + 11, ':');
                char path[512];
                enum route_kind k = ROUTE_V1_MODEL;
                size_t len = strlen(url + 11);
                if (colon) {
                        if (strcmp(colon, ":predict") != 0)
                                return;
                        len = (size_t)(colon - (url + 11));
                        k = ROUTE_V1_PREDICT;
                }
                if (len >= sizeof(path))
                        return;
                memcpy(path, url + 11, len);
                path[len] = '\0';
                if ((n = split(path, buf, sizeof(buf), seg, 3)) > 0 &&
                    model_path((const char *const *)seg, n, rt))
                        rt->kind = k;
        }
        switch (rt->kind) {
        case ROUTE_PREDICT:
        case ROUTE_V2_INFER:
        case ROUTE_V1_PREDICT:
        case ROUTE_V2_REPO_INDEX:
        case ROUTE_V2_REPO_LOAD:
        case ROUTE_V2_REPO_UNLOAD:
                rt->allow = "POST";
                break;
        case ROUTE_NONE:
                break;
        default:
                rt->allow = "GET, HEAD";
        }
}

/* Who may call a route: health stays open for load balancers (a
 * model's readiness too, as the Open Inference Protocol counts it as
 * health), /metrics is open unless --metrics-auth, the repository
 * needs an admin key, the rest a key. No default: a new route must be
 * placed here. */
static enum auth_need route_need(const struct auth *a, enum route_kind k)
{
        switch (k) {
        case ROUTE_METRICS:
                return auth_metrics_required(a) ? AUTH_NEED_KEY : AUTH_NEED_NONE;
        case ROUTE_NONE:
        case ROUTE_HEALTHZ:
        case ROUTE_READYZ:
        case ROUTE_V2_LIVE:
        case ROUTE_V2_READY:
        case ROUTE_V2_MODEL_READY:
        case ROUTE_V1_MODEL:
                return AUTH_NEED_NONE;
        case ROUTE_V2_REPO_INDEX:
        case ROUTE_V2_REPO_LOAD:
        case ROUTE_V2_REPO_UNLOAD:
                return AUTH_NEED_ADMIN;
        case ROUTE_PREDICT:
        case ROUTE_V2_SERVER:
        case ROUTE_V2_MODELS:
        case ROUTE_V2_MODEL:
        case ROUTE_V2_INFER:
        case ROUTE_V1_MODELS:
        case ROUTE_V1_PREDICT:
                return AUTH_NEED_KEY;
        }
        return AUTH_NEED_KEY;
}

static bool method_allowed(const struct route *rt, const char *method)
{
        if (strcmp(rt->allow, "POST") == 0)
                return strcmp(method, MHD_HTTP_METHOD_POST) == 0;
        return strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
               strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

/* The entry a route names: its version, or the highest one. NULL with a
 * 404 in r when there is none. */
static const struct served_entry *find_model(const struct served_set *set,
                                             const struct route *rt, struct reply *r)
{
        const struct served_entry *found = NULL;
        bool name_seen = false;
        for (size_t i = 0; i < set->n; i++) {
                const struct server_model_spec *sp = set->e[i].spec;
                if (strcmp(sp->name, rt->name) != 0)
                        continue;
                name_seen = true;
                if (!rt->version[0] || strcmp(sp->version, rt->version) == 0)
                        found = &set->e[i]; /* sorted: the last is the highest */
        }
        if (found)
                return found;
        char shown[CONFIG_MAX_NAME + 8], list[400];
        size_t o = 0;
        list[0] = '\0';
        if (rt->hide_names)
                snprintf(list, sizeof(list), "not listed without an API key");
        for (size_t i = 0; i < set->n && o + 110 < sizeof(list) && !rt->hide_names; i++) {
                const struct server_model_spec *sp = set->e[i].spec;
                if (name_seen ? strcmp(sp->name, rt->name) != 0
                              : (i > 0 && strcmp(sp->name, set->e[i - 1].spec->name) == 0))
                        continue;
                o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "",
                                      name_seen ? sp->version : sp->name);
        }
        printable(rt->name, shown, sizeof(shown));
        if (name_seen) {
                char v[sizeof(rt->version) + 8];
                printable(rt->version, v, sizeof(v));
                reply_error(r, 404, "model '%s' has no version '%s' (versions: %s)", shown, v,
                            list);
        } else {
                reply_error(r, 404, "no model named '%s' (models: %s)", shown, list);
        }
        return NULL;
}

static void reply_printf(struct reply *r, unsigned status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void reply_printf(struct reply *r, unsigned status, const char *fmt, ...)
{
        char buf[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        reply_text(r, status, buf);
}

/* {"models": [every name once]} */
static void v1_list(const struct served_set *set, struct reply *r)
{
        struct out_buf b = { 0 };
        out_str(&b, "{\"models\":[");
        for (size_t i = 0; i < set->n; i++) {
                const char *name = set->e[i].spec->name;
                if (i > 0 && strcmp(name, set->e[i - 1].spec->name) == 0)
                        continue;
                if (i)
                        out_str(&b, ",");
                out_json_string(&b, name);
        }
        out_str(&b, "]}");
        reply_take(r, &b);
}

/* The request of a route that names a model, once its body is read. */
static void handle_model_route(struct server *srv, const struct served_set *set,
                               const struct route *rt, const struct request *req,
                               struct reply *r)
{
        const struct served_entry *e = find_model(set, rt, r);
        if (!e)
                return;
        const struct served_model *sm = atomic_load_explicit(&e->sm, memory_order_acquire);
        const char *name = e->spec->name;
        r->model = e->metrics;
        if (!sm) {
                if (rt->kind == ROUTE_V2_MODEL_READY || rt->kind == ROUTE_V1_MODEL)
                        reply_printf(r, 503, "{\"name\":\"%s\",\"ready\":false}", name);
                else
                        reply_error(r, 503, "model '%s' is still loading; retry when "
                                    "/v2/health/ready is 200", name);
                return;
        }
        switch (rt->kind) {
        case ROUTE_V2_MODEL:
                v2_model_metadata(set, e, sm, r);
                break;
        case ROUTE_V2_MODEL_READY:
        case ROUTE_V1_MODEL:
                reply_printf(r, 200, "{\"name\":\"%s\",\"ready\":true}", name);
                break;
        case ROUTE_V2_INFER:
                if (req->v2_binary) {
                        reply_error(r, 400, "the binary tensor data extension is not "
                                    "supported; send the tensors as JSON (binary_data=False)");
                        break;
                }
                v2_infer(srv->pool, e, sm, srv->cfg, req->body ? req->body : "", req->len, r);
                break;
        case ROUTE_V1_PREDICT:
                predict_handle_v1(srv->pool, sm, srv->cfg, req->body ? req->body : "", req->len, r);
                break;
        default:
                reply_error(r, 404, "no such endpoint");
        }
}

/* POST /predict: the default model of snap. */
static void predict_default(struct server *srv, struct registry_snap *snap,
                            const struct request *req, struct reply *r)
{
        const struct server_model_list *l = snap->list;
        const struct served_model *sm = NULL;
        if (!l->has_default) {
                reply_error(r, 404,
                            "POST /predict answers with the default model, and predictd "
                            "serves several without one: start it with --default-model "
                            "NAME, or call POST /v2/models/NAME/infer or "
                            "/v1/models/NAME:predict");
                return;
        }
        sm = atomic_load_explicit(&snap->set.e[l->default_idx].sm, memory_order_acquire);
        r->model = snap->set.e[l->default_idx].metrics;
        if (!sm)
                reply_error(r, 503, "the model is still loading; retry when /readyz is 200");
        else
                predict_handle(srv->pool, sm, srv->cfg, req->body ? req->body : "", req->len, r);
}

static void request_unref(void *arg)
{
        struct request *req = arg;
        if (atomic_fetch_sub_explicit(&req->refs, 1, memory_order_acq_rel) != 1)
                return;
        registry_release(req->snap);
        free(req->rt);
        free(req->reply.body);
        free(req->body);
        free(req);
}

/* The first of the worker and the timeout to answer a suspended request
 * hands it back to libmicrohttpd, which calls handle again to send it. */
static void answer_suspended(struct request *req, struct reply *r)
{
        if (atomic_exchange_explicit(&req->answered, true, memory_order_acq_rel)) {
                free(r->body); /* too late: the client has its answer */
                return;
        }
        req->reply = *r;
        req->state = REQ_DONE;
        MHD_resume_connection(req->conn);
}

/* The answer of a compute request, on whichever thread runs it; a tiny
 * one's cost feeds the pool's choice of where tiny ones run. */
static void compute(struct server *srv, struct registry_snap *snap, const struct route *rt,
                    struct request *req, struct reply *r)
{
        bool tiny = req->len <= TINY_BODY_BYTES;
        unsigned long long t0 = tiny ? metrics_now_ns() : 0;
        log_request_job(log_of(req->conn));
        if (rt->kind == ROUTE_PREDICT)
                predict_default(srv, snap, req, r);
        else
                handle_model_route(srv, &snap->set, rt, req, r);
        if (tiny)
                pool_tiny_cost(srv->pool, (double)(metrics_now_ns() - t0) / 1e9);
}

/* A pool worker: computes the answer of a suspended request. */
static void compute_job(void *arg)
{
        struct request *req = arg;
        struct reply r = { 0 };
        compute(req->srv, req->snap, req->rt, req, &r);
        answer_suspended(req, &r);
}

/* --request-timeout ran out for a compute request. */
static void compute_expired(void *arg, bool started)
{
        struct request *req = arg;
        unsigned t = req->srv->cfg->request_timeout_s;
        struct reply r = { 0 };
        if (started) {
                reply_error(&r, 504, "the computation took longer than the request timeout "
                            "of %u s (--request-timeout) and was given up", t);
        } else {
                reply_error(&r, 503, "no compute thread became free within the request "
                            "timeout of %u s (--request-timeout); retry shortly", t);
                r.retry_after = 1;
        }
        answer_suspended(req, &r);
}

/* What a compute request needs wherever it runs. The worker may run after
 * the connection has gone: nothing of it is looked up there. */
static void compute_bind(struct request *req, struct server *srv, struct MHD_Connection *conn)
{
        req->srv = srv;
        req->conn = conn;
        req->v2_binary = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Inference-Header-Content-Length");
}

/* Computes a tiny request on this connection thread, as pool_take_inline
 * allowed, and answers it. */
static enum MHD_Result compute_here(struct server *srv, struct MHD_Connection *conn,
                                    const struct route *rt, struct request *req)
{
        struct reply r = { 0 };
        compute_bind(req, srv, conn);
        struct registry_snap *snap = registry_acquire(srv->reg);
        compute(srv, snap, rt, req, &r);
        registry_release(snap);
        return send_reply(srv, conn, &r, NULL);
}

/* Hands a compute request to the pool; false with a 503 in r when its
 * queue is full. */
static bool queue_compute(struct server *srv, struct MHD_Connection *conn,
                          const struct route *rt, struct request *req, struct reply *r)
{
        req->rt = malloc(sizeof(*req->rt));
        if (!req->rt || pool_reserve(srv->pool) < 0) {
                free(req->rt);
                req->rt = NULL;
                reply_error(r, 503, "every compute thread is busy and the queue is full "
                            "(%u threads, %u waiting); retry shortly", srv->cfg->threads,
                            srv->cfg->threads * POOL_QUEUE_PER_THREAD);
                r->retry_after = 1;
                return false;
        }
        *req->rt = *rt;
        compute_bind(req, srv, conn);
        req->snap = registry_acquire(srv->reg);
        req->state = REQ_QUEUED;
        atomic_fetch_add_explicit(&req->refs, 1, memory_order_relaxed);
        /* suspended before the job can run, so its resume always finds
         * the connection suspended */
        MHD_suspend_connection(conn);
        struct pool_job job = { compute_job, compute_expired, request_unref, req,
                                req->len <= SMALL_BODY_BYTES };
        pool_submit(srv->pool, &job);
        return true;
}

/* GET /metrics */
static void metrics_reply(struct server *srv, const struct served_set *set, struct reply *r)
{
        struct metrics_gauges g = {
                .in_flight = atomic_load_explicit(&srv->inflight, memory_order_relaxed),
        };
        pool_stats(srv->pool, &g.pool);
        struct out_buf b = { 0 };
        metrics_render(&b, set, &g);
        reply_take(r, &b);
        if (r->status == 200)
                r->content_type = METRICS_CONTENT_TYPE;
}

/* The answer to load/unload NAME once the reload it asked for is done:
 * 200 {} when NAME is (load) or is no longer (unload) served, else why. */
static void repo_result(struct server *srv, const struct route *rt, bool load, struct reply *r)
{
        struct registry_snap *snap = registry_acquire(srv->reg);
        const struct served_entry *found = NULL, *failed = NULL;
        bool serving = false;
        for (size_t i = 0; i < snap->set.n; i++) {
                const struct served_entry *e = &snap->set.e[i];
                if (strcmp(e->spec->name, rt->name) != 0)
                        continue;
                found = e;
                if (e->reason)
                        failed = e;
                if (atomic_load_explicit(&e->sm, memory_order_acquire))
                        serving = true;
        }
        char shown[CONFIG_MAX_NAME + 8];
        printable(rt->name, shown, sizeof(shown));
        if (!load)
                reply_text(r, 200, "{}");
        else if (!found)
                reply_error(r, 404, "no model source has a model named '%s' (see POST "
                            "/v2/repository/index)", shown);
        else if (!serving)
                reply_error(r, 400, "model '%s' failed to load: %s", shown,
                            found->reason ? found->reason : "unknown reason");
        else if (failed)
                reply_error(r, 400, "model '%s' version %s: %s", shown, failed->spec->version,
                            failed->reason);
        else
                reply_text(r, 200, "{}");
        registry_release(snap);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
        struct server *srv = cls;
        struct request *req = *con_cls;
        struct reply r = { 0 };
        struct log_request *lr = log_of(conn);
        /* A piece of the body: kept, with nothing else to decide. */
        if (req && *upload_data_size) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                log_request_read(lr, n);
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
                        /* the Content-Length at once (a one-row body is
                         * 100 bytes), doubling past it */
                        size_t cap = req->cap ? req->cap * 2
                                              : req->declared > n ? req->declared : n;
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

        struct route rt;
        route_of(url, &rt);
        rt.hide_names = route_need(srv->auth, rt.kind) == AUTH_NEED_NONE &&
                        auth_keys_required(srv->auth);

        if (!req) {
                log_request_begin(lr, conn, method, url);
                /* First call: headers only. Refuse early what needs no body. */
                char shown_method[24], shown_url[128];
                bool routed = rt.kind != ROUTE_NONE, allowed = routed && method_allowed(&rt, method);
                if (!allowed) {
                        printable(method, shown_method, sizeof(shown_method));
                        printable(url, shown_url, sizeof(shown_url));
                }
                if (!routed) {
                        reply_error(&r, 404, "no such endpoint: %s %s (expected one of " ENDPOINTS ")",
                                    shown_method, shown_url);
                        return send_reply(srv, conn, &r, NULL);
                }
                if (!allowed) {
                        reply_error(&r, 405, "method %s is not allowed on %s (expected %s)",
                                    shown_method, shown_url, rt.allow);
                        return send_reply(srv, conn, &r, rt.allow);
                }
                enum auth_result ar = auth_check(
                        srv->auth, route_need(srv->auth, rt.kind),
                        MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION));
                if (ar != AUTH_OK) {
                        auth_reply(srv->auth, ar, &r);
                        return send_reply(srv, conn, &r, NULL);
                }
                size_t declared = 0;
                if (strcmp(rt.allow, "POST") == 0) {
                        const char *cl = MHD_lookup_connection_value(
                                conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
                        if (cl) {
                                char *end;
                                errno = 0;
                                unsigned long long n = strtoull(cl, &end, 10);
                                if (errno == 0 && *end == '\0') {
                                        if (n > srv->cfg->max_body_bytes) {
                                                reply_error(&r, 413,
                                                            "request body of %llu bytes is over "
                                                            "the limit of %zu bytes",
                                                            n, srv->cfg->max_body_bytes);
                                                return send_reply(srv, conn, &r, NULL);
                                        }
                                        declared = (size_t)n;
                                }
                        }
                }
                req = calloc(1, sizeof(*req));
                if (!req)
                        return MHD_NO;
                req->declared = declared;
                atomic_init(&req->refs, 1);
                atomic_init(&req->answered, false);
                *con_cls = req;
                atomic_fetch_add_explicit(&srv->inflight, 1, memory_order_relaxed);
                return MHD_YES;
        }

        deadline_received(srv->dl, conn); /* the body is complete */
        log_request_body_done(lr);
        bool ready = atomic_load_explicit(&srv->ready, memory_order_acquire);
        bool draining = atomic_load_explicit(&srv->draining, memory_order_acquire);
        if (req->too_large) {
                reply_error(&r, 413, "request body is over the limit of %zu bytes",
                            srv->cfg->max_body_bytes);
                return send_reply(srv, conn, &r, NULL);
        }
        if (req->state == REQ_DONE) {
                r = req->reply;
                req->reply.body = NULL;
                return send_reply(srv, conn, &r, NULL);
        }
        if (req->state == REQ_QUEUED)
                return MHD_YES; /* not expected while suspended */
        if (rt.kind == ROUTE_PREDICT || rt.kind == ROUTE_V2_INFER ||
            rt.kind == ROUTE_V1_PREDICT) {
                if (req->len <= TINY_BODY_BYTES && pool_take_inline(srv->pool))
                        return compute_here(srv, conn, &rt, req);
                if (queue_compute(srv, conn, &rt, req, &r))
                        return MHD_YES;
                return send_reply(srv, conn, &r, NULL);
        }
        struct registry_snap *snap = registry_acquire(srv->reg);
        const struct served_set *set = &snap->set;
        switch (rt.kind) {
        case ROUTE_HEALTHZ:
                reply_text(&r, 200, "{\"status\":\"ok\"}");
                break;
        case ROUTE_READYZ:
                if (draining)
                        reply_text(&r, 503, "{\"ready\":false,\"error\":\"shutting down\"}");
                else if (ready)
                        reply_text(&r, 200, "{\"ready\":true}");
                else
                        reply_text(&r, 503, "{\"ready\":false,\"error\":\"the models are still loading\"}");
                break;
        case ROUTE_V2_LIVE:
                reply_text(&r, 200, "{\"live\":true}");
                break;
        case ROUTE_V2_READY:
                ready = ready && !draining;
                reply_text(&r, ready ? 200 : 503, ready ? "{\"ready\":true}" : "{\"ready\":false}");
                break;
        case ROUTE_V2_SERVER:
                v2_server_metadata(&r);
                break;
        case ROUTE_V2_MODELS:
                v2_index(set, false, &r);
                break;
        case ROUTE_V2_REPO_INDEX: {
                /* Triton's body {"ready": bool} is optional */
                bool ready_only = false;
                if (req->len) {
                        cJSON *root = predict_parse_body(req->body, req->len,
                                                         "a JSON object such as {\"ready\": true}", &r);
                        if (!root)
                                break;
                        const cJSON *rd = cJSON_GetObjectItemCaseSensitive(root, "ready");
                        if (rd && !cJSON_IsBool(rd)) {
                                cJSON_Delete(root);
                                reply_error(&r, 400, "\"ready\": expected true or false");
                                break;
                        }
                        ready_only = cJSON_IsTrue(rd);
                        cJSON_Delete(root);
                }
                v2_index(set, ready_only, &r);
                break;
        }
        case ROUTE_V1_MODELS:
                v1_list(set, &r);
                break;
        case ROUTE_METRICS:
                metrics_reply(srv, set, &r);
                break;
        case ROUTE_V2_MODEL:
        case ROUTE_V2_MODEL_READY:
        case ROUTE_V1_MODEL:
                handle_model_route(srv, set, &rt, req, &r);
                break;
        case ROUTE_PREDICT:
        case ROUTE_V2_INFER:
        case ROUTE_V1_PREDICT:
                break; /* on the pool, above */
        case ROUTE_V2_REPO_LOAD:
        case ROUTE_V2_REPO_UNLOAD: {
                /* The snapshot is given back first: the reload frees it. */
                registry_release(snap);
                snap = NULL;
                bool load = rt.kind == ROUTE_V2_REPO_LOAD;
                int rc = registry_load_unload(srv->reg, rt.name, load, 300);
                if (rc < 0) {
                        reply_error(&r, 503, "the %s of '%s' did not finish: %s",
                                    load ? "load" : "unload", rt.name, strerror(-rc));
                        break;
                }
                repo_result(srv, &rt, load, &r);
                break;
        }
        case ROUTE_NONE:
                reply_error(&r, 404, "no such endpoint");
                break;
        }
        registry_release(snap);
        return send_reply(srv, conn, &r, NULL);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
        struct server *srv = cls;
        struct request *req = *con_cls;
        deadline_answered(srv->dl, conn);
        log_request_end(log_of(conn), (int)toe);
        if (!req)
                return;
        atomic_fetch_sub_explicit(&srv->inflight, 1, memory_order_release);
        request_unref(req);
        *con_cls = NULL;
}

/* A connection opens or closes: its access-log record. */
static void connection_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
        const struct server *srv = cls;
        struct conn_ctx *cc = *socket_context;
        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                /* out of memory: no deadline and no access line for it */
                if (!(cc = calloc(1, sizeof(*cc))))
                        return;
                cc->log = log_request_new(conn);
                deadline_notify_connection(srv->dl, conn, &cc->clock, toe);
                *socket_context = cc;
        } else if (cc) {
                deadline_notify_connection(srv->dl, conn, &cc->clock, toe);
                free(cc->log);
                free(cc);
                *socket_context = NULL;
        }
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

/* Binds and listens on the first address of ai. Made here rather than by
 * libmicrohttpd so that a port in use is reported as such (errno) and
 * SO_REUSEPORT is set only when asked: two servers silently sharing a
 * port answer from two different models at random. */
static int listen_on(const struct config *cfg, const struct addrinfo *ai, int *fd_out,
                     char *errbuf, size_t errlen)
{
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        ai->ai_protocol);
        if (fd < 0)
                return fmt_err(errbuf, errlen, -errno, "cannot create a socket for %s:%u: %s",
                               cfg->host, cfg->port, strerror(errno));
        int one = 1;
        /* SO_REUSEADDR only lets a restart bind past TIME_WAIT; a port
         * somebody listens on stays refused. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (cfg->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
                int err = errno;
                close(fd);
                return fmt_err(errbuf, errlen, -err, "--reuse-port: %s", strerror(err));
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 511) < 0) {
                int err = errno;
                close(fd);
                if (err == EADDRINUSE)
                        return fmt_err(errbuf, errlen, -err,
                                       "cannot listen on %s:%u: address already in use (another "
                                       "process listens there; pass --reuse-port to share it "
                                       "on purpose)",
                                       cfg->host, cfg->port);
                return fmt_err(errbuf, errlen, -err, "cannot listen on %s:%u: %s", cfg->host,
                               cfg->port, strerror(err));
        }
        *fd_out = fd;
        return 0;
}

/* The registry's reload hook: the key files are re-read with the models. */
static void reload_keys(void *auth)
{
        auth_reload(auth);
}

int server_start(const struct config *cfg, struct server_model_list *list,
                 struct server **out, char *errbuf, size_t errlen)
{
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                  .ai_flags = AI_PASSIVE };
        struct addrinfo *ai = NULL;
        char port[16];
        snprintf(port, sizeof(port), "%u", cfg->port);
        int gai = getaddrinfo(cfg->host, port, &hints, &ai);
        if (gai != 0) {
                server_model_list_free(list);
                return fmt_err(errbuf, errlen, -EINVAL, "cannot resolve host '%s': %s",
                               cfg->host, gai_strerror(gai));
        }
        struct server *srv = calloc(1, sizeof(*srv));
        if (!srv) {
                server_model_list_free(list);
                freeaddrinfo(ai);
                return fmt_err(errbuf, errlen, -ENOMEM, "out of memory");
        }
        int rc = registry_create(cfg, list, &srv->reg, errbuf, errlen);
        if (rc == 0)
                rc = auth_create(cfg, &srv->auth, errbuf, errlen);
        if (rc == 0 &&
            (deadline_create(cfg->receive_timeout_s, cfg->timeout_s, &srv->dl) < 0 ||
             pool_create(cfg->threads, (size_t)cfg->threads * POOL_QUEUE_PER_THREAD,
                         cfg->request_timeout_s, cfg->inline_compute_us, &srv->pool) < 0))
                rc = fmt_err(errbuf, errlen, -ENOMEM, "out of memory");
        if (rc < 0) {
                freeaddrinfo(ai);
                deadline_free(srv->dl);
                auth_free(srv->auth);
                registry_free(srv->reg);
                free(srv);
                return rc;
        }
        registry_on_reload(srv->reg, reload_keys, srv->auth);
        srv->cfg = cfg;
        srv->listen_fd = -1;
        srv->quiesced_fd = -1;
        atomic_init(&srv->ready, false);
        atomic_init(&srv->draining, false);
        atomic_init(&srv->inflight, 0);
        rc = listen_on(cfg, ai, &srv->listen_fd, errbuf, errlen);
        bool v6 = ai->ai_family == AF_INET6;
        freeaddrinfo(ai);
        if (rc < 0) {
                server_stop(srv);
                return rc;
        }
        /* MHD_USE_ITC: MHD_quiesce_daemon, to close the listener on drain. */
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                         MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
        if (v6)
                flags |= MHD_USE_IPv6;
        srv->daemon = MHD_start_daemon(
                flags, (uint16_t)cfg->port, NULL, NULL, handle, srv,
                /* first, or libmicrohttpd logs some messages its own way */
                MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
                MHD_OPTION_LISTEN_SOCKET, srv->listen_fd,
                MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->timeout_s,
                MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
                MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)cfg->max_conn_per_client,
                MHD_OPTION_NOTIFY_COMPLETED, completed, srv,
                MHD_OPTION_NOTIFY_CONNECTION, connection_notify, srv,
                MHD_OPTION_URI_LOG_CALLBACK, deadline_uri_logged, srv->dl,
                MHD_OPTION_END);
        if (!srv->daemon) {
                server_stop(srv);
                return fmt_err(errbuf, errlen, -EIO,
                               "cannot start the HTTP daemon on %s:%u (libmicrohttpd "
                               "refused; see its message above)",
                               cfg->host, cfg->port);
        }
        srv->listen_fd = -1; /* the daemon's now */
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

const struct server_model_list *server_models(const struct server *srv)
{
        return registry_initial(srv->reg)->list;
}

int server_load_model(struct server *srv, const char *name, const char *path,
                      struct model **model, struct serialize_info **info, char *err,
                      size_t errlen)
{
        return registry_load(srv->reg, name, path, model, info, err, errlen);
}

int server_publish_model(struct server *srv, size_t i, struct model *model,
                         struct serialize_info *info)
{
        return registry_publish(srv->reg, i, model, info);
}

void server_set_ready(struct server *srv)
{
        atomic_store_explicit(&srv->ready, true, memory_order_release);
        registry_set_ready(srv->reg);
}

void server_reload(struct server *srv)
{
        registry_reload(srv->reg);
}

void server_drain_begin(struct server *srv)
{
        atomic_store_explicit(&srv->draining, true, memory_order_release);
}

/* Makes the kernel drop new connection attempts (TCP segments with SYN
 * and without ACK) at the listener, while the handshakes already under
 * way complete into the backlog. Without it a client could connect in the
 * instant between emptying the backlog and shutting the listener, and
 * have its request reset; with it, its SYN goes unanswered and its retry
 * is refused once the listener is shut. The filter sees the TCP header
 * from offset 0; byte 13 holds the flags. */
static void refuse_new_handshakes(int fd)
{
        struct sock_filter code[] = {
                BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
                BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),        /* SYN | ACK */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1), /* SYN alone */
                BPF_STMT(BPF_RET | BPF_K, 0),
                BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
        };
        struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
        if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) == 0) {
                /* let handshakes in flight finish (their ACKs pass) */
                struct timespec ts = { 0, 100 * 1000 * 1000 };
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
        }
}

void server_drain_close(struct server *srv)
{
        if (!srv->daemon || srv->quiesced_fd >= 0)
                return;
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon,
                                                             MHD_DAEMON_INFO_LISTEN_FD);
        if (di && di->listen_fd != MHD_INVALID_SOCKET)
                refuse_new_handshakes(di->listen_fd);
        /* Quiesce hands the socket back; it may be closed only after
         * MHD_stop_daemon, but shutdown takes a Linux listener out of
         * LISTEN now: new connections are refused at once instead of
         * waiting in the backlog for an accept that never comes.
         * Connections already in the backlog were accepted by the kernel
         * (the client has sent its request), so they are taken and handed
         * to the daemon first rather than reset by the shutdown. */
        int fd = MHD_quiesce_daemon(srv->daemon);
        if (fd < 0)
                return;
        srv->quiesced_fd = fd;
        for (size_t n = 0; n < 100000; n++) {
                struct sockaddr_storage ss;
                socklen_t sl = sizeof(ss);
                int c = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
                if (c < 0) {
                        if (errno == EINTR)
                                continue;
                        break; /* EAGAIN: the backlog is empty */
                }
                /* MHD owns c from here, closing it itself on failure */
                (void)MHD_add_connection(srv->daemon, c, (struct sockaddr *)&ss, sl);
        }
        shutdown(fd, SHUT_RDWR);
}

size_t server_inflight(const struct server *srv)
{
        return atomic_load_explicit(&srv->inflight, memory_order_acquire);
}

void server_stop(struct server *srv)
{
        if (!srv)
                return;
        /* Every suspended request is answered and resumed first: the
         * daemon may not stop with a connection suspended. */
        pool_drain(srv->pool);
        if (srv->daemon)
                MHD_stop_daemon(srv->daemon);
        pool_free(srv->pool);
        deadline_free(srv->dl);
        if (srv->listen_fd >= 0)
                close(srv->listen_fd);
        if (srv->quiesced_fd >= 0)
                close(srv->quiesced_fd);
        registry_free(srv->reg);
        auth_free(srv->auth);
        free(srv);
}
