/* json_out.c - the JSON writer: the growing buffer answers and log lines
 * are written into, and the numbers and strings in them. Numbers are the
 * shortest of %.15g, %.16g and %.17g that read back as the same double,
 * with ".0" after a whole number, as Python prints floats; strings carry
 * the escapes cJSON's printer makes, so answers keep their bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

void out_put(struct out_buf *b, const char *s, size_t n)
{
        if (b->failed)
                return;
        if (b->n + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                while (cap < b->n + n + 1)
                        cap *= 2;
                char *d = realloc(b->d, cap);
                if (!d) {
                        b->failed = true;
                        return;
                }
                b->d = d;
                b->cap = cap;
        }
        memcpy(b->d + b->n, s, n);
        b->n += n;
        b->d[b->n] = '\0';
}

void out_str(struct out_buf *b, const char *s)
{
        out_put(b, s, strlen(s));
}

void out_double(struct out_buf *b, double v)
{
        char s[40];
        int n = 0;
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
                        if (c >= 0x20)
                                continue;
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
