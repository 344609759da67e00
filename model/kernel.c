/* kernel.c - the kernel family: SVMs and nearest neighbours.
 *
 * SVMs: the decision values, votes and probabilities that scikit-learn's
 * bundled libsvm computes for SVC, NuSVC, SVR, NuSVR and OneClassSVM,
 * from the support vectors and coefficients it stores.
 *
 * The arithmetic follows libsvm's order (kernel values first, then per
 * class pair the sum over the first class's support vectors followed by
 * the second's, then minus rho) so that results round as scikit-learn's
 * do; scikit-learn's own sign flips and its one-vs-rest reshaping of
 * one-vs-one values are applied on top exactly as svm/_base.py does.
 *
 * Nearest neighbours: KNeighborsClassifier and KNeighborsRegressor by
 * brute force over the training rows (see struct knn for ties). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knn_tree.h"
#include "model_internal.h"
#include "vec.h"

/* --- samples in lanes ------------------------------------------------- */

/* Support vectors and training samples are kept in lanes of LANES
 * (sample i's feature j at lanes[((i / LANES) * nf + j) * LANES + i % LANES])
 * so that one pass over the features gives LANES values, each still
 * summed in feature order from 0.0 as the scalar loop sums it. */
#define LANES 8

enum lane_op {
        LANE_DOT,    /* sum x[j] * v[j] */
        LANE_SQDIST, /* sum (x[j] - v[j])^2 */
        LANE_L1DIST, /* sum |x[j] - v[j]| */
};

/* sum |x| (p = 1) or x^2 (p = 2), in feature order. */
static double knn_norm(const double *x, size_t nf, int p)
{
        double s = 0.0;
        for (size_t j = 0; j < nf; j++)
                s += p == 1 ? fabs(x[j]) : x[j] * x[j];
        return s;
}

/* The n rows of nf features in lanes, from slab (model_slab_alloc; NULL:
 * malloc); the last block's unused lanes hold zeros, computed but never
 * read. With max_norm non-NULL, also *max_norm = the largest knn_norm(row,
 * nf, p) (0 at least), each taken while its row is in cache. */
static double *lanes_copy(const double *rows, size_t n, size_t nf, struct model_slab *slab,
                          int p, double *max_norm)
{
        size_t blocks = (n + LANES - 1) / LANES;
        double *lanes = model_slab_alloc(slab, (blocks ? blocks * nf * LANES : 1) *
                                                       sizeof(double));
        if (!lanes)
                return NULL;
        if (blocks)
                memset(lanes + (blocks - 1) * nf * LANES, 0, nf * LANES * sizeof(double));
        double top = 0.0;
        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < nf; j++)
                        lanes[((i / LANES) * nf + j) * LANES + i % LANES] = rows[i * nf + j];
                if (max_norm) {
                        double s = knn_norm(rows + i * nf, nf, p);
                        top = s > top ? s : top;
                }
        }
        if (max_norm)
                *max_norm = top;
        return lanes;
}

/* out[l] = op over x and the samples of lane block b. Four pairs, in four
 * named variables so they stay in registers. */
static void lanes_eval(const double *lanes, size_t nf, size_t b, const double *x,
                       enum lane_op op, double out[LANES])
{
        _Static_assert(LANES == 8, "lanes_eval adds four pairs");
        const double *f = lanes + b * nf * LANES;
        vec2d a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
        switch (op) {
        case LANE_DOT:
                for (size_t j = 0; j < nf; j++, f += LANES) {
                        vec2d xj = vec2d_splat(x[j]);
                        a0 += xj * vec2d_load(f);
                        a1 += xj * vec2d_load(f + 2);
                        a2 += xj * vec2d_load(f + 4);
                        a3 += xj * vec2d_load(f + 6);
                }
                break;
        case LANE_SQDIST:
                for (size_t j = 0; j < nf; j++, f += LANES) {
                        vec2d xj = vec2d_splat(x[j]);
                        vec2d d0 = xj - vec2d_load(f), d1 = xj - vec2d_load(f + 2);
                        vec2d d2 = xj - vec2d_load(f + 4), d3 = xj - vec2d_load(f + 6);
                        a0 += d0 * d0;
                        a1 += d1 * d1;
                        a2 += d2 * d2;
                        a3 += d3 * d3;
                }
                break;
        case LANE_L1DIST:
                for (size_t j = 0; j < nf; j++, f += LANES) {
                        vec2d xj = vec2d_splat(x[j]);
                        a0 += vec2d_abs(xj - vec2d_load(f));
                        a1 += vec2d_abs(xj - vec2d_load(f + 2));
                        a2 += vec2d_abs(xj - vec2d_load(f + 4));
                        a3 += vec2d_abs(xj - vec2d_load(f + 6));
                }
                break;
        }
        vec2d_store4(out, a0, a1, a2, a3);
}

/* More classes than this would make the class-pair tables (n^2) the
 * largest thing in the model; libsvm itself is impractical long before. */
#define SVM_MAX_CLASSES 512

struct svm {
        struct model base;
        struct model_ops ops;
        char name[48];
        enum model_svm_kind kind;
        enum model_svm_kernel kernel;
        double gamma, coef0;
        int degree;
        size_t n_sv;
        size_t n_pairs;     /* SVC: n_classes (n_classes - 1) / 2, else 1 */
        size_t n_coef_rows; /* rows of dual_coef */
        double *sv;         /* n_sv support vectors in lanes (lanes_copy) */
        double *dual_coef;  /* n_coef_rows x n_sv */
        double *intercept;  /* n_pairs */
        size_t *start;      /* SVC: first support vector of each class */
        size_t *count;      /* SVC: support vectors of each class */
        double *prob_a, *prob_b; /* n_pairs, or NULL */
        double offset;      /* one-class: offset_ for score_samples */
        bool ovr, break_ties;
};

/* libsvm's powi: exponentiation by squaring, with its rounding. */
static double svm_powi(double base, int times)
{
        double tmp = base, ret = 1.0;
        for (int t = times; t > 0; t /= 2) {
                if (t % 2 == 1)
                        ret *= tmp;
                tmp = tmp * tmp;
        }
        return ret;
}

/* Rows whose kernel values and decision values are computed together: the
 * sums over support vectors of different rows are independent, so four of
 * them (two to a register) run side by side, each in libsvm's order. */
