/* linear.c - the linear family: every estimator whose decision values are
 * X @ coef.T + intercept. Regressors (LinearRegression, Ridge, Lasso, ...)
 * return those values; classifiers (LogisticRegression, LinearSVC,
 * SGDClassifier, ...) pick labels from them exactly as
 * LinearClassifierMixin.predict and turn them into probabilities the way
 * their class does (expit one-vs-rest, softmax, or SGD's modified Huber).
 * One struct serves them all so the arithmetic, and its rounding, exist
 * once. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "vec.h"

struct linear {
        struct model base;
        struct model_ops ops; /* per model: ops.name is this model's class */
        char name[48];
        size_t n_rows;        /* classifiers: 1 (binary) or n_classes;
                               * regressors: n_targets */
        double *coef;         /* n_rows x n_features, from slab */
        double *intercept;    /* n_rows */
        enum model_linear_proba proba;
        struct model_slab *slab; /* the loader's, for a large coef_; or NULL */
};

static void linear_decision_row(const struct linear *lr, const double *x,
                                double *d)
{
        size_t nf = lr->base.n_features;
        for (size_t k = 0; k < lr->n_rows; k++) {
                const double *w = lr->coef + k * nf;
                double acc = 0.0;
                for (size_t j = 0; j < nf; j++)
                        acc += x[j] * w[j];
                d[k] = acc + lr->intercept[k];
        }
}

/* LINEAR_ROWS rows at once */
#define LINEAR_ROWS 4

/* linear_decision_row for the LINEAR_ROWS rows at X (rows of nf), into d
 * (LINEAR_ROWS rows of n_rows): the same sums in the same order, four
 * rows' sums side by side (two rows to a register) so that each waits on
 * its own previous add rather than on one chain per value. */
static void linear_decision_rows(const struct linear *lr, const double *X, double *d)
{
        _Static_assert(LINEAR_ROWS == 4, "linear_decision_rows: two pairs of rows");
        size_t nf = lr->base.n_features, nr = lr->n_rows;
        const double *x0 = X, *x1 = X + nf, *x2 = X + 2 * nf, *x3 = X + 3 * nf;
        for (size_t k = 0; k < nr; k++) {
                const double *w = lr->coef + k * nf;
                vec2d a01 = { 0 }, a23 = { 0 };
                for (size_t j = 0; j < nf; j++) {
                        vec2d wj = vec2d_splat(w[j]);
                        a01 += (vec2d){ x0[j], x1[j] } * wj;
                        a23 += (vec2d){ x2[j], x3[j] } * wj;
                }
                vec2d b = vec2d_splat(lr->intercept[k]);
                a01 += b;
                a23 += b;
                d[k] = a01[0];
                d[nr + k] = a01[1];
                d[2 * nr + k] = a23[0];
                d[3 * nr + k] = a23[1];
        }
}

/* The decision values of the n <= LINEAR_ROWS rows at X into d (n rows of
 * n_rows): four at once when there are four. */
static void linear_decision_group(const struct linear *lr, const double *X, size_t n,
                                  double *d)
{
        size_t nf = lr->base.n_features;
        if (n == LINEAR_ROWS)
                linear_decision_rows(lr, X, d);
        else
                for (size_t i = 0; i < n; i++)
                        linear_decision_row(lr, X + i * nf, d + i * lr->n_rows);
}

/* Both decision_function and a regressor's predict. */
static int linear_values(const struct model *m, const double *X, size_t rows,
                         double *out, struct model_error *err)
{
        const struct linear *lr = (const struct linear *)m;
        (void)err;
        for (size_t r0 = 0; r0 < rows; r0 += LINEAR_ROWS)
                linear_decision_group(lr, X + r0 * m->n_features,
                                      rows - r0 < LINEAR_ROWS ? rows - r0 : LINEAR_ROWS,
                                      out + r0 * lr->n_rows);
        return 0;
}

/* Divides p[0..n) by its numpy sum; a row summing to zero becomes uniform
 * when `uniform_if_zero` (what scikit-learn 1.9 and SGD's modified Huber
 * do) and 0/0 = NaN otherwise (LinearClassifierMixin before 1.9). */
