/* build_nonlinear.c - builders for PowerTransformer, QuantileTransformer
 * and SplineTransformer (model/nonlinear.c). They read fitted state only:
 * PowerTransformer's lambdas_ and the mean_ and scale_ of the
 * StandardScaler it keeps, QuantileTransformer's quantiles_ and
 * references_, and the knots and coefficients of SplineTransformer's
 * scipy BSpline objects (never called: the B-splines are evaluated in
 * model/). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

static int model_done(struct build_ctx *bc, int rc, const struct model_error *me)
{
        return rc < 0 ? build_model_error(bc, rc, me) : rc;
}

/* --- PowerTransformer ------------------------------------------------- */

static int build_power(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        double *lambdas = NULL, *mean = NULL, *scale = NULL;
        size_t nf = 0;
        struct model_error me;
        int rc;
        const char *method = build_attr_str(bc, obj, "method");
        enum model_power_method pm;
        if (method && strcmp(method, "box-cox") == 0)
                pm = MODEL_POWER_BOX_COX;
        else if (method && strcmp(method, "yeo-johnson") == 0)
                /* 1.9 replaced its own transform by scipy.stats.yeojohnson */
                pm = build_saved_before(bc, obj, 1, 9) ? MODEL_POWER_YEO_JOHNSON
                                                       : MODEL_POWER_YEO_JOHNSON_EXPM1;
        else
                return build_fail(bc, -ENOTSUP, "PowerTransformer.method: expected "
                                  "'yeo-johnson' or 'box-cox', found %.40s",
                                  method ? method : "no string");
        if ((rc = build_attr_vec(bc, obj, "lambdas_", false, &lambdas, &nf)) < 0)
                return rc;
        if ((rc = build_check_n_features(bc, obj, nf)) < 0 ||
            (rc = build_charge(bc, 3 * nf * sizeof(double), "PowerTransformer")) < 0)
                goto out;
        if (build_attr_bool(bc, obj, "standardize", true)) {
                const struct pv *sc = NULL;
                if ((rc = build_need_attr(bc, obj, "_scaler", &sc)) < 0)
                        goto out;
                if (sc->kind != PV_OBJECT || strcmp(build_cls_name(sc), "StandardScaler") != 0 ||
                    !sc->u.obj.state) {
                        rc = build_fail(bc, -EINVAL, "PowerTransformer._scaler: expected a "
                                        "fitted StandardScaler, found %s",
                                        sc->kind == PV_OBJECT ? build_cls_name(sc)
                                                              : pv_kind_name(sc));
                        goto out;
                }
                size_t n = nf;
                if (build_attr_bool(bc, sc, "with_mean", true) &&
                    (rc = build_attr_vec(bc, sc, "mean_", false, &mean, &n)) < 0)
                        goto out;
                if (build_attr_bool(bc, sc, "with_std", true) &&
                    (rc = build_attr_vec(bc, sc, "scale_", false, &scale, &n)) < 0)
                        goto out;
        }
        rc = model_done(bc, model_power_create(nf, pm, lambdas, mean, scale, out, &me), &me);
out:
        free(lambdas);
        free(mean);
        free(scale);
        return rc;
}

/* --- QuantileTransformer ---------------------------------------------- */

static int build_quantile(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        double *q = NULL, *ref = NULL;
        size_t nq = 0, nf = 0;
        struct model_error me;
        int rc;
        const char *dist = build_attr_str(bc, obj, "output_distribution");
        bool normal = dist && strcmp(dist, "normal") == 0;
        if (!dist || (!normal && strcmp(dist, "uniform") != 0))
                return build_fail(bc, -ENOTSUP, "QuantileTransformer.output_distribution: "
                                  "expected 'uniform' or 'normal', found %.40s",
                                  dist ? dist : "no string");
        /* ignore_implicit_zeros changes fit on sparse input only; a dense
         * transform never reads it */
        if ((rc = build_attr_f64(bc, obj, "quantiles_", 2, &q, &nq, &nf)) < 0)
                return rc;
        size_t nr = nq;
        if ((rc = build_attr_vec(bc, obj, "references_", false, &ref, &nr)) < 0 ||
            (rc = build_check_n_features(bc, obj, nf)) < 0 ||
            (rc = build_charge(bc, 2 * (nq * nf + nq) * sizeof(double),
                               "QuantileTransformer")) < 0)
                goto out;
        rc = model_done(bc, model_quantile_create(nf, nq, q, ref, normal, out, &me), &me);
out:
        free(q);
        free(ref);
        return rc;
}