#define SVM_ROWS 4

/* The kernel value from the lane sum raw (dot product, or squared
 * distance for rbf), as libsvm's Kernel::k_function computes it. */
static double svm_kernel_of(const struct svm *s, double raw)
{
        switch (s->kernel) {
        case MODEL_SVM_LINEAR:
                return raw;
        case MODEL_SVM_POLY:
                return svm_powi(s->gamma * raw + s->coef0, s->degree);
        case MODEL_SVM_RBF:
                return exp(-s->gamma * raw);
        case MODEL_SVM_SIGMOID:
        default:
                return tanh(s->gamma * raw + s->coef0);
        }
}

/* sum over k in [k0, k1) of c[k] * kv[k] for the SVM_ROWS rows, into
 * acc (kv is row-interleaved: kv[k * SVM_ROWS + r]). */
static void svm_coef_sums(const double *c, const double *kv, size_t k0, size_t k1,
                          vec2d *a01, vec2d *a23)
{
        _Static_assert(SVM_ROWS == 4, "svm_coef_sums: two pairs of rows");
        vec2d s01 = *a01, s23 = *a23;
        for (size_t k = k0; k < k1; k++) {
                vec2d ck = vec2d_splat(c[k]);
                s01 += ck * vec2d_load(kv + k * SVM_ROWS);
                s23 += ck * vec2d_load(kv + k * SVM_ROWS + 2);
        }
        *a01 = s01;
        *a23 = s23;
}

/* libsvm's svm_predict_values for the n <= SVM_ROWS rows x[r]:
 * dec[r * n_pairs ..] (SVC) or dec[r * n_pairs] (SVR, one-class), unsigned
 * as libsvm has them. kv holds n_sv x SVM_ROWS (the lanes of rows past n
 * keep what they held, and their sums are not used). */
static void svm_libsvm_values(const struct svm *s, const double *const x[SVM_ROWS], size_t n,
                              double *kv, double *dec)
{
        size_t nf = s->base.n_features, np = s->n_pairs;
        enum lane_op op = s->kernel == MODEL_SVM_RBF ? LANE_SQDIST : LANE_DOT;
        for (size_t r = 0; r < n; r++)
                for (size_t b = 0; b * LANES < s->n_sv; b++) {
                        double raw[LANES];
                        lanes_eval(s->sv, nf, b, x[r], op, raw);
                        for (size_t l = 0; l < LANES && b * LANES + l < s->n_sv; l++)
                                kv[(b * LANES + l) * SVM_ROWS + r] = svm_kernel_of(s, raw[l]);
                }
        if (s->kind != MODEL_SVM_SVC) {
                vec2d a01 = { 0 }, a23 = { 0 };
                svm_coef_sums(s->dual_coef, kv, 0, s->n_sv, &a01, &a23);
                for (size_t r = 0; r < SVM_ROWS; r++)
                        dec[r * np] = (r < 2 ? a01[r] : a23[r - 2]) + s->intercept[0];
                return;
        }
        size_t nc = s->base.n_classes, p = 0;
        for (size_t i = 0; i < nc; i++) {
                for (size_t j = i + 1; j < nc; j++, p++) {
                        vec2d a01 = { 0 }, a23 = { 0 };
                        svm_coef_sums(s->dual_coef + (j - 1) * s->n_sv, kv, s->start[i],
                                      s->start[i] + s->count[i], &a01, &a23);
                        svm_coef_sums(s->dual_coef + i * s->n_sv, kv, s->start[j],
                                      s->start[j] + s->count[j], &a01, &a23);
                        /* libsvm subtracts rho = -intercept: the same double */
                        for (size_t r = 0; r < SVM_ROWS; r++)
                                dec[r * np + p] = (r < 2 ? a01[r] : a23[r - 2]) +
                                                  s->intercept[p];
                }
        }
}

/* libsvm's one-vs-one vote: the pair's first class wins on dec > 0; the
 * first class with the most votes is the answer. */
static size_t svm_vote(const struct svm *s, const double *dec, size_t *votes)
{
        size_t nc = s->base.n_classes, p = 0, best = 0;
        memset(votes, 0, nc * sizeof(size_t));
        for (size_t i = 0; i < nc; i++)
                for (size_t j = i + 1; j < nc; j++, p++)
                        votes[dec[p] > 0.0 ? i : j]++;
        for (size_t i = 1; i < nc; i++)
                if (votes[i] > votes[best])
                        best = i;
        return best;
}

/* sklearn.utils.multiclass._ovr_decision_function(dec < 0, -dec, nc). */
static void svm_ovr_values(size_t nc, const double *dec, double *out, double *conf)
{
        size_t p = 0;
        for (size_t i = 0; i < nc; i++)
                out[i] = conf[i] = 0.0;
        for (size_t i = 0; i < nc; i++) {
                for (size_t j = i + 1; j < nc; j++, p++) {
                        double c = -dec[p];
                        conf[i] -= c;
                        conf[j] += c;
                        if (dec[p] < 0.0)
                                out[j] += 1.0;
                        else
                                out[i] += 1.0;
                }
        }
        for (size_t i = 0; i < nc; i++)
                out[i] = out[i] + conf[i] / (3.0 * (fabs(conf[i]) + 1.0));
}

/* libsvm's sigmoid_predict, written to avoid cancellation in 1 - p. */
static double svm_platt(double dec, double a, double b)
{
        double f = dec * a + b;
        if (f >= 0.0)
                return exp(-f) / (1.0 + exp(-f));
        return 1.0 / (1.0 + exp(f));
}

/* Pairwise coupling (Wu, Lin and Weng's second method) as libsvm's
 * multiclass_probability runs it, for every k including 2: r is k x k
 * pairwise probabilities, p receives k probabilities. Q is k x k and qp k
 * doubles of scratch. The fixed-point iteration stops when every
 * |Qp_t - pQp| < 0.005 / k, or after max(100, k) rounds. */
