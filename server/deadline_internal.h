/* deadline_internal.h - the receive deadline (deadline.c), for http.c.
 * Never included outside server/. */
#ifndef PREDICTD_DEADLINE_INTERNAL_H
#define PREDICTD_DEADLINE_INTERNAL_H

#include <stdbool.h>

#include <microhttpd.h>

struct deadline;

/* What each connection carries in libmicrohttpd's socket context: its
 * receive clock (deadline.c) and its access-log record (log.c). http.c
 * makes and frees it in its connection callback. */
struct conn_ctx {
        void *clock;              /* struct conn_clock, or NULL */
        struct log_request *log;  /* or NULL */
};

/* A deadline of receive_s seconds from a request line to the end of its
 * body, and of idle_s + receive_s from a connection's accept (or its last
 * answer) to its next request line, with the sweeper thread started.
 * Returns -ENOMEM or -EAGAIN. */
int deadline_create(unsigned receive_s, unsigned idle_s, struct deadline **out);

/* Stops the sweeper and frees d; only after the daemon has stopped.
 * Accepts NULL. */
void deadline_free(struct deadline *d);

/* From http.c's MHD_OPTION_NOTIFY_CONNECTION (cls: d; socket_context:
 * &conn_ctx.clock): a clock per connection, kept in
 * its socket context. */
void deadline_notify_connection(void *cls, struct MHD_Connection *conn,
                                void **socket_context, enum MHD_ConnectionNotificationCode code);

/* MHD_OPTION_URI_LOG_CALLBACK (cls: d): a request line arrived. Returns
 * NULL (the request's con_cls). */
void *deadline_uri_logged(void *cls, const char *uri, struct MHD_Connection *conn);

/* The request on conn is entirely received (or answered early): its
 * clock stops until deadline_answered. */
void deadline_received(struct deadline *d, struct MHD_Connection *conn);

/* The request on conn is over (MHD_OPTION_NOTIFY_COMPLETED): the clock
 * of its next request starts. */
void deadline_answered(struct deadline *d, struct MHD_Connection *conn);

#endif