/* --- SplineTransformer -------------------------------------------------- */

#define MAX_SPLINE_FEATURES ((size_t)1 << 16)

/* BSpline state: t and c (scipy >= 1.15 names them _t and _c). */
static const struct pv *bspline_get(struct build_ctx *bc, const struct pv *spl,
                                    const char *name)
{
        char under[8];
        const struct pv *v = build_attr(bc, spl, name);
        snprintf(under, sizeof(under), "_%s", name);
        return v ? v : build_attr(bc, spl, under);
}

/* One feature's BSpline into knots/coef at feature j; the first one
 * fixes the sizes in *p. */
static int read_bspline(struct build_ctx *bc, const struct pv *obj, const struct pv *spl,
                        size_t j, struct model_spline_params *p, double **knots,
                        double **coef)
{
        double *t = NULL, *c = NULL;
        size_t nt = 0, one = 0, nc = 0, ns = 0;
        int rc;
        if (spl->kind != PV_OBJECT || strcmp(build_cls_name(spl), "BSpline") != 0 ||
            !spl->u.obj.state)
                return build_fail(bc, -EINVAL, "SplineTransformer.bsplines_[%zu]: expected a "
                                  "scipy BSpline, found %s", j,
                                  spl->kind == PV_OBJECT ? build_cls_name(spl)
                                                         : pv_kind_name(spl));
        const struct pv *tv = bspline_get(bc, spl, "t"), *cv = bspline_get(bc, spl, "c");
        const struct pv *kv = build_attr(bc, spl, "k");
        if (!tv || !cv || !kv || kv->kind != PV_INT || kv->u.i < 0 ||
            (uint64_t)kv->u.i != p->degree)
                return build_fail(bc, -EINVAL, "SplineTransformer.bsplines_[%zu]: expected "
                                  "knots t, coefficients c and degree k = %zu", j,
                                  p->degree);
        if ((rc = build_value_f64(bc, spl, "t", tv, 1, false, &t, &nt, &one)) < 0)
                return rc;
        if ((rc = build_value_f64(bc, spl, "c", cv, 2, false, &c, &nc, &ns)) < 0)
                goto out;
        if (j == 0) {
                p->n_t = nt;
                p->n_coef = nc;
                p->n_splines = ns;
                size_t per = nt + nc * ns;
                if (nt < 2 || per > SIZE_MAX / sizeof(double) / p->n_features ||
                    (rc = build_charge(bc, p->n_features * per * sizeof(double),
                                       "SplineTransformer")) < 0) {
                        rc = rc < 0 ? rc : build_fail(bc, -EFBIG, "SplineTransformer: too large");
                        goto out;
                }
                *knots = malloc(p->n_features * nt * sizeof(double));
                *coef = malloc(p->n_features * nc * ns * sizeof(double));
                if (!*knots || !*coef) {
                        rc = build_fail(bc, -ENOMEM, "out of memory for SplineTransformer");
                        goto out;
                }
        } else if (nt != p->n_t || nc != p->n_coef || ns != p->n_splines) {
                rc = build_fail(bc, -EINVAL, "SplineTransformer.bsplines_[%zu]: expected %zu "
                                "knots and %zu x %zu coefficients as the first, found %zu "
                                "and %zu x %zu", j, p->n_t, p->n_coef, p->n_splines, nt, nc,
                                ns);
                goto out;
        }
        memcpy(*knots + j * nt, t, nt * sizeof(double));
        memcpy(*coef + j * nc * ns, c, nc * ns * sizeof(double));
out:
        free(t);
        free(c);
        return rc;
}

