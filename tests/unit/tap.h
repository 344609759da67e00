/* tap.h - a minimal TAP producer for predictd's unit tests: meson reads
 * the "ok"/"not ok" lines (protocol: 'tap') and counts each test case.
 * A test is a function returning true when every EXPECT in it held. */
#ifndef PREDICTD_TAP_H
#define PREDICTD_TAP_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define EXPECT(cond)                                                        \
        do {                                                                \
                if (!(cond)) {                                              \
                        printf("# %s:%d: expected %s\n", __FILE__, __LINE__, \
                               #cond);                                      \
                        return false;                                       \
                }                                                           \
        } while (0)

/* The message must contain the substring (case-sensitive). */
#define EXPECT_CONTAINS(msg, sub)                                           \
        do {                                                                \
                if (!strstr((msg), (sub))) {                                \
                        printf("# %s:%d: expected \"%s\" in \"%s\"\n",      \
                               __FILE__, __LINE__, (sub), (msg));           \
                        return false;                                       \
                }                                                           \
        } while (0)

struct tap_case {
        const char *name;
        bool (*fn)(void);
};

static inline int tap_run(const struct tap_case *cases, size_t n)
{
        int failed = 0;
        printf("1..%zu\n", n);
        for (size_t i = 0; i < n; i++) {
                bool ok = cases[i].fn();
                printf("%s %zu - %s\n", ok ? "ok" : "not ok", i + 1, cases[i].name);
                fflush(stdout);
                failed += !ok;
        }
        return failed ? 1 : 0;
}

#define TAP_MAIN(...)                                                       \
        int main(void)                                                      \
        {                                                                   \
                static const struct tap_case cases[] = { __VA_ARGS__ };     \
                return tap_run(cases, sizeof(cases) / sizeof(cases[0]));    \
        }

#define CASE(fn) { #fn, fn }

#endif
