/* probabilistic.c - the probabilistic family: naive Bayes (GaussianNB,
 * MultinomialNB, BernoulliNB) and multi-layer perceptrons (MLPClassifier,
 * MLPRegressor). Naive Bayes turns a joint log likelihood per class into
 * probabilities through logsumexp as _BaseNB.predict_log_proba does; the
 * perceptrons run _forward_pass_fast. Each step follows scikit-learn's
 * order of operations, so that rounding stays within a few ulps of it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "vec.h"

/* --- naive Bayes --------------------------------------------------------- */

enum nb_kind { NB_GAUSSIAN, NB_MULTINOMIAL, NB_BERNOULLI };

struct nb {
        struct model base;
        enum nb_kind kind;
        enum model_nb_lse lse;
        /* Gaussian: theta, var and per class log(prior) and
         * -0.5 * sum(log(2 pi var)); discrete: w = flp (Multinomial) or
         * flp - neg (Bernoulli) and bias = clp (Multinomial) or
         * clp + sum(neg) (Bernoulli). All n_classes x n_features / n_classes. */
        double *theta;
        double *var;
        double *w;
        double *log_prior;
        double *norm;
        double *bias;
        bool binarize;
        double threshold;
};

static const struct model_ops gaussian_nb_ops;
static const struct model_ops multinomial_nb_ops;
static const struct model_ops bernoulli_nb_ops;

/* numpy's pairwise_sum (model_np_sum) of the n <= 128 terms
 * (x - theta)^2 / var, made as they are summed: 8 partial sums, four
 * lanes at a time (the divisions overlap), combined in numpy's order,
 * then the rest one by one. */
#define NB_FUSED_MAX 128
static inline __attribute__((always_inline)) double nb_gauss_sum(const double *x,
                                                                 const double *th,
                                                                 const double *v, size_t n)
{
        double res = 0.0;
        size_t i = 0;
        if (n >= 8) {
                vec4d lo, hi;
#define NB_TERMS(i, dst)                                                        \
        do {                                                                    \
                vec4d d_ = *(const vec4d *)(x + (i)) - *(const vec4d *)(th + (i)); \
                dst = (d_ * d_) / *(const vec4d *)(v + (i));                    \
        } while (0)
                NB_TERMS(0, lo);
                NB_TERMS(4, hi);
                for (i = 8; i + 8 <= n; i += 8) {
                        vec4d a, b;
                        NB_TERMS(i, a);
                        NB_TERMS(i + 4, b);
                        lo += a;
                        hi += b;
                }
#undef NB_TERMS
                res = ((lo[0] + lo[1]) + (lo[2] + lo[3])) + ((hi[0] + hi[1]) + (hi[2] + hi[3]));
        }
        for (; i < n; i++) {
                double d = x[i] - th[i];
                res += (d * d) / v[i];
        }
        return 0.0 + res; /* the reduction starts from 0.0 */
}

/* jll[c] = log_prior[c] + (norm[c] - 0.5 * the sum) for every class, the
 * Gaussian case of nb_jll_row for rows of at most NB_FUSED_MAX features. */
static inline __attribute__((always_inline)) void nb_gauss_jll(const struct nb *nb,
                                                               const double *x, double *jll)
{
        size_t nf = nb->base.n_features, nc = nb->base.n_classes;
        for (size_t c = 0; c < nc; c++)
                jll[c] = nb->log_prior[c] +
                         (nb->norm[c] - 0.5 * nb_gauss_sum(x, nb->theta + c * nf,
                                                           nb->var + c * nf, nf));
}

static void nb_gauss_jll_plain(const struct nb *nb, const double *x, double *jll)
{
        nb_gauss_jll(nb, x, jll);
}

#if VEC_HAVE_AVX2
VEC_AVX2 static void nb_gauss_jll_avx2(const struct nb *nb, const double *x, double *jll)
{
        nb_gauss_jll(nb, x, jll);
}
#endif

/* _joint_log_likelihood of one row into jll[n_classes]; tmp holds
 * n_features doubles. */