static int build_spline(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        static const char *const modes[] = {
                [MODEL_SPLINE_ERROR] = "error",       [MODEL_SPLINE_CONSTANT] = "constant",
                [MODEL_SPLINE_LINEAR] = "linear",     [MODEL_SPLINE_CONTINUE] = "continue",
                [MODEL_SPLINE_PERIODIC] = "periodic",
        };
        struct model_spline_params p = { 0 };
        double *knots = NULL, *coef = NULL;
        struct model_error me;
        int64_t degree = -1;
        int rc;
        const char *ex = build_attr_str(bc, obj, "extrapolation");
        size_t mode = 0;
        while (ex && mode < sizeof(modes) / sizeof(modes[0]) && strcmp(ex, modes[mode]) != 0)
                mode++;
        if (!ex || mode == sizeof(modes) / sizeof(modes[0]))
                return build_fail(bc, -ENOTSUP, "SplineTransformer.extrapolation: expected "
                                  "'error', 'constant', 'linear', 'continue' or 'periodic', "
                                  "found %.40s", ex ? ex : "no string");
        if (build_attr_bool(bc, obj, "sparse_output", false))
                return build_fail(bc, -ENOTSUP, "SplineTransformer(sparse_output=True) is not "
                                  "supported: predictd computes dense matrices only");
        const char *missing = build_attr_str(bc, obj, "handle_missing");
        if (missing && strcmp(missing, "zeros") != 0 && strcmp(missing, "error") != 0)
                return build_fail(bc, -ENOTSUP, "SplineTransformer.handle_missing: expected "
                                  "'error' or 'zeros', found %.40s", missing);
        if ((rc = build_attr_int(bc, obj, "degree", &degree)) < 0)
                return rc;
        const struct pv *bs = NULL;
        if ((rc = build_need_attr(bc, obj, "bsplines_", &bs)) < 0)
                return rc;
        if (bs->kind != PV_LIST || bs->u.seq.len == 0 || bs->u.seq.len > MAX_SPLINE_FEATURES)
                return build_fail(bc, -EINVAL, "SplineTransformer.bsplines_: expected a list "
                                  "of 1 to %zu BSplines, found %s", MAX_SPLINE_FEATURES,
                                  pv_kind_name(bs));
        if (degree < 0 || degree > 64)
                return build_fail(bc, -ENOTSUP, "SplineTransformer.degree: expected 0 to 64, "
                                  "found %lld", (long long)degree);
        p.n_features = bs->u.seq.len;
        p.degree = (size_t)degree;
        p.extrapolation = (enum model_spline_extrapolation)mode;
        p.include_bias = build_attr_bool(bc, obj, "include_bias", true);
        p.missing_zeros = missing && strcmp(missing, "zeros") == 0;
        p.zero_period_zeros = !build_saved_before(bc, obj, 1, 9);
        if ((rc = build_check_n_features(bc, obj, p.n_features)) < 0)
                return rc;
        for (size_t j = 0; j < p.n_features; j++)
                if ((rc = read_bspline(bc, obj, bs->u.seq.items[j], j, &p, &knots, &coef)) < 0)
                        goto out;
        p.knots = knots;
        p.coef = coef;
        rc = model_done(bc, model_spline_create(&p, out, &me), &me);
out:
        free(knots);
        free(coef);
        return rc;
}

const struct build_entry build_nonlinear_entries[] = {
        { { "sklearn.preprocessing._data", "PowerTransformer", ROLE_ESTIMATOR,
            "PowerTransformer" }, build_power },
        { { "sklearn.preprocessing.data", "PowerTransformer", ROLE_ESTIMATOR,
            "PowerTransformer" }, build_power },
        { { "sklearn.preprocessing._data", "QuantileTransformer", ROLE_ESTIMATOR,
            "QuantileTransformer" }, build_quantile },
        { { "sklearn.preprocessing.data", "QuantileTransformer", ROLE_ESTIMATOR,
            "QuantileTransformer" }, build_quantile },
        { { "sklearn.preprocessing._polynomial", "SplineTransformer", ROLE_ESTIMATOR,
            "SplineTransformer" }, build_spline },
        /* SplineTransformer's fitted B-splines: data only, read above */
        { { "scipy.interpolate._bsplines", "BSpline", ROLE_ESTIMATOR, "BSpline" }, NULL },
        /* scipy >= 1.15 keeps the array-API asarray function in each
         * BSpline's state: a name, never called */
        { { "scipy._lib.array_api_compat.numpy._aliases", "asarray", ROLE_INERT, NULL }, NULL },
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
