/* nonlinear.c - the transformers that bend each feature through a fitted
 * non-linear map: PowerTransformer (Yeo-Johnson, Box-Cox), QuantileTransformer
 * and SplineTransformer.
 *
 * Each repeats scikit-learn's transform in its order of floating-point
 * operations. Where scikit-learn goes through numpy's elementwise functions
 * (log1p, expm1, power) numpy may use its own SIMD code (AVX-512, SVML)
 * rather than the C library's, which differs in the last ulp or two; here
 * it is always the C library. scipy.special.boxcox and scipy's B-spline
 * evaluation are plain C over libm in scipy too. The normal quantile
 * function (scipy.special.ndtri, cephes) is GSL's gsl_cdf_ugaussian_Pinv,
 * within a few ulps of it. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "model_internal.h"

/* scikit-learn's preprocessing._data.BOUNDS_THRESHOLD */
#define QUANTILE_BOUNDS 1e-7
/* Hard limits on the fitted sizes a model may hold. */
#define MAX_QUANTILES ((size_t)1 << 24)
#define MAX_SPLINE_DEGREE 64
#define MAX_SPLINE_KNOTS ((size_t)1 << 20)

/* n doubles copied into *dst (NULL src: *dst stays NULL); false on ENOMEM. */
static bool copy_f64(double **dst, const double *src, size_t n)
{
        if (!src)
                return true;
        *dst = malloc(n * sizeof(double));
        if (!*dst)
                return false;
        memcpy(*dst, src, n * sizeof(double));
        return true;
}

static bool all_finite(const double *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!isfinite(v[i]))
                        return false;
        return true;
}

/* --- PowerTransformer ------------------------------------------------- */

struct power {
        struct model base;
        enum model_power_method method;
        double *lambdas;
        double *mean, *scale; /* the fitted StandardScaler, NULL without */
};

/* PowerTransformer._yeo_johnson_transform (scikit-learn < 1.9, numpy
 * power) and scipy.stats._morestats._yeojohnson_transform (1.9+). The
 * branch tests on lambda are the same in both: |l| < eps, |l - 2| > eps. */
static double yeo_johnson(double x, double l, bool expm1_form)
{
        const double eps = 0x1p-52;
        if (x >= 0) {
                if (fabs(l) < eps)
                        return log1p(x);
                if (expm1_form)
                        return expm1(l * log1p(x)) / l;
                return (pow(x + 1, l) - 1) / l;
        }
        /* x < 0, and NaN, which neither branch of numpy's mask keeps
         * finite */
        if (fabs(l - 2) > eps) {
                if (expm1_form)
                        return -expm1((2 - l) * log1p(-x)) / (2 - l);
                return -(pow(-x + 1, 2 - l) - 1) / (2 - l);
        }
        return -log1p(-x);
}

/* scipy.special.boxcox (scipy/special/_boxcox.pxd). */
static double box_cox(double x, double l)
{
        if (fabs(l) < 1e-19)
                return log(x);
        if (l * log(x) < 709.78)
                return expm1(l * log(x)) / l;
        return copysign(1., l) * exp(l * log(x) - log(fabs(l))) - 1 / l;
}

static int power_transform(const struct model *m, const double *X, size_t rows,
                           double *out, struct model_error *err)
{
        const struct power *p = (const struct power *)m;
        size_t nf = m->n_features;
        if (p->method == MODEL_POWER_BOX_COX) {
                /* _check_input: np.nanmin(X) <= 0 refuses the whole batch */
                for (size_t i = 0; i < rows * nf; i++) {
                        if (X[i] <= 0) {
                                model_set_error(err, "%s: row %zu, column %zu: the Box-Cox "
                                                "transformation can only be applied to "
                                                "strictly positive data, found %.17g",
                                                m->ops->name, i / nf, i % nf, X[i]);
                                if (err)
                                        err->column = i % nf;
                                return -EINVAL;
                        }
                }
        }
        for (size_t r = 0; r < rows; r++) {
                for (size_t j = 0; j < nf; j++) {
                        double x = X[r * nf + j], l = p->lambdas[j], v;
                        if (p->method == MODEL_POWER_BOX_COX)
                                v = box_cox(x, l);
                        else
                                v = yeo_johnson(x, l, p->method == MODEL_POWER_YEO_JOHNSON_EXPM1);
                        /* StandardScaler.transform: X -= mean_; X /= scale_ */
                        if (p->mean)
                                v -= p->mean[j];
                        if (p->scale)
                                v /= p->scale[j];
                        out[r * nf + j] = v;
                }
        }
        return 0;
}

