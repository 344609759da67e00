/* pipeline.c - Pipeline: each step's transform feeds the next; the last
 * step classifies (or transforms, for a pipeline of transformers). A NULL
 * step is 'passthrough'. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

struct pipeline {
        struct model base;
        struct model **steps; /* NULL entries are passthrough */
        char **names;
        size_t n;
};

/* Runs steps [0, n-1) over X; *buf gets a malloc'd matrix (or stays NULL
 * when every step was passthrough) and *Xt points at the result. */
static int run_transforms(const struct pipeline *p, const double *X,
                          size_t rows, const double **Xt, double **buf,
                          size_t last, struct model_error *err)
{
        const double *cur = X;
        double *owned = NULL;
        for (size_t i = 0; i < last; i++) {
                const struct model *s = p->steps[i];
                if (!s)
                        continue;
                double *next = malloc(rows * s->n_out * sizeof(double));
                if (!next) {
                        free(owned);
                        model_set_error(err, "out of memory in pipeline step %zu", i);
                        return -ENOMEM;
                }
                int rc = s->ops->transform(s, cur, rows, next, err);
                free(owned);
                if (rc < 0) {
                        free(next);
                        return rc;
                }
                owned = next;
                cur = next;
        }
        *Xt = cur;
        *buf = owned;
        return 0;
}

static int pipeline_classify(const struct model *m, const double *X,
                             size_t rows, size_t *class_idx, double *proba,
                             struct model_error *err)
{
        const struct pipeline *p = (const struct pipeline *)m;
        const double *Xt;
        double *buf = NULL;
        int rc = run_transforms(p, X, rows, &Xt, &buf, p->n - 1, err);
        if (rc < 0)
                return rc;
        const struct model *last = p->steps[p->n - 1];
        rc = last->ops->classify(last, Xt, rows, class_idx, proba, err);
        free(buf);
        return rc;
}

/* The transforms, then the last step's regress (or decision) op. */
static int pipeline_values(const struct model *m, const double *X, size_t rows,
                           double *out, struct model_error *err, bool decision)
{
        const struct pipeline *p = (const struct pipeline *)m;
        const double *Xt;
        double *buf = NULL;
        int rc = run_transforms(p, X, rows, &Xt, &buf, p->n - 1, err);
        if (rc < 0)
                return rc;
        const struct model *last = p->steps[p->n - 1];
        rc = decision ? last->ops->decision(last, Xt, rows, out, err)
                      : last->ops->regress(last, Xt, rows, out, err);
        free(buf);
        return rc;
}

static int pipeline_regress(const struct model *m, const double *X,
                            size_t rows, double *out, struct model_error *err)
{
        return pipeline_values(m, X, rows, out, err, false);
}

static int pipeline_decision(const struct model *m, const double *X,
                             size_t rows, double *out, struct model_error *err)
{
        return pipeline_values(m, X, rows, out, err, true);
}

static int pipeline_transform(const struct model *m, const double *X,
                              size_t rows, double *out, struct model_error *err)
{
        const struct pipeline *p = (const struct pipeline *)m;
        const double *Xt;
        double *buf = NULL;
        int rc = run_transforms(p, X, rows, &Xt, &buf, p->n, err);
        if (rc < 0)
                return rc;
        memcpy(out, Xt, rows * m->n_out * sizeof(double));
        free(buf);
        return 0;
}

static void pipeline_describe(const struct model *m, char *buf, size_t len)
{
        const struct pipeline *p = (const struct pipeline *)m;
        size_t used = 0;
        int n = snprintf(buf, len, "Pipeline(");
        for (size_t i = 0; i < p->n && n >= 0 && (size_t)n < len - used; i++) {
                used += (size_t)n;
                char inner[256] = "passthrough";
                if (p->steps[i])
                        model_describe(p->steps[i], inner, sizeof(inner));
                n = snprintf(buf + used, len - used, "%s%s=%s", i ? ", " : "",
                             p->names[i], inner);
        }
        if (n >= 0 && (size_t)n < len - used) {
                used += (size_t)n;
                snprintf(buf + used, len - used, ")");
        }
}

static void pipeline_destroy(struct model *m)
{
        struct pipeline *p = (struct pipeline *)m;
        model_base_release(m);
        for (size_t i = 0; i < p->n; i++) {
                if (p->steps)
                        model_free(p->steps[i]);
                if (p->names)
                        free(p->names[i]);
        }
        free(p->steps);
        free(p->names);
        free(p);
}

static const struct model_ops pipeline_ops = {
        .name = "Pipeline",
        .transform = pipeline_transform,
        .classify = pipeline_classify,
        .regress = pipeline_regress,
        .decision = pipeline_decision,
        .describe = pipeline_describe,
        .destroy = pipeline_destroy,
};

int model_pipeline_create(struct model **steps, const char *const *names,
                          size_t n, struct model **out,
                          struct model_error *err)
{
        struct pipeline *p = NULL;
        int rc = -EINVAL;
        const struct model *last = n ? steps[n - 1] : NULL;
        size_t width = 0, first_width = 0;

        if (n == 0 || !last) {
                model_set_error(err, "Pipeline: expected a final estimator, got %s",
                                n ? "passthrough" : "no steps");
                goto fail;
        }
        for (size_t i = 0; i < n; i++) {
                const struct model *s = steps[i];
                if (!s)
                        continue;
                if (width && s->n_features != width) {
                        model_set_error(err,
                                        "Pipeline: step '%s' expects %zu features but the "
                                        "step before it gives %zu",
                                        names[i], s->n_features, width);
                        goto fail;
                }
                if (!first_width)
                        first_width = s->n_features;
                if (i + 1 < n && s->type != MODEL_TYPE_TRANSFORMER) {
                        model_set_error(err,
                                        "Pipeline: step '%s' (%s) is not a transformer, "
                                        "only the last step may be",
                                        names[i], s->ops->name);
                        goto fail;
                }
                width = s->n_out;
        }
        p = calloc(1, sizeof(*p));
        if (!p)
                goto nomem;
        p->base.ops = &pipeline_ops;
        p->steps = calloc(n, sizeof(*p->steps));
        p->names = calloc(n, sizeof(*p->names));
        if (!p->steps || !p->names)
                goto nomem;
        rc = model_base_init(&p->base, &pipeline_ops, last->type, first_width,
                             last->classes, last->n_classes, err);
        if (rc < 0)
                goto fail;
        p->base.n_out = last->n_out;
        p->base.n_outputs = last->n_outputs;
        p->base.decision_width = last->ops->decision ? last->decision_width : 0;
        p->base.has_proba = last->has_proba;
        for (size_t i = 0; i < n; i++) {
                if (steps[i]) {
                        /* the first step meets the input */
                        p->base.accepts_nan = steps[i]->accepts_nan;
                        break;
                }
        }
        p->n = n;
        for (size_t i = 0; i < n; i++) {
                p->steps[i] = steps[i];
                steps[i] = NULL;
                p->names[i] = strdup(names[i]);
                if (!p->names[i])
                        goto nomem;
        }
        *out = &p->base;
        return 0;
nomem:
        rc = -ENOMEM;
        model_set_error(err, "Pipeline: out of memory");
fail:
        for (size_t i = 0; i < n; i++)
                model_free(steps[i]);
        if (p)
                pipeline_destroy(&p->base);
        return rc;
}
