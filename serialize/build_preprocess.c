/* build_preprocess.c - builders for transformers: the scalers,
 * Normalizer, PolynomialFeatures, PCA and TruncatedSVD, the feature
 * selectors, SimpleImputer and KBinsDiscretizer. Each reads only fitted
 * state; what scikit-learn would compute at transform time from
 * something not in the file (a callable, a property over trees) is
 * refused by name. */
#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

static int build_scaler(struct build_ctx *bc, const struct pv *obj,
                        struct model **out)
{
        double *mean = NULL, *scale = NULL;
        size_t nm = 0, ns = 0, one;
        struct model_error me;
        int rc = 0;
        bool with_mean = build_attr_bool(bc, obj, "with_mean", true);
        bool with_std = build_attr_bool(bc, obj, "with_std", true);
        if (with_mean && (rc = build_attr_f64(bc, obj, "mean_", 1, &mean, &nm, &one)) < 0)
                goto out;
        if (with_std && (rc = build_attr_f64(bc, obj, "scale_", 1, &scale, &ns, &one)) < 0)
                goto out;
        size_t nf = with_mean ? nm : ns;
        if (!with_mean && !with_std) {
                int64_t n = 0;
                if ((rc = build_attr_int(bc, obj, "n_features_in_", &n)) < 0)
                        goto out;
                nf = n > 0 ? (size_t)n : 0;
        }
        if (with_mean && with_std && nm != ns) {
                rc = build_fail(bc, -EINVAL, "StandardScaler: mean_ has %zu values, scale_ %zu",
                           nm, ns);
                goto out;
        }
        if ((rc = build_check_n_features(bc, obj, nf)) < 0 ||
            (rc = build_charge(bc, 2 * nf * sizeof(double), "StandardScaler")) < 0)
                goto out;
        for (size_t j = 0; scale && j < nf; j++) {
                /* fit() replaces zero scales by 1; a zero here is not a fit */
                if (scale[j] == 0.0) {
                        rc = build_fail(bc, -EINVAL, "StandardScaler.scale_[%zu] is 0", j);
                        goto out;
                }
        }
        rc = model_scaler_create(nf, mean, scale, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        free(mean);
        free(scale);
        return rc;
}


/* The input width from n_features_in_ (scikit-learn >= 0.24). */
static int attr_n_features(struct build_ctx *bc, const struct pv *obj,
                           const char *old_name, size_t *out)
{
        int64_t n = 0;
        const char *name = "n_features_in_";
        if (!build_attr(bc, obj, name) && old_name && build_attr(bc, obj, old_name))
                name = old_name;
        int rc = build_attr_int(bc, obj, name, &n);
        if (rc < 0)
                return rc;
        if (n <= 0)
                return build_fail(bc, -EINVAL, "%s.%s: expected a positive count, found %lld",
                                  build_cls_name(obj), name, (long long)n);
        *out = (size_t)n;
        return 0;
}

static int finish(struct build_ctx *bc, int rc, const struct model_error *me)
{
        return rc < 0 ? build_model_error(bc, rc, me) : rc;
}

static int no_zeros(struct build_ctx *bc, const struct pv *obj, const char *name,
                    const double *v, size_t n)
{
        /* fit() replaces zero scales by 1; a zero here is not a fit */
        for (size_t j = 0; v && j < n; j++)
                if (v[j] == 0.0)
                        return build_fail(bc, -EINVAL, "%s.%s[%zu] is 0, expected a "
                                          "non-zero scale", build_cls_name(obj), name, j);
        return 0;
}

static int build_minmax(struct build_ctx *bc, const struct pv *obj,
                        struct model **out)
{
        double *scale = NULL, *min = NULL, lo = 0.0, hi = 1.0;
        size_t n = 0;
        struct model_error me;
        int rc;
        bool clip = build_attr_bool(bc, obj, "clip", false);
        const struct pv *fr = build_attr(bc, obj, "feature_range");
        if (clip && (!fr || (fr->kind != PV_TUPLE && fr->kind != PV_LIST) ||
                     fr->u.seq.len != 2 || !build_pv_number(fr->u.seq.items[0], &lo) ||
                     !build_pv_number(fr->u.seq.items[1], &hi)))
                return build_fail(bc, -EINVAL, "MinMaxScaler.feature_range: expected a pair "
                                  "of numbers, found %s", pv_kind_name(fr));
        if ((rc = build_attr_vec(bc, obj, "scale_", false, &scale, &n)) < 0 ||
            (rc = build_attr_vec(bc, obj, "min_", false, &min, &n)) < 0 ||
            (rc = build_check_n_features(bc, obj, n)) < 0 ||
            (rc = build_charge(bc, 2 * n * sizeof(double), "MinMaxScaler")) < 0)
                goto out;
        rc = finish(bc, model_minmax_create(n, scale, min, clip, lo, hi, out, &me), &me);
out:
        free(scale);
        free(min);
        return rc;
}

static int build_maxabs(struct build_ctx *bc, const struct pv *obj,
                        struct model **out)
{
        double *scale = NULL;
        size_t n = 0;
        struct model_error me;
        int rc;
        if ((rc = build_attr_vec(bc, obj, "scale_", false, &scale, &n)) < 0 ||
            (rc = no_zeros(bc, obj, "scale_", scale, n)) < 0 ||
            (rc = build_check_n_features(bc, obj, n)) < 0 ||
            (rc = build_charge(bc, n * sizeof(double), "MaxAbsScaler")) < 0)
                goto out;
        rc = finish(bc, model_maxabs_create(n, scale, out, &me), &me);
out:
        free(scale);
        return rc;
}

static int build_robust(struct build_ctx *bc, const struct pv *obj,
                        struct model **out)
{
        double *center = NULL, *scale = NULL;
        size_t n = 0;
        struct model_error me;
        int rc = 0;
        bool with_centering = build_attr_bool(bc, obj, "with_centering", true);
        bool with_scaling = build_attr_bool(bc, obj, "with_scaling", true);
        if (with_centering && (rc = build_attr_vec(bc, obj, "center_", false, &center, &n)) < 0)
                goto out;
        if (with_scaling && ((rc = build_attr_vec(bc, obj, "scale_", false, &scale, &n)) < 0 ||
                             (rc = no_zeros(bc, obj, "scale_", scale, n)) < 0))
                goto out;
        if (!with_centering && !with_scaling &&
            (rc = attr_n_features(bc, obj, NULL, &n)) < 0)
                goto out;
        if ((rc = build_check_n_features(bc, obj, n)) < 0 ||
            (rc = build_charge(bc, 2 * n * sizeof(double), "RobustScaler")) < 0)
                goto out;
        rc = finish(bc, model_robust_create(n, center, scale, out, &me), &me);
out:
        free(center);
        free(scale);
        return rc;
}

static int build_normalizer(struct build_ctx *bc, const struct pv *obj,
                            struct model **out)
{
        size_t n = 0;
        struct model_error me;
        const char *norm = build_attr_str(bc, obj, "norm");
        enum model_norm kind;
        if (norm && strcmp(norm, "l1") == 0)
                kind = MODEL_NORM_L1;
        else if (norm && strcmp(norm, "l2") == 0)
                kind = MODEL_NORM_L2;
        else if (norm && strcmp(norm, "max") == 0)
                kind = MODEL_NORM_MAX;
        else
                return build_fail(bc, -EINVAL, "Normalizer.norm: expected 'l1', 'l2' or "
                                  "'max', found %s", norm ? norm : "no string");
        /* fit() learns nothing but the width, recorded since 0.24 */
        if (!build_attr(bc, obj, "n_features_in_"))
                return build_fail(bc, -ENOTSUP, "Normalizer: expected n_features_in_ "
                                  "(scikit-learn >= 0.24 records it), found none, so the "
                                  "input width is unknown");
        int rc = attr_n_features(bc, obj, NULL, &n);
        if (rc < 0)
                return rc;
        return finish(bc, model_normalizer_create(n, kind, out, &me), &me);
}

/* Output columns PolynomialFeatures may make: each costs 3 size_t of plan
 * plus 8 bytes per row served, so the model limit bounds it too. */
#define MAX_POLY_COLUMNS ((size_t)1 << 20)

static int build_poly(struct build_ctx *bc, const struct pv *obj,
                      struct model **out)
{
        size_t n = 0;
        int64_t min_deg = 0, max_deg = 0;
        struct model_error me;
        int rc = attr_n_features(bc, obj, "n_input_features_", &n);
        if (rc < 0)
                return rc;
        const struct pv *dmin = build_attr(bc, obj, "_min_degree");
        if (dmin) {
                /* 1.0+: degree may be a (min, max) pair, resolved by fit() */
                if ((rc = build_attr_int(bc, obj, "_min_degree", &min_deg)) < 0 ||
                    (rc = build_attr_int(bc, obj, "_max_degree", &max_deg)) < 0)
                        return rc;
        } else if ((rc = build_attr_int(bc, obj, "degree", &max_deg)) < 0) {
                return rc;
        }
        if (min_deg < 0 || max_deg < 0 || max_deg > 64)
                return build_fail(bc, -EINVAL, "PolynomialFeatures: expected degrees in "
                                  "0..64, found %lld..%lld", (long long)min_deg,
                                  (long long)max_deg);
        size_t max_out = bc->lim->max_model_bytes / (4 * sizeof(size_t));
        if (max_out > MAX_POLY_COLUMNS)
                max_out = MAX_POLY_COLUMNS;
        rc = model_poly_create(n, (size_t)min_deg, (size_t)max_deg,
                               build_attr_bool(bc, obj, "interaction_only", false),
                               build_attr_bool(bc, obj, "include_bias", true), max_out, out,
                               &me);
        if (rc < 0)
                return build_model_error(bc, rc == -E2BIG ? -EFBIG : rc, &me);
        /* the plan is made before it can be charged: charge it now */
        if ((rc = build_charge(bc, 4 * sizeof(size_t) * model_transform_width(*out),
                               "PolynomialFeatures")) < 0) {
                model_free(*out);
                *out = NULL;
        }
        return rc;
}

/* PCA and TruncatedSVD. */
static int build_projection(struct build_ctx *bc, const struct pv *obj,
                            struct model **out, bool is_pca)
{
        const char *name = is_pca ? "PCA" : "TruncatedSVD";
        double *comp = NULL, *mean = NULL, *var = NULL;
        size_t nc = 0, nf = 0;
        struct model_error me;
        int rc;
        if ((rc = build_attr_f64(bc, obj, "components_", 2, &comp, &nc, &nf)) < 0)
                return rc;
        if (nc == 0 || nf == 0) {
                rc = build_fail(bc, -EINVAL, "%s.components_: expected at least 1 x 1, found "
                                "%zu x %zu", name, nc, nf);
                goto out;
        }
        bool whiten = is_pca && build_attr_bool(bc, obj, "whiten", false);
        const struct pv *m = is_pca ? build_attr(bc, obj, "mean_") : NULL;
        if (m && m->kind != PV_NONE && (rc = build_attr_vec(bc, obj, "mean_", false, &mean, &nf)) < 0)
                goto out;
        if (whiten && (rc = build_attr_vec(bc, obj, "explained_variance_", false, &var, &nc)) < 0)
                goto out;
        if ((rc = build_check_n_features(bc, obj, nf)) < 0 ||
            (rc = build_charge(bc, (nc * nf + nf + 2 * nc) * sizeof(double), name)) < 0)
                goto out;
        /* 1.5 (with the covariance_eigh solver) projects first, subtracts
         * the projected mean, and keeps whitening scales above eps */
        bool v15 = !build_saved_before(bc, obj, 1, 5);
        rc = finish(bc, model_projection_create(name, nf, nc, comp, mean, v15, var, v15, out,
                                                &me), &me);
out:
        free(comp);
        free(mean);
        free(var);
        return rc;
}

static int build_pca(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        return build_projection(bc, obj, out, true);
}

static int build_svd(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        return build_projection(bc, obj, out, false);
}

/* --- feature selectors ------------------------------------------------- */

static int make_selector(struct build_ctx *bc, const char *name, size_t n,
                         const bool *mask, struct model **out)
{
        struct model_error me;
        int rc = build_charge(bc, n * sizeof(size_t), name);
        if (rc < 0)
                return rc;
        return finish(bc, model_select_create(name, n, mask, out, &me), &me);
}

static int build_variance(struct build_ctx *bc, const struct pv *obj,
                          struct model **out)
{
        double *var = NULL, thr = 0.0;
        size_t n = 0;
        bool *mask = NULL;
        int rc;
        if (!build_pv_number(build_attr(bc, obj, "threshold"), &thr))
                return build_fail(bc, -EINVAL, "VarianceThreshold.threshold: expected a "
                                  "number, found %s",
                                  pv_kind_name(build_attr(bc, obj, "threshold")));
        /* nanvar of an all-NaN column is NaN: such a column is never kept */
        if ((rc = build_attr_vec(bc, obj, "variances_", true, &var, &n)) < 0)
                return rc;
        if (!(mask = calloc(n ? n : 1, sizeof(bool)))) {
                rc = build_fail(bc, -ENOMEM, "out of memory for VarianceThreshold");
                goto out;
        }
        for (size_t j = 0; j < n; j++)
                mask[j] = var[j] > thr;
        if ((rc = build_check_n_features(bc, obj, n)) == 0)
                rc = make_selector(bc, "VarianceThreshold", n, mask, out);
out:
        free(var);
        free(mask);
        return rc;
}

struct ranked {
        double key;
        size_t idx;
};

/* Ties in index order: the order numpy's stable (mergesort) argsort
 * gives, from any sort. */
static int cmp_ranked(const void *a, const void *b)
{
        const struct ranked *x = a, *y = b;
        if (x->key != y->key)
                return x->key < y->key ? -1 : 1;
        return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Marks k features as get_support does: the last k of
 * argsort(scores, kind="mergesort") (SelectKBest), or with descending the
 * first k of argsort(-scores, kind="mergesort") (SelectFromModel). */
static int top_k(const double *scores, size_t n, size_t k, bool descending, bool *mask)
{
        struct ranked *r = malloc((n ? n : 1) * sizeof(*r));
        if (!r)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r[i].key = descending ? -scores[i] : scores[i];
                r[i].idx = i;
        }
        qsort(r, n, sizeof(*r), cmp_ranked);
        if (k > n)
                k = n;
        for (size_t i = 0; i < k; i++)
                mask[r[descending ? i : n - 1 - i].idx] = true;
        free(r);
        return 0;
}

static int build_kbest(struct build_ctx *bc, const struct pv *obj,
                       struct model **out)
{
        double *scores = NULL;
        size_t n = 0;
        bool *mask = NULL;
        const struct pv *k = build_attr(bc, obj, "k");
        int rc;
        if (!k || !(pv_is_str(k, "all") || (k->kind == PV_INT && k->u.i >= 0)))
                return build_fail(bc, -EINVAL, "SelectKBest.k: expected 'all' or a "
                                  "non-negative int, found %s", pv_kind_name(k));
        if ((rc = build_attr_vec(bc, obj, "scores_", true, &scores, &n)) < 0)
                return rc;
        if (!(mask = calloc(n ? n : 1, sizeof(bool)))) {
                rc = build_fail(bc, -ENOMEM, "out of memory for SelectKBest");
                goto out;
        }
        /* _clean_nans: NaN scores rank lowest, as the float64 minimum */
        for (size_t j = 0; j < n; j++)
                if (isnan(scores[j]))
                        scores[j] = -DBL_MAX;
        if (k->kind == PV_STR) {
                memset(mask, 1, n * sizeof(bool));
        } else if ((rc = build_charge(bc, n * sizeof(struct ranked), "SelectKBest")) < 0) {
                goto out;
        } else if (top_k(scores, n, (size_t)k->u.i, false, mask) < 0) {
                rc = build_fail(bc, -ENOMEM, "out of memory for SelectKBest");
                goto out;
        }
        if ((rc = build_check_n_features(bc, obj, n)) == 0)
                rc = make_selector(bc, "SelectKBest", n, mask, out);
out:
        free(scores);
        free(mask);
        return rc;
}

static bool near_one(double x)
{
        return fabs(x - 1.0) <= 1e-8 + 1e-5; /* np.isclose(x, 1.0) */
}

/* _calculate_threshold's default when threshold=None: 1e-5 for l1-penalised
 * models, the mean otherwise. Returns 1 for 1e-5, 0 for the mean, or an
 * error when the versions disagree on the estimator at hand. */
static int default_is_l1(struct build_ctx *bc, const struct pv *est)
{
        const char *name = build_cls_name(est);
        const char *penalty = build_attr_str(bc, est, "penalty");
        double l1_ratio = 0.0;
        bool has_ratio = build_pv_number(build_attr(bc, est, "l1_ratio"), &l1_ratio);
        if ((penalty && strcmp(penalty, "l1") == 0) || strstr(name, "Lasso"))
                return 1;
        double l1_ratio_fit = 0.0;
        bool has_ratio_fit = build_pv_number(build_attr(bc, est, "l1_ratio_"), &l1_ratio_fit);
        if (strstr(name, "ElasticNet") && ((has_ratio && near_one(l1_ratio)) ||
                                           (has_ratio_fit && near_one(l1_ratio_fit)))) {
                /* 1.2 matches any name containing ElasticNet; 1.9 only
                 * ElasticNet (l1_ratio) and ElasticNetCV (l1_ratio_) */
                if ((strcmp(name, "ElasticNet") == 0 && has_ratio && near_one(l1_ratio)) ||
                    (strcmp(name, "ElasticNetCV") == 0 && has_ratio_fit &&
                     near_one(l1_ratio_fit)))
                        return 1;
                return build_fail(bc, -ENOTSUP,
                                  "SelectFromModel: threshold=None over %s with l1_ratio=1 "
                                  "means 1e-5 or the mean depending on the scikit-learn "
                                  "version; set the threshold explicitly", name);
        }
        if (strcmp(name, "LogisticRegression") == 0 && has_ratio && near_one(l1_ratio))
                /* 1.2 and 1.4 look at penalty only; 1.9 at l1_ratio too */
                return build_fail(bc, -ENOTSUP,
                                  "SelectFromModel: threshold=None over a LogisticRegression "
                                  "with l1_ratio=1 means 1e-5 or the mean depending on the "
                                  "scikit-learn version; set the threshold explicitly");
        return 0;
}

/* Python's str.strip() of [*b, *e): moves both ends past whitespace. */
static void strip(const char **b, const char **e)
{
        while (*b < *e && strchr(" \t\n\r\f\v", **b))
                (*b)++;
        while (*e > *b && strchr(" \t\n\r\f\v", (*e)[-1]))
                (*e)--;
}

/* _calculate_threshold for a string: "mean", "median", or
 * "<scale>*<mean|median>" with the scale read as float() would read it
 * (decimal digits, sign, point, exponent; in the C locale). */
static int threshold_from_str(struct build_ctx *bc, const char *t, const double *scores,
                              size_t n, double *out)
{
        const char *star = strchr(t, '*');
        const char *rb = star ? star + 1 : t, *re = t + strlen(t);
        double scale = 1.0;
        if (star) {
                const char *nb = t, *ne = star;
                char num[64];
                strip(&nb, &ne);
                strip(&rb, &re);
                bool ok = ne > nb && (size_t)(ne - nb) < sizeof(num) && !strchr(rb, '*');
                for (const char *c = nb; ok && c < ne; c++)
                        ok = strchr("0123456789.eE+-", *c) != NULL;
                if (ok) {
                        memcpy(num, nb, (size_t)(ne - nb));
                        num[ne - nb] = '\0';
                        locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
                        char *end = NULL;
                        if (!c_loc)
                                return build_fail(bc, -ENOMEM, "out of memory for a locale");
                        scale = strtod_l(num, &end, c_loc);
                        freelocale(c_loc);
                        ok = end && *end == '\0';
                }
                if (!ok)
                        return build_fail(bc, -EINVAL, "SelectFromModel.threshold: expected "
                                          "'<number>*mean' or '<number>*median', found '%.60s'",
                                          t);
        } else if (strcmp(t, "mean") != 0 && strcmp(t, "median") != 0) {
                return build_fail(bc, -EINVAL, "SelectFromModel.threshold: expected 'mean', "
                                  "'median' or a scaled one such as '1.25*mean', found '%.60s'",
                                  t);
        }
        size_t len = (size_t)(re - rb);
        enum model_threshold_ref ref;
        if (len == 4 && memcmp(rb, "mean", 4) == 0)
                ref = MODEL_THRESHOLD_MEAN;
        else if (len == 6 && memcmp(rb, "median", 6) == 0)
                ref = MODEL_THRESHOLD_MEDIAN;
        else
                return build_fail(bc, -EINVAL, "SelectFromModel.threshold: expected the "
                                  "reference 'mean' or 'median', found '%.*s'",
                                  (int)(len > 60 ? 60 : len), rb);
        double r = model_select_threshold(scores, n, ref);
        if (isnan(r)) /* finite scores: only a failed allocation gives NaN */
                return build_fail(bc, -ENOMEM, "SelectFromModel: out of memory");
        *out = star ? scale * r : r;
        return 0;
}

static int build_from_model(struct build_ctx *bc, const struct pv *obj,
                            struct model **out)
{
        double *coef = NULL, *scores = NULL, thr = 0.0, order = 1.0;
        size_t rows = 0, n = 0;
        bool *mask = NULL;
        int rc;
        const struct pv *est = build_attr(bc, obj, "estimator_");
        if (!est)
                est = build_attr(bc, obj, "estimator"); /* prefit=True */
        if (!est || est->kind != PV_OBJECT || !est->u.obj.state)
                return build_fail(bc, -EINVAL, "SelectFromModel.estimator_: expected a "
                                  "fitted estimator, found %s", pv_kind_name(est));
        const char *getter = "auto";
        const struct pv *g = build_attr(bc, obj, "importance_getter");
        if (g && g->kind == PV_STR)
                getter = g->u.s.data;
        else if (g)
                return build_fail(bc, -ENOTSUP, "SelectFromModel.importance_getter: expected "
                                  "'auto' or 'coef_', found %s (a callable is not run)",
                                  pv_kind_name(g));
        if (strcmp(getter, "auto") != 0 && strcmp(getter, "coef_") != 0)
                return build_fail(bc, -ENOTSUP, "SelectFromModel.importance_getter: expected "
                                  "'auto' or 'coef_', found '%.60s'", getter);
        if (!build_attr(bc, est, "coef_"))
                /* trees and forests compute feature_importances_ as a
                 * property from their nodes at transform time */
                return build_fail(bc, -ENOTSUP, "SelectFromModel over %s: expected an "
                                  "estimator with coef_; feature_importances_ is computed, "
                                  "not stored, and predictd does not recompute it",
                                  build_cls_name(est));
        const struct pv *no = build_attr(bc, obj, "norm_order");
        if (no && !build_pv_number(no, &order))
                return build_fail(bc, -EINVAL, "SelectFromModel.norm_order: expected a "
                                  "number, found %s", pv_kind_name(no));
        if ((rc = build_attr_f64(bc, est, "coef_", 0, &coef, &rows, &n)) < 0)
                return rc;
        const struct pv *c = build_attr(bc, est, "coef_");
        bool one_d = c->u.arr->ndim == 1;
        if (one_d) {
                n = rows;
                rows = 1;
        }
        if (!one_d && order != 1.0 && order != 2.0 && order != INFINITY) {
                rc = build_fail(bc, -ENOTSUP, "SelectFromModel.norm_order: expected 1, 2 or "
                                "inf, found %g", order);
                goto out;
        }
        scores = calloc(n ? n : 1, sizeof(double));
        mask = calloc(n ? n : 1, sizeof(bool));
        if (!scores || !mask || n == 0) {
                rc = build_fail(bc, n ? -ENOMEM : -EINVAL, "SelectFromModel: %s",
                                n ? "out of memory" : "coef_ has no features");
                goto out;
        }
        /* np.abs for 1-D; np.linalg.norm(axis=0) adds row after row */
        for (size_t r = 0; r < rows; r++) {
                for (size_t j = 0; j < n; j++) {
                        double a = fabs(coef[r * n + j]);
                        if (one_d || order == 1.0)
                                scores[j] += a;
                        else if (order == 2.0)
                                scores[j] += a * a;
                        else if (a > scores[j])
                                scores[j] = a;
                }
        }
        for (size_t j = 0; !one_d && order == 2.0 && j < n; j++)
                scores[j] = sqrt(scores[j]);
        const struct pv *t = build_attr(bc, obj, "threshold");
        if (!t || t->kind == PV_NONE) {
                if ((rc = default_is_l1(bc, est)) < 0)
                        goto out;
                thr = rc ? 1e-5 : model_select_threshold(scores, n, MODEL_THRESHOLD_MEAN);
        } else if (t->kind == PV_STR) {
                if ((rc = threshold_from_str(bc, t->u.s.data, scores, n, &thr)) < 0)
                        goto out;
        } else if (!build_pv_number(t, &thr)) {
                rc = build_fail(bc, -ENOTSUP, "SelectFromModel.threshold: expected a number, "
                                "None or a string, found %s", pv_kind_name(t));
                goto out;
        }
        const struct pv *mf = build_attr(bc, obj, "max_features_");
        if (!mf)
                mf = build_attr(bc, obj, "max_features");
        if (mf && mf->kind == PV_INT && mf->u.i >= 0) {
                if ((rc = build_charge(bc, n * sizeof(struct ranked), "SelectFromModel")) < 0)
                        goto out;
                if (top_k(scores, n, (size_t)mf->u.i, true, mask) < 0) {
                        rc = build_fail(bc, -ENOMEM, "SelectFromModel: out of memory");
                        goto out;
                }
        } else if (mf && mf->kind != PV_NONE) {
                rc = build_fail(bc, -ENOTSUP, "SelectFromModel.max_features: expected an int "
                                "or None, found %s", pv_kind_name(mf));
                goto out;
        } else {
                memset(mask, 1, n * sizeof(bool));
        }
        for (size_t j = 0; j < n; j++)
                if (scores[j] < thr)
                        mask[j] = false;
        if ((rc = build_check_n_features(bc, obj, n)) == 0)
                rc = make_selector(bc, "SelectFromModel", n, mask, out);
out:
        free(coef);
        free(scores);
        free(mask);
        return rc;
}

/* --- SimpleImputer, KBinsDiscretizer ------------------------------------- */

/* SimpleImputer.statistics_: floats, or an object array (strategy
 * 'constant' in recent versions, or any fitted on object columns) of
 * Python numbers and strings. */
static int imputer_statistics(struct build_ctx *bc, const struct pv *obj,
                              double **out, size_t *n, bool *object)
{
        const struct pv *v = build_attr(bc, obj, "statistics_");
        if (!build_is_built_array(v) || !strchr("OU", v->u.arr->dtype->kind))
                return build_attr_vec(bc, obj, "statistics_", true, out, n);
        const struct pv_array *a = v->u.arr;
        if (a->ndim != 1 || a->count == 0)
                return build_fail(bc, -EINVAL, "SimpleImputer.statistics_: expected a 1-D "
                                  "array, found %zu-D of %zu values", a->ndim, a->count);
        int rc = build_charge(bc, a->count * sizeof(double), "SimpleImputer");
        if (rc < 0)
                return rc;
        double *d = malloc(a->count * sizeof(double));
        if (!d)
                return build_fail(bc, -ENOMEM, "out of memory for SimpleImputer");
        for (size_t j = 0; j < a->count; j++) {
                char what[64];
                bool is_str = false;
                snprintf(what, sizeof(what), "SimpleImputer.statistics_[%zu]", j);
                if ((rc = build_array_cell(bc, a, j, what, &d[j], &is_str)) < 0 ||
                    (!is_str && isinf(d[j]))) {
                        free(d);
                        return rc < 0 ? rc : build_fail(bc, -EINVAL, "%s: expected a finite "
                                                        "number, NaN or a string", what);
                }
        }
        *out = d;
        *n = a->count;
        *object = true;
        return 0;
}

/* add_indicator=True: the features_ of the MissingIndicator the imputer
 * fitted (error_on_new=False, so new missing features are not an error). */
static int imputer_indicator(struct build_ctx *bc, const struct pv *obj, size_t n,
                             size_t **out, size_t *n_out)
{
        const struct pv *mi = NULL;
        double *f = NULL;
        size_t len = 0, one = 0;
        int rc = build_need_attr(bc, obj, "indicator_", &mi);
        if (rc < 0)
                return rc;
        if (mi->kind != PV_OBJECT || strcmp(build_cls_name(mi), "MissingIndicator") != 0 ||
            !mi->u.obj.state)
                return build_fail(bc, -EINVAL, "SimpleImputer.indicator_: expected a fitted "
                                  "MissingIndicator, found %s", build_cls_name(mi));
        if (build_attr_bool(bc, mi, "error_on_new", false))
                return build_fail(bc, -ENOTSUP, "SimpleImputer.indicator_: expected "
                                  "error_on_new=False as SimpleImputer makes it, found True");
        if ((rc = build_attr_f64(bc, mi, "features_", 1, &f, &len, &one)) < 0)
                return rc;
        size_t *ind = malloc((len ? len : 1) * sizeof(size_t));
        if (!ind) {
                free(f);
                return build_fail(bc, -ENOMEM, "out of memory for SimpleImputer");
        }
        for (size_t k = 0; k < len; k++) {
                if (f[k] < 0 || f[k] >= (double)n || f[k] != floor(f[k])) {
                        rc = build_fail(bc, -EINVAL, "MissingIndicator.features_[%zu] is %g, "
                                        "expected a feature index below %zu", k, f[k], n);
                        free(ind);
                        free(f);
                        return rc;
                }
                ind[k] = (size_t)f[k];
        }
        free(f);
        *out = ind;
        *n_out = len;
        return 0;
}

static int build_imputer(struct build_ctx *bc, const struct pv *obj,
                         struct model **out)
{
        double *stats = NULL, missing = NAN;
        size_t n = 0, *ind = NULL, n_ind = 0;
        struct model_error me;
        int rc;
        const struct pv *mv = build_attr(bc, obj, "missing_values");
        bool missing_nan = false;
        if (mv && mv->kind == PV_STR) {
                bool is_str;
                if ((rc = build_pv_cell(bc, mv, "SimpleImputer.missing_values", &missing,
                                        &is_str)) < 0)
                        return rc;
        } else if (!build_pv_number(mv, &missing) || mv->kind == PV_BOOL) {
                return build_fail(bc, -ENOTSUP, "SimpleImputer.missing_values: expected NaN, "
                                  "a number or a string, found %s", pv_kind_name(mv));
        } else {
                missing_nan = isnan(missing);
        }
        const char *strategy = build_attr_str(bc, obj, "strategy");
        if (!strategy || (strcmp(strategy, "mean") && strcmp(strategy, "median") &&
                          strcmp(strategy, "most_frequent") && strcmp(strategy, "constant")))
                return build_fail(bc, -ENOTSUP, "SimpleImputer.strategy: expected mean, "
                                  "median, most_frequent or constant, found %.60s",
                                  strategy ? strategy : "no string");
        /* a column with no observed value has a NaN statistic: the only
         * non-finite value accepted, and the column is dropped */
        bool object_stats = false;
        if ((rc = imputer_statistics(bc, obj, &stats, &n, &object_stats)) < 0)
                return rc;
        /* Up to 1.4 'constant' keeps every column (statistics_ holds the
         * fill value, floats); 1.9 stores an object array with NaN for the
         * columns never observed and drops those like the other
         * strategies. The dtype tells which code fitted the file. */
        bool keep_all = build_attr_bool(bc, obj, "keep_empty_features", false) ||
                        (strcmp(strategy, "constant") == 0 && !object_stats);
        if ((rc = build_check_n_features(bc, obj, n)) < 0 ||
            (rc = build_charge(bc, n * (sizeof(double) + 2 * sizeof(size_t)),
                               "SimpleImputer")) < 0)
                goto out;
        if (build_attr_bool(bc, obj, "add_indicator", false) &&
            (rc = imputer_indicator(bc, obj, n, &ind, &n_ind)) < 0)
                goto out;
        rc = finish(bc, model_imputer_create(n, stats, missing_nan, missing, keep_all, ind,
                                             n_ind, out, &me), &me);
out:
        free(stats);
        free(ind);
        return rc;
}

static int build_kbins(struct build_ctx *bc, const struct pv *obj,
                       struct model **out)
{
        const struct pv *be = NULL;
        size_t *offsets = NULL, total = 0;
        double *edges = NULL;
        struct model_error me;
        int rc;
        const char *encode = build_attr_str(bc, obj, "encode");
        /* 'onehot' gives scikit-learn a sparse matrix with the same
         * values; predictd's matrices are dense, and a model after it
         * (LogisticRegression) computes the same products from either */
        bool onehot = encode && (strcmp(encode, "onehot-dense") == 0 ||
                                 strcmp(encode, "onehot") == 0);
        if (!encode || (!onehot && strcmp(encode, "ordinal") != 0))
                return build_fail(bc, -ENOTSUP, "KBinsDiscretizer.encode: expected 'ordinal', "
                                  "'onehot' or 'onehot-dense', found %.40s",
                                  encode ? encode : "no string");
        if ((rc = build_need_attr(bc, obj, "bin_edges_", &be)) < 0)
                return rc;
        if (!build_is_built_array(be) || be->u.arr->dtype->kind != 'O' ||
            be->u.arr->ndim != 1 || be->u.arr->count == 0)
                return build_fail(bc, -EINVAL, "KBinsDiscretizer.bin_edges_: expected a 1-D "
                                  "object array of arrays, found %s", pv_kind_name(be));
        size_t nf = be->u.arr->count;
        if ((rc = build_check_n_features(bc, obj, nf)) < 0 ||
            (rc = build_charge(bc, (nf + 1) * sizeof(size_t), "KBinsDiscretizer")) < 0)
                return rc;
        if (!(offsets = calloc(nf + 1, sizeof(size_t))))
                return build_fail(bc, -ENOMEM, "out of memory for KBinsDiscretizer");
        for (size_t j = 0; j < nf; j++) {
                double *e = NULL, *grown;
                size_t len = 0, one = 0;
                if ((rc = build_value_f64(bc, obj, "bin_edges_", be->u.arr->objects[j], 1,
                                          false, &e, &len, &one)) < 0)
                        goto out;
                if ((rc = build_charge(bc, len * sizeof(double), "KBinsDiscretizer")) < 0 ||
                    !(grown = realloc(edges, (total + len + 1) * sizeof(double)))) {
                        free(e);
                        rc = rc < 0 ? rc : build_fail(bc, -ENOMEM, "out of memory for "
                                                      "KBinsDiscretizer");
                        goto out;
                }
                edges = grown;
                memcpy(edges + total, e, len * sizeof(double));
                free(e);
                total += len;
                offsets[j + 1] = total;
        }
        /* 1.1 replaced digitize-with-tolerance by searchsorted */
        bool tolerance = build_saved_before(bc, obj, 1, 1);
        rc = finish(bc, model_kbins_create(nf, offsets, edges, tolerance, onehot, out, &me),
                    &me);
out:
        free(offsets);
        free(edges);
        return rc;
}


/* --- encoders ------------------------------------------------------------- */

#define MAX_ENC_CATEGORIES ((size_t)1 << 20)

/* categories_ as back-to-back cells: numbers (sorted, as scikit-learn
 * keeps them) or, for a feature fitted on strings (object or 'U'
 * arrays), string cells; kinds says which per feature. */
struct categories {
        size_t nf;
        size_t *offsets;
        double *cats;
        uint8_t *kinds;
        uint8_t *missing; /* per feature: 1 NaN category last, 2 None */
        /* with infrequent categories (read_groups), else NULL */
        int64_t *group;
        uint8_t *infrequent;
};

static void categories_free(struct categories *c)
{
        free(c->offsets);
        free(c->cats);
        free(c->kinds);
        free(c->missing);
        free(c->group);
        free(c->infrequent);
}

static int read_categories(struct build_ctx *bc, const struct pv *obj, const char *cls,
                           struct categories *out)
{
        const struct pv *cl = NULL;
        int rc = build_need_attr(bc, obj, "categories_", &cl);
        if (rc < 0)
                return rc;
        if (cl->kind != PV_LIST || cl->u.seq.len == 0)
                return build_fail(bc, -EINVAL, "%s.categories_: expected a non-empty list of "
                                  "arrays, found %s", cls, pv_kind_name(cl));
        size_t nf = cl->u.seq.len, total = 0;
        for (size_t j = 0; j < nf; j++) {
                const struct pv *a = cl->u.seq.items[j];
                if (!build_is_built_array(a) || a->u.arr->ndim != 1)
                        return build_fail(bc, -EINVAL, "%s.categories_[%zu]: expected a 1-D "
                                          "array, found %s", cls, j, pv_kind_name(a));
                if (!strchr("fiubUO", a->u.arr->dtype->kind))
                        return build_fail(bc, -EINVAL,
                                          "%s.categories_[%zu]: expected numbers or strings, "
                                          "found dtype kind '%c'", cls, j,
                                          a->u.arr->dtype->kind);
                total += a->u.arr->count;
                if (total > MAX_ENC_CATEGORIES)
                        return build_fail(bc, -E2BIG, "%s: more than %zu categories in all",
                                          cls, MAX_ENC_CATEGORIES);
        }
        if ((rc = build_check_n_features(bc, obj, nf)) < 0 ||
            (rc = build_charge(bc, (nf + 1) * sizeof(size_t) + total * sizeof(double) + nf,
                               cls)) < 0)
                return rc;
        size_t *offsets = malloc((nf + 1) * sizeof(size_t));
        double *cats = malloc((total ? total : 1) * sizeof(double));
        uint8_t *kinds = calloc(nf, 1), *missing = calloc(nf, 1);
        if (!offsets || !cats || !kinds || !missing) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %s categories", cls);
                goto fail;
        }
        offsets[0] = 0;
        for (size_t j = 0; j < nf; j++) {
                const struct pv_array *a = cl->u.seq.items[j]->u.arr;
                size_t n_str = 0;
                for (size_t k = 0; k < a->count; k++) {
                        char what[96];
                        bool is_str = false;
                        double *v = &cats[offsets[j] + k];
                        snprintf(what, sizeof(what), "%s.categories_[%zu][%zu]", cls, j, k);
                        const struct pv *o = a->objects ? a->objects[k] : NULL;
                        if (o && o->kind == PV_NONE) {
                                *v = NAN;
                                missing[j] = 2;
                        } else if ((rc = build_array_cell(bc, a, k, what, v, &is_str)) < 0) {
                                goto fail;
                        } else if (!is_str && isnan(*v)) {
                                missing[j] = 1;
                        }
                        n_str += is_str;
                        if (!is_str && !isfinite(*v) && (k + 1 != a->count || !missing[j])) {
                                rc = build_fail(bc, -EINVAL, "%s: expected a finite number or "
                                                "a string (a missing value, NaN or None, only "
                                                "as the last category)", what);
                                goto fail;
                        }
                }
                if (n_str && n_str + (missing[j] != 0) != a->count) {
                        rc = build_fail(bc, -EINVAL, "%s.categories_[%zu]: expected all "
                                        "strings or all numbers, found both", cls, j);
                        goto fail;
                }
                kinds[j] = n_str ? MODEL_COLUMN_STRING : MODEL_COLUMN_NUMBER;
                offsets[j + 1] = offsets[j] + a->count;
        }
        *out = (struct categories){ .nf = nf, .offsets = offsets, .cats = cats,
                                    .kinds = kinds, .missing = missing };
        return 0;
fail:
        free(offsets);
        free(cats);
        free(kinds);
        free(missing);
        return rc;
}

