/* config.c - merges defaults, config file (JSON, via jansson), environment
 * and flags into one struct config. Every number is parsed with strtoull
 * and range-checked; an unknown flag, key or malformed value is an error
 * that names it, so a typo never silently falls back to a default. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

extern char **environ;

#include "config.h"

static const char usage[] =
        "Usage: predictd --model [NAME=]PATH [--model ...] [--model-dir DIR] [options]\n"
        "       predictd check [--verify-key PUBLIC.pem]... PATH\n"
        "       predictd sign --key PRIVATE.pem PATH   (writes PATH.sig)\n"
        "       predictd eval PATH < rows.json   (every method, as JSON; for testing)\n"
        "       predictd bench PATH --input X.npy [--batch N] [--threads T] [--repeat K]\n"
        "       predictd probe URL     (GET http://IP:PORT/PATH, or /PATH on 127.0.0.1 and\n"
        "                              the port below; exit 0 on a 2xx answer)\n"
        "       predictd --help | --version\n"
        "\n"
        "Serves pickled or joblib-saved scikit-learn models over HTTP without\n"
        "executing anything in the files.\n"
        "\n"
        "Options (environment variable in brackets):\n"
        "  --model [NAME=]PATH    a model file, served as NAME (default: the file's name\n"
        "                         without its extension); may be repeated\n"
        "                         [PREDICTD_MODEL, entries separated by commas]\n"
        "  --model-dir DIR        serve every DIR/NAME/VERSION/model.{pkl,joblib}, or\n"
        "                         DIR's one *.pkl, *.joblib or *.pickle file [PREDICTD_MODEL_DIR]\n"
        "  --model-name NAME      the name of --model-dir's one model file (default\n"
        "                         'model') [PREDICTD_MODEL_NAME]\n"
        "  --default-model NAME   the model POST /predict answers with (default: the\n"
        "                         only one) [PREDICTD_DEFAULT_MODEL]\n"
        "  --host ADDR            address to listen on (default 0.0.0.0) [PREDICTD_HOST]\n"
        "  --port N               port, 0 picks a free one (default 8080) [PREDICTD_PORT]\n"
        "  --threads N            worker threads (default: number of CPUs) [PREDICTD_THREADS]\n"
        "  --max-body-bytes N     largest request body (default 1048576) [PREDICTD_MAX_BODY_BYTES]\n"
        "  --max-batch-rows N     most rows in one request (default 10000) [PREDICTD_MAX_BATCH_ROWS]\n"
        "  --max-model-bytes N    largest model file (default 1073741824) [PREDICTD_MAX_MODEL_BYTES]\n"
        "  --timeout N            idle connection timeout in seconds (default 30) [PREDICTD_TIMEOUT]\n"
        "  --drain-grace S        on SIGTERM, seconds to keep serving with readiness 503\n"
        "                         before closing the listener (default 5) [PREDICTD_DRAIN_GRACE]\n"
        "  --drain-timeout S      on SIGTERM, most seconds until exit; requests still\n"
        "                         running then are cut off (default 30) [PREDICTD_DRAIN_TIMEOUT]\n"
        "  --max-connections N    open connections at most (default 4096)\n"
        "                         [PREDICTD_MAX_CONNECTIONS]\n"
        "  --max-connections-per-client N  per client address, 0 for no limit (default 0)\n"
        "                         [PREDICTD_MAX_CONNECTIONS_PER_CLIENT]\n"
        "  --poll-interval S      re-read every model source every S seconds, as SIGHUP\n"
        "                         does; 0 for never (default 0) [PREDICTD_POLL_INTERVAL]\n"
        "  --receive-timeout S    most seconds to receive a whole request, headers and\n"
        "                         body, from its request line; bytes trickled in do not\n"
        "                         extend it (default 30) [PREDICTD_RECEIVE_TIMEOUT]\n"
        "  --request-timeout S    most seconds a request may wait for and run on a compute\n"
        "                         thread: 503 if it had not started, 504 if it had; 0 for\n"
        "                         no limit (default 60) [PREDICTD_REQUEST_TIMEOUT]\n"
        "  --inline-compute-us U  a request body of up to 4 KiB is computed on the HTTP\n"
        "                         thread while such requests lately took under U us\n"
        "                         each, else queued; 0: always queued (default 50)\n"
        "                         [PREDICTD_INLINE_COMPUTE_US]\n"
        "  --log-format F         json (default) or text, for every log line\n"
        "                         [PREDICTD_LOG_FORMAT]\n"
        "  --log-level L          debug, info (default), warn or error: the least level\n"
        "                         of message written; access lines are always written\n"
        "                         [PREDICTD_LOG_LEVEL]\n"
        "  --access-log FILE      one line per request into FILE (reopened on SIGUSR1);\n"
        "                         - for stderr (default: stderr) [PREDICTD_ACCESS_LOG]\n"
        "  --reuse-port           share the port with other processes (SO_REUSEPORT);\n"
        "                         without it a port in use is an error [PREDICTD_REUSE_PORT=1]\n"
        ;

/* Over 4095 characters in one literal is not portable C: the rest. */
static const char usage_trust[] =
        "  --api-key-file FILE    inference and metadata need Authorization: Bearer KEY\n"
        "                         with a key of FILE (one a line; re-read on reload)\n"
        "                         [PREDICTD_API_KEY_FILE]\n"
        "  --admin-key-file FILE  the repository endpoints (index, load, unload) need a\n"
        "                         key of FILE [PREDICTD_ADMIN_KEY_FILE]\n"
        "  --metrics-auth         /metrics needs a key too [PREDICTD_METRICS_AUTH=1]\n"
        "  --model-sha256 NAME=HEX  serve model NAME only from a file with this SHA-256;\n"
        "                         may be repeated [PREDICTD_MODEL_SHA256, comma-separated]\n"
        "  --verify-key PUBLIC.pem  every model file needs a valid FILE.sig (Ed25519) by\n"
        "                         one of these keys; may be repeated\n"
        "                         [PREDICTD_VERIFY_KEY, comma-separated]\n"
        "  --config FILE          JSON file with any of: model (a string or a list of\n"
        "                         strings), model_dir, model_name, default_model, host,\n"
        "                         port, threads, max_body_bytes, max_batch_rows, max_model_bytes, timeout,\n"
        "                         drain_grace, drain_timeout, max_connections,\n"
        "                         max_connections_per_client, poll_interval,\n"
        "                         receive_timeout, request_timeout, inline_compute_us,\n"
        "                         log_format, log_level, access_log,\n"
        "                         api_key_file, admin_key_file, model_sha256 and\n"
        "                         verify_key (a string or a list of strings),\n"
        "                         reuse_port and metrics_auth (true or false)\n"
        "  --help, --version\n"
        "\n"
        "KServe's spelling of three flags is accepted, so a ServingRuntime can pass\n"
        "them as it passes them to its own servers: --model_name is --model-name,\n"
        "--model_dir is --model-dir, --http_port is --port. Other flags of KServe's\n"
        "servers are unknown here, and an error.\n"
        "\n"
        "Precedence: flags over environment over config file over defaults. The\n"
        "models of one source (--model and --model-dir together) replace those of\n"
        "the sources below it, and so do the lists of --model-sha256 and --verify-key.\n"
        "An unknown PREDICTD_* environment variable is an error.\n"
        "\n"
        "Endpoints: POST /predict, GET /healthz, GET /readyz; the Open Inference\n"
        "Protocol under /v2 (health, metadata, models, infer); KServe V1 under\n"
        "/v1/models.\n";