static void nb_jll_row(const struct nb *nb, const double *x, double *jll,
                       double *tmp)
{
        size_t nf = nb->base.n_features, nc = nb->base.n_classes;
        if (nb->kind == NB_GAUSSIAN) {
                if (nf <= NB_FUSED_MAX) {
#if VEC_HAVE_AVX2
                        if (vec_avx2()) {
                                nb_gauss_jll_avx2(nb, x, jll);
                                return;
                        }
#endif
                        nb_gauss_jll_plain(nb, x, jll);
                        return;
                }
                for (size_t c = 0; c < nc; c++) {
                        const double *th = nb->theta + c * nf, *v = nb->var + c * nf;
                        size_t j = 0;
                        /* two features to a register: the divisions overlap */
                        for (; j + 2 <= nf; j += 2) {
                                vec2d d = vec2d_load(x + j) - vec2d_load(th + j);
                                vec2d_store(tmp + j, (d * d) / vec2d_load(v + j));
                        }
                        for (; j < nf; j++) {
                                double d = x[j] - th[j];
                                tmp[j] = (d * d) / v[j];
                        }
                        double n_ij = nb->norm[c] - 0.5 * model_np_sum(tmp, nf);
                        jll[c] = nb->log_prior[c] + n_ij;
                }
                return;
        }
        const double *xv = x;
        if (nb->binarize) {
                for (size_t j = 0; j < nf; j++)
                        tmp[j] = x[j] > nb->threshold ? 1.0 : 0.0;
                xv = tmp;
        }
        for (size_t c = 0; c < nc; c++) {
                const double *w = nb->w + c * nf;
                double acc = 0.0;
                for (size_t j = 0; j < nf; j++)
                        acc += xv[j] * w[j];
                jll[c] = acc + nb->bias[c];
        }
}

/* scipy.special.logsumexp as scipy >= 1.15 (and scikit-learn 1.9's
 * _logsumexp) compute it: the maxima are removed from the sum and counted,
 * which changes the rounding from model_logsumexp's. */
static double logsumexp_log1p(const double *a, size_t n, double *scratch)
{
        double max = a[0];
        for (size_t i = 1; i < n; i++)
                if (a[i] > max)
                        max = a[i];
        double m = 0.0;
        double shift = isfinite(max) ? max : 0.0;
        for (size_t i = 0; i < n; i++) {
                if (a[i] == max) {
                        m += 1.0;
                        scratch[i] = 0.0; /* exp(-inf) */
                } else {
                        scratch[i] = exp(a[i] - shift);
                }
        }
        double s = model_np_sum(scratch, n);
        if (s != 0.0)
                s = s / m;
        return log1p(s) + log(m) + max;
}

static int nb_classify(const struct model *m, const double *X, size_t rows,
                       size_t *class_idx, double *proba, struct model_error *err)
{
        const struct nb *nb = (const struct nb *)m;
        size_t nf = m->n_features, nc = m->n_classes;
        double *jll = malloc(nc * sizeof(double));
        double *scratch = malloc(nc * sizeof(double));
        double *tmp = malloc(nf * sizeof(double));
        if (!jll || !scratch || !tmp) {
                free(jll);
                free(scratch);
                free(tmp);
                model_set_error(err, "out of memory");
                return -ENOMEM;
        }
        for (size_t r = 0; r < rows; r++) {
                nb_jll_row(nb, X + r * nf, jll, tmp);
                class_idx[r] = model_np_argmax(jll, nc);
                if (!proba)
                        continue;
                double lse = nb->lse == MODEL_NB_LSE_LOG1P
                                     ? logsumexp_log1p(jll, nc, scratch)
                                     : model_logsumexp(jll, nc, scratch);
                for (size_t c = 0; c < nc; c++)
                        proba[r * nc + c] = exp(jll[c] - lse);
        }
        free(jll);
        free(scratch);
        free(tmp);
        return 0;
}

static void nb_describe(const struct model *m, char *buf, size_t len)
{
        const struct nb *nb = (const struct nb *)m;
        if (nb->kind == NB_BERNOULLI && nb->binarize)
                snprintf(buf, len, "%s[%zu classes, binarize > %g]", m->ops->name,
                         m->n_classes, nb->threshold);
        else
                snprintf(buf, len, "%s[%zu classes]", m->ops->name, m->n_classes);
}

static void nb_destroy(struct model *m)
{
        struct nb *nb = (struct nb *)m;
        if (!nb)
                return;
        model_base_release(m);
        free(nb->theta);
        free(nb->var);
        free(nb->w);
        free(nb->log_prior);
        free(nb->norm);
        free(nb->bias);
        free(nb);
}

static const struct model_ops gaussian_nb_ops = {
        .name = "GaussianNB",
        .classify = nb_classify,
        .describe = nb_describe,
        .destroy = nb_destroy,
};

static const struct model_ops multinomial_nb_ops = {
        .name = "MultinomialNB",
        .classify = nb_classify,
        .describe = nb_describe,
        .destroy = nb_destroy,
};

