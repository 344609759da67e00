/* bench.c - `predictd bench PATH --input X.npy [--batch N] [--threads T]
 * [--repeat K]`: times the model core on the user's own rows, as the
 * server would run them (predict and, when the model has it,
 * predict_proba; predict for regressors), and prints one JSON object.
 *
 * It exists so that users (and bench/core.py) can measure a model on
 * their data without HTTP in the way. A batch is split into --threads
 * contiguous row ranges, one thread each; the answers do not depend on the
 * split because every row is computed on its own. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "model.h"
#include "serialize.h"
#include "server.h"

#define BENCH_MAX_INPUT_BYTES ((size_t)2 << 30)
#define BENCH_MAX_THREADS 256
#define BENCH_MAX_REPEAT 100000
#define BENCH_MAX_BATCH 10000000

struct bench_job {
        const struct model *m;
        const double *X;
        size_t rows, nf, nc, no;
        size_t *idx;
        double *out; /* proba, values, or NULL */
        int rc;
        bool started; /* on its own thread, to be joined */
        struct model_error err;
};

static double now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int run_job(struct bench_job *j)
{
        switch (model_get_type(j->m)) {
        case MODEL_TYPE_REGRESSOR:
                return model_predict_values(j->m, j->X, j->rows, j->out, &j->err);
        case MODEL_TYPE_MULTI_CLASSIFIER:
                for (size_t k = 0; k < model_n_class_outputs(j->m); k++) {
                        int rc = model_predict_output(j->m, k, j->X, j->rows, j->idx, NULL,
                                                      &j->err);
                        if (rc < 0)
                                return rc;
                }
                return 0;
        default:
                return model_predict(j->m, j->X, j->rows, j->idx, j->out, &j->err);
        }
}

static void *job_thread(void *arg)
{
        struct bench_job *j = arg;
        j->rc = run_job(j);
        return NULL;
}

/* Rows [0, rows) of X on nt threads (the calling thread takes the first
 * range). Returns the first error. */
static int run_batch(struct bench_job *jobs, size_t nt, const struct bench_job *tmpl,
                     size_t rows, size_t *idx, double *out, size_t width, pthread_t *tids)
{
        size_t per = rows / nt, extra = rows % nt, start = 0, used = 0;
        for (size_t t = 0; t < nt; t++) {
                size_t n = per + (t < extra);
                if (!n)
                        continue;
                jobs[used] = *tmpl;
                jobs[used].X = tmpl->X + start * tmpl->nf;
                jobs[used].rows = n;
                jobs[used].idx = idx + start;
                jobs[used].out = out ? out + start * width : NULL;
                start += n;
                used++;
        }
        for (size_t t = 1; t < used; t++)
                jobs[t].started = pthread_create(&tids[t], NULL, job_thread, &jobs[t]) == 0;
        jobs[0].rc = run_job(&jobs[0]);
        for (size_t t = 1; t < used; t++) {
                if (jobs[t].started)
                        pthread_join(tids[t], NULL);
                else
                        jobs[t].rc = run_job(&jobs[t]); /* no thread: run it here */
        }
        for (size_t t = 0; t < used; t++)
                if (jobs[t].rc < 0) {
                        jobs[0].err = jobs[t].err;
                        return jobs[t].rc;
                }
        return 0;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static int parse_count(const char *flag, const char *s, size_t max, size_t *out)
{
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v == 0 || v > max) {
                fprintf(stderr, "predictd bench: %s expects a whole number from 1 to %zu, "
                        "got '%s'\n", flag, max, s);
                return -EINVAL;
        }
        *out = (size_t)v;
        return 0;
}

static const char bench_usage[] =
        "usage: predictd bench PATH --input X.npy [--batch N] [--threads T] [--repeat K]\n";

