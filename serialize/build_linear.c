/* build_linear.c - builders for the linear family: regressors
 * (LinearRegression, Ridge, Lasso, ElasticNet, SGDRegressor, LinearSVR)
 * and classifiers (LogisticRegression[CV], RidgeClassifier, LinearSVC,
 * Perceptron, SGDClassifier). All of them hold coef_ and intercept_; what
 * differs is where the labels live and how probabilities are made. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

/* coef_ and intercept_ as model/ wants them: coef rows x nf, one
 * intercept per row. */
struct lin_parts {
        const double *coef; /* coef_own, or coef_ where the stream holds it */
        double *coef_own;
        double *icpt;
        size_t rows, nf;
        struct build_labels labels;
};

static void lin_parts_free(struct lin_parts *p)
{
        free(p->coef_own);
        free(p->icpt);
        build_labels_free(&p->labels);
}

/* intercept_ is an array of one value per coef_ row, or a single number:
 * a numpy scalar (LinearRegression, Lasso on one target), 0.0 when fitted
 * without an intercept, or a 1-element array (SGDRegressor, LinearSVR).
 * A single number applies to every row, as numpy broadcasts it. */
static int read_intercept(struct build_ctx *bc, const struct pv *obj,
                          size_t rows, double **out)
{
        const char *who = build_cls_name(obj);
        const struct pv *v = NULL;
        double *icpt = NULL;
        size_t n = 0, one = 0;
        int rc = build_need_attr(bc, obj, "intercept_", &v);
        if (rc < 0)
                return rc;
        if (v->kind == PV_FLOAT || v->kind == PV_INT) {
                double x = v->kind == PV_FLOAT ? v->u.f : (double)v->u.i;
                if (!isfinite(x))
                        return build_fail(bc, -EINVAL, "%s.intercept_ is not a finite number",
                                          who);
                if (!(icpt = malloc(sizeof(double))))
                        return build_fail(bc, -ENOMEM, "out of memory reading intercept_");
                icpt[0] = x;
                n = 1;
        } else if ((rc = build_attr_f64(bc, obj, "intercept_", 1, &icpt, &n, &one)) < 0) {
                return rc;
        }
        if (n == rows) {
                *out = icpt;
                return 0;
        }
        if (n != 1) {
                free(icpt);
                return build_fail(bc, -EINVAL,
                                  "%s: intercept_ has %zu values for %zu coef_ rows "
                                  "(expected %zu or one)", who, n, rows, rows);
        }
        double *all = malloc(rows * sizeof(double));
        if (!all) {
                free(icpt);
                return build_fail(bc, -ENOMEM, "out of memory reading intercept_");
        }
        for (size_t i = 0; i < rows; i++)
                all[i] = icpt[0];
        free(icpt);
        *out = all;
        return 0;
}

/* coef_ and intercept_, checked against n_features_in_ and charged. A
 * 1-D coef_ is one row: a single-target regressor, or a binary
 * RidgeClassifier saved by 1.9 (earlier versions kept it 2-D). */
static int read_coef(struct build_ctx *bc, const struct pv *obj, struct lin_parts *p)
{
        size_t s0 = 0, s1 = 0;
        const struct pv *c = build_attr(bc, obj, "coef_");
        size_t ndim = build_is_built_array(c) ? c->u.arr->ndim : 0;
        /* the model copies it: a large text model's coef_ is most of its
         * file (build_attr_f64_view) */
        int rc = build_attr_f64_view(bc, obj, "coef_", 0, &p->coef, &p->coef_own, &s0, &s1);
        if (rc < 0)
                return rc;
        if (ndim == 1) {
                p->rows = 1;
                p->nf = s0;
        } else {
                p->rows = s0;
                p->nf = s1;
        }
        if (p->rows == 0 || p->nf == 0)
                return build_fail(bc, -EINVAL, "%s.coef_: expected at least 1 x 1, found %zu x %zu",
                                  build_cls_name(obj), p->rows, p->nf);
        if ((rc = read_intercept(bc, obj, p->rows, &p->icpt)) < 0 ||
            (rc = build_check_n_features(bc, obj, p->nf)) < 0)
                return rc;
        return build_charge(bc, (p->rows * p->nf + p->rows) * sizeof(double),
                            build_cls_name(obj));
}

/* classes_, or for RidgeClassifier before 1.9 (where classes_ is a
 * property) the classes_ of its _label_binarizer. */