static const struct model_ops bernoulli_nb_ops = {
        .name = "BernoulliNB",
        .classify = nb_classify,
        .describe = nb_describe,
        .destroy = nb_destroy,
};

/* The shared part: checks sizes, allocates the per-class arrays, fills
 * the header. */
static int nb_alloc(const struct model_ops *ops, enum nb_kind kind,
                    size_t n_features, enum model_nb_lse lse,
                    const struct model_label *classes, size_t n_classes,
                    struct nb **out, struct model_error *err)
{
        if (n_features == 0 || n_classes == 0 ||
            n_classes > SIZE_MAX / sizeof(double) / n_features) {
                model_set_error(err, "%s: expected at least 1 class and 1 feature, "
                                "found %zu x %zu", ops->name, n_classes, n_features);
                return -EINVAL;
        }
        if ((unsigned)lse > MODEL_NB_LSE_LOG1P) {
                model_set_error(err, "%s: unknown logsumexp rule %d", ops->name, (int)lse);
                return -EINVAL;
        }
        size_t cells = n_classes * n_features;
        struct nb *nb = calloc(1, sizeof(*nb));
        if (!nb)
                goto nomem;
        nb->kind = kind;
        nb->lse = lse;
        nb->base.ops = ops;
        if (kind == NB_GAUSSIAN) {
                nb->theta = malloc(cells * sizeof(double));
                nb->var = malloc(cells * sizeof(double));
                nb->log_prior = malloc(n_classes * sizeof(double));
                nb->norm = malloc(n_classes * sizeof(double));
                if (!nb->theta || !nb->var || !nb->log_prior || !nb->norm)
                        goto nomem;
        } else {
                nb->w = malloc(cells * sizeof(double));
                nb->bias = malloc(n_classes * sizeof(double));
                if (!nb->w || !nb->bias)
                        goto nomem;
        }
        int rc = model_base_init(&nb->base, ops, MODEL_TYPE_CLASSIFIER, n_features,
                                 classes, n_classes, err);
        if (rc < 0) {
                nb_destroy(&nb->base);
                return rc;
        }
        nb->base.has_proba = true;
        *out = nb;
        return 0;
nomem:
        nb_destroy(nb ? &nb->base : NULL);
        model_set_error(err, "%s: out of memory", ops->name);
        return -ENOMEM;
}

int model_gaussian_nb_create(size_t n_features, const double *theta,
                             const double *var, const double *prior,
                             enum model_nb_lse lse,
                             const struct model_label *classes,
                             size_t n_classes, struct model **out,
                             struct model_error *err)
{
        struct nb *nb = NULL;
        int rc = nb_alloc(&gaussian_nb_ops, NB_GAUSSIAN, n_features, lse, classes,
                          n_classes, &nb, err);
        if (rc < 0)
                return rc;
        size_t nf = n_features;
        double *tmp = malloc(nf * sizeof(double));
        if (!tmp) {
                nb_destroy(&nb->base);
                model_set_error(err, "GaussianNB: out of memory");
                return -ENOMEM;
        }
        memcpy(nb->theta, theta, n_classes * nf * sizeof(double));
        memcpy(nb->var, var, n_classes * nf * sizeof(double));
        /* np.log(class_prior_[i]) and -0.5 * np.sum(np.log(2.0 * np.pi *
         * var_[i, :])), where 2.0 * np.pi is one Python float */
        const double two_pi = 2.0 * M_PI;
        for (size_t c = 0; c < n_classes; c++) {
                nb->log_prior[c] = log(prior[c]);
                for (size_t j = 0; j < nf; j++)
                        tmp[j] = log(two_pi * var[c * nf + j]);
                nb->norm[c] = -0.5 * model_np_sum(tmp, nf);
        }
        free(tmp);
        *out = &nb->base;
        return 0;
}

