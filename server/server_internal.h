/* server_internal.h - what server/'s files share. Never included outside. */
#ifndef PREDICTD_SERVER_INTERNAL_H
#define PREDICTD_SERVER_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

struct config;
struct metrics_model;
struct model;
struct reply;
struct model_error;
struct serialize_info;
struct server_model_spec;

/* A model as the request path uses it: the model, its info, and each
 * class label pre-rendered as JSON. Immutable once published. */
struct served_model {
        struct model *model;
        struct serialize_info *info;
        char **label_json; /* every output's labels, back to back */
        size_t n_classes;  /* all outputs' classes */
        /* class outputs: 1 for a classifier, k for one fitted on k
         * outputs (output j's labels are label_json[label_off[j] ..
         * label_off[j+1])), 0 for other models */
        size_t n_class_outputs;
        size_t *label_off;
        size_t n_features;
        size_t n_outputs; /* regressors: values per row; 0 for classifiers */
        bool outputs_2d;  /* one target, answered as [v] (y was (n, 1)) */
        bool has_proba;
        bool accepts_nan; /* null in a row means NaN (missing) */
        /* an outlier detector (IsolationForest, OneClassSVM, a Pipeline
         * ending in one): its values are the ints -1 and 1, as in
         * scikit-learn, though the model core serves them as doubles */
        bool inlier_labels;
        /* a model that only transforms (a scaler, a ColumnTransformer, a
         * Pipeline of them): /predict and V1 answer its transformed rows,
         * V2 its transform output */
        bool transform_only;
        double loaded_at; /* when it was loaded (Unix seconds), for /metrics */
};

/* One model version as the routes find it: its spec and, once loaded,
 * its served model (published with release, read with acquire). */
struct served_entry {
        const struct server_model_spec *spec;
        _Atomic(struct served_model *) sm;
        const char *reason; /* why the last load failed, or NULL */
        struct metrics_model *metrics; /* its counters (obs_internal.h), or NULL */
};

/* All the entries, sorted by name then version (the spec order). */
struct served_set {
        struct served_entry *e;
        size_t n;
};

/* The models as one request sees them (registry.c): immutable once
 * published, kept alive by a reference for as long as a request uses it. */
struct registry_model;
struct registry;
struct registry_snap {
        atomic_uint refs;
        struct server_model_list *list;
        struct served_set set;
        struct registry_model **owner; /* each entry's model, shared */
        char **reason;                 /* each entry's reason (owned) */
        size_t e_alloc;
};

/* A registry serving list (taken, also on failure), with its loader
 * thread started and cfg's --verify-key keys read. Returns -EINVAL (a key
 * file: the reason in err), -ENOMEM or -EAGAIN. */
int registry_create(const struct config *cfg, struct server_model_list *list,
                    struct registry **out, char *err, size_t errlen);
/* fn(arg) runs in the loader thread at the start of every reload. */
void registry_on_reload(struct registry *reg, void (*fn)(void *), void *arg);
/* Loads path as model name is served: --max-model-bytes, the digests
 * --model-sha256 pins for name, the signature --verify-key asks for. The
 * reason into err on failure. */
int registry_load(struct registry *reg, const char *name, const char *path,
                  struct model **model, struct serialize_info **info, char *err,
                  size_t errlen);
/* The start-up snapshot, filled by registry_publish before any reload. */
struct registry_snap *registry_initial(struct registry *reg);
/* Start-up: model i of the initial snapshot (taken on success). */
int registry_publish(struct registry *reg, size_t i, struct model *model,
                     struct serialize_info *info);
/* Reloads may run from now on (SIGHUP, --poll-interval, load/unload). */
void registry_set_ready(struct registry *reg);
/* The current snapshot, referenced; give it back with registry_release. */
struct registry_snap *registry_acquire(struct registry *reg);
void registry_release(struct registry_snap *s);
/* Asks the loader thread for a reload and returns at once. */
void registry_reload(struct registry *reg);
/* Repository extension: (un)marks name as unloaded and waits (at most
 * timeout_s) for the reload that follows. -ETIMEDOUT, -ENOMEM. */
