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

/* This process's cgroup v2 path ("0::/PATH" in /proc/self/cgroup), or "". */
static void own_cgroup(char *out, size_t len)
{
        out[0] = '\0';
        FILE *f = fopen("/proc/self/cgroup", "re");
        if (!f)
                return;
        char line[512];
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = '\0';
                if (strncmp(line, "0::", 3) == 0 && strlen(line + 3) < len) {
                        strcpy(out, line + 3);
                        break;
                }
        }
        fclose(f);
}

/* The tightest cgroup v2 quota from the own cgroup up to root: CPUs
 * (rounded up), 0 when none; the file and its text go into how. */
static unsigned quota_v2(const char *root, char *how, size_t howlen)
{
        char rel[400], path[700], line[128];
        own_cgroup(rel, sizeof(rel));
        unsigned best = 0;
        for (;;) {
                snprintf(path, sizeof(path), "%s%s/cpu.max", root, rel);
                unsigned long long q, p;
                char *sp;
                if (read_line(path, line, sizeof(line)) && (sp = strchr(line, ' ')) &&
                    (*sp = '\0', parse_ull(line, &q)) && parse_ull(sp + 1, &p) && p > 0 &&
                    q > 0) {
                        unsigned long long n = (q + p - 1) / p;
                        unsigned cpus = n > 1024 ? 1024 : (unsigned)n;
                        if (!best || cpus < best) {
                                best = cpus;
                                snprintf(how, howlen, "cgroup cpu.max %llu/%llu", q, p);
                        }
                }
                char *slash = strrchr(rel, '/');
                if (!rel[0])
                        break;
                *slash = '\0'; /* "/a/b" -> "/a" -> "" (the root itself) */
        }
        return best;
}

/* cgroup v1: cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us. */
static unsigned quota_v1(const char *root, char *how, size_t howlen)
{
        static const char *const dirs[] = { "cpu", "cpu,cpuacct", "cpuacct,cpu" };
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                char path[600], line[64];
                unsigned long long q, p;
                snprintf(path, sizeof(path), "%s/%s/cpu.cfs_quota_us", root, dirs[i]);
                if (!read_line(path, line, sizeof(line)) || !parse_ull(line, &q) || q == 0)
                        continue;
                snprintf(path, sizeof(path), "%s/%s/cpu.cfs_period_us", root, dirs[i]);
                if (!read_line(path, line, sizeof(line)) || !parse_ull(line, &p) || p == 0)
                        continue;
                unsigned long long n = (q + p - 1) / p;
                snprintf(how, howlen, "cgroup cpu.cfs_quota_us %llu/%llu", q, p);
                return n > 1024 ? 1024 : (unsigned)n;
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
        unsigned q = quota_v2(root, qhow, sizeof(qhow));
        if (!q)
                q = quota_v1(root, qhow, sizeof(qhow));
        if (q && q < n) {
                n = q;
                snprintf(how, howlen, "%s", qhow);
        }
        return n;
}
