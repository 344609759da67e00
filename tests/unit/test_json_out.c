/* test_json_out.c - the JSON writer's numbers (server/json_out.c) against
 * printf, which they replace on the hot path: every access line's
 * durations ("%.6g" of nanoseconds / 1e9) and counts ("%llu"), and an
 * answer's whole-number probabilities (the shortest of %.15g..%.17g that
 * reads back, with ".0"). Each is compared byte for byte with what printf
 * writes, over every small value, random values of every length, and the
 * rounding boundaries where a shortcut would go wrong. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "server_internal.h"
#include "tap.h"

/* xorshift64*: the same values on every run. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_u64(void)
{
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        return rng * 0x2545f4914f6cdd1dULL;
}

static const unsigned long long P10[] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
        100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
        10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
        100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL,
};

static bool seconds_same(unsigned long long ns)
{
        char want[64], got[32];
        snprintf(want, sizeof(want), "%.6g", (double)ns / 1e9);
        size_t n = out_fmt_seconds_g6(ns, got);
        if (strcmp(want, got) != 0 || n != strlen(want)) {
                printf("# %llu ns: printf \"%s\", out_fmt_seconds_g6 \"%s\" (%zu)\n", ns, want,
                       got, n);
                return false;
        }
        return true;
}

static bool seconds_every_small_value(void)
{
        for (unsigned long long ns = 0; ns <= 3000000; ns++)
                EXPECT(seconds_same(ns));
        return true;
}

static bool seconds_random_of_every_length(void)
{
        for (int digits = 1; digits <= 20; digits++)
                for (int i = 0; i < 20000; i++) {
                        unsigned long long lo = P10[digits - 1];
                        unsigned long long span = digits == 20 ? UINT64_MAX - lo : P10[digits] - lo;
                        EXPECT(seconds_same(lo + next_u64() % span));
                }
        EXPECT(seconds_same(UINT64_MAX));
        return true;
}

/* ns whose 7th digit onwards is exactly 5000... (where the double decides),
 * one either side, and the runs of nines that carry into a new exponent. */
static bool seconds_rounding_boundaries(void)
{
        for (int digits = 7; digits <= 19; digits++) {
                unsigned long long unit = P10[digits - 6];
                for (int i = 0; i < 5000; i++) {
                        unsigned long long sig = 100000 + next_u64() % 900000;
                        unsigned long long tie = sig * unit + unit / 2;
                        EXPECT(seconds_same(tie));
                        EXPECT(seconds_same(tie - 1));
                        EXPECT(seconds_same(tie + 1));
                }
                for (unsigned long long k = 1; k <= 50; k++) {
                        EXPECT(seconds_same(P10[digits] - k));
                        EXPECT(seconds_same(P10[digits] + k));
                        EXPECT(seconds_same(999999 * unit + unit / 2 + k));
                }
        }
        return true;
}

static bool uint_as_printf(void)
{
        char want[32], got[24];
        for (int i = 0; i < 200000; i++) {
                unsigned long long u = next_u64() >> (next_u64() % 64);
                snprintf(want, sizeof(want), "%llu", u);
                EXPECT(out_fmt_uint(u, got) == strlen(want));
                EXPECT(strcmp(want, got) == 0);
        }
        EXPECT(out_fmt_uint(0, got) == 1 && strcmp(got, "0") == 0);
        snprintf(want, sizeof(want), "%llu", (unsigned long long)UINT64_MAX);
        out_fmt_uint(UINT64_MAX, got);
        EXPECT(strcmp(want, got) == 0);
        return true;
}

/* What out_double wrote before its whole-number path: printf for all. */
static void double_by_printf(double v, char *out, size_t len)
{
        int n = 0;
        for (int prec = 15; prec <= 17; prec++) {
                n = snprintf(out, len, "%.*g", prec, v);
                if (strtod(out, NULL) == v)
                        break;
        }
        if (!strpbrk(out, ".eEn"))
                snprintf(out + n, len - (size_t)n, ".0");
}

static bool double_same(double v)
{
        char want[64];
        struct out_buf b = { 0 };
        double_by_printf(v, want, sizeof(want));
        out_double(&b, v);
        bool same = !b.failed && strcmp(want, b.d) == 0;
        if (!same)
                printf("# %.17g: printf \"%s\", out_double \"%s\"\n", v, want, b.d ? b.d : "");
        free(b.d);
        return same;
}