int model_discrete_nb_create(const char *name, size_t n_features,
                             const double *feature_log_prob,
                             const double *class_log_prior,
                             const double *binarize, enum model_nb_lse lse,
                             const struct model_label *classes,
                             size_t n_classes, struct model **out,
                             struct model_error *err)
{
        bool bernoulli = strcmp(name, "BernoulliNB") == 0;
        if (!bernoulli && strcmp(name, "MultinomialNB") != 0) {
                model_set_error(err, "discrete naive Bayes: expected MultinomialNB or "
                                "BernoulliNB, found '%.60s'", name);
                return -EINVAL;
        }
        struct nb *nb = NULL;
        int rc = nb_alloc(bernoulli ? &bernoulli_nb_ops : &multinomial_nb_ops,
                          bernoulli ? NB_BERNOULLI : NB_MULTINOMIAL, n_features, lse,
                          classes, n_classes, &nb, err);
        if (rc < 0)
                return rc;
        size_t nf = n_features;
        if (!bernoulli) {
                memcpy(nb->w, feature_log_prob, n_classes * nf * sizeof(double));
                memcpy(nb->bias, class_log_prior, n_classes * sizeof(double));
                *out = &nb->base;
                return 0;
        }
        double *neg = malloc(nf * sizeof(double));
        if (!neg) {
                nb_destroy(&nb->base);
                model_set_error(err, "BernoulliNB: out of memory");
                return -ENOMEM;
        }
        for (size_t c = 0; c < n_classes; c++) {
                const double *flp = feature_log_prob + c * nf;
                /* neg_prob = np.log(1 - np.exp(flp)); X @ (flp - neg).T;
                 * then + (class_log_prior_ + neg_prob.sum(axis=1)) */
                for (size_t j = 0; j < nf; j++) {
                        neg[j] = log(1.0 - exp(flp[j]));
                        nb->w[c * nf + j] = flp[j] - neg[j];
                }
                nb->bias[c] = class_log_prior[c] + model_np_sum(neg, nf);
        }
        free(neg);
        if (binarize) {
                nb->binarize = true;
                nb->threshold = *binarize;
        }
        *out = &nb->base;
        return 0;
}

/* --- multi-layer perceptrons ----------------------------------------------- */

struct mlp {
        struct model base;
        size_t n_mats;
        size_t widths[MODEL_MLP_MAX_LAYERS + 1];
        size_t max_stride;
        /* layer l's W is widths[l] rows of stride[l] doubles: its
         * widths[l + 1] columns, then zeros up to a whole tile */
        size_t stride[MODEL_MLP_MAX_LAYERS];
        double *coefs[MODEL_MLP_MAX_LAYERS];
        double *intercepts[MODEL_MLP_MAX_LAYERS];
        enum model_mlp_act hidden, output;
};

static const char *const act_names[] = {
        [MODEL_MLP_IDENTITY] = "identity", [MODEL_MLP_LOGISTIC] = "logistic",
        [MODEL_MLP_TANH] = "tanh",         [MODEL_MLP_RELU] = "relu",
        [MODEL_MLP_SOFTMAX] = "softmax",   [MODEL_MLP_EXP] = "exp",
};

/* np.maximum(a, 0) in place, which keeps NaN (and -0.0): a select, not a
 * branch, for the signs of a layer's sums make a branch a coin toss
 * (mispredicted, it cost the 100-unit network two thirds of its time). */
static void mlp_relu(double *a, size_t n)
{
        size_t i = 0;
        for (; i + 2 <= n; i += 2) {
                vec2d v = vec2d_load(a + i);
                vec2i neg = v < 0.0;
                vec2d_store(a + i, (vec2d)((vec2i)v & ~neg));
        }
        for (; i < n; i++)
                a[i] = a[i] < 0.0 ? 0.0 : a[i];
}

/* ACTIVATIONS[...] of scikit-learn, in place on one row. */
static void mlp_activate(enum model_mlp_act act, double *a, size_t n)
{
        switch (act) {
        case MODEL_MLP_IDENTITY:
                break;
        case MODEL_MLP_LOGISTIC:
                for (size_t i = 0; i < n; i++)
                        a[i] = model_expit(a[i]);
                break;
        case MODEL_MLP_TANH:
                for (size_t i = 0; i < n; i++)
                        a[i] = tanh(a[i]);
                break;
        case MODEL_MLP_RELU:
                mlp_relu(a, n);
                break;
        case MODEL_MLP_SOFTMAX:
                model_softmax_row(a, n);
                break;
        case MODEL_MLP_EXP:
                for (size_t i = 0; i < n; i++)
                        a[i] = exp(a[i]);
                break;
        }
}

/* _forward_pass_fast, MLP_ROWS rows at a time: a @ W in input order,
 * then += b, then the activation. Each output's sum runs over the inputs
 * in order from 0.0, as the reference BLAS's dgemm adds them, and no sum
 * is reordered: the tiles only decide which sums run side by side, in
 * registers (eight two-double accumulators: two rows of an 8-output tile,
 * or four rows of a 4-output tile for the narrow layers, whose few long
 * sums would otherwise wait on each other). */
#define MLP_ROWS 4
#define MLP_WIDE 8
#define MLP_NARROW 4

