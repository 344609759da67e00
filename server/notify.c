/* notify.c - tells systemd where the process is in its life, through
 * sd_notify(3): READY=1 once every model has loaded, RELOADING=1 and
 * READY=1 again around each reload, STOPPING=1 when the drain begins. A
 * unit with Type=notify then starts dependents only once predictd can
 * answer, and `systemctl reload` shows the reload as it runs. Outside
 * systemd (no $NOTIFY_SOCKET) every call does nothing. Failures to notify
 * are not errors of the server: they are ignored. */
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "server.h"

void server_notify_ready(const char *status)
{
        char msg[512];
        snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
        (void)sd_notify(0, msg);
}

void server_notify_reloading(void)
{
        /* systemd 253 and later want the monotonic time with RELOADING=1
         * (Type=notify-reload); earlier ones ignore it. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        (void)sd_notifyf(0, "RELOADING=1\nSTATUS=reloading the models\nMONOTONIC_USEC=%llu",
                         (unsigned long long)ts.tv_sec * 1000000ULL +
                                 (unsigned long long)ts.tv_nsec / 1000ULL);
}

void server_notify_stopping(void)
{
        (void)sd_notify(0, "STOPPING=1\nSTATUS=draining");
}
