/* preprocess.c - the numeric transformers: the scalers (StandardScaler,
 * MinMaxScaler, MaxAbsScaler, RobustScaler share one elementwise form),
 * Normalizer, PolynomialFeatures, PCA/TruncatedSVD projections, feature
 * selectors, SimpleImputer and KBinsDiscretizer.
 *
 * Each follows scikit-learn's transform step by step, in the same order
 * of floating-point operations where numpy fixes one (elementwise work,
 * pairwise sums). Matrix products go through BLAS in scikit-learn, whose
 * summation order depends on the library and CPU; here they are plain
 * left-to-right sums, which agree to a few ulps. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* A copy of n doubles, NULL for a NULL source; *failed on ENOMEM. */
static double *dup_f64(const double *src, size_t n, bool *failed)
{
        if (!src || n == 0)
                return NULL;
        double *d = malloc(n * sizeof(double));
        if (!d) {
                *failed = true;
                return NULL;
        }
        memcpy(d, src, n * sizeof(double));
        return d;
}

int model_transformer_new(size_t size, const struct model_ops *ops, size_t n_features,
                          size_t n_out, void *res, struct model_error *err)
{
        if (n_features == 0 || n_out == 0) {
                model_set_error(err, "%s: expected at least 1 feature in and out, got "
                                "%zu in and %zu out", ops->name, n_features, n_out);
                return -EINVAL;
        }
        struct model *m = calloc(1, size);
        if (!m) {
                model_set_error(err, "%s: out of memory", ops->name);
                return -ENOMEM;
        }
        int rc = model_base_init(m, ops, MODEL_TYPE_TRANSFORMER, n_features, NULL, 0, err);
        if (rc < 0) {
                free(m);
                return rc;
        }
        m->n_out = n_out;
        *(struct model **)res = m;
        return 0;
}

int model_transformer_nomem(struct model *m, struct model_error *err)
{
        model_set_error(err, "%s: out of memory", m->ops->name);
        m->ops->destroy(m);
        return -ENOMEM;
}

/* A destructor for transformers with no arrays of their own. */
static void plain_destroy(struct model *m)
{
        model_base_release(m);
        free(m);
}

/* --- StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler --------- */

enum affine_kind {
        AFFINE_MUL_ADD, /* x * a + b (MinMaxScaler) */
        AFFINE_SUB_DIV, /* (x - a) / b, either optional */
};

struct affine {
        struct model base;
        enum affine_kind kind;
        double *a, *b;
        bool clip;
        double lo, hi;
};

static int affine_transform(const struct model *m, const double *X,
                            size_t rows, double *out, struct model_error *err)
{
        const struct affine *s = (const struct affine *)m;
        size_t nf = m->n_features;
        (void)err;
        for (size_t r = 0; r < rows; r++) {
                for (size_t j = 0; j < nf; j++) {
                        double v = X[r * nf + j];
                        if (s->kind == AFFINE_MUL_ADD) {
                                v *= s->a[j];
                                v += s->b[j];
                                /* np.clip: NaN stays NaN */
                                if (s->clip && v < s->lo)
                                        v = s->lo;
                                if (s->clip && v > s->hi)
                                        v = s->hi;
                        } else {
                                if (s->a)
                                        v -= s->a[j];
                                if (s->b)
                                        v /= s->b[j];
                        }
                        out[r * nf + j] = v;
                }
        }
        return 0;
}

static void affine_destroy(struct model *m)
{
        struct affine *s = (struct affine *)m;
        model_base_release(m);
        free(s->a);
        free(s->b);
        free(s);
}

static const struct model_ops standard_ops = {
        .name = "StandardScaler",
        .transform = affine_transform,
        .destroy = affine_destroy,
};
static const struct model_ops minmax_ops = {
        .name = "MinMaxScaler",
        .transform = affine_transform,
        .destroy = affine_destroy,
};
static const struct model_ops maxabs_ops = {
        .name = "MaxAbsScaler",
        .transform = affine_transform,
        .destroy = affine_destroy,
};
static const struct model_ops robust_ops = {
        .name = "RobustScaler",
        .transform = affine_transform,
        .destroy = affine_destroy,
};

