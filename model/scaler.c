/* scaler.c - StandardScaler.transform: (x - mean_) / scale_, in that order
 * of operations, with either part absent when the scaler was fitted
 * with with_mean=False or with_std=False. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

struct scaler {
        struct model base;
        double *mean;  /* NULL: with_mean=False */
        double *scale; /* NULL: with_std=False */
};

static int scaler_transform(const struct model *m, const double *X,
                            size_t rows, double *out, struct model_error *err)
{
        const struct scaler *s = (const struct scaler *)m;
        size_t nf = m->n_features;
        for (size_t r = 0; r < rows; r++) {
                for (size_t j = 0; j < nf; j++) {
                        double v = X[r * nf + j];
                        if (s->mean)
                                v -= s->mean[j];
                        if (s->scale)
                                v /= s->scale[j];
                        out[r * nf + j] = v;
                }
        }
        return 0;
}

static void scaler_destroy(struct model *m)
{
        struct scaler *s = (struct scaler *)m;
        model_base_release(m);
        free(s->mean);
        free(s->scale);
        free(s);
}

static const struct model_ops scaler_ops = {
        .name = "StandardScaler",
        .transform = scaler_transform,
        .destroy = scaler_destroy,
};

static double *copy_doubles(const double *src, size_t n, bool *failed)
{
        if (!src)
                return NULL;
        double *d = malloc(n * sizeof(double));
        if (!d) {
                *failed = true;
                return NULL;
        }
        memcpy(d, src, n * sizeof(double));
        return d;
}

int model_scaler_create(size_t n_features, const double *mean,
                        const double *scale, struct model **out,
                        struct model_error *err)
{
        if (n_features == 0) {
                model_set_error(err, "StandardScaler: expected at least 1 feature, got 0");
                return -EINVAL;
        }
        struct scaler *s = calloc(1, sizeof(*s));
        if (!s) {
                model_set_error(err, "StandardScaler: out of memory");
                return -ENOMEM;
        }
        bool failed = false;
        model_base_init(&s->base, &scaler_ops, MODEL_TYPE_TRANSFORMER,
                        n_features, NULL, 0, err);
        s->base.n_out = n_features;
        s->mean = copy_doubles(mean, n_features, &failed);
        s->scale = copy_doubles(scale, n_features, &failed);
        if (failed) {
                scaler_destroy(&s->base);
                model_set_error(err, "StandardScaler: out of memory");
                return -ENOMEM;
        }
        *out = &s->base;
        return 0;
}