/* The tile a layer of no outputs is computed in. */
static size_t mlp_tile(size_t no)
{
        return no <= MLP_NARROW ? MLP_NARROW : MLP_WIDE;
}

/* out[r][j] = sum over k < ni of in[r][k] * W[k][j], for two rows and the
 * 8-output tile at column j (W rows of st doubles). */
static void mlp_wide2(const double *x, const double *y, size_t ni, const double *W, size_t st,
                      size_t j, double *ox, double *oy)
{
        vec2d a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
        vec2d b0 = { 0 }, b1 = { 0 }, b2 = { 0 }, b3 = { 0 };
        for (size_t k = 0; k < ni; k++) {
                const double *w = W + k * st + j;
                vec2d w0 = vec2d_load(w), w1 = vec2d_load(w + 2);
                vec2d w2 = vec2d_load(w + 4), w3 = vec2d_load(w + 6);
                vec2d xk = vec2d_splat(x[k]), yk = vec2d_splat(y[k]);
                a0 += xk * w0;
                a1 += xk * w1;
                a2 += xk * w2;
                a3 += xk * w3;
                b0 += yk * w0;
                b1 += yk * w1;
                b2 += yk * w2;
                b3 += yk * w3;
        }
        vec2d_store4(ox + j, a0, a1, a2, a3);
        vec2d_store4(oy + j, b0, b1, b2, b3);
}

/* The same for one row and the 8-output tile at column j. */
static void mlp_wide1(const double *x, size_t ni, const double *W, size_t st, size_t j,
                      double *ox)
{
        vec2d a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
        for (size_t k = 0; k < ni; k++) {
                const double *w = W + k * st + j;
                vec2d xk = vec2d_splat(x[k]);
                a0 += xk * vec2d_load(w);
                a1 += xk * vec2d_load(w + 2);
                a2 += xk * vec2d_load(w + 4);
                a3 += xk * vec2d_load(w + 6);
        }
        vec2d_store4(ox + j, a0, a1, a2, a3);
}

/* The same for four rows and the 4-output tile of a narrow layer. */
static void mlp_narrow4(const double *const in[MLP_ROWS], size_t ni, const double *W, size_t st,
                        double *const out[MLP_ROWS])
{
        _Static_assert(MLP_ROWS == 4 && MLP_NARROW == 4, "mlp_narrow4: 4 rows x 4 outputs");
        vec2d a0 = { 0 }, a1 = { 0 }, b0 = { 0 }, b1 = { 0 };
        vec2d c0 = { 0 }, c1 = { 0 }, d0 = { 0 }, d1 = { 0 };
        for (size_t k = 0; k < ni; k++) {
                const double *w = W + k * st;
                vec2d w0 = vec2d_load(w), w1 = vec2d_load(w + 2);
                vec2d x0 = vec2d_splat(in[0][k]), x1 = vec2d_splat(in[1][k]);
                vec2d x2 = vec2d_splat(in[2][k]), x3 = vec2d_splat(in[3][k]);
                a0 += x0 * w0;
                a1 += x0 * w1;
                b0 += x1 * w0;
                b1 += x1 * w1;
                c0 += x2 * w0;
                c1 += x2 * w1;
                d0 += x3 * w0;
                d1 += x3 * w1;
        }
        vec2d_store(out[0], a0);
        vec2d_store(out[0] + 2, a1);
        vec2d_store(out[1], b0);
        vec2d_store(out[1] + 2, b1);
        vec2d_store(out[2], c0);
        vec2d_store(out[2] + 2, c1);
        vec2d_store(out[3], d0);
        vec2d_store(out[3] + 2, d1);
}

#if VEC_HAVE_AVX2
/* mlp_wide2's sums for four rows at once, in four-double lanes (AVX2):
 * eight accumulators, two per row, each output's sum in input order. */