static int affine_create(const struct model_ops *ops, enum affine_kind kind,
                         size_t nf, const double *a, const double *b,
                         struct affine **res, struct model_error *err)
{
        struct affine *s = NULL;
        int rc = model_transformer_new(sizeof(*s), ops, nf, nf, &s, err);
        if (rc < 0)
                return rc;
        bool failed = false;
        s->kind = kind;
        s->a = dup_f64(a, nf, &failed);
        s->b = dup_f64(b, nf, &failed);
        if (failed)
                return model_transformer_nomem(&s->base, err);
        *res = s;
        return 0;
}

static int center_scale_create(const struct model_ops *ops, size_t n_features,
                               const double *center, const double *scale,
                               struct model **out, struct model_error *err);

int model_minmax_create(size_t n_features, const double *scale,
                        const double *min, bool clip, double lo, double hi,
                        struct model **out, struct model_error *err)
{
        if (!scale || !min) {
                model_set_error(err, "MinMaxScaler: expected scale_ and min_");
                return -EINVAL;
        }
        struct affine *s = NULL;
        int rc = affine_create(&minmax_ops, AFFINE_MUL_ADD, n_features, scale, min, &s, err);
        if (rc < 0)
                return rc;
        s->clip = clip;
        s->lo = lo;
        s->hi = hi;
        *out = &s->base;
        return 0;
}

int model_maxabs_create(size_t n_features, const double *scale,
                        struct model **out, struct model_error *err)
{
        if (!scale) {
                model_set_error(err, "MaxAbsScaler: expected scale_");
                return -EINVAL;
        }
        return center_scale_create(&maxabs_ops, n_features, NULL, scale, out, err);
}

/* StandardScaler and RobustScaler: (x - center) / scale, either optional. */
static int center_scale_create(const struct model_ops *ops, size_t n_features,
                               const double *center, const double *scale,
                               struct model **out, struct model_error *err)
{
        struct affine *s = NULL;
        int rc = affine_create(ops, AFFINE_SUB_DIV, n_features, center, scale, &s, err);
        if (rc == 0)
                *out = &s->base;
        return rc;
}

int model_scaler_create(size_t n_features, const double *mean,
                        const double *scale, struct model **out,
                        struct model_error *err)
{
        return center_scale_create(&standard_ops, n_features, mean, scale, out, err);
}

int model_robust_create(size_t n_features, const double *center,
                        const double *scale, struct model **out,
                        struct model_error *err)
{
        return center_scale_create(&robust_ops, n_features, center, scale, out, err);
}

/* --- Normalizer ---------------------------------------------------------- */

struct normalizer {
        struct model base;
        enum model_norm norm;
};

static int normalizer_transform(const struct model *m, const double *X,
                                size_t rows, double *out, struct model_error *err)
{
        const struct normalizer *s = (const struct normalizer *)m;
        size_t nf = m->n_features;
        (void)err;
        for (size_t r = 0; r < rows; r++) {
                const double *x = X + r * nf;
                double *o = out + r * nf;
                double norm = 0.0;
                switch (s->norm) {
                case MODEL_NORM_L1:
                        /* np.abs(X).sum(axis=1): numpy's pairwise sum */
                        for (size_t j = 0; j < nf; j++)
                                o[j] = fabs(x[j]);
                        norm = model_np_sum(o, nf);
                        break;
                case MODEL_NORM_L2:
                        /* row_norms: sqrt(einsum('ij,ij->i')) */
                        for (size_t j = 0; j < nf; j++)
                                norm += x[j] * x[j];
                        norm = sqrt(norm);
                        break;
                case MODEL_NORM_MAX:
                        norm = fabs(x[0]);
                        for (size_t j = 1; j < nf; j++) {
                                double a = fabs(x[j]);
                                /* np.max propagates NaN */
                                if (a > norm || isnan(a))
                                        norm = isnan(norm) ? norm : a;
                        }
                        break;
                }
                /* _handle_zeros_in_scale */
                if (norm < 10 * DBL_EPSILON)
                        norm = 1.0;
                for (size_t j = 0; j < nf; j++)
                        o[j] = x[j] / norm;
        }
        return 0;
}