static void power_destroy(struct model *m)
{
        struct power *p = (struct power *)m;
        model_base_release(m);
        free(p->lambdas);
        free(p->mean);
        free(p->scale);
        free(p);
}

static const struct model_ops power_ops = {
        .name = "PowerTransformer",
        .transform = power_transform,
        .destroy = power_destroy,
};

int model_power_create(size_t n_features, enum model_power_method method,
                       const double *lambdas, const double *mean, const double *scale,
                       struct model **out, struct model_error *err)
{
        if (!lambdas || !all_finite(lambdas, n_features) ||
            (mean && !all_finite(mean, n_features)) ||
            (scale && !all_finite(scale, n_features))) {
                model_set_error(err, "PowerTransformer: expected finite lambdas_ (and scaler "
                                "mean_ and scale_)");
                return -EINVAL;
        }
        for (size_t j = 0; scale && j < n_features; j++) {
                if (scale[j] == 0.0) {
                        model_set_error(err, "PowerTransformer: the scaler's scale_[%zu] is 0 "
                                        "(fit never leaves a zero scale)", j);
                        return -EINVAL;
                }
        }
        struct model *m = NULL;
        int rc = model_transformer_new(sizeof(struct power), &power_ops, n_features, n_features,
                                   &m, err);
        if (rc < 0)
                return rc;
        struct power *p = (struct power *)m;
        p->method = method;
        /* scikit-learn accepts NaN and returns NaN for it */
        m->accepts_nan = true;
        if (!copy_f64(&p->lambdas, lambdas, n_features) ||
            !copy_f64(&p->mean, mean, n_features) || !copy_f64(&p->scale, scale, n_features))
                return model_transformer_nomem(m, err);
        *out = m;
        return 0;
}

/* --- QuantileTransformer ---------------------------------------------- */

struct quantile {
        struct model base;
        size_t nq;
        bool normal;
        /* per feature, nq values each: quantiles_[:, j] and its reverse
         * negated (-quantiles[::-1]) */
        double *q, *neg_q;
        double *ref, *neg_ref; /* references_ and -references_[::-1] */
        double clip_min, clip_max;
};

/* numpy.interp(x, xp, fp) for one finite x (numpy's arr_interp: the
 * interval is the last j with xp[j] <= x; the slope is computed as there). */
static double np_interp(double x, const double *xp, const double *fp, size_t n)
{
        if (n == 1)
                return fp[0]; /* left, right and the one value are fp[0] */
        if (x < xp[0])
                return fp[0];
        if (x > xp[n - 1])
                return fp[n - 1];
        size_t lo = 0, hi = n; /* first index with xp[i] > x */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (x >= xp[mid])
                        lo = mid + 1;
                else
                        hi = mid;
        }
        size_t j = lo - 1;
        if (j == n - 1 || xp[j] == x)
                return fp[j];
        double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
        double v = slope * (x - xp[j]) + fp[j];
        if (isnan(v)) {
                v = slope * (x - xp[j + 1]) + fp[j + 1];
                if (isnan(v) && fp[j] == fp[j + 1])
                        v = fp[j];
        }
        return v;
}

/* scipy.stats.norm.ppf for q in [0, 1] or NaN. */
static double norm_ppf(double q)
{
        if (isnan(q))
                return q;
        if (q <= 0)
                return -INFINITY;
        if (q >= 1)
                return INFINITY;
        return gsl_cdf_ugaussian_Pinv(q);
}