int registry_load_unload(struct registry *reg, const char *name, bool load,
                         unsigned timeout_s);
/* Stops the loader and frees the registry (accepts NULL). */
void registry_free(struct registry *reg);

/* API keys (auth.c). */
struct auth;
/* What an endpoint needs: nothing (health), a key from --api-key-file
 * (inference, metadata; an admin key does too), or an admin key. */
enum auth_need { AUTH_NEED_NONE, AUTH_NEED_KEY, AUTH_NEED_ADMIN };
enum auth_result {
        AUTH_OK,
        AUTH_MISSING,   /* 401: no bearer key sent */
        AUTH_WRONG,     /* 401: a key that is in neither file */
        AUTH_FORBIDDEN, /* 403: a valid key without the admin right */
};
/* Reads cfg's key files (cfg outlives the result). -EINVAL for a file
 * with no key or a malformed line, errors of reading; the reason (file
 * and line, never a key) into err. */
int auth_create(const struct config *cfg, struct auth **out, char *err, size_t errlen);
/* Re-reads the key files; on any error logs it and keeps the keys in
 * use. Safe while requests are checked. */
void auth_reload(struct auth *a);
/* Whether need is met by the Authorization header authorization (may be
 * NULL). Every stored key is compared, in constant time. */
enum auth_result auth_check(struct auth *a, enum auth_need need, const char *authorization);
/* The 401 or 403 answer (with WWW-Authenticate) for res != AUTH_OK. */
void auth_reply(const struct auth *a, enum auth_result res, struct reply *r);
/* Whether /metrics needs a key (--metrics-auth): AUTH_NEED_KEY then. */
bool auth_metrics_required(const struct auth *a);
/* Whether inference and metadata need a key (--api-key-file). */
bool auth_keys_required(const struct auth *a);
/* Accepts NULL. */
void auth_free(struct auth *a);

/* A bounded pool of compute threads (pool.c). */
struct pool;
/* A job: run(arg) on a pool thread. With a timeout, at its deadline
 * expire(arg, started) is called once from another thread, at once for a
 * job still queued (started false; run is never called) or while run is
 * still going (started true): it answers the client now and run's result
 * is to be dropped. done(arg) comes last, once run has returned and any
 * expire is over: the job's hold on arg ends. */
struct pool_job {
        void (*run)(void *arg);
        void (*expire)(void *arg, bool started);
        void (*done)(void *arg);
        void *arg;
        /* a small request (a few rows): as many threads again as the
         * workers take only these, and the workers leave them to them, so
         * that they never wait behind large batches nor for a CPU at the
         * workers' SCHED_IDLE */
        bool small;
};
/* threads workers, as many threads for small jobs, and room for max_queue
 * waiting jobs; a job is given up timeout_s seconds after it is submitted
 * (0: never); tiny requests run inline while they average under
 * inline_us microseconds (0: never). -ENOMEM, -EAGAIN. */
int pool_create(unsigned threads, size_t max_queue, unsigned timeout_s, unsigned inline_us,
                struct pool **out);
/* Runs fn(ctx, i) for every i in [0, n), on the calling thread (a pool job
 * with a large batch) and on the workers that are idle: a worker helps
 * only while no job it may take is queued, so other requests keep their
 * turn. Returns
 * once every call has returned. fn must be safe to call concurrently. */
void pool_share(struct pool *p, size_t n, void (*fn)(void *ctx, size_t i), void *ctx);
/* Whether pool_share from the calling thread would share: it is a
 * worker, and there is another. */
bool pool_can_share(const struct pool *p);
/* The number of workers (not counting the small-job threads). */
size_t pool_threads(const struct pool *p);
/* Reserves a place in the queue: -EAGAIN at once when it is full (or the
 * pool is stopping). Every 0 must be followed by one pool_submit. */