static void svm_couple(size_t k, const double *r, double *p, double *Q, double *qp)
{
        size_t max_iter = k > 100 ? k : 100;
        double eps = 0.005 / (double)k;
        for (size_t t = 0; t < k; t++) {
                p[t] = 1.0 / (double)k;
                Q[t * k + t] = 0.0;
                for (size_t j = 0; j < t; j++) {
                        Q[t * k + t] += r[j * k + t] * r[j * k + t];
                        Q[t * k + j] = Q[j * k + t];
                }
                for (size_t j = t + 1; j < k; j++) {
                        Q[t * k + t] += r[j * k + t] * r[j * k + t];
                        Q[t * k + j] = -r[j * k + t] * r[t * k + j];
                }
        }
        for (size_t iter = 0; iter < max_iter; iter++) {
                double pqp = 0.0, max_error = 0.0;
                for (size_t t = 0; t < k; t++) {
                        qp[t] = 0.0;
                        for (size_t j = 0; j < k; j++)
                                qp[t] += Q[t * k + j] * p[j];
                        pqp += p[t] * qp[t];
                }
                for (size_t t = 0; t < k; t++) {
                        double e = fabs(qp[t] - pqp);
                        if (e > max_error)
                                max_error = e;
                }
                if (max_error < eps)
                        break;
                for (size_t t = 0; t < k; t++) {
                        double diff = (-qp[t] + pqp) / Q[t * k + t];
                        p[t] += diff;
                        pqp = (pqp + diff * (diff * Q[t * k + t] + 2.0 * qp[t])) /
                              (1.0 + diff) / (1.0 + diff);
                        for (size_t j = 0; j < k; j++) {
                                qp[j] = (qp[j] + diff * Q[t * k + j]) / (1.0 + diff);
                                p[j] /= (1.0 + diff);
                        }
                }
        }
}

/* libsvm's svm_predict_probability from one row's decision values. */
static void svm_proba_row(const struct svm *s, const double *dec, double *prob,
                          double *r, double *Q, double *qp)
{
        const double min_prob = 1e-7;
        size_t nc = s->base.n_classes, p = 0;
        for (size_t i = 0; i < nc; i++) {
                for (size_t j = i + 1; j < nc; j++, p++) {
                        double v = svm_platt(dec[p], s->prob_a[p], s->prob_b[p]);
                        v = v > min_prob ? v : min_prob;
                        v = v < 1.0 - min_prob ? v : 1.0 - min_prob;
                        r[i * nc + j] = v;
                        r[j * nc + i] = 1.0 - v;
                }
        }
        svm_couple(nc, r, prob, Q, qp);
}

/* Scratch for SVM_ROWS rows of work, sized from the model. */
struct svm_scratch {
        double *kv, *dec, *r, *Q, *qp, *conf, *ovr;
        size_t *votes;
        double *block;
};

static int svm_scratch_get(const struct svm *s, struct svm_scratch *w,
                           struct model_error *err)
{
        size_t nc = s->base.n_classes ? s->base.n_classes : 1;
        size_t n = SVM_ROWS * (s->n_sv + s->n_pairs) + 2 * nc * nc + 3 * nc;
        /* zeroed: the kernel values of rows a short group lacks are read */
        w->block = calloc(n, sizeof(double));
        w->votes = malloc(nc * sizeof(size_t));
        if (!w->block || !w->votes) {
                free(w->block);
                free(w->votes);
                model_set_error(err, "%s: out of memory", s->name);
                return -ENOMEM;
        }
        w->kv = w->block;
        w->dec = w->kv + SVM_ROWS * s->n_sv;
        w->r = w->dec + SVM_ROWS * s->n_pairs;
        w->Q = w->r + nc * nc;
        w->qp = w->Q + nc * nc;
        w->conf = w->qp + nc;
        w->ovr = w->conf + nc;
        return 0;
}

static void svm_scratch_put(struct svm_scratch *w)
{
        free(w->block);
        free(w->votes);
}

/* Runs libsvm's values over every group of SVM_ROWS rows of X and
 * fn(r, row r's dec) for each row. */
typedef void (*svm_row_fn)(const struct svm *s, size_t r, const double *dec,
                           struct svm_scratch *w, void *out);

static int svm_for_rows(const struct svm *s, const double *X, size_t rows, svm_row_fn fn,
                        void *out, struct model_error *err)
{
        size_t nf = s->base.n_features;
        struct svm_scratch w;
        int rc = svm_scratch_get(s, &w, err);
        if (rc < 0)
                return rc;
        for (size_t r0 = 0; r0 < rows; r0 += SVM_ROWS) {
                const double *x[SVM_ROWS];
                size_t n = rows - r0 < SVM_ROWS ? rows - r0 : SVM_ROWS;
                for (size_t r = 0; r < n; r++)
                        x[r] = X + (r0 + r) * nf;
                svm_libsvm_values(s, x, n, w.kv, w.dec);
                for (size_t r = 0; r < n; r++)
                        fn(s, r0 + r, w.dec + r * s->n_pairs, &w, out);
        }
        svm_scratch_put(&w);
        return 0;
}

static void svm_classified(const struct svm *s, size_t r, const double *dec,
                           struct svm_scratch *w, void *out)
{
        struct model_classify_out *c = out;
        size_t nc = s->base.n_classes;
        if (s->break_ties && s->ovr && nc > 2) {
                svm_ovr_values(nc, dec, w->ovr, w->conf);
                c->class_idx[r] = model_np_argmax(w->ovr, nc);
        } else {
                c->class_idx[r] = svm_vote(s, dec, w->votes);
        }
        if (c->proba)
                svm_proba_row(s, dec, c->proba + r * nc, w->r, w->Q, w->qp);
}

static int svm_classify(const struct model *m, const double *X, size_t rows,
                        size_t *class_idx, double *proba, struct model_error *err)
{
        struct model_classify_out c = { class_idx, proba };
        return svm_for_rows((const struct svm *)m, X, rows, svm_classified, &c, err);
}

/* SVC's decision_function: binary values negated (scikit-learn flips the
 * sign so positive means classes_[1]), ovo values as they are, or their
 * ovr reshaping. One-class: libsvm's value. */
static void svm_decided(const struct svm *s, size_t r, const double *dec,
                        struct svm_scratch *w, void *out)
{
        size_t nc = s->base.n_classes;
        double *o = (double *)out + r * s->base.decision_width;
        if (s->kind != MODEL_SVM_SVC)
                o[0] = dec[0];
        else if (nc == 2)
                o[0] = -dec[0];
        else if (s->ovr)
                svm_ovr_values(nc, dec, o, w->conf);
        else
                memcpy(o, dec, s->n_pairs * sizeof(double));
}