static bool double_whole_numbers_as_printf(void)
{
        const double fixed[] = { 0.0, -0.0, 1.0, -1.0, 2.0, 10.0, 1e14, 1e15 - 1, -(1e15 - 1),
                                 1e15, -1e15, 1e15 + 1, 9007199254740992.0, 1e16, 1e300,
                                 -1e300, 0.5, -0.5, 1.5, 0.1, 1.0 / 3.0, 2.0 / 3.0,
                                 4.9e-324, INFINITY, -INFINITY, NAN };
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
                EXPECT(double_same(fixed[i]));
        for (int i = 0; i < 200000; i++) {
                int digits = 1 + (int)(next_u64() % 16);
                double v = (double)(next_u64() % P10[digits]);
                EXPECT(double_same(next_u64() & 1 ? -v : v));
                EXPECT(double_same(v + 0.5));
        }
        return true;
}

/* v and its neighbours one and two ulps either side. */
static bool double_same_near(double v)
{
        double lo = v, hi = v;
        bool ok = double_same(v);
        for (int i = 0; i < 2; i++) {
                lo = nextafter(lo, -INFINITY);
                hi = nextafter(hi, INFINITY);
                ok &= double_same(lo) && double_same(hi);
        }
        return ok;
}

/* The numbers out_double writes without printf beyond whole ones (exact_g,
 * 1e-5 to 1e15): every
 * probability a forest of up to 1,000 trees can give, decimals of 1 to
 * 17 digits, random bit patterns over the range and past it, and its
 * edges. */
static bool double_fractions_as_printf(void)
{
        for (int n = 1; n <= 1000; n++)
                for (int k = 0; k <= n; k++)
                        EXPECT(double_same((double)k / n) && double_same(-(double)k / n));
        for (int i = 0; i < 200000; i++) {
                int digits = 1 + (int)(next_u64() % 17), point = (int)(next_u64() % 19);
                double v = (double)(next_u64() % P10[digits]) / (double)P10[point];
                EXPECT(double_same_near(next_u64() & 1 ? -v : v));
        }
        for (int i = 0; i < 200000; i++) {
                /* exponents from about 1e-6 to 1e17 */
                uint64_t bits = (next_u64() & 0x800FFFFFFFFFFFFFull) |
                                ((uint64_t)(1003 + next_u64() % 76) << 52);
                double v;
                memcpy(&v, &bits, sizeof(v));
                EXPECT(double_same(v));
        }
        /* every binade exact_g covers, 1e-5 to 1e15, by random mantissas,
         * and each binade's first and last doubles (below a power of two the
         * lower neighbour is half as far) */
        for (int e = 1006; e <= 1073; e++) {
                for (int i = 0; i < 30000; i++) {
                        uint64_t bits = (next_u64() & 0xFFFFFFFFFFFFFull) | ((uint64_t)e << 52);
                        double v;
                        memcpy(&v, &bits, sizeof(v));
                        EXPECT(double_same(v));
                }
                double lo = ldexp(1.0, e - 1023);
                EXPECT(double_same_near(lo) && double_same_near(-lo));
        }
        /* odd multiples of 2^-m: their exact decimals end in 5 after m
         * digits, so rounding them to 15, 16 or 17 digits meets exact
         * ties (1 + 2^-17 = 1.00000762939453125 is one at 17) */
        for (int m = 1; m <= 60; m++)
                for (int i = 0; i < 3000; i++) {
                        uint64_t j = (next_u64() >> (11 + next_u64() % 40)) | 1;
                        EXPECT(double_same(ldexp((double)j, -m)));
                }
        EXPECT(double_same(1.0 + ldexp(1.0, -17)));
        const double edges[] = { 1e-4, 0.0001000000000000001, 9.999999999999999e-5, 0.1, 0.3,
                                 0.7, 1.0 / 3.0, 123456789012345.6, 99999999999999.95,
                                 999999999999999.9, 1e15 - 0.5, 0.999999999999999,
                                 0.9999999999999999, 1e-5, 5e-324, 2.2250738585072014e-308 };
        for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
                EXPECT(double_same_near(edges[i]) && double_same_near(-edges[i]));
        return true;
}

TAP_MAIN(CASE(seconds_every_small_value), CASE(seconds_random_of_every_length),
         CASE(seconds_rounding_boundaries), CASE(uint_as_printf),
         CASE(double_whole_numbers_as_printf), CASE(double_fractions_as_printf))
