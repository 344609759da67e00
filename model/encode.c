/* encode.c - OneHotEncoder and OrdinalEncoder over numeric categories.
 * Each input column holds a category value; it is found by exact equality
 * among the fitted categories (sorted, as scikit-learn keeps them) and
 * becomes an index, or a block of indicator columns. Unknown values
 * (NaN included, as no NaN category is served) follow handle_unknown. */
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
                        double x = X[r * nf + j];
                        size_t nc = e->offsets[j + 1] - e->offsets[j];
                        int64_t k = find_cat(e->cats + e->offsets[j], nc, x);
                        int64_t c = k < 0 ? e->unknown_code[j] : e->code[e->offsets[j] + (size_t)k];
                        if (k < 0 && e->unknown == MODEL_UNKNOWN_ERROR) {
                                model_set_error(err,
                                                "%s: row %zu, column %zu: expected one of the "
                                                "%zu fitted categories, found %.17g "
                                                "(handle_unknown='error')",
                                                m->ops->name, r, j, nc, x);
                                return -EINVAL;
                        }
                        if (!e->onehot) {
                                out[r * w + j] = k < 0 ? e->unknown_value : (double)c;
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

int model_encoder_create(bool onehot, size_t n_features, const size_t *offsets,
                         const double *cats, const int64_t *drop, const int64_t *group,
                         enum model_unknown unknown, double unknown_value,
                         struct model **out, struct model_error *err)
{
        const struct model_ops *ops = onehot ? &onehot_ops : &ordinal_ops;
        struct encoder *e = NULL;
        size_t width = 0;
        int rc = -EINVAL;
        if (n_features == 0 || offsets[0] != 0 || (drop && group)) {
                model_set_error(err, "%s: expected at least one feature, and no drop with "
                                "infrequent categories", ops->name);
                return -EINVAL;
        }
        for (size_t j = 0; j < n_features; j++) {
                if (offsets[j + 1] <= offsets[j]) {
                        model_set_error(err, "%s: feature %zu has no categories", ops->name, j);
                        return -EINVAL;
                }
                for (size_t k = offsets[j]; k < offsets[j + 1]; k++)
                        if (!isfinite(cats[k]) || (k > offsets[j] && !(cats[k - 1] < cats[k]))) {
                                model_set_error(err, "%s: feature %zu: expected finite "
                                                "categories in increasing order, found %.17g",
                                                ops->name, j, cats[k]);
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
        if (!e->offsets || !e->cats || !e->code || !e->unknown_code || !e->out_at)
                goto nomem;
        for (size_t j = 0; j < n_features; j++) {
                size_t nc = offsets[j + 1] - offsets[j], wj = 0;
                int64_t d = drop ? drop[j] : -1;
                if (d >= (int64_t)nc) {
                        model_set_error(err, "%s: feature %zu drops category %lld of %zu",
                                        ops->name, j, (long long)d, nc);
                        goto fail;
                }
                for (size_t k = 0; k < nc; k++) {
                        int64_t c = group ? group[offsets[j] + k] : (int64_t)k;
                        if (c < 0 || c >= (int64_t)nc) {
                                model_set_error(err, "%s: feature %zu: category %zu maps to "
                                                "%lld, expected 0 to %zu", ops->name, j, k,
                                                (long long)c, nc - 1);
                                goto fail;
                        }
                        if (d >= 0)
                                c = (int64_t)k == d ? -1 : (int64_t)k > d ? c - 1 : c;
                        e->code[offsets[j] + k] = c;
                        if (c >= 0 && (size_t)c + 1 > wj)
                                wj = (size_t)c + 1;
                }
                /* grouped categories share the last code, where unknown
                 * values go under infrequent_if_exist */
                e->unknown_code[j] = unknown == MODEL_UNKNOWN_INFREQUENT && wj < nc
                                             ? (int64_t)wj - 1 : -1;
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
        e->onehot = onehot;
        e->unknown = unknown;
        e->unknown_value = unknown_value;
        memcpy(e->offsets, offsets, (n_features + 1) * sizeof(size_t));
        memcpy(e->cats, cats, offsets[n_features] * sizeof(double));
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