VEC_AVX2 static void mlp_wide4_avx2(const double *const in[MLP_ROWS], size_t ni,
                                    const double *W, size_t st, size_t j,
                                    double *const out[MLP_ROWS])
{
        _Static_assert(MLP_ROWS == 4 && MLP_WIDE == 8, "mlp_wide4_avx2: 4 rows x 8 outputs");
        vec4d a0 = { 0 }, a1 = { 0 }, b0 = { 0 }, b1 = { 0 };
        vec4d c0 = { 0 }, c1 = { 0 }, d0 = { 0 }, d1 = { 0 };
        for (size_t k = 0; k < ni; k++) {
                const vec4d *w = (const vec4d *)(W + k * st + j);
                vec4d w0 = w[0], w1 = w[1];
                double x0 = in[0][k], x1 = in[1][k], x2 = in[2][k], x3 = in[3][k];
                vec4d v0 = { x0, x0, x0, x0 }, v1 = { x1, x1, x1, x1 };
                vec4d v2 = { x2, x2, x2, x2 }, v3 = { x3, x3, x3, x3 };
                a0 += v0 * w0;
                a1 += v0 * w1;
                b0 += v1 * w0;
                b1 += v1 * w1;
                c0 += v2 * w0;
                c1 += v2 * w1;
                d0 += v3 * w0;
                d1 += v3 * w1;
        }
        vec4d *o0 = (vec4d *)(out[0] + j), *o1 = (vec4d *)(out[1] + j);
        vec4d *o2 = (vec4d *)(out[2] + j), *o3 = (vec4d *)(out[3] + j);
        o0[0] = a0;
        o0[1] = a1;
        o1[0] = b0;
        o1[1] = b1;
        o2[0] = c0;
        o2[1] = c1;
        o3[0] = d0;
        o3[1] = d1;
}

/* mlp_narrow4's sums in four-double lanes (AVX2): one accumulator per row. */
VEC_AVX2 static void mlp_narrow4_avx2(const double *const in[MLP_ROWS], size_t ni,
                                      const double *W, size_t st, double *const out[MLP_ROWS])
{
        vec4d a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
        for (size_t k = 0; k < ni; k++) {
                vec4d w = *(const vec4d *)(W + k * st);
                double x0 = in[0][k], x1 = in[1][k], x2 = in[2][k], x3 = in[3][k];
                a += (vec4d){ x0, x0, x0, x0 } * w;
                b += (vec4d){ x1, x1, x1, x1 } * w;
                c += (vec4d){ x2, x2, x2, x2 } * w;
                d += (vec4d){ x3, x3, x3, x3 } * w;
        }
        *(vec4d *)out[0] = a;
        *(vec4d *)out[1] = b;
        *(vec4d *)out[2] = c;
        *(vec4d *)out[3] = d;
}
#endif

/* One layer's sums, in[r] @ W into out[r] for the n rows (and, for the
 * four-row tiles, the repeats after them). */
static void mlp_layer(const double *const in[MLP_ROWS], size_t n, size_t ni, size_t no,
                      const double *W, size_t st, double *const out[MLP_ROWS])
{
#if VEC_HAVE_AVX2
        if (vec_avx2()) {
                if (mlp_tile(no) == MLP_NARROW)
                        mlp_narrow4_avx2(in, ni, W, st, out);
                else if (n > 1)
                        for (size_t j = 0; j < st; j += MLP_WIDE)
                                mlp_wide4_avx2(in, ni, W, st, j, out);
                else
                        for (size_t j = 0; j < st; j += MLP_WIDE)
                                mlp_wide1(in[0], ni, W, st, j, out[0]);
                return;
        }
#endif
        if (mlp_tile(no) == MLP_NARROW) {
                mlp_narrow4(in, ni, W, st, out);
                return;
        }
        for (size_t r = 0; r < n; r += 2)
                for (size_t j = 0; j < st; j += MLP_WIDE) {
                        if (r + 1 < n)
                                mlp_wide2(in[r], in[r + 1], ni, W, st, j, out[r], out[r + 1]);
                        else
                                mlp_wide1(in[r], ni, W, st, j, out[r]);
                }
}

/* The network on the n <= MLP_ROWS rows x[r] (x[n..] repeat the last,
 * for the narrow tile always takes four). buf holds 2 x MLP_ROWS x max_stride
 * doubles; y[r] receives row r's output (inside buf). */
static void mlp_forward_rows(const struct mlp *p, const double *const x[MLP_ROWS], size_t n,
                             double *buf, const double *y[MLP_ROWS])
{
        const double *in[MLP_ROWS];
        double *out[MLP_ROWS];
        for (size_t r = 0; r < MLP_ROWS; r++)
                in[r] = x[r];
        for (size_t l = 0; l < p->n_mats; l++) {
                size_t ni = p->widths[l], no = p->widths[l + 1], st = p->stride[l];
                const double *W = p->coefs[l], *b = p->intercepts[l];
                double *half = buf + (l % 2) * MLP_ROWS * p->max_stride;
                for (size_t r = 0; r < MLP_ROWS; r++)
                        out[r] = half + r * p->max_stride;
                mlp_layer((const double *const *)in, n, ni, no, W, st, out);
                for (size_t r = 0; r < n; r++) {
                        for (size_t j = 0; j < no; j++)
                                out[r][j] += b[j];
                        mlp_activate(l + 1 < p->n_mats ? p->hidden : p->output, out[r], no);
                        in[r] = out[r];
                }
                /* the rows a short group lacks read the last real one */
                for (size_t r = n; r < MLP_ROWS; r++)
                        in[r] = in[n - 1];
        }
        for (size_t r = 0; r < n; r++)
                y[r] = in[r];
}

