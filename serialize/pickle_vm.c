/* pickle_vm.c - a pickle machine for protocols 0-5 that builds an inert
 * graph and never executes anything.
 *
 * Python's Unpickler imports every global a stream names and calls it.
 * This machine instead resolves each global against an exact allowlist
 * (allowlist.c) and gives the few allowed callables a native meaning:
 * numpy arrays and dtypes become data, scikit-learn classes become inert
 * objects whose state builders read later. Any other global, and the
 * opcodes that reach outside the stream (persistent ids, the copyreg
 * extension registry, out-of-band buffers), fail the load with the name
 * and the byte offset. Every length is checked against the bytes that
 * remain, and the stack, memo, marks and total allocation are bounded. */
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serialize_internal.h"

#define MAX_NESTED_PICKLES 2
#define MAX_TEXT_LINE (1024 * 1024)

struct vm {
        struct pickle_ctx *ctx;
        size_t pos;
        size_t op_off;     /* offset of the opcode being run */
        size_t frame_end;  /* 0 when no frame is open */
        int nested;
        struct pv **stack;
        size_t sp, scap;
        size_t *marks;
        size_t nmarks, mcap;
        struct pv **memo;
        size_t memo_cap;
        size_t memo_count; /* distinct indices stored: Python's len(memo) */
        /* functools.partial globals pushed and not yet REDUCEd over
         * check_array (partial.c), and the first of them */
        size_t partial_pending;
        /* a scipy.stats distribution class has been named: from then on
         * builtins.getattr may be too (scipy_stats.c) */
        bool scipy_dist_seen;
        const struct pv *partial_global;
};