static int quantile_transform(const struct model *m, const double *X, size_t rows,
                              double *out, struct model_error *err)
{
        const struct quantile *s = (const struct quantile *)m;
        size_t nf = m->n_features, nq = s->nq;
        (void)err;
        for (size_t j = 0; j < nf; j++) {
                const double *q = s->q + j * nq, *nq_ = s->neg_q + j * nq;
                double lo_x = q[0], hi_x = q[nq - 1];
                for (size_t r = 0; r < rows; r++) {
                        double x = X[r * nf + j], v = x;
                        bool lower, upper;
                        if (s->normal) {
                                lower = x - QUANTILE_BOUNDS < lo_x;
                                upper = x + QUANTILE_BOUNDS > hi_x;
                        } else {
                                lower = x == lo_x;
                                upper = x == hi_x;
                        }
                        if (!isnan(x))
                                v = 0.5 * (np_interp(x, q, s->ref, nq) -
                                           np_interp(-x, nq_, s->neg_ref, nq));
                        if (upper)
                                v = 1;
                        if (lower)
                                v = 0;
                        if (s->normal) {
                                v = norm_ppf(v);
                                /* np.clip keeps NaN */
                                if (v < s->clip_min)
                                        v = s->clip_min;
                                if (v > s->clip_max)
                                        v = s->clip_max;
                        }
                        out[r * nf + j] = v;
                }
        }
        return 0;
}

static void quantile_destroy(struct model *m)
{
        struct quantile *s = (struct quantile *)m;
        model_base_release(m);
        free(s->q);
        free(s->neg_q);
        free(s->ref);
        free(s->neg_ref);
        free(s);
}

static const struct model_ops quantile_ops = {
        .name = "QuantileTransformer",
        .transform = quantile_transform,
        .destroy = quantile_destroy,
};

int model_quantile_create(size_t n_features, size_t n_quantiles, const double *quantiles,
                          const double *references, bool normal, struct model **out,
                          struct model_error *err)
{
        if (n_quantiles == 0 || n_quantiles > MAX_QUANTILES || !quantiles || !references ||
            (n_features && n_quantiles > SIZE_MAX / sizeof(double) / n_features)) {
                model_set_error(err, "QuantileTransformer: expected 1 to %zu quantiles, got %zu",
                                MAX_QUANTILES, n_quantiles);
                return -EINVAL;
        }
        if (!all_finite(quantiles, n_quantiles * n_features) ||
            !all_finite(references, n_quantiles)) {
                model_set_error(err, "QuantileTransformer: expected finite quantiles_ and "
                                "references_");
                return -EINVAL;
        }
        struct model *m = NULL;
        int rc = model_transformer_new(sizeof(struct quantile), &quantile_ops, n_features,
                                   n_features, &m, err);
        if (rc < 0)
                return rc;
        struct quantile *s = (struct quantile *)m;
        size_t nq = n_quantiles, n = nq * n_features;
        s->nq = nq;
        s->normal = normal;
        m->accepts_nan = true; /* NaN stays NaN, as in scikit-learn */
        s->q = malloc(n * sizeof(double));
        s->neg_q = malloc(n * sizeof(double));
        s->ref = malloc(nq * sizeof(double));
        s->neg_ref = malloc(nq * sizeof(double));
        if (!s->q || !s->neg_q || !s->ref || !s->neg_ref)
                return model_transformer_nomem(m, err);
        for (size_t j = 0; j < n_features; j++) {
                for (size_t i = 0; i < nq; i++) {
                        /* quantiles_ is n_quantiles x n_features */
                        s->q[j * nq + i] = quantiles[i * n_features + j];
                        s->neg_q[j * nq + nq - 1 - i] = -quantiles[i * n_features + j];
                }
        }
        for (size_t i = 0; i < nq; i++) {
                s->ref[i] = references[i];
                s->neg_ref[nq - 1 - i] = -references[i];
        }
        /* norm.ppf(BOUNDS_THRESHOLD - np.spacing(1)) and its mirror */
        s->clip_min = norm_ppf(QUANTILE_BOUNDS - 0x1p-52);
        s->clip_max = norm_ppf(1 - (QUANTILE_BOUNDS - 0x1p-52));
        *out = m;
        return 0;
}

/* --- SplineTransformer -------------------------------------------------- */

