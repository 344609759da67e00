/* strings.c - string-valued columns.
 *
 * A model that encodes string categories (OneHotEncoder, OrdinalEncoder,
 * SimpleImputer over object columns) keeps every string it knows in one
 * table owned by the outermost model. A string cell travels through the
 * double matrices as a NaN whose payload is the string's code in that
 * table, so it can never be mistaken for a number: an encoder over
 * numeric categories sees such a value as unknown, and one over string
 * categories sees every number as unknown. Plain NaN stays "missing". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* A quiet NaN with bit 50 set marks a string; bits 0..49 hold the code. */
#define STR_TAG ((uint64_t)0x7FFC000000000000)
#define STR_MASK ((uint64_t)0xFFFC000000000000)
#define STR_CODE_BITS ((uint64_t)0x0003FFFFFFFFFFFF)
#define STR_UNKNOWN_CODE STR_CODE_BITS

struct model_strings {
        char **s;      /* by code */
        size_t *len;
        size_t n, cap;
        uint32_t *slot; /* open addressing: code + 1, 0 = empty */
        size_t n_slots; /* power of two, > 2 n */
};

static uint64_t bits_of(double v)
{
        uint64_t b;
        memcpy(&b, &v, sizeof(b));
        return b;
}

static double from_bits(uint64_t b)
{
        double v;
        memcpy(&v, &b, sizeof(v));
        return v;
}

double model_string_box(uint64_t code)
{
        return from_bits(STR_TAG | (code & STR_CODE_BITS));
}

bool model_is_string_value(double v)
{
        return (bits_of(v) & STR_MASK) == STR_TAG;
}

bool model_string_code_of(double v, uint64_t *code)
{
        uint64_t b = bits_of(v);
        if ((b & STR_MASK) != STR_TAG || (b & STR_CODE_BITS) == STR_UNKNOWN_CODE)
                return false;
        *code = b & STR_CODE_BITS;
        return true;
}

bool model_is_missing(double v)
{
        return v != v && !model_is_string_value(v);
}

/* FNV-1a */
static size_t hash_of(const char *s, size_t len)
{
        uint64_t h = 1469598103934665603ULL;
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= 1099511628211ULL;
        }
        return (size_t)h;
}

struct model_strings *model_strings_new(void)
{
        return calloc(1, sizeof(struct model_strings));
}

void model_strings_free(struct model_strings *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n; i++)
                free(t->s[i]);
        free(t->s);
        free(t->len);
        free(t->slot);
        free(t);
}

/* The slot where s is, or the empty slot where it would go. */
static size_t find_slot(const struct model_strings *t, const char *s, size_t len)
{
        size_t mask = t->n_slots - 1, i = hash_of(s, len) & mask;
        while (t->slot[i]) {
                size_t c = t->slot[i] - 1;
                if (t->len[c] == len && memcmp(t->s[c], s, len) == 0)
                        return i;
                i = (i + 1) & mask;
        }
        return i;
}

static int grow(struct model_strings *t)
{
        if (t->n == t->cap) {
                size_t cap = t->cap ? 2 * t->cap : 16;
                char **s = realloc(t->s, cap * sizeof(*s));
                if (!s)
                        return -ENOMEM;
                t->s = s;
                size_t *len = realloc(t->len, cap * sizeof(*len));
                if (!len)
                        return -ENOMEM;
                t->len = len;
                t->cap = cap;
        }
        if (2 * (t->n + 1) < t->n_slots)
                return 0;
        size_t n_slots = t->n_slots ? 2 * t->n_slots : 64;
        uint32_t *slot = calloc(n_slots, sizeof(*slot));
        if (!slot)
                return -ENOMEM;
        free(t->slot);
        t->slot = slot;
        t->n_slots = n_slots;
        for (size_t c = 0; c < t->n; c++)
                t->slot[find_slot(t, t->s[c], t->len[c])] = (uint32_t)(c + 1);
        return 0;
}

int model_strings_intern(struct model_strings *t, const char *s, size_t len,
                         double *value)
{
        if (t->n_slots) {
                size_t i = find_slot(t, s, len);
                if (t->slot[i]) {
                        *value = model_string_box(t->slot[i] - 1);
                        return 0;
                }
        }
        if (t->n >= MODEL_MAX_STRINGS)
                return -E2BIG;
        int rc = grow(t);
        if (rc < 0)
                return rc;
        char *copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, s, len);
        copy[len] = '\0';
        t->s[t->n] = copy;
        t->len[t->n] = len;
        t->slot[find_slot(t, s, len)] = (uint32_t)(t->n + 1);
        *value = model_string_box(t->n);
        t->n++;
        return 0;
}