/* With infrequent categories (_infrequent_enabled), each category's code
 * within its feature: _default_to_infrequent_mappings, one int array per
 * feature, or None for a feature without infrequent categories. c->group
 * stays NULL without them. OrdinalEncoder (1.3+) leaves a NaN category
 * out of its mapping (it encodes as encoded_missing_value): its code
 * here is 0, which the model never writes. */
static int read_groups(struct build_ctx *bc, const struct pv *obj, const char *cls,
                       bool ordinal, struct categories *c)
{
        const size_t *offsets = c->offsets;
        size_t nf = c->nf;
        if (!build_attr_bool(bc, obj, "_infrequent_enabled", false))
                return 0;
        const struct pv *ml = NULL;
        int rc = build_need_attr(bc, obj, "_default_to_infrequent_mappings", &ml);
        if (rc < 0)
                return rc;
        if (ml->kind != PV_LIST || ml->u.seq.len != nf)
                return build_fail(bc, -EINVAL, "%s._default_to_infrequent_mappings: expected a "
                                  "list of %zu entries, found %s", cls, nf, pv_kind_name(ml));
        if ((rc = build_charge(bc, offsets[nf] * sizeof(int64_t) + nf, cls)) < 0)
                return rc;
        int64_t *g = c->group = malloc((offsets[nf] ? offsets[nf] : 1) * sizeof(int64_t));
        if (!g || !(c->infrequent = calloc(nf, 1)))
                return build_fail(bc, -ENOMEM, "out of memory for %s", cls);
        for (size_t j = 0; j < nf; j++) {
                const struct pv *a = ml->u.seq.items[j];
                size_t nc = offsets[j + 1] - offsets[j];
                size_t nm = nc - (ordinal && c->missing[j] == 1);
                for (size_t k = 0; a->kind == PV_NONE && k < nc; k++)
                        g[offsets[j] + k] = (int64_t)k;
                if (a->kind == PV_NONE)
                        continue;
                c->infrequent[j] = 1;
                if (!build_is_built_array(a) || a->u.arr->ndim != 1 || a->u.arr->count != nm ||
                    !strchr("iu", a->u.arr->dtype->kind))
                        return build_fail(bc, -EINVAL, "%s._default_to_infrequent_mappings[%zu]: "
                                          "expected None or %zu ints%s, found %s", cls, j, nm,
                                          nm < nc ? " (its NaN category left out)" : "",
                                          pv_kind_name(a));
                g[offsets[j] + nc - 1] = 0;
                for (size_t k = 0; k < nm; k++)
                        if (!numpy_get_i64(a->u.arr->dtype,
                                           a->u.arr->data + k * a->u.arr->dtype->itemsize,
                                           &g[offsets[j] + k]))
                                return build_fail(bc, -EINVAL, "%s: a category mapping out "
                                                  "of range", cls);
        }
        return 0;
}

