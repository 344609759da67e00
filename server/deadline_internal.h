/* deadline_internal.h - the receive deadline (deadline.c), for http.c.
 * Never included outside server/. */
#ifndef PREDICTD_DEADLINE_INTERNAL_H
#define PREDICTD_DEADLINE_INTERNAL_H

#include <stdbool.h>

#include <microhttpd.h>

struct deadline;

/* A deadline of receive_s seconds from a request line to the end of its
 * body, and of idle_s + receive_s from a connection's accept (or its last
 * answer) to its next request line, with the sweeper thread started.
 * Returns -ENOMEM or -EAGAIN. */
int deadline_create(unsigned receive_s, unsigned idle_s, struct deadline **out);

/* Stops the sweeper and frees d; only after the daemon has stopped.
 * Accepts NULL. */
void deadline_free(struct deadline *d);

/* MHD_OPTION_NOTIFY_CONNECTION (cls: d): a clock per connection, kept in
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