static int svm_decision(const struct model *m, const double *X, size_t rows,
                        double *out, struct model_error *err)
{
        return svm_for_rows((const struct svm *)m, X, rows, svm_decided, out, err);
}

/* OneClassSVM's score_samples: decision_function + offset_, the
 * addition scikit-learn makes. */
static int svm_score(const struct model *m, const double *X, size_t rows,
                     double *out, struct model_error *err)
{
        int rc = svm_decision(m, X, rows, out, err);
        if (rc < 0)
                return rc;
        for (size_t r = 0; r < rows; r++)
                out[r] = out[r] + ((const struct svm *)m)->offset;
        return 0;
}

/* SVR: the value; OneClassSVM: libsvm's +1 when the value is > 0. */
static void svm_regressed(const struct svm *s, size_t r, const double *dec,
                          struct svm_scratch *w, void *out)
{
        (void)w;
        ((double *)out)[r] = s->kind == MODEL_SVM_ONE_CLASS ? (dec[0] > 0.0 ? 1.0 : -1.0)
                                                             : dec[0];
}

static int svm_regress(const struct model *m, const double *X, size_t rows,
                       double *out, struct model_error *err)
{
        return svm_for_rows((const struct svm *)m, X, rows, svm_regressed, out, err);
}

static void svm_describe(const struct model *m, char *buf, size_t len)
{
        const struct svm *s = (const struct svm *)m;
        static const char *const kernels[] = {
                [MODEL_SVM_LINEAR] = "linear", [MODEL_SVM_POLY] = "poly",
                [MODEL_SVM_RBF] = "rbf", [MODEL_SVM_SIGMOID] = "sigmoid",
        };
        if (s->kind == MODEL_SVM_SVC)
                snprintf(buf, len, "%s[%s, %zu support vectors, %zu classes%s]", s->name,
                         kernels[s->kernel], s->n_sv, m->n_classes,
                         m->has_proba ? ", proba" : "");
        else
                snprintf(buf, len, "%s[%s, %zu support vectors]", s->name,
                         kernels[s->kernel], s->n_sv);
}

static void svm_destroy(struct model *m)
{
        struct svm *s = (struct svm *)m;
        model_base_release(m);
        free(s->sv);
        free(s->dual_coef);
        free(s->intercept);
        free(s->start);
        free(s->count);
        free(s->prob_a);
        free(s->prob_b);
        free(s);
}

static double *svm_copy(const double *src, size_t n)
{
        double *d = malloc((n ? n : 1) * sizeof(double));
        if (d && n)
                memcpy(d, src, n * sizeof(double));
        return d;
}

/* The shape checks of model_svm_create; 0 or -EINVAL with the reason. */
static int svm_check(const struct model_svm_params *p, size_t n_features,
                     size_t n_classes, struct model_error *err)
{
        const char *name = p->name ? p->name : "SVM";
        if (!p->name || strlen(p->name) >= sizeof(((struct svm *)0)->name)) {
                model_set_error(err, "SVM: class name missing or too long");
                return -EINVAL;
        }
        if ((unsigned)p->kind > MODEL_SVM_ONE_CLASS ||
            (unsigned)p->kernel > MODEL_SVM_SIGMOID) {
                model_set_error(err, "%s: unknown SVM kind %d or kernel %d", name,
                                (int)p->kind, (int)p->kernel);
                return -EINVAL;
        }
        if (p->kernel == MODEL_SVM_POLY &&
            (p->degree < 0 || p->degree > MODEL_SVM_MAX_DEGREE)) {
                model_set_error(err, "%s: expected degree in 0..%d, found %d", name,
                                MODEL_SVM_MAX_DEGREE, p->degree);
                return -EINVAL;
        }
        if (!isfinite(p->gamma) || !isfinite(p->coef0) ||
            (p->offset && !isfinite(*p->offset))) {
                model_set_error(err, "%s: gamma, coef0 and offset must be finite", name);
                return -EINVAL;
        }
        if (n_features == 0 || p->n_sv > SIZE_MAX / sizeof(double) / n_features) {
                model_set_error(err, "%s: expected support vectors of at least 1 feature, "
                                "found %zu x %zu", name, p->n_sv, n_features);
                return -EINVAL;
        }
        if (p->kind == MODEL_SVM_SVC) {
                if (n_classes < 2 || n_classes > SVM_MAX_CLASSES || !p->n_support) {
                        model_set_error(err, "%s: expected 2..%d classes with n_support, "
                                        "found %zu", name, SVM_MAX_CLASSES, n_classes);
                        return -EINVAL;
                }
                size_t total = 0;
                for (size_t i = 0; i < n_classes; i++) {
                        if (p->n_support[i] > p->n_sv - total) {
                                model_set_error(err, "%s: n_support counts more than the "
                                                "%zu support vectors", name, p->n_sv);
                                return -EINVAL;
                        }
                        total += p->n_support[i];
                }
                if (total != p->n_sv) {
                        model_set_error(err, "%s: n_support sums to %zu, expected %zu "
                                        "support vectors", name, total, p->n_sv);
                        return -EINVAL;
                }
                if ((p->prob_a == NULL) != (p->prob_b == NULL)) {
                        model_set_error(err, "%s: probA and probB must come together", name);
                        return -EINVAL;
                }
        } else if (n_classes != 0) {
                model_set_error(err, "%s: a regressor has no classes", name);
                return -EINVAL;
        }
        return 0;
}