static void normalise_row(double *p, size_t n, bool uniform_if_zero)
{
        double s = model_np_sum(p, n);
        if (s == 0.0 && uniform_if_zero) {
                for (size_t k = 0; k < n; k++)
                        p[k] = 1.0;
                s = (double)n;
        }
        for (size_t k = 0; k < n; k++)
                p[k] /= s;
}

/* scikit-learn clips into the positive-class column and then does
 * prob += 1; prob /= 2: the same two roundings here. */
static double modified_huber(double d)
{
        double c = d < -1.0 ? -1.0 : d > 1.0 ? 1.0 : d;
        c += 1.0;
        return c / 2.0;
}

/* One row's probabilities from its decision values dec. */
static void linear_proba_row(const struct linear *lr, const double *dec,
                             double *p)
{
        size_t nc = lr->base.n_classes;
        if (lr->n_rows == 1) {
                double e;
                switch (lr->proba) {
                case MODEL_LINEAR_MULTINOMIAL:
                        p[0] = -dec[0];
                        p[1] = dec[0];
                        model_softmax_row(p, 2);
                        return;
                case MODEL_LINEAR_MODIFIED_HUBER:
                        e = modified_huber(dec[0]);
                        break;
                default:
                        e = model_expit(dec[0]);
                        break;
                }
                p[0] = 1.0 - e;
                p[1] = e;
                return;
        }
        switch (lr->proba) {
        case MODEL_LINEAR_MULTINOMIAL:
                memcpy(p, dec, nc * sizeof(double));
                model_softmax_row(p, nc);
                break;
        case MODEL_LINEAR_MODIFIED_HUBER:
                for (size_t k = 0; k < nc; k++)
                        p[k] = modified_huber(dec[k]);
                normalise_row(p, nc, true);
                break;
        default:
                for (size_t k = 0; k < nc; k++)
                        p[k] = model_expit(dec[k]);
                normalise_row(p, nc, lr->proba == MODEL_LINEAR_OVR_UNIFORM);
                break;
        }
}

static int linear_classify(const struct model *m, const double *X, size_t rows,
                           size_t *class_idx, double *proba,
                           struct model_error *err)
{
        const struct linear *lr = (const struct linear *)m;
        size_t nf = m->n_features, nc = m->n_classes, nr = lr->n_rows;
        double *dec = malloc(LINEAR_ROWS * nr * sizeof(double));
        if (!dec) {
                model_set_error(err, "out of memory");
                return -ENOMEM;
        }
        for (size_t r0 = 0; r0 < rows; r0 += LINEAR_ROWS) {
                size_t n = rows - r0 < LINEAR_ROWS ? rows - r0 : LINEAR_ROWS;
                linear_decision_group(lr, X + r0 * nf, n, dec);
                for (size_t i = 0; i < n; i++) {
                        const double *di = dec + i * nr;
                        size_t r = r0 + i;
                        if (nr == 1)
                                class_idx[r] = di[0] > 0.0 ? 1 : 0;
                        else
                                class_idx[r] = model_np_argmax(di, nc);
                        if (proba)
                                linear_proba_row(lr, di, proba + r * nc);
                }
        }
        free(dec);
        return 0;
}

static void linear_describe(const struct model *m, char *buf, size_t len)
{
        const struct linear *lr = (const struct linear *)m;
        static const char *const proba_names[] = {
                [MODEL_LINEAR_NO_PROBA] = "no proba",
                [MODEL_LINEAR_OVR] = "ovr",
                [MODEL_LINEAR_OVR_UNIFORM] = "ovr",
                [MODEL_LINEAR_MULTINOMIAL] = "multinomial",
                [MODEL_LINEAR_MODIFIED_HUBER] = "modified_huber",
        };
        if (m->type == MODEL_TYPE_REGRESSOR)
                snprintf(buf, len, "%s[%zu features, %zu targets]", lr->name,
                         m->n_features, lr->n_rows);
        else
                snprintf(buf, len, "%s[%s, %zu classes]", lr->name,
                         proba_names[lr->proba], m->n_classes);
}

static void linear_destroy(struct model *m)
{
        struct linear *lr = (struct linear *)m;
        model_base_release(m);
        model_slab_free(lr->slab, lr->coef);
        model_slab_drop(lr->slab);
        free(lr->intercept);
        free(lr);
}

/* The shared part of both constructors: copies name, coef and intercept
 * and fills the header. */
