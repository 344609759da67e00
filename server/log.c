/* log.c - predictd's one way to write a log line: start-up, load, reload
 * and drain messages with a level, and one access line per request, both
 * as JSON objects (written with the server's JSON writer, no allocation
 * but the line's) or, with --log-format text, as logfmt key=value
 * pairs; every line starts with an RFC 3339 UTC time with milliseconds.
 *
 * Each line is one write(2), and the access log is opened with O_APPEND,
 * so lines written by several threads at once never interleave. SIGUSR1
 * reopens --access-log FILE (logrotate's "move, then signal") by putting
 * the new file under the old descriptor number with dup3: a thread
 * writing at that instant writes its whole line to one file or the other,
 * and no lock is taken on the request path.
 *
 * The settings are process-wide (set once before any thread starts, like
 * the descriptors they name): every module of the server may log, and
 * threading a logger through each would say nothing more. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "config.h"
#include "obs_internal.h"
#include "server_internal.h"

static struct {
        enum log_level level;
        bool text;
        int access_fd;     /* 2, or --access-log FILE's */
        const char *access_path; /* the file (cfg's), or NULL */
} L = { LOG_LEVEL_INFO, false, STDERR_FILENO, NULL };

static const char *const level_names[] = { "debug", "info", "warn", "error" };

/* One key and its value on a line after time, level and msg. */
struct field {
        const char *key;
        enum { F_STR, F_UINT, F_SECONDS } type;
        const char *s;          /* F_STR: NULL writes null (JSON) or nothing (text) */
        unsigned long long u;   /* F_UINT, F_SECONDS (ns) */
};

static int open_access(const char *path, char *errbuf, size_t errlen)
{
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                snprintf(errbuf, errlen, "--access-log %s: cannot open: %s", path,
                         strerror(errno));
        return fd;
}

int log_setup(const struct config *cfg, char *errbuf, size_t errlen)
{
        L.text = cfg->log_format == CONFIG_LOG_TEXT;
        L.level = (enum log_level)cfg->log_level;
        if (cfg->access_log) {
                int fd = open_access(cfg->access_log, errbuf, errlen);
                if (fd < 0)
                        return -errno;
                L.access_fd = fd;
                L.access_path = cfg->access_log;
        }
        return 0;
}

int log_reopen(void)
{
        char err[600];
        if (!L.access_path)
                return 0;
        int fd = open_access(L.access_path, err, sizeof(err));
        if (fd < 0) {
                int rc = -errno;
                log_msg(LOG_LEVEL_ERROR, "%s; the access log goes on into the old file", err);
                return rc;
        }
        int rc = dup3(fd, L.access_fd, O_CLOEXEC) < 0 ? -errno : 0;
        if (rc < 0)
                log_msg(LOG_LEVEL_ERROR, "--access-log %s: cannot reopen: %s", L.access_path,
                        strerror(-rc));
        close(fd);
        if (!rc) /* from here on every access line goes to the new file */
                log_msg(LOG_LEVEL_INFO, "access log reopened: %s", L.access_path);
        return rc;
}

/* "2026-12-03T23:30:00.123Z". Each thread keeps the text of the last
 * second it formatted: most lines need only the milliseconds written. */
static void rfc3339_now(char *out, size_t len)
{
        static _Thread_local time_t sec = (time_t)-1;
        static _Thread_local char prefix[40];
        static _Thread_local size_t prefix_n;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (ts.tv_sec != sec) {
                struct tm tm;
                gmtime_r(&ts.tv_sec, &tm);
                prefix_n = strftime(prefix, sizeof(prefix), "%Y-%m-%dT%H:%M:%S", &tm);
                sec = ts.tv_sec;
        }
        unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
        char tail[6] = { '.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10),
                         (char)('0' + ms % 10), 'Z', '\0' };
        if (prefix_n + sizeof(tail) > len) {
                out[0] = '\0';
                return;
        }
        memcpy(out, prefix, prefix_n);
        memcpy(out + prefix_n, tail, sizeof(tail));
}

