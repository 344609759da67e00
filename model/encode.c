/* encode.c - OneHotEncoder and OrdinalEncoder over numeric or string
 * categories. Each input column holds a category value; it is found by
 * exact equality among the fitted categories and becomes an index, or a
 * block of indicator columns. Numeric categories are sorted as
 * scikit-learn keeps them; a string feature's categories are kept as
 * their string codes (strings.c), sorted by code, each remembering its
 * place in categories_. Unknown values (NaN included, as no NaN category
 * is served; a string in a numeric feature; a number in a string one)
 * follow handle_unknown. With infrequent categories, categories map to
 * grouped codes first; a one-hot drop removes one grouped code's column
 * and shifts the later ones down, as scikit-learn's transform does. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

struct encoder {
        struct model base;
        bool onehot;
        enum model_unknown unknown;
        double unknown_value;
        size_t *offsets; /* feature j's categories: cats[offsets[j] .. offsets[j+1]) */
        double *cats;
        int64_t *code;   /* per category: its output index in its feature, -1 dropped */
        int64_t *unknown_code; /* per feature: an unknown value's code, -1 none */
        size_t *out_at;  /* one-hot: first output column of each feature */
        uint8_t *is_str; /* per feature: categories are string codes */
        /* per feature: its last category is NaN (1), which is what a
         * missing cell (NaN, JSON null) matches, or None (2), which no
         * cell can be: scikit-learn tells None from NaN */
        uint8_t *missing;
        double missing_value; /* ordinal: what a NaN category encodes to */
};

/* Index of x among the sorted categories, or -1. */
static int64_t find_cat(const double *c, size_t n, double x)
{
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (c[mid] < x)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < n && c[lo] == x ? (int64_t)lo : -1;
}

static int encoder_transform(const struct model *m, const double *X, size_t rows,
                             double *out, struct model_error *err)
{
        const struct encoder *e = (const struct encoder *)m;
        size_t nf = m->n_features, w = m->n_out;
        if (e->onehot)
                memset(out, 0, rows * w * sizeof(double));
        for (size_t r = 0; r < rows; r++)
                for (size_t j = 0; j < nf; j++) {
                        double x = X[r * nf + j], key = x;
                        uint64_t sc;
                        if (e->is_str[j])
                                key = model_string_code_of(x, &sc) ? (double)sc : NAN;
                        size_t nc = e->offsets[j + 1] - e->offsets[j];
                        int64_t k = find_cat(e->cats + e->offsets[j], nc, key);
                        if (k < 0 && e->missing[j] == 1 && model_is_missing(x))
                                k = (int64_t)nc - 1;
                        int64_t c = k < 0 ? e->unknown_code[j] : e->code[e->offsets[j] + (size_t)k];
                        if (k < 0 && e->unknown == MODEL_UNKNOWN_ERROR) {
                                char found[40];
                                if (model_is_string_value(x))
                                        snprintf(found, sizeof(found), "%s",
                                                 e->is_str[j] ? "an unknown string"
                                                              : "a string");
                                else if (isnan(x))
                                        snprintf(found, sizeof(found), "a missing value");
                                else
                                        snprintf(found, sizeof(found), "%s%.17g",
                                                 e->is_str[j] ? "the number " : "", x);
                                model_set_error(err,
                                                "%s: row %zu, column %zu: expected one of the "
                                                "%zu fitted %scategories, found %s "
                                                "(handle_unknown='error')",
                                                m->ops->name, r, j, nc,
                                                e->is_str[j] ? "string " : "", found);
                                if (err)
                                        err->column = j;
                                return -EINVAL;
                        }
                        if (!e->onehot) {
                                out[r * w + j] = k < 0 ? e->unknown_value
                                                 : (size_t)k == nc - 1 && e->missing[j] == 1
                                                         ? e->missing_value : (double)c;
                                continue;
                        }
                        if (c >= 0) /* else ignored unknown or dropped: all zeros */
                                out[r * w + e->out_at[j] + (size_t)c] = 1.0;
                }
        return 0;
}

static void encoder_describe(const struct model *m, char *buf, size_t len)
{
        snprintf(buf, len, "%s(%zu features -> %zu columns)", m->ops->name, m->n_features,
                 m->n_out);
}

