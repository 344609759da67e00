/* json_out.c - the JSON writer: the growing buffer answers and log lines
 * are written into, and the numbers and strings in them. Numbers are the
 * shortest of %.15g, %.16g and %.17g that read back as the same double
 * (computed exactly without printf from 1e-5 to 1e15), with
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

__extension__ typedef unsigned __int128 u128;

/* 10^k for k in [0, 21], exact. */
static const u128 P10Q[] = {
        1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
        100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
        10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
        100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
        (u128)10000000000000000000ull * 10, (u128)10000000000000000000ull * 100,
};

/* x / 2^s rounded to nearest, ties to even, as printf rounds (s >= 1). */
static uint64_t shift_round(u128 x, int s)
{
        u128 q = x >> s, r = x & (((u128)1 << s) - 1), half = (u128)1 << (s - 1);
        if (r > half || (r == half && (q & 1)))
                q++;
        return (uint64_t)q;
}

/* Whether strtod reads the decimal n * 10^-q back as f * 2^-s: whether the
 * decimal lies between the midpoints to the neighbouring doubles, on one
 * only when f is even (ties go to the even one). All four are integers in
 * units of 2^-(s+2) * 10^-q; below a power of two (f = 2^52) the lower
 * neighbour is half as far. */
static bool reads_back(uint64_t n, int q, uint64_t f, int s)
{
        u128 p = P10Q[q], v = (u128)(4 * f) * p, d = (u128)n << (s + 2);
        u128 hi = v + 2 * p, lo = v - (f == (1ull << 52) ? p : 2 * p);
        return f & 1 ? d > lo && d < hi : d >= lo && d <= hi;
}

/* The nd significant digits d of a value whose decimal exponent is x,
 * laid out as %.{p}g lays them out: exponent form below 1e-4 or from 10^p
 * up, else fixed; trailing zeros and a bare point dropped. Writes no NUL;
 * returns the length (at most nd + 6, or x + 2 when fixed). */
static size_t layout_g(const char *d, size_t nd, int x, int p, char *out)
{
        while (nd > 1 && d[nd - 1] == '0')
                nd--;
        size_t k = 0;
        if (x < -4 || x >= p) {
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
                return k + dec_digits(e, out + k);
        }
        if (x < 0) {
                memcpy(out, "0.", 2);
                k = 2;
                for (int z = -1; z > x; z--)
                        out[k++] = '0';
                memcpy(out + k, d, nd);
                return k + nd;
        }
        size_t whole = (size_t)x + 1;
        for (size_t i = 0; i < whole; i++)
                out[k++] = i < nd ? d[i] : '0';
        if (nd > whole) {
                out[k++] = '.';
                memcpy(out + k, d + whole, nd - whole);
                k += nd - whole;
        }
        return k;
}

/* n (10^(p-1) <= n <= 10^p) as the p digits of a value of decimal
 * exponent x, written as %.{p}g writes it. */
static size_t write_g(uint64_t n, int p, int x, char *out)
{
        char d[24];
        if (n == P10Q[p]) { /* rounded up to the next power of ten */
                n /= 10;
                x++;
        }
        return layout_g(d, dec_digits(n, d), x, p, out);
}

/* a (1e-5 <= a < 1e15) as the shortest of %.15g, %.16g and %.17g that
 * reads back as a, without printf. Each candidate, a rounded to p
 * significant digits, is computed in integers: a = f * 2^-s with f < 2^53
 * and s <= 69 in this range, so a * 10^q is f * 10^q (q <= 21, under
 * 2^123) shifted right by s, and the remainder decides the rounding as
 * printf's would (to nearest, ties to even). Returns the length, or 0
 * outside the range (then printf decides). This writes a number in about
 * a tenth of what snprintf and strtod took. */
static size_t exact_g(double a, char *out)
{
        uint64_t bits;
        memcpy(&bits, &a, sizeof(bits));
        int be = (int)(bits >> 52 & 0x7ff), s = 1075 - be;
        uint64_t f = (bits & ((1ull << 52) - 1)) | (1ull << 52);
        if (!(a >= 1e-5 && a < 1e15)) /* then 3 <= s <= 69 */
                return 0;
        /* the decimal exponent: 10^x <= a < 10^(x+1), x in [-5, 14];
         * log10 is within one of it and the loop settles it exactly */
        int x = (int)floor(log10(a));
        x = x < -5 ? -5 : x > 14 ? 14 : x;
        for (;;) {
                u128 t = ((u128)f * P10Q[16 - x]) >> s; /* floor(a * 10^(16-x)) */
                if (t >= P10Q[17])
                        x++;
                else if (t < P10Q[16])
                        x--;
                else
                        break;
        }
        for (int p = 15; p <= 17; p++) {
                int q = p - 1 - x; /* in [0, 21] */
                uint64_t n = shift_round((u128)f * P10Q[q], s);
                if (reads_back(n, q, f, s))
                        return write_g(n, p, x, out);
        }
        return 0; /* 17 digits always read back; printf if not */
}

/* A whole number below 1e15 in magnitude prints all its digits under
 * %.15g, which reads back exactly: those are written without printf (every
 * class probability of a tree is one, or 0.0 and 1.0); so is everything
 * exact_g can write. */
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
        size_t sign = signbit(v) ? 1 : 0;
        size_t k = exact_g(fabs(v), s + sign);
        if (k) {
                if (sign)
                        s[0] = '-';
                n = (int)(sign + k);
                s[n] = '\0';
        } else {
                for (int prec = 15; prec <= 17; prec++) {
                        n = snprintf(s, sizeof(s), "%.*g", prec, v);
                        if (strtod(s, NULL) == v)
                                break;
                }
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
        if (ns == 0) {
                memcpy(out, "0", 2);
                return 1;
        }
        if (ns >= P10Q[15])
                return (size_t)snprintf(out, 32, "%.6g", (double)ns / 1e9);
        char d[20];
        size_t nd = dec_digits(ns, d);
        int x = (int)nd - 10; /* the value's decimal exponent */
        if (nd > 6) {
                unsigned long long unit = (unsigned long long)P10Q[nd - 6];
                unsigned long long rest = ns % unit, half = unit / 2;
                unsigned long long sig = ns / unit;
                if (rest == half)
                        return (size_t)snprintf(out, 32, "%.6g", (double)ns / 1e9);
                if (rest > half && ++sig == 1000000) {
                        sig = 100000;
                        x++;
                }
                nd = dec_digits(sig, d);
        }
        size_t k = layout_g(d, nd, x, 6, out);
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
