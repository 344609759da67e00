/* linear.c - LogisticRegression: decision values X @ coef.T + intercept,
 * probabilities by expit (one-vs-rest) or softmax (multinomial), labels
 * from the decision values exactly as LinearClassifierMixin.predict. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

struct logreg {
        struct model base;
        size_t n_rows; /* 1 for binary problems, else n_classes */
        double *coef;  /* n_rows x n_features */
        double *intercept;
        enum model_logreg_proba proba;
};

static void logreg_decision_row(const struct logreg *lr, const double *x,
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

static int logreg_classify(const struct model *m, const double *X, size_t rows,
                           size_t *class_idx, double *proba,
                           struct model_error *err)
{
        const struct logreg *lr = (const struct logreg *)m;
        size_t nf = m->n_features, nc = m->n_classes;
        double *dec = malloc(lr->n_rows * sizeof(double));
        if (!dec) {
                model_set_error(err, "out of memory");
                return -ENOMEM;
        }
        for (size_t r = 0; r < rows; r++) {
                const double *x = X + r * nf;
                logreg_decision_row(lr, x, dec);
                if (lr->n_rows == 1)
                        class_idx[r] = dec[0] > 0.0 ? 1 : 0;
                else
                        class_idx[r] = model_np_argmax(dec, nc);
                if (!proba)
                        continue;
                double *p = proba + r * nc;
                if (lr->n_rows == 1) {
                        if (lr->proba == MODEL_LOGREG_MULTINOMIAL) {
                                p[0] = -dec[0];
                                p[1] = dec[0];
                                model_softmax_row(p, 2);
                        } else {
                                double e = model_expit(dec[0]);
                                p[0] = 1.0 - e;
                                p[1] = e;
                        }
                } else if (lr->proba == MODEL_LOGREG_MULTINOMIAL) {
                        memcpy(p, dec, nc * sizeof(double));
                        model_softmax_row(p, nc);
                } else {
                        for (size_t k = 0; k < nc; k++)
                                p[k] = model_expit(dec[k]);
                        double s = model_np_sum(p, nc);
                        for (size_t k = 0; k < nc; k++)
                                p[k] /= s;
                }
        }
        free(dec);
        return 0;
}

static int logreg_decision(const struct model *m, const double *X, size_t rows,
                           double *out, struct model_error *err)
{
        const struct logreg *lr = (const struct logreg *)m;
        for (size_t r = 0; r < rows; r++)
                logreg_decision_row(lr, X + r * m->n_features, out + r * lr->n_rows);
        return 0;
}

static void logreg_describe(const struct model *m, char *buf, size_t len)
{
        const struct logreg *lr = (const struct logreg *)m;
        snprintf(buf, len, "LogisticRegression[%s, %zu classes]",
                 lr->proba == MODEL_LOGREG_MULTINOMIAL ? "multinomial" : "ovr",
                 m->n_classes);
}

static void logreg_destroy(struct model *m)
{
        struct logreg *lr = (struct logreg *)m;
        model_base_release(m);
        free(lr->coef);
        free(lr->intercept);
        free(lr);
}

static const struct model_ops logreg_ops = {
        .name = "LogisticRegression",
        .classify = logreg_classify,
        .decision = logreg_decision,
        .describe = logreg_describe,
        .destroy = logreg_destroy,
};

int model_logreg_create(size_t n_features, size_t n_rows, const double *coef,
                        const double *intercept, enum model_logreg_proba proba,
                        const struct model_label *classes, size_t n_classes,
                        struct model **out, struct model_error *err)
{
        if (n_features == 0 || n_classes < 2 ||
            (n_rows != 1 && n_rows != n_classes) ||
            (n_rows == 1 && n_classes != 2)) {
                model_set_error(err,
                                "LogisticRegression: coef_ has %zu rows for %zu classes "
                                "(expected 1 row for 2 classes, or one row per class)",
                                n_rows, n_classes);
                return -EINVAL;
        }
        struct logreg *lr = calloc(1, sizeof(*lr));
        if (!lr)
                goto nomem;
        lr->base.ops = &logreg_ops;
        lr->n_rows = n_rows;
        lr->proba = proba;
        lr->coef = malloc(n_rows * n_features * sizeof(double));
        lr->intercept = malloc(n_rows * sizeof(double));
        if (!lr->coef || !lr->intercept)
                goto nomem;
        memcpy(lr->coef, coef, n_rows * n_features * sizeof(double));
        memcpy(lr->intercept, intercept, n_rows * sizeof(double));
        int rc = model_base_init(&lr->base, &logreg_ops, MODEL_TYPE_CLASSIFIER,
                                 n_features, classes, n_classes, err);
        if (rc < 0) {
                logreg_destroy(&lr->base);
                return rc;
        }
        lr->base.has_proba = true;
        lr->base.decision_width = n_rows;
        *out = &lr->base;
        return 0;
nomem:
        if (lr)
                logreg_destroy(&lr->base);
        model_set_error(err, "LogisticRegression: out of memory");
        return -ENOMEM;
}