int pool_reserve(struct pool *p);
/* Queues *j (copied) into the place reserved. */
void pool_submit(struct pool *p, const struct pool_job *j);
/* For /metrics. */
struct pool_stats {
        size_t queued;   /* jobs waiting */
        size_t busy;     /* threads running one */
        size_t threads;
        size_t capacity; /* queue places */
        uint64_t inline_runs;  /* tiny requests run on the calling thread */
        double tiny_cost;      /* the tiny requests' recent average, seconds */
};
void pool_stats(struct pool *p, struct pool_stats *st);
/* Whether a tiny request (see pool.c: cheap ones run where they arrive)
 * is to run on the calling thread rather than be queued: true, and
 * counted, while the tiny requests measured lately (pool_tiny_cost) took
 * under the pool's inline bound. */
bool pool_take_inline(struct pool *p);
/* A tiny request took seconds, wherever it ran. */
void pool_tiny_cost(struct pool *p, double seconds);
/* Stops taking jobs, runs every queued one, joins the workers. */
void pool_drain(struct pool *p);
/* pool_drain, then frees. Accepts NULL. */
void pool_free(struct pool *p);

/* --- the JSON writer (json_out.c) --- */

/* A response body or log line under construction; grows as needed. After
 * a failed allocation failed is set, d keeps what was written and further
 * writes do nothing. d is NUL-terminated whenever it is not NULL. */
struct out_buf {
        char *d;
        size_t n, cap;
        bool failed;
};

/* Appends n bytes of s. Inline: an answer or a log line is dozens of
 * short pieces, and most fit in what the buffer has. */
void out_put_grow(struct out_buf *b, const char *s, size_t n);
static inline void out_put(struct out_buf *b, const char *s, size_t n)
{
        if (b->n + n < b->cap && !b->failed) {
                memcpy(b->d + b->n, s, n);
                b->n += n;
                b->d[b->n] = '\0';
                return;
        }
        out_put_grow(b, s, n);
}
void out_str(struct out_buf *b, const char *s);
/* Makes room for n more bytes in one allocation. */
void out_reserve(struct out_buf *b, size_t n);
/* Makes s valid UTF-8 in place, each bad byte becoming '?'. */
void out_utf8_clean(char *s);
/* Shortest %.Ng (N = 15..17) that reads back as exactly v, with ".0"
 * after a whole number. */
void out_double(struct out_buf *b, double v);
/* u in decimal. */
void out_uint(struct out_buf *b, unsigned long long u);
/* u in decimal into out (24 bytes), NUL-terminated; returns the length. */
size_t out_fmt_uint(unsigned long long u, char *out);
/* Exactly what snprintf(out, 32, "%.6g", ns / 1e9) writes, mostly without
 * printf; out holds 32 bytes. Returns the length. */
size_t out_fmt_seconds_g6(unsigned long long ns, char *out);
/* out_str of s as a JSON string (quoted and escaped). */
void out_json_string(struct out_buf *b, const char *s);

/* The result of a request, for http.c to send. body is malloc'd JSON. */
struct reply {
        unsigned retry_after; /* seconds for a Retry-After header; 0: none */
        const char *www_authenticate; /* a WWW-Authenticate header (static), or NULL */
        unsigned status;
        char *body;
        size_t len;
        const char *content_type; /* NULL: application/json */
        /* for the metrics and the access log (metrics.c) */
        struct metrics_model *model; /* the model version that answered, or NULL */
        size_t rows;                 /* rows it computed */
        unsigned long long compute_ns[2]; /* its math's start and end; 0: none */
};

/* Sets r to 200 with b's text as the body (500 if b failed); takes b. */
void reply_take(struct reply *r, struct out_buf *b);

/* "a number", "a string", "null", ... for messages. */
const char *json_type_name(const cJSON *v);

/* A model's refusal: 400 for input it refuses (naming the input column
 * when the model says which), 500 otherwise. */
void reply_model_error(const struct served_model *sm, int rc,
                       const struct model_error *me, struct reply *r);