void model_attach_strings(struct model *m, struct model_strings *t)
{
        model_strings_free(m->strings);
        m->strings = t;
}

double model_string_value(const struct model *m, const char *s, size_t len)
{
        const struct model_strings *t = m->strings;
        if (t && t->n_slots) {
                size_t i = find_slot(t, s, len);
                if (t->slot[i])
                        return model_string_box(t->slot[i] - 1);
        }
        return model_string_box(STR_UNKNOWN_CODE);
}

enum model_column_kind model_column_kind(const struct model *m, size_t col)
{
        return m->in_kinds && col < m->n_features ? (enum model_column_kind)m->in_kinds[col]
                                                   : MODEL_COLUMN_NUMBER;
}

bool model_takes_strings(const struct model *m)
{
        for (size_t j = 0; m->in_kinds && j < m->n_features; j++)
                if (m->in_kinds[j] == MODEL_COLUMN_STRING)
                        return true;
        return false;
}

/* Replaces a kinds array with a copy of src (NULL: all numbers). */
static int set_kinds(uint8_t **dst, const uint8_t *src, size_t n)
{
        free(*dst);
        *dst = NULL;
        bool any = false;
        for (size_t j = 0; src && j < n; j++)
                any |= src[j] != MODEL_COLUMN_NUMBER;
        if (!any)
                return 0;
        *dst = malloc(n);
        if (!*dst)
                return -ENOMEM;
        memcpy(*dst, src, n);
        return 0;
}

int model_set_kinds(struct model *m, const uint8_t *in, const uint8_t *out,
                    struct model_error *err)
{
        if (set_kinds(&m->in_kinds, in, m->n_features) < 0 ||
            set_kinds(&m->out_kinds, out, m->n_out) < 0) {
                model_set_error(err, "%s: out of memory", m->ops->name);
                return -ENOMEM;
        }
        return 0;
}

int model_need_numeric_input(const struct model *member, const char *parent,
                             struct model_error *err)
{
        if (!member || !model_takes_strings(member))
                return 0;
        model_set_error(err, "%s: a member (%s) reads string columns, which is only "
                        "served through Pipeline and ColumnTransformer", parent,
                        member->ops->name);
        return -ENOTSUP;
}

int model_merge_kinds(struct model *m, const struct model *member, struct model_error *err)
{
        if (!member || member->n_features != m->n_features)
                return 0;
        /* m has no kinds only before its first member: a member without
         * kinds reads numbers, which a later string member contradicts */
        bool first = !m->in_kinds;
        if (first && !(m->in_kinds = malloc(m->n_features ? m->n_features : 1))) {
                model_set_error(err, "%s: out of memory", m->ops->name);
                return -ENOMEM;
        }
        for (size_t j = 0; j < m->n_features; j++) {
                uint8_t b = member->in_kinds ? member->in_kinds[j] : MODEL_COLUMN_NUMBER;
                if (model_merge_kind(&m->in_kinds[j], !first, b))
                        continue;
                model_set_error(err, "%s: column %zu is read as strings by one member "
                                "and as numbers by another", m->ops->name, j);
                return -EINVAL;
        }
        return 0;
}

bool model_merge_kind(uint8_t *have, bool seen, uint8_t want)
{
        if (!seen || *have == MODEL_COLUMN_ANY)
                *have = want;
        else if (want != MODEL_COLUMN_ANY && want != *have)
                return false;
        return true;
}

struct keyed_pos {
        double key;
        size_t pos;
};

static int cmp_keyed_pos(const void *a, const void *b)
{
        double x = ((const struct keyed_pos *)a)->key, y = ((const struct keyed_pos *)b)->key;
        return (x > y) - (x < y);
}

int model_sort_keys(double *keys, size_t *pos, size_t n)
{
        struct keyed_pos *t = malloc((n ? n : 1) * sizeof(*t));
        if (!t)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++)
                t[k] = (struct keyed_pos){ keys[k], k };
        qsort(t, n, sizeof(*t), cmp_keyed_pos);
        int rc = 0;
        for (size_t k = 0; k < n; k++) {
                keys[k] = t[k].key;
                pos[k] = t[k].pos;
                if (k && keys[k - 1] == keys[k])
                        rc = -EINVAL; /* a binary search would find only one of them */
        }
        free(t);
        return rc;
}
