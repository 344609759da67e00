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
#include <stdio.h>

enum config_command {
        CONFIG_SERVE,   /* run the server */
        CONFIG_CHECK,   /* predictd check PATH */
        CONFIG_EVAL,    /* predictd eval PATH (rows on stdin) */
        CONFIG_SIGN,    /* predictd sign --key PRIVATE.pem PATH */
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

/* One --model-sha256: the model name and the digest its file must have
 * (lower-case hex). A name may be pinned to several digests (versions). */
struct config_pin {
        char *name;
        char sha256[65];
};

/* Most --model-sha256 pins and --verify-key keys. */
#define CONFIG_MAX_PINS 1024
#define CONFIG_MAX_VERIFY_KEYS 64

/* Most models one process serves (--model entries plus --model-dir). */
#define CONFIG_MAX_MODELS 1024
/* Longest model name. */
#define CONFIG_MAX_NAME 100

struct config {
        enum config_command command;
        char *model_path;       /* check, eval and sign: the file; probe: the URL */
        char *sign_key;         /* sign: the private key (PEM) */
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
        char *api_key_file;     /* inference and metadata need a key from it, or NULL */
        char *admin_key_file;   /* repository endpoints need a key from it, or NULL */
        bool metrics_auth;      /* /metrics needs a key too */
        struct config_pin *pins; /* --model-sha256, in order */
        size_t n_pins;
        char **verify_keys;     /* --verify-key public keys (PEM); serve and check */
        size_t n_verify_keys;
        /* most seconds from a request line to the end of its body, however
         * the bytes trickle in (the idle --timeout is reset by each one) */
        unsigned receive_timeout_s;
        /* most seconds a compute request waits for and runs on the pool;
         * 0: no limit */
        unsigned request_timeout_s;
        /* tiny requests run on the HTTP thread while they take under this
         * many microseconds on average; 0: never */
        unsigned inline_compute_us;
        char threads_how[160];  /* where the thread count came from, for the log */
        enum config_log_format { CONFIG_LOG_JSON, CONFIG_LOG_TEXT } log_format;
        /* messages below this level are not written (access lines always are) */
        enum config_log_level {
                CONFIG_LOG_DEBUG, CONFIG_LOG_INFO, CONFIG_LOG_WARN, CONFIG_LOG_ERROR
        } log_level;
        char *access_log;       /* the access log's file, or NULL for stderr */
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

/* Writes the --help text to out. */
void config_usage_write(FILE *out);

#endif