struct spline {
        struct model base;
        struct model_spline_params p; /* arrays owned */
        size_t n_cols;  /* output columns per feature */
        /* constant and linear extrapolation, per feature: xmin is
         * t[edge], xmax t[n_t - edge - 1], and the first and last `reach`
         * columns are extended (see spline_edges) */
        size_t *edge, *reach;
        double *bound;  /* per feature: f_min, f_max, fp_min, fp_max (n_splines each) */
};

/* SplineTransformer.transform takes xmin = t[degree] with a `degree`
 * that its linear branch raises by one when it is <= 1, and the raise
 * stays for the features after: with degree 0 or 1 the second and later
 * features extend from a knot further in. Repeated here as it is. */
static void spline_edges(struct spline *s)
{
        size_t d = s->p.degree;
        for (size_t j = 0; j < s->p.n_features; j++) {
                s->edge[j] = d;
                if (s->p.extrapolation == MODEL_SPLINE_LINEAR && d <= 1)
                        d++;
                s->reach[j] = d;
        }
}

/* scipy's find_interval (interpolate/_bspl): the last l in [k, n - 1]
 * with t[l] <= x, k when x is below t[k] (extrapolating). */
static size_t spline_interval(const double *t, size_t k, size_t n, double x)
{
        size_t l = k;
        while (l + 1 < n && x >= t[l + 1])
                l++;
        return l;
}

/* scipy's _deBoor_D: the k + 1 non-zero B-splines of degree k (their
 * m-th derivative) at x on interval ell, into h (2 (k + 1) doubles of
 * work). The repeated-knot branch of the derivative steps zeroes h[m] as
 * scipy's does. */
static void de_boor(const double *t, double x, size_t k, size_t ell, size_t m, double *h)
{
        double *hh = h + k + 1;
        h[0] = 1.0;
        for (size_t j = 1; j <= k - m; j++) {
                memcpy(hh, h, j * sizeof(double));
                h[0] = 0.0;
                for (size_t n = 1; n <= j; n++) {
                        double xb = t[ell + n], xa = t[ell + n - j];
                        if (xb == xa) {
                                h[n] = 0.0;
                                continue;
                        }
                        double w = hh[n - 1] / (xb - xa);
                        h[n - 1] += w * (xb - x);
                        h[n] = w * (x - xa);
                }
        }
        for (size_t j = k - m + 1; j <= k; j++) {
                memcpy(hh, h, j * sizeof(double));
                h[0] = 0.0;
                for (size_t n = 1; n <= j; n++) {
                        double xb = t[ell + n], xa = t[ell + n - j];
                        if (xb == xa) {
                                h[m] = 0.0;
                                continue;
                        }
                        double w = (double)j * hh[n - 1] / (xb - xa);
                        h[n - 1] -= w;
                        h[n] = w;
                }
        }
}

/* BSpline(t, c, k)(x, nu) of feature j into o (n_splines values): NaN
 * when x is NaN or, without extrapolate, outside [t[k], t[n]]. */
static void spline_eval(const struct spline *s, size_t j, double x, size_t nu,
                        bool extrapolate, double *o, double *work)
{
        const struct model_spline_params *p = &s->p;
        const double *t = p->knots + j * p->n_t;
        const double *c = p->coef + j * p->n_coef * p->n_splines;
        size_t k = p->degree, n = p->n_t - k - 1;
        if (isnan(x) || (!extrapolate && (x < t[k] || x > t[n]))) {
                for (size_t a = 0; a < p->n_splines; a++)
                        o[a] = NAN;
                return;
        }
        size_t ell = spline_interval(t, k, n, x);
        de_boor(t, x, k, ell, nu, work);
        for (size_t jp = 0; jp < p->n_splines; jp++) {
                double v = 0.;
                for (size_t a = 0; a <= k; a++)
                        v = v + c[(ell + a - k) * p->n_splines + jp] * work[a];
                o[jp] = v;
        }
}

/* numpy's remainder for doubles (npy_divmod): the sign of the divisor. */
static double np_remainder(double a, double b)
{
        double mod = fmod(a, b);
        if (!b)
                return mod;
        if (mod) {
                if ((b < 0) != (mod < 0))
                        mod += b;
        } else {
                mod = copysign(0.0, b);
        }
        return mod;
}