void config_usage_write(FILE *out)
{
        fputs(usage, out);
        fputs(usage_trust, out);
}

static int cfail(struct config_error *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int cfail(struct config_error *err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static void models_clear(struct config *cfg)
{
        for (size_t i = 0; i < cfg->n_models; i++) {
                free(cfg->models[i].name);
                free(cfg->models[i].path);
        }
        free(cfg->models);
        cfg->models = NULL;
        cfg->n_models = 0;
}

/* The first --model or --model-dir: the flags' models replace those of
 * the environment and the file, list and directory together; the next
 * flags add to them. */
static void models_from_flags(struct config *cfg)
{
        models_clear(cfg);
        free(cfg->model_dir);
        cfg->model_dir = NULL;
}

static int nomem(struct config_error *err)
{
        snprintf(err->message, sizeof(err->message), "out of memory");
        return -ENOMEM;
}

static void pins_clear(struct config *cfg)
{
        for (size_t i = 0; i < cfg->n_pins; i++)
                free(cfg->pins[i].name);
        free(cfg->pins);
        cfg->pins = NULL;
        cfg->n_pins = 0;
}

static void verify_keys_clear(struct config *cfg)
{
        for (size_t i = 0; i < cfg->n_verify_keys; i++)
                free(cfg->verify_keys[i]);
        free(cfg->verify_keys);
        cfg->verify_keys = NULL;
        cfg->n_verify_keys = 0;
}

bool config_name_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > CONFIG_MAX_NAME || s[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
                if (!ok)
                        return false;
        }
        return true;
}

/* The name a model file is served under when none is given: its base
 * name without the last extension, other characters than [A-Za-z0-9_.-]
 * turned into '_', so that any path the seed accepted still serves. */
static char *name_from_path(const char *path)
{
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strlen(base);
        const char *dot = strrchr(base, '.');
        if (dot && dot != base)
                n = (size_t)(dot - base);
        if (n > CONFIG_MAX_NAME)
                n = CONFIG_MAX_NAME;
        if (n == 0)
                return strdup("model");
        char *name = malloc(n + 1);
        if (!name)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                char c = base[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                          (c == '.' && i > 0);
                name[i] = ok ? c : '_';
        }
        name[n] = '\0';
        return name;
}

/* Appends one "[NAME=]PATH" of len bytes. The part before the first '='
 * is a name when it is a valid one; otherwise the whole text is a path
 * (so "/data/a=b.pkl" stays a path). where names the source. */
static int model_add(struct config *cfg, const char *spec, size_t len,
                     const char *where, struct config_error *err)
{
        if (cfg->n_models >= CONFIG_MAX_MODELS)
                return cfail(err, "%s: at most %d models, got more", where, CONFIG_MAX_MODELS);
        char *text = strndup(spec, len);
        if (!text) {
                snprintf(err->message, sizeof(err->message), "out of memory");
                return -ENOMEM;
        }
        char *name = NULL, *path = NULL;
        char *eq = strchr(text, '=');
        if (eq) {
                *eq = '\0';
                if (config_name_valid(text)) {
                        name = strdup(text);
                        path = strdup(eq + 1);
                        if (name && path && !*path) {
                                free(name);
                                free(path);
                                int rc = cfail(err, "%s: expected NAME=PATH, got no PATH after "
                                               "'%.100s='", where, text);
                                free(text);
                                return rc;
                        }
                } else {
                        *eq = '=';
                }
        }
        if (!name && !path) {
                if (!*text) {
                        free(text);
                        return cfail(err, "%s: expected a PATH or NAME=PATH, got nothing", where);
                }
                path = strdup(text);
                name = path ? name_from_path(path) : NULL;
        }
        free(text);
        struct config_model *v = realloc(cfg->models, (cfg->n_models + 1) * sizeof(*v));
        if (!name || !path || !v) {
                free(name);
                free(path);
                if (v)
                        cfg->models = v;
                snprintf(err->message, sizeof(err->message), "out of memory");
                return -ENOMEM;
        }
        cfg->models = v;
        v[cfg->n_models].name = name;
        v[cfg->n_models].path = path;
        cfg->n_models++;
        return 0;
}

/* Appends one "NAME=HEX" of len bytes (a --model-sha256). */
static int pin_add(struct config *cfg, const char *spec, size_t len, const char *where,
                   struct config_error *err)
{
        if (cfg->n_pins >= CONFIG_MAX_PINS)
                return cfail(err, "%s: at most %d digests, got more", where, CONFIG_MAX_PINS);
        const char *eq = memchr(spec, '=', len);
        size_t nl = eq ? (size_t)(eq - spec) : 0;
        char name[CONFIG_MAX_NAME + 1];
        if (!eq || nl > CONFIG_MAX_NAME)
                return cfail(err, "%s: expected NAME=SHA256 (a model name, '=', 64 hex digits), "
                             "got '%.*s'", where, (int)(len > 120 ? 120 : len), spec);
        memcpy(name, spec, nl);
        name[nl] = '\0';
        if (!config_name_valid(name))
                return cfail(err, "%s: expected a model name of [A-Za-z0-9_.-] before '=', got "
                             "'%s'", where, name);
        const char *hex = eq + 1;
        size_t hl = len - nl - 1;
        char digest[65];
        bool ok = hl == 64;
        for (size_t i = 0; ok && i < hl; i++) {
                char c = hex[i];
                if (c >= 'A' && c <= 'F')
                        c = (char)(c - 'A' + 'a');
                ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                digest[i] = c;
        }
        if (!ok)
                return cfail(err, "%s: expected 64 hex digits (a SHA-256) after '%s=', got "
                             "'%.*s'", where, name, (int)(hl > 80 ? 80 : hl), hex);
        digest[64] = '\0';
        struct config_pin *v = realloc(cfg->pins, (cfg->n_pins + 1) * sizeof(*v));
        if (!v)
                return nomem(err);
        cfg->pins = v;
        if (!(v[cfg->n_pins].name = strdup(name)))
                return nomem(err);
        memcpy(v[cfg->n_pins].sha256, digest, sizeof(digest));
        cfg->n_pins++;
        return 0;
}

/* Appends one public key path of len bytes (a --verify-key). */
static int verify_key_add(struct config *cfg, const char *spec, size_t len, const char *where,
                          struct config_error *err)
{
        if (cfg->n_verify_keys >= CONFIG_MAX_VERIFY_KEYS)
                return cfail(err, "%s: at most %d keys, got more", where, CONFIG_MAX_VERIFY_KEYS);
        if (len == 0)
                return cfail(err, "%s: expected the path of a public key (PEM), got nothing",
                             where);
        char **v = realloc(cfg->verify_keys, (cfg->n_verify_keys + 1) * sizeof(*v));
        if (!v)
                return nomem(err);
        cfg->verify_keys = v;
        if (!(v[cfg->n_verify_keys] = strndup(spec, len)))
                return nomem(err);
        cfg->n_verify_keys++;
        return 0;
}

/* A setting that is a list: one item is added by add(cfg, text, len,
 * where, err), and the list of a higher source replaces a lower one's. */
typedef int (*list_add_fn)(struct config *cfg, const char *spec, size_t len, const char *where,
                           struct config_error *err);

/* "a,b,c" (an environment variable's list) */
static int add_comma_list(struct config *cfg, const char *v, list_add_fn add, const char *where,
                          struct config_error *err)
{
        for (const char *p = v;;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                int rc = add(cfg, p, len, where, err);
                if (rc < 0)
                        return rc;
                if (!comma)
                        return 0;
                p = comma + 1;
        }
}

/* A config file's string, or non-empty list of strings. */
static int add_json_list(struct config *cfg, const json_t *val, list_add_fn add,
                         const char *where, const char *what, struct config_error *err)
{
        if (json_is_string(val))
                return add(cfg, json_string_value(val), json_string_length(val), where, err);
        size_t i;
        json_t *item;
        if (!json_is_array(val) || json_array_size(val) == 0)
                return cfail(err, "%s must be a string \"%s\" or a non-empty list of them", where,
                             what);
        json_array_foreach(val, i, item) {
                if (!json_is_string(item))
                        return cfail(err, "%s[%zu] must be a string \"%s\"", where, i, what);
                int rc = add(cfg, json_string_value(item), json_string_length(item), where, err);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

void config_free(struct config *cfg)
{
        if (!cfg)
                return;
        free(cfg->model_path);
        free(cfg->sign_key);
        free(cfg->api_key_file);
        free(cfg->admin_key_file);
        pins_clear(cfg);
        verify_keys_clear(cfg);
        models_clear(cfg);
        free(cfg->model_dir);
        free(cfg->model_name);
        free(cfg->default_model);
        free(cfg->host);
        free(cfg->access_log);
        free(cfg);
}

/* One numeric setting: its names in each source and its range. */
struct num_opt {
        const char *flag;
        const char *env;
        const char *key;
        unsigned long long min, max;
        size_t field; /* offset in struct config */
        bool is_unsigned; /* unsigned int, else size_t */
};

#define NUM(fl, ev, k, lo, hi, f, u) { fl, ev, k, lo, hi, offsetof(struct config, f), u }
static const struct num_opt num_opts[] = {
        NUM("--port", "PREDICTD_PORT", "port", 0, 65535, port, true),
        NUM("--threads", "PREDICTD_THREADS", "threads", 1, 1024, threads, true),
        NUM("--max-body-bytes", "PREDICTD_MAX_BODY_BYTES", "max_body_bytes", 64,
            1ULL << 34, max_body_bytes, false),
        NUM("--max-batch-rows", "PREDICTD_MAX_BATCH_ROWS", "max_batch_rows", 1,
            100000000, max_batch_rows, false),
        NUM("--max-model-bytes", "PREDICTD_MAX_MODEL_BYTES", "max_model_bytes", 1,
            1ULL << 40, max_model_bytes, false),
        NUM("--timeout", "PREDICTD_TIMEOUT", "timeout", 1, 86400, timeout_s, true),
        NUM("--drain-grace", "PREDICTD_DRAIN_GRACE", "drain_grace", 0, 3600, drain_grace_s, true),
        NUM("--drain-timeout", "PREDICTD_DRAIN_TIMEOUT", "drain_timeout", 1, 86400,
            drain_timeout_s, true),
        NUM("--max-connections", "PREDICTD_MAX_CONNECTIONS", "max_connections", 1, 1000000,
            max_connections, true),
        NUM("--max-connections-per-client", "PREDICTD_MAX_CONNECTIONS_PER_CLIENT",
            "max_connections_per_client", 0, 1000000, max_conn_per_client, true),
        NUM("--poll-interval", "PREDICTD_POLL_INTERVAL", "poll_interval", 0, 86400,
            poll_interval_s, true),
        NUM("--receive-timeout", "PREDICTD_RECEIVE_TIMEOUT", "receive_timeout", 1, 86400,
            receive_timeout_s, true),
        NUM("--request-timeout", "PREDICTD_REQUEST_TIMEOUT", "request_timeout", 0, 86400,
            request_timeout_s, true),
        NUM("--inline-compute-us", "PREDICTD_INLINE_COMPUTE_US", "inline_compute_us", 0,
            1000000, inline_compute_us, true),
};

static int set_str(char **field, const char *v, struct config_error *err);

/* A setting that takes one of a few words, stored as the word's index
 * (the enum's value). */
struct choice_opt {
        const char *flag;
        const char *env;
        const char *key;
        const char *const *words; /* NULL-terminated */
        size_t field;             /* offset of an enum in struct config */
};

static const char *const log_formats[] = { "json", "text", NULL };
static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };
static const struct choice_opt choice_opts[] = {
        { "--log-format", "PREDICTD_LOG_FORMAT", "log_format", log_formats,
          offsetof(struct config, log_format) },
        { "--log-level", "PREDICTD_LOG_LEVEL", "log_level", log_levels,
          offsetof(struct config, log_level) },
};

static int set_choice(struct config *cfg, const struct choice_opt *o, const char *v,
                      const char *where, struct config_error *err)
{
        char want[80] = "";
        size_t n = 0;
        for (size_t i = 0; o->words[i]; i++) {
                if (strcmp(v, o->words[i]) == 0) {
                        /* both enums start at 0 and count up */
                        *(unsigned *)(void *)((char *)cfg + o->field) = (unsigned)i;
                        return 0;
                }
                n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%s", i ? ", " : "",
                                      o->words[i]);
        }
        return cfail(err, "%s: expected one of %s, got '%.100s'", where, want, v);
}

/* --access-log: "-" is stderr (NULL), so a flag can undo a config file. */
static int set_access_log(struct config *cfg, const char *v, const char *where,
                          struct config_error *err)
{
        if (!*v)
                return cfail(err, "%s: expected a FILE or -", where);
        if (strcmp(v, "-") == 0) {
                free(cfg->access_log);
                cfg->access_log = NULL;
                return 0;
        }
        return set_str(&cfg->access_log, v, err);
}

/* A string setting with the same meaning in every source. */
struct str_opt {
        const char *flag, *env, *key;
        const char *what; /* for "expected ..." */
        size_t field;     /* offset of a char * in struct config */
};

static const struct str_opt str_opts[] = {
        { "--host", "PREDICTD_HOST", "host", "an address", offsetof(struct config, host) },
        { "--api-key-file", "PREDICTD_API_KEY_FILE", "api_key_file", "FILE",
          offsetof(struct config, api_key_file) },
        { "--admin-key-file", "PREDICTD_ADMIN_KEY_FILE", "admin_key_file", "FILE",
          offsetof(struct config, admin_key_file) },
};

static char **str_field_of(struct config *cfg, const struct str_opt *o)
{
        return (char **)(void *)((char *)cfg + o->field);
}

/* A switch: a flag without a value, "1"/"0" in the environment, true or
 * false in the file. */
struct bool_opt {
        const char *flag, *env, *key;
        size_t field; /* offset of a bool in struct config */
};

static const struct bool_opt bool_opts[] = {
        { "--reuse-port", "PREDICTD_REUSE_PORT", "reuse_port",
          offsetof(struct config, reuse_port) },
        { "--metrics-auth", "PREDICTD_METRICS_AUTH", "metrics_auth",
          offsetof(struct config, metrics_auth) },
};

static bool *bool_field_of(struct config *cfg, const struct bool_opt *o)
{
        return (bool *)(void *)((char *)cfg + o->field);
}

/* A repeatable flag: comma-separated in the environment, a string or a
 * list in the file. */
struct list_opt {
        const char *flag, *env, *key;
        const char *what; /* one item, for messages */
        list_add_fn add;
        void (*clear)(struct config *cfg);
};

static const struct list_opt list_opts[] = {
        { "--model", "PREDICTD_MODEL", "model", "[NAME=]PATH", model_add, models_clear },
        { "--model-sha256", "PREDICTD_MODEL_SHA256", "model_sha256", "NAME=SHA256", pin_add,
          pins_clear },
        { "--verify-key", "PREDICTD_VERIFY_KEY", "verify_key", "PUBLIC.pem", verify_key_add,
          verify_keys_clear },
};

/* Every PREDICTD_* variable is one of the settings': a misspelt one
 * would otherwise be ignored and its default served. */
static int check_env(struct config_error *err)
{
        static const char *const others[] = { "PREDICTD_MODEL_DIR", "PREDICTD_DEFAULT_MODEL",
                                               "PREDICTD_ACCESS_LOG", "PREDICTD_MODEL_NAME" };
        for (char **e = environ; *e; e++) {
                if (strncmp(*e, "PREDICTD_", 9) != 0)
                        continue;
                size_t n = strcspn(*e, "=");
                const char *names[64];
                size_t k = 0;
                for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
                        names[k++] = others[i];
                for (size_t i = 0; i < sizeof(str_opts) / sizeof(str_opts[0]); i++)
                        names[k++] = str_opts[i].env;
                for (size_t i = 0; i < sizeof(bool_opts) / sizeof(bool_opts[0]); i++)
                        names[k++] = bool_opts[i].env;
                for (size_t i = 0; i < sizeof(list_opts) / sizeof(list_opts[0]); i++)
                        names[k++] = list_opts[i].env;
                for (size_t i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++)
                        names[k++] = num_opts[i].env;
                for (size_t i = 0; i < sizeof(choice_opts) / sizeof(choice_opts[0]); i++)
                        names[k++] = choice_opts[i].env;
                bool known = false;
                for (size_t i = 0; i < k && !known; i++)
                        known = strlen(names[i]) == n && strncmp(names[i], *e, n) == 0;
                if (!known)
                        return cfail(err, "unknown environment variable %.*s: predictd reads "
                                     "only the PREDICTD_* variables that --help lists (unset "
                                     "it, or correct its name)", (int)(n > 100 ? 100 : n), *e);
        }
        return 0;
}

/* "1"/"true"/"yes" or "0"/"false"/"no", for environment variables. */
static int parse_bool(const char *s, const char *where, bool *out, struct config_error *err)
{
        if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)
                *out = true;
        else if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
                *out = false;
        else
                return cfail(err, "%s: expected 1, true, yes, 0, false or no, got '%.100s'",
                             where, s);
        return 0;
}

