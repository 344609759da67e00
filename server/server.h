/* server.h - predictd's HTTP edge: a libmicrohttpd daemon that serves
 * one or more models over the seed's /predict, the Open Inference
 * Protocol (/v2) and KServe V1 (/v1), with health endpoints. */
#ifndef PREDICTD_SERVER_H
#define PREDICTD_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct config;
struct model;
struct serialize_info;
struct server;

/* One model to serve: its name, version and file. */
struct server_model_spec {
        char *name;
        char *version;            /* decimal digits; "1" for --model files */
        unsigned long long vnum;  /* the version as a number */
        char *path;
};

/* The models of a configuration, sorted by name then version. */
struct server_model_list {
        struct server_model_spec *v;
        size_t n;
        bool has_default;
        size_t default_idx; /* the model /predict answers with */
};

/* Gathers cfg's --model entries and the repository under --model-dir
 * (DIR/NAME/VERSION/model.pkl or model.joblib; directories whose name is
 * not a number, or starts with 0, are skipped as Triton does) and
 * resolves the default model: --default-model's highest version, or the
 * only model's. Nothing is loaded. On success *out is a new list freed
 * with server_model_list_free. Returns -EINVAL (a clash of names, a bad
 * repository, an unknown default: the reason in errbuf) or -ENOMEM. */
int server_model_list_build(const struct config *cfg, struct server_model_list **out,
                            char *errbuf, size_t errlen);

/* Accepts NULL. */
void server_model_list_free(struct server_model_list *list);

/* Binds cfg->host:cfg->port and starts cfg->threads workers serving the
 * models of list, which the server takes over (also on failure). The
 * server answers at once: every model is loading, and /readyz and
 * /v2/health/ready say 503 until server_set_ready. On failure returns a
 * negative errno and writes the reason into errbuf. cfg must outlive the
 * server. */
int server_start(const struct config *cfg, struct server_model_list *list,
                 struct server **out, char *errbuf, size_t errlen);

/* The models being served (owned by the server). */
const struct server_model_list *server_models(const struct server *srv);

/* The port actually bound (useful with port 0). */
unsigned server_port(const struct server *srv);

/* Loads the file path to be served as model name, with every check the
 * configuration asks for (size limit, pinned digest, signature). On
 * success *model and *info are the caller's (see server_publish_model);
 * on failure the reason, naming the file where it is about one, goes
 * into err. */
int server_load_model(struct server *srv, const char *name, const char *path,
                      struct model **model, struct serialize_info **info, char *err,
                      size_t errlen);

/* Hands model i of server_models() and its info to the server, which
 * owns them from then on and frees them in server_stop; that model
 * answers from then on. Returns -ENOMEM (and frees nothing) when the
 * per-model response tables cannot be built. */
int server_publish_model(struct server *srv, size_t i, struct model *model,
                         struct serialize_info *info);

/* Once every model is published: the server says it is ready. */
void server_set_ready(struct server *srv);

/* `predictd eval PATH`: loads the model, reads {"instances": [[...]]}
 * from stdin and prints every method's output as one JSON object
 * (predict, predict_proba, decision_function, transform). Returns the
 * process exit status. */
int server_eval(const char *path);

/* Blocks the signals server_run takes (SIGTERM, SIGINT, SIGHUP, SIGUSR1,
 * SIGUSR2) in the calling thread, to be inherited by every thread started
 * after, and ignores SIGPIPE. Call before server_start. */
void server_signals_block(sigset_t *set);

/* Serves until SIGTERM or SIGINT, then drains (see lifecycle.c) and
 * stops srv (freed). Returns the exit status: 0 when every accepted
 * request was answered, 1 when the drain timeout cut some off. */
int server_run(struct server *srv, const struct config *cfg, const sigset_t *set);

/* Asks for a reload of every model source (SIGHUP); returns at once, the
 * loader thread does the work and logs what changed. */
void server_reload(struct server *srv);

/* Drain, step 1: readiness endpoints answer 503 from now on and every
 * answer closes its connection; everything else is served as before. */
void server_drain_begin(struct server *srv);

/* Drain, step 2: stops accepting connections (new ones are refused);
 * connections already accepted go on being served. */
void server_drain_close(struct server *srv);

/* Requests whose headers have arrived and whose answer is not yet sent. */
size_t server_inflight(const struct server *srv);

/* `predictd bench PATH --input X.npy [--batch N] [--threads T] [--repeat
 * K]` (argv as main received it, argv[1] being "bench"): times the model
 * core on the rows of X.npy and prints one JSON object. Returns the
 * process exit status (2 for bad arguments, 1 for a file it refuses). */
int server_bench(int argc, char **argv);
/* systemd notifications (notify.c, sd_notify): READY=1 with status as
 * STATUS=; RELOADING=1 before a reload (READY=1 again after it);
 * STOPPING=1 when the drain begins. Nothing happens outside systemd;
 * nothing fails. status is the caller's. */
void server_notify_ready(const char *status);
void server_notify_reloading(void);
void server_notify_stopping(void);

/* `predictd probe URL`: GET URL (http://IP[:PORT]/PATH, or /PATH on
 * 127.0.0.1:default_port) within 4 s, print the status line; returns the
 * exit status, 0 for a 2xx answer, 1 otherwise (the reason on stderr). */
int server_probe(const char *url, unsigned default_port);

/* Stops accepting, waits for requests in flight, frees everything.
 * Accepts NULL. */
void server_stop(struct server *srv);

#endif
