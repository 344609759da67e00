/* build_probabilistic.c - builders for the probabilistic family: naive
 * Bayes (GaussianNB, MultinomialNB, BernoulliNB) and multi-layer
 * perceptrons (MLPClassifier, MLPRegressor). Naive Bayes needs its
 * per-class parameters and the rule its scipy used for logsumexp; a
 * perceptron needs its weight lists and activation names. The optimizer
 * objects a perceptron keeps for further training are allowed as inert
 * parts and never read. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

/* predict_proba is exp(jll - logsumexp(jll)). scikit-learn 1.2 ran with
 * scipy < 1.15 (bookworm's 1.10), whose logsumexp sums every exp(a - max);
 * 1.4 runs with scipy 1.15 and 1.9 with its own copy of it, which take the
 * maxima out of the sum. The version that saved the file is the best
 * witness of which one its owner saw. */
static enum model_nb_lse nb_lse_rule(struct build_ctx *bc, const struct pv *obj)
{
        return build_saved_before(bc, obj, 1, 4) ? MODEL_NB_LSE_PLAIN : MODEL_NB_LSE_LOG1P;
}

/* A 2-D (rows x cols) array attribute whose rows must be n_classes, or a
 * 1-D one of n values; checked and charged. */
static int read_matrix(struct build_ctx *bc, const struct pv *obj, const char *name,
                       size_t want_rows, size_t *cols, double **out)
{
        size_t s0 = 0, s1 = 0;
        int rc = build_attr_f64(bc, obj, name, 2, out, &s0, &s1);
        if (rc < 0)
                return rc;
        if (s0 != want_rows || s1 == 0)
                return build_fail(bc, -EINVAL, "%s.%s: expected %zu rows (one per class) "
                                  "of at least 1 feature, found %zu x %zu",
                                  build_cls_name(obj), name, want_rows, s0, s1);
        *cols = s1;
        return build_charge(bc, s0 * s1 * sizeof(double), name);
}

static int read_vector(struct build_ctx *bc, const struct pv *obj, const char *name,
                       size_t want, double **out)
{
        size_t s0 = 0, s1 = 0;
        int rc = build_attr_f64(bc, obj, name, 1, out, &s0, &s1);
        if (rc < 0)
                return rc;
        if (s0 != want)
                return build_fail(bc, -EINVAL, "%s.%s: expected %zu values (one per class), "
                                  "found %zu", build_cls_name(obj), name, want, s0);
        return build_charge(bc, s0 * sizeof(double), name);
}

/* GaussianNB: var_ from 1.0 (sigma_ before; 1.0 and 1.1 kept both). Both
 * already include epsilon_, which fit adds at its end. */