static void write_all(int fd, const char *s, size_t n)
{
        while (n) {
                ssize_t w = write(fd, s, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return; /* nowhere else to say it */
                s += w;
                n -= (size_t)w;
        }
}

/* "%.6g" as jansson writes a real with JSON_REAL_PRECISION(6), which the
 * access lines used before: a ".0" when it would read as an integer, and
 * the exponent without "+" or leading zeros (2.7911e-5). */
static void json_seconds(struct out_buf *b, unsigned long long ns)
{
        char num[32];
        size_t n = out_fmt_seconds_g6(ns, num);
        char *e = memchr(num, 'e', n);
        if (e) {
                const char *digits = e + 2; /* past the sign printf always writes */
                while (*digits == '0' && digits[1])
                        digits++;
                out_put(b, num, (size_t)(e - num));
                out_put(b, e[1] == '-' ? "e-" : "e", e[1] == '-' ? 2 : 1);
                out_str(b, digits);
                return;
        }
        out_put(b, num, n);
        if (!memchr(num, '.', n))
                out_put(b, ".0", 2);
}

/* One JSON object a line, keys in order (time, level, msg, the fields);
 * a NULL string is null. */
static void emit_json(int fd, enum log_level level, const char *msg, const struct field *f,
                      size_t nf, const char *now)
{
        struct out_buf b = { 0 };
        /* an access line is about 500 bytes; under 1,000 malloc takes
         * it from a small bin, without consolidating its fast bins */
        out_reserve(&b, 900);
        out_str(&b, "{\"time\":");
        out_json_string(&b, now);
        out_str(&b, ",\"level\":");
        out_json_string(&b, level_names[level]);
        out_str(&b, ",\"msg\":");
        out_json_string(&b, msg);
        for (size_t i = 0; i < nf; i++) {
                out_put(&b, ",\"", 2); /* keys are ours: no escapes */
                out_str(&b, f[i].key);
                out_put(&b, "\":", 2);
                if (f[i].type == F_UINT) {
                        out_uint(&b, f[i].u);
                } else if (f[i].type == F_SECONDS) {
                        json_seconds(&b, f[i].u);
                } else if (f[i].s) {
                        out_json_string(&b, f[i].s);
                } else {
                        out_str(&b, "null");
                }
        }
        out_str(&b, "}\n");
        if (!b.failed)
                write_all(fd, b.d, b.n);
        free(b.d);
}

/* logfmt: a value is quoted when it holds a space, '=', '"' or nothing. */
static void text_value(struct out_buf *b, const char *s)
{
        bool quote = !*s || strpbrk(s, " =\"\\\t\n") != NULL;
        if (!quote) {
                out_str(b, s);
                return;
        }
        out_str(b, "\"");
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        out_put(b, "\\", 1);
                if (*s == '\n')
                        out_str(b, "\\n");
                else if (*s == '\t')
                        out_str(b, "\\t");
                else
                        out_put(b, s, 1);
        }
        out_str(b, "\"");
}

static void emit_text(int fd, enum log_level level, const char *msg, const struct field *f,
                      size_t nf, const char *now)
{
        struct out_buf b = { 0 };
        out_reserve(&b, 900);
        out_str(&b, "time=");
        out_str(&b, now);
        out_str(&b, " level=");
        out_str(&b, level_names[level]);
        out_str(&b, " msg=");
        text_value(&b, msg);
        for (size_t i = 0; i < nf; i++) {
                char num[32];
                if (f[i].type == F_STR && !f[i].s)
                        continue;
                out_str(&b, " ");
                out_str(&b, f[i].key);
                out_str(&b, "=");
                if (f[i].type == F_UINT)
                        out_fmt_uint(f[i].u, num);
                else if (f[i].type == F_SECONDS)
                        out_fmt_seconds_g6(f[i].u, num);
                if (f[i].type == F_STR)
                        text_value(&b, f[i].s);
                else
                        out_str(&b, num);
        }
        out_str(&b, "\n");
        if (!b.failed)
                write_all(fd, b.d, b.n);
        free(b.d);
}

static void emit(int fd, enum log_level level, const char *msg, const struct field *f,
                 size_t nf)
{
        char now[40];
        rfc3339_now(now, sizeof(now));
        if (L.text)
                emit_text(fd, level, msg, f, nf, now);
        else
                emit_json(fd, level, msg, f, nf, now);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
        if (level < L.level)
                return;
        char msg[2048];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        size_t n = strlen(msg);
        while (n && msg[n - 1] == '\n')
                msg[--n] = '\0';
        out_utf8_clean(msg); /* file names may be any bytes; JSON is UTF-8 */
        emit(STDERR_FILENO, level, msg, NULL, 0);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        log_vmsg(level, fmt, ap);
        va_end(ap);
}

void log_mhd(void *cls, const char *fmt, va_list ap)
{
        (void)cls;
        char msg[1024];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        log_msg(LOG_LEVEL_WARN, "libmicrohttpd: %s", msg);
}