/* The output column each feature drops, counted after infrequent
 * categories are grouped: _drop_idx_after_grouping from 1.3 (where
 * drop_idx_ indexes categories_), drop_idx_ before (1.1 and 1.2 keep it
 * in grouped codes; earlier ones have no grouping). None, or one entry
 * per feature (an int, or None for a feature that keeps all its
 * columns). */
static int read_drop(struct build_ctx *bc, const struct pv *obj, size_t nf, int64_t **out)
{
        const char *name = "_drop_idx_after_grouping";
        const struct pv *d = build_attr(bc, obj, name);
        *out = NULL;
        if (!d) {
                name = "drop_idx_";
                d = build_attr(bc, obj, name);
        }
        if (!d || d->kind == PV_NONE)
                return 0;
        if (!build_is_built_array(d) || d->u.arr->ndim != 1 || d->u.arr->count != nf)
                return build_fail(bc, -EINVAL, "OneHotEncoder.%s: expected None or an "
                                  "array of %zu entries, found %s", name, nf, pv_kind_name(d));
        int64_t *drop = malloc(nf * sizeof(int64_t));
        if (!drop)
                return build_fail(bc, -ENOMEM, "out of memory for OneHotEncoder.%s", name);
        const struct pv_array *a = d->u.arr;
        for (size_t j = 0; j < nf; j++) {
                bool ok = true;
                if (a->objects) {
                        const struct pv *v = a->objects[j];
                        if (v && v->kind == PV_NONE)
                                drop[j] = -1;
                        else if (v && v->kind == PV_INT && v->u.i >= 0)
                                drop[j] = v->u.i;
                        else
                                ok = false;
                } else {
                        ok = strchr("iu", a->dtype->kind) &&
                             numpy_get_i64(a->dtype, a->data + j * a->dtype->itemsize,
                                           &drop[j]) && drop[j] >= 0;
                }
                if (!ok) {
                        free(drop);
                        return build_fail(bc, -EINVAL, "OneHotEncoder.%s[%zu]: expected "
                                          "a column index or None", name, j);
                }
        }
        *out = drop;
        return 0;
}