/* Sets r to {"error": message} with the given status. */
void reply_error(struct reply *r, unsigned status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* 1 with *dup set to the key when some object in v (v itself or any
 * object nested in it) has a key twice, 0 when none has, -ENOMEM. *dup
 * points into v. */
int predict_json_duplicate_key(const cJSON *v, const char **dup);

/* Parses body as one JSON document: NULL with a 400 in r when it is not
 * valid JSON, or not an object. what names the expected object. */
cJSON *predict_parse_body(const char *body, size_t len, const char *what, struct reply *r);

/* Reads the JSON value v given for input column col into *x: a number,
 * null (a missing value, NaN) where the model takes NaN, and, in a
 * column the model reads as strings, a string. where and column name the
 * value in the 400 put into r on error ("row 2", "[3]" or "['age']"). */
/* Classifies rows through every class output of sm's model: idx[rows x
 * n_class_outputs] indexes label_json (offsets included) and, when proba
 * is not NULL, proba[rows x n_classes] holds each row's outputs'
 * probabilities one after another. */
int predict_classify(const struct served_model *sm, const double *X, size_t rows,
                     size_t *idx, double *proba, struct model_error *me);

/* One model call over rows [0, rows) of X (rows.c): ROWS_CLASSIFY as
 * predict_classify (idx, and proba in out when not NULL), the others as
 * model_predict_values, model_decision_function, model_score_samples and
 * model_transform into out. A batch of 1,024 rows or more is cut into
 * ranges that pool's idle workers compute too; the answers are the same
 * bytes as one call's, and so is an error. */
enum rows_op { ROWS_CLASSIFY, ROWS_VALUES, ROWS_DECISION, ROWS_SCORE, ROWS_TRANSFORM };
int rows_compute(struct pool *pool, const struct served_model *sm, enum rows_op op,
                 const double *X, size_t rows, size_t *idx, double *out,
                 struct model_error *me);

/* Where a request's cell is, for a message; its text is written only
 * when there is one to write, never per cell read. */
struct cell_at {
        const char *where; /* the row ("\"instances\"[3]"), or NULL: */
        const char *input; /* then V2's input 'NAME' */
        const char *name;  /* then ['NAME'] for a named column, */
        size_t i, j;       /* else [i] (n == 1) or [i][j] (n == 2) */
        int n;
};
/* The row and the column, as the messages write them, into out. */
void cell_at_text(const struct cell_at *at, char *out, size_t len);

/* Cell v of model column col into *x: a number, a string for a string
 * column (its code), or null where the model takes missing values. A
 * cell it refuses gets a 400 that names it by at. */
int predict_read_cell(const struct served_model *sm, size_t col, const cJSON *v,
                      double *x, const struct cell_at *at, struct reply *r);

/* The compute paths below take the pool their request runs on, to share
 * a large batch with its idle threads (rows.c); NULL computes on the
 * calling thread alone. */

/* Handles a POST /predict body. */
void predict_handle(struct pool *pool, const struct served_model *sm,
                    const struct config *cfg, const char *body, size_t len, struct reply *r);

/* Handles POST /v1/models/NAME:predict: {"instances": [...]} (or
 * "inputs") answered by {"predictions": [...]}. */
void predict_handle_v1(struct pool *pool, const struct served_model *sm,
                       const struct config *cfg, const char *body, size_t len,
                       struct reply *r);

/* The Open Inference Protocol (v2.c). */
void v2_server_metadata(struct reply *r);
/* Repository index: [{"name","version","state","reason"}, ...] of every
 * model version, only the ready ones when ready_only. */
void v2_index(const struct served_set *set, bool ready_only, struct reply *r);
/* Model metadata of entry e (loaded). */
void v2_model_metadata(const struct served_set *set, const struct served_entry *e,
                       const struct served_model *sm, struct reply *r);
/* POST .../infer for entry e (loaded). */
void v2_infer(struct pool *pool, const struct served_entry *e, const struct served_model *sm,
              const struct config *cfg, const char *body, size_t len, struct reply *r);

int served_model_create(struct model *model, struct serialize_info *info,
                        struct served_model **out);
void served_model_free(struct served_model *sm);

#endif
