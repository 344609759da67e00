/* boosting.c - AdaBoostClassifier (SAMME and SAMME.R) and
 * AdaBoostRegressor (AdaBoost.R2) over fitted members.
 *
 * The members are models of their own (decision stumps by default, any
 * classifier or regressor predictd builds otherwise), called through
 * their ops. The arithmetic follows sklearn/ensemble/_weight_boosting.py
 * step by step, since the order of additions decides the last bits:
 * - the members' contributions are added in member order starting from
 *   0 (Python's sum() over arrays), then divided by
 *   np.sum(estimator_weights_), the whole array (trailing zeros of a
 *   boosting that stopped early included, which changes numpy's pairwise
 *   grouping but not the value of a sum of zeros);
 * - SAMME adds, per class, w where the member predicts that class and 0
 *   elsewhere (scikit-learn < 1.4) or -w / (K - 1) elsewhere (1.4+);
 * - SAMME.R adds (K - 1) (log p - mean(log p)) of each member's
 *   probabilities clipped at DBL_EPSILON (_samme_proba);
 * - binary: decision = pred[1] - pred[0]; predict_proba is the softmax of
 *   [-d, d] / 2, else of pred / (K - 1);
 * - the regressor's predict is the prediction of the first member, in
 *   ascending order of predictions, whose cumulative weight reaches half
 *   the total (>=, so an exact half takes the lower one). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

struct boost {
        struct model base;
        enum model_adaboost_kind kind;
        struct model **members;
        size_t n;
        double *weights;  /* estimator_weights_[0..n) */
        double wsum;      /* np.sum(estimator_weights_) */
};

static int oom(struct model_error *err)
{
        model_set_error(err, "out of memory in an AdaBoost model");
        return -ENOMEM;
}

/* The un-normalised sums of the members' votes (SAMME) or log-ratio
 * terms (SAMME.R), divided by the weights' sum: pred[rows x K]. */
static int boost_pred(const struct boost *b, const double *X, size_t rows, double *pred,
                      struct model_error *err)
{
        size_t K = b->base.n_classes, r1 = rows ? rows : 1;
        size_t *idx = malloc(r1 * sizeof(size_t));
        double *p = b->kind == MODEL_ADABOOST_SAMME_R ? malloc(r1 * K * sizeof(double)) : NULL;
        int rc = 0;
        if (!idx || (b->kind == MODEL_ADABOOST_SAMME_R && !p)) {
                rc = oom(err);
                goto out;
        }
        for (size_t c = 0; c < rows * K; c++)
                pred[c] = 0.0;
        double other = -1.0 / (double)(K - 1);
        for (size_t i = 0; i < b->n; i++) {
                const struct model *mb = b->members[i];
                if ((rc = mb->ops->classify(mb, X, rows, idx, p, err)) < 0)
                        goto out;
                double w = b->weights[i];
                for (size_t r = 0; r < rows; r++) {
                        double *row = pred + r * K;
                        if (b->kind == MODEL_ADABOOST_SAMME_R) {
                                double *lp = p + r * K;
                                for (size_t k = 0; k < K; k++)
                                        lp[k] = log(lp[k] < DBL_EPSILON ? DBL_EPSILON : lp[k]);
                                double mean = (1.0 / (double)K) * model_np_sum(lp, K);
                                for (size_t k = 0; k < K; k++)
                                        row[k] += (double)(K - 1) * (lp[k] - mean);
                        } else {
                                for (size_t k = 0; k < K; k++) {
                                        bool hit = idx[r] == k;
                                        if (b->kind == MODEL_ADABOOST_SAMME_LEGACY)
                                                row[k] += (hit ? 1.0 : 0.0) * w;
                                        else
                                                row[k] += hit ? w : other * w;
                                }
                        }
                }
        }
        for (size_t c = 0; c < rows * K; c++)
                pred[c] /= b->wsum;
out:
        free(idx);
        free(p);
        return rc;
}

/* decision_function into out[rows x decision_width]; pred is rows x K
 * scratch. */
static int boost_decision_into(const struct boost *b, const double *X, size_t rows,
                               double *pred, double *out, struct model_error *err)
{
        int rc = boost_pred(b, X, rows, pred, err);
        if (rc < 0)
                return rc;
        size_t K = b->base.n_classes;
        if (K == 2)
                for (size_t r = 0; r < rows; r++)
                        out[r] = -pred[2 * r] + pred[2 * r + 1];
        else if (out != pred)
                memcpy(out, pred, rows * K * sizeof(double));
        return 0;
}

