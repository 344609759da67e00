/* json_out.c - the JSON writer: the growing buffer answers and log lines
 * are written into, and the numbers and strings in them. Numbers are the
 * shortest of %.15g, %.16g and %.17g that read back as the same double
 * (written without printf where that is provably the same text), with
 * ".0" after a whole number, as Python prints floats; strings carry
 * the escapes cJSON's printer makes, so answers keep their bytes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

/* Makes b's capacity cap bytes; false (and b failed) when it cannot. */
static bool set_cap(struct out_buf *b, size_t cap)
{
        char *d = realloc(b->d, cap);
        if (!d) {
                b->failed = true;
                return false;
        }
        if (!b->d)
                d[0] = '\0';
        b->d = d;
        b->cap = cap;
        return true;
}

void out_put_grow(struct out_buf *b, const char *s, size_t n)
{
        if (b->failed)
                return;
        if (b->n + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                while (cap < b->n + n + 1)
                        cap *= 2;
                if (!set_cap(b, cap))
                        return;
        }
        memcpy(b->d + b->n, s, n);
        b->n += n;
        b->d[b->n] = '\0';
}

void out_reserve(struct out_buf *b, size_t n)
{
        if (!b->failed && b->n + n >= b->cap)
                set_cap(b, b->n + n + 1);
}

void out_str(struct out_buf *b, const char *s)
{
        out_put(b, s, strlen(s));
}

/* u's decimal digits into out, most significant first, no NUL (at most
 * 20); returns how many. */
static size_t dec_digits(unsigned long long u, char *out)
{
        char rev[20];
        size_t n = 0;
        do {
                rev[n++] = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        for (size_t i = 0; i < n; i++)
                out[i] = rev[n - 1 - i];
        return n;
}

size_t out_fmt_uint(unsigned long long u, char *out)
{
        size_t n = dec_digits(u, out);
        out[n] = '\0';
        return n;
}

void out_uint(struct out_buf *b, unsigned long long u)
{
        char s[24];
        out_put(b, s, out_fmt_uint(u, s));
}

/* 10^k for k in [0, 18], each exact as a double (up to 10^22 are). */
static const double P10D[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                               1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18 };

/* a (not a whole number, 1e-4 <= a < 1e15) as %.15g writes it, into out
 * (at most 21 bytes), when that has at most 15 significant digits and
 * reads back as a: the fixed-point decimal m / 10^k with the fewest
 * digits k after the point whose value reads back as a. Returns its
 * length, or 0 when no such decimal has at most 15 digits (then printf
 * decides). Probabilities (0.66, 0.123) nearly all come this way, about
 * ten times faster than snprintf and strtod.
 *
 * Why it is what %.15g writes:
 *  - m / 10^k, both exact, divides to the double nearest the real number
 *    m / 10^k, which is what strtod makes of its decimal; so the test
 *    m / P10D[k] == a is "this decimal reads back as a".
 *  - When some decimal x of k digits after the point and at most 15
 *    significant ones reads back as a, x is within half an ulp of a, and
 *    a * 10^k (rounded, relative error 2^-53) lies within 0.25 of the
 *    integer x * 10^k < 10^15, so nearbyint finds it: the first k that
 *    passes is the fewest digits.
 *  - 15-digit decimals near a are at least 4.5 ulps apart, so x is the
 *    one nearest a: the decimal %.15g rounds to. Its last digit is not
 *    0 (else k - 1 digits would have passed), as %g strips zeros; and
 *    x >= 0.0001 (a is at least the double 1e-4, above 0.0001), x < 1e15,
 *    so %g writes it without an exponent. */
static size_t fixed_short(double a, char *out)
{
        for (size_t k = 1; k < sizeof(P10D) / sizeof(P10D[0]); k++) {
                double scaled = a * P10D[k];
                if (scaled >= 1e15)
                        return 0;
                double m = nearbyint(scaled);
                if (m / P10D[k] != a)
                        continue;
                unsigned long long mi = (unsigned long long)m, p = 1;
                for (size_t i = 0; i < k; i++)
                        p *= 10;
                size_t n = dec_digits(mi / p, out);
                out[n++] = '.';
                char frac[20];
                size_t f = dec_digits(mi % p, frac);
                for (size_t i = f; i < k; i++)
                        out[n++] = '0'; /* leading zeros of the fraction */
                memcpy(out + n, frac, f);
                return n + f;
        }
        return 0;
}

/* A whole number below 1e15 in magnitude prints all its digits under
 * %.15g, which reads back exactly: those are written without printf (every
 * class probability of a tree is one, or 0.0 and 1.0); so are the other
 * numbers fixed_short can write. */
void out_double(struct out_buf *b, double v)
{
        char s[40];
        int n = 0;
        if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
                long long i = (long long)v;
                size_t k = 0;
                if (signbit(v))
                        s[k++] = '-';
                k += dec_digits((unsigned long long)(i < 0 ? -i : i), s + k);
                memcpy(s + k, ".0", 2);
                out_put(b, s, k + 2);
                return;
        }
        double a = fabs(v);
        if (a >= 1e-4 && a < 1e15) {
                size_t k = 0;
                if (v < 0)
                        s[k++] = '-';
                size_t f = fixed_short(a, s + k);
                if (f) {
                        out_put(b, s, k + f);
                        return;
                }
        }
        for (int prec = 15; prec <= 17; prec++) {
                n = snprintf(s, sizeof(s), "%.*g", prec, v);
                if (strtod(s, NULL) == v)
                        break;
        }
        out_put(b, s, (size_t)n);
        /* as Python prints floats: 1.0, not 1, so typed clients see a float */
        if (!strpbrk(s, ".eEn"))
                out_put(b, ".0", 2);
}