/* Sets the error at byte offset off: prefix, then the formatted reason. */
static int vfail_at(struct vm *vm, size_t off, int code, const char *prefix,
                    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static int vfail_at(struct vm *vm, size_t off, int code, const char *prefix,
                    const char *fmt, va_list ap)
{
        char msg[480];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        serr_set(vm->ctx->err, (long long)off, "byte offset %zu: %s%s", off, prefix, msg);
        return code;
}

static int fail(struct vm *vm, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(struct vm *vm, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        code = vfail_at(vm, vm->op_off, code, "", fmt, ap);
        va_end(ap);
        return code;
}

#define PARTIAL_REFUSED "refused global functools.partial: only scikit-learn's " \
        "partial(check_array) in a HistGradientBoosting _preprocessor is accepted"

/* A refusal of functools.partial, given at the offset where the stream
 * names it. */
static int fail_partial(struct vm *vm, size_t name_off, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail_partial(struct vm *vm, size_t name_off, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vm->partial_pending = 0; /* this is the reason; nothing to add */
        int rc = vfail_at(vm, name_off, -EPERM, PARTIAL_REFUSED "; ", fmt, ap);
        va_end(ap);
        return rc;
}

static int oom(struct vm *vm)
{
        return fail(vm, -EFBIG,
                    "loading needs more than the limit of %zu bytes of memory",
                    vm->ctx->lim->max_alloc_bytes);
}

/* --- reading the stream -------------------------------------------- */

static int need(struct vm *vm, size_t n)
{
        size_t left = vm->ctx->len - vm->pos;
        if (n > left)
                return fail(vm, -EINVAL,
                            "stream ends early: needed %zu more bytes, %zu remain "
                            "(truncated or a length field lies)",
                            n, left);
        if (vm->frame_end) {
                if (vm->pos >= vm->frame_end) {
                        vm->frame_end = 0; /* the frame is used up */
                } else if (n > vm->frame_end - vm->pos) {
                        return fail(vm, -EINVAL,
                                    "a %zu-byte read crosses the end of the frame at %zu",
                                    n, vm->frame_end);
                }
        }
        return 0;
}

static int read_bytes(struct vm *vm, size_t n, const uint8_t **out)
{
        int rc = need(vm, n);
        if (rc < 0)
                return rc;
        *out = vm->ctx->buf + vm->pos;
        vm->pos += n;
        return 0;
}

static int read_uint(struct vm *vm, size_t n, uint64_t *out)
{
        const uint8_t *p = NULL;
        int rc = read_bytes(vm, n, &p);
        if (rc < 0)
                return rc;
        uint64_t v = 0;
        for (size_t i = n; i-- > 0;)
                v = (v << 8) | p[i];
        *out = v;
        return 0;
}

/* A text argument up to (not including) the newline. */
static int read_line(struct vm *vm, const char **line, size_t *len)
{
        const uint8_t *start = vm->ctx->buf + vm->pos;
        size_t left = vm->ctx->len - vm->pos;
        if (left > MAX_TEXT_LINE)
                left = MAX_TEXT_LINE;
        const uint8_t *nl = memchr(start, '\n', left);
        if (!nl)
                return fail(vm, -EINVAL,
                            "expected a newline-terminated argument, found none");
        size_t n = (size_t)(nl - start);
        int rc = need(vm, n + 1);
        if (rc < 0)
                return rc;
        vm->pos += n + 1;
        *line = (const char *)start;
        *len = n;
        return 0;
}

/* --- values ---------------------------------------------------------- */

static struct pv *new_pv(struct vm *vm, enum pv_kind kind)
{
        struct pv *v = arena_alloc(vm->ctx->arena, sizeof(*v));
        if (!v)
                return NULL;
        v->kind = kind;
        v->offset = vm->op_off;
        return v;
}

static char *arena_strndup(struct vm *vm, const char *s, size_t n)
{
        char *d = arena_alloc_raw(vm->ctx->arena, n + 1);
        if (d) {
                memcpy(d, s, n);
                d[n] = '\0';
        }
        return d;
}

typedef uint8_t v16u8 __attribute__((vector_size(16)));

/* Whether s[0, n) is ASCII and two-byte sequences only (U+0000 to U+07FF),
 * all well formed, looked at 16 bytes at a time: every continuation byte
 * (10xxxxxx) follows a lead C2-DF and every such lead is followed by one,
 * and no byte is C0, C1 (overlong leads) or E0 and above. Such a string
 * is valid UTF-8 (nothing in that range is overlong or a surrogate);
 * false also for valid strings with longer sequences, which the general
 * decoding then takes. */
static bool utf8_two_byte(const uint8_t *s, size_t n)
{
        v16u8 bad = { 0 };
        uint8_t prev = 0; /* the byte before s[i]; ASCII before the start */
        size_t i = 0;
        for (; i + 16 <= n; i += 16) {
                v16u8 v, p;
                memcpy(&v, s + i, 16);
                p[0] = prev;
                memcpy((uint8_t *)&p + 1, s + i, 15);
                v16u8 cont = (v16u8)((v & 0xC0) == 0x80);
                v16u8 lead = (v16u8)((p >= 0xC2) & (p <= 0xDF));
                bad |= (cont ^ lead) | (v16u8)(v >= 0xE0) | (v16u8)((v & 0xFE) == 0xC0);
                prev = s[i + 15];
        }
        bool any = false;
        for (; i < n; i++) {
                uint8_t c = s[i];
                bool cont = (c & 0xC0) == 0x80, lead = prev >= 0xC2 && prev <= 0xDF;
                any |= cont != lead || c >= 0xE0 || (c & 0xFE) == 0xC0;
                prev = c;
        }
        any |= prev >= 0xC2 && prev <= 0xDF; /* the string ends inside a sequence */
        for (size_t k = 0; k < 16; k++)
                any |= bad[k] != 0;
        return !any;
}

/* Protocol 2 spells every numpy array's bytes as a latin-1 str, and joblib
 * pickles object arrays (a GradientBoosting's estimators_) with protocol
 * 2: such a file is megabytes of ASCII and two-byte sequences, which
 * utf8_two_byte checks 16 bytes at a time; anything else takes the
 * general decoding. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
        if (utf8_two_byte(s, n))
                return true;
        size_t i = 0;
        while (i < n) {
                uint8_t c = s[i];
                size_t extra;
                uint32_t cp;
                if (c < 0x80) {
                        i++;
                        continue;
                } else if ((c & 0xE0) == 0xC0) {
                        extra = 1;
                        cp = c & 0x1F;
                } else if ((c & 0xF0) == 0xE0) {
                        extra = 2;
                        cp = c & 0x0F;
                } else if ((c & 0xF8) == 0xF0) {
                        extra = 3;
                        cp = c & 0x07;
                } else {
                        return false;
                }
                if (n - i <= extra)
                        return false;
                for (size_t k = 1; k <= extra; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + k] & 0x3F);
                }
                if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
                    (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                    (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                i += extra + 1;
        }
        return true;
}

static int make_str(struct vm *vm, const char *s, size_t n, struct pv **out)
{
        if (!utf8_valid((const uint8_t *)s, n))
                return fail(vm, -EINVAL, "string of %zu bytes is not valid UTF-8", n);
        struct pv *v = new_pv(vm, PV_STR);
        char *d = v ? arena_strndup(vm, s, n) : NULL;
        if (!d)
                return oom(vm);
        v->u.s.data = d;
        v->u.s.len = n;
        *out = v;
        return 0;
}

/* Bytes point into the stream, which outlives the graph. */
static int make_bytes(struct vm *vm, const uint8_t *s, size_t n,
                      struct pv **out)
{
        struct pv *v = new_pv(vm, PV_BYTES);
        if (!v)
                return oom(vm);
        v->u.s.data = (const char *)s;
        v->u.s.len = n;
        *out = v;
        return 0;
}

static int make_int(struct vm *vm, int64_t i, struct pv **out)
{
        struct pv *v = new_pv(vm, PV_INT);
        if (!v)
                return oom(vm);
        v->u.i = i;
        *out = v;
        return 0;
}

static int seq_append(struct vm *vm, struct pv *seq, struct pv *item)
{
        if (seq->u.seq.len == seq->u.seq.cap) {
                size_t cap = seq->u.seq.cap ? seq->u.seq.cap * 2 : 8;
                struct pv **items = arena_alloc(vm->ctx->arena, cap * sizeof(*items));
                if (!items)
                        return oom(vm);
                if (seq->u.seq.len)
                        memcpy(items, seq->u.seq.items,
                               seq->u.seq.len * sizeof(*items));
                seq->u.seq.items = items;
                seq->u.seq.cap = cap;
        }
        seq->u.seq.items[seq->u.seq.len++] = item;
        return 0;
}

/* Later keys shadow earlier equal ones at lookup (pv_dict_get), which
 * keeps insertion O(1) where a duplicate check would be quadratic. */
static int dict_set(struct vm *vm, struct pv *d, struct pv *k, struct pv *val)
{
        if (d->u.dict.len == d->u.dict.cap) {
                size_t cap = d->u.dict.cap ? d->u.dict.cap * 2 : 8;
                struct pv **keys = arena_alloc(vm->ctx->arena, cap * sizeof(*keys));
                struct pv **vals = arena_alloc(vm->ctx->arena, cap * sizeof(*vals));
                if (!keys || !vals)
                        return oom(vm);
                if (d->u.dict.len) {
                        memcpy(keys, d->u.dict.keys, d->u.dict.len * sizeof(*keys));
                        memcpy(vals, d->u.dict.vals, d->u.dict.len * sizeof(*vals));
                }
                d->u.dict.keys = keys;
                d->u.dict.vals = vals;
                d->u.dict.cap = cap;
        }
        d->u.dict.keys[d->u.dict.len] = k;
        d->u.dict.vals[d->u.dict.len] = val;
        d->u.dict.len++;
        return 0;
}

/* --- stack, marks, memo ------------------------------------------- */

static int push(struct vm *vm, struct pv *v)
{
        if (vm->sp == vm->scap) {
                if (vm->scap >= vm->ctx->lim->max_stack)
                        return fail(vm, -EFBIG, "stack deeper than the limit of %zu",
                                    vm->ctx->lim->max_stack);
                size_t cap = vm->scap ? vm->scap * 2 : 64;
                if (cap > vm->ctx->lim->max_stack)
                        cap = vm->ctx->lim->max_stack;
                struct pv **s = realloc(vm->stack, cap * sizeof(*s));
                if (!s)
                        return oom(vm);
                vm->stack = s;
                vm->scap = cap;
        }
        vm->stack[vm->sp++] = v;
        return 0;
}

/* Items above the innermost mark are all an opcode may touch. */
static size_t floor_of(const struct vm *vm)
{
        return vm->nmarks ? vm->marks[vm->nmarks - 1] : 0;
}

static int pop(struct vm *vm, struct pv **out, const char *what)
{
        if (vm->sp <= floor_of(vm))
                return fail(vm, -EINVAL, "expected %s on the stack, found it empty",
                            what);
        *out = vm->stack[--vm->sp];
        return 0;
}

static int top(struct vm *vm, struct pv **out, const char *what)
{
        if (vm->sp <= floor_of(vm))
                return fail(vm, -EINVAL, "expected %s on the stack, found it empty",
                            what);
        *out = vm->stack[vm->sp - 1];
        return 0;
}

static int push_mark(struct vm *vm)
{
        if (vm->nmarks == vm->mcap) {
                if (vm->mcap >= vm->ctx->lim->max_stack)
                        return fail(vm, -EFBIG, "more marks than the limit of %zu",
                                    vm->ctx->lim->max_stack);
                size_t cap = vm->mcap ? vm->mcap * 2 : 16;
                size_t *m = realloc(vm->marks, cap * sizeof(*m));
                if (!m)
                        return oom(vm);
                vm->marks = m;
                vm->mcap = cap;
        }
        vm->marks[vm->nmarks++] = vm->sp;
        return 0;
}

/* Pops the innermost mark; items[0..*n) are what was pushed after it and
 * stay valid until the next push. */
static int pop_mark(struct vm *vm, struct pv ***items, size_t *n)
{
        if (!vm->nmarks)
                return fail(vm, -EINVAL, "expected a MARK on the stack, found none");
        size_t m = vm->marks[--vm->nmarks];
        *items = vm->stack ? vm->stack + m : NULL;
        *n = vm->sp - m;
        vm->sp = m;
        return 0;
}

static int memo_put(struct vm *vm, uint64_t idx, struct pv *v)
{
        if (idx >= vm->ctx->lim->max_memo)
                return fail(vm, -EFBIG, "memo index %" PRIu64 " is over the limit of %zu",
                            idx, vm->ctx->lim->max_memo);
        if (idx >= vm->memo_cap) {
                size_t cap = vm->memo_cap ? vm->memo_cap : 64;
                while (cap <= idx)
                        cap *= 2;
                if (cap > vm->ctx->lim->max_memo)
                        cap = vm->ctx->lim->max_memo;
                struct pv **m = realloc(vm->memo, cap * sizeof(*m));
                if (!m)
                        return oom(vm);
                memset(m + vm->memo_cap, 0, (cap - vm->memo_cap) * sizeof(*m));
                vm->memo = m;
                vm->memo_cap = cap;
        }
        if (!vm->memo[idx])
                vm->memo_count++;
        vm->memo[idx] = v;
        return 0;
}

/* Where the stream names functools.partial for the partial object obj. */
static size_t partial_name_off(const struct vm *vm, const struct pv *obj)
{
        const struct partial_list *l = &vm->ctx->partials;
        for (size_t i = l->n; i-- > 0;)
                if (l->v[i].obj == obj)
                        return l->v[i].name_off;
        return obj->offset;
}

/* Every push of functools.partial must be REDUCEd over check_array, and
 * the object it makes is used once, where it was made (partial.c). */
static int note_partial(struct vm *vm, const struct pv *v)
{
        if (v->kind == PV_GLOBAL && v->u.global->role == ROLE_PARTIAL) {
                if (!vm->partial_pending++)
                        vm->partial_global = v;
        } else if (v->kind == PV_OBJECT && v->u.obj.cls->role == ROLE_PARTIAL) {
                return fail_partial(vm, partial_name_off(vm, v), "the partial made at byte "
                                    "offset %zu is referenced a second time at %zu",
                                    v->offset, vm->op_off);
        }
        return 0;
}

static int memo_get(struct vm *vm, uint64_t idx)
{
        if (idx >= vm->memo_cap || !vm->memo[idx])
                return fail(vm, -EINVAL, "memo entry %" PRIu64 " was never stored", idx);
        int rc = note_partial(vm, vm->memo[idx]);
        return rc < 0 ? rc : push(vm, vm->memo[idx]);
}


/* --- text arguments (protocol 0) ----------------------------------- */

static int parse_decimal(struct vm *vm, const char *s, size_t n, int64_t *out,
                         bool *too_big)
{
        char buf[64];
        *too_big = false;
        if (n == 0 || n >= sizeof(buf)) {
                if (n >= sizeof(buf)) {
                        *too_big = true;
                        return 0;
                }
                return fail(vm, -EINVAL, "expected a decimal integer, found an empty line");
        }
        memcpy(buf, s, n);
        buf[n] = '\0';
        /* Python's two unpicklers disagree on "012" (octal 10 in C, an
         * error in pickle.py); no pickler writes it, so refuse it. */
        const char *digits = buf + (buf[0] == '-' || buf[0] == '+');
        if (digits[0] == '0' && digits[1] != '\0')
                return fail(vm, -EINVAL, "integer '%.40s' has a leading zero", buf);
        char *end = NULL;
        errno = 0;
        long long v = strtoll(buf, &end, 10);
        if (end == buf || *end != '\0')
                return fail(vm, -EINVAL, "expected a decimal integer, found '%.40s'", buf);
        if (errno == ERANGE) {
                *too_big = true;
                return 0;
        }
        *out = v;
        return 0;
}

static int parse_index(struct vm *vm, uint64_t *idx)
{
        const char *line = NULL;
        size_t n = 0;
        int64_t v = 0;
        bool big = false;
        int rc = read_line(vm, &line, &n);
        if (rc < 0)
                return rc;
        rc = parse_decimal(vm, line, n, &v, &big);
        if (rc < 0)
                return rc;
        if (big || v < 0)
                return fail(vm, -EINVAL, "memo index '%.*s' is out of range",
                            (int)(n > 40 ? 40 : n), line);
        *idx = (uint64_t)v;
        return 0;
}

static int parse_text_float(struct vm *vm, const char *s, size_t n,
                            double *out)
{
        char buf[128];
        if (n == 0 || n >= sizeof(buf))
                return fail(vm, -EINVAL, "expected a float, found %zu bytes", n);
        memcpy(buf, s, n);
        buf[n] = '\0';
        /* strtod also reads hex floats, which Python's float() does not */
        if (strpbrk(buf, "xX"))
                return fail(vm, -EINVAL, "expected a decimal float, found '%s'", buf);
        /* the C locale: '.' is the decimal point whatever the process says */
        if (!vm->ctx->c_locale)
                vm->ctx->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        if (!vm->ctx->c_locale)
                return oom(vm);
        char *end = NULL;
        double v = strtod_l(buf, &end, vm->ctx->c_locale);
        if (end == buf || *end != '\0')
                return fail(vm, -EINVAL, "expected a float, found '%s'", buf);
        *out = v;
        return 0;
}

static int hex_value(char h)
{
        return (h >= '0' && h <= '9') ? h - '0'
             : (h >= 'a' && h <= 'f') ? h - 'a' + 10
             : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
}

/* Python 2 STRING arguments: a quoted repr with C-like escapes. */
static int decode_quoted(struct vm *vm, const char *s, size_t n,
                         struct pv **out)
{
        if (n < 2 || s[0] != s[n - 1] || (s[0] != '\'' && s[0] != '"'))
                return fail(vm, -EINVAL, "the STRING argument must be quoted");
        s++;
        n -= 2;
        uint8_t *d = arena_alloc(vm->ctx->arena, n + 1);
        if (!d)
                return oom(vm);
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c != '\\') {
                        d[o++] = (uint8_t)c;
                        continue;
                }
                if (i + 1 == n)
                        return fail(vm, -EINVAL, "STRING argument ends with a lone backslash");
                char e = s[++i];
                switch (e) {
                case 'n': d[o++] = '\n'; break;
                case 'r': d[o++] = '\r'; break;
                case 't': d[o++] = '\t'; break;
                case 'a': d[o++] = '\a'; break;
                case 'b': d[o++] = '\b'; break;
                case 'f': d[o++] = '\f'; break;
                case 'v': d[o++] = '\v'; break;
                case '\\': d[o++] = '\\'; break;
                case '\'': d[o++] = '\''; break;
                case '"': d[o++] = '"'; break;
                case '\n': break;
                case 'x': {
                        unsigned v = 0;
                        for (int k = 0; k < 2; k++) {
                                int dv = hex_value(i + 1 < n ? s[++i] : '\0');
                                if (dv < 0)
                                        return fail(vm, -EINVAL, "bad \\x escape in STRING");
                                v = v * 16 + (unsigned)dv;
                        }
                        d[o++] = (uint8_t)v;
                        break;
                }
                default:
                        if (e >= '0' && e <= '7') {
                                unsigned v = (unsigned)(e - '0');
                                for (int k = 0; k < 2 && i + 1 < n && s[i + 1] >= '0' &&
                                                s[i + 1] <= '7'; k++)
                                        v = v * 8 + (unsigned)(s[++i] - '0');
                                d[o++] = (uint8_t)v;
                        } else {
                                d[o++] = '\\';
                                d[o++] = (uint8_t)e;
                        }
                }
        }
        return make_bytes(vm, d, o, out);
}

/* Protocol 0 UNICODE arguments: raw-unicode-escape. */
static int decode_raw_unicode(struct vm *vm, const char *s, size_t n,
                              struct pv **out)
{
        char *d = arena_alloc(vm->ctx->arena, n * 4 + 1);
        if (!d)
                return oom(vm);
        size_t o = 0, run = 0; /* backslashes just before s[i] */
        for (size_t i = 0; i < n; i++) {
                uint8_t c = (uint8_t)s[i];
                /* as raw-unicode-escape: a backslash preceded by an odd
                 * number of backslashes does not start an escape */
                bool escapes = c == '\\' && run % 2 == 0;
                run = c == '\\' ? run + 1 : 0;
                if (escapes && i + 1 < n && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
                        run = 0;
                        int digits = s[i + 1] == 'u' ? 4 : 8;
                        if (n - i - 2 < (size_t)digits)
                                return fail(vm, -EINVAL, "truncated \\u escape in UNICODE");
                        uint32_t cp = 0;
                        for (int k = 0; k < digits; k++) {
                                int dv = hex_value(s[i + 2 + k]);
                                if (dv < 0)
                                        return fail(vm, -EINVAL, "bad \\u escape in UNICODE");
                                cp = cp * 16 + (uint32_t)dv;
                        }
                        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                                return fail(vm, -EINVAL,
                                            "UNICODE escape U+%X is not a character", cp);
                        o += pv_utf8_put(cp, d + o);
                        i += 1 + (size_t)digits;
                } else {
                        o += pv_utf8_put(c, d + o);
                }
        }
        struct pv *v = new_pv(vm, PV_STR);
        if (!v)
                return oom(vm);
        v->u.s.data = d;
        v->u.s.len = o;
        *out = v;
        return 0;
}

/* --- globals and calls --------------------------------------------- */

/* The topmost scikit-learn object on the stack below position `below`
 * (its state is being read), or SIZE_MAX. */
static size_t estimator_below(const struct vm *vm, size_t below)
{
        for (size_t i = below; i-- > 0;) {
                const struct pv *o = vm->stack[i];
                if (o->kind == PV_OBJECT && o->u.obj.cls && o->u.obj.cls->role == ROLE_ESTIMATOR &&
                    o->u.obj.cls->sk_name)
                        return i;
        }
        return SIZE_MAX;
}

/* The attribute whose value is being read in the state of the object at
 * stack position `at`, or NULL: the key pending among its state's items,
 * which sit above it as key, value, ... (after the state dict, in a
 * SETITEMS batch from protocol 1 on, one SETITEM at a time in protocol 0);
 * a value still being built (a container) ends the run. */
static const struct pv *pending_key(const struct vm *vm, size_t at, size_t *key_at)
{
        size_t m = 0, lo = at + 1, hi = vm->sp;
        if (lo < hi && vm->stack[lo]->kind == PV_DICT)
                lo++;
        while (m < vm->nmarks && vm->marks[m] <= at)
                m++;
        if (m < vm->nmarks && vm->marks[m] == lo)
                hi = m + 1 < vm->nmarks ? vm->marks[m + 1] : vm->sp;
        else if (m < vm->nmarks)
                hi = vm->marks[m];
        if (hi <= lo)
                return NULL;
        size_t k = (hi - lo) % 2 ? hi - 1 : hi - 2;
        if (vm->stack[k]->kind != PV_STR)
                return NULL;
        *key_at = k;
        return vm->stack[k];
}

/* Whether key names a list of (name, estimator, ...) steps. */
static bool is_steps_key(const struct pv *key)
{
        static const char *const keys[] = { "steps", "transformers", "transformer_list",
                                            "estimators" };
        for (size_t i = 0; key && i < sizeof(keys) / sizeof(keys[0]); i++)
                if (strcmp(key->u.s.data, keys[i]) == 0)
                        return true;
        return false;
}

/* "Pipeline step 'ct': ColumnTransformer step 'f': " when the object at
 * `at` is the estimator of a step of the estimator below it, and so on
 * outwards (at most 4 levels); else empty. */
static void step_prefix(const struct vm *vm, size_t at, char *buf, size_t len)
{
        size_t chain[4], n = 0, k = 0, o = 0;
        buf[0] = '\0';
        while (n < 4) {
                size_t outer = estimator_below(vm, at);
                if (outer == SIZE_MAX || at == 0 || vm->stack[at - 1]->kind != PV_STR ||
                    !is_steps_key(pending_key(vm, outer, &k)))
                        break;
                chain[n++] = at;
                at = outer;
        }
        while (n-- > 0 && o < len) {
                size_t s = chain[n];
                o += (size_t)snprintf(buf + o, len - o, "%s step '%.60s': ",
                                      vm->stack[estimator_below(vm, s)]->u.obj.cls->sk_name,
                                      vm->stack[s - 1]->u.s.data);
        }
}

/* For a global refused while the state of a scikit-learn object is being
 * read: "Pipeline step 'f': FunctionTransformer(func=numpy.log1p) is not
 * supported: ", naming the estimator, the attribute and the step the
 * global sits in, so that the user learns which part of a supported model
 * is not. Empty when the global is not inside an estimator. */
static void refusal_context(const struct vm *vm, const char *mod, size_t mlen,
                            const char *name, size_t nlen, char *buf, size_t len)
{
        buf[0] = '\0';
        size_t at = estimator_below(vm, vm->sp), key_at = 0;
        if (at == SIZE_MAX)
                return;
        const char *cls = vm->stack[at]->u.obj.cls->sk_name;
        const struct pv *key = pending_key(vm, at, &key_at);
        bool direct = key && key_at + 1 == vm->sp;
        char step[260];
        step_prefix(vm, at, step, sizeof(step));
        /* the global is the estimator of one of this object's steps (in
         * protocol 0 the class is copyreg._reconstructor's argument) */
        const struct pv *top = vm->stack[vm->sp - 1];
        if (top->kind == PV_GLOBAL && top->u.global->role == ROLE_RECONSTRUCTOR && vm->sp > 1)
                top = vm->stack[vm->sp - 2];
        if (!direct && is_steps_key(key) && top->kind == PV_STR) {
                snprintf(buf, len, "%s%s step '%.80s': ", step, cls, top->u.s.data);
                return;
        }
        /* numpy's ufuncs pickle under their C module; users write numpy.X */
        static const char *const ufunc_modules[] = {
                "numpy.core._multiarray_umath", "numpy._core._multiarray_umath",
                "numpy.core.umath", "numpy._core.umath",
        };
        bool ufunc = false;
        for (size_t i = 0; i < sizeof(ufunc_modules) / sizeof(ufunc_modules[0]); i++)
                ufunc |= strlen(ufunc_modules[i]) == mlen && memcmp(ufunc_modules[i], mod, mlen) == 0;
        int ml = ufunc ? 5 : (int)(mlen > 100 ? 100 : mlen), nl = (int)(nlen > 100 ? 100 : nlen);
        if (direct)
                snprintf(buf, len, "%s%s(%.60s=%.*s.%.*s) is not supported: ", step, cls,
                         key->u.s.data, ml, mod, nl, name);
        else if (key)
                snprintf(buf, len, "%s%s(%.60s=...%.*s.%.*s...) is not supported: ", step, cls,
                         key->u.s.data, ml, mod, nl, name);
        else
                snprintf(buf, len, "%s%s holds %.*s.%.*s, which is not supported: ", step, cls,
                         ml, mod, nl, name);
}

static int resolve_global(struct vm *vm, const char *mod, size_t mlen,
                          const char *name, size_t nlen, struct pv **out)
{
        const struct pv_class *c = allowlist_find(mod, mlen, name, nlen);
        /* Python maps the Python 2 module names only for protocols < 3 */
        bool py2_name = (mlen == 11 && memcmp(mod, "__builtin__", 11) == 0) ||
                        (mlen == 8 && memcmp(mod, "copy_reg", 8) == 0);
        if (c && py2_name && vm->ctx->max_protocol_seen >= 3)
                return fail(vm, -EPERM,
                            "refused global %.*s.%.*s: a Python 2 name in a protocol %d stream",
                            (int)mlen, mod, (int)nlen, name, vm->ctx->max_protocol_seen);
        if (!c) {
                int ml = (int)(mlen > 200 ? 200 : mlen), nl = (int)(nlen > 200 ? 200 : nlen);
                char where[400];
                refusal_context(vm, mod, mlen, name, nlen, where, sizeof(where));
                char why[300];
                if (mlen >= 8 && memcmp(mod, "sklearn.", 8) == 0)
                        allowlist_explain_sklearn(name, nlen, why, sizeof(why));
                else
                        allowlist_explain(mod, mlen, why, sizeof(why));
                return fail(vm, -EPERM, "%srefused global %.*s.%.*s: %s", where, ml, mod, nl,
                            name, why);
        }
        /* scipy pickles a distribution's bound method inside the state of
         * that distribution, so getattr named before any distribution is
         * refused right where it is named */
        if (c->role == ROLE_GETATTR && !vm->scipy_dist_seen)
                return fail(vm, -EPERM,
                            "refused global %.*s.%.*s: it is accepted only inside a scipy.stats "
                            "distribution (a RandomizedSearchCV's param_distributions), and "
                            "none is named before it",
                            (int)mlen, mod, (int)nlen, name);
        if (scipy_is_distribution(c))
                vm->scipy_dist_seen = true;
        struct pv *v = new_pv(vm, PV_GLOBAL);
        if (!v)
                return oom(vm);
        v->u.global = c;
        *out = v;
        return note_partial(vm, v);
}

/* REDUCE of functools.partial: an inert object, recorded so that a
 * builder must place it (partial.c). */
static int make_partial(struct vm *vm, const struct pv *fn, struct pv *args,
                        struct pv **out)
{
        char why[200];
        if (partial_check_args(args, why, sizeof(why)) < 0)
                return fail_partial(vm, fn->offset, "%s", why);
        struct pv *o = new_pv(vm, PV_OBJECT);
        if (!o)
                return oom(vm);
        o->u.obj.cls = fn->u.global;
        o->u.obj.args = args;
        if (partial_record(vm->ctx, o, fn->offset) < 0)
                return fail_partial(vm, fn->offset, "more than %d partial objects",
                                    MAX_PARTIALS);
        if (vm->partial_pending && !--vm->partial_pending)
                vm->partial_global = NULL;
        *out = o;
        return 0;
}

/* BUILD of a partial object: scikit-learn's state and nothing else. */
static int build_partial(struct vm *vm, struct pv *obj, struct pv *state)
{
        char why[200];
        if (partial_check_state(state, why, sizeof(why)) < 0)
                return fail_partial(vm, partial_name_off(vm, obj), "%s", why);
        obj->u.obj.state = state;
        return 0;
}

static bool is_class_role(enum pv_role r)
{
        return r == ROLE_ESTIMATOR || r == ROLE_JOBLIB_WRAPPER || r == ROLE_INERT;
}

/* A dict subclass kept as data (scikit-learn's Bunch of named
 * estimators, which repeats estimators_): its items are dropped unread. */
static bool is_inert_object(const struct pv *v)
{
        return v->kind == PV_OBJECT && v->u.obj.cls->role == ROLE_INERT;
}

static int new_object(struct vm *vm, const struct pv *cls, struct pv *args,
                      const char *how, struct pv **out)
{
        if (cls->kind != PV_GLOBAL || !is_class_role(cls->u.global->role))
                return fail(vm, -EPERM, "%s needs an allowed class, found %s%s%s", how,
                            cls->kind == PV_GLOBAL ? cls->u.global->module : pv_kind_name(cls),
                            cls->kind == PV_GLOBAL ? "." : "",
                            cls->kind == PV_GLOBAL ? cls->u.global->name : "");
        struct pv *o = new_pv(vm, PV_OBJECT);
        if (!o)
                return oom(vm);
        o->u.obj.cls = cls->u.global;
        o->u.obj.args = args;
        *out = o;
        return 0;
}

static size_t tuple_len(const struct pv *t)
{
        return t && t->kind == PV_TUPLE ? t->u.seq.len : 0;
}

static int datetime_str(struct vm *vm, const struct pv *args, bool with_time,
                        struct pv **out)
{
        size_t want = with_time ? 10 : 4;
        const struct pv *b = tuple_len(args) >= 1 ? args->u.seq.items[0] : NULL;
        if (!b || b->kind != PV_BYTES || b->u.s.len != want ||
            (tuple_len(args) == 2 && args->u.seq.items[1]->kind != PV_NONE) ||
            tuple_len(args) > 2)
                return fail(vm, -EINVAL,
                            "datetime: expected (%zu state bytes[, None]), found another form",
                            want);
        const uint8_t *p = (const uint8_t *)b->u.s.data;
        char buf[40];
        unsigned year = (unsigned)p[0] * 256 + p[1];
        if (year < 1 || year > 9999 || p[2] < 1 || p[2] > 12 || p[3] < 1 || p[3] > 31 ||
            (with_time && ((p[4] & 0x7F) > 23 || p[5] > 59 || p[6] > 59 ||
                           (((unsigned)p[7] << 16) | ((unsigned)p[8] << 8) | p[9]) > 999999)))
                return fail(vm, -EINVAL, "datetime: a field is out of range");
        int n;
        if (with_time) {
                unsigned us = ((unsigned)p[7] << 16) | ((unsigned)p[8] << 8) | p[9];
                n = snprintf(buf, sizeof(buf), "%04u-%02u-%02uT%02u:%02u:%02u",
                             year, p[2], p[3], p[4] & 0x7F, p[5], p[6]);
                if (us)
                        n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%06u", us);
        } else {
                n = snprintf(buf, sizeof(buf), "%04u-%02u-%02u", year, p[2], p[3]);
        }
        return make_str(vm, buf, (size_t)n, out);
}

/* REDUCE: the callable is always an allowlisted global with a native
 * meaning; nothing is looked up by name at this point. */
static int call_global(struct vm *vm, const struct pv *fn, struct pv *args,
                       struct pv **out)
{
        if (fn->kind != PV_GLOBAL)
                return fail(vm, -EPERM, "REDUCE needs a callable global, found %s",
                            pv_kind_name(fn));
        if (args->kind != PV_TUPLE)
                return fail(vm, -EINVAL, "REDUCE needs an argument tuple, found %s",
                            pv_kind_name(args));
        const struct pv_class *c = fn->u.global;
        struct pv **a = args->u.seq.items;
        size_t n = args->u.seq.len;
        int rc;

        switch (c->role) {
        case ROLE_ESTIMATOR:
        case ROLE_JOBLIB_WRAPPER:
        case ROLE_INERT:
                return new_object(vm, fn, args, "REDUCE", out);
        case ROLE_RECONSTRUCTOR:
                /* copyreg._reconstructor(cls, object, None) */
                if (n != 3 || a[1]->kind != PV_GLOBAL ||
                    a[1]->u.global->role != ROLE_OBJECT || a[2]->kind != PV_NONE)
                        return fail(vm, -EPERM,
                                    "copyreg._reconstructor: expected (class, object, None)");
                return new_object(vm, a[0], NULL, "copyreg._reconstructor", out);
        case ROLE_RECONSTRUCT: {
                if (n != 3 || a[0]->kind != PV_GLOBAL ||
                    a[0]->u.global->role != ROLE_NDARRAY)
                        return fail(vm, -EPERM,
                                    "numpy _reconstruct: expected (numpy.ndarray, shape, "
                                    "b'b'), found another form");
                struct pv *v = new_pv(vm, PV_ARRAY);
                struct pv_array *arr = v ? arena_alloc(vm->ctx->arena, sizeof(*arr)) : NULL;
                if (!arr)
                        return oom(vm);
                v->u.arr = arr;
                *out = v;
                return 0;
        }
        case ROLE_DTYPE: {
                if (n < 1 || (a[0]->kind != PV_STR && a[0]->kind != PV_BYTES))
                        return fail(vm, -EINVAL, "numpy.dtype: expected a descriptor string");
                struct pv *v = new_pv(vm, PV_DTYPE);
                if (!v)
                        return oom(vm);
                rc = numpy_dtype_from_descr(vm->ctx, a[0]->u.s.data, a[0]->u.s.len,
                                            vm->op_off, &v->u.dtype);
                if (rc < 0)
                        return rc;
                *out = v;
                return 0;
        }
        case ROLE_SCALAR: {
                if (n != 2 || a[0]->kind != PV_DTYPE || !a[0]->u.dtype->built)
                        return fail(vm, -EINVAL, "numpy scalar: expected (built dtype, data)");
                const struct pv_dtype *dt = a[0]->u.dtype;
                if (dt->kind == 'O') {
                        *out = a[1];
                        return 0;
                }
                if (a[1]->kind != PV_BYTES || a[1]->u.s.len != dt->itemsize)
                        return fail(vm, -EINVAL,
                                    "numpy scalar: expected %zu data bytes, found %s of %zu",
                                    dt->itemsize, pv_kind_name(a[1]),
                                    a[1]->kind == PV_BYTES ? a[1]->u.s.len : 0);
                const uint8_t *p = (const uint8_t *)a[1]->u.s.data;
                struct pv *v = NULL;
                if (dt->kind == 'f') {
                        v = new_pv(vm, PV_FLOAT);
                        if (v && !numpy_get_f64(dt, p, &v->u.f))
                                v = NULL;
                } else if (dt->kind == 'i' || dt->kind == 'u') {
                        v = new_pv(vm, PV_INT);
                        if (v && !numpy_get_i64(dt, p, &v->u.i))
                                return fail(vm, -EINVAL, "numpy scalar: integer out of range");
                } else if (dt->kind == 'b') {
                        v = new_pv(vm, PV_BOOL);
                        if (v)
                                v->u.b = p[0] != 0;
                } else if (dt->kind == 'U') {
                        /* numpy.str_ */
                        char *d = arena_alloc(vm->ctx->arena, dt->itemsize + 1);
                        if (!d)
                                return oom(vm);
                        long len = pv_utf32_decode(p, dt->itemsize / 4, dt->byteorder, d);
                        if (len < 0)
                                return fail(vm, -EINVAL,
                                            "numpy str scalar holds a value that is not a character");
                        if (!(v = new_pv(vm, PV_STR)))
                                return oom(vm);
                        v->u.s.data = d;
                        v->u.s.len = (size_t)len;
                } else {
                        return fail(vm, -EINVAL, "numpy scalar of kind '%c' is not supported",
                                    dt->kind);
                }
                if (!v)
                        return oom(vm);
                *out = v;
                return 0;
        }
        case ROLE_FROMBUFFER: {
                /* (buf, dtype, shape, 'C' | 'F'), or from numpy 2.4 (buf,
                 * dtype, shape, 'K', axis_order): C-ordered data of shape,
                 * then transposed by axis_order */
                bool k_order = n == 5 && pv_is_str(a[3], "K") && a[4]->kind == PV_TUPLE;
                if ((n != 4 && !k_order) || a[0]->kind != PV_BYTES || a[1]->kind != PV_DTYPE ||
                    a[2]->kind != PV_TUPLE ||
                    !(k_order || pv_is_str(a[3], "C") || pv_is_str(a[3], "F")))
                        return fail(vm, -EINVAL,
                                    "numpy _frombuffer: expected (buffer, dtype, shape, "
                                    "'C' or 'F') or (buffer, dtype, shape, 'K', axis_order)");
                size_t shape[32], ndim, count, axes[32];
                rc = numpy_shape_from_tuple(vm->ctx, a[2], shape, &ndim, &count, vm->op_off);
                if (rc < 0)
                        return rc;
                if (k_order) {
                        if (a[4]->u.seq.len != ndim)
                                return fail(vm, -EINVAL,
                                            "numpy _frombuffer: axis_order has %zu axes, the "
                                            "shape %zu", a[4]->u.seq.len, ndim);
                        for (size_t d = 0; d < ndim; d++) {
                                const struct pv *ax = a[4]->u.seq.items[d];
                                if (ax->kind != PV_INT || ax->u.i < 0 ||
                                    (uint64_t)ax->u.i >= ndim)
                                        return fail(vm, -EINVAL,
                                                    "numpy _frombuffer: axis_order holds "
                                                    "something other than an axis number");
                                axes[d] = (size_t)ax->u.i;
                        }
                }
                rc = numpy_array_from_bytes(vm->ctx, a[1]->u.dtype, shape, ndim,
                                            k_order ? 'C' : a[3]->u.s.data[0],
                                            (const uint8_t *)a[0]->u.s.data,
                                            a[0]->u.s.len, vm->op_off, out);
                if (rc == 0 && k_order)
                        rc = numpy_array_transpose(vm->ctx, (*out)->u.arr, axes, vm->op_off);
                return rc;
        }
        case ROLE_CODECS_ENCODE: {
                /* protocol 2 spells bytes as encode(str, 'latin1') */
                if (n != 2 || a[0]->kind != PV_STR ||
                    !(pv_is_str(a[1], "latin1") || pv_is_str(a[1], "latin-1")))
                        return fail(vm, -EINVAL,
                                    "_codecs.encode: expected (str, 'latin1'), found another form");
                const uint8_t *s = (const uint8_t *)a[0]->u.s.data;
                size_t len = a[0]->u.s.len, o = 0;
                /* raw: the bytes are d[0, o), all written below */
                uint8_t *d = arena_alloc_raw(vm->ctx->arena, len + 1);
                if (!d)
                        return oom(vm);
                for (size_t i = 0; i < len; i++) {
                        if (s[i] < 0x80) {
                                d[o++] = s[i];
                        } else if ((s[i] & 0xE0) == 0xC0 && i + 1 < len) {
                                /* valid UTF-8 of a code point <= 0xFF */
                                uint32_t cp = ((uint32_t)(s[i] & 0x1F) << 6) | (s[i + 1] & 0x3F);
                                if (cp > 0xFF)
                                        return fail(vm, -EINVAL,
                                                    "_codecs.encode: U+%X does not fit latin1", cp);
                                d[o++] = (uint8_t)cp;
                                i++;
                        } else {
                                return fail(vm, -EINVAL,
                                            "_codecs.encode: a character does not fit latin1");
                        }
                }
                return make_bytes(vm, d, o, out);
        }
        case ROLE_BYTES:
                if (n == 0)
                        return make_bytes(vm, (const uint8_t *)"", 0, out);
                if (n == 1 && a[0]->kind == PV_BYTES) {
                        *out = a[0];
                        return 0;
                }
                return fail(vm, -EINVAL, "bytes(): expected no argument or bytes");
        case ROLE_SET: {
                struct pv *s = new_pv(vm, PV_SET);
                if (!s)
                        return oom(vm);
                if (n == 1 && (a[0]->kind == PV_LIST || a[0]->kind == PV_TUPLE)) {
                        for (size_t i = 0; i < a[0]->u.seq.len; i++)
                                if ((rc = seq_append(vm, s, a[0]->u.seq.items[i])) < 0)
                                        return rc;
                } else if (n != 0) {
                        return fail(vm, -EINVAL, "set(): expected a list");
                }
                *out = s;
                return 0;
        }
        case ROLE_ORDERED_DICT: {
                if (n != 0)
                        return fail(vm, -EINVAL, "collections.OrderedDict(): expected no "
                                    "arguments (its items follow as SETITEMS), found %zu", n);
                struct pv *d = new_pv(vm, PV_DICT);
                if (!d)
                        return oom(vm);
                *out = d;
                return 0;
        }
        case ROLE_PARTIAL:
                return make_partial(vm, fn, args, out);
        case ROLE_GETATTR: {
                /* a scipy distribution's bound method, kept as a name */
                char why[200];
                if (scipy_getattr_check(args, why, sizeof(why)) < 0)
                        return fail(vm, -EPERM, "refused global builtins.getattr: %s", why);
                struct pv *o = new_pv(vm, PV_OBJECT);
                if (!o)
                        return oom(vm);
                o->u.obj.cls = c;
                o->u.obj.args = args;
                *out = o;
                return 0;
        }
        case ROLE_DATETIME:
                return datetime_str(vm, args, true, out);
        case ROLE_DATE:
                return datetime_str(vm, args, false, out);
        case ROLE_NDARRAY:
        case ROLE_OBJECT:
        case ROLE_CHECK_ARRAY:
                break;
        }
        return fail(vm, -EPERM, "%s.%s may not be called", c->module, c->name);
}

/* joblib writes each array's bytes straight after its wrapper's BUILD. */
static int joblib_read_array(struct vm *vm, struct pv *wrapper,
                             struct pv **out)
{
        const struct pv *st = wrapper->u.obj.state;
        const struct pv *dtype = pv_dict_get(st, "dtype");
        const struct pv *shape_t = pv_dict_get(st, "shape");
        const struct pv *order = pv_dict_get(st, "order");
        const struct pv *align = pv_dict_get(st, "numpy_array_alignment_bytes");
        if (!dtype || dtype->kind != PV_DTYPE || !shape_t ||
            shape_t->kind != PV_TUPLE || !(pv_is_str(order, "C") || pv_is_str(order, "F")))
                return fail(vm, -EINVAL,
                            "joblib NumpyArrayWrapper: expected dtype, shape and order "
                            "'C'/'F' in its state");
        if (vm->frame_end && vm->pos < vm->frame_end)
                return fail(vm, -EINVAL,
                            "joblib array data would start inside a pickle frame");
        vm->frame_end = 0;
        size_t shape[32], ndim, count;
        int rc = numpy_shape_from_tuple(vm->ctx, shape_t, shape, &ndim, &count, vm->op_off);
        if (rc < 0)
                return rc;
        if (dtype->u.dtype->kind == 'O') {
                if (vm->nested >= MAX_NESTED_PICKLES)
                        return fail(vm, -EINVAL, "pickles nested deeper than %d",
                                    MAX_NESTED_PICKLES);
                struct pv *v = NULL;
                rc = pickle_vm_run(vm->ctx, &vm->pos, vm->nested + 1, &v);
                if (rc < 0)
                        return rc;
                if (v->kind != PV_ARRAY || !v->u.arr->built ||
                    v->u.arr->dtype->kind != 'O' || v->u.arr->count != count)
                        return fail(vm, -EINVAL,
                                    "joblib object array: the embedded pickle holds %s, "
                                    "expected an object array of %zu items",
                                    pv_kind_name(v), count);
                *out = v;
                return 0;
        }
        if (align && align->kind != PV_NONE) {
                uint64_t pad;
                const uint8_t *skip = NULL;
                if ((rc = read_uint(vm, 1, &pad)) < 0 ||
                    (rc = read_bytes(vm, (size_t)pad, &skip)) < 0)
                        return rc;
        }
        size_t item = dtype->u.dtype->itemsize;
        if (item && count > SIZE_MAX / item)
                return fail(vm, -EFBIG, "joblib array of %zu items is too large", count);
        const uint8_t *data = NULL;
        if ((rc = read_bytes(vm, count * item, &data)) < 0)
                return rc;
        return numpy_array_from_bytes(vm->ctx, dtype->u.dtype, shape, ndim,
                                      order->u.s.data[0], data, count * item,
                                      vm->op_off, out);
}

static int do_build(struct vm *vm)
{
        struct pv *state = NULL, *obj = NULL;
        int rc;
        if ((rc = pop(vm, &state, "BUILD state")) < 0 ||
            (rc = top(vm, &obj, "an object to BUILD")) < 0)
                return rc;
        switch (obj->kind) {
        case PV_ARRAY:
                return numpy_array_build(vm->ctx, obj->u.arr, state, vm->op_off);
        case PV_DTYPE:
                return numpy_dtype_build(vm->ctx, obj->u.dtype, state, vm->op_off);
        case PV_OBJECT:
                break;
        default:
                return fail(vm, -EPERM, "BUILD on a %s is not allowed", pv_kind_name(obj));
        }
        if (obj->u.obj.state)
                return fail(vm, -EINVAL, "BUILD applied twice to one %s",
                            pv_kind_name(obj));
        if (obj->u.obj.cls->role == ROLE_PARTIAL)
                return build_partial(vm, obj, state);
        if (obj->u.obj.cls->role == ROLE_GETATTR)
                return fail(vm, -EPERM, "BUILD on the result of builtins.getattr is not "
                            "allowed");
        /* Cython and numpy objects set their state from tuples; it is kept
         * as it is and never read */
        if (obj->u.obj.cls->role == ROLE_INERT) {
                obj->u.obj.state = state;
                return 0;
        }
        /* (dict, slots) form: only a dict is meaningful for sklearn */
        if (state->kind == PV_TUPLE && state->u.seq.len == 2 &&
            state->u.seq.items[1]->kind == PV_NONE)
                state = state->u.seq.items[0];
        if (state->kind != PV_DICT)
                return fail(vm, -EINVAL, "BUILD of %s: expected a state dict, found %s",
                            pv_kind_name(obj), pv_kind_name(state));
        obj->u.obj.state = state;
        if (obj->u.obj.cls->role == ROLE_JOBLIB_WRAPPER) {
                vm->ctx->joblib_arrays++;
                struct pv *arr = NULL;
                if ((rc = joblib_read_array(vm, obj, &arr)) < 0)
                        return rc;
                vm->stack[vm->sp - 1] = arr;
        }
        return 0;
}

/* --- the loop ------------------------------------------------------ */

static int make_tuple(struct vm *vm, struct pv **items, size_t n,
                      struct pv **out)
{
        struct pv *t = new_pv(vm, PV_TUPLE);
        if (!t)
                return oom(vm);
        t->u.seq.items = arena_alloc(vm->ctx->arena, (n ? n : 1) * sizeof(*items));
        if (!t->u.seq.items)
                return oom(vm);
        if (n)
                memcpy(t->u.seq.items, items, n * sizeof(*items));
        t->u.seq.len = t->u.seq.cap = n;
        *out = t;
        return 0;
}

static int op_long(struct vm *vm, size_t n)
{
        const uint8_t *p = NULL;
        int rc = read_bytes(vm, n, &p);
        if (rc < 0)
                return rc;
        struct pv *v = NULL;
        if (n <= 8) {
                uint64_t u = 0;
                for (size_t i = n; i-- > 0;)
                        u = (u << 8) | p[i];
                if (n > 0 && n < 8 && (p[n - 1] & 0x80))
                        u |= ~(uint64_t)0 << (8 * n);
                return make_int(vm, (int64_t)u, &v) < 0 ? oom(vm) : push(vm, v);
        }
        v = new_pv(vm, PV_BIGINT);
        if (!v)
                return oom(vm);
        v->u.s.data = (const char *)p;
        v->u.s.len = n;
        return push(vm, v);
}

static int step(struct vm *vm, bool *done, struct pv **result)
{
        const uint8_t *p = NULL;
        uint64_t u;
        struct pv *v = NULL, *a = NULL, *b = NULL, *c = NULL, **items = NULL;
        size_t n = 0;
        const char *line = NULL, *line2 = NULL;
        size_t len, len2;
        int rc;

        vm->op_off = vm->pos;
        if ((rc = read_bytes(vm, 1, &p)) < 0)
                return fail(vm, -EINVAL, "stream ends without a STOP opcode (truncated?)");
        uint8_t op = p[0];

        switch (op) {
        case 0x80: /* PROTO */
                if ((rc = read_uint(vm, 1, &u)) < 0)
                        return rc;
                if (u > 5)
                        return fail(vm, -EINVAL, "unsupported pickle protocol %u (expected 0-5)",
                                    (unsigned)u);
                if ((int)u > vm->ctx->max_protocol_seen)
                        vm->ctx->max_protocol_seen = (int)u;
                return 0;
        case 0x95: /* FRAME */
                if (vm->frame_end && vm->pos < vm->frame_end)
                        return fail(vm, -EINVAL, "a new frame begins before the current one ends");
                vm->frame_end = 0;
                if ((rc = read_uint(vm, 8, &u)) < 0)
                        return rc;
                if (u > vm->ctx->len - vm->pos)
                        return fail(vm, -EINVAL,
                                    "frame of %" PRIu64 " bytes, but only %zu remain",
                                    u, vm->ctx->len - vm->pos);
                vm->frame_end = vm->pos + (size_t)u;
                return 0;
        case '.': /* STOP */
                if (vm->partial_pending)
                        return fail_partial(vm, vm->partial_global->offset,
                                            "the stream uses it other than to wrap "
                                            "sklearn.utils.validation.check_array");
                if ((rc = pop(vm, result, "a result at STOP")) < 0)
                        return rc;
                *done = true;
                return 0;
        case '(': /* MARK */
                return push_mark(vm);
        case '0': /* POP */
                if (vm->sp > floor_of(vm)) {
                        vm->sp--;
                        return 0;
                }
                return pop_mark(vm, &items, &n);
        case '1': /* POP_MARK */
                return pop_mark(vm, &items, &n);
        case '2': /* DUP */
                if ((rc = top(vm, &v, "a value to DUP")) < 0 ||
                    (rc = note_partial(vm, v)) < 0)
                        return rc;
                return push(vm, v);

        /* constants and numbers */
        case 'N':
                return (v = new_pv(vm, PV_NONE)) ? push(vm, v) : oom(vm);
        case 0x88: /* NEWTRUE */
        case 0x89: /* NEWFALSE */
                if (!(v = new_pv(vm, PV_BOOL)))
                        return oom(vm);
                v->u.b = op == 0x88;
                return push(vm, v);
        case 'J': /* BININT */
                if ((rc = read_uint(vm, 4, &u)) < 0)
                        return rc;
                return make_int(vm, (int32_t)(uint32_t)u, &v) < 0 ? oom(vm) : push(vm, v);
        case 'K': /* BININT1 */
        case 'M': /* BININT2 */
                if ((rc = read_uint(vm, op == 'K' ? 1 : 2, &u)) < 0)
                        return rc;
                return make_int(vm, (int64_t)u, &v) < 0 ? oom(vm) : push(vm, v);
        case 0x8a: /* LONG1 */
                if ((rc = read_uint(vm, 1, &u)) < 0)
                        return rc;
                return op_long(vm, (size_t)u);
        case 0x8b: /* LONG4 */
                if ((rc = read_uint(vm, 4, &u)) < 0)
                        return rc;
                if ((int32_t)(uint32_t)u < 0)
                        return fail(vm, -EINVAL, "LONG4 with a negative length");
                return op_long(vm, (size_t)u);
        case 'I': /* INT (text) */
        case 'L': { /* LONG (text) */
                int64_t iv = 0;
                bool big;
                if ((rc = read_line(vm, &line, &len)) < 0)
                        return rc;
                if (op == 'L' && len > 0 && line[len - 1] == 'L')
                        len--;
                if (op == 'I' && len == 2 && line[0] == '0' && (line[1] == '0' || line[1] == '1')) {
                        if (!(v = new_pv(vm, PV_BOOL)))
                                return oom(vm);
                        v->u.b = line[1] == '1';
                        return push(vm, v);
                }
                if ((rc = parse_decimal(vm, line, len, &iv, &big)) < 0)
                        return rc;
                if (big) {
                        if (!(v = new_pv(vm, PV_BIGINT)))
                                return oom(vm);
                        v->u.s.data = line;
                        v->u.s.len = len;
                        return push(vm, v);
                }
                return make_int(vm, iv, &v) < 0 ? oom(vm) : push(vm, v);
        }
        case 'G': { /* BINFLOAT, big-endian */
                if ((rc = read_bytes(vm, 8, &p)) < 0)
                        return rc;
                uint64_t bits = 0;
                for (int i = 0; i < 8; i++)
                        bits = (bits << 8) | p[i];
                if (!(v = new_pv(vm, PV_FLOAT)))
                        return oom(vm);
                memcpy(&v->u.f, &bits, sizeof(double));
                return push(vm, v);
        }
        case 'F': /* FLOAT (text) */
                if ((rc = read_line(vm, &line, &len)) < 0)
                        return rc;
                if (!(v = new_pv(vm, PV_FLOAT)))
                        return oom(vm);
                if ((rc = parse_text_float(vm, line, len, &v->u.f)) < 0)
                        return rc;
                return push(vm, v);

        /* strings and bytes */
        case 'X': /* BINUNICODE */
        case 0x8c: /* SHORT_BINUNICODE */
        case 0x8d: /* BINUNICODE8 */
                if ((rc = read_uint(vm, op == 'X' ? 4 : op == 0x8c ? 1 : 8, &u)) < 0)
                        return rc;
                if (u > vm->ctx->len - vm->pos)
                        return fail(vm, -EINVAL,
                                    "string of %" PRIu64 " bytes, but only %zu remain", u,
                                    vm->ctx->len - vm->pos);
                if ((rc = read_bytes(vm, (size_t)u, &p)) < 0 ||
                    (rc = make_str(vm, (const char *)p, (size_t)u, &v)) < 0)
                        return rc;
                return push(vm, v);
        case 'B': /* BINBYTES */
        case 'C': /* SHORT_BINBYTES */
        case 0x8e: /* BINBYTES8 */
        case 0x96: /* BYTEARRAY8 */
        case 'T': /* BINSTRING (py2 str) */
        case 'U': /* SHORT_BINSTRING */
                n = (op == 'C' || op == 'U') ? 1 : (op == 'B' || op == 'T') ? 4 : 8;
                if ((rc = read_uint(vm, n, &u)) < 0)
                        return rc;
                if (op == 'T' && (int32_t)(uint32_t)u < 0)
                        return fail(vm, -EINVAL, "BINSTRING with a negative length");
                if (u > vm->ctx->len - vm->pos)
                        return fail(vm, -EINVAL,
                                    "bytes of length %" PRIu64 ", but only %zu remain", u,
                                    vm->ctx->len - vm->pos);
                if ((rc = read_bytes(vm, (size_t)u, &p)) < 0 ||
                    (rc = make_bytes(vm, p, (size_t)u, &v)) < 0)
                        return rc;
                return push(vm, v);
        case 'S': /* STRING (text, quoted) */
                if ((rc = read_line(vm, &line, &len)) < 0 ||
                    (rc = decode_quoted(vm, line, len, &v)) < 0)
                        return rc;
                return push(vm, v);
        case 'V': /* UNICODE (text) */
                if ((rc = read_line(vm, &line, &len)) < 0 ||
                    (rc = decode_raw_unicode(vm, line, len, &v)) < 0)
                        return rc;
                return push(vm, v);

        /* containers */
        case ')': /* EMPTY_TUPLE */
                return make_tuple(vm, NULL, 0, &v) < 0 ? oom(vm) : push(vm, v);
        case 0x85: /* TUPLE1 */
        case 0x86: /* TUPLE2 */
        case 0x87: /* TUPLE3 */
                n = (size_t)(op - 0x84);
                if (vm->sp - floor_of(vm) < n)
                        return fail(vm, -EINVAL, "TUPLE%zu needs %zu items on the stack", n, n);
                vm->sp -= n;
                if ((rc = make_tuple(vm, vm->stack + vm->sp, n, &v)) < 0)
                        return rc;
                return push(vm, v);
        case 't': /* TUPLE */
                if ((rc = pop_mark(vm, &items, &n)) < 0 ||
                    (rc = make_tuple(vm, items, n, &v)) < 0)
                        return rc;
                return push(vm, v);
        case ']': /* EMPTY_LIST */
        case 'l': /* LIST */
                if (!(v = new_pv(vm, PV_LIST)))
                        return oom(vm);
                if (op == 'l') {
                        if ((rc = pop_mark(vm, &items, &n)) < 0)
                                return rc;
                        for (size_t i = 0; i < n; i++)
                                if ((rc = seq_append(vm, v, items[i])) < 0)
                                        return rc;
                }
                return push(vm, v);
        case 'a': /* APPEND */
                if ((rc = pop(vm, &a, "a value to APPEND")) < 0 ||
                    (rc = top(vm, &b, "a list to APPEND to")) < 0)
                        return rc;
                if (b->kind != PV_LIST)
                        return fail(vm, -EPERM, "APPEND to a %s is not allowed", pv_kind_name(b));
                return seq_append(vm, b, a);
        case 'e': /* APPENDS */
                if ((rc = pop_mark(vm, &items, &n)) < 0 ||
                    (rc = top(vm, &b, "a list to APPENDS to")) < 0)
                        return rc;
                if (b->kind != PV_LIST)
                        return fail(vm, -EPERM, "APPENDS to a %s is not allowed", pv_kind_name(b));
                for (size_t i = 0; i < n; i++)
                        if ((rc = seq_append(vm, b, items[i])) < 0)
                                return rc;
                return 0;
        case '}': /* EMPTY_DICT */
        case 'd': /* DICT */
                if (!(v = new_pv(vm, PV_DICT)))
                        return oom(vm);
                if (op == 'd') {
                        if ((rc = pop_mark(vm, &items, &n)) < 0)
                                return rc;
                        if (n % 2)
                                return fail(vm, -EINVAL, "DICT with an odd number of items");
                        for (size_t i = 0; i < n; i += 2)
                                if ((rc = dict_set(vm, v, items[i], items[i + 1])) < 0)
                                        return rc;
                }
                return push(vm, v);
        case 's': /* SETITEM */
                if ((rc = pop(vm, &a, "a value to SETITEM")) < 0 ||
                    (rc = pop(vm, &b, "a key to SETITEM")) < 0 ||
                    (rc = top(vm, &c, "a dict to SETITEM in")) < 0)
                        return rc;
                if (is_inert_object(c))
                        return 0;
                if (c->kind != PV_DICT)
                        return fail(vm, -EPERM, "SETITEM on a %s is not allowed", pv_kind_name(c));
                return dict_set(vm, c, b, a);
        case 'u': /* SETITEMS */
                if ((rc = pop_mark(vm, &items, &n)) < 0 ||
                    (rc = top(vm, &c, "a dict to SETITEMS in")) < 0)
                        return rc;
                if (is_inert_object(c))
                        return 0;
                if (c->kind != PV_DICT)
                        return fail(vm, -EPERM, "SETITEMS on a %s is not allowed", pv_kind_name(c));
                if (n % 2)
                        return fail(vm, -EINVAL, "SETITEMS with an odd number of items");
                for (size_t i = 0; i < n; i += 2)
                        if ((rc = dict_set(vm, c, items[i], items[i + 1])) < 0)
                                return rc;
                return 0;
        case 0x8f: /* EMPTY_SET */
                return (v = new_pv(vm, PV_SET)) ? push(vm, v) : oom(vm);
        case 0x90: /* ADDITEMS */
                if ((rc = pop_mark(vm, &items, &n)) < 0 ||
                    (rc = top(vm, &c, "a set to ADDITEMS to")) < 0)
                        return rc;
                if (c->kind != PV_SET)
                        return fail(vm, -EPERM, "ADDITEMS to a %s is not allowed", pv_kind_name(c));
                for (size_t i = 0; i < n; i++)
                        if ((rc = seq_append(vm, c, items[i])) < 0)
                                return rc;
                return 0;
        case 0x91: /* FROZENSET */
                if ((rc = pop_mark(vm, &items, &n)) < 0)
                        return rc;
                if (!(v = new_pv(vm, PV_SET)))
                        return oom(vm);
                for (size_t i = 0; i < n; i++)
                        if ((rc = seq_append(vm, v, items[i])) < 0)
                                return rc;
                return push(vm, v);

        /* memo */
        case 'p': /* PUT */
                if ((rc = parse_index(vm, &u)) < 0 || (rc = top(vm, &v, "a value to PUT")) < 0)
                        return rc;
                return memo_put(vm, u, v);
        case 'q': /* BINPUT */
        case 'r': /* LONG_BINPUT */
                if ((rc = read_uint(vm, op == 'q' ? 1 : 4, &u)) < 0 ||
                    (rc = top(vm, &v, "a value to PUT")) < 0)
                        return rc;
                return memo_put(vm, u, v);
        case 0x94: /* MEMOIZE */
                if ((rc = top(vm, &v, "a value to MEMOIZE")) < 0)
                        return rc;
                return memo_put(vm, vm->memo_count, v);
        case 'g': /* GET */
                if ((rc = parse_index(vm, &u)) < 0)
                        return rc;
                return memo_get(vm, u);
        case 'h': /* BINGET */
        case 'j': /* LONG_BINGET */
                if ((rc = read_uint(vm, op == 'h' ? 1 : 4, &u)) < 0)
                        return rc;
                return memo_get(vm, u);

        /* globals and objects */
        case 'c': /* GLOBAL "module\nname\n" */
                if ((rc = read_line(vm, &line, &len)) < 0 ||
                    (rc = read_line(vm, &line2, &len2)) < 0 ||
                    (rc = resolve_global(vm, line, len, line2, len2, &v)) < 0)
                        return rc;
                return push(vm, v);
        case 0x93: /* STACK_GLOBAL */
                if ((rc = pop(vm, &b, "a name for STACK_GLOBAL")) < 0 ||
                    (rc = pop(vm, &a, "a module for STACK_GLOBAL")) < 0)
                        return rc;
                if (a->kind != PV_STR || b->kind != PV_STR)
                        return fail(vm, -EINVAL,
                                    "STACK_GLOBAL needs two str, found %s and %s",
                                    pv_kind_name(a), pv_kind_name(b));
                if ((rc = resolve_global(vm, a->u.s.data, a->u.s.len, b->u.s.data,
                                         b->u.s.len, &v)) < 0)
                        return rc;
                return push(vm, v);
        case 'R': /* REDUCE */
                if ((rc = pop(vm, &a, "REDUCE arguments")) < 0 ||
                    (rc = pop(vm, &b, "a callable to REDUCE")) < 0 ||
                    (rc = call_global(vm, b, a, &v)) < 0)
                        return rc;
                return push(vm, v);
        case 0x81: /* NEWOBJ */
                if ((rc = pop(vm, &a, "NEWOBJ arguments")) < 0 ||
                    (rc = pop(vm, &b, "a class for NEWOBJ")) < 0 ||
                    (rc = new_object(vm, b, a, "NEWOBJ", &v)) < 0)
                        return rc;
                return push(vm, v);
        case 0x92: /* NEWOBJ_EX */
                if ((rc = pop(vm, &c, "NEWOBJ_EX keyword arguments")) < 0 ||
                    (rc = pop(vm, &a, "NEWOBJ_EX arguments")) < 0 ||
                    (rc = pop(vm, &b, "a class for NEWOBJ_EX")) < 0)
                        return rc;
                if (c->kind != PV_DICT || c->u.dict.len)
                        return fail(vm, -EPERM, "NEWOBJ_EX with keyword arguments is not allowed");
                if ((rc = new_object(vm, b, a, "NEWOBJ_EX", &v)) < 0)
                        return rc;
                return push(vm, v);
        case 'i': /* INST "module\nname\n" with args since MARK */
                if ((rc = read_line(vm, &line, &len)) < 0 ||
                    (rc = read_line(vm, &line2, &len2)) < 0 ||
                    (rc = resolve_global(vm, line, len, line2, len2, &b)) < 0 ||
                    (rc = pop_mark(vm, &items, &n)) < 0 ||
                    (rc = make_tuple(vm, items, n, &a)) < 0 ||
                    (rc = new_object(vm, b, a, "INST", &v)) < 0)
                        return rc;
                return push(vm, v);
        case 'o': /* OBJ: class and args since MARK */
                if ((rc = pop_mark(vm, &items, &n)) < 0)
                        return rc;
                if (n == 0)
                        return fail(vm, -EINVAL, "OBJ needs a class after its MARK");
                b = items[0];
                if ((rc = make_tuple(vm, items + 1, n - 1, &a)) < 0 ||
                    (rc = new_object(vm, b, a, "OBJ", &v)) < 0)
                        return rc;
                return push(vm, v);
        case 'b': /* BUILD */
                return do_build(vm);

        /* what reaches outside the stream */
        case 'P':
        case 'Q':
                return fail(vm, -EPERM,
                            "opcode %s (persistent id) is not allowed: it asks the loader "
                            "for an object from outside the file",
                            op == 'P' ? "PERSID" : "BINPERSID");
        case 0x82:
        case 0x83:
        case 0x84:
                return fail(vm, -EPERM,
                            "opcode EXT%d is not allowed: it names a global through "
                            "Python's copyreg extension registry",
                            op == 0x82 ? 1 : op == 0x83 ? 2 : 4);
        case 0x97:
        case 0x98:
                return fail(vm, -EPERM,
                            "opcode %s is not allowed: model files carry no out-of-band "
                            "buffers",
                            op == 0x97 ? "NEXT_BUFFER" : "READONLY_BUFFER");
        default:
                return fail(vm, -EINVAL, "unknown opcode 0x%02x", op);
        }
}

int pickle_vm_run(struct pickle_ctx *ctx, size_t *pos, int nested,
                  struct pv **out)
{
        struct vm vm = { .ctx = ctx, .pos = *pos, .nested = nested };
        struct pv *result = NULL;
        bool done = false;
        int rc = 0;
        while (!done && rc == 0)
                rc = step(&vm, &done, &result);
        if (rc < 0 && vm.partial_pending && ctx->err) {
                /* the partial came first: name it, then what went wrong */
                char inner[sizeof(ctx->err->message)];
                memcpy(inner, ctx->err->message, sizeof(inner));
                size_t off = vm.partial_global->offset;
                serr_set(ctx->err, (long long)off, "byte offset %zu: " PARTIAL_REFUSED
                         "; the stream failed before it wrapped check_array (%s)", off, inner);
        }
        free(vm.stack);
        free(vm.marks);
        free(vm.memo);
        if (rc < 0)
                return rc;
        *pos = vm.pos;
        *out = result;
        return 0;
}