/* where names the source, which the start-up line gives for threads. */
static void set_num(struct config *cfg, const struct num_opt *o,
                    unsigned long long v, const char *where)
{
        char *p = (char *)cfg + o->field;
        if (o->field == offsetof(struct config, threads))
                snprintf(cfg->threads_how, sizeof(cfg->threads_how), "%s", where);
        if (o->is_unsigned)
                *(unsigned *)(void *)p = (unsigned)v;
        else
                *(size_t *)(void *)p = (size_t)v;
}

static int parse_num(const char *s, const struct num_opt *o, const char *where,
                     unsigned long long *out, struct config_error *err)
{
        char *end;
        if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
                return cfail(err, "%s: expected a whole number in [%llu, %llu], got '%s'",
                             where, o->min, o->max, s ? s : "");
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (*end != '\0' || errno == ERANGE || v < o->min || v > o->max)
                return cfail(err, "%s: expected a whole number in [%llu, %llu], got '%s'",
                             where, o->min, o->max, s);
        *out = v;
        return 0;
}

static int set_str(char **field, const char *v, struct config_error *err)
{
        char *d = strdup(v);
        if (!d) {
                snprintf(err->message, sizeof(err->message), "out of memory");
                return -ENOMEM;
        }
        free(*field);
        *field = d;
        return 0;
}