static int read_classes(struct build_ctx *bc, const struct pv *obj,
                        struct build_labels *out)
{
        const struct pv *lb = build_attr(bc, obj, "_label_binarizer");
        if (lb && lb->kind == PV_OBJECT) {
                /* multilabel RidgeClassifier predicts label sets, not labels */
                const struct pv *yt = build_attr(bc, lb, "y_type_");
                if (yt && yt->kind == PV_STR && strncmp(yt->u.s.data, "multilabel", 10) == 0)
                        return build_fail(bc, -EINVAL,
                                          "%s: expected a binary or multiclass target, found "
                                          "'%s' (multilabel models are not supported)",
                                          build_cls_name(obj), yt->u.s.data);
                if (!build_attr(bc, obj, "classes_"))
                        return build_read_labels(bc, lb, out);
        }
        return build_read_labels(bc, obj, out);
}

/* LinearClassifierMixin normalises one-vs-rest expit values; from 1.9 a
 * row whose values all underflow to 0 is uniform instead of 0/0. */
static enum model_linear_proba ovr_rule(struct build_ctx *bc, const struct pv *obj)
{
        return build_saved_before(bc, obj, 1, 9) ? MODEL_LINEAR_OVR : MODEL_LINEAR_OVR_UNIFORM;
}

static int build_regressor(struct build_ctx *bc, const struct pv *obj,
                           struct model **out)
{
        struct lin_parts p = { 0 };
        struct model_error me;
        int rc = read_coef(bc, obj, &p);
        if (rc < 0)
                goto out;
        rc = model_linear_regressor_create(build_cls_name(obj), p.nf, p.rows, p.coef, p.icpt,
                                           out, &me);
        if (rc < 0) {
                build_model_error(bc, rc, &me);
                goto out;
        }
        /* fitted on y of shape (n, 1): coef_ is (1, n_features) and
         * predict keeps the column */
        const struct pv *coef = build_attr(bc, obj, "coef_");
        model_set_outputs_2d(*out, build_is_built_array(coef) && coef->u.arr->ndim == 2);
out:
        lin_parts_free(&p);
        return rc;
}

/* How a classifier's predict_proba works, decided from its state and
 * number of classes; 0 or a failure from build_fail. */
typedef int (*proba_rule_fn)(struct build_ctx *bc, const struct pv *obj,
                             size_t n_classes, enum model_linear_proba *out);