int model_svm_create(const struct model_svm_params *p, size_t n_features,
                     const struct model_label *classes, size_t n_classes,
                     struct model **out, struct model_error *err)
{
        int rc = svm_check(p, n_features, n_classes, err);
        if (rc < 0)
                return rc;
        bool svc = p->kind == MODEL_SVM_SVC;
        size_t n_pairs = svc ? n_classes * (n_classes - 1) / 2 : 1;
        size_t coef_rows = svc ? n_classes - 1 : 1;
        if (p->n_sv > SIZE_MAX / sizeof(double) / coef_rows) {
                model_set_error(err, "%s: dual coefficients too large", p->name);
                return -EINVAL;
        }
        struct svm *s = calloc(1, sizeof(*s));
        if (!s)
                goto nomem;
        snprintf(s->name, sizeof(s->name), "%s", p->name);
        s->ops.name = s->name;
        s->ops.describe = svm_describe;
        s->ops.destroy = svm_destroy;
        s->base.ops = &s->ops;
        s->kind = p->kind;
        s->kernel = p->kernel;
        s->gamma = p->gamma;
        s->coef0 = p->coef0;
        s->degree = p->degree;
        s->n_sv = p->n_sv;
        s->n_pairs = n_pairs;
        s->n_coef_rows = coef_rows;
        s->ovr = p->ovr;
        s->break_ties = p->break_ties;
        s->sv = lanes_copy(p->sv, p->n_sv, n_features, NULL, 0, NULL);
        s->dual_coef = svm_copy(p->dual_coef, coef_rows * p->n_sv);
        s->intercept = svm_copy(p->intercept, n_pairs);
        if (!s->sv || !s->dual_coef || !s->intercept)
                goto nomem;
        if (svc) {
                s->start = malloc(n_classes * sizeof(size_t));
                s->count = malloc(n_classes * sizeof(size_t));
                if (!s->start || !s->count)
                        goto nomem;
                for (size_t i = 0, at = 0; i < n_classes; at += p->n_support[i], i++) {
                        s->start[i] = at;
                        s->count[i] = p->n_support[i];
                }
                if (p->prob_a) {
                        s->prob_a = svm_copy(p->prob_a, n_pairs);
                        s->prob_b = svm_copy(p->prob_b, n_pairs);
                        if (!s->prob_a || !s->prob_b)
                                goto nomem;
                }
        }
        rc = model_base_init(&s->base, &s->ops,
                             svc ? MODEL_TYPE_CLASSIFIER : MODEL_TYPE_REGRESSOR,
                             n_features, classes, n_classes, err);
        if (rc < 0) {
                svm_destroy(&s->base);
                return rc;
        }
        if (svc) {
                s->ops.classify = svm_classify;
                s->ops.decision = svm_decision;
                s->base.has_proba = s->prob_a != NULL;
                s->base.decision_width = n_classes == 2 ? 1 : p->ovr ? n_classes : n_pairs;
        } else {
                s->ops.regress = svm_regress;
                s->base.n_outputs = 1;
                if (p->kind == MODEL_SVM_ONE_CLASS) {
                        s->ops.decision = svm_decision;
                        s->base.decision_width = 1;
                }
                if (p->kind == MODEL_SVM_ONE_CLASS && p->offset) {
                        s->offset = *p->offset;
                        s->ops.score = svm_score;
                        s->base.has_score = true;
                }
        }
        *out = &s->base;
        return 0;
nomem:
        if (s)
                svm_destroy(&s->base);
        model_set_error(err, "%s: out of memory", p->name);
        return -ENOMEM;
}

/* --- nearest neighbours ---------------------------------------------- */

/* KNeighborsClassifier and KNeighborsRegressor by brute force. The answer
 * depends only on which samples are the k nearest (tied neighbours share a
 * distance, so a weight, so their order inside the set changes no sum);
 * when the k-th and (k+1)-th are tied within rounding and would give
 * different answers, scikit-learn's pick depends on its KD tree, ball tree
 * or GEMM-based brute force, so such a row is refused rather than
 * guessed. A KD tree or ball tree sums |d| or d^2 in feature order as we
 * do, so for those only bit-equal distances tie (which of them the tree
 * keeps depends on the order it visits its leaves).
 *
 * Brute force keeps the samples in lanes (lanes_eval), so that one pass
 * over the features gives LANES distances; and it walks the samples a
 * chunk at a time for a block of query rows, so a chunk is read from
 * cache once per block rather than from memory once per row. */
/* Bytes of samples per chunk: with a block of query rows, in L2. */
#define KNN_CHUNK_BYTES (64 * 1024)
/* Query rows per block. */
#define KNN_QUERY_BLOCK 64

struct knn {
        struct model base;
        struct model_ops ops;
        char name[48];
        size_t n, k;
        int p;
        bool distance;
        bool expanded;     /* see model_knn_params.expanded_distances */
        bool tree;         /* see model_knn_params.tree_distances */
        struct knn_tree *search; /* see model_knn_params.tree */
        double *fit_x;     /* n x n_features, for the tree search; else NULL */
        double *lanes;     /* brute force: the samples in lanes, see above */
        struct model_slab *slab; /* where lanes, fit_x, y_idx and y are, or NULL */
        double max_norm;   /* largest sum of |x| (p=1) or x^2 (p=2) of a sample */
        size_t *y_idx;     /* classifier */
        double *y;         /* regressor: n x n_outputs */
};

/* Above this many kept candidates, insertion (n x k) gives way to one
 * sort of all n samples (n log n). */
#define KNN_INSERTION_MAX 32

struct knn_pair {
        double d;
        size_t i;
};

static int knn_pair_cmp(const void *a, const void *b)
{
        const struct knn_pair *x = a, *y = b;
        if (x->d != y->d)
                return x->d < y->d ? -1 : 1;
        return x->i < y->i ? -1 : x->i > y->i;
}

/* One query block's search state and the per-row scratch. */
struct knn_work {
        struct knn_pair *pairs; /* n, when k is large */
        size_t m;      /* candidates kept per row: k + 1, or k when k = n */
        size_t *qbest; /* KNN_QUERY_BLOCK x m nearest, ascending (distance, index) */
        double *qdist; /* their distances (sum |d| or sum d^2) */
        size_t *qhave; /* KNN_QUERY_BLOCK: candidates kept so far */
        size_t *hidx;  /* k: a tree search's indices */
        double *heap;  /* k: a tree search's distances */
        double *w;     /* k weights */
        double *tmp;   /* k */
        double *acc;   /* n_classes */
        void *block;
};

