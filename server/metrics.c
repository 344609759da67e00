/* metrics.c - GET /metrics: the counters of every request, model load
 * and reload, the compute pool's gauges, one info series per loaded model
 * version, process and build information, in the Prometheus text format
 * (version 0.0.4).
 *
 * The request path only adds to atomics (relaxed: each counter is read on
 * its own) in a slot made for its model version when the registry built
 * that version's entry, so counting allocates nothing and takes no lock.
 * Slots are never freed, so a counter never goes back, even across a
 * reload. Label values taken from a request are bounded: a request that
 * names no served model counts under model="" version="" and never makes
 * a series of its own.
 *
 * The slot table is the one process-wide mutable state here besides the
 * start time: like the process metrics it reports, it belongs to the
 * process, not to a server object (CONVENTIONS rule 12 bent on purpose). */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "config.h"
#include "model.h"
#include "obs_internal.h"
#include "predictd_version.h"
#include "serialize.h"
#include "server.h"
#include "server_internal.h"

/* The status codes predictd answers with; any other counts as "other". */
static const unsigned codes[] = { 200, 400, 401, 403, 404, 405, 408, 413, 429, 500, 503 };
#define N_CODES (sizeof(codes) / sizeof(codes[0]) + 1)

static const char *const protocol_names[METRICS_N_PROTOCOLS] = { "seed", "v1", "v2" };

/* Histogram upper bounds, seconds: from 100 us to 10 s. */
static const double bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define N_BOUNDS (sizeof(bounds) / sizeof(bounds[0]))

enum phase { PH_RECEIVE, PH_QUEUE, PH_COMPUTE, PH_WRITE, N_PHASES };
static const char *const phase_names[N_PHASES] = { "receive", "queue", "compute", "write" };

/* Per-bucket (not cumulative) counts, the last one past every bound. */
struct hist {
        atomic_ullong n[N_BOUNDS + 1];
        atomic_ullong sum_ns;
};

struct metrics_model {
        char name[CONFIG_MAX_NAME + 1];
        char version[24];
        atomic_ullong requests[METRICS_N_PROTOCOLS][N_CODES];
        atomic_ullong rows;
        struct hist duration[METRICS_N_PROTOCOLS];
        struct hist phase[N_PHASES];
        atomic_ullong loads[3]; /* enum metrics_load; version "" slots only */
};

/* Model versions (and names) with counters; more share model="". */
#define MAX_SLOTS 4096

static struct {
        pthread_mutex_t lock; /* guards making slots */
        struct metrics_model *slot[MAX_SLOTS];
        atomic_size_t n;      /* slots published (release) */
        double start_time;    /* Unix seconds */
} M = { .lock = PTHREAD_MUTEX_INITIALIZER };

unsigned long long metrics_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static double wall_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *metrics_model_name(const struct metrics_model *m)
{
        return m->name;
}

const char *metrics_model_version(const struct metrics_model *m)
{
        return m->version;
}

const char *metrics_protocol_name(unsigned protocol)
{
        return protocol_names[protocol < METRICS_N_PROTOCOLS ? protocol : METRICS_SEED];
}

void metrics_init(void)
{
        M.start_time = wall_now();
}

struct metrics_model *metrics_model_get(const char *name, const char *version)
{
        if (strlen(name) > CONFIG_MAX_NAME || strlen(version) >= sizeof(M.slot[0]->version))
                return NULL;
        pthread_mutex_lock(&M.lock);
        size_t n = atomic_load_explicit(&M.n, memory_order_relaxed);
        struct metrics_model *m = NULL;
        if (n == 0 && (M.slot[0] = calloc(1, sizeof(*M.slot[0]))))
                atomic_store_explicit(&M.n, n = 1, memory_order_release); /* model="" */
        for (size_t i = 0; i < n && !m; i++)
                if (strcmp(M.slot[i]->name, name) == 0 && strcmp(M.slot[i]->version, version) == 0)
                        m = M.slot[i];
        if (!m && n < MAX_SLOTS && (m = calloc(1, sizeof(*m)))) {
                snprintf(m->name, sizeof(m->name), "%s", name);
                snprintf(m->version, sizeof(m->version), "%s", version);
                M.slot[n] = m;
                atomic_store_explicit(&M.n, n + 1, memory_order_release);
        }
        pthread_mutex_unlock(&M.lock);
        return m;
}

void metrics_count_load(const char *name, enum metrics_load what)
{
        struct metrics_model *m = metrics_model_get(name, "");
        if (m)
                atomic_fetch_add_explicit(&m->loads[what], 1, memory_order_relaxed);
}

void metrics_mark_compute(struct reply *r, size_t rows)
{
        r->rows = rows;
        r->compute_ns[0] = metrics_now_ns();
}

