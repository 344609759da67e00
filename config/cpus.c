/* cpus.c - how many CPUs this process may really use, for the default
 * thread count. A container is usually limited by a CFS quota in its
 * cgroup (cpu.max in cgroup v2, cpu.cfs_quota_us in v1) and sometimes by
 * an affinity mask (cpuset, taskset), while sysconf reports every CPU of
 * the host; threads beyond the quota only add context switches and tail
 * latency. Read-only files, no library: the formats are one line each. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* Reads the first line of path into buf; false when it cannot. */
static bool read_line(const char *path, char *buf, size_t len)
{
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        bool ok = fgets(buf, (int)len, f) != NULL;
        fclose(f);
        if (ok)
                buf[strcspn(buf, "\n")] = '\0';
        return ok;
}

static bool parse_ull(const char *s, unsigned long long *out)
{
        char *end;
        if (*s < '0' || *s > '9')
                return false;
        unsigned long long v = strtoull(s, &end, 10);
        if (*end != '\0' && *end != ' ')
                return false;
        *out = v;
        return true;
}

/* This process's cgroup path in one hierarchy of /proc/self/cgroup
 * ("ID:CONTROLLERS:PATH"): cgroup v2's ("0::PATH") when controller is
 * NULL, else the v1 hierarchy whose controllers include it; "" when none. */
static void own_cgroup(const char *controller, char *out, size_t len)
{
        out[0] = '\0';
        FILE *f = fopen("/proc/self/cgroup", "re");
        if (!f)
                return;
        char line[512];
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = '\0';
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = '\0';
                const char *ctl = c1 + 1, *path = c2 + 1;
                bool match = false;
                if (!controller) {
                        match = strcmp(line, "0") == 0 && !*ctl;
                } else {
                        size_t n = strlen(controller);
                        for (const char *p = ctl; *p;) {
                                size_t m = strcspn(p, ",");
                                if (m == n && strncmp(p, controller, n) == 0)
                                        match = true;
                                p += m + (p[m] == ',');
                        }
                }
                if (match && strlen(path) < len) {
                        strcpy(out, path);
                        break;
                }
        }
        fclose(f);
}

/* The quota in one cgroup directory, in CPUs rounded up (0: none); its
 * file and text go into how. */
typedef unsigned (*quota_fn)(const char *dir, char *how, size_t howlen);

static unsigned cpus_of(unsigned long long q, unsigned long long p)
{
        unsigned long long n = (q + p - 1) / p;
        return n > 1024 ? 1024 : (unsigned)n;
}

/* cgroup v2: cpu.max, "QUOTA PERIOD" or "max PERIOD". */
static unsigned quota_v2(const char *dir, char *how, size_t howlen)
{
        char path[1100], line[128], *sp;
        unsigned long long q, p;
        snprintf(path, sizeof(path), "%s/cpu.max", dir);
        if (!read_line(path, line, sizeof(line)) || !(sp = strchr(line, ' ')))
                return 0;
        *sp = '\0';
        if (!parse_ull(line, &q) || !parse_ull(sp + 1, &p) || p == 0 || q == 0)
                return 0;
        snprintf(how, howlen, "cgroup cpu.max %llu/%llu", q, p);
        return cpus_of(q, p);
}

/* cgroup v1: cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us. */
static unsigned quota_v1(const char *dir, char *how, size_t howlen)
{
        char path[1100], line[64];
        unsigned long long q, p;
        snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
        if (!read_line(path, line, sizeof(line)) || !parse_ull(line, &q) || q == 0)
                return 0;
        snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
        if (!read_line(path, line, sizeof(line)) || !parse_ull(line, &p) || p == 0)
                return 0;
        snprintf(how, howlen, "cgroup cpu.cfs_quota_us %llu/%llu", q, p);
        return cpus_of(q, p);
}

/* The tightest quota from base + own cgroup rel up to base itself (a
 * parent's quota limits its children; in a container whose cgroup is
 * mounted as the root, rel names a path that does not exist there and
 * base itself holds the quota). */
static unsigned walk(const char *base, char *rel, quota_fn fn, char *how, size_t howlen)
{
        unsigned best = 0;
        for (;;) {
                char dir[1000], h[160];
                snprintf(dir, sizeof(dir), "%s%s", base, rel);
                unsigned c = fn(dir, h, sizeof(h));
                if (c && (!best || c < best)) {
                        best = c;
                        snprintf(how, howlen, "%s", h);
                }
                char *slash = strrchr(rel, '/');
                if (!rel[0] || !slash)
                        break;
                *slash = '\0'; /* "/a/b" -> "/a" -> "" (the root itself) */
        }
        return best;
}

/* cgroup v2 under root, else v1's cpu hierarchy (root/cpu, or the
 * combined root/cpu,cpuacct). */
static unsigned quota(const char *root, char *how, size_t howlen)
{
        char rel[400];
        own_cgroup(NULL, rel, sizeof(rel));
        unsigned q = walk(root, rel, quota_v2, how, howlen);
        if (q)
                return q;
        static const char *const dirs[] = { "cpu", "cpu,cpuacct", "cpuacct,cpu" };
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                char base[500];
                snprintf(base, sizeof(base), "%s/%s", root, dirs[i]);
                own_cgroup("cpu", rel, sizeof(rel));
                if ((q = walk(base, rel, quota_v1, how, howlen)))
                        return q;
        }
        return 0;
}

unsigned config_cpu_count(const char *root, char *how, size_t howlen)
{
        unsigned n = 0;
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof(set), &set) == 0) {
                int c = CPU_COUNT(&set);
                n = c > 0 && c <= 1024 ? (unsigned)c : 0;
        }
        if (n) {
                snprintf(how, howlen, "affinity mask");
        } else {
                long c = sysconf(_SC_NPROCESSORS_ONLN);
                n = c > 0 && c <= 1024 ? (unsigned)c : 1;
                snprintf(how, howlen, "online CPUs");
        }
        char qhow[160] = "";
        unsigned q = quota(root, qhow, sizeof(qhow));
        if (q && q < n) {
                n = q;
                snprintf(how, howlen, "%s", qhow);
        }
        return n;
}
