/* deadline.c - a deadline for receiving a whole request that trickled
 * bytes do not extend. libmicrohttpd's connection timeout (--timeout) is
 * an idle timeout, reset by every byte that arrives, so a client adding
 * one header byte every few seconds keeps its connection, and a slot of
 * --max-connections, for as long as it likes; a thousand such clients
 * shut every real one out.
 *
 * Each connection carries a clock, started when it is accepted, restarted
 * when a request line arrives (URI log callback) and when an answer has
 * been sent (the connection waits for its next request). While a request
 * is being received the clock runs; from the moment its body is complete
 * until its answer is sent it is stopped. A request must be complete
 * within --receive-timeout of its request line, and a request line must
 * arrive within --timeout + --receive-timeout of the clock's start (the
 * idle time --timeout allows, then the line itself). A sweeper thread
 * looks at every clock four times a second and shuts down the socket of
 * a connection past its deadline; libmicrohttpd then sees the connection
 * end and closes it in its own thread, as if the client had gone. The
 * socket stays open until the connection's CLOSED notification, which
 * takes the clock off the list under the same lock, so the sweeper never
 * touches a descriptor that may have been reused. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "deadline_internal.h"
#include "obs_internal.h"

struct conn_clock {
        struct conn_clock *prev, *next;
        int fd;
        double start;    /* monotonic seconds */
        bool line_seen;  /* the request line of the current request arrived */
        bool receiving;  /* false from the end of the body to the answer */
        bool cut;        /* shut down by the sweeper */
};

struct deadline {
        pthread_mutex_t lock; /* guards the list and every clock on it */
        pthread_cond_t cond;
        struct conn_clock head; /* sentinel of a circular list */
        unsigned receive_s, idle_s;
        bool stopping;
        pthread_t sweeper;
        bool started;
};

/* How often the sweeper looks, in nanoseconds: a connection is cut at
 * most this late. */
#define SWEEP_NS (250L * 1000 * 1000)

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct conn_clock *clock_of(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        const struct conn_ctx *cc = ci ? ci->socket_context : NULL;
        return cc ? cc->clock : NULL;
}

static void *sweep_main(void *arg)
{
        struct deadline *d = arg;
        pthread_mutex_lock(&d->lock);
        while (!d->stopping) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += SWEEP_NS;
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&d->cond, &d->lock, &ts);
                double now = now_s();
                size_t cut = 0;
                for (struct conn_clock *c = d->head.next; c != &d->head; c = c->next) {
                        double limit = c->line_seen ? d->receive_s
                                                    : (double)d->receive_s + d->idle_s;
                        if (c->receiving && !c->cut && now - c->start > limit) {
                                shutdown(c->fd, SHUT_RDWR);
                                c->cut = true;
                                cut++;
                        }
                }
                if (cut)
                        log_msg(LOG_LEVEL_WARN, "closed %zu connection%s that did not send "
                                "a whole request in time (--receive-timeout %u s)", cut,
                                cut == 1 ? "" : "s", d->receive_s);
        }
        pthread_mutex_unlock(&d->lock);
        return NULL;
}

int deadline_create(unsigned receive_s, unsigned idle_s, struct deadline **out)
{
        struct deadline *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&d->cond, &ca);
        pthread_condattr_destroy(&ca);
        pthread_mutex_init(&d->lock, NULL);
        d->head.next = d->head.prev = &d->head;
        d->receive_s = receive_s;
        d->idle_s = idle_s;
        if (pthread_create(&d->sweeper, NULL, sweep_main, d) != 0) {
                deadline_free(d);
                return -EAGAIN;
        }
        d->started = true;
        *out = d;
        return 0;
}

void deadline_free(struct deadline *d)
{
        if (!d)
                return;
        if (d->started) {
                pthread_mutex_lock(&d->lock);
                d->stopping = true;
                pthread_cond_signal(&d->cond);
                pthread_mutex_unlock(&d->lock);
                pthread_join(d->sweeper, NULL);
        }
        /* the daemon is stopped: every CLOSED notification has come */
        while (d->head.next != &d->head) {
                struct conn_clock *c = d->head.next;
                d->head.next = c->next;
                free(c);
        }
        pthread_mutex_destroy(&d->lock);
        pthread_cond_destroy(&d->cond);
        free(d);
}

void deadline_notify_connection(void *cls, struct MHD_Connection *conn,
                                void **socket_context, enum MHD_ConnectionNotificationCode code)
{
        struct deadline *d = cls;
        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
                struct conn_clock *c = ci ? calloc(1, sizeof(*c)) : NULL;
                if (!c)
                        return; /* out of memory: only the idle timeout applies */
                c->fd = ci->connect_fd;
                c->start = now_s();
                c->receiving = true;
                pthread_mutex_lock(&d->lock);
                c->next = &d->head;
                c->prev = d->head.prev;
                d->head.prev->next = c;
                d->head.prev = c;
                pthread_mutex_unlock(&d->lock);
                *socket_context = c;
                return;
        }
        struct conn_clock *c = *socket_context;
        if (!c)
                return;
        pthread_mutex_lock(&d->lock);
        c->prev->next = c->next;
        c->next->prev = c->prev;
        pthread_mutex_unlock(&d->lock);
        free(c);
        *socket_context = NULL;
}

/* Sets the clock of conn; line: a request line arrived. */
static void set_clock(struct deadline *d, struct MHD_Connection *conn, bool receiving,
                      bool restart, bool line)
{
        struct conn_clock *c = clock_of(conn);
        if (!c)
                return;
        pthread_mutex_lock(&d->lock);
        c->receiving = receiving;
        if (restart) {
                c->start = now_s();
                c->line_seen = line;
        }
        pthread_mutex_unlock(&d->lock);
}

void *deadline_uri_logged(void *cls, const char *uri, struct MHD_Connection *conn)
{
        (void)uri;
        set_clock(cls, conn, true, true, true);
        return NULL;
}

void deadline_received(struct deadline *d, struct MHD_Connection *conn)
{
        set_clock(d, conn, false, false, false);
}

void deadline_answered(struct deadline *d, struct MHD_Connection *conn)
{
        set_clock(d, conn, true, true, false);
}