/* ---- the access log ---- */

struct log_request *log_request_new(struct MHD_Connection *conn)
{
        struct log_request *o = calloc(1, sizeof(*o));
        if (!o)
                return NULL;
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;
        char host[INET6_ADDRSTRLEN + 8] = "", serv[16] = "";
        if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
            getnameinfo(sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                      : sizeof(struct sockaddr_in6),
                        host, sizeof(host), serv, sizeof(serv),
                        NI_NUMERICHOST | NI_NUMERICSERV) == 0)
                snprintf(o->peer, sizeof(o->peer), sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
                         host, serv);
        return o;
}

/* What a client sent, as printable ASCII ('?' for other bytes), cut to
 * len - 4 characters and "..." so it stays bounded and valid UTF-8. */
static void shown(const char *in, char *out, size_t len)
{
        size_t o = 0;
        for (; *in && o + 4 < len; in++)
                out[o++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
        if (*in)
                memcpy(out + o, "...", 3), o += 3;
        out[o] = '\0';
}

static bool id_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               strchr("._:+/=-", c) != NULL;
}

/* A client's X-Request-Id is kept when it is short and of a safe charset:
 * it goes into a response header and every log line as is. */
static bool id_sane(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > LOG_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!id_char(s[i]))
                        return false;
        return true;
}

static bool lower_hex(const char *s, size_t n, bool *all_zero)
{
        *all_zero = true;
        for (size_t i = 0; i < n; i++) {
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
                if (s[i] != '0')
                        *all_zero = false;
        }
        return true;
}

/* W3C Trace Context: "VV-TRACEID(32)-PARENTID(16)-FF" in lower-case hex;
 * version ff, an all-zero trace or parent id are invalid; a version
 * after 00 may carry more after a '-', and its first 55 are kept. */
static bool traceparent_valid(const char *s)
{
        size_t n = strlen(s);
        bool zero;
        if (n < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-')
                return false;
        if (!lower_hex(s, 2, &zero) || strncmp(s, "ff", 2) == 0)
                return false;
        if (strncmp(s, "00", 2) == 0 ? n != 55 : (n > 55 && s[55] != '-'))
                return false;
        if (!lower_hex(s + 3, 32, &zero) || zero || !lower_hex(s + 36, 16, &zero) || zero)
                return false;
        return lower_hex(s + 53, 2, &zero);
}

/* splitmix64's finaliser: a bijection of 64 bits that scatters a counter. */
static uint64_t mix64(uint64_t z)
{
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

/* A request id: 128 bits, as 32 hex digits. Each thread draws a random
 * 128-bit key once (getrandom) and then mixes a counter with it, so an id
 * costs no system call; ids stay unique (distinct counters give distinct
 * values under one key, and two threads' keys differ with overwhelming
 * odds). They name requests; they are not secrets. */
static void new_id(char *out)
{
        static _Thread_local uint64_t key[2], counter;
        static _Thread_local bool keyed;
        static const char hex[] = "0123456789abcdef";
        if (!keyed) {
                if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
                        /* not expected on Linux >= 3.17; still unique enough */
                        key[0] = metrics_now_ns();
                        key[1] = (uint64_t)(uintptr_t)&keyed;
                }
                keyed = true;
        }
        counter++;
        uint64_t w[2] = { mix64(key[0] + counter * 0x9e3779b97f4a7c15ULL),
                          mix64(key[1] ^ mix64(counter)) };
        for (size_t i = 0; i < 32; i++)
                out[i] = hex[(w[i / 16] >> (60 - 4 * (i % 16))) & 15];
        out[32] = '\0';
}

void log_request_begin(struct log_request *o, struct MHD_Connection *conn, const char *method,
                       const char *url)
{
        if (!o)
                return;
        char peer[sizeof(o->peer)];
        memcpy(peer, o->peer, sizeof(peer));
        memset(o, 0, sizeof(*o));
        memcpy(o->peer, peer, sizeof(peer));
        o->active = true;
        o->t_start = metrics_now_ns();
        shown(method, o->method, sizeof(o->method));
        shown(url, o->path, sizeof(o->path));
        if (strncmp(url, "/v1/", 4) == 0 || strcmp(url, "/v1") == 0)
                o->protocol = METRICS_V1;
        else if (strncmp(url, "/v2/", 4) == 0 || strcmp(url, "/v2") == 0)
                o->protocol = METRICS_V2;
        else
                o->protocol = METRICS_SEED;
        const char *id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        if (id && id_sane(id))
                memcpy(o->id, id, strlen(id) + 1);
        else
                new_id(o->id);
        const char *tp = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "traceparent");
        if (tp && traceparent_valid(tp)) {
                memcpy(o->traceparent, tp, 55);
                o->traceparent[55] = '\0';
        }
}