static int load_file(struct config *cfg, const char *path,
                     struct config_error *err)
{
        json_error_t jerr;
        json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return cfail(err, "config file %s: %s (line %d, column %d)", path, jerr.text,
                             jerr.line, jerr.column);
        int rc = 0;
        const char *key;
        json_t *val;
        if (!json_is_object(root)) {
                rc = cfail(err, "config file %s: expected a JSON object at the top", path);
                goto out;
        }
        json_object_foreach(root, key, val) {
                char **str_field = strcmp(key, "model_dir") == 0       ? &cfg->model_dir
                                   : strcmp(key, "model_name") == 0    ? &cfg->model_name
                                   : strcmp(key, "default_model") == 0 ? &cfg->default_model
                                                                       : NULL;
                for (size_t i = 0; i < sizeof(str_opts) / sizeof(str_opts[0]); i++)
                        if (strcmp(str_opts[i].key, key) == 0)
                                str_field = str_field_of(cfg, &str_opts[i]);
                if (str_field) {
                        if (!json_is_string(val)) {
                                rc = cfail(err, "config file %s: \"%s\" must be a string", path,
                                           key);
                                goto out;
                        }
                        rc = set_str(str_field, json_string_value(val), err);
                        if (rc < 0)
                                goto out;
                        continue;
                }
                const struct choice_opt *co = NULL;
                for (size_t i = 0; i < sizeof(choice_opts) / sizeof(choice_opts[0]); i++)
                        if (strcmp(choice_opts[i].key, key) == 0)
                                co = &choice_opts[i];
                if (co || strcmp(key, "access_log") == 0) {
                        char where[300];
                        snprintf(where, sizeof(where), "config file %s: \"%s\"", path, key);
                        if (!json_is_string(val)) {
                                rc = cfail(err, "%s must be a string", where);
                                goto out;
                        }
                        rc = co ? set_choice(cfg, co, json_string_value(val), where, err)
                                : set_access_log(cfg, json_string_value(val), where, err);
                        if (rc < 0)
                                goto out;
                        continue;
                }
                const struct bool_opt *bo = NULL;
                for (size_t i = 0; i < sizeof(bool_opts) / sizeof(bool_opts[0]); i++)
                        if (strcmp(bool_opts[i].key, key) == 0)
                                bo = &bool_opts[i];
                if (bo) {
                        if (!json_is_boolean(val)) {
                                rc = cfail(err, "config file %s: \"%s\" must be true or false",
                                           path, key);
                                goto out;
                        }
                        *bool_field_of(cfg, bo) = json_is_true(val);
                        continue;
                }
                const struct list_opt *lo = NULL;
                for (size_t i = 0; i < sizeof(list_opts) / sizeof(list_opts[0]); i++)
                        if (strcmp(list_opts[i].key, key) == 0)
                                lo = &list_opts[i];
                if (lo) {
                        char where[300];
                        snprintf(where, sizeof(where), "config file %s: \"%s\"", path, key);
                        lo->clear(cfg);
                        if ((rc = add_json_list(cfg, val, lo->add, where, lo->what, err)) < 0)
                                goto out;
                        continue;
                }
                const struct num_opt *o = NULL;
                for (size_t i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++)
                        if (strcmp(num_opts[i].key, key) == 0)
                                o = &num_opts[i];
                if (!o) {
                        rc = cfail(err,
                                   "config file %s: unknown key \"%s\" (expected model, "
                                   "model_dir, model_name, default_model, host, port, threads, "
                                   "max_body_bytes, max_batch_rows, max_model_bytes, "
                                   "timeout, drain_grace, drain_timeout, max_connections, "
                                   "max_connections_per_client, poll_interval, "
                                   "receive_timeout, request_timeout, inline_compute_us, "
                                   "log_format, log_level, "
                                   "access_log, reuse_port, api_key_file, admin_key_file, "
                                   "metrics_auth, model_sha256, verify_key)",
                                   path, key);
                        goto out;
                }
                json_int_t v = json_is_integer(val) ? json_integer_value(val) : -1;
                if (v < 0 || (unsigned long long)v < o->min || (unsigned long long)v > o->max) {
                        rc = cfail(err,
                                   "config file %s: \"%s\" must be a whole number in [%llu, %llu]",
                                   path, key, o->min, o->max);
                        goto out;
                }
                set_num(cfg, o, (unsigned long long)v, "config file");
        }
out:
        json_decref(root);
        return rc;
}