static int build_classifier(struct build_ctx *bc, const struct pv *obj,
                            proba_rule_fn rule, struct model **out)
{
        struct lin_parts p = { 0 };
        enum model_linear_proba proba = MODEL_LINEAR_NO_PROBA;
        struct model_error me;
        int rc;
        if ((rc = read_coef(bc, obj, &p)) < 0 ||
            (rc = read_classes(bc, obj, &p.labels)) < 0 ||
            (rc = rule(bc, obj, p.labels.n, &proba)) < 0)
                goto out;
        rc = model_linear_classifier_create(build_cls_name(obj), p.nf, p.rows, p.coef, p.icpt,
                                            proba, p.labels.v, p.labels.n, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        lin_parts_free(&p);
        return rc;
}

/* RidgeClassifier, LinearSVC, Perceptron: decision_function and predict,
 * no predict_proba. */
static int no_proba_rule(struct build_ctx *bc, const struct pv *obj,
                         size_t n_classes, enum model_linear_proba *out)
{
        (void)bc;
        (void)obj;
        (void)n_classes;
        *out = MODEL_LINEAR_NO_PROBA;
        return 0;
}

/* SGDClassifier: predict_proba exists for log loss ('log' until 1.2,
 * 'log_loss' from 1.1) and modified_huber only. */
static int sgd_proba_rule(struct build_ctx *bc, const struct pv *obj,
                          size_t n_classes, enum model_linear_proba *out)
{
        static const char *const no_proba[] = {
                "hinge", "squared_hinge", "perceptron", "squared_error", "squared_loss",
                "huber", "epsilon_insensitive", "squared_epsilon_insensitive",
        };
        const struct pv *loss = NULL;
        int rc = build_need_attr(bc, obj, "loss", &loss);
        (void)n_classes;
        if (rc < 0)
                return rc;
        if (pv_is_str(loss, "log_loss") || pv_is_str(loss, "log")) {
                *out = ovr_rule(bc, obj);
                return 0;
        }
        if (pv_is_str(loss, "modified_huber")) {
                *out = MODEL_LINEAR_MODIFIED_HUBER;
                return 0;
        }
        for (size_t i = 0; i < sizeof(no_proba) / sizeof(no_proba[0]); i++) {
                if (pv_is_str(loss, no_proba[i])) {
                        *out = MODEL_LINEAR_NO_PROBA;
                        return 0;
                }
        }
        return build_fail(bc, -EINVAL,
                          "%s.loss: expected one of scikit-learn's loss names, found %s%s%.40s%s",
                          build_cls_name(obj), pv_kind_name(loss),
                          loss->kind == PV_STR ? " '" : "",
                          loss->kind == PV_STR ? loss->u.s.data : "",
                          loss->kind == PV_STR ? "'" : "");
}

/* LogisticRegression and LogisticRegressionCV (which fits, stores and
 * predicts the same way). scikit-learn's rule (1.2-1.7): one-vs-rest
 * unless multinomial was asked for, or 'auto' chose it (more than 2
 * classes, solver neither liblinear nor newton-cholesky). 1.8+ has no
 * multi_class and fits newton-cholesky as multinomial. */
static int logreg_proba_rule(struct build_ctx *bc, const struct pv *obj,
                             size_t n_classes, enum model_linear_proba *out)
{
        const struct pv *mc = build_attr(bc, obj, "multi_class");
        const struct pv *solver = build_attr(bc, obj, "solver");
        bool ovr;
        if (pv_is_str(mc, "ovr") || pv_is_str(mc, "warn"))
                ovr = true;
        else if (pv_is_str(mc, "multinomial"))
                ovr = false;
        else if (!mc || pv_is_str(mc, "auto") || pv_is_str(mc, "deprecated"))
                ovr = n_classes <= 2 || pv_is_str(solver, "liblinear") ||
                      (pv_is_str(solver, "newton-cholesky") && build_saved_before(bc, obj, 1, 9));
        else
                return build_fail(bc, -EINVAL,
                                  "%s.multi_class: expected 'auto', 'ovr' or "
                                  "'multinomial', found %s", build_cls_name(obj),
                                  pv_kind_name(mc));
        *out = ovr ? ovr_rule(bc, obj) : MODEL_LINEAR_MULTINOMIAL;
        return 0;
}

static int build_margin_classifier(struct build_ctx *bc, const struct pv *obj,
                                   struct model **out)
{
        return build_classifier(bc, obj, no_proba_rule, out);
}

static int build_sgd_classifier(struct build_ctx *bc, const struct pv *obj,
                                struct model **out)
{
        return build_classifier(bc, obj, sgd_proba_rule, out);
}

static int build_logreg(struct build_ctx *bc, const struct pv *obj,
                        struct model **out)
{
        return build_classifier(bc, obj, logreg_proba_rule, out);
}

#define ENTRY(module, name, fn) { { module, name, ROLE_ESTIMATOR, name }, fn }

/* Modules as each class's pickle names them (checked with pickletools
 * against 1.2, 1.4 and 1.9), and the public modules before 0.22. */
const struct build_entry build_linear_entries[] = {
        ENTRY("sklearn.linear_model._logistic", "LogisticRegression", build_logreg),
        ENTRY("sklearn.linear_model.logistic", "LogisticRegression", build_logreg),
        ENTRY("sklearn.linear_model._logistic", "LogisticRegressionCV", build_logreg),
        ENTRY("sklearn.linear_model.logistic", "LogisticRegressionCV", build_logreg),
        ENTRY("sklearn.linear_model._base", "LinearRegression", build_regressor),
        ENTRY("sklearn.linear_model.base", "LinearRegression", build_regressor),
        ENTRY("sklearn.linear_model._ridge", "Ridge", build_regressor),
        ENTRY("sklearn.linear_model.ridge", "Ridge", build_regressor),
        ENTRY("sklearn.linear_model._coordinate_descent", "Lasso", build_regressor),
        ENTRY("sklearn.linear_model.coordinate_descent", "Lasso", build_regressor),
        ENTRY("sklearn.linear_model._coordinate_descent", "ElasticNet", build_regressor),
        ENTRY("sklearn.linear_model.coordinate_descent", "ElasticNet", build_regressor),
        ENTRY("sklearn.linear_model._stochastic_gradient", "SGDRegressor", build_regressor),
        ENTRY("sklearn.linear_model.stochastic_gradient", "SGDRegressor", build_regressor),
        ENTRY("sklearn.svm._classes", "LinearSVR", build_regressor),
        ENTRY("sklearn.svm.classes", "LinearSVR", build_regressor),
        /* the cross-validated models predict with the linear model fitted
         * on the hyper-parameters they chose: coef_ and intercept_ */
        ENTRY("sklearn.linear_model._ridge", "RidgeCV", build_regressor),
        ENTRY("sklearn.linear_model.ridge", "RidgeCV", build_regressor),
        ENTRY("sklearn.linear_model._coordinate_descent", "LassoCV", build_regressor),
        ENTRY("sklearn.linear_model.coordinate_descent", "LassoCV", build_regressor),
        ENTRY("sklearn.linear_model._coordinate_descent", "ElasticNetCV", build_regressor),
        ENTRY("sklearn.linear_model.coordinate_descent", "ElasticNetCV", build_regressor),
        ENTRY("sklearn.linear_model._least_angle", "LarsCV", build_regressor),
        ENTRY("sklearn.linear_model.least_angle", "LarsCV", build_regressor),
        ENTRY("sklearn.linear_model._least_angle", "LassoLarsCV", build_regressor),
        ENTRY("sklearn.linear_model.least_angle", "LassoLarsCV", build_regressor),
        ENTRY("sklearn.linear_model._omp", "OrthogonalMatchingPursuitCV", build_regressor),
        ENTRY("sklearn.linear_model.omp", "OrthogonalMatchingPursuitCV", build_regressor),
        ENTRY("sklearn.linear_model._ridge", "RidgeClassifierCV", build_margin_classifier),
        ENTRY("sklearn.linear_model.ridge", "RidgeClassifierCV", build_margin_classifier),
        ENTRY("sklearn.linear_model._ridge", "RidgeClassifier", build_margin_classifier),
        ENTRY("sklearn.linear_model.ridge", "RidgeClassifier", build_margin_classifier),
        ENTRY("sklearn.svm._classes", "LinearSVC", build_margin_classifier),
        ENTRY("sklearn.svm.classes", "LinearSVC", build_margin_classifier),
        ENTRY("sklearn.linear_model._perceptron", "Perceptron", build_margin_classifier),
        ENTRY("sklearn.linear_model.perceptron", "Perceptron", build_margin_classifier),
        ENTRY("sklearn.linear_model._stochastic_gradient", "SGDClassifier",
              build_sgd_classifier),
        ENTRY("sklearn.linear_model.stochastic_gradient", "SGDClassifier",
              build_sgd_classifier),
        /* Parts, never served: RidgeClassifier's label binarizer, and the
         * loss objects SGDClassifier and Perceptron keep in
         * (_)loss_function_ (inert here: only `loss` is read). */
        ENTRY("sklearn.preprocessing._label", "LabelBinarizer", NULL),
        ENTRY("sklearn.preprocessing.label", "LabelBinarizer", NULL),
        ENTRY("sklearn.linear_model._sgd_fast", "Hinge", NULL),
        ENTRY("sklearn.linear_model._sgd_fast", "SquaredHinge", NULL),
        ENTRY("sklearn.linear_model._sgd_fast", "Log", NULL),
        ENTRY("sklearn.linear_model._sgd_fast", "ModifiedHuber", NULL),
        ENTRY("sklearn.linear_model._sgd_fast", "SquaredLoss", NULL),
        ENTRY("sklearn.linear_model._sgd_fast", "Huber", NULL),
        ENTRY("sklearn.linear_model._sgd_fast", "EpsilonInsensitive", NULL),
        ENTRY("sklearn.linear_model._sgd_fast", "SquaredEpsilonInsensitive", NULL),
        ENTRY("sklearn.linear_model.sgd_fast", "Hinge", NULL),
        ENTRY("sklearn.linear_model.sgd_fast", "SquaredHinge", NULL),
        ENTRY("sklearn.linear_model.sgd_fast", "Log", NULL),
        ENTRY("sklearn.linear_model.sgd_fast", "ModifiedHuber", NULL),
        ENTRY("sklearn.linear_model.sgd_fast", "SquaredLoss", NULL),
        ENTRY("sklearn.linear_model.sgd_fast", "Huber", NULL),
        ENTRY("sklearn.linear_model.sgd_fast", "EpsilonInsensitive", NULL),
        ENTRY("sklearn.linear_model.sgd_fast", "SquaredEpsilonInsensitive", NULL),
        /* 1.9 keeps some of SGDClassifier's losses in sklearn._loss */
        ENTRY("sklearn._loss._loss", "CyHalfBinomialLoss", NULL),
        ENTRY("sklearn._loss._loss", "CyHalfSquaredError", NULL),
        ENTRY("sklearn._loss._loss", "CyHuberLoss", NULL),
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