static double *mlp_buffer(const struct mlp *p, struct model_error *err)
{
        double *buf = malloc(2 * MLP_ROWS * p->max_stride * sizeof(double));
        if (!buf)
                model_set_error(err, "out of memory");
        return buf;
}

/* Runs the network over every group of MLP_ROWS rows of X and calls
 * done(r, row r's output) for each real row. */
typedef void (*mlp_done_fn)(const struct mlp *p, size_t r, const double *y, void *ctx);

static int mlp_for_rows(const struct mlp *p, const double *X, size_t rows, mlp_done_fn done,
                        void *ctx, struct model_error *err)
{
        size_t nf = p->base.n_features;
        double *buf = mlp_buffer(p, err);
        if (!buf)
                return -ENOMEM;
        for (size_t r0 = 0; r0 < rows; r0 += MLP_ROWS) {
                const double *x[MLP_ROWS], *y[MLP_ROWS];
                size_t n = rows - r0 < MLP_ROWS ? rows - r0 : MLP_ROWS;
                for (size_t r = 0; r < MLP_ROWS; r++)
                        x[r] = X + (r0 + (r < n ? r : n - 1)) * nf;
                mlp_forward_rows(p, x, n, buf, y);
                for (size_t r = 0; r < n; r++)
                        done(p, r0 + r, y[r], ctx);
        }
        free(buf);
        return 0;
}

static void mlp_classified(const struct mlp *p, size_t r, const double *y, void *ctx)
{
        struct model_classify_out *c = ctx;
        size_t nc = p->base.n_classes, no = p->widths[p->n_mats];
        if (no == 1) {
                /* LabelBinarizer.inverse_transform: y > 0.5 */
                c->class_idx[r] = y[0] > 0.5 ? 1 : 0;
                if (c->proba) {
                        c->proba[r * nc] = 1.0 - y[0];
                        c->proba[r * nc + 1] = y[0];
                }
        } else {
                c->class_idx[r] = model_np_argmax(y, no);
                if (c->proba)
                        memcpy(c->proba + r * nc, y, nc * sizeof(double));
        }
}

static void mlp_regressed(const struct mlp *p, size_t r, const double *y, void *ctx)
{
        size_t no = p->widths[p->n_mats];
        memcpy((double *)ctx + r * no, y, no * sizeof(double));
}

static int mlp_classify(const struct model *m, const double *X, size_t rows,
                        size_t *class_idx, double *proba, struct model_error *err)
{
        struct model_classify_out c = { class_idx, proba };
        return mlp_for_rows((const struct mlp *)m, X, rows, mlp_classified, &c, err);
}

static int mlp_regress(const struct model *m, const double *X, size_t rows,
                       double *out, struct model_error *err)
{
        return mlp_for_rows((const struct mlp *)m, X, rows, mlp_regressed, out, err);
}

static void mlp_describe(const struct model *m, char *buf, size_t len)
{
        const struct mlp *p = (const struct mlp *)m;
        char sizes[96] = "";
        size_t used = 0;
        for (size_t l = 1; l < p->n_mats && used < sizeof(sizes); l++) {
                int n = snprintf(sizes + used, sizeof(sizes) - used, "%s%zu",
                                 l > 1 ? "," : "", p->widths[l]);
                if (n < 0)
                        break;
                used += (size_t)n;
        }
        snprintf(buf, len, "%s[hidden (%s) %s, out %s]", m->ops->name, sizes,
                 act_names[p->hidden], act_names[p->output]);
}

static void mlp_destroy(struct model *m)
{
        struct mlp *p = (struct mlp *)m;
        if (!p)
                return;
        model_base_release(m);
        for (size_t l = 0; l < MODEL_MLP_MAX_LAYERS; l++) {
                free(p->coefs[l]);
                free(p->intercepts[l]);
        }
        free(p);
}

static const struct model_ops mlp_classifier_ops = {
        .name = "MLPClassifier",
        .classify = mlp_classify,
        .describe = mlp_describe,
        .destroy = mlp_destroy,
};