static int apply_env(struct config *cfg, struct config_error *err)
{
        const char *v;
        int rc;
        const char *dir = getenv("PREDICTD_MODEL_DIR");
        if (((v = getenv("PREDICTD_MODEL")) && *v) || (dir && *dir)) {
                /* the environment's models replace the file's, list and
                 * directory together */
                models_clear(cfg);
                free(cfg->model_dir);
                cfg->model_dir = NULL;
        }
        /* lists: "[NAME=]PATH,[NAME=]PATH", "NAME=HEX,...", "PATH,..." */
        for (size_t i = 0; i < sizeof(list_opts) / sizeof(list_opts[0]); i++) {
                if (!(v = getenv(list_opts[i].env)) || !*v)
                        continue;
                if (list_opts[i].add != model_add)
                        list_opts[i].clear(cfg);
                if ((rc = add_comma_list(cfg, v, list_opts[i].add, list_opts[i].env, err)) < 0)
                        return rc;
        }
        if ((v = getenv("PREDICTD_MODEL_DIR")) && *v &&
            (rc = set_str(&cfg->model_dir, v, err)) < 0)
                return rc;
        if ((v = getenv("PREDICTD_MODEL_NAME")) && *v &&
            (rc = set_str(&cfg->model_name, v, err)) < 0)
                return rc;
        if ((v = getenv("PREDICTD_DEFAULT_MODEL")) && *v &&
            (rc = set_str(&cfg->default_model, v, err)) < 0)
                return rc;
        for (size_t i = 0; i < sizeof(str_opts) / sizeof(str_opts[0]); i++)
                if ((v = getenv(str_opts[i].env)) && *v &&
                    (rc = set_str(str_field_of(cfg, &str_opts[i]), v, err)) < 0)
                        return rc;
        for (size_t i = 0; i < sizeof(bool_opts) / sizeof(bool_opts[0]); i++)
                if ((v = getenv(bool_opts[i].env)) && *v &&
                    (rc = parse_bool(v, bool_opts[i].env, bool_field_of(cfg, &bool_opts[i]),
                                     err)) < 0)
                        return rc;
        for (size_t i = 0; i < sizeof(choice_opts) / sizeof(choice_opts[0]); i++)
                if ((v = getenv(choice_opts[i].env)) && *v &&
                    (rc = set_choice(cfg, &choice_opts[i], v, choice_opts[i].env, err)) < 0)
                        return rc;
        if ((v = getenv("PREDICTD_ACCESS_LOG")) && *v &&
            (rc = set_access_log(cfg, v, "PREDICTD_ACCESS_LOG", err)) < 0)
                return rc;
        for (size_t i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++) {
                unsigned long long n;
                v = getenv(num_opts[i].env);
                if (!v || !*v)
                        continue;
                if ((rc = parse_num(v, &num_opts[i], num_opts[i].env, &n, err)) < 0)
                        return rc;
                set_num(cfg, &num_opts[i], n, num_opts[i].env);
        }
        return 0;
}

