/* pipeline.c - the composers. Pipeline: each step's transform feeds the
 * next; the last step classifies (or transforms, for a pipeline of
 * transformers). A NULL step is 'passthrough'. ColumnTransformer: parts
 * over column subsets, their outputs side by side. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

static uint8_t kind_at(const uint8_t *kinds, size_t j)
{
        return kinds ? kinds[j] : MODEL_COLUMN_NUMBER;
}

static const char *kind_name(uint8_t k)
{
        return k == MODEL_COLUMN_STRING ? "strings" : k == MODEL_COLUMN_ANY ? "anything"
                                                                           : "numbers";
}

struct pipeline {
        struct model base;
        struct model **steps; /* NULL entries are passthrough */
        char **names;
        size_t n;
};

/* Runs steps [0, n-1) over X; *buf gets a malloc'd matrix (or stays NULL
 * when every step was passthrough) and *Xt points at the result. */
/* A step after the first reads columns of its own: an error it gives is
 * about no input column. */
static int forget_column(int rc, bool transformed, struct model_error *err)
{
        if (rc < 0 && transformed && err)
                err->column = MODEL_NO_COLUMN;
        return rc;
}

/* scikit-learn's next step validates its input and raises on infinity
 * ("Input contains infinity"), so an output of step i that overflowed is
 * an error when a later step reads it; only the output of a pipeline's
 * last transformer (what transform returns) may hold one. */
static int check_no_infinity(const struct pipeline *p, size_t i, const double *out,
                             size_t rows, struct model_error *err)
{
        size_t j = i + 1;
        while (j < p->n && !p->steps[j])
                j++;
        if (j == p->n)
                return 0;
        size_t w = p->steps[i]->n_out;
        for (size_t r = 0; r < rows; r++) {
                for (size_t k = 0; k < w; k++) {
                        if (isinf(out[r * w + k])) {
                                model_set_error(err,
                                                "row %zu: step '%s' (%s) overflowed to infinity "
                                                "in its output column %zu, which step '%s' "
                                                "cannot take",
                                                r, p->names[i], p->steps[i]->ops->name, k,
                                                p->names[j]);
                                if (err)
                                        err->column = MODEL_NO_COLUMN;
                                return -EINVAL;
                        }
                }
        }
        return 0;
}

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
                        return forget_column(rc, cur != X, err);
                }
                owned = next;
                cur = next;
                if ((rc = check_no_infinity(p, i, next, rows, err)) < 0) {
                        free(owned);
                        return rc;
                }
        }
        *Xt = cur;
        *buf = owned;
        return 0;
}

/* The transforms, then the last step's classify, or its output j's for a
 * multi-output classifier (j < SIZE_MAX). */
static int pipeline_classify_at(const struct model *m, size_t j, const double *X,
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
        rc = j == SIZE_MAX ? last->ops->classify(last, Xt, rows, class_idx, proba, err)
                           : model_predict_output(last, j, Xt, rows, class_idx, proba, err);
        free(buf);
        return forget_column(rc, buf != NULL, err);
}

static int pipeline_classify(const struct model *m, const double *X,
                             size_t rows, size_t *class_idx, double *proba,
                             struct model_error *err)
{
        return pipeline_classify_at(m, SIZE_MAX, X, rows, class_idx, proba, err);
}

static int pipeline_classify_output(const struct model *m, size_t j, const double *X,
                                    size_t rows, size_t *class_idx, double *proba,
                                    struct model_error *err)
{
        return pipeline_classify_at(m, j, X, rows, class_idx, proba, err);
}

/* Which of the last step's value ops pipeline_values ends with. */
enum pipeline_last { LAST_REGRESS, LAST_DECISION, LAST_SCORE };

/* The transforms, then the last step's regress, decision or score op. */
static int pipeline_values(const struct model *m, const double *X, size_t rows,
                           double *out, struct model_error *err, enum pipeline_last op)
{
        const struct pipeline *p = (const struct pipeline *)m;
        const double *Xt;
        double *buf = NULL;
        int rc = run_transforms(p, X, rows, &Xt, &buf, p->n - 1, err);
        if (rc < 0)
                return rc;
        const struct model *last = p->steps[p->n - 1];
        rc = op == LAST_DECISION ? last->ops->decision(last, Xt, rows, out, err)
             : op == LAST_SCORE  ? last->ops->score(last, Xt, rows, out, err)
                                 : last->ops->regress(last, Xt, rows, out, err);
        free(buf);
        return forget_column(rc, buf != NULL, err);
}