static int build_onehot(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        struct categories c = { 0 };
        int64_t *drop = NULL;
        struct model_error me;
        const struct pv *hu = build_attr(bc, obj, "handle_unknown");
        enum model_unknown unknown;
        int rc;
        if (!hu || pv_is_str(hu, "error"))
                unknown = MODEL_UNKNOWN_ERROR;
        else if (pv_is_str(hu, "ignore"))
                unknown = MODEL_UNKNOWN_IGNORE;
        else if (pv_is_str(hu, "infrequent_if_exist") || pv_is_str(hu, "warn"))
                unknown = MODEL_UNKNOWN_INFREQUENT; /* 1.6's 'warn' only adds a warning */
        else
                return build_fail(bc, -EINVAL, "OneHotEncoder.handle_unknown: expected 'error', "
                                  "'ignore', 'infrequent_if_exist' or 'warn', found %s",
                                  hu->kind == PV_STR ? hu->u.s.data : pv_kind_name(hu));
        if ((rc = read_categories(bc, obj, "OneHotEncoder", &c)) < 0 ||
            (rc = read_drop(bc, obj, c.nf, &drop)) < 0 ||
            (rc = read_groups(bc, obj, "OneHotEncoder", false, &c)) < 0)
                goto out;
        struct model_encoder_params p = {
                .onehot = true, .n_features = c.nf, .offsets = c.offsets, .cats = c.cats,
                .kinds = c.kinds, .missing = c.missing, .drop = drop, .group = c.group,
                .infrequent = c.infrequent, .unknown = unknown,
        };
        rc = model_encoder_create(&p, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        categories_free(&c);
        free(drop);
        return rc;
}

/* unknown_value and encoded_missing_value: an int or NaN. */
static int ordinal_code(struct build_ctx *bc, const struct pv *obj, const char *name,
                        double *out)
{
        const struct pv *v = build_attr(bc, obj, name);
        if (v && v->kind == PV_INT)
                *out = (double)v->u.i;
        else if (v && v->kind == PV_FLOAT && (isnan(v->u.f) || isfinite(v->u.f)))
                *out = v->u.f;
        else
                return build_fail(bc, -EINVAL, "OrdinalEncoder.%s: expected an int or NaN, "
                                  "found %s", name, pv_kind_name(v));
        return 0;
}

static int build_ordinal(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        struct categories c = { 0 };
        double uv = 0.0, mv = NAN;
        struct model_error me;
        const struct pv *hu = build_attr(bc, obj, "handle_unknown");
        enum model_unknown unknown = MODEL_UNKNOWN_ERROR;
        int rc;
        if (hu && pv_is_str(hu, "use_encoded_value")) {
                unknown = MODEL_UNKNOWN_IGNORE;
                if ((rc = ordinal_code(bc, obj, "unknown_value", &uv)) < 0)
                        return rc;
        } else if (hu && !pv_is_str(hu, "error")) {
                return build_fail(bc, -EINVAL, "OrdinalEncoder.handle_unknown: expected 'error' "
                                  "or 'use_encoded_value', found %s",
                                  hu->kind == PV_STR ? hu->u.s.data : pv_kind_name(hu));
        }
        if ((rc = read_categories(bc, obj, "OrdinalEncoder", &c)) < 0 ||
            (rc = read_groups(bc, obj, "OrdinalEncoder", true, &c)) < 0)
                goto out;
        /* from 1.1 a NaN category encodes as encoded_missing_value */
        if (build_attr(bc, obj, "encoded_missing_value") &&
            (rc = ordinal_code(bc, obj, "encoded_missing_value", &mv)) < 0)
                goto out;
        struct model_encoder_params p = {
                .onehot = false, .n_features = c.nf, .offsets = c.offsets, .cats = c.cats,
                .kinds = c.kinds, .missing = c.missing, .group = c.group,
                .infrequent = c.infrequent, .unknown = unknown,
                .unknown_value = uv, .missing_value = mv,
        };
        rc = model_encoder_create(&p, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        categories_free(&c);
        return rc;
}

const struct build_entry build_preprocess_entries[] = {
        { { "sklearn.preprocessing._encoders", "OneHotEncoder", ROLE_ESTIMATOR,
            "OneHotEncoder" }, build_onehot },
        { { "sklearn.preprocessing._encoders", "OrdinalEncoder", ROLE_ESTIMATOR,
            "OrdinalEncoder" }, build_ordinal },
        /* the encoders' dtype parameter (numpy.float64 by default) names
         * the class; it is kept as inert data and never called or read */
        { { "numpy", "float64", ROLE_INERT, NULL }, NULL },
        { { "sklearn.preprocessing._data", "StandardScaler", ROLE_ESTIMATOR,
            "StandardScaler" }, build_scaler },
        { { "sklearn.preprocessing.data", "StandardScaler", ROLE_ESTIMATOR,
            "StandardScaler" }, build_scaler },
        { { "sklearn.preprocessing._data", "MinMaxScaler", ROLE_ESTIMATOR,
            "MinMaxScaler" }, build_minmax },
        { { "sklearn.preprocessing.data", "MinMaxScaler", ROLE_ESTIMATOR,
            "MinMaxScaler" }, build_minmax },
        { { "sklearn.preprocessing._data", "MaxAbsScaler", ROLE_ESTIMATOR,
            "MaxAbsScaler" }, build_maxabs },
        { { "sklearn.preprocessing.data", "MaxAbsScaler", ROLE_ESTIMATOR,
            "MaxAbsScaler" }, build_maxabs },
        { { "sklearn.preprocessing._data", "RobustScaler", ROLE_ESTIMATOR,
            "RobustScaler" }, build_robust },
        { { "sklearn.preprocessing.data", "RobustScaler", ROLE_ESTIMATOR,
            "RobustScaler" }, build_robust },
        { { "sklearn.preprocessing._data", "Normalizer", ROLE_ESTIMATOR,
            "Normalizer" }, build_normalizer },
        { { "sklearn.preprocessing.data", "Normalizer", ROLE_ESTIMATOR,
            "Normalizer" }, build_normalizer },
        { { "sklearn.preprocessing._polynomial", "PolynomialFeatures", ROLE_ESTIMATOR,
            "PolynomialFeatures" }, build_poly },
        { { "sklearn.preprocessing._data", "PolynomialFeatures", ROLE_ESTIMATOR,
            "PolynomialFeatures" }, build_poly },
        { { "sklearn.preprocessing.data", "PolynomialFeatures", ROLE_ESTIMATOR,
            "PolynomialFeatures" }, build_poly },
        { { "sklearn.decomposition._pca", "PCA", ROLE_ESTIMATOR,
            "PCA" }, build_pca },
        { { "sklearn.decomposition.pca", "PCA", ROLE_ESTIMATOR,
            "PCA" }, build_pca },
        { { "sklearn.decomposition._truncated_svd", "TruncatedSVD", ROLE_ESTIMATOR,
            "TruncatedSVD" }, build_svd },
        { { "sklearn.decomposition.truncated_svd", "TruncatedSVD", ROLE_ESTIMATOR,
            "TruncatedSVD" }, build_svd },
        { { "sklearn.feature_selection._variance_threshold", "VarianceThreshold", ROLE_ESTIMATOR,
            "VarianceThreshold" }, build_variance },
        { { "sklearn.feature_selection.variance_threshold", "VarianceThreshold", ROLE_ESTIMATOR,
            "VarianceThreshold" }, build_variance },
        { { "sklearn.feature_selection._univariate_selection", "SelectKBest", ROLE_ESTIMATOR,
            "SelectKBest" }, build_kbest },
        { { "sklearn.feature_selection.univariate_selection", "SelectKBest", ROLE_ESTIMATOR,
            "SelectKBest" }, build_kbest },
        { { "sklearn.feature_selection._from_model", "SelectFromModel", ROLE_ESTIMATOR,
            "SelectFromModel" }, build_from_model },
        { { "sklearn.feature_selection.from_model", "SelectFromModel", ROLE_ESTIMATOR,
            "SelectFromModel" }, build_from_model },
        { { "sklearn.impute._base", "SimpleImputer", ROLE_ESTIMATOR,
            "SimpleImputer" }, build_imputer },
        { { "sklearn.impute", "SimpleImputer", ROLE_ESTIMATOR,
            "SimpleImputer" }, build_imputer },
        { { "sklearn.preprocessing._discretization", "KBinsDiscretizer", ROLE_ESTIMATOR,
            "KBinsDiscretizer" }, build_kbins },
        /* KBinsDiscretizer(encode='onehot...') keeps the encoder it
         * made for its own bins; the bins say all it would do */
        { { "sklearn.preprocessing._encoders", "OneHotEncoder", ROLE_ESTIMATOR,
            "OneHotEncoder" }, NULL },
        /* SimpleImputer(add_indicator=True) keeps its MissingIndicator */
        { { "sklearn.impute._base", "MissingIndicator", ROLE_ESTIMATOR,
            "MissingIndicator" }, NULL },
        { { "sklearn.impute", "MissingIndicator", ROLE_ESTIMATOR,
            "MissingIndicator" }, NULL },
        /* SelectKBest keeps its score function: a name, never called */
        { { "sklearn.feature_selection._univariate_selection", "f_classif", ROLE_ESTIMATOR,
            "f_classif" }, NULL },
        { { "sklearn.feature_selection.univariate_selection", "f_classif", ROLE_ESTIMATOR,
            "f_classif" }, NULL },
        { { "sklearn.feature_selection._univariate_selection", "f_regression", ROLE_ESTIMATOR,
            "f_regression" }, NULL },
        { { "sklearn.feature_selection.univariate_selection", "f_regression", ROLE_ESTIMATOR,
            "f_regression" }, NULL },
        { { "sklearn.feature_selection._univariate_selection", "chi2", ROLE_ESTIMATOR,
            "chi2" }, NULL },
        { { "sklearn.feature_selection.univariate_selection", "chi2", ROLE_ESTIMATOR,
            "chi2" }, NULL },
        { { "sklearn.feature_selection._mutual_info", "mutual_info_classif", ROLE_ESTIMATOR,
            "mutual_info_classif" }, NULL },
        { { "sklearn.feature_selection.mutual_info_", "mutual_info_classif", ROLE_ESTIMATOR,
            "mutual_info_classif" }, NULL },
        { { "sklearn.feature_selection._mutual_info", "mutual_info_regression", ROLE_ESTIMATOR,
            "mutual_info_regression" }, NULL },
        { { "sklearn.feature_selection.mutual_info_", "mutual_info_regression", ROLE_ESTIMATOR,
            "mutual_info_regression" }, NULL },
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