static const struct model_ops normalizer_ops = {
        .name = "Normalizer",
        .transform = normalizer_transform,
        .destroy = plain_destroy,
};

int model_normalizer_create(size_t n_features, enum model_norm norm,
                            struct model **out, struct model_error *err)
{
        struct normalizer *s = NULL;
        int rc = model_transformer_new(sizeof(*s), &normalizer_ops, n_features, n_features, &s,
                                 err);
        if (rc < 0)
                return rc;
        s->norm = norm;
        *out = &s->base;
        return 0;
}

/* --- PolynomialFeatures ------------------------------------------------ */

/* The full matrix XP of scikit-learn's dense transform, column by column:
 * the bias, the inputs, then each higher degree made as
 * XP[:, start:end] * X[:, feature]; `keep` selects the columns returned
 * (all of them unless min_degree > 1). */
struct poly {
        struct model base;
        size_t n_full;
        size_t *src;  /* n_full: XP column multiplied, or SIZE_MAX */
        size_t *feat; /* n_full: input feature, or SIZE_MAX for the bias */
        size_t *keep; /* n_out: XP columns returned */
};

#define POLY_NONE SIZE_MAX

static int poly_transform(const struct model *m, const double *X, size_t rows,
                          double *out, struct model_error *err)
{
        const struct poly *p = (const struct poly *)m;
        size_t nf = m->n_features;
        double *xp = malloc(p->n_full * sizeof(double));
        if (!xp) {
                model_set_error(err, "PolynomialFeatures: out of memory");
                return -ENOMEM;
        }
        for (size_t r = 0; r < rows; r++) {
                const double *x = X + r * nf;
                for (size_t c = 0; c < p->n_full; c++) {
                        if (p->feat[c] == POLY_NONE)
                                xp[c] = 1.0;
                        else if (p->src[c] == POLY_NONE)
                                xp[c] = x[p->feat[c]];
                        else
                                xp[c] = xp[p->src[c]] * x[p->feat[c]];
                }
                for (size_t k = 0; k < m->n_out; k++)
                        out[r * m->n_out + k] = xp[p->keep[k]];
        }
        free(xp);
        return 0;
}

static void poly_destroy(struct model *m)
{
        struct poly *p = (struct poly *)m;
        model_base_release(m);
        free(p->src);
        free(p->feat);
        free(p->keep);
        free(p);
}

static const struct model_ops poly_ops = {
        .name = "PolynomialFeatures",
        .transform = poly_transform,
        .destroy = poly_destroy,
};

/* Walks scikit-learn's column loop. With src/feat/deg NULL it only counts;
 * returns the number of XP columns, or SIZE_MAX past max_out. */