int server_bench(int argc, char **argv)
{
        const char *path = NULL, *input = NULL;
        size_t batch = 0, nt = 1, repeat = 10;
        for (int i = 2; i < argc; i++) {
                const char *a = argv[i];
                bool has_val = i + 1 < argc;
                if (strcmp(a, "--input") == 0 && has_val) {
                        input = argv[++i];
                } else if (strcmp(a, "--batch") == 0 && has_val) {
                        if (parse_count(a, argv[++i], BENCH_MAX_BATCH, &batch) < 0)
                                return 2;
                } else if (strcmp(a, "--threads") == 0 && has_val) {
                        if (parse_count(a, argv[++i], BENCH_MAX_THREADS, &nt) < 0)
                                return 2;
                } else if (strcmp(a, "--repeat") == 0 && has_val) {
                        if (parse_count(a, argv[++i], BENCH_MAX_REPEAT, &repeat) < 0)
                                return 2;
                } else if (a[0] != '-' && !path) {
                        path = a;
                } else {
                        fprintf(stderr, "predictd bench: unexpected argument '%s'\n%s", a,
                                bench_usage);
                        return 2;
                }
        }
        if (!path || !input) {
                fprintf(stderr, "predictd bench: expected a model PATH and --input X.npy\n%s",
                        bench_usage);
                return 2;
        }

        int status = 1;
        struct model *m = NULL;
        struct serialize_info *info = NULL;
        double *X = NULL, *out = NULL, *times = NULL;
        size_t *idx = NULL;
        struct bench_job *jobs = NULL;
        pthread_t *tids = NULL;
        struct serialize_error serr;
        size_t rows, cols;
        if (serialize_npy_read_f64(input, BENCH_MAX_INPUT_BYTES, &X, &rows, &cols, &serr) < 0) {
                fprintf(stderr, "predictd bench: %s\n", serr.message);
                return 1;
        }
        struct serialize_limits lim;
        serialize_limits_default(&lim);
        double t0 = now_us();
        if (serialize_load_file(path, &lim, &m, &info, &serr) < 0) {
                fprintf(stderr, "predictd bench: cannot load %s: %s\n", path, serr.message);
                goto done;
        }
        double load_us = now_us() - t0;
        enum model_type type = model_get_type(m);
        if (type == MODEL_TYPE_TRANSFORMER) {
                fprintf(stderr, "predictd bench: %s has no predict (it only transforms)\n", path);
                goto done;
        }
        if (cols != model_n_features(m)) {
                fprintf(stderr, "predictd bench: the model expects %zu features per row, %s has "
                        "%zu columns\n", model_n_features(m), input, cols);
                goto done;
        }
        if (!batch || batch > rows)
                batch = rows;
        size_t width = type == MODEL_TYPE_REGRESSOR ? model_n_outputs(m)
                       : type == MODEL_TYPE_CLASSIFIER && model_has_proba(m) ? model_n_classes(m)
                                                                            : 0;
        idx = calloc(batch, sizeof(*idx));
        out = width ? calloc(batch * width, sizeof(*out)) : NULL;
        times = calloc(repeat, sizeof(*times));
        jobs = calloc(nt, sizeof(*jobs));
        tids = calloc(nt, sizeof(*tids));
        if (!idx || (width && !out) || !times || !jobs || !tids) {
                fprintf(stderr, "predictd bench: out of memory\n");
                goto done;
        }
        struct bench_job tmpl = { .m = m, .nf = cols };
        for (size_t r = 0; r < repeat; r++) {
                double s = now_us();
                for (size_t i = 0; i < rows; i += batch) {
                        size_t n = rows - i < batch ? rows - i : batch;
                        tmpl.X = X + i * cols;
                        if (run_batch(jobs, nt, &tmpl, n, idx, out, width, tids) < 0) {
                                fprintf(stderr, "predictd bench: rows %zu-%zu: %s\n", i,
                                        i + n - 1, jobs[0].err.message);
                                goto done;
                        }
                }
                times[r] = (now_us() - s) / (double)rows;
        }
        qsort(times, repeat, sizeof(*times), cmp_double);
        double median = repeat % 2 ? times[repeat / 2]
                                   : (times[repeat / 2 - 1] + times[repeat / 2]) / 2;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("{\"sha256\": \"%s\", \"rows\": %zu, \"features\": %zu, \"batch\": %zu, "
               "\"threads\": %zu, \"repeat\": %zu, \"best_us_per_row\": %.4f, "
               "\"median_us_per_row\": %.4f, \"load_ms\": %.3f, \"peak_rss_kb\": %ld}\n",
               info->sha256, rows, cols, batch, nt, repeat, times[0], median, load_us / 1e3,
               ru.ru_maxrss);
        status = 0;
done:
        free(tids);
        free(jobs);
        free(times);
        free(out);
        free(idx);
        free(X);
        model_free(m);
        serialize_info_free(info);
        return status;
}