static int pipeline_regress(const struct model *m, const double *X,
                            size_t rows, double *out, struct model_error *err)
{
        return pipeline_values(m, X, rows, out, err, LAST_REGRESS);
}

static int pipeline_decision(const struct model *m, const double *X,
                             size_t rows, double *out, struct model_error *err)
{
        return pipeline_values(m, X, rows, out, err, LAST_DECISION);
}

/* Pipeline.score_samples: the transforms, then the last step's. */
static int pipeline_score(const struct model *m, const double *X,
                          size_t rows, double *out, struct model_error *err)
{
        return pipeline_values(m, X, rows, out, err, LAST_SCORE);
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
        .score = pipeline_score,
        .classify_output = pipeline_classify_output,
        .describe = pipeline_describe,
        .destroy = pipeline_destroy,
};

int model_pipeline_create(struct model **steps, const char *const *names,
                          size_t n, struct model **out,
                          struct model_error *err)
{
        struct pipeline *p = NULL;
        int rc = -EINVAL;
        const struct model *last = n ? steps[n - 1] : NULL, *first = NULL;
        const uint8_t *prev_kinds = NULL;
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
                for (size_t j = 0; width && j < width; j++) {
                        if (kind_at(s->in_kinds, j) == kind_at(prev_kinds, j) ||
                            kind_at(s->in_kinds, j) == MODEL_COLUMN_ANY)
                                continue;
                        model_set_error(err,
                                        "Pipeline: step '%s' reads column %zu as %s but the "
                                        "step before it gives %s",
                                        names[i], j, kind_name(kind_at(s->in_kinds, j)),
                                        kind_name(kind_at(prev_kinds, j)));
                        goto fail;
                }
                if (!first)
                        first = s;
                prev_kinds = s->out_kinds;
                if (!first_width)
                        first_width = s->n_features;
                /* a step before the last only needs transform (KMeans'
                 * distances may feed a classifier, as in scikit-learn) */
                if (i + 1 < n && !model_transform_width(s)) {
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
        p->base.n_class_outputs = last->n_class_outputs;
        p->base.class_outs = last->class_outs;
        p->base.has_score = model_has_score_samples(last);
        /* the first step meets the input */
        p->base.accepts_nan = first->accepts_nan;
        if ((rc = model_set_kinds(&p->base, first->in_kinds, last->out_kinds, err)) < 0)
                goto fail;
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

/* --- ColumnTransformer ----------------------------------------------- */

/* Each part reads its own columns of the input (gathered in the order
 * the file lists them) and the outputs sit side by side, in the order of
 * transformers_. A NULL part is 'passthrough'. */
struct coltrans {
        struct model base;
        struct model **parts;
        size_t *cols;    /* all parts' column indices, back to back */
        size_t *offsets; /* part i reads cols[offsets[i] .. offsets[i+1]) */
        double *weights; /* one per part; 1.0 without transformer_weights */
        size_t n;
};

static int coltrans_transform(const struct model *m, const double *X,
                              size_t rows, double *out,
                              struct model_error *err)
{
        const struct coltrans *c = (const struct coltrans *)m;
        size_t at = 0;
        for (size_t i = 0; i < c->n; i++) {
                const size_t *cols = c->cols + c->offsets[i];
                size_t nc = c->offsets[i + 1] - c->offsets[i];
                const struct model *p = c->parts[i];
                size_t w = p ? p->n_out : nc;
                double *in = malloc(rows * nc * sizeof(double));
                double *res = p ? malloc(rows * w * sizeof(double)) : NULL;
                if (!in || (p && !res)) {
                        free(in);
                        free(res);
                        model_set_error(err, "out of memory in %s part %zu", m->ops->name, i);
                        return -ENOMEM;
                }
                for (size_t r = 0; r < rows; r++)
                        for (size_t k = 0; k < nc; k++)
                                in[r * nc + k] = X[r * m->n_features + cols[k]];
                if (p) {
                        int rc = p->ops->transform(p, in, rows, res, err);
                        free(in);
                        if (rc < 0) {
                                free(res);
                                /* the part's column k is input column cols[k] */
                                if (err && err->column < nc)
                                        err->column = cols[err->column];
                                return rc;
                        }
                } else {
                        res = in;
                }
                for (size_t r = 0; r < rows; r++)
                        for (size_t k = 0; k < w; k++) {
                                double v = res[r * w + k];
                                /* scikit-learn multiplies only when a weight is given */
                                if (c->weights[i] != 1.0)
                                        v *= c->weights[i];
                                out[r * m->n_out + at + k] = v;
                        }
                free(res);
                at += w;
        }
        return 0;
}

static void coltrans_describe(const struct model *m, char *buf, size_t len)
{
        const struct coltrans *c = (const struct coltrans *)m;
        size_t used = 0;
        int n = snprintf(buf, len, "%s(", m->ops->name);
        for (size_t i = 0; i < c->n && n >= 0 && (size_t)n < len - used; i++) {
                used += (size_t)n;
                char inner[256] = "passthrough";
                if (c->parts[i])
                        model_describe(c->parts[i], inner, sizeof(inner));
                n = snprintf(buf + used, len - used, "%s%s on %zu columns", i ? ", " : "",
                             inner, c->offsets[i + 1] - c->offsets[i]);
        }
        if (n >= 0 && (size_t)n < len - used) {
                used += (size_t)n;
                snprintf(buf + used, len - used, ")");
        }
}

static void coltrans_destroy(struct model *m)
{
        struct coltrans *c = (struct coltrans *)m;
        model_base_release(m);
        for (size_t i = 0; i < c->n && c->parts; i++)
                model_free(c->parts[i]);
        free(c->parts);
        free(c->cols);
        free(c->offsets);
        free(c->weights);
        free(c);
}

static const struct model_ops coltrans_ops = {
        .name = "ColumnTransformer",
        .transform = coltrans_transform,
        .describe = coltrans_describe,
        .destroy = coltrans_destroy,
};

/* FeatureUnion is a ColumnTransformer whose parts all read every column. */
static const struct model_ops union_ops = {
        .name = "FeatureUnion",
        .transform = coltrans_transform,
        .describe = coltrans_describe,
        .destroy = coltrans_destroy,
};

/* Which input columns hold strings: those every part reading them reads
 * as strings ('passthrough' parts take what the others read; a column
 * only passed through holds numbers; one no part reads may hold
 * anything). Parts that disagree, or a weight
 * on string outputs, are -EINVAL: scikit-learn could not have fitted
 * them. The outputs hold what their part gives. */
static int coltrans_kinds(struct model *m, struct model *const *parts, const size_t *cols,
                          const size_t *offsets, const double *weights, size_t n,
                          struct model_error *err)
{
        const char *name = m->ops->name;
        uint8_t *kin = calloc(m->n_features, 1), *seen = calloc(m->n_features, 1);
        uint8_t *kout = calloc(m->n_out, 1);
        int rc = -ENOMEM;
        if (!kin || !seen || !kout) {
                model_set_error(err, "%s: out of memory", name);
                goto out;
        }
        rc = -EINVAL;
        /* seen: 1 read by a transformer, 2 passed through, 3 both */
        for (size_t i = 0; i < n; i++) {
                for (size_t k = offsets[i]; k < offsets[i + 1]; k++) {
                        size_t c = cols[k];
                        if (!parts[i]) {
                                seen[c] |= 2;
                                continue;
                        }
                        uint8_t want = kind_at(parts[i]->in_kinds, k - offsets[i]);
                        if (!model_merge_kind(&kin[c], seen[c] & 1, want)) {
                                model_set_error(err, "%s: column %zu is read as strings by "
                                                "one part and as numbers by another", name, c);
                                goto out;
                        }
                        seen[c] |= 1;
                }
        }
        for (size_t c = 0; c < m->n_features; c++)
                if (!seen[c])
                        kin[c] = MODEL_COLUMN_ANY;
                else if (kin[c] == MODEL_COLUMN_ANY && (seen[c] & 2))
                        kin[c] = MODEL_COLUMN_NUMBER; /* passed through as it is */
        for (size_t i = 0, at = 0; i < n; i++) {
                size_t w = parts[i] ? parts[i]->n_out : offsets[i + 1] - offsets[i];
                for (size_t t = 0; t < w; t++, at++) {
                        kout[at] = parts[i] ? kind_at(parts[i]->out_kinds, t)
                                            : kin[cols[offsets[i] + t]];
                        if (kout[at] == MODEL_COLUMN_STRING && weights && weights[i] != 1.0) {
                                model_set_error(err, "%s: part %zu weighs string columns",
                                                name, i);
                                goto out;
                        }
                }
        }
        rc = model_set_kinds(m, kin, kout, err);
out:
        free(kin);
        free(seen);
        free(kout);
        return rc;
}

int model_column_transformer_create(const char *name, size_t n_features,
                                    struct model **parts,
                                    const size_t *cols, const size_t *offsets,
                                    const double *weights, size_t n,
                                    struct model **out,
                                    struct model_error *err)
{
        struct coltrans *c = NULL;
        int rc = -EINVAL;
        size_t width = 0;
        const struct model_ops *ops = NULL;

        if (strcmp(name, "ColumnTransformer") == 0)
                ops = &coltrans_ops;
        else if (strcmp(name, "FeatureUnion") == 0)
                ops = &union_ops;
        else {
                model_set_error(err, "expected ColumnTransformer or FeatureUnion, found %.60s",
                                name);
                goto fail;
        }
        if (n_features == 0) {
                model_set_error(err, "%s: expected at least one input feature", name);
                goto fail;
        }
        for (size_t i = 0; i < n; i++) {
                size_t nc = offsets[i + 1] - offsets[i];
                if (offsets[i + 1] < offsets[i] || nc == 0) {
                        model_set_error(err, "%s: part %zu selects no columns", name, i);
                        goto fail;
                }
                for (size_t k = offsets[i]; k < offsets[i + 1]; k++)
                        if (cols[k] >= n_features) {
                                model_set_error(err,
                                                "%s: part %zu selects column %zu of %zu",
                                                name, i, cols[k], n_features);
                                goto fail;
                        }
                if (weights && !isfinite(weights[i])) {
                        model_set_error(err, "%s: part %zu has a weight that is not finite",
                                        name, i);
                        goto fail;
                }
                const struct model *p = parts[i];
                if (p && (p->type != MODEL_TYPE_TRANSFORMER || p->n_features != nc)) {
                        model_set_error(err,
                                        "%s: part %zu (%s) expected to be a "
                                        "transformer of %zu features, found %s of %zu",
                                        name, i, p->ops->name, nc,
                                        p->type == MODEL_TYPE_TRANSFORMER ? "one" : "a predictor",
                                        p->n_features);
                        goto fail;
                }
                width += p ? p->n_out : nc;
        }
        if (width == 0) {
                model_set_error(err, "%s: every part was dropped; "
                                "expected at least one output column", name);
                goto fail;
        }
        c = calloc(1, sizeof(*c));
        if (!c)
                goto nomem;
        c->base.ops = ops;
        c->parts = calloc(n, sizeof(*c->parts));
        c->offsets = malloc((n + 1) * sizeof(*c->offsets));
        c->cols = malloc(offsets[n] * sizeof(*c->cols));
        c->weights = malloc(n * sizeof(*c->weights));
        if (!c->parts || !c->offsets || !c->cols || !c->weights)
                goto nomem;
        rc = model_base_init(&c->base, ops, MODEL_TYPE_TRANSFORMER, n_features,
                             NULL, 0, err);
        if (rc < 0)
                goto fail;
        c->base.n_out = width;
        if ((rc = coltrans_kinds(&c->base, parts, cols, offsets, weights, n, err)) < 0)
                goto fail;
        memcpy(c->offsets, offsets, (n + 1) * sizeof(*c->offsets));
        memcpy(c->cols, cols, offsets[n] * sizeof(*c->cols));
        for (size_t i = 0; i < n; i++)
                c->weights[i] = weights ? weights[i] : 1.0;
        c->n = n;
        for (size_t i = 0; i < n; i++) {
                c->parts[i] = parts[i];
                parts[i] = NULL;
        }
        *out = &c->base;
        return 0;
nomem:
        rc = -ENOMEM;
        model_set_error(err, "%s: out of memory", name);
fail:
        for (size_t i = 0; i < n; i++)
                model_free(parts[i]);
        if (c)
                coltrans_destroy(&c->base);
        return rc;
}

/* --- TransformedTargetRegressor ---------------------------------------- */

/* The regressor predicts in the transformed target space; predict maps
 * its output back through the target transformer's inverse_transform,
 * which is affine for the transformers served here. */
struct ttr {
        struct model base;
        struct model *reg;
        enum model_target_inverse kind;
        double *shift; /* NULL: none */
        double *scale; /* NULL: none */
};

static int ttr_regress(const struct model *m, const double *X, size_t rows, double *out,
                       struct model_error *err)
{
        const struct ttr *t = (const struct ttr *)m;
        int rc = t->reg->ops->regress(t->reg, X, rows, out, err);
        if (rc < 0)
                return rc;
        size_t n = m->n_outputs;
        for (size_t r = 0; r < rows; r++)
                for (size_t k = 0; k < n; k++) {
                        double *v = &out[r * n + k];
                        /* the operation order of scikit-learn's inverse_transform */
                        if (t->kind == MODEL_TARGET_STANDARD) {
                                if (t->scale)
                                        *v *= t->scale[k];
                                if (t->shift)
                                        *v += t->shift[k];
                        } else if (t->kind == MODEL_TARGET_MINMAX) {
                                *v -= t->shift[k];
                                *v /= t->scale[k];
                        }
                }
        return 0;
}

static void ttr_describe(const struct model *m, char *buf, size_t len)
{
        const struct ttr *t = (const struct ttr *)m;
        static const char *const kinds[] = { "identity", "StandardScaler", "MinMaxScaler" };
        char inner[256];
        model_describe(t->reg, inner, sizeof(inner));
        snprintf(buf, len, "TransformedTargetRegressor(%s, target=%s)", inner, kinds[t->kind]);
}

static void ttr_destroy(struct model *m)
{
        struct ttr *t = (struct ttr *)m;
        model_base_release(m);
        model_free(t->reg);
        free(t->shift);
        free(t->scale);
        free(t);
}

static const struct model_ops ttr_ops = {
        .name = "TransformedTargetRegressor",
        .regress = ttr_regress,
        .describe = ttr_describe,
        .destroy = ttr_destroy,
};

static int copy_finite(const double *src, size_t n, double **dst)
{
        if (!src)
                return 0;
        for (size_t k = 0; k < n; k++)
                if (!isfinite(src[k]))
                        return -EINVAL;
        *dst = malloc(n * sizeof(double));
        if (!*dst)
                return -ENOMEM;
        memcpy(*dst, src, n * sizeof(double));
        return 0;
}

int model_target_regressor_create(struct model *regressor, enum model_target_inverse kind,
                                  size_t n, const double *shift, const double *scale,
                                  struct model **out, struct model_error *err)
{
        struct ttr *t = NULL;
        int rc = -EINVAL;
        if (!regressor || regressor->type != MODEL_TYPE_REGRESSOR) {
                model_set_error(err, "TransformedTargetRegressor: expected a regressor, found %s",
                                regressor ? regressor->ops->name : "none");
                goto fail;
        }
        if (kind != MODEL_TARGET_IDENTITY && n != regressor->n_outputs) {
                model_set_error(err,
                                "TransformedTargetRegressor: the target transformer has %zu "
                                "columns but the regressor predicts %zu outputs",
                                n, regressor->n_outputs);
                goto fail;
        }
        if (kind == MODEL_TARGET_MINMAX && (!shift || !scale)) {
                model_set_error(err, "TransformedTargetRegressor: MinMaxScaler expected min_ "
                                "and scale_");
                goto fail;
        }
        if (kind > MODEL_TARGET_MINMAX) {
                model_set_error(err, "TransformedTargetRegressor: unknown target transformer");
                goto fail;
        }
        t = calloc(1, sizeof(*t));
        if (!t)
                goto nomem;
        t->base.ops = &ttr_ops;
        rc = model_base_init(&t->base, &ttr_ops, MODEL_TYPE_REGRESSOR, regressor->n_features,
                             NULL, 0, err);
        if (rc < 0)
                goto fail;
        t->base.n_outputs = regressor->n_outputs;
        if ((rc = model_set_kinds(&t->base, regressor->in_kinds, NULL, err)) < 0)
                goto fail;
        t->kind = kind;
        if (kind != MODEL_TARGET_IDENTITY) {
                if ((rc = copy_finite(shift, n, &t->shift)) < 0 ||
                    (rc = copy_finite(scale, n, &t->scale)) < 0) {
                        if (rc == -ENOMEM)
                                goto nomem;
                        model_set_error(err, "TransformedTargetRegressor: the target "
                                        "transformer has a value that is not finite");
                        goto fail;
                }
        }
        t->reg = regressor;
        *out = &t->base;
        return 0;
nomem:
        rc = -ENOMEM;
        model_set_error(err, "TransformedTargetRegressor: out of memory");
fail:
        if (t)
                ttr_destroy(&t->base);
        model_free(regressor);
        return rc;
}
