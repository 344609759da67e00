/* server.h - predictd's HTTP edge: a libmicrohttpd daemon that answers
 * /predict, /healthz and /readyz for one loaded model. */
#ifndef PREDICTD_SERVER_H
#define PREDICTD_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct model;
struct serialize_info;
struct server;

/* Binds cfg->host:cfg->port and starts cfg->threads workers. The server
 * answers at once; /readyz says 503 until server_publish_model. On
 * failure returns a negative errno and writes the reason into errbuf.
 * cfg must outlive the server. */
int server_start(const struct config *cfg, struct server **out, char *errbuf,
                 size_t errlen);

/* The port actually bound (useful with port 0). */
unsigned server_port(const struct server *srv);

/* Hands the model and its info to the server, which owns them from then
 * on and frees them in server_stop. Returns -ENOMEM (and frees nothing)
 * when the per-model response tables cannot be built. */
int server_publish_model(struct server *srv, struct model *model,
                         struct serialize_info *info);

/* `predictd eval PATH`: loads the model, reads {"instances": [[...]]}
 * from stdin and prints every method's output as one JSON object
 * (predict, predict_proba, decision_function, transform). Returns the
 * process exit status. */
int server_eval(const char *path);

/* Stops accepting, waits for requests in flight, frees everything.
 * Accepts NULL. */
void server_stop(struct server *srv);

#endif