void log_request_read(struct log_request *o, size_t n)
{
        if (o)
                o->bytes_in += n;
}

void log_request_body_done(struct log_request *o)
{
        if (o && !o->t_body)
                o->t_body = metrics_now_ns();
}

void log_request_job(struct log_request *o)
{
        if (o)
                o->t_job = metrics_now_ns();
}

void log_request_reply(struct log_request *o, const struct reply *r, struct MHD_Response *resp)
{
        if (!o || !o->active)
                return;
        o->t_reply = metrics_now_ns();
        o->status = r->status;
        o->bytes_out = r->len;
        o->rows = r->status == 200 ? r->rows : 0;
        o->model = r->model;
        o->compute_ns[0] = r->compute_ns[0];
        o->compute_ns[1] = r->compute_ns[0] && !r->compute_ns[1] ? o->t_reply : r->compute_ns[1];
        MHD_add_response_header(resp, "X-Request-Id", o->id);
}

static unsigned long long span(unsigned long long from, unsigned long long to)
{
        return to > from ? to - from : 0;
}

/* Splits the request's time into its phases (see metrics.c). */
static void phases(struct log_request *o)
{
        unsigned long long body = o->t_body ? o->t_body : o->t_start;
        unsigned long long reply = o->t_reply ? o->t_reply : o->t_done;
        unsigned long long c0 = o->compute_ns[0], c1 = o->compute_ns[1];
        o->total_ns = span(o->t_start, o->t_done);
        if (o->t_job) {
                o->queue_ns = span(body, o->t_job);
                o->receive_ns = span(o->t_start, body) + span(o->t_job, c0 ? c0 : reply);
        } else {
                o->receive_ns = span(o->t_start, c0 ? c0 : reply);
        }
        o->compute_dur_ns = c0 ? span(c0, c1) : 0;
        o->write_ns = span(c0 ? c1 : reply, o->t_done);
}

static const char *ending_of(int toe)
{
        switch (toe) {
        case MHD_REQUEST_TERMINATED_COMPLETED_OK: return NULL;
        case MHD_REQUEST_TERMINATED_WITH_ERROR: return "error";
        case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "timeout";
        case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "shutdown";
        case MHD_REQUEST_TERMINATED_READ_ERROR: return "read error";
        case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "client closed";
        default: return "unknown";
        }
}

void log_request_end(struct log_request *o, int toe)
{
        if (!o || !o->active)
                return;
        o->active = false;
        o->t_done = metrics_now_ns();
        o->ending = ending_of(toe);
        phases(o);
        metrics_observe(o);
        bool named = o->model && metrics_model_name(o->model)[0];
        const struct field f[] = {
                { "request_id", F_STR, o->id, 0 },
                { "traceparent", F_STR, o->traceparent[0] ? o->traceparent : NULL, 0 },
                { "peer", F_STR, o->peer[0] ? o->peer : NULL, 0 },
                { "method", F_STR, o->method, 0 },
                { "path", F_STR, o->path, 0 },
                { "protocol", F_STR, metrics_protocol_name(o->protocol), 0 },
                { "model", F_STR, named ? metrics_model_name(o->model) : NULL, 0 },
                { "version", F_STR, named ? metrics_model_version(o->model) : NULL, 0 },
                { "status", F_UINT, NULL, o->status },
                { "rows", F_UINT, NULL, o->rows },
                { "bytes_in", F_UINT, NULL, o->bytes_in },
                { "bytes_out", F_UINT, NULL, o->bytes_out },
                { "duration_s", F_SECONDS, NULL, o->total_ns },
                { "receive_s", F_SECONDS, NULL, o->receive_ns },
                { "queue_s", F_SECONDS, NULL, o->queue_ns },
                { "compute_s", F_SECONDS, NULL, o->compute_dur_ns },
                { "write_s", F_SECONDS, NULL, o->write_ns },
                { "ending", F_STR, o->ending, 0 },
        };
        size_t nf = sizeof(f) / sizeof(f[0]) - (o->ending ? 0 : 1);
        emit(L.access_fd, LOG_LEVEL_INFO, "request", f, nf);
}