/* KServe's model servers spell these flags with '_', and its
 * ServingRuntimes pass them so ("--model_name={{.Name}}"); each is
 * rewritten into predictd's own flag before parsing. Nothing else is:
 * KServe's other flags (--workers, --grpc_port, ...) stay unknown. */
static const struct {
        const char *kserve, *ours;
} kserve_flags[] = {
        { "--model_name", "--model-name" },
        { "--model_dir", "--model-dir" },
        { "--http_port", "--port" },
};

/* A copy of argv with KServe's flags in predictd's spelling; NULL when
 * out of memory. Free with args_free. */
static char **args_translate(int argc, char **argv)
{
        char **a = calloc((size_t)argc + 1, sizeof(*a));
        if (!a)
                return NULL;
        for (int i = 0; i < argc; i++) {
                const char *from = argv[i], *rest = NULL, *ours = NULL;
                for (size_t k = 0; k < sizeof(kserve_flags) / sizeof(kserve_flags[0]); k++) {
                        size_t n = strlen(kserve_flags[k].kserve);
                        if (strncmp(from, kserve_flags[k].kserve, n) == 0 &&
                            (from[n] == '\0' || from[n] == '=')) {
                                rest = from + n;
                                ours = kserve_flags[k].ours;
                        }
                }
                size_t len = ours ? strlen(ours) + strlen(rest) + 1 : strlen(from) + 1;
                a[i] = malloc(len);
                if (!a[i]) {
                        for (int j = 0; j < i; j++)
                                free(a[j]);
                        free(a);
                        return NULL;
                }
                snprintf(a[i], len, "%s%s", ours ? ours : from, ours ? rest : "");
        }
        return a;
}

static void args_free(int argc, char **a)
{
        if (!a)
                return;
        for (int i = 0; i < argc; i++)
                free(a[i]);
        free(a);
}

