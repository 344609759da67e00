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

#include "config.h"

static const char usage[] =
        "Usage: predictd --model [NAME=]PATH [--model ...] [--model-dir DIR] [options]\n"
        "       predictd check PATH\n"
        "       predictd eval PATH < rows.json   (every method, as JSON; for testing)\n"
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
        "  --reuse-port           share the port with other processes (SO_REUSEPORT);\n"
        "                         without it a port in use is an error [PREDICTD_REUSE_PORT=1]\n"
        "  --config FILE          JSON file with any of: model (a string or a list of\n"
        "                         strings), model_dir, model_name, default_model, host,\n"
        "                         port, threads, max_body_bytes, max_batch_rows, max_model_bytes, timeout,\n"
        "                         drain_grace, drain_timeout, max_connections,\n"
        "                         max_connections_per_client, poll_interval,\n"
        "                         reuse_port (true or false)\n"
        "  --help, --version\n"
        "\n"
        "KServe's spelling of three flags is accepted, so a ServingRuntime can pass\n"
        "them as it passes them to its own servers: --model_name is --model-name,\n"
        "--model_dir is --model-dir, --http_port is --port. Other flags of KServe's\n"
        "servers are unknown here, and an error.\n"
        "\n"
        "Precedence: flags over environment over config file over defaults. The\n"
        "models of one source (--model and --model-dir together) replace those of\n"
        "the sources below it.\n"
        "\n"
        "Endpoints: POST /predict, GET /healthz, GET /readyz; the Open Inference\n"
        "Protocol under /v2 (health, metadata, models, infer); KServe V1 under\n"
        "/v1/models.\n";

const char *config_usage(void)
{
        return usage;
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

void config_free(struct config *cfg)
{
        if (!cfg)
                return;
        free(cfg->model_path);
        models_clear(cfg);
        free(cfg->model_dir);
        free(cfg->model_name);
        free(cfg->default_model);
        free(cfg->host);
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
};

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
                char **str_field = strcmp(key, "host") == 0            ? &cfg->host
                                   : strcmp(key, "model_dir") == 0     ? &cfg->model_dir
                                   : strcmp(key, "model_name") == 0    ? &cfg->model_name
                                   : strcmp(key, "default_model") == 0 ? &cfg->default_model
                                                                       : NULL;
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
                if (strcmp(key, "reuse_port") == 0) {
                        if (!json_is_boolean(val)) {
                                rc = cfail(err, "config file %s: \"reuse_port\" must be true "
                                           "or false", path);
                                goto out;
                        }
                        cfg->reuse_port = json_is_true(val);
                        continue;
                }
                if (strcmp(key, "model") == 0) {
                        char where[300];
                        snprintf(where, sizeof(where), "config file %s: \"model\"", path);
                        models_clear(cfg);
                        if (json_is_string(val)) {
                                rc = model_add(cfg, json_string_value(val),
                                               json_string_length(val), where, err);
                                if (rc < 0)
                                        goto out;
                                continue;
                        }
                        size_t i;
                        json_t *item;
                        if (!json_is_array(val) || json_array_size(val) == 0) {
                                rc = cfail(err, "%s must be a string \"[NAME=]PATH\" or a "
                                           "non-empty list of them", where);
                                goto out;
                        }
                        json_array_foreach(val, i, item) {
                                if (!json_is_string(item)) {
                                        rc = cfail(err, "%s[%zu] must be a string \"[NAME=]PATH\"",
                                                   where, i);
                                        goto out;
                                }
                                rc = model_add(cfg, json_string_value(item),
                                               json_string_length(item), where, err);
                                if (rc < 0)
                                        goto out;
                        }
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
                                   "max_connections_per_client, poll_interval, reuse_port)",
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
        if ((v = getenv("PREDICTD_MODEL")) && *v) {
                /* several models: "[NAME=]PATH,[NAME=]PATH" */
                for (const char *p = v;;) {
                        const char *comma = strchr(p, ',');
                        size_t len = comma ? (size_t)(comma - p) : strlen(p);
                        if ((rc = model_add(cfg, p, len, "PREDICTD_MODEL", err)) < 0)
                                return rc;
                        if (!comma)
                                break;
                        p = comma + 1;
                }
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
        if ((v = getenv("PREDICTD_HOST")) && *v && (rc = set_str(&cfg->host, v, err)) < 0)
                return rc;
        if ((v = getenv("PREDICTD_REUSE_PORT")) && *v &&
            (rc = parse_bool(v, "PREDICTD_REUSE_PORT", &cfg->reuse_port, err)) < 0)
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
        if ((rc = set_str(&cfg->host, "0.0.0.0", err)) < 0)
                goto fail;

        int first = 1;
        if (argc > 1 && (strcmp(argv[1], "check") == 0 || strcmp(argv[1], "eval") == 0)) {
                if (argc != 3) {
                        rc = cfail(err, "%s: expected exactly one PATH, got %d arguments",
                                   argv[1], argc - 2);
                        goto fail;
                }
                cfg->command = argv[1][0] == 'c' ? CONFIG_CHECK : CONFIG_EVAL;
                if ((rc = set_str(&cfg->model_path, argv[2], err)) < 0)
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
        if ((rc = apply_env(cfg, err)) < 0)
                goto fail;

        bool flag_models = false;
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
                if (strcmp(a, "--reuse-port") == 0) {
                        cfg->reuse_port = true;
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
                if ((v = flag_value(argc, argv, &i, "--host"))) {
                        if (!*v) {
                                rc = cfail(err, "--host: expected an address");
                                goto fail;
                        }
                        if ((rc = set_str(&cfg->host, v, err)) < 0)
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