static size_t poly_plan(size_t nf, size_t max_degree, bool interaction_only,
                        bool include_bias, size_t max_out, size_t *src,
                        size_t *feat, size_t *deg)
{
        size_t cur = 0;
#define POLY_PUT(s, f, d)                                                        \
        do {                                                                     \
                if (cur >= max_out)                                              \
                        return SIZE_MAX;                                         \
                if (src) {                                                       \
                        src[cur] = (s);                                          \
                        feat[cur] = (f);                                         \
                        deg[cur] = (d);                                          \
                }                                                                \
                cur++;                                                           \
        } while (0)
        if (include_bias)
                POLY_PUT(POLY_NONE, POLY_NONE, 0);
        if (max_degree == 0)
                return cur;
        if (nf > max_out)
                return SIZE_MAX;
        size_t *index = malloc((nf + 1) * sizeof(size_t));
        size_t *next_index = malloc((nf + 1) * sizeof(size_t));
        if (!index || !next_index) {
                free(index);
                free(next_index);
                return SIZE_MAX;
        }
        for (size_t j = 0; j < nf; j++) {
                index[j] = cur;
                if (cur >= max_out)
                        goto over;
                if (src) {
                        src[cur] = POLY_NONE;
                        feat[cur] = j;
                        deg[cur] = 1;
                }
                cur++;
        }
        index[nf] = cur;
        for (size_t d = 2; d <= max_degree; d++) {
                size_t end = index[nf], n_new = 0;
                for (size_t j = 0; j < nf; j++) {
                        size_t start = index[j];
                        next_index[n_new++] = cur;
                        if (interaction_only)
                                start += index[j + 1] - index[j];
                        if (end <= start)
                                break;
                        for (size_t c = start; c < end; c++) {
                                if (cur >= max_out)
                                        goto over;
                                if (src) {
                                        src[cur] = c;
                                        feat[cur] = j;
                                        deg[cur] = d;
                                }
                                cur++;
                        }
                }
                next_index[n_new++] = cur;
                /* index has nf + 1 entries; a loop that broke early leaves
                 * fewer, and the next degree reads only those it made */
                while (n_new < nf + 1)
                        next_index[n_new++] = cur;
                size_t *t = index;
                index = next_index;
                next_index = t;
        }
        free(index);
        free(next_index);
        return cur;
over:
        free(index);
        free(next_index);
        return SIZE_MAX;
#undef POLY_PUT
}

int model_poly_create(size_t n_features, size_t min_degree,
                      size_t max_degree, bool interaction_only,
                      bool include_bias, size_t max_out, struct model **out,
                      struct model_error *err)
{
        if (min_degree > max_degree || (max_degree == 0 && !include_bias)) {
                model_set_error(err, "PolynomialFeatures: degrees %zu..%zu%s give no output",
                                min_degree, max_degree, include_bias ? "" : " without bias");
                return -EINVAL;
        }
        size_t n_full = poly_plan(n_features, max_degree, interaction_only, include_bias,
                                  max_out, NULL, NULL, NULL);
        if (n_full == SIZE_MAX) {
                model_set_error(err, "PolynomialFeatures: more than %zu output columns",
                                max_out);
                return -E2BIG;
        }
        size_t *deg = malloc(n_full * sizeof(size_t));
        if (!deg) {
                model_set_error(err, "PolynomialFeatures: out of memory");
                return -ENOMEM;
        }
        size_t *src = malloc(n_full * sizeof(size_t));
        size_t *feat = malloc(n_full * sizeof(size_t));
        size_t *keep = malloc(n_full * sizeof(size_t));
        size_t n_out = 0;
        bool planned = src && feat && keep &&
                       poly_plan(n_features, max_degree, interaction_only, include_bias,
                                 max_out, src, feat, deg) == n_full;
        if (planned) {
                size_t lowest = min_degree > 1 ? min_degree : 1;
                for (size_t c = 0; c < n_full; c++)
                        if (feat[c] == POLY_NONE || deg[c] >= lowest)
                                keep[n_out++] = c;
        }
        free(deg);
        struct poly *p = NULL;
        int rc = model_transformer_new(sizeof(*p), &poly_ops, n_features, n_out ? n_out : 1, &p,
                                 err);
        if (rc < 0) {
                free(src);
                free(feat);
                free(keep);
                return rc;
        }
        p->src = src;
        p->feat = feat;
        p->keep = keep;
        p->n_full = n_full;
        if (!planned)
                return model_transformer_nomem(&p->base, err);
        if (n_out == 0) {
                /* e.g. degree (3, 3) with interaction_only over 2 features */
                model_set_error(err, "PolynomialFeatures: degrees %zu..%zu over %zu features "
                                "give no output column", min_degree, max_degree, n_features);
                poly_destroy(&p->base);
                return -EINVAL;
        }
        p->base.n_out = n_out;
        *out = &p->base;
        return 0;
}

/* --- PCA, TruncatedSVD ------------------------------------------------- */

