/* lifecycle.c - what the process does with the signals it receives,
 * from "ready" to exit. Every signal predictd may meet is either handled
 * here or ignored on purpose, so nothing kills it silently:
 *   SIGTERM, SIGINT  graceful drain: readiness 503 at once, keep serving
 *                    --drain-grace seconds (for the load balancer to take
 *                    the instance out), close the listener, let every
 *                    accepted request finish, exit 0 (at the latest after
 *                    --drain-timeout seconds);
 *   SIGHUP           reload every model source (registry.c);
 *   SIGUSR1          reopen --access-log FILE (logrotate);
 *   SIGUSR2          logged and otherwise ignored;
 *   SIGPIPE          ignored: a client that hangs up is a failed write,
 *                    not a dead server.
 * The signals are blocked in every thread and taken with sigtimedwait in
 * the main thread, so no handler runs in async-signal context. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "obs_internal.h"
#include "server.h"

static const int handled[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 };

void server_signals_block(sigset_t *set)
{
        sigemptyset(set);
        for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
                sigaddset(set, handled[i]);
        pthread_sigmask(SIG_BLOCK, set, NULL);
        signal(SIGPIPE, SIG_IGN);
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for one of set until deadline (monotonic seconds; 0: forever).
 * Returns the signal, or 0 at the deadline. */
static int wait_signal(const sigset_t *set, double deadline)
{
        for (;;) {
                struct timespec ts = { 1, 0 };
                if (deadline > 0) {
                        double left = deadline - now_s();
                        if (left <= 0)
                                return 0;
                        if (left < 1) {
                                ts.tv_sec = 0;
                                ts.tv_nsec = (long)(left * 1e9);
                        }
                }
                int sig = sigtimedwait(set, NULL, &ts);
                if (sig > 0)
                        return sig;
                /* EAGAIN: a second passed (re-check the deadline); EINTR */
        }
}

static const char *sig_name(int sig)
{
        switch (sig) {
        case SIGTERM: return "SIGTERM";
        case SIGINT: return "SIGINT";
        case SIGHUP: return "SIGHUP";
        case SIGUSR1: return "SIGUSR1";
        case SIGUSR2: return "SIGUSR2";
        default: return "a signal";
        }
}

/* The drain after SIGTERM/SIGINT; returns the exit status. */
static int drain(struct server *srv, const struct config *cfg, const sigset_t *set,
                 double start)
{
        double hard = start + cfg->drain_timeout_s;
        double grace_end = start + cfg->drain_grace_s;
        if (grace_end > hard)
                grace_end = hard;
        server_drain_begin(srv);
        server_notify_stopping();
        log_msg(LOG_LEVEL_INFO, "draining: readiness is 503; serving %u s more, then "
                "closing the listener (exit within %u s)", cfg->drain_grace_s,
                cfg->drain_timeout_s);
        for (int sig; (sig = wait_signal(set, grace_end)) != 0;) {
                if (sig == SIGTERM || sig == SIGINT)
                        log_msg(LOG_LEVEL_INFO, "%s received while draining; the drain "
                                "goes on", sig_name(sig));
                else if (sig == SIGUSR1)
                        log_reopen();
                else
                        log_msg(LOG_LEVEL_INFO, "%s received while draining; ignored",
                                sig_name(sig));
        }
        server_drain_close(srv);
        log_msg(LOG_LEVEL_INFO, "listener closed; %zu request%s in flight",
                server_inflight(srv), server_inflight(srv) == 1 ? "" : "s");
        /* Requests on connections already accepted are answered; the
         * answers say Connection: close, so those connections end too. */
        while (server_inflight(srv) > 0 && now_s() < hard) {
                struct timespec ts = { 0, 20 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        size_t left = server_inflight(srv);
        if (left)
                log_msg(LOG_LEVEL_WARN, "drain timeout (%u s): %zu request%s cut off",
                        cfg->drain_timeout_s, left, left == 1 ? "" : "s");
        server_stop(srv);
        log_msg(LOG_LEVEL_INFO, "stopped");
        return left ? 1 : 0;
}

int server_run(struct server *srv, const struct config *cfg, const sigset_t *set)
{
        for (;;) {
                int sig = wait_signal(set, 0);
                switch (sig) {
                case SIGTERM:
                case SIGINT:
                        log_msg(LOG_LEVEL_INFO, "%s received, draining", sig_name(sig));
                        return drain(srv, cfg, set, now_s());
                case SIGHUP:
                        log_msg(LOG_LEVEL_INFO, "SIGHUP received, reloading the models");
                        server_reload(srv);
                        break;
                case SIGUSR1:
                        log_msg(LOG_LEVEL_INFO, "SIGUSR1 received, reopening the access log");
                        log_reopen();
                        break;
                default:
                        log_msg(LOG_LEVEL_INFO, "%s received; ignored (nothing to do)",
                                sig_name(sig));
                        break;
                }
        }
}