static void encoder_destroy(struct model *m)
{
        struct encoder *e = (struct encoder *)m;
        model_base_release(m);
        free(e->offsets);
        free(e->cats);
        free(e->code);
        free(e->unknown_code);
        free(e->out_at);
        free(e->is_str);
        free(e->missing);
        free(e);
}

static const struct model_ops onehot_ops = {
        .name = "OneHotEncoder",
        .transform = encoder_transform,
        .describe = encoder_describe,
        .destroy = encoder_destroy,
};

static const struct model_ops ordinal_ops = {
        .name = "OrdinalEncoder",
        .transform = encoder_transform,
        .describe = encoder_describe,
        .destroy = encoder_destroy,
};

/* Sorts a string feature's n categories (codes, as doubles) together
 * with their output codes, so that find_cat can search them; -EINVAL
 * when a string is listed twice, -ENOMEM. */
static int sort_by_code(double *cats, int64_t *code, size_t n)
{
        size_t *pos = malloc((n ? n : 1) * sizeof(*pos));
        int64_t *was = malloc((n ? n : 1) * sizeof(*was));
        int rc = pos && was ? model_sort_keys(cats, pos, n) : -ENOMEM;
        if (rc != -ENOMEM) {
                memcpy(was, code, n * sizeof(*was));
                for (size_t k = 0; k < n; k++)
                        code[k] = was[pos[k]];
        }
        free(pos);
        free(was);
        return rc;
}

/* Feature j's categories as find_cat keys: numbers as they are, finite
 * and increasing; string cells as their codes; a last category that is
 * missing (has_missing) as +inf, past them all. */
static int category_keys(const char *name, size_t j, const double *cats, size_t n, bool str,
                         bool has_missing, double *keys, struct model_error *err)
{
        for (size_t k = 0; k < n; k++) {
                uint64_t sc;
                if (has_missing && k == n - 1) {
                        if (!model_is_missing(cats[k])) {
                                model_set_error(err, "%s: feature %zu: expected the missing "
                                                "category last", name, j);
                                return -EINVAL;
                        }
                        keys[k] = INFINITY;
                } else if (str) {
                        if (!model_string_code_of(cats[k], &sc)) {
                                model_set_error(err, "%s: feature %zu: category %zu is not a "
                                                "string", name, j, k);
                                return -EINVAL;
                        }
                        keys[k] = (double)sc;
                } else if (!isfinite(cats[k]) || (k > 0 && !(cats[k - 1] < cats[k]))) {
                        model_set_error(err, "%s: feature %zu: expected finite "
                                        "categories in increasing order, found %.17g",
                                        name, j, cats[k]);
                        return -EINVAL;
                } else {
                        keys[k] = cats[k];
                }
        }
        return 0;
}