static int build_gaussian_nb(struct build_ctx *bc, const struct pv *obj,
                             struct model **out)
{
        struct build_labels labels = { 0 };
        double *theta = NULL, *var = NULL, *prior = NULL;
        size_t nf = 0, nf2 = 0;
        struct model_error me;
        const char *var_name = build_attr(bc, obj, "var_") ? "var_" : "sigma_";
        int rc;
        if ((rc = build_read_labels(bc, obj, &labels)) < 0 ||
            (rc = read_matrix(bc, obj, "theta_", labels.n, &nf, &theta)) < 0 ||
            (rc = read_matrix(bc, obj, var_name, labels.n, &nf2, &var)) < 0 ||
            (rc = read_vector(bc, obj, "class_prior_", labels.n, &prior)) < 0)
                goto out;
        if (nf2 != nf) {
                rc = build_fail(bc, -EINVAL, "GaussianNB.%s: expected %zu features as "
                                "theta_, found %zu", var_name, nf, nf2);
                goto out;
        }
        if ((rc = build_check_n_features(bc, obj, nf)) < 0)
                goto out;
        rc = model_gaussian_nb_create(nf, theta, var, prior, nb_lse_rule(bc, obj), labels.v,
                                      labels.n, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        free(theta);
        free(var);
        free(prior);
        build_labels_free(&labels);
        return rc;
}

/* MultinomialNB and BernoulliNB (with its binarize threshold, or None). */
static int build_discrete_nb(struct build_ctx *bc, const struct pv *obj,
                             struct model **out)
{
        struct build_labels labels = { 0 };
        double *flp = NULL, *clp = NULL;
        double threshold = 0.0;
        const double *binarize = NULL;
        size_t nf = 0;
        struct model_error me;
        const char *name = build_cls_name(obj);
        int rc;
        if ((rc = build_read_labels(bc, obj, &labels)) < 0 ||
            (rc = read_matrix(bc, obj, "feature_log_prob_", labels.n, &nf, &flp)) < 0 ||
            (rc = read_vector(bc, obj, "class_log_prior_", labels.n, &clp)) < 0 ||
            (rc = build_check_n_features(bc, obj, nf)) < 0)
                goto out;
        if (strcmp(name, "BernoulliNB") == 0) {
                const struct pv *b = NULL;
                if ((rc = build_need_attr(bc, obj, "binarize", &b)) < 0)
                        goto out;
                if (b->kind == PV_FLOAT || b->kind == PV_INT || b->kind == PV_BOOL) {
                        threshold = b->kind == PV_FLOAT ? b->u.f
                                    : b->kind == PV_INT ? (double)b->u.i : (double)b->u.b;
                        if (isnan(threshold)) {
                                rc = build_fail(bc, -EINVAL,
                                                "BernoulliNB.binarize is not a number");
                                goto out;
                        }
                        binarize = &threshold;
                } else if (b->kind != PV_NONE) {
                        rc = build_fail(bc, -EINVAL, "BernoulliNB.binarize: expected a "
                                        "number or None, found %s", pv_kind_name(b));
                        goto out;
                }
        }
        rc = model_discrete_nb_create(name, nf, flp, clp, binarize, nb_lse_rule(bc, obj),
                                      labels.v, labels.n, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        free(flp);
        free(clp);
        build_labels_free(&labels);
        return rc;
}

/* --- perceptrons ---------------------------------------------------------- */

/* Item i of a list of arrays (coefs_, intercepts_) through
 * build_attr_f64, so that it gets the same dtype, shape and finiteness
 * checks as any attribute: a one-entry state named "coefs_[i]" stands in
 * for the estimator. */
static int read_list_item(struct build_ctx *bc, const struct pv *obj, const char *list,
                          size_t i, const struct pv *item, size_t want_ndim,
                          double **out, size_t *s0, size_t *s1)
{
        char name[32];
        snprintf(name, sizeof(name), "%s[%zu]", list, i);
        struct pv key = { .kind = PV_STR };
        key.u.s.data = name;
        key.u.s.len = strlen(name);
        struct pv *keys[1] = { &key };
        struct pv *vals[1] = { (struct pv *)item };
        struct pv state = { .kind = PV_DICT };
        state.u.dict.keys = keys;
        state.u.dict.vals = vals;
        state.u.dict.len = state.u.dict.cap = 1;
        struct pv stand_in = { .kind = PV_OBJECT };
        stand_in.u.obj.cls = obj->u.obj.cls;
        stand_in.u.obj.state = &state;
        return build_attr_f64(bc, &stand_in, name, want_ndim, out, s0, s1);
}

static int read_activation(struct build_ctx *bc, const struct pv *obj, const char *name,
                           enum model_mlp_act *out)
{
        static const struct {
                const char *s;
                enum model_mlp_act a;
        } names[] = {
                { "identity", MODEL_MLP_IDENTITY }, { "logistic", MODEL_MLP_LOGISTIC },
                { "tanh", MODEL_MLP_TANH },         { "relu", MODEL_MLP_RELU },
                { "softmax", MODEL_MLP_SOFTMAX },   { "exp", MODEL_MLP_EXP },
        };
        const struct pv *v = NULL;
        int rc = build_need_attr(bc, obj, name, &v);
        if (rc < 0)
                return rc;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                if (pv_is_str(v, names[i].s)) {
                        *out = names[i].a;
                        return 0;
                }
        }
        return build_fail(bc, -EINVAL,
                          "%s.%s: expected identity, logistic, tanh, relu, softmax or exp, "
                          "found %s%s%.40s%s", build_cls_name(obj), name, pv_kind_name(v),
                          v->kind == PV_STR ? " '" : "", v->kind == PV_STR ? v->u.s.data : "",
                          v->kind == PV_STR ? "'" : "");
}

struct mlp_parts {
        size_t n_mats;
        size_t widths[MODEL_MLP_MAX_LAYERS + 1];
        double *coefs[MODEL_MLP_MAX_LAYERS];
        double *intercepts[MODEL_MLP_MAX_LAYERS];
        enum model_mlp_act hidden, output;
};

static void mlp_parts_free(struct mlp_parts *p)
{
        for (size_t l = 0; l < p->n_mats; l++) {
                free(p->coefs[l]);
                free(p->intercepts[l]);
        }
}

/* coefs_ and intercepts_: lists of n_layers_ - 1 arrays whose shapes
 * chain (n_in x n_out, then n_out values). */
static int read_mlp(struct build_ctx *bc, const struct pv *obj, struct mlp_parts *p)
{
        const char *who = build_cls_name(obj);
        const struct pv *coefs = NULL, *icpts = NULL;
        int64_t n_layers = 0;
        int rc;
        if ((rc = build_need_attr(bc, obj, "coefs_", &coefs)) < 0 ||
            (rc = build_need_attr(bc, obj, "intercepts_", &icpts)) < 0 ||
            (rc = build_attr_int(bc, obj, "n_layers_", &n_layers)) < 0 ||
            (rc = read_activation(bc, obj, "activation", &p->hidden)) < 0 ||
            (rc = read_activation(bc, obj, "out_activation_", &p->output)) < 0)
                return rc;
        if (coefs->kind != PV_LIST || icpts->kind != PV_LIST)
                return build_fail(bc, -EINVAL, "%s: expected coefs_ and intercepts_ to be "
                                  "lists, found %s and %s", who, pv_kind_name(coefs),
                                  pv_kind_name(icpts));
        size_t n = coefs->u.seq.len;
        if (n == 0 || n > MODEL_MLP_MAX_LAYERS || icpts->u.seq.len != n ||
            n_layers != (int64_t)n + 1)
                return build_fail(bc, -EINVAL, "%s: expected n_layers_ - 1 (1 to %d) weight "
                                  "matrices and as many intercepts, found n_layers_ %lld, "
                                  "%zu coefs_ and %zu intercepts_", who, MODEL_MLP_MAX_LAYERS,
                                  (long long)n_layers, n, icpts->u.seq.len);
        for (size_t l = 0; l < n; l++) {
                size_t r = 0, c = 0, bn = 0, one = 0;
                if ((rc = read_list_item(bc, obj, "coefs_", l, coefs->u.seq.items[l], 2,
                                         &p->coefs[l], &r, &c)) < 0)
                        return rc;
                p->n_mats = l + 1; /* from here on p->coefs[l] is freed */
                if ((rc = read_list_item(bc, obj, "intercepts_", l, icpts->u.seq.items[l], 1,
                                         &p->intercepts[l], &bn, &one)) < 0)
                        return rc;
                if (r == 0 || c == 0 || r > MODEL_MLP_MAX_WIDTH || c > MODEL_MLP_MAX_WIDTH ||
                    (l > 0 && r != p->widths[l]) || bn != c)
                        return build_fail(bc, -EINVAL, "%s: coefs_[%zu] is %zu x %zu and "
                                          "intercepts_[%zu] has %zu values (expected "
                                          "%zu inputs, at most %d units, one intercept per unit)",
                                          who, l, r, c, l, bn, l > 0 ? p->widths[l] : r,
                                          MODEL_MLP_MAX_WIDTH);
                p->widths[l] = r;
                p->widths[l + 1] = c;
                if ((rc = build_charge(bc, (r * c + c) * sizeof(double), "MLP weights")) < 0)
                        return rc;
        }
        return build_check_n_features(bc, obj, p->widths[0]);
}

static int build_mlp(struct build_ctx *bc, const struct pv *obj, bool classifier,
                     struct model **out)
{
        struct mlp_parts p = { 0 };
        struct build_labels labels = { 0 };
        struct model_error me;
        int rc = read_mlp(bc, obj, &p);
        if (rc < 0)
                goto out;
        if (classifier) {
                /* a multilabel network predicts label sets, not labels */
                const struct pv *lb = build_attr(bc, obj, "_label_binarizer");
                const struct pv *yt = lb && lb->kind == PV_OBJECT
                                              ? build_attr(bc, lb, "y_type_") : NULL;
                if (yt && yt->kind == PV_STR && strncmp(yt->u.s.data, "multilabel", 10) == 0) {
                        rc = build_fail(bc, -EINVAL, "MLPClassifier: expected a binary or "
                                        "multiclass target, found '%s' (multilabel models "
                                        "are not supported)", yt->u.s.data);
                        goto out;
                }
                if ((rc = build_read_labels(bc, obj, &labels)) < 0)
                        goto out;
        }
        const double *const *coefs = (const double *const *)p.coefs;
        const double *const *icpts = (const double *const *)p.intercepts;
        rc = model_mlp_create(p.n_mats, p.widths, coefs, icpts, p.hidden, p.output,
                              classifier ? labels.v : NULL, labels.n, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        mlp_parts_free(&p);
        build_labels_free(&labels);
        return rc;
}

static int build_mlp_classifier(struct build_ctx *bc, const struct pv *obj,
                                struct model **out)
{
        return build_mlp(bc, obj, true, out);
}

static int build_mlp_regressor(struct build_ctx *bc, const struct pv *obj,
                               struct model **out)
{
        return build_mlp(bc, obj, false, out);
}

#define ENTRY(module, name, fn) { { module, name, ROLE_ESTIMATOR, name }, fn }

/* Modules as each class's pickle names them (checked with pickletools
 * against 1.2, 1.4 and 1.9), and the public modules before 0.22. */
const struct build_entry build_probabilistic_entries[] = {
        ENTRY("sklearn.naive_bayes", "GaussianNB", build_gaussian_nb),
        ENTRY("sklearn.naive_bayes", "MultinomialNB", build_discrete_nb),
        ENTRY("sklearn.naive_bayes", "BernoulliNB", build_discrete_nb),
        ENTRY("sklearn.neural_network._multilayer_perceptron", "MLPClassifier",
              build_mlp_classifier),
        ENTRY("sklearn.neural_network.multilayer_perceptron", "MLPClassifier",
              build_mlp_classifier),
        ENTRY("sklearn.neural_network._multilayer_perceptron", "MLPRegressor",
              build_mlp_regressor),
        ENTRY("sklearn.neural_network.multilayer_perceptron", "MLPRegressor",
              build_mlp_regressor),
        /* Parts, never served: the optimizer state kept for warm starts
         * (solver 'adam' and 'sgd'; 'lbfgs' keeps none). */
        ENTRY("sklearn.neural_network._stochastic_optimizers", "AdamOptimizer", NULL),
        ENTRY("sklearn.neural_network._stochastic_optimizers", "SGDOptimizer", NULL),
        ENTRY("sklearn.neural_network.stochastic_optimizers", "AdamOptimizer", NULL),
        ENTRY("sklearn.neural_network.stochastic_optimizers", "SGDOptimizer", NULL),
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