static int spline_transform(const struct model *m, const double *X, size_t rows,
                            double *out, struct model_error *err)
{
        const struct spline *s = (const struct spline *)m;
        const struct model_spline_params *p = &s->p;
        size_t nf = m->n_features, ns = p->n_splines, k = p->degree, w = m->n_out;
        double *row = malloc((ns + 2 * (k + 1)) * sizeof(double));
        if (!row) {
                model_set_error(err, "%s: out of memory", m->ops->name);
                return -ENOMEM;
        }
        double *work = row + ns;
        enum model_spline_extrapolation ex = p->extrapolation;
        for (size_t r = 0; r < rows; r++) {
                for (size_t j = 0; j < nf; j++) {
                        const double *t = p->knots + j * p->n_t;
                        const double *b = s->bound + j * 4 * ns;
                        double x = X[r * nf + j];
                        size_t n = p->n_t - k - 1;
                        if (ex == MODEL_SPLINE_PERIODIC) {
                                double period = t[n] - t[k];
                                if (p->zero_period_zeros && !(period > 0))
                                        x = isnan(x) ? x : 0.0;
                                else
                                        x = t[k] + np_remainder(x - t[k], period);
                                spline_eval(s, j, x, 0, true, row, work);
                        } else if (ex == MODEL_SPLINE_CONTINUE) {
                                spline_eval(s, j, x, 0, true, row, work);
                        } else if (ex == MODEL_SPLINE_ERROR) {
                                spline_eval(s, j, x, 0, false, row, work);
                        } else {
                                size_t e = s->edge[j], d = s->reach[j];
                                double xmin = t[e], xmax = t[p->n_t - e - 1];
                                for (size_t a = 0; a < ns; a++)
                                        row[a] = 0.0;
                                if (xmin <= x && x <= xmax)
                                        spline_eval(s, j, x, 0, false, row, work);
                                if (x < xmin) {
                                        for (size_t a = 0; a < d && a < ns; a++)
                                                row[a] = ex == MODEL_SPLINE_CONSTANT
                                                        ? b[a]
                                                        : b[a] + (x - xmin) * b[2 * ns + a];
                                }
                                /* not else: with the raised degree above,
                                 * xmin may pass xmax */
                                if (x > xmax && ex == MODEL_SPLINE_CONSTANT && k == 0) {
                                        /* f_max[-0:] is every value: numpy refuses
                                         * to put them into no column */
                                        model_set_error(err, "%s: row %zu, column %zu: "
                                                        "%.17g is above the last knot, which "
                                                        "scikit-learn cannot extrapolate as "
                                                        "a constant at degree 0",
                                                        m->ops->name, r, j, x);
                                        if (err)
                                                err->column = j;
                                        free(row);
                                        return -EINVAL;
                                }
                                if (x > xmax) {
                                        for (size_t a = 0; a < d && a < ns; a++) {
                                                size_t c = ns - 1 - a;
                                                row[c] = ex == MODEL_SPLINE_CONSTANT
                                                        ? b[ns + c]
                                                        : b[ns + c] + (x - xmax) * b[3 * ns + c];
                                        }
                                }
                        }
                        if (isnan(x) && p->missing_zeros) {
                                for (size_t a = 0; a < ns; a++)
                                        row[a] = 0.0;
                        } else if (ex == MODEL_SPLINE_ERROR && isnan(row[0])) {
                                model_set_error(err, "%s: row %zu, column %zu: %.17g is beyond "
                                                "the limits of the knots [%.17g, %.17g] "
                                                "(extrapolation='error')", m->ops->name, r, j,
                                                x, t[k], t[n]);
                                if (err)
                                        err->column = j;
                                free(row);
                                return -EINVAL;
                        }
                        memcpy(out + r * w + j * s->n_cols, row, s->n_cols * sizeof(double));
                }
        }
        free(row);
        return 0;
}

static void spline_destroy(struct model *m)
{
        struct spline *s = (struct spline *)m;
        model_base_release(m);
        free((double *)s->p.knots);
        free((double *)s->p.coef);
        free(s->bound);
        free(s->edge);
        free(s->reach);
        free(s);
}

static const struct model_ops spline_ops = {
        .name = "SplineTransformer",
        .transform = spline_transform,
        .destroy = spline_destroy,
};