static const struct model_ops mlp_regressor_ops = {
        .name = "MLPRegressor",
        .regress = mlp_regress,
        .describe = mlp_describe,
        .destroy = mlp_destroy,
};

/* The shape rules of the networks scikit-learn fits; a message when
 * broken, NULL when fine. */
static const char *mlp_check(size_t n_mats, const size_t *widths,
                             enum model_mlp_act hidden, enum model_mlp_act output,
                             bool classifier, size_t n_classes)
{
        if (n_mats == 0 || n_mats > MODEL_MLP_MAX_LAYERS)
                return "expected 1 to 64 weight matrices";
        for (size_t l = 0; l <= n_mats; l++)
                if (widths[l] == 0 || widths[l] > MODEL_MLP_MAX_WIDTH)
                        return "expected layers of 1 to 65536 units";
        if ((unsigned)hidden > MODEL_MLP_RELU)
                return "expected a hidden activation of identity, logistic, tanh or relu";
        if ((unsigned)output > MODEL_MLP_EXP)
                return "unknown output activation";
        if (!classifier)
                return output == MODEL_MLP_IDENTITY || output == MODEL_MLP_EXP
                               ? NULL
                               : "expected a regressor's output activation identity or exp";
        if (n_classes == 2 && widths[n_mats] == 1)
                return output == MODEL_MLP_LOGISTIC
                               ? NULL
                               : "expected a binary classifier's one output unit to be logistic";
        if (n_classes > 2 && widths[n_mats] == n_classes)
                return output == MODEL_MLP_SOFTMAX
                               ? NULL
                               : "expected a multiclass classifier's outputs to be softmax";
        return "expected one output unit for 2 classes or one per class";
}

int model_mlp_create(size_t n_mats, const size_t *widths,
                     const double *const *coefs,
                     const double *const *intercepts,
                     enum model_mlp_act hidden, enum model_mlp_act output,
                     const struct model_label *classes, size_t n_classes,
                     struct model **out, struct model_error *err)
{
        bool classifier = classes != NULL;
        const struct model_ops *ops = classifier ? &mlp_classifier_ops : &mlp_regressor_ops;
        const char *why = mlp_check(n_mats, widths, hidden, output, classifier, n_classes);
        if (why) {
                bool known = (unsigned)hidden <= MODEL_MLP_EXP && (unsigned)output <= MODEL_MLP_EXP;
                model_set_error(err, "%s: %s; found hidden %s, output %s, %zu output units "
                                "for %zu classes", ops->name, why,
                                known ? act_names[hidden] : "?", known ? act_names[output] : "?",
                                n_mats >= 1 && n_mats <= MODEL_MLP_MAX_LAYERS ? widths[n_mats] : 0,
                                n_classes);
                return -EINVAL;
        }
        struct mlp *p = calloc(1, sizeof(*p));
        if (!p)
                goto nomem;
        p->n_mats = n_mats;
        p->hidden = hidden;
        p->output = output;
        for (size_t l = 0; l <= n_mats; l++)
                p->widths[l] = widths[l];
        for (size_t l = 0; l < n_mats; l++) {
                size_t ni = widths[l], no = widths[l + 1], tile = mlp_tile(no);
                size_t st = (no + tile - 1) / tile * tile;
                p->stride[l] = st;
                if (st > p->max_stride)
                        p->max_stride = st;
                /* ni x st <= 2^16 x (2^16 + 8) by the limits */
                p->coefs[l] = calloc(ni * st, sizeof(double));
                p->intercepts[l] = malloc(no * sizeof(double));
                if (!p->coefs[l] || !p->intercepts[l])
                        goto nomem;
                for (size_t k = 0; k < ni; k++)
                        memcpy(p->coefs[l] + k * st, coefs[l] + k * no, no * sizeof(double));
                memcpy(p->intercepts[l], intercepts[l], no * sizeof(double));
        }
        int rc = model_base_init(&p->base, ops,
                                 classifier ? MODEL_TYPE_CLASSIFIER : MODEL_TYPE_REGRESSOR,
                                 widths[0], classes, classifier ? n_classes : 0, err);
        if (rc < 0) {
                mlp_destroy(&p->base);
                return rc;
        }
        p->base.has_proba = classifier;
        if (!classifier)
                p->base.n_outputs = widths[n_mats];
        *out = &p->base;
        return 0;
nomem:
        mlp_destroy(p ? &p->base : NULL);
        model_set_error(err, "%s: out of memory", ops->name);
        return -ENOMEM;
}