static int linear_create(const char *name, enum model_type type,
                         size_t n_features, size_t n_rows, const double *coef,
                         const double *intercept,
                         const struct model_label *classes, size_t n_classes,
                         struct linear **out, struct model_error *err)
{
        if (strlen(name) >= sizeof(((struct linear *)0)->name)) {
                model_set_error(err, "linear model: class name '%.60s' is too long", name);
                return -EINVAL;
        }
        if (n_features == 0 || n_rows == 0 ||
            n_rows > SIZE_MAX / sizeof(double) / n_features) {
                model_set_error(err, "%s: expected coef_ of at least 1 x 1, found %zu x %zu",
                                name, n_rows, n_features);
                return -EINVAL;
        }
        struct linear *lr = calloc(1, sizeof(*lr));
        if (!lr)
                goto nomem;
        snprintf(lr->name, sizeof(lr->name), "%s", name);
        lr->ops.name = lr->name;
        lr->ops.describe = linear_describe;
        lr->ops.destroy = linear_destroy;
        lr->base.ops = &lr->ops;
        lr->n_rows = n_rows;
        lr->slab = model_slab_take();
        lr->coef = model_slab_alloc(lr->slab, n_rows * n_features * sizeof(double));
        lr->intercept = malloc(n_rows * sizeof(double));
        if (!lr->coef || !lr->intercept)
                goto nomem;
        memcpy(lr->coef, coef, n_rows * n_features * sizeof(double));
        memcpy(lr->intercept, intercept, n_rows * sizeof(double));
        int rc = model_base_init(&lr->base, &lr->ops, type, n_features, classes,
                                 n_classes, err);
        if (rc < 0) {
                linear_destroy(&lr->base);
                return rc;
        }
        *out = lr;
        return 0;
nomem:
        if (lr)
                linear_destroy(&lr->base);
        model_set_error(err, "%s: out of memory", name);
        return -ENOMEM;
}

int model_linear_classifier_create(const char *name, size_t n_features,
                                   size_t n_rows, const double *coef,
                                   const double *intercept,
                                   enum model_linear_proba proba,
                                   const struct model_label *classes,
                                   size_t n_classes, struct model **out,
                                   struct model_error *err)
{
        if (n_classes < 2 || (n_rows != 1 && n_rows != n_classes) ||
            (n_rows == 1 && n_classes != 2)) {
                model_set_error(err,
                                "%s: coef_ has %zu rows for %zu classes "
                                "(expected 1 row for 2 classes, or one row per class)",
                                name, n_rows, n_classes);
                return -EINVAL;
        }
        if ((unsigned)proba > MODEL_LINEAR_MODIFIED_HUBER) {
                model_set_error(err, "%s: unknown probability rule %d", name, (int)proba);
                return -EINVAL;
        }
        struct linear *lr = NULL;
        int rc = linear_create(name, MODEL_TYPE_CLASSIFIER, n_features, n_rows, coef,
                               intercept, classes, n_classes, &lr, err);
        if (rc < 0)
                return rc;
        lr->proba = proba;
        lr->ops.classify = linear_classify;
        lr->ops.decision = linear_values;
        lr->base.has_proba = proba != MODEL_LINEAR_NO_PROBA;
        lr->base.decision_width = n_rows;
        *out = &lr->base;
        return 0;
}

int model_linear_regressor_create(const char *name, size_t n_features,
                                  size_t n_targets, const double *coef,
                                  const double *intercept, struct model **out,
                                  struct model_error *err)
{
        struct linear *lr = NULL;
        int rc = linear_create(name, MODEL_TYPE_REGRESSOR, n_features, n_targets, coef,
                               intercept, NULL, 0, &lr, err);
        if (rc < 0)
                return rc;
        lr->ops.regress = linear_values;
        lr->base.n_outputs = n_targets;
        *out = &lr->base;
        return 0;
}

int model_logreg_create(size_t n_features, size_t n_rows, const double *coef,
                        const double *intercept, enum model_logreg_proba proba,
                        const struct model_label *classes, size_t n_classes,
                        struct model **out, struct model_error *err)
{
        return model_linear_classifier_create(
                "LogisticRegression", n_features, n_rows, coef, intercept,
                proba == MODEL_LOGREG_MULTINOMIAL ? MODEL_LINEAR_MULTINOMIAL
                                                  : MODEL_LINEAR_OVR,
                classes, n_classes, out, err);
}