/* Splits "--flag=value" or takes the next argument as the value. */
static const char *flag_value(int argc, char **argv, int *i, const char *flag)
{
        size_t n = strlen(flag);
        if (strncmp(argv[*i], flag, n) != 0)
                return NULL;
        if (argv[*i][n] == '=')
                return argv[*i] + n + 1;
        if (argv[*i][n] != '\0')
                return NULL;
        if (*i + 1 >= argc)
                return "";
        return argv[++*i];
}

/* check [--verify-key PUBLIC.pem]... PATH, sign --key PRIVATE.pem PATH,
 * eval PATH: the settings from the command line alone. */
static int load_subcommand(struct config *cfg, int argc, char **argv, struct config_error *err)
{
        const char *cmd = argv[1];
        cfg->command = cmd[0] == 'c' ? CONFIG_CHECK : cmd[0] == 'e' ? CONFIG_EVAL : CONFIG_SIGN;
        int rc, paths = 0;
        for (int i = 2; i < argc; i++) {
                const char *v;
                if (cfg->command == CONFIG_CHECK &&
                    (v = flag_value(argc, argv, &i, "--verify-key"))) {
                        if ((rc = verify_key_add(cfg, v, strlen(v), "--verify-key", err)) < 0)
                                return rc;
                } else if (cfg->command == CONFIG_SIGN && (v = flag_value(argc, argv, &i, "--key"))) {
                        if (!*v)
                                return cfail(err, "sign: --key: expected the private key's "
                                             "file (PEM)");
                        if ((rc = set_str(&cfg->sign_key, v, err)) < 0)
                                return rc;
                } else if (argv[i][0] == '-' && argv[i][1] == '-') {
                        return cfail(err, "%s: unknown argument '%.100s' (expected %s)", cmd,
                                     argv[i],
                                     cfg->command == CONFIG_CHECK ? "--verify-key PUBLIC.pem or PATH"
                                     : cfg->command == CONFIG_SIGN ? "--key PRIVATE.pem or PATH"
                                                                   : "PATH");
                } else {
                        paths++;
                        if ((rc = set_str(&cfg->model_path, argv[i], err)) < 0)
                                return rc;
                }
        }
        if (paths != 1)
                return cfail(err, "%s: expected exactly one PATH, got %d", cmd, paths);
        if (cfg->command == CONFIG_SIGN && !cfg->sign_key)
                return cfail(err, "sign: expected --key PRIVATE.pem (an Ed25519 private key)");
        return 0;
}
static int load_args(int argc, char **argv, struct config **out,
                     struct config_error *err);

int config_load(int argc, char **argv, struct config **out,
                struct config_error *err)
{
        char **args = args_translate(argc, argv);
        if (!args) {
                snprintf(err->message, sizeof(err->message), "out of memory");
                return -ENOMEM;
        }
        int rc = load_args(argc, args, out, err);
        args_free(argc, args);
        return rc;
}

static int load_args(int argc, char **argv, struct config **out,
                     struct config_error *err)
{
        struct config *cfg = calloc(1, sizeof(*cfg));
        int rc;
        if (!cfg) {
                snprintf(err->message, sizeof(err->message), "out of memory");
                return -ENOMEM;
        }
        char how[120];
        cfg->command = CONFIG_SERVE;
        cfg->port = 8080;
        cfg->threads = config_cpu_count("/sys/fs/cgroup", how, sizeof(how));
        snprintf(cfg->threads_how, sizeof(cfg->threads_how), "the default: %s", how);
        cfg->max_body_bytes = 1 << 20;
        cfg->max_batch_rows = 10000;
        cfg->max_model_bytes = (size_t)1 << 30;
        cfg->timeout_s = 30;
        cfg->drain_grace_s = 5;
        cfg->drain_timeout_s = 30;
        cfg->max_connections = 4096;
        cfg->max_conn_per_client = 0;
        cfg->receive_timeout_s = 30;
        cfg->request_timeout_s = 60;
        cfg->inline_compute_us = 50;
        cfg->log_format = CONFIG_LOG_JSON;
        cfg->log_level = CONFIG_LOG_INFO;
        if ((rc = set_str(&cfg->host, "0.0.0.0", err)) < 0)
                goto fail;

        int first = 1;
        if (argc > 1 && (strcmp(argv[1], "check") == 0 || strcmp(argv[1], "eval") == 0 ||
                         strcmp(argv[1], "sign") == 0)) {
                rc = load_subcommand(cfg, argc, argv, err);
                if (rc < 0)
                        goto fail;
                *out = cfg;
                return 0;
        }
        if (argc > 1 && strcmp(argv[1], "probe") == 0) {
                /* A health check as a client: the environment gives the
                 * port a bare /PATH goes to, as it gives the server's. */
                if (argc != 3 || !*argv[2]) {
                        rc = cfail(err, "probe: expected exactly one URL, got %d arguments",
                                   argc - 2);
                        goto fail;
                }
                cfg->command = CONFIG_PROBE;
                if ((rc = set_str(&cfg->model_path, argv[2], err)) < 0 ||
                    (rc = apply_env(cfg, err)) < 0)
                        goto fail;
                *out = cfg;
                return 0;
        }

        /* The config file goes first so that env and flags override it. */
        for (int i = first; i < argc; i++) {
                const char *v = flag_value(argc, argv, &i, "--config");
                if (v && (rc = load_file(cfg, v, err)) < 0)
                        goto fail;
        }
        if ((rc = check_env(err)) < 0 || (rc = apply_env(cfg, err)) < 0)
                goto fail;