/* What printf's "%.6g" makes of ns / 1e9, from ns's digits: rounding
 * ns's decimal digits to six is rounding the double, because for ns below
 * 1e15 the double (ns / 1e9 rounded once, relative error 2^-53) lies on
 * the same side of every boundary between six-digit values that ns does,
 * except on a boundary itself (a 7th digit 5 and only zeros after it),
 * where printf rounds the double's exact binary value. That case, and ns
 * from 1e15 up, go to snprintf. */
size_t out_fmt_seconds_g6(unsigned long long ns, char *out)
{
        static const unsigned long long pow10[] = {
                1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
                10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
                100000000000ULL, 1000000000000ULL, 10000000000000ULL,
                100000000000000ULL, 1000000000000000ULL,
        };
        if (ns == 0) {
                memcpy(out, "0", 2);
                return 1;
        }
        if (ns >= pow10[15])
                return (size_t)snprintf(out, 32, "%.6g", (double)ns / 1e9);
        char d[20];
        size_t nd = dec_digits(ns, d);
        int x = (int)nd - 10; /* the value's decimal exponent */
        if (nd > 6) {
                unsigned long long unit = pow10[nd - 6], rest = ns % unit, half = unit / 2;
                unsigned long long sig = ns / unit;
                if (rest == half)
                        return (size_t)snprintf(out, 32, "%.6g", (double)ns / 1e9);
                if (rest > half && ++sig == 1000000) {
                        sig = 100000;
                        x++;
                }
                nd = dec_digits(sig, d);
        }
        while (nd > 1 && d[nd - 1] == '0') /* %g drops trailing zeros */
                nd--;
        size_t k = 0;
        if (x < -4 || x >= 6) {
                out[k++] = d[0];
                if (nd > 1) {
                        out[k++] = '.';
                        memcpy(out + k, d + 1, nd - 1);
                        k += nd - 1;
                }
                unsigned e = (unsigned)(x < 0 ? -x : x);
                out[k++] = 'e';
                out[k++] = x < 0 ? '-' : '+';
                if (e < 10)
                        out[k++] = '0';
                k += dec_digits(e, out + k);
        } else if (x < 0) {
                memcpy(out, "0.", 2);
                k = 2;
                for (int z = -1; z > x; z--)
                        out[k++] = '0';
                memcpy(out + k, d, nd);
                k += nd;
        } else {
                size_t whole = (size_t)x + 1;
                for (size_t i = 0; i < whole; i++)
                        out[k++] = i < nd ? d[i] : '0';
                if (nd > whole) {
                        out[k++] = '.';
                        memcpy(out + k, d + whole, nd - whole);
                        k += nd - whole;
                }
        }
        out[k] = '\0';
        return k;
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_seq(const unsigned char *s)
{
        unsigned char c = s[0];
        size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        for (size_t k = 1; k < n; k++)
                if ((s[k] & 0xC0) != 0x80)
                        return 0;
        /* overlong forms, surrogates, past U+10FFFF */
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
            (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
                return 0;
        return n;
}

/* Makes msg valid UTF-8 in place, each bad byte becoming '?': it quotes
 * what a client sent (a key of any bytes) and names cut at a byte count,
 * and JSON must be UTF-8. */
void out_utf8_clean(char *msg)
{
        unsigned char *s = (unsigned char *)msg;
        while (*s) {
                size_t n = utf8_seq(s);
                if (n == 0)
                        *s++ = '?';
                else
                        s += n;
        }
}

/* The escapes cJSON's printer makes (so answers keep their bytes), written
 * here without its two allocations per string: every access line has a
 * dozen strings. Bytes from 0x80 up pass as they are (the callers' strings
 * are UTF-8). */
void out_json_string(struct out_buf *b, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        const char *run = s;
        out_put(b, "\"", 1);
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                char esc[7] = { '\\', 0 };
                switch (c) {
                case '"':
                case '\\':
                        esc[1] = (char)c;
                        break;
                case '\b':
                        esc[1] = 'b';
                        break;
                case '\f':
                        esc[1] = 'f';
                        break;
                case '\n':
                        esc[1] = 'n';
                        break;
                case '\r':
                        esc[1] = 'r';
                        break;
                case '\t':
                        esc[1] = 't';
                        break;
                default:
                        memcpy(esc + 1, "u00", 3);
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 15];
                        break;
                }
                out_put(b, run, (size_t)(s - run));
                out_str(b, esc);
                run = s + 1;
        }
        out_put(b, run, (size_t)(s - run));
        out_put(b, "\"", 1);
}
