/* probe.c - `predictd probe URL`: one HTTP GET to a predictd, exit 0 on a
 * 2xx answer. It exists so that a container image with nothing in it but
 * the binary and its libraries (no shell, no curl) can still declare a
 * HEALTHCHECK. It is deliberately small: numeric addresses only (no name
 * lookup, so no resolver or /etc/hosts is needed), plain HTTP/1.0, one
 * status line read, and one deadline over connect, send and receive so a
 * server that accepts but never answers fails the check instead of
 * hanging it. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

/* Longest URL taken, and the whole deadline (below the 5 s that Docker's
 * and Kubernetes' health checks are usually given). */
#define PROBE_MAX_URL 2048
#define PROBE_DEADLINE_MS 4000

struct probe_target {
        char host[256]; /* numeric IPv4 or IPv6 address, no brackets */
        char port[8];
        char path[PROBE_MAX_URL];
};

/* "/PATH" (127.0.0.1 and default_port) or "http://IP[:PORT]/PATH" with
 * IPv6 in brackets. Returns 0, or -EINVAL with the reason in err. */
static int parse_url(const char *url, unsigned default_port, struct probe_target *t,
                     char *err, size_t errlen)
{
        if (strlen(url) >= PROBE_MAX_URL) {
                snprintf(err, errlen, "expected a URL of at most %d bytes", PROBE_MAX_URL - 1);
                return -EINVAL;
        }
        snprintf(t->port, sizeof(t->port), "%u", default_port);
        if (url[0] == '/') {
                snprintf(t->host, sizeof(t->host), "127.0.0.1");
                snprintf(t->path, sizeof(t->path), "%s", url);
                return 0;
        }
        static const char scheme[] = "http://";
        if (strncmp(url, scheme, sizeof(scheme) - 1) != 0) {
                snprintf(err, errlen, "expected http://IP[:PORT]/PATH or /PATH, got '%.100s' "
                         "(https is not spoken; probe the plain port)", url);
                return -EINVAL;
        }
        const char *h = url + sizeof(scheme) - 1, *end;
        size_t hlen;
        if (*h == '[') {
                end = strchr(h, ']');
                if (!end) {
                        snprintf(err, errlen, "expected ']' after the IPv6 address in '%.100s'",
                                 url);
                        return -EINVAL;
                }
                hlen = (size_t)(end - h - 1);
                h++;
                end++;
        } else {
                end = h + strcspn(h, ":/");
                hlen = (size_t)(end - h);
        }
        if (hlen == 0 || hlen >= sizeof(t->host)) {
                snprintf(err, errlen, "expected an IP address after http:// in '%.100s'", url);
                return -EINVAL;
        }
        memcpy(t->host, h, hlen);
        t->host[hlen] = '\0';
        if (*end == ':') {
                const char *p = end + 1;
                size_t n = strspn(p, "0123456789");
                unsigned long v = n && n <= 5 ? strtoul(p, NULL, 10) : 0;
                if (v == 0 || v > 65535 || (p[n] != '/' && p[n] != '\0')) {
                        snprintf(err, errlen, "expected a port in [1, 65535] in '%.100s'", url);
                        return -EINVAL;
                }
                snprintf(t->port, sizeof(t->port), "%lu", v);
                end = p + n;
        }
        snprintf(t->path, sizeof(t->path), "%s", *end ? end : "/");
        if (t->path[0] != '/') {
                snprintf(err, errlen, "expected a path starting with '/' in '%.100s'", url);
                return -EINVAL;
        }
        for (const char *c = t->path; *c; c++) {
                if ((unsigned char)*c <= ' ' || *c == 0x7f) {
                        snprintf(err, errlen, "the path may not hold spaces or control "
                                 "characters: '%.100s'", url);
                        return -EINVAL;
                }
        }
        return 0;
}