static int boost_decision(const struct model *m, const double *X, size_t rows, double *out,
                          struct model_error *err)
{
        const struct boost *b = (const struct boost *)m;
        size_t K = m->n_classes;
        if (K != 2)
                return boost_decision_into(b, X, rows, out, out, err);
        double *pred = malloc((rows ? rows : 1) * K * sizeof(double));
        if (!pred)
                return oom(err);
        int rc = boost_decision_into(b, X, rows, pred, out, err);
        free(pred);
        return rc;
}

static int boost_classify(const struct model *m, const double *X, size_t rows,
                          size_t *class_idx, double *proba, struct model_error *err)
{
        const struct boost *b = (const struct boost *)m;
        size_t K = m->n_classes, r1 = rows ? rows : 1;
        double *pred = malloc(r1 * K * sizeof(double));
        double *d = malloc(r1 * K * sizeof(double));
        int rc;
        if (!pred || !d) {
                rc = oom(err);
                goto out;
        }
        if ((rc = boost_decision_into(b, X, rows, pred, d, err)) < 0)
                goto out;
        for (size_t r = 0; r < rows; r++) {
                if (K == 2) {
                        class_idx[r] = d[r] > 0 ? 1 : 0;
                        if (proba) {
                                double *row = proba + 2 * r;
                                row[0] = -d[r] / 2;
                                row[1] = d[r] / 2;
                                model_softmax_row(row, 2);
                        }
                        continue;
                }
                const double *dr = d + r * K;
                class_idx[r] = model_np_argmax(dr, K);
                if (proba) {
                        double *row = proba + r * K;
                        for (size_t k = 0; k < K; k++)
                                row[k] = dr[k] / (double)(K - 1);
                        model_softmax_row(row, K);
                }
        }
out:
        free(pred);
        free(d);
        return rc;
}

/* --- regressor ------------------------------------------------------------- */

struct ranked {
        double v;
        size_t i;
};

/* Ascending by value; equal values keep member order. */
static int ranked_cmp(const void *a, const void *b)
{
        const struct ranked *x = a, *y = b;
        if (x->v < y->v)
                return -1;
        if (x->v > y->v)
                return 1;
        return (x->i > y->i) - (x->i < y->i);
}

static int boost_regress(const struct model *m, const double *X, size_t rows, double *out,
                         struct model_error *err)
{
        const struct boost *b = (const struct boost *)m;
        size_t n = b->n, r1 = rows ? rows : 1;
        double *all = malloc(r1 * n * sizeof(double)); /* member-major */
        struct ranked *rk = malloc(n * sizeof(*rk));
        double *cdf = malloc(n * sizeof(double));
        int rc = 0;
        if (!all || !rk || !cdf) {
                rc = oom(err);
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                const struct model *mb = b->members[i];
                if ((rc = mb->ops->regress(mb, X, rows, all + i * r1, err)) < 0)
                        goto out;
        }
        for (size_t r = 0; r < rows; r++) {
                for (size_t i = 0; i < n; i++) {
                        rk[i].v = all[i * r1 + r];
                        rk[i].i = i;
                }
                qsort(rk, n, sizeof(*rk), ranked_cmp);
                for (size_t j = 0; j < n; j++)
                        cdf[j] = j ? cdf[j - 1] + b->weights[rk[j].i] : b->weights[rk[j].i];
                double half = 0.5 * cdf[n - 1];
                size_t j = 0;
                while (j < n && !(cdf[j] >= half))
                        j++;
                /* argmax of an all-false mask is 0 */
                out[r] = rk[j < n ? j : 0].v;
        }
out:
        free(all);
        free(rk);
        free(cdf);
        return rc;
}

static void boost_describe(const struct model *m, char *buf, size_t len)
{
        const struct boost *b = (const struct boost *)m;
        char inner[160];
        model_describe(b->members[0], inner, sizeof(inner));
        static const char *const algo[] = { "SAMME", "SAMME", "SAMME.R", "R2" };
        snprintf(buf, len, "%s[%s, %zu x %s]", m->ops->name, algo[b->kind], b->n, inner);
}

static void boost_destroy(struct model *m)
{
        struct boost *b = (struct boost *)m;
        model_base_release(m);
        for (size_t i = 0; b->members && i < b->n; i++)
                model_free(b->members[i]);
        free(b->members);
        free(b->weights);
        free(b);
}

static const struct model_ops boost_ops[] = {
        {
                .name = "AdaBoostClassifier",
                .classify = boost_classify,
                .decision = boost_decision,
                .describe = boost_describe,
                .destroy = boost_destroy,
        },
        {
                .name = "AdaBoostRegressor",
                .regress = boost_regress,
                .describe = boost_describe,
                .destroy = boost_destroy,
        },
};