struct projection {
        struct model base;
        double *components; /* n_out x n_features */
        double *mean;       /* NULL: no centering */
        double *mean_proj;  /* center_after: mean @ components.T */
        double *scale;      /* NULL: no whitening */
};

static int projection_transform(const struct model *m, const double *X,
                                size_t rows, double *out, struct model_error *err)
{
        const struct projection *p = (const struct projection *)m;
        size_t nf = m->n_features, nc = m->n_out;
        double *centered = NULL;
        if (p->mean && !p->mean_proj && !(centered = malloc(nf * sizeof(double)))) {
                model_set_error(err, "%s: out of memory", m->ops->name);
                return -ENOMEM;
        }
        for (size_t r = 0; r < rows; r++) {
                const double *x = X + r * nf;
                if (centered) {
                        for (size_t j = 0; j < nf; j++)
                                centered[j] = x[j] - p->mean[j];
                        x = centered;
                }
                for (size_t k = 0; k < nc; k++) {
                        const double *c = p->components + k * nf;
                        double acc = 0.0;
                        for (size_t j = 0; j < nf; j++)
                                acc += x[j] * c[j];
                        if (p->mean_proj)
                                acc -= p->mean_proj[k];
                        if (p->scale)
                                acc /= p->scale[k];
                        out[r * nc + k] = acc;
                }
        }
        free(centered);
        return 0;
}

static void projection_destroy(struct model *m)
{
        struct projection *p = (struct projection *)m;
        model_base_release(m);
        free(p->components);
        free(p->mean);
        free(p->mean_proj);
        free(p->scale);
        free(p);
}

static void projection_describe(const struct model *m, char *buf, size_t len)
{
        snprintf(buf, len, "%s[%zu components]", m->ops->name, m->n_out);
}

/* One table per class, so every message names the right one. */
static const struct model_ops projection_ops[] = {
        { .name = "PCA", .transform = projection_transform,
          .describe = projection_describe, .destroy = projection_destroy },
        { .name = "TruncatedSVD", .transform = projection_transform,
          .describe = projection_describe, .destroy = projection_destroy },
};

/* The entry of table[0..n) named name, or NULL (message set). */
static const struct model_ops *ops_named(const struct model_ops *table, size_t n,
                                         const char *name, struct model_error *err)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(table[i].name, name) == 0)
                        return &table[i];
        model_set_error(err, "expected a class served like %s, found '%.60s'",
                        table[0].name, name);
        return NULL;
}

int model_projection_create(const char *name, size_t n_features,
                            size_t n_components, const double *components,
                            const double *mean, bool center_after,
                            const double *variance, bool clip_eps,
                            struct model **out, struct model_error *err)
{
        struct projection *p = NULL;
        const struct model_ops *ops = ops_named(projection_ops, 2, name, err);
        if (!ops)
                return -EINVAL;
        int rc = model_transformer_new(sizeof(*p), ops, n_features, n_components, &p, err);
        if (rc < 0)
                return rc;
        bool failed = false;
        p->components = dup_f64(components, n_features * n_components, &failed);
        if (!failed && mean && center_after) {
                p->mean_proj = malloc(n_components * sizeof(double));
                failed = !p->mean_proj;
                for (size_t k = 0; !failed && k < n_components; k++) {
                        double acc = 0.0;
                        for (size_t j = 0; j < n_features; j++)
                                acc += mean[j] * components[k * n_features + j];
                        p->mean_proj[k] = acc;
                }
        } else {
                p->mean = dup_f64(mean, n_features, &failed);
        }
        p->scale = dup_f64(variance, n_components, &failed);
        if (failed)
                return model_transformer_nomem(&p->base, err);
        for (size_t k = 0; p->scale && k < n_components; k++) {
                p->scale[k] = sqrt(p->scale[k]);
                if (clip_eps && p->scale[k] < DBL_EPSILON)
                        p->scale[k] = DBL_EPSILON;
                if (!(p->scale[k] > 0.0)) {
                        model_set_error(err, "%s: explained_variance_[%zu] is %g, expected a "
                                        "positive variance to whiten by", name, k,
                                        variance[k]);
                        projection_destroy(&p->base);
                        return -EINVAL;
                }
        }
        *out = &p->base;
        return 0;
}