static int knn_work_get(const struct knn *kn, struct knn_work *w, struct model_error *err)
{
        size_t nc = kn->base.n_classes ? kn->base.n_classes : 1;
        size_t m = kn->k < kn->n ? kn->k + 1 : kn->k, qb = KNN_QUERY_BLOCK;
        w->m = m;
        w->block = malloc((qb * m + 3 * kn->k + nc) * sizeof(double) +
                          (qb * m + qb + kn->k) * sizeof(size_t));
        if (!w->block) {
                model_set_error(err, "%s: out of memory", kn->name);
                return -ENOMEM;
        }
        w->qdist = w->block;
        w->w = w->qdist + qb * m;
        w->tmp = w->w + kn->k;
        w->heap = w->tmp + kn->k;
        w->acc = w->heap + kn->k;
        w->qbest = (size_t *)(w->acc + nc);
        w->qhave = w->qbest + qb * m;
        w->hidx = w->qhave + qb;
        w->pairs = NULL;
        if (m > KNN_INSERTION_MAX && !kn->search &&
            !(w->pairs = malloc(kn->n * sizeof(struct knn_pair)))) {
                free(w->block);
                model_set_error(err, "%s: out of memory", kn->name);
                return -ENOMEM;
        }
        return 0;
}

static void knn_work_put(struct knn_work *w)
{
        free(w->block);
        free(w->pairs);
}

static bool knn_same_answer(const struct knn *kn, size_t a, size_t b)
{
        if (kn->y_idx)
                return kn->y_idx[a] == kn->y_idx[b];
        size_t no = kn->base.n_outputs;
        return memcmp(kn->y + a * no, kn->y + b * no, no * sizeof(double)) == 0;
}

/* s[l] = the distance (sum |d| or sum d^2, in feature order) from x to
 * the samples of lane block b. */
static void knn_lane_dist(const struct knn *kn, const double *x, size_t b,
                          double s[LANES])
{
        lanes_eval(kn->lanes, kn->base.n_features, b, x,
                   kn->p == 2 ? LANE_SQDIST : LANE_L1DIST, s);
}

/* Keeps sample i at distance s among the m nearest (best, dist, *have),
 * ascending; after equals, so that ties keep index order. */
static void knn_keep(size_t *best, double *dist, size_t *have, size_t m, size_t i, double s)
{
        if (*have == m && !(s < dist[m - 1]))
                return;
        size_t at = *have < m ? (*have)++ : m - 1;
        while (at > 0 && s < dist[at - 1]) {
                best[at] = best[at - 1];
                dist[at] = dist[at - 1];
                at--;
        }
        best[at] = i;
        dist[at] = s;
}

/* Brute force for the nq <= KNN_QUERY_BLOCK rows at X: the m nearest of
 * each, in w->qbest and w->qdist, chunk of samples by chunk. */
static void knn_brute_block(const struct knn *kn, const double *X, size_t nq,
                            struct knn_work *w)
{
        size_t nf = kn->base.n_features, m = w->m;
        size_t blocks = (kn->n + LANES - 1) / LANES;
        size_t chunk = KNN_CHUNK_BYTES / (nf * LANES * sizeof(double));
        if (chunk == 0)
                chunk = 1;
        for (size_t q = 0; q < nq; q++)
                w->qhave[q] = 0;
        for (size_t b0 = 0; b0 < blocks; b0 += chunk) {
                size_t b1 = blocks - b0 < chunk ? blocks : b0 + chunk;
                for (size_t q = 0; q < nq; q++) {
                        const double *x = X + q * nf;
                        size_t *best = w->qbest + q * m;
                        double *dist = w->qdist + q * m;
                        for (size_t b = b0; b < b1; b++) {
                                double s[LANES];
                                knn_lane_dist(kn, x, b, s);
                                size_t lanes = kn->n - b * LANES;
                                if (lanes > LANES)
                                        lanes = LANES;
                                for (size_t l = 0; l < lanes; l++)
                                        knn_keep(best, dist, &w->qhave[q], m,
                                                 b * LANES + l, s[l]);
                        }
                }
        }
}

/* The m nearest of the row x, for the paths other than the blocked brute
 * force: the tree search (which keeps k) and, for large k, one sort. */
static void knn_search_row(const struct knn *kn, const double *x, struct knn_work *w)
{
        size_t k = kn->k, *best = w->qbest;
        double *dist = w->qdist;
        if (kn->search) {
                knn_tree_query(kn->search, kn->fit_x, x, k, w->heap, w->hidx);
                /* ascending (distance, index), as the brute-force path */
                for (size_t i = 0; i < k; i++) {
                        size_t b = w->hidx[i], at = i;
                        double d = w->heap[i];
                        while (at > 0 && (dist[at - 1] > d ||
                                          (dist[at - 1] == d && best[at - 1] > b))) {
                                best[at] = best[at - 1];
                                dist[at] = dist[at - 1];
                                at--;
                        }
                        best[at] = b;
                        dist[at] = d;
                }
                return;
        }
        for (size_t b = 0; b * LANES < kn->n; b++) {
                double s[LANES];
                knn_lane_dist(kn, x, b, s);
                for (size_t l = 0; l < LANES && b * LANES + l < kn->n; l++) {
                        w->pairs[b * LANES + l].d = s[l];
                        w->pairs[b * LANES + l].i = b * LANES + l;
                }
        }
        qsort(w->pairs, kn->n, sizeof(struct knn_pair), knn_pair_cmp);
        for (size_t i = 0; i < w->m; i++) {
                best[i] = w->pairs[i].i;
                dist[i] = w->pairs[i].d;
        }
}

/* Whether the search is the blocked brute force (knn_brute_block: a row's
 * m nearest at w->qbest + q * w->m for each row q of a query block), not
 * one of knn_search_row's paths, which leave one row's at w->qbest and so
 * run a row per call. */
static bool knn_blocked(const struct knn *kn, const struct knn_work *w)
{
        return !kn->search && !w->pairs;
}

/* From the row's m nearest (best, dist), ascending: refuses a boundary tie
 * that could change the answer, and fills w->w with the k weights. */