        bool flag_models = false;
        bool flag_lists[sizeof(list_opts) / sizeof(list_opts[0])] = { false };
        for (int i = first; i < argc; i++) {
                const char *a = argv[i], *v, *v2 = NULL;
                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        cfg->command = CONFIG_HELP;
                        *out = cfg;
                        return 0;
                }
                if (strcmp(a, "--version") == 0) {
                        cfg->command = CONFIG_VERSION;
                        *out = cfg;
                        return 0;
                }
                if ((v = flag_value(argc, argv, &i, "--config")))
                        continue;
                const struct bool_opt *bo = NULL;
                for (size_t k = 0; k < sizeof(bool_opts) / sizeof(bool_opts[0]); k++)
                        if (strcmp(a, bool_opts[k].flag) == 0)
                                bo = &bool_opts[k];
                if (bo) {
                        *bool_field_of(cfg, bo) = true;
                        continue;
                }
                if ((v = flag_value(argc, argv, &i, "--model"))) {
                        if (!*v) {
                                rc = cfail(err, "--model: expected a PATH or NAME=PATH");
                                goto fail;
                        }
                        if (!flag_models)
                                models_from_flags(cfg);
                        flag_models = true;
                        if ((rc = model_add(cfg, v, strlen(v), "--model", err)) < 0)
                                goto fail;
                        continue;
                }
                if ((v = flag_value(argc, argv, &i, "--model-name"))) {
                        if (!config_name_valid(v)) {
                                rc = cfail(err, "--model-name: expected a model name of 1 to %d "
                                           "characters of [A-Za-z0-9_.-], got '%.100s'",
                                           CONFIG_MAX_NAME, v);
                                goto fail;
                        }
                        if ((rc = set_str(&cfg->model_name, v, err)) < 0)
                                goto fail;
                        continue;
                }
                if ((v = flag_value(argc, argv, &i, "--model-dir")) ||
                    (v2 = flag_value(argc, argv, &i, "--default-model"))) {
                        const char *flag = v ? "--model-dir" : "--default-model";
                        const char *val = v ? v : v2;
                        if (!*val) {
                                rc = cfail(err, "%s: expected a %s", flag, v ? "DIR" : "NAME");
                                goto fail;
                        }
                        if (v && !flag_models) {
                                models_from_flags(cfg);
                                flag_models = true;
                        }
                        if ((rc = set_str(v ? &cfg->model_dir : &cfg->default_model, val, err)) < 0)
                                goto fail;
                        continue;
                }
                const struct str_opt *so = NULL;
                for (size_t k = 0; k < sizeof(str_opts) / sizeof(str_opts[0]) && !so; k++)
                        if ((v = flag_value(argc, argv, &i, str_opts[k].flag)))
                                so = &str_opts[k];
                if (so) {
                        if (!*v) {
                                rc = cfail(err, "%s: expected %s", so->flag, so->what);
                                goto fail;
                        }
                        if ((rc = set_str(str_field_of(cfg, so), v, err)) < 0)
                                goto fail;
                        continue;
                }
                size_t lk = 1; /* list_opts[0], --model, is above */
                for (; lk < sizeof(list_opts) / sizeof(list_opts[0]); lk++)
                        if ((v = flag_value(argc, argv, &i, list_opts[lk].flag)))
                                break;
                if (lk < sizeof(list_opts) / sizeof(list_opts[0])) {
                        const struct list_opt *lo = &list_opts[lk];
                        if (!flag_lists[lk])
                                lo->clear(cfg);
                        flag_lists[lk] = true;
                        if ((rc = lo->add(cfg, v, strlen(v), lo->flag, err)) < 0)
                                goto fail;
                        continue;
                }
                if ((v = flag_value(argc, argv, &i, "--access-log"))) {
                        if ((rc = set_access_log(cfg, v, "--access-log", err)) < 0)
                                goto fail;
                        continue;
                }
                const struct choice_opt *co = NULL;
                for (size_t k = 0; k < sizeof(choice_opts) / sizeof(choice_opts[0]) && !co; k++)
                        if ((v = flag_value(argc, argv, &i, choice_opts[k].flag)))
                                co = &choice_opts[k];
                if (co) {
                        if ((rc = set_choice(cfg, co, v, co->flag, err)) < 0)
                                goto fail;
                        continue;
                }
                const struct num_opt *o = NULL;
                for (size_t k = 0; k < sizeof(num_opts) / sizeof(num_opts[0]) && !o; k++)
                        if ((v = flag_value(argc, argv, &i, num_opts[k].flag)))
                                o = &num_opts[k];
                if (!o) {
                        rc = cfail(err, "unknown argument '%s' (see --help)", a);
                        goto fail;
                }
                unsigned long long n;
                if ((rc = parse_num(v, o, o->flag, &n, err)) < 0)
                        goto fail;
                set_num(cfg, o, n, o->flag);
        }
        if (!cfg->n_models && !cfg->model_dir) {
                rc = cfail(err, "no model given: expected --model PATH (or PREDICTD_MODEL), "
                           "or --model-dir DIR");
                goto fail;
        }
        for (size_t i = 0; i < cfg->n_models; i++) {
                for (size_t j = 0; j < i; j++) {
                        if (strcmp(cfg->models[i].name, cfg->models[j].name) == 0) {
                                rc = cfail(err,
                                           "two models are named '%s' (%.150s and %.150s); "
                                           "name them apart with --model NAME=PATH",
                                           cfg->models[i].name, cfg->models[j].path,
                                           cfg->models[i].path);
                                goto fail;
                        }
                }
        }
        if (cfg->metrics_auth && !cfg->api_key_file) {
                rc = cfail(err, "--metrics-auth: expected --api-key-file too (the keys /metrics "
                           "would need)");
                goto fail;
        }
        if (cfg->model_name && !config_name_valid(cfg->model_name)) {
                rc = cfail(err, "model_name: expected a model name of [A-Za-z0-9_.-], "
                           "got '%.100s'", cfg->model_name);
                goto fail;
        }
        if (cfg->default_model && !config_name_valid(cfg->default_model)) {
                rc = cfail(err, "--default-model: expected a model name of [A-Za-z0-9_.-], "
                           "got '%.100s'", cfg->default_model);
                goto fail;
        }
        *out = cfg;
        return 0;
fail:
        config_free(cfg);
        return rc;
}