int model_spline_create(const struct model_spline_params *p, struct model **out,
                        struct model_error *err)
{
        size_t nf = p->n_features, k = p->degree, ns = p->n_splines;
        if (k > MAX_SPLINE_DEGREE || p->n_t < 2 * k + 2 || p->n_t > MAX_SPLINE_KNOTS ||
            ns == 0 || ns > MAX_SPLINE_KNOTS || p->n_coef != p->n_t - k - 1 ||
            (!p->include_bias && ns < 2) || nf == 0 || nf > MAX_SPLINE_KNOTS ||
            ns > SIZE_MAX / sizeof(double) / nf / p->n_coef) {
                model_set_error(err, "SplineTransformer: expected degree <= %d, at least "
                                "2 (degree + 1) knots and one row of coefficients per "
                                "B-spline; found degree %zu, %zu knots, %zu x %zu "
                                "coefficients", MAX_SPLINE_DEGREE, k, p->n_t, p->n_coef, ns);
                return -EINVAL;
        }
        if (!all_finite(p->knots, nf * p->n_t) || !all_finite(p->coef, nf * p->n_coef * ns)) {
                model_set_error(err, "SplineTransformer: expected finite knots and coefficients");
                return -EINVAL;
        }
        for (size_t j = 0; j < nf; j++) {
                const double *t = p->knots + j * p->n_t;
                for (size_t i = 1; i < p->n_t; i++) {
                        if (!(t[i - 1] <= t[i])) {
                                model_set_error(err, "SplineTransformer: the knots of feature "
                                                "%zu are not sorted (knot %zu)", j, i);
                                return -EINVAL;
                        }
                }
        }
        size_t n_cols = ns - (p->include_bias ? 0 : 1);
        struct model *m = NULL;
        int rc = model_transformer_new(sizeof(struct spline), &spline_ops, nf, nf * n_cols, &m, err);
        if (rc < 0)
                return rc;
        struct spline *s = (struct spline *)m;
        s->p = *p;
        s->p.knots = NULL;
        s->p.coef = NULL;
        s->n_cols = n_cols;
        m->accepts_nan = p->missing_zeros;
        double *knots = NULL, *coef = NULL;
        if (!copy_f64(&knots, p->knots, nf * p->n_t) ||
            !(s->p.knots = knots, copy_f64(&coef, p->coef, nf * p->n_coef * ns)) ||
            !(s->p.coef = coef, s->bound = malloc(nf * 4 * ns * sizeof(double))))
                return model_transformer_nomem(m, err);
        s->edge = malloc(nf * sizeof(size_t));
        s->reach = malloc(nf * sizeof(size_t));
        if (!s->edge || !s->reach)
                return model_transformer_nomem(m, err);
        spline_edges(s);
        if (p->n_t < s->edge[nf - 1] + 1) {
                /* scikit-learn itself fails on these (an index past the knots) */
                model_set_error(err, "SplineTransformer: degree %zu with %zu knots leaves no "
                                "knot for the linear extrapolation of feature %zu",
                                k, p->n_t, nf - 1);
                m->ops->destroy(m);
                return -EINVAL;
        }
        double *work = malloc(2 * (k + 1) * sizeof(double));
        if (!work)
                return model_transformer_nomem(m, err);
        /* spl(xmin), spl(xmax), spl(xmin, nu=1), spl(xmax, nu=1) for the
         * constant and linear extrapolations */
        for (size_t j = 0; j < nf; j++) {
                const double *t = knots + j * p->n_t;
                double *b = s->bound + j * 4 * ns;
                double xmin = t[s->edge[j]], xmax = t[p->n_t - s->edge[j] - 1];
                spline_eval(s, j, xmin, 0, false, b, work);
                spline_eval(s, j, xmax, 0, false, b + ns, work);
                spline_eval(s, j, xmin, k >= 1 ? 1 : 0, false, b + 2 * ns, work);
                spline_eval(s, j, xmax, k >= 1 ? 1 : 0, false, b + 3 * ns, work);
                if (k == 0)
                        for (size_t a = 0; a < 2 * ns; a++)
                                b[2 * ns + a] = 0.0;
        }
        free(work);
        *out = m;
        return 0;
}