static int knn_finish(const struct knn *kn, const double *x, size_t row, const size_t *best,
                      const double *dist, struct knn_work *w, struct model_error *err)
{
        size_t nf = kn->base.n_features, k = kn->k;
        size_t m = kn->search ? k : w->m; /* the tree chose: no boundary to check */
        if (m > k) {
                double lo = dist[k - 1], hi = dist[k];
                /* a tree's distances are ours bit for bit: only equal ones tie */
                double delta = kn->tree ? 0.0
                                        : 1e-12 * (knn_norm(x, nf, kn->p) + kn->max_norm);
                /* distance weights: once a sample lies at distance 0, every
                 * neighbour farther away weighs 0, so a tie beyond it cannot
                 * change the answer (_get_weights' inf rows) */
                bool outweighed = kn->distance && dist[0] == 0.0 && lo > 0.0;
                if (!outweighed && hi - lo <= delta) {
                        double s[LANES];
                        for (size_t i = 0; i < kn->n; i++) {
                                if (i % LANES == 0)
                                        knn_lane_dist(kn, x, i / LANES, s);
                                double d = s[i % LANES];
                                if (d < lo - delta || d > hi + delta ||
                                    knn_same_answer(kn, i, best[k - 1]))
                                        continue;
                                char o1[MODEL_ORDINAL_SIZE], o2[MODEL_ORDINAL_SIZE];
                                model_set_error(err, "%s: row %zu: the %s and %s "
                                                "nearest samples are equally far and disagree; "
                                                "scikit-learn's choice between them depends on "
                                                "its search structure", kn->name, row,
                                                model_ordinal(k, o1), model_ordinal(k + 1, o2));
                                return -EINVAL;
                        }
                }
        }
        /* Within this of a sample, 0.23's expanded euclidean distance is
         * BLAS rounding residue (ulps of the norms), so 1/d is too. */
        double near = 1e-6 * (knn_norm(x, nf, kn->p) + kn->max_norm);
        bool zero = false;
        for (size_t i = 0; i < k; i++) {
                double d = dist[i];
                if (kn->expanded && kn->distance && d <= near) {
                        model_set_error(err, "%s: row %zu: lies within rounding of training "
                                        "sample %zu; the scikit-learn that saved this model "
                                        "(before 1.0) computed that distance from expanded "
                                        "norms, so its distance weight is BLAS rounding and "
                                        "cannot be reproduced", kn->name, row, best[i]);
                        return -EINVAL;
                }
                w->tmp[i] = kn->p == 2 ? sqrt(d) : d;
                zero = zero || w->tmp[i] == 0.0;
        }
        /* _get_weights: 1/d, or where some distance is 0, 1 for those
         * neighbours and 0 for the others */
        for (size_t i = 0; i < k; i++) {
                if (!kn->distance)
                        w->w[i] = 1.0;
                else if (zero)
                        w->w[i] = w->tmp[i] == 0.0 ? 1.0 : 0.0;
                else
                        w->w[i] = 1.0 / w->tmp[i];
        }
        return 0;
}

/* Called for each row r with its k nearest (best) and weights (w->w). */
typedef int (*knn_row_fn)(const struct knn *kn, size_t r, const size_t *best,
                          struct knn_work *w, void *ctx, struct model_error *err);

/* Finds every row's neighbours, a query block at a time, and runs fn on
 * each; stops at the first row refused. */
static int knn_for_rows(const struct knn *kn, const double *X, size_t rows, knn_row_fn fn,
                        void *ctx, struct model_error *err)
{
        size_t nf = kn->base.n_features;
        struct knn_work w;
        int rc = knn_work_get(kn, &w, err);
        if (rc < 0)
                return rc;
        bool blocked = knn_blocked(kn, &w);
        size_t qb = blocked ? KNN_QUERY_BLOCK : 1;
        for (size_t r0 = 0; r0 < rows && rc == 0; r0 += qb) {
                size_t nq = rows - r0 < qb ? rows - r0 : qb;
                if (blocked)
                        knn_brute_block(kn, X + r0 * nf, nq, &w);
                else
                        knn_search_row(kn, X + r0 * nf, &w);
                for (size_t q = 0; q < nq; q++) {
                        const size_t *best = w.qbest + q * w.m;
                        rc = knn_finish(kn, X + (r0 + q) * nf, r0 + q, best,
                                        w.qdist + q * w.m, &w, err);
                        if (rc < 0 || (rc = fn(kn, r0 + q, best, &w, ctx, err)) < 0)
                                break;
                }
        }
        knn_work_put(&w);
        return rc;
}

/* predict and predict_proba of one row from its neighbours. */
static int knn_classified(const struct knn *kn, size_t r, const size_t *best,
                          struct knn_work *w, void *ctx, struct model_error *err)
{
        struct model_classify_out *c = ctx;
        size_t nc = kn->base.n_classes, k = kn->k;
        /* predict: weighted_mode's per-class np.sum over the k weights
         * (uniform: stats.mode), first class on ties */
        size_t top = 0, second = SIZE_MAX;
        double top_v = 0.0, second_v = 0.0, total = 0.0;
        for (size_t cl = 0; cl < nc; cl++) {
                for (size_t i = 0; i < k; i++)
                        w->tmp[i] = kn->y_idx[best[i]] == cl ? w->w[i] : 0.0;
                double v = model_np_sum(w->tmp, k);
                total += v;
                if (cl == 0 || v > top_v) {
                        second = cl == 0 ? SIZE_MAX : top;
                        second_v = top_v;
                        top = cl;
                        top_v = v;
                } else if (second == SIZE_MAX || v > second_v) {
                        second = cl;
                        second_v = v;
                }
        }
        /* distance weights: two classes whose weights sum to the same in
         * exact arithmetic (1/3 + 1/3 + 1/3 against 1) differ only by
         * rounding, which follows the order scikit-learn's sort leaves
         * equal distances in */
        if (kn->distance && second != SIZE_MAX && top_v != second_v &&
            top_v - second_v <= 1e-12 * total) {
                model_set_error(err, "%s: row %zu: classes %zu and %zu get the same "
                                "distance weight but for rounding; scikit-learn's "
                                "pick between them depends on the order it sums "
                                "equally far neighbours in", kn->name, r,
                                top < second ? top : second, top < second ? second : top);
                return -EINVAL;
        }
        c->class_idx[r] = top;
        if (c->proba) {
                double *pr = c->proba + r * nc;
                for (size_t cl = 0; cl < nc; cl++)
                        pr[cl] = 0.0;
                for (size_t i = 0; i < k; i++)
                        pr[kn->y_idx[best[i]]] += w->w[i];
                double s = model_np_sum(pr, nc);
                if (s == 0.0)
                        s = 1.0;
                for (size_t cl = 0; cl < nc; cl++)
                        pr[cl] /= s;
        }
        return 0;
}