/* --- VarianceThreshold, SelectKBest, SelectFromModel --------------------- */

struct select {
        struct model base;
        size_t *cols; /* n_out kept columns */
};

static int select_transform(const struct model *m, const double *X, size_t rows,
                            double *out, struct model_error *err)
{
        const struct select *s = (const struct select *)m;
        (void)err;
        for (size_t r = 0; r < rows; r++)
                for (size_t k = 0; k < m->n_out; k++)
                        out[r * m->n_out + k] = X[r * m->n_features + s->cols[k]];
        return 0;
}

static void select_destroy(struct model *m)
{
        struct select *s = (struct select *)m;
        model_base_release(m);
        free(s->cols);
        free(s);
}

static void select_describe(const struct model *m, char *buf, size_t len)
{
        snprintf(buf, len, "%s[%zu of %zu features]", m->ops->name, m->n_out,
                 m->n_features);
}

static const struct model_ops select_ops[] = {
        { .name = "VarianceThreshold", .transform = select_transform,
          .describe = select_describe, .destroy = select_destroy },
        { .name = "SelectKBest", .transform = select_transform,
          .describe = select_describe, .destroy = select_destroy },
        { .name = "SelectFromModel", .transform = select_transform,
          .describe = select_describe, .destroy = select_destroy },
};

int model_select_create(const char *name, size_t n_features,
                        const bool *mask, struct model **out,
                        struct model_error *err)
{
        size_t n_out = 0;
        for (size_t j = 0; j < n_features; j++)
                n_out += mask[j];
        if (n_out == 0) {
                /* scikit-learn warns and returns an empty matrix */
                model_set_error(err, "%s: its support mask selects none of the %zu features",
                                name, n_features);
                return -EINVAL;
        }
        struct select *s = NULL;
        const struct model_ops *ops = ops_named(select_ops, 3, name, err);
        if (!ops)
                return -EINVAL;
        int rc = model_transformer_new(sizeof(*s), ops, n_features, n_out, &s, err);
        if (rc < 0)
                return rc;
        s->cols = malloc(n_out * sizeof(size_t));
        if (!s->cols)
                return model_transformer_nomem(&s->base, err);
        for (size_t j = 0, k = 0; j < n_features; j++)
                if (mask[j])
                        s->cols[k++] = j;
        *out = &s->base;
        return 0;
}