/* Member i must answer what the booster needs and read the same
 * columns. */
static int check_member(const struct boost *b, size_t i, struct model_error *err)
{
        const struct model *mb = b->members[i];
        const char *name = b->base.ops->name;
        if (!mb || mb->n_features != b->base.n_features) {
                model_set_error(err, "%s: member %zu reads %zu features, the first %zu", name,
                                i, mb ? mb->n_features : 0, b->base.n_features);
                return -EINVAL;
        }
        if (b->kind == MODEL_ADABOOST_R2) {
                if (mb->type != MODEL_TYPE_REGRESSOR || mb->n_outputs != 1) {
                        model_set_error(err, "%s: member %zu (%s) is not a single-output "
                                             "regressor", name, i, mb->ops->name);
                        return -EINVAL;
                }
                return 0;
        }
        if (mb->type != MODEL_TYPE_CLASSIFIER || mb->n_classes != b->base.n_classes) {
                model_set_error(err, "%s: member %zu (%s) is not a classifier of the %zu "
                                     "classes", name, i, mb->ops->name, b->base.n_classes);
                return -EINVAL;
        }
        for (size_t k = 0; k < mb->n_classes; k++)
                if (!model_label_equal(&mb->classes[k], &b->base.classes[k])) {
                        model_set_error(err, "%s: member %zu has other classes than the "
                                             "ensemble (class %zu differs)", name, i, k);
                        return -EINVAL;
                }
        if (b->kind == MODEL_ADABOOST_SAMME_R && !mb->has_proba) {
                model_set_error(err, "%s: SAMME.R needs predict_proba, which member %zu (%s) "
                                     "does not have", name, i, mb->ops->name);
                return -EINVAL;
        }
        return 0;
}

int model_adaboost_create(const struct model_adaboost_params *p, struct model **members,
                          size_t n, const struct model_label *classes, size_t n_classes,
                          struct model **out, struct model_error *err)
{
        struct boost *b = NULL;
        int rc = -EINVAL;
        bool reg = p->kind == MODEL_ADABOOST_R2;
        const char *name = boost_ops[reg].name;
        if (n == 0 || !members[0] || p->n_weights < n || (!reg && n_classes < 2) ||
            (reg && n_classes)) {
                model_set_error(err, "%s: expected at least one member, as many weights and "
                                     "%s, found %zu members, %zu weights and %zu classes",
                                name, reg ? "no classes" : "2 or more classes", n,
                                p->n_weights, n_classes);
                goto fail;
        }
        for (size_t i = 0; i < p->n_weights; i++)
                if (!isfinite(p->weights[i])) {
                        model_set_error(err, "%s: estimator_weights_[%zu] is not finite", name,
                                        i);
                        goto fail;
                }
        if (!(b = calloc(1, sizeof(*b))) || !(b->members = calloc(n, sizeof(*b->members))) ||
            !(b->weights = malloc(n * sizeof(double))))
                goto nomem;
        b->n = n;
        b->kind = p->kind;
        for (size_t i = 0; i < n; i++) {
                b->members[i] = members[i];
                members[i] = NULL;
        }
        memcpy(b->weights, p->weights, n * sizeof(double));
        b->wsum = model_np_sum(p->weights, p->n_weights);
        if ((rc = model_base_init(&b->base, &boost_ops[reg],
                                  reg ? MODEL_TYPE_REGRESSOR : MODEL_TYPE_CLASSIFIER,
                                  b->members[0]->n_features, classes, n_classes, err)) < 0)
                goto fail;
        if (reg) {
                b->base.n_outputs = 1;
        } else {
                b->base.has_proba = true;
                b->base.decision_width = n_classes == 2 ? 1 : n_classes;
                if (!(b->wsum != 0.0)) {
                        model_set_error(err, "%s: the estimator weights sum to %g", name,
                                        b->wsum);
                        rc = -EINVAL;
                        goto fail;
                }
        }
        for (size_t i = 0; i < n; i++)
                if ((rc = check_member(b, i, err)) < 0 ||
                    (rc = model_merge_kinds(&b->base, b->members[i], err)) < 0)
                        goto fail;
        *out = &b->base;
        return 0;
nomem:
        rc = oom(err);
fail:
        for (size_t i = 0; i < n; i++)
                model_free(members[i]);
        if (b)
                boost_destroy(&b->base);
        return rc;
}