static int knn_classify(const struct model *m, const double *X, size_t rows,
                        size_t *class_idx, double *proba, struct model_error *err)
{
        struct model_classify_out c = { class_idx, proba };
        return knn_for_rows((const struct knn *)m, X, rows, knn_classified, &c, err);
}

/* The mean (or distance-weighted mean) of one row's neighbours' targets. */
static int knn_regressed(const struct knn *kn, size_t r, const size_t *best,
                         struct knn_work *w, void *ctx, struct model_error *err)
{
        double *out = ctx;
        size_t no = kn->base.n_outputs, k = kn->k;
        double denom = kn->distance ? model_np_sum(w->w, k) : (double)k;
        for (size_t j = 0; j < no; j++) {
                for (size_t i = 0; i < k; i++) {
                        double yv = kn->y[best[i] * no + j];
                        w->tmp[i] = kn->distance ? yv * w->w[i] : yv;
                }
                out[r * no + j] = model_np_sum(w->tmp, k) / denom;
        }
        return 0;
}

static int knn_regress(const struct model *m, const double *X, size_t rows,
                       double *out, struct model_error *err)
{
        return knn_for_rows((const struct knn *)m, X, rows, knn_regressed, out, err);
}

static void knn_describe(const struct model *m, char *buf, size_t len)
{
        const struct knn *kn = (const struct knn *)m;
        snprintf(buf, len, "%s[k=%zu, %s, %s, %zu samples]", kn->name, kn->k,
                 kn->p == 1 ? "manhattan" : "euclidean",
                 kn->distance ? "distance" : "uniform", kn->n);
}

static void knn_destroy(struct model *m)
{
        struct knn *kn = (struct knn *)m;
        model_base_release(m);
        model_slab_free(kn->slab, kn->fit_x);
        model_slab_free(kn->slab, kn->lanes);
        knn_tree_free(kn->search);
        model_slab_free(kn->slab, kn->y_idx);
        model_slab_free(kn->slab, kn->y);
        model_slab_drop(kn->slab);
        free(kn);
}

int model_knn_create(const struct model_knn_params *p, size_t n_features,
                     size_t n_outputs, const struct model_label *classes,
                     size_t n_classes, struct model **out,
                     struct model_error *err)
{
        const char *name = p->name ? p->name : "KNeighbors";
        bool clf = classes != NULL;
        if (!p->name || strlen(p->name) >= sizeof(((struct knn *)0)->name)) {
                model_set_error(err, "KNeighbors: class name missing or too long");
                return -EINVAL;
        }
        if (n_features == 0 || p->n_samples == 0 ||
            p->n_samples > SIZE_MAX / sizeof(double) / n_features ||
            p->k == 0 || p->k > p->n_samples || (p->p != 1 && p->p != 2)) {
                model_set_error(err, "%s: expected 1 <= n_neighbors <= %zu samples of at "
                                "least 1 feature and p 1 or 2, found n_neighbors %zu, "
                                "%zu features, p %d", name, p->n_samples, p->k, n_features,
                                p->p);
                return -EINVAL;
        }
        if (clf ? (!p->y_idx || n_classes < 1) :
                  (!p->y || n_outputs == 0 ||
                   n_outputs > SIZE_MAX / sizeof(double) / p->n_samples)) {
                model_set_error(err, "%s: missing targets", name);
                return -EINVAL;
        }
        if (clf) {
                for (size_t i = 0; i < p->n_samples; i++) {
                        if (p->y_idx[i] >= n_classes) {
                                model_set_error(err, "%s: sample %zu has class %zu of %zu",
                                                name, i, p->y_idx[i], n_classes);
                                return -EINVAL;
                        }
                }
        }
        struct knn *kn = calloc(1, sizeof(*kn));
        if (!kn)
                goto nomem;
        snprintf(kn->name, sizeof(kn->name), "%s", p->name);
        kn->ops.name = kn->name;
        kn->ops.describe = knn_describe;
        kn->ops.destroy = knn_destroy;
        kn->base.ops = &kn->ops;
        kn->n = p->n_samples;
        kn->k = p->k;
        kn->p = p->p;
        kn->expanded = p->expanded_distances && p->p == 2;
        kn->tree = p->tree_distances;
        kn->distance = p->distance;
        /* the samples are most of a large KNN's file: its tables go in
         * the loader's slab when there is one (model_slab_open) */
        kn->slab = model_slab_take();
        size_t xbytes = p->n_samples * n_features * sizeof(double);
        if (p->tree) {
                if (!(kn->fit_x = model_slab_alloc(kn->slab, xbytes)))
                        goto nomem;
                memcpy(kn->fit_x, p->fit_x, xbytes);
                for (size_t i = 0; i < kn->n; i++) {
                        double s = knn_norm(p->fit_x + i * n_features, n_features, kn->p);
                        kn->max_norm = s > kn->max_norm ? s : kn->max_norm;
                }
                int trc = knn_tree_copy(p->tree, p->n_samples, n_features, p->p, &kn->search,
                                        err);
                if (trc < 0) {
                        knn_destroy(&kn->base);
                        return trc;
                }
        } else if (!(kn->lanes = lanes_copy(p->fit_x, p->n_samples, n_features, kn->slab,
                                            kn->p, &kn->max_norm))) {
                goto nomem;
        }
        size_t ybytes = clf ? p->n_samples * sizeof(size_t)
                            : p->n_samples * n_outputs * sizeof(double);
        void *ydst = model_slab_alloc(kn->slab, ybytes);
        if (!ydst)
                goto nomem;
        memcpy(ydst, clf ? (const void *)p->y_idx : (const void *)p->y, ybytes);
        if (clf)
                kn->y_idx = ydst;
        else
                kn->y = ydst;
        int rc = model_base_init(&kn->base, &kn->ops,
                                 clf ? MODEL_TYPE_CLASSIFIER : MODEL_TYPE_REGRESSOR,
                                 n_features, classes, n_classes, err);
        if (rc < 0) {
                knn_destroy(&kn->base);
                return rc;
        }
        if (clf) {
                kn->ops.classify = knn_classify;
                kn->base.has_proba = true;
        } else {
                kn->ops.regress = knn_regress;
                kn->base.n_outputs = n_outputs;
        }
        *out = &kn->base;
        return 0;
nomem:
        if (kn)
                knn_destroy(&kn->base);
        model_set_error(err, "%s: out of memory", name);
        return -ENOMEM;
}