static int cmp_f64(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

double model_select_threshold(const double *scores, size_t n,
                              enum model_threshold_ref ref)
{
        if (ref == MODEL_THRESHOLD_MEAN)
                return model_np_sum(scores, n) / (double)n;
        /* np.median: the middle value, or the mean of the two middle ones */
        double *s = malloc(n * sizeof(double));
        if (!s)
                return NAN;
        memcpy(s, scores, n * sizeof(double));
        qsort(s, n, sizeof(double), cmp_f64);
        double med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
        free(s);
        return med;
}

/* --- SimpleImputer ----------------------------------------------------- */

struct imputer {
        struct model base;
        size_t n_kept;
        size_t *cols;  /* n_kept input columns kept */
        double *fill;  /* n_kept statistics, one per kept column */
        size_t *ind;   /* n_out - n_kept inputs with an indicator column */
        bool missing_nan;
        double missing;
};

/* _get_mask: NaN matches NaN, a string the same string, any other
 * marker matches by == */
static bool imputer_missing(const struct imputer *s, double v)
{
        uint64_t a, b;
        if (s->missing_nan)
                return model_is_missing(v);
        if (model_string_code_of(s->missing, &a))
                return model_string_code_of(v, &b) && a == b;
        return v == s->missing;
}

static int imputer_transform(const struct model *m, const double *X,
                             size_t rows, double *out, struct model_error *err)
{
        const struct imputer *s = (const struct imputer *)m;
        for (size_t r = 0; r < rows; r++) {
                const double *x = X + r * m->n_features;
                /* with a marker other than NaN, scikit-learn refuses NaN
                 * input ("Input contains NaN") */
                for (size_t j = 0; !s->missing_nan && j < m->n_features; j++)
                        if (model_is_missing(x[j])) {
                                model_set_error(err, "SimpleImputer: row %zu, column %zu: "
                                                "expected a value, found a missing one (NaN); "
                                                "this imputer's missing-value marker is not "
                                                "NaN", r, j);
                                err->column = j;
                                return -EINVAL;
                        }
                double *o = out + r * m->n_out;
                for (size_t k = 0; k < s->n_kept; k++) {
                        double v = x[s->cols[k]];
                        o[k] = imputer_missing(s, v) ? s->fill[k] : v;
                }
                /* np.hstack of the imputed floats and the bool mask */
                for (size_t k = s->n_kept; k < m->n_out; k++)
                        o[k] = imputer_missing(s, x[s->ind[k - s->n_kept]]) ? 1.0 : 0.0;
        }
        return 0;
}

static void imputer_destroy(struct model *m)
{
        struct imputer *s = (struct imputer *)m;
        model_base_release(m);
        free(s->cols);
        free(s->fill);
        free(s->ind);
        free(s);
}

static const struct model_ops imputer_ops = {
        .name = "SimpleImputer",
        .transform = imputer_transform,
        .destroy = imputer_destroy,
};

int model_imputer_create(size_t n_features, const double *statistics,
                         bool missing_nan, double missing, bool keep_all,
                         const size_t *indicator, size_t n_indicator,
                         struct model **out, struct model_error *err)
{
        size_t n_kept = 0;
        for (size_t j = 0; j < n_features; j++)
                n_kept += keep_all || !model_is_missing(statistics[j]);
        for (size_t k = 0; k < n_indicator; k++) {
                if (indicator[k] >= n_features || (k && indicator[k] <= indicator[k - 1])) {
                        model_set_error(err, "SimpleImputer: indicator feature %zu of %zu is "
                                        "%zu, expected increasing indices below %zu", k,
                                        n_indicator, indicator[k], n_features);
                        return -EINVAL;
                }
        }
        size_t n_out = n_kept + n_indicator;
        if (n_features && n_kept == 0) {
                model_set_error(err, "SimpleImputer: every one of the %zu features was "
                                "missing when it was fitted, so no column is left",
                                n_features);
                return -EINVAL;
        }
        struct imputer *s = NULL;
        int rc = model_transformer_new(sizeof(*s), &imputer_ops, n_features, n_out, &s, err);
        if (rc < 0)
                return rc;
        s->missing_nan = missing_nan;
        s->base.accepts_nan = missing_nan;
        s->missing = missing;
        s->n_kept = n_kept;
        s->cols = malloc(n_kept * sizeof(size_t));
        s->fill = malloc(n_kept * sizeof(double));
        s->ind = malloc((n_indicator ? n_indicator : 1) * sizeof(size_t));
        if (!s->cols || !s->fill || !s->ind)
                return model_transformer_nomem(&s->base, err);
        if (n_indicator)
                memcpy(s->ind, indicator, n_indicator * sizeof(size_t));
        uint8_t *kin = calloc(n_features, 1), *kout = calloc(n_out, 1);
        if (!kin || !kout) {
                free(kin);
                free(kout);
                return model_transformer_nomem(&s->base, err);
        }
        for (size_t j = 0, k = 0; j < n_features; j++) {
                if (model_is_string_value(statistics[j]))
                        kin[j] = MODEL_COLUMN_STRING;
                if (keep_all || !model_is_missing(statistics[j])) {
                        kout[k] = kin[j];
                        s->cols[k] = j;
                        s->fill[k++] = statistics[j];
                }
        }
        rc = model_set_kinds(&s->base, kin, kout, err);
        free(kin);
        free(kout);
        if (rc < 0) {
                model_free(&s->base);
                return rc;
        }
        *out = &s->base;
        return 0;
}

/* --- KBinsDiscretizer ---------------------------------------------------- */

struct kbins {
        struct model base;
        size_t *offsets; /* n_features + 1 into edges */
        double *edges;
        bool tolerance; /* < 1.1: digitize(x + eps) */
        bool onehot;
};

/* How many of the sorted a[0..n) are <= v (NaN sorts last, past them
 * all): np.searchsorted(a, v, side="right") and np.digitize(v, a). */
static size_t count_le(const double *a, size_t n, double v)
{
        size_t lo = 0, hi = n;
        if (isnan(v))
                return n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (a[mid] <= v)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* The bin of v among the n edges e. */
static size_t kbins_bin(const struct kbins *s, const double *e, size_t n, double v)
{
        if (!s->tolerance)
                return count_le(e + 1, n - 2, v); /* searchsorted(e[1:-1]) */
        /* before 1.1: values near an edge were nudged up by isclose's
         * tolerances, digitized over e[1:], then clipped to n_bins - 1 */
        double eps = 1e-8 + 1e-5 * fabs(v);
        size_t b = count_le(e + 1, n - 1, v + eps);
        return b > n - 2 ? n - 2 : b;
}

static int kbins_transform(const struct model *m, const double *X, size_t rows,
                           double *out, struct model_error *err)
{
        const struct kbins *s = (const struct kbins *)m;
        size_t nf = m->n_features, no = m->n_out;
        (void)err;
        for (size_t r = 0; r < rows; r++) {
                double *o = out + r * no;
                size_t col = 0;
                if (s->onehot)
                        memset(o, 0, no * sizeof(double));
                for (size_t j = 0; j < nf; j++) {
                        const double *e = s->edges + s->offsets[j];
                        size_t n = s->offsets[j + 1] - s->offsets[j];
                        size_t b = kbins_bin(s, e, n, X[r * nf + j]);
                        if (s->onehot) {
                                o[col + b] = 1.0;
                                col += n - 1;
                        } else {
                                o[j] = (double)b;
                        }
                }
        }
        return 0;
}

static void kbins_destroy(struct model *m)
{
        struct kbins *s = (struct kbins *)m;
        model_base_release(m);
        free(s->offsets);
        free(s->edges);
        free(s);
}

static const struct model_ops kbins_ops = {
        .name = "KBinsDiscretizer",
        .transform = kbins_transform,
        .destroy = kbins_destroy,
};

int model_kbins_create(size_t n_features, const size_t *offsets,
                       const double *edges, bool tolerance, bool onehot,
                       struct model **out, struct model_error *err)
{
        size_t n_out = onehot ? 0 : n_features;
        for (size_t j = 0; j < n_features; j++) {
                size_t n = offsets[j + 1] - offsets[j];
                if (offsets[j + 1] < offsets[j] || n < 2) {
                        model_set_error(err, "KBinsDiscretizer: feature %zu has %zu bin edges, "
                                        "expected at least 2", j, offsets[j + 1] < offsets[j] ? 0 : n);
                        return -EINVAL;
                }
                for (size_t i = 1; i < n; i++) {
                        if (!(edges[offsets[j] + i - 1] <= edges[offsets[j] + i])) {
                                model_set_error(err, "KBinsDiscretizer: bin edges of feature "
                                                "%zu are not sorted at %zu", j, i);
                                return -EINVAL;
                        }
                }
                if (onehot)
                        n_out += n - 1;
        }
        struct kbins *s = NULL;
        int rc = model_transformer_new(sizeof(*s), &kbins_ops, n_features, n_out, &s, err);
        if (rc < 0)
                return rc;
        bool failed = false;
        s->tolerance = tolerance;
        s->onehot = onehot;
        s->offsets = malloc((n_features + 1) * sizeof(size_t));
        s->edges = dup_f64(edges, offsets[n_features], &failed);
        if (failed || !s->offsets)
                return model_transformer_nomem(&s->base, err);
        memcpy(s->offsets, offsets, (n_features + 1) * sizeof(size_t));
        *out = &s->base;
        return 0;
}