static long ms_left(const struct timespec *deadline)
{
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (deadline->tv_sec - now.tv_sec) * 1000 +
               (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Waits for events on fd until the deadline; -ETIMEDOUT past it. */
static int wait_fd(int fd, short events, const struct timespec *deadline)
{
        for (;;) {
                long left = ms_left(deadline);
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd p = { .fd = fd, .events = events };
                int n = poll(&p, 1, (int)left);
                if (n > 0)
                        return 0;
                if (n < 0 && errno != EINTR)
                        return -errno;
        }
}

/* Connects, sends the GET, reads the status line into line. Returns 0 or
 * a negative errno with what failed in err. */
static int fetch_status(const struct probe_target *t, char *line, size_t linelen, char *err,
                        size_t errlen)
{
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += PROBE_DEADLINE_MS / 1000;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                                  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
        struct addrinfo *ai = NULL;
        int gai = getaddrinfo(t->host, t->port, &hints, &ai);
        if (gai != 0) {
                snprintf(err, errlen, "expected a numeric IP address, got '%s' (%s)", t->host,
                         gai_strerror(gai));
                return -EINVAL;
        }
        int rc = 0;
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                rc = -errno;
                snprintf(err, errlen, "socket: %s", strerror(errno));
                goto out;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
                rc = -errno;
                snprintf(err, errlen, "connect: %s", strerror(errno));
                goto out;
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if ((rc = wait_fd(fd, POLLOUT, &deadline)) < 0 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
                if (rc == 0)
                        rc = -(soerr ? soerr : errno);
                snprintf(err, errlen, "connect: %s", strerror(-rc));
                goto out;
        }
        char req[PROBE_MAX_URL + 512];
        int len = snprintf(req, sizeof(req),
                           "GET %s HTTP/1.0\r\nHost: %s%s%s:%s\r\nUser-Agent: predictd-probe\r\n"
                           "\r\n",
                           t->path, strchr(t->host, ':') ? "[" : "", t->host,
                           strchr(t->host, ':') ? "]" : "", t->port);
        for (int sent = 0; sent < len;) {
                if ((rc = wait_fd(fd, POLLOUT, &deadline)) < 0) {
                        snprintf(err, errlen, "sending the request: %s", strerror(-rc));
                        goto out;
                }
                ssize_t n = send(fd, req + sent, (size_t)(len - sent), MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        rc = -errno;
                        snprintf(err, errlen, "sending the request: %s", strerror(errno));
                        goto out;
                }
                if (n > 0)
                        sent += (int)n;
        }
        size_t got = 0;
        while (got + 1 < linelen && !memchr(line, '\n', got)) {
                if ((rc = wait_fd(fd, POLLIN, &deadline)) < 0) {
                        snprintf(err, errlen, "waiting for the answer: %s", strerror(-rc));
                        goto out;
                }
                ssize_t n = recv(fd, line + got, linelen - 1 - got, 0);
                if (n == 0)
                        break;
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        rc = -errno;
                        snprintf(err, errlen, "reading the answer: %s", strerror(errno));
                        goto out;
                }
                if (n > 0)
                        got += (size_t)n;
        }
        line[got] = '\0';
        line[strcspn(line, "\r\n")] = '\0';
out:
        if (fd >= 0)
                close(fd);
        freeaddrinfo(ai);
        return rc;
}

int server_probe(const char *url, unsigned default_port)
{
        struct probe_target t;
        char err[512], line[256];
        if (parse_url(url, default_port, &t, err, sizeof(err)) < 0 ||
            fetch_status(&t, line, sizeof(line), err, sizeof(err)) < 0) {
                fprintf(stderr, "predictd probe %s: %s\n", url, err);
                return 1;
        }
        /* "HTTP/1.x NNN reason" */
        unsigned code = 0;
        if (strncmp(line, "HTTP/1.", 7) == 0 && line[7] && line[8] == ' ' &&
            strspn(line + 9, "0123456789") == 3)
                code = (unsigned)strtoul(line + 9, NULL, 10);
        if (code == 0) {
                fprintf(stderr, "predictd probe %s: expected an HTTP/1.x status line, got "
                        "'%.100s'\n", url, line);
                return 1;
        }
        printf("%s\n", line);
        if (code < 200 || code > 299) {
                fprintf(stderr, "predictd probe %s: expected a 2xx answer, got %u\n", url, code);
                return 1;
        }
        return 0;
}
