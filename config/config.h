/* config.h - predictd's settings: defaults, then a JSON config file, then
 * PREDICTD_* environment variables, then command-line flags, merged once
 * at start-up into one struct that is read-only afterwards.
 *
 * The struct is plain data on purpose: it has no invariants beyond what
 * config_load checks, and every field is read by server/. */
#ifndef PREDICTD_CONFIG_H
#define PREDICTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum config_command {
        CONFIG_SERVE,   /* run the server */
        CONFIG_CHECK,   /* predictd check PATH */
        CONFIG_EVAL,    /* predictd eval PATH (rows on stdin) */
        CONFIG_HELP,    /* --help */
        CONFIG_VERSION, /* --version */
        CONFIG_PROBE,   /* predictd probe URL: one health check, as a client */
};

/* One --model: the name it is served under and its file. */
struct config_model {
        char *name; /* given as NAME=PATH, else the file's name without its
                     * extension, characters outside [A-Za-z0-9_.-] as '_' */
        char *path;
};

/* Most models one process serves (--model entries plus --model-dir). */
#define CONFIG_MAX_MODELS 1024
/* Longest model name. */
#define CONFIG_MAX_NAME 100

struct config {
        enum config_command command;
        char *model_path;       /* check and eval: the file; probe: the URL */
        struct config_model *models; /* serve: --model entries, in order */
        size_t n_models;
        char *model_dir;        /* serve: a Triton-style model repository, or a
                                 * directory holding one model file, or NULL */
        char *model_name;       /* the name of --model-dir's one model file, or NULL */
        char *default_model;    /* the model /predict answers with, or NULL */
        char *host;             /* address to bind */
        unsigned port;          /* 0 lets the kernel choose */
        unsigned threads;       /* worker threads */
        size_t max_body_bytes;  /* larger request bodies get 413 */
        size_t max_batch_rows;  /* more rows in one request get 413 */
        size_t max_model_bytes; /* model files larger than this are refused */
        unsigned timeout_s;     /* idle connection timeout */
        bool reuse_port;        /* share the port with other processes (SO_REUSEPORT) */
        unsigned drain_grace_s; /* SIGTERM: seconds serving with readiness 503 */
        unsigned drain_timeout_s; /* SIGTERM: most seconds from the signal to exit */
        unsigned max_connections; /* open connections at most; more are refused */
        unsigned max_conn_per_client; /* per client address; 0: no limit */
        unsigned poll_interval_s; /* reload the models every S seconds; 0: never */
        char threads_how[160];  /* where the thread count came from, for the log */
};

struct config_error {
        char message[512];
};

/* Parses argv (and the environment, and --config FILE). On success *out is
 * a new config the caller frees with config_free(). Returns -EINVAL with a
 * message naming the flag, variable or key and what was wrong, or -ENOMEM. */
int config_load(int argc, char **argv, struct config **out,
                struct config_error *err);

/* True when s is a valid model name: 1..CONFIG_MAX_NAME characters of
 * [A-Za-z0-9_.-], not starting with '.'. */
bool config_name_valid(const char *s);

/* Accepts NULL. */
void config_free(struct config *cfg);

/* The CPUs this process may use: the affinity mask, capped by the cgroup
 * CPU quota (v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us) under
 * root (normally "/sys/fs/cgroup"; a test points it elsewhere). Writes a
 * phrase saying which limit decided into how ("2 CPUs: cgroup cpu.max
 * 200000/100000"). Never fails: 1 at least. */
unsigned config_cpu_count(const char *root, char *how, size_t howlen);

/* The --help text. */
const char *config_usage(void);

#endif