int model_encoder_create(const struct model_encoder_params *p, struct model **out,
                         struct model_error *err)
{
        bool onehot = p->onehot;
        size_t n_features = p->n_features;
        const size_t *offsets = p->offsets;
        const int64_t *drop = p->drop, *group = p->group;
        const struct model_ops *ops = onehot ? &onehot_ops : &ordinal_ops;
        struct encoder *e = NULL;
        size_t width = 0;
        int rc = -EINVAL;
        if (n_features == 0 || offsets[0] != 0 || (drop && !onehot)) {
                model_set_error(err, "%s: expected at least one feature (and drop only "
                                "for one-hot)", ops->name);
                return -EINVAL;
        }
        for (size_t j = 0; j < n_features; j++) {
                if (offsets[j + 1] <= offsets[j]) {
                        model_set_error(err, "%s: feature %zu has no categories", ops->name, j);
                        return -EINVAL;
                }
        }
        e = calloc(1, sizeof(*e));
        if (!e)
                goto nomem;
        e->base.ops = ops;
        e->offsets = malloc((n_features + 1) * sizeof(size_t));
        e->cats = malloc(offsets[n_features] * sizeof(double));
        e->code = malloc(offsets[n_features] * sizeof(int64_t));
        e->unknown_code = malloc(n_features * sizeof(int64_t));
        e->out_at = malloc(n_features * sizeof(size_t));
        e->is_str = calloc(n_features, 1);
        e->missing = calloc(n_features, 1);
        if (!e->offsets || !e->cats || !e->code || !e->unknown_code || !e->out_at ||
            !e->is_str || !e->missing)
                goto nomem;
        for (size_t j = 0; j < n_features; j++) {
                size_t nc = offsets[j + 1] - offsets[j], n_groups = 0, wj;
                int64_t d = drop ? drop[j] : -1;
                for (size_t k = 0; k < nc; k++) {
                        int64_t c = group ? group[offsets[j] + k] : (int64_t)k;
                        if (c < 0 || c >= (int64_t)nc) {
                                model_set_error(err, "%s: feature %zu: category %zu maps to "
                                                "%lld, expected 0 to %zu", ops->name, j, k,
                                                (long long)c, nc - 1);
                                goto fail;
                        }
                        e->code[offsets[j] + k] = c;
                        if ((size_t)c + 1 > n_groups)
                                n_groups = (size_t)c + 1;
                }
                /* the dropped column is counted after grouping (scikit-learn's
                 * _drop_idx_after_grouping, and 1.2's drop_idx_): it may be
                 * the infrequent group itself */
                if (d >= (int64_t)n_groups) {
                        model_set_error(err, "%s: feature %zu drops column %lld of %zu",
                                        ops->name, j, (long long)d, n_groups);
                        goto fail;
                }
                for (size_t k = 0; d >= 0 && k < nc; k++) {
                        int64_t *c = &e->code[offsets[j] + k];
                        *c = *c == d ? -1 : *c > d ? *c - 1 : *c;
                }
                wj = n_groups - (d >= 0);
                /* grouped categories share the last code, where unknown
                 * values go under infrequent_if_exist (a single infrequent
                 * category has that code alone) */
                bool infrequent = group && (p->infrequent ? p->infrequent[j] != 0
                                                          : n_groups < nc);
                int64_t last = (int64_t)n_groups - 1;
                e->unknown_code[j] = p->unknown != MODEL_UNKNOWN_INFREQUENT || !infrequent ? -1
                                     : last == d ? -1 : last > d && d >= 0 ? last - 1 : last;
                e->is_str[j] = p->kinds && p->kinds[j] == MODEL_COLUMN_STRING;
                e->missing[j] = p->missing ? p->missing[j] : 0;
                if (e->missing[j] > 2) {
                        model_set_error(err, "%s: feature %zu: unknown missing category kind "
                                        "%u", ops->name, j, (unsigned)e->missing[j]);
                        goto fail;
                }
                if (category_keys(ops->name, j, p->cats + offsets[j], nc, e->is_str[j],
                                  e->missing[j] != 0, e->cats + offsets[j], err) < 0)
                        goto fail;
                if (e->missing[j])
                        e->base.accepts_nan = true;
                /* sorted into its own variable: rc must stay negative for
                 * the later features' goto fail */
                int sorted = e->is_str[j] ? sort_by_code(e->cats + offsets[j],
                                                         e->code + offsets[j], nc) : 0;
                if (sorted < 0) {
                        rc = sorted;
                        model_set_error(err, "%s: feature %zu: %s", ops->name, j,
                                        rc == -ENOMEM ? "out of memory"
                                                      : "a category is listed twice");
                        goto fail;
                }
                e->out_at[j] = width;
                width += onehot ? wj : 1;
        }
        if (width == 0) {
                model_set_error(err, "%s: expected at least one output column", ops->name);
                goto fail;
        }
        if ((rc = model_base_init(&e->base, ops, MODEL_TYPE_TRANSFORMER, n_features, NULL, 0,
                                  err)) < 0)
                goto fail;
        e->base.n_out = width;
        if ((rc = model_set_kinds(&e->base, p->kinds, NULL, err)) < 0)
                goto fail;
        e->onehot = onehot;
        e->unknown = p->unknown;
        e->unknown_value = p->unknown_value;
        e->missing_value = p->missing_value;
        memcpy(e->offsets, offsets, (n_features + 1) * sizeof(size_t));
        *out = &e->base;
        return 0;
nomem:
        rc = -ENOMEM;
        model_set_error(err, "%s: out of memory", ops->name);
fail:
        if (e)
                encoder_destroy(&e->base);
        return rc;
}
