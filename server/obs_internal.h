/* obs_internal.h - what server/ shares to be watched: the log (log.c:
 * messages with a level, one access line per request) and the Prometheus
 * metrics (metrics.c). Never included outside server/. */
#ifndef PREDICTD_OBS_INTERNAL_H
#define PREDICTD_OBS_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server_internal.h"

struct MHD_Connection;
struct MHD_Response;
struct config;
struct out_buf;
struct reply;
struct served_set;

/* ---- log.c ---- */

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* Takes cfg's --log-format, --log-level and --access-log, opening the
 * access log (O_APPEND). Before it, messages are written as JSON at level
 * info to stderr. Returns 0, or a negative errno with the reason in errbuf
 * when the file cannot be opened. Call once, before any thread starts. */
int log_setup(const struct config *cfg, char *errbuf, size_t errlen);

/* Writes one message line (to stderr) when level is at least
 * --log-level. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

/* libmicrohttpd's error messages, as warnings (MHD_OPTION_EXTERNAL_LOGGER). */
void log_mhd(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* SIGUSR1: opens --access-log FILE again (after logrotate moved it) in
 * place of the old one. Returns 0 (also without a file), or a negative
 * errno (the old file stays in use; the reason is logged). */
int log_reopen(void);

/* One request as the access log and the metrics see it. One per
 * connection (HTTP/1.1 answers a connection's requests in turn), kept as
 * the connection's socket context; times are CLOCK_MONOTONIC ns. */
#define LOG_ID_MAX 128
#define LOG_PATH_MAX 512
struct log_request {
        bool active; /* between log_request_begin and log_request_end */
        char id[LOG_ID_MAX + 1];
        char traceparent[56]; /* the 55 characters of a valid one, or "" */
        char peer[64];        /* "ADDR:PORT" ("[ADDR]:PORT" for IPv6) */
        char method[16];
        char path[LOG_PATH_MAX + 4];
        unsigned protocol;    /* enum metrics_protocol */
        unsigned status;      /* 0: no answer was sent */
        size_t rows, bytes_in, bytes_out;
        struct metrics_model *model;
        unsigned long long t_start, t_body, t_job, t_reply, t_done;
        unsigned long long compute_ns[2];
        /* the phases, set by log_request_end (seconds in ns) */
        unsigned long long receive_ns, queue_ns, compute_dur_ns, write_ns, total_ns;
        const char *ending; /* NULL: completed; else why the request ended */
};

/* A new record for a connection (its peer address); NULL when out of
 * memory (every other log_request_* accepts NULL). Freed with free(). */
struct log_request *log_request_new(struct MHD_Connection *conn);

/* Headers arrived: a new request on o's connection. Takes the client's
 * X-Request-Id when it is 1..LOG_ID_MAX characters of [A-Za-z0-9._:+/=-],
 * else makes a random one, and a valid W3C traceparent. */
void log_request_begin(struct log_request *o, struct MHD_Connection *conn, const char *method,
                       const char *url);

/* n more body bytes read. */
void log_request_read(struct log_request *o, size_t n);

/* The body is complete (first call only counts). */
void log_request_body_done(struct log_request *o);

/* A compute thread took the request. */
void log_request_job(struct log_request *o);

/* The answer r is queued as resp: records it and adds X-Request-Id. */
void log_request_reply(struct log_request *o, const struct reply *r, struct MHD_Response *resp);

/* libmicrohttpd is done with the request (toe: its termination code):
 * counts it in the metrics and writes its access line. */
void log_request_end(struct log_request *o, int toe);

/* ---- metrics.c ---- */

enum metrics_protocol { METRICS_SEED, METRICS_V1, METRICS_V2, METRICS_N_PROTOCOLS };

/* The counters of one model version (or, with version "", of one model
 * name: loads, reloads, failures). Never freed: counters live as long as
 * the process, and a pointer to one is valid forever. */
struct metrics_model;

/* A slot's model name and version ("" for requests naming none). */
const char *metrics_model_name(const struct metrics_model *m);
const char *metrics_model_version(const struct metrics_model *m);
/* "seed", "v1" or "v2". */
const char *metrics_protocol_name(unsigned protocol);

/* Records the process start time. Call once at start-up. */
void metrics_init(void);

/* The counters of (name, version), made on first use. Not for the
 * request path (it takes a lock): the registry calls it when it builds
 * an entry. NULL past the most model versions kept (their requests are
 * counted under model=""), or out of memory. */
struct metrics_model *metrics_model_get(const char *name, const char *version);

/* Load outcomes, by model name (the loader thread). */
enum metrics_load { METRICS_LOADED, METRICS_RELOADED, METRICS_LOAD_FAILED };
void metrics_count_load(const char *name, enum metrics_load what);

/* The request path: marks in r that the model's math starts, on rows
 * rows (all parsing done), and that it ended (the answer not written). */
void metrics_mark_compute(struct reply *r, size_t rows);
void metrics_mark_computed(struct reply *r);

/* Monotonic time in ns. */
unsigned long long metrics_now_ns(void);

/* Counts a finished request (lock-free; no allocation). */
void metrics_observe(const struct log_request *o);

/* What the exposition needs from the server at scrape time. */
struct metrics_gauges {
        size_t in_flight;       /* requests past their headers, not answered */
        struct pool_stats pool; /* the compute pool's */
};

/* Appends every series, in the Prometheus text format 0.0.4, to b. set
 * gives the info series of the loaded models. */
void metrics_render(struct out_buf *b, const struct served_set *set,
                    const struct metrics_gauges *g);

/* Content-Type of metrics_render's text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