void metrics_mark_computed(struct reply *r)
{
        r->compute_ns[1] = metrics_now_ns();
}

static void hist_add(struct hist *h, unsigned long long ns)
{
        size_t i = 0;
        double s = (double)ns / 1e9;
        while (i < N_BOUNDS && s > bounds[i])
                i++;
        atomic_fetch_add_explicit(&h->n[i], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void metrics_observe(const struct log_request *o)
{
        if (o->status == 0)
                return; /* no answer was sent: nothing to count by code */
        struct metrics_model *m = o->model ? o->model : M.slot[0];
        if (!m)
                return;
        size_t c = 0;
        while (c < N_CODES - 1 && codes[c] != o->status)
                c++;
        unsigned p = o->protocol < METRICS_N_PROTOCOLS ? o->protocol : METRICS_SEED;
        atomic_fetch_add_explicit(&m->requests[p][c], 1, memory_order_relaxed);
        if (o->status == 200 && o->rows)
                atomic_fetch_add_explicit(&m->rows, o->rows, memory_order_relaxed);
        hist_add(&m->duration[p], o->total_ns);
        hist_add(&m->phase[PH_RECEIVE], o->receive_ns);
        hist_add(&m->phase[PH_QUEUE], o->queue_ns);
        hist_add(&m->phase[PH_COMPUTE], o->compute_dur_ns);
        hist_add(&m->phase[PH_WRITE], o->write_ns);
}

/* ---- the exposition ---- */

static void out_fmt(struct out_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_fmt(struct out_buf *b, const char *fmt, ...)
{
        char buf[512];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n > 0)
                out_put(b, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void family(struct out_buf *b, const char *name, const char *type, const char *help)
{
        out_fmt(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the text format wants (\\, \", \n). */
static void label_value(struct out_buf *b, const char *s)
{
        out_str(b, "\"");
        for (; *s; s++) {
                if (*s == '\\')
                        out_str(b, "\\\\");
                else if (*s == '"')
                        out_str(b, "\\\"");
                else if (*s == '\n')
                        out_str(b, "\\n");
                else
                        out_put(b, s, 1);
        }
        out_str(b, "\"");
}

static void model_labels(struct out_buf *b, const struct metrics_model *m)
{
        out_str(b, "model=");
        label_value(b, m->name);
        out_str(b, ",version=");
        label_value(b, m->version);
}

/* A number as Prometheus reads it (%.17g reads back exactly). */
static void value(struct out_buf *b, double v)
{
        if (isinf(v))
                out_str(b, v > 0 ? " +Inf\n" : " -Inf\n");
        else
                out_fmt(b, " %.17g\n", v);
}

static void hist_series(struct out_buf *b, const char *name, const struct metrics_model *m,
                        const char *label, const char *label_val, const struct hist *h)
{
        unsigned long long n[N_BOUNDS + 1], total = 0;
        for (size_t i = 0; i <= N_BOUNDS; i++)
                total += n[i] = atomic_load_explicit(&h->n[i], memory_order_relaxed);
        if (!total)
                return;
        unsigned long long sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
        unsigned long long cum = 0;
        for (size_t i = 0; i <= N_BOUNDS; i++) {
                cum += n[i];
                out_fmt(b, "%s_bucket{", name);
                model_labels(b, m);
                out_fmt(b, ",%s=\"%s\",le=", label, label_val);
                if (i < N_BOUNDS)
                        out_fmt(b, "\"%g\"} %llu\n", bounds[i], cum);
                else
                        out_fmt(b, "\"+Inf\"} %llu\n", cum);
        }
        out_fmt(b, "%s_sum{", name);
        model_labels(b, m);
        out_fmt(b, ",%s=\"%s\"}", label, label_val);
        value(b, (double)sum_ns / 1e9);
        out_fmt(b, "%s_count{", name);
        model_labels(b, m);
        out_fmt(b, ",%s=\"%s\"} %llu\n", label, label_val, cum);
}

static void render_requests(struct out_buf *b, struct metrics_model *const *slot, size_t n)
{
        family(b, "predictd_requests_total", "counter",
               "Requests answered, by model version (\"\" when none was named or found), "
               "protocol and status code.");
        for (size_t i = 0; i < n; i++) {
                for (size_t p = 0; p < METRICS_N_PROTOCOLS; p++) {
                        for (size_t c = 0; c < N_CODES; c++) {
                                unsigned long long v = atomic_load_explicit(
                                        &slot[i]->requests[p][c], memory_order_relaxed);
                                if (!v)
                                        continue;
                                out_str(b, "predictd_requests_total{");
                                model_labels(b, slot[i]);
                                out_fmt(b, ",protocol=\"%s\",code=", protocol_names[p]);
                                if (c < N_CODES - 1)
                                        out_fmt(b, "\"%u\"} %llu\n", codes[c], v);
                                else
                                        out_fmt(b, "\"other\"} %llu\n", v);
                        }
                }
        }
        family(b, "predictd_predicted_rows_total", "counter",
               "Rows answered with a prediction or transform (200 answers), by model version.");
        for (size_t i = 0; i < n; i++) {
                unsigned long long v = atomic_load_explicit(&slot[i]->rows, memory_order_relaxed);
                if (!slot[i]->name[0] || !slot[i]->version[0])
                        continue;
                out_str(b, "predictd_predicted_rows_total{");
                model_labels(b, slot[i]);
                out_fmt(b, "} %llu\n", v);
        }
        family(b, "predictd_request_duration_seconds", "histogram",
               "Time from a request's headers to the end of its answer, by model version and "
               "protocol.");
        for (size_t i = 0; i < n; i++)
                for (size_t p = 0; p < METRICS_N_PROTOCOLS; p++)
                        hist_series(b, "predictd_request_duration_seconds", slot[i], "protocol",
                                    protocol_names[p], &slot[i]->duration[p]);
        family(b, "predictd_request_phase_duration_seconds", "histogram",
               "A request's time by phase: receive (reading and parsing the body), queue "
               "(waiting for a compute thread), compute (the model's math), write "
               "(rendering and sending the answer).");
        for (size_t i = 0; i < n; i++)
                for (size_t ph = 0; ph < N_PHASES; ph++)
                        hist_series(b, "predictd_request_phase_duration_seconds", slot[i],
                                    "phase", phase_names[ph], &slot[i]->phase[ph]);
}

static void render_loads(struct out_buf *b, struct metrics_model *const *slot, size_t n)
{
        static const struct {
                const char *name, *help;
        } fam[3] = {
                { "predictd_model_loads_total",
                  "Model files loaded (at start-up, and new or changed files on reload), by "
                  "model." },
                { "predictd_model_reloads_total",
                  "Reloads that replaced a version being served with a changed file, by model." },
                { "predictd_model_load_failures_total",
                  "Model files that failed to load, by model." },
        };
        for (size_t k = 0; k < 3; k++) {
                family(b, fam[k].name, "counter", fam[k].help);
                for (size_t i = 0; i < n; i++) {
                        if (!slot[i]->name[0] || slot[i]->version[0])
                                continue;
                        out_fmt(b, "%s{model=", fam[k].name);
                        label_value(b, slot[i]->name);
                        out_fmt(b, "} %llu\n", atomic_load_explicit(&slot[i]->loads[k],
                                                                    memory_order_relaxed));
                }
        }
}

/* The estimator's class: the leading name of its description. */
static void estimator_name(const struct model *m, char *out, size_t len)
{
        char desc[2048];
        model_describe(m, desc, sizeof(desc));
        size_t n = strspn(desc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
        snprintf(out, len, "%.*s", (int)n, desc);
}

/* "metric{model=...,version=..." of entry e: the caller ends the labels. */
static void entry_series(struct out_buf *b, const char *metric, const struct served_entry *e)
{
        out_str(b, metric);
        out_str(b, "{model=");
        label_value(b, e->spec->name);
        out_str(b, ",version=");
        label_value(b, e->spec->version);
}

static void render_models(struct out_buf *b, const struct served_set *set)
{
        family(b, "predictd_model_info", "gauge",
               "1 for each model version being served: its estimator, the scikit-learn "
               "version recorded in its file, the file's SHA-256 and container.");
        for (size_t i = 0; i < set->n; i++) {
                const struct served_model *sm = atomic_load_explicit(&set->e[i].sm,
                                                                      memory_order_acquire);
                if (!sm)
                        continue;
                char est[128];
                estimator_name(sm->model, est, sizeof(est));
                entry_series(b, "predictd_model_info", &set->e[i]);
                out_str(b, ",estimator=");
                label_value(b, est);
                out_str(b, ",sklearn_version=");
                label_value(b, sm->info->sklearn_version);
                out_str(b, ",sha256=");
                label_value(b, sm->info->sha256);
                out_str(b, ",container=");
                label_value(b, sm->info->container);
                out_str(b, "} 1\n");
        }
        family(b, "predictd_model_load_timestamp_seconds", "gauge",
               "When the file of each model version being served was loaded (Unix time).");
        for (size_t i = 0; i < set->n; i++) {
                const struct served_model *sm = atomic_load_explicit(&set->e[i].sm,
                                                                      memory_order_acquire);
                if (!sm)
                        continue;
                entry_series(b, "predictd_model_load_timestamp_seconds", &set->e[i]);
                out_str(b, "}");
                value(b, sm->loaded_at);
        }
        family(b, "predictd_model_ready", "gauge",
               "1 when a model version answers, 0 while it loads or after its load failed.");
        for (size_t i = 0; i < set->n; i++) {
                entry_series(b, "predictd_model_ready", &set->e[i]);
                out_fmt(b, "} %d\n",
                        atomic_load_explicit(&set->e[i].sm, memory_order_acquire) ? 1 : 0);
        }
}

/* Open descriptors: the entries of /proc/self/fd but the one reading it. */
static long open_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return -1;
        long n = 0;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1;
}

/* Resident and virtual bytes from /proc/self/statm (in pages). */
static int memory_bytes(double *rss, double *vsz)
{
        FILE *f = fopen("/proc/self/statm", "re");
        unsigned long long size, res;
        int ok = f && fscanf(f, "%llu %llu", &size, &res) == 2;
        if (f)
                fclose(f);
        if (!ok)
                return -1;
        double page = (double)sysconf(_SC_PAGESIZE);
        *rss = (double)res * page;
        *vsz = (double)size * page;
        return 0;
}

static void render_process(struct out_buf *b, const struct metrics_gauges *g)
{
        family(b, "predictd_requests_in_flight", "gauge",
               "Requests whose headers have arrived and whose answer is not yet sent.");
        out_fmt(b, "predictd_requests_in_flight %zu\n", g->in_flight);
        family(b, "predictd_compute_queue_length", "gauge",
               "Compute requests waiting for a compute thread.");
        out_fmt(b, "predictd_compute_queue_length %zu\n", g->pool.queued);
        family(b, "predictd_compute_queue_capacity", "gauge",
               "Compute requests that may wait; more are answered 503 at once.");
        out_fmt(b, "predictd_compute_queue_capacity %zu\n", g->pool.capacity);
        family(b, "predictd_compute_threads_busy", "gauge",
               "Compute threads running a request.");
        out_fmt(b, "predictd_compute_threads_busy %zu\n", g->pool.busy);
        family(b, "predictd_compute_threads", "gauge",
               "Compute threads: the --threads workers and as many for small requests.");
        out_fmt(b, "predictd_compute_threads %zu\n", g->pool.threads);
        family(b, "predictd_compute_inline_total", "counter",
               "Tiny requests (bodies up to 4 KiB) computed on the HTTP thread that received "
               "them, as they were cheap enough not to be queued.");
        out_fmt(b, "predictd_compute_inline_total %" PRIu64 "\n", g->pool.inline_runs);
        family(b, "predictd_compute_tiny_request_seconds", "gauge",
               "Recent average compute time of tiny requests; under --inline-compute-us they "
               "run on the HTTP thread, above it on the compute threads.");
        out_fmt(b, "predictd_compute_tiny_request_seconds %.9g\n", g->pool.tiny_cost);

        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0) {
                family(b, "process_cpu_seconds_total", "counter",
                       "Total user and system CPU time spent in seconds.");
                out_str(b, "process_cpu_seconds_total");
                value(b, (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
        }
        double rss, vsz;
        if (memory_bytes(&rss, &vsz) == 0) {
                family(b, "process_resident_memory_bytes", "gauge",
                       "Resident memory size in bytes.");
                out_str(b, "process_resident_memory_bytes");
                value(b, rss);
                family(b, "process_virtual_memory_bytes", "gauge",
                       "Virtual memory size in bytes.");
                out_str(b, "process_virtual_memory_bytes");
                value(b, vsz);
        }
        long fds = open_fds();
        if (fds >= 0) {
                family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
                out_fmt(b, "process_open_fds %ld\n", fds);
        }
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                family(b, "process_max_fds", "gauge",
                       "Maximum number of open file descriptors.");
                out_str(b, "process_max_fds");
                value(b, rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
        }
        family(b, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.");
        out_str(b, "process_start_time_seconds");
        value(b, M.start_time);
        family(b, "predictd_build_info", "gauge",
               "1, labelled with predictd's version and the libraries it runs on.");
        out_fmt(b, "predictd_build_info{version=\"%s\",libmicrohttpd=\"%s\",cjson=\"%s\"} 1\n",
                PREDICTD_VERSION, MHD_get_version(), cJSON_Version());
}

void metrics_render(struct out_buf *b, const struct served_set *set,
                    const struct metrics_gauges *g)
{
        size_t n = atomic_load_explicit(&M.n, memory_order_acquire);
        struct metrics_model *const *slot = M.slot;
        render_requests(b, slot, n);
        render_loads(b, slot, n);
        render_models(b, set);
        render_process(b, g);
}
