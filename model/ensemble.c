/* ensemble.c - estimators made of fitted estimators: voting (hard and
 * soft), stacking and bagging, classifiers and regressors, and
 * CalibratedClassifierCV.
 *
 * The members are models of their own, called through their ops, so any
 * estimator predictd builds can be one. scikit-learn fits classifier
 * members on labels encoded as 0..n-1, so a member's class index is the
 * encoded label and its probability columns line up with the ensemble's
 * classes; model_ensemble_create checks that instead of assuming it.
 *
 * Averages follow numpy's reductions over the member axis: members are
 * added in order (a reduction over an outer axis is sequential, not
 * pairwise), products with the weights first, then divided by the sum of
 * the weights, as np.average does; without weights np.mean adds and
 * divides by the count. Hard voting counts like np.bincount (weights add
 * in member order) over max(vote) + 1 bins and takes the first maximum. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

struct ensemble {
        struct model base;
        enum model_ensemble_kind kind;
        struct model **members;
        size_t n;
        double *weights;                 /* NULL: equal */
        enum model_stack_method *methods; /* stacking */
        size_t *widths;                  /* stacking: columns per member */
        size_t meta_width;               /* stacking: final's input width */
        bool passthrough;
        struct model *final;
        size_t member_width;             /* widest output of one member */
};

static int oom(struct model_error *err)
{
        model_set_error(err, "out of memory in an ensemble");
        return -ENOMEM;
}

/* Rows x width scratch for one member's output. */
static double *scratch(const struct ensemble *e, size_t rows)
{
        size_t w = e->member_width ? e->member_width : 1;
        return malloc((rows ? rows : 1) * w * sizeof(double));
}

/* One member's predict as doubles: the encoded label of a classifier,
 * the values of a regressor; out is rows x (1 or n_outputs). */
static int member_predict(const struct model *mb, const double *X, size_t rows,
                          double *out, struct model_error *err)
{
        if (mb->type == MODEL_TYPE_REGRESSOR)
                return mb->ops->regress(mb, X, rows, out, err);
        size_t *idx = malloc((rows ? rows : 1) * sizeof(size_t));
        if (!idx)
                return oom(err);
        int rc = mb->ops->classify(mb, X, rows, idx, NULL, err);
        for (size_t r = 0; rc == 0 && r < rows; r++)
                out[r] = (double)idx[r];
        free(idx);
        return rc;
}

static int member_proba(const struct model *mb, const double *X, size_t rows,
                        double *out, struct model_error *err)
{
        size_t *idx = malloc((rows ? rows : 1) * sizeof(size_t));
        if (!idx)
                return oom(err);
        int rc = mb->ops->classify(mb, X, rows, idx, out, err);
        free(idx);
        return rc;
}

/* --- voting ------------------------------------------------------------ */

typedef int (*member_fn)(const struct model *mb, const double *X, size_t rows,
                         double *out, struct model_error *err);

/* np.average over the members of fetch's output (rows x width each),
 * with the ensemble's weights, into out[rows x width]. */
static int member_average(const struct ensemble *e, const double *X, size_t rows,
                          member_fn fetch, size_t width, double *out,
                          struct model_error *err)
{
        size_t cells = rows * width;
        double *p = scratch(e, rows);
        if (!p)
                return oom(err);
        double wsum = 0.0;
        for (size_t i = 0; i < e->n; i++) {
                int rc = fetch(e->members[i], X, rows, p, err);
                if (rc < 0) {
                        free(p);
                        return rc;
                }
                double w = e->weights ? e->weights[i] : 1.0;
                for (size_t c = 0; c < cells; c++) {
                        double v = e->weights ? p[c] * w : p[c];
                        out[c] = i ? out[c] + v : v;
                }
                wsum = i ? wsum + w : w;
        }
        double div = e->weights ? wsum : (double)e->n;
        for (size_t c = 0; c < cells; c++)
                out[c] /= div;
        free(p);
        return 0;
}

/* Every member's encoded vote, votes[rows x n]. */
static int hard_votes(const struct ensemble *e, const double *X, size_t rows,
                      double *votes, struct model_error *err)
{
        double *col = scratch(e, rows);
        if (!col)
                return oom(err);
        for (size_t i = 0; i < e->n; i++) {
                int rc = member_predict(e->members[i], X, rows, col, err);
                if (rc < 0) {
                        free(col);
                        return rc;
                }
                for (size_t r = 0; r < rows; r++)
                        votes[r * e->n + i] = col[r];
        }
        free(col);
        return 0;
}

static int voting_classify(const struct model *m, const double *X, size_t rows,
                           size_t *class_idx, double *proba,
                           struct model_error *err)
{
        const struct ensemble *e = (const struct ensemble *)m;
        size_t nc = m->n_classes;
        int rc = 0;
        if (e->kind == MODEL_VOTING_SOFT) {
                double *avg = proba ? proba : malloc((rows ? rows : 1) * nc * sizeof(double));
                if (!avg)
                        return oom(err);
                rc = member_average(e, X, rows, member_proba, nc, avg, err);
                for (size_t r = 0; rc == 0 && r < rows; r++)
                        class_idx[r] = model_np_argmax(avg + r * nc, nc);
                if (avg != proba)
                        free(avg);
                return rc;
        }
        double *votes = malloc((rows ? rows : 1) * e->n * sizeof(double));
        double *count = malloc(nc * sizeof(double));
        if (!votes || !count) {
                rc = oom(err);
                goto out;
        }
        if ((rc = hard_votes(e, X, rows, votes, err)) < 0)
                goto out;
        for (size_t r = 0; r < rows; r++) {
                const double *v = votes + r * e->n;
                size_t bins = 0;
                for (size_t i = 0; i < e->n; i++)
                        if ((size_t)v[i] + 1 > bins)
                                bins = (size_t)v[i] + 1;
                for (size_t k = 0; k < bins; k++)
                        count[k] = 0.0;
                for (size_t i = 0; i < e->n; i++)
                        count[(size_t)v[i]] += e->weights ? e->weights[i] : 1.0;
                class_idx[r] = model_np_argmax(count, bins);
        }
out:
        free(votes);
        free(count);
        return rc;
}

static int voting_regress(const struct model *m, const double *X, size_t rows,
                          double *out, struct model_error *err)
{
        return member_average((const struct ensemble *)m, X, rows, member_predict, 1, out,
                              err);
}

/* transform: probabilities side by side (soft), else predictions. */
static int voting_transform(const struct model *m, const double *X, size_t rows,
                            double *out, struct model_error *err)
{
        const struct ensemble *e = (const struct ensemble *)m;
        if (e->kind != MODEL_VOTING_SOFT)
                return hard_votes(e, X, rows, out, err);
        size_t nc = m->n_classes, w = e->n * nc;
        double *p = scratch(e, rows);
        if (!p)
                return oom(err);
        for (size_t i = 0; i < e->n; i++) {
                int rc = member_proba(e->members[i], X, rows, p, err);
                if (rc < 0) {
                        free(p);
                        return rc;
                }
                for (size_t r = 0; r < rows; r++)
                        memcpy(out + r * w + i * nc, p + r * nc, nc * sizeof(double));
        }
        free(p);
        return 0;
}

/* --- stacking ------------------------------------------------------------ */

/* The final estimator's input, as _concatenate_predictions builds it. */
static int stacking_features(const struct ensemble *e, const double *X,
                             size_t rows, double *meta, struct model_error *err)
{
        size_t mw = e->meta_width, col = 0, nf = e->base.n_features;
        double *p = scratch(e, rows);
        if (!p)
                return oom(err);
        for (size_t i = 0; i < e->n; i++) {
                const struct model *mb = e->members[i];
                size_t native, skip = 0;
                int rc;
                switch (e->methods[i]) {
                case MODEL_STACK_PREDICT_PROBA:
                        native = mb->n_classes;
                        /* binary: the first column is 1 - the second */
                        skip = e->base.n_classes == 2 ? 1 : 0;
                        rc = member_proba(mb, X, rows, p, err);
                        break;
                case MODEL_STACK_DECISION_FUNCTION:
                        native = mb->decision_width;
                        rc = mb->ops->decision(mb, X, rows, p, err);
                        break;
                default:
                        native = mb->type == MODEL_TYPE_REGRESSOR ? mb->n_outputs : 1;
                        rc = member_predict(mb, X, rows, p, err);
                        break;
                }
                if (rc < 0) {
                        free(p);
                        return rc;
                }
                for (size_t r = 0; r < rows; r++)
                        memcpy(meta + r * mw + col, p + r * native + skip,
                               (native - skip) * sizeof(double));
                col += native - skip;
        }
        if (e->passthrough)
                for (size_t r = 0; r < rows; r++)
                        memcpy(meta + r * mw + col, X + r * nf, nf * sizeof(double));
        free(p);
        return 0;
}

/* Runs the members, then hands their features to fn on the final
 * estimator. */
enum final_call { FINAL_CLASSIFY, FINAL_REGRESS, FINAL_DECISION };

static int stacking_run(const struct ensemble *e, const double *X, size_t rows,
                        enum final_call call, size_t *class_idx, double *out,
                        struct model_error *err)
{
        double *meta = malloc((rows ? rows : 1) * e->meta_width * sizeof(double));
        if (!meta)
                return oom(err);
        int rc = stacking_features(e, X, rows, meta, err);
        const struct model *f = e->final;
        if (rc == 0) {
                switch (call) {
                case FINAL_CLASSIFY:
                        rc = f->ops->classify(f, meta, rows, class_idx, out, err);
                        break;
                case FINAL_REGRESS:
                        rc = f->ops->regress(f, meta, rows, out, err);
                        break;
                default:
                        rc = f->ops->decision(f, meta, rows, out, err);
                        break;
                }
                if (rc < 0 && err) /* its columns are the members' outputs */
                        err->column = MODEL_NO_COLUMN;
        }
        free(meta);
        return rc;
}

static int stacking_classify(const struct model *m, const double *X, size_t rows,
                             size_t *class_idx, double *proba,
                             struct model_error *err)
{
        return stacking_run((const struct ensemble *)m, X, rows, FINAL_CLASSIFY,
                            class_idx, proba, err);
}

static int stacking_regress(const struct model *m, const double *X, size_t rows,
                            double *out, struct model_error *err)
{
        return stacking_run((const struct ensemble *)m, X, rows, FINAL_REGRESS, NULL,
                            out, err);
}

static int stacking_decision(const struct model *m, const double *X, size_t rows,
                             double *out, struct model_error *err)
{
        return stacking_run((const struct ensemble *)m, X, rows, FINAL_DECISION, NULL,
                            out, err);
}

static int stacking_transform(const struct model *m, const double *X, size_t rows,
                              double *out, struct model_error *err)
{
        return stacking_features((const struct ensemble *)m, X, rows, out, err);
}

/* --- life cycle ---------------------------------------------------------- */

static void ensemble_describe(const struct model *m, char *buf, size_t len)
{
        const struct ensemble *e = (const struct ensemble *)m;
        size_t used = 0;
        int n = snprintf(buf, len, "%s(", m->ops->name);
        for (size_t i = 0; i < e->n && n >= 0 && (size_t)n < len - used; i++) {
                used += (size_t)n;
                char inner[128];
                model_describe(e->members[i], inner, sizeof(inner));
                n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", inner);
        }
        if (e->final && n >= 0 && (size_t)n < len - used) {
                used += (size_t)n;
                char inner[128];
                model_describe(e->final, inner, sizeof(inner));
                n = snprintf(buf + used, len - used, "; final=%s", inner);
        }
        if (n >= 0 && (size_t)n < len - used) {
                used += (size_t)n;
                snprintf(buf + used, len - used, ")");
        }
}

static void ensemble_destroy(struct model *m)
{
        struct ensemble *e = (struct ensemble *)m;
        model_base_release(m);
        for (size_t i = 0; e->members && i < e->n; i++)
                model_free(e->members[i]);
        model_free(e->final);
        free(e->members);
        free(e->weights);
        free(e->methods);
        free(e->widths);
        free(e);
}

static const struct model_ops ensemble_ops[] = {
        [MODEL_VOTING_HARD] = {
                .name = "VotingClassifier",
                .classify = voting_classify,
                .transform = voting_transform,
                .describe = ensemble_describe,
                .destroy = ensemble_destroy,
        },
        [MODEL_VOTING_SOFT] = {
                .name = "VotingClassifier",
                .classify = voting_classify,
                .transform = voting_transform,
                .describe = ensemble_describe,
                .destroy = ensemble_destroy,
        },
        [MODEL_VOTING_REGRESSOR] = {
                .name = "VotingRegressor",
                .regress = voting_regress,
                .transform = voting_transform,
                .describe = ensemble_describe,
                .destroy = ensemble_destroy,
        },
        [MODEL_STACKING_CLASSIFIER] = {
                .name = "StackingClassifier",
                .classify = stacking_classify,
                .decision = stacking_decision,
                .transform = stacking_transform,
                .describe = ensemble_describe,
                .destroy = ensemble_destroy,
        },
        [MODEL_STACKING_REGRESSOR] = {
                .name = "StackingRegressor",
                .regress = stacking_regress,
                .transform = stacking_transform,
                .describe = ensemble_describe,
                .destroy = ensemble_destroy,
        },
};

/* True when a classifier holds exactly the integer labels 0..n-1. */
static bool encoded_classes(const struct model *mb, size_t n)
{
        if (mb->n_classes != n)
                return false;
        for (size_t k = 0; k < n; k++) {
                const struct model_label *l = &mb->classes[k];
                if (l->type != MODEL_LABEL_INT || l->v.i != (int64_t)k)
                        return false;
        }
        return true;
}

/* Checks member i for the ensemble, returns its stacking width and
 * widens the scratch the members share to its output. */
static int check_member(struct ensemble *e, size_t i,
                        const enum model_stack_method *methods, size_t *width,
                        struct model_error *err)
{
        const struct model *mb = e->members[i];
        const char *name = e->base.ops->name;
        bool classifier = e->kind != MODEL_VOTING_REGRESSOR &&
                          e->kind != MODEL_STACKING_REGRESSOR;
        enum model_type want = classifier ? MODEL_TYPE_CLASSIFIER : MODEL_TYPE_REGRESSOR;
        size_t nc = e->base.n_classes;

        if (!mb) {
                model_set_error(err, "%s: member %zu is missing", name, i);
                return -EINVAL;
        }
        if (mb->type != want) {
                model_set_error(err, "%s: member %zu (%s) is not a %s", name, i,
                                mb->ops->name, classifier ? "classifier" : "regressor");
                return -EINVAL;
        }
        if (mb->n_features != e->base.n_features) {
                model_set_error(err, "%s: member %zu (%s) takes %zu features, member 0 %zu",
                                name, i, mb->ops->name, mb->n_features,
                                e->base.n_features);
                return -EINVAL;
        }
        if (classifier && !encoded_classes(mb, nc)) {
                model_set_error(err,
                                "%s: member %zu (%s) should hold the encoded classes "
                                "0..%zu, found %zu classes of another form",
                                name, i, mb->ops->name, nc - 1, mb->n_classes);
                return -EINVAL;
        }
        if (e->kind == MODEL_VOTING_REGRESSOR && mb->n_outputs != 1) {
                model_set_error(err, "%s: member %zu (%s) predicts %zu targets, expected 1",
                                name, i, mb->ops->name, mb->n_outputs);
                return -EINVAL;
        }
        size_t w = classifier ? 1 : mb->n_outputs, native = w;
        if (e->kind == MODEL_VOTING_SOFT || (methods && methods[i] == MODEL_STACK_PREDICT_PROBA)) {
                if (!mb->has_proba) {
                        model_set_error(err, "%s: member %zu (%s) has no predict_proba",
                                        name, i, mb->ops->name);
                        return -EINVAL;
                }
                native = nc;
                w = nc == 2 ? 1 : nc;
        } else if (methods && methods[i] == MODEL_STACK_DECISION_FUNCTION) {
                if (!mb->ops->decision || !mb->decision_width) {
                        model_set_error(err, "%s: member %zu (%s) has no decision_function",
                                        name, i, mb->ops->name);
                        return -EINVAL;
                }
                native = w = mb->decision_width;
        }
        *width = w;
        if (native > e->member_width)
                e->member_width = native;
        return 0;
}

int model_ensemble_create(const struct model_ensemble_params *p,
                          struct model **members, size_t n_members,
                          const struct model_label *classes, size_t n_classes,
                          struct model **out, struct model_error *err)
{
        struct ensemble *e = NULL;
        struct model *final = p->final;
        int rc = -EINVAL;
        bool stacking = p->kind == MODEL_STACKING_CLASSIFIER ||
                        p->kind == MODEL_STACKING_REGRESSOR;
        bool classifier = p->kind == MODEL_VOTING_HARD || p->kind == MODEL_VOTING_SOFT ||
                          p->kind == MODEL_STACKING_CLASSIFIER;

        if ((unsigned)p->kind > MODEL_STACKING_REGRESSOR) {
                model_set_error(err, "ensemble: unknown kind %d", (int)p->kind);
                goto fail;
        }
        const char *name = ensemble_ops[p->kind].name;
        if (n_members == 0 || !members[0]) {
                model_set_error(err, "%s: expected at least one fitted member, found none",
                                name);
                goto fail;
        }
        if (classifier && n_classes < 2) {
                model_set_error(err, "%s: expected at least 2 classes, found %zu", name,
                                n_classes);
                goto fail;
        }
        if (stacking && (!final || !p->methods)) {
                model_set_error(err, "%s: expected a final estimator and stack methods",
                                name);
                goto fail;
        }
        e = calloc(1, sizeof(*e));
        if (!e)
                goto nomem;
        e->members = calloc(n_members, sizeof(*e->members));
        if (!e->members)
                goto nomem;
        e->n = n_members;
        for (size_t i = 0; i < n_members; i++) {
                e->members[i] = members[i];
                members[i] = NULL;
        }
        e->final = final;
        final = NULL;
        e->kind = p->kind;
        e->passthrough = p->passthrough;
        rc = model_base_init(&e->base, &ensemble_ops[p->kind],
                             classifier ? MODEL_TYPE_CLASSIFIER : MODEL_TYPE_REGRESSOR,
                             e->members[0]->n_features, classes,
                             classifier ? n_classes : 0, err);
        if (rc < 0)
                goto fail;
        rc = -EINVAL;
        if (p->weights) {
                if (!(e->weights = malloc(n_members * sizeof(double))))
                        goto nomem;
                memcpy(e->weights, p->weights, n_members * sizeof(double));
        }
        if (stacking) {
                e->methods = malloc(n_members * sizeof(*e->methods));
                e->widths = malloc(n_members * sizeof(*e->widths));
                if (!e->methods || !e->widths)
                        goto nomem;
                memcpy(e->methods, p->methods, n_members * sizeof(*e->methods));
        }
        for (size_t i = 0; i < n_members; i++) {
                size_t w = 0;
                if (stacking && (unsigned)e->methods[i] > MODEL_STACK_DECISION_FUNCTION) {
                        model_set_error(err, "%s: unknown stack method %d", name,
                                        (int)e->methods[i]);
                        goto fail;
                }
                if ((rc = check_member(e, i, e->methods, &w, err)) < 0 ||
                    (rc = model_merge_kinds(&e->base, e->members[i], err)) < 0)
                        goto fail;
                if (stacking)
                        e->widths[i] = w;
                e->meta_width += w;
        }
        rc = -EINVAL;
        switch (p->kind) {
        case MODEL_VOTING_SOFT:
                e->base.has_proba = true;
                e->base.n_out = n_members * n_classes;
                break;
        case MODEL_VOTING_HARD:
                e->base.n_out = n_members;
                break;
        case MODEL_VOTING_REGRESSOR:
                e->base.n_outputs = 1;
                e->base.n_out = n_members;
                break;
        default: {
                const struct model *f = e->final;
                if ((rc = model_need_numeric_input(f, name, err)) < 0)
                        goto fail;
                rc = -EINVAL;
                if (e->passthrough && model_takes_strings(&e->base)) {
                        model_set_error(err, "%s: passthrough=True with string columns "
                                        "is not supported", name);
                        goto fail;
                }
                if (e->passthrough)
                        e->meta_width += e->base.n_features;
                if (f->n_features != e->meta_width) {
                        model_set_error(err,
                                        "%s: final estimator %s takes %zu features but the "
                                        "members give %zu",
                                        name, f->ops->name, f->n_features, e->meta_width);
                        goto fail;
                }
                if (classifier && (f->type != MODEL_TYPE_CLASSIFIER ||
                                   !encoded_classes(f, n_classes))) {
                        model_set_error(err,
                                        "%s: final estimator %s should be a classifier of "
                                        "the encoded classes 0..%zu",
                                        name, f->ops->name, n_classes - 1);
                        goto fail;
                }
                if (!classifier && f->type != MODEL_TYPE_REGRESSOR) {
                        model_set_error(err, "%s: final estimator %s is not a regressor",
                                        name, f->ops->name);
                        goto fail;
                }
                e->base.has_proba = f->has_proba;
                e->base.decision_width = f->ops->decision ? f->decision_width : 0;
                e->base.n_outputs = f->n_outputs;
                e->base.n_out = e->meta_width;
                break;
        }
        }
        if (p->no_transform)
                e->base.n_out = 0;
        *out = &e->base;
        return 0;
nomem:
        rc = -ENOMEM;
        model_set_error(err, "ensemble: out of memory");
fail:
        for (size_t i = 0; i < n_members; i++)
                model_free(members[i]);
        model_free(final);
        if (e)
                ensemble_destroy(&e->base);
        return rc;
}

/* --- calibration ------------------------------------------------------- */

struct calibrator {
        struct model_calibrator c; /* x and y point into owned */
        double *owned;             /* isotonic: x then y */
};

struct cal_member {
        struct model *est;
        bool decision;   /* else predict_proba */
        size_t n_pairs;  /* columns calibrated */
        size_t pred_col; /* first prediction column used */
        size_t *pos;     /* n_pairs: the ensemble column each one fills */
        struct calibrator *cals;
        size_t n_cals;
};

struct calibrated {
        struct model base;
        struct cal_member *members;
        size_t n;
        size_t pred_width; /* widest member prediction */
};

/* np.interp(t, x, y) after np.clip(t, x_min, x_max), as the linear
 * interp1d of IsotonicRegression delegates to it for float64 data. */
static double isotonic_predict(const struct model_calibrator *c, double t)
{
        t = t < c->x_min ? c->x_min : t;
        t = t > c->x_max ? c->x_max : t;
        const double *x = c->x, *y = c->y;
        size_t n = c->n;
        if (n == 1)
                return y[0];
        if (t < x[0])
                return y[0];
        if (t >= x[n - 1])
                return y[n - 1];
        size_t lo = 0, hi = n - 1; /* x[lo] <= t < x[hi] */
        while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (x[mid] <= t)
                        lo = mid;
                else
                        hi = mid;
        }
        if (x[lo] == t)
                return y[lo];
        double slope = (y[lo + 1] - y[lo]) / (x[lo + 1] - x[lo]);
        double r = slope * (t - x[lo]) + y[lo];
        if (r != r) {
                r = slope * (t - x[lo + 1]) + y[lo + 1];
                if (r != r && y[lo] == y[lo + 1])
                        r = y[lo];
        }
        return r;
}

static double calibrate(const struct model_calibrator *c, double t)
{
        if (c->kind == MODEL_CALIBRATOR_SIGMOID)
                return model_expit(-(c->a * t + c->b));
        return isotonic_predict(c, t);
}

/* One _CalibratedClassifier's predict_proba, added into acc. */
static int cal_member_add(const struct calibrated *cc, const struct cal_member *cm,
                          const double *X, size_t rows, double *pred, double *p,
                          double *acc, struct model_error *err)
{
        const struct model *est = cm->est;
        size_t nc = cc->base.n_classes;
        size_t w = cm->decision ? est->decision_width : est->n_classes;
        int rc = cm->decision ? est->ops->decision(est, X, rows, pred, err)
                              : member_proba(est, X, rows, pred, err);
        if (rc < 0)
                return rc;
        for (size_t r = 0; r < rows; r++) {
                double *row = p + r * nc;
                for (size_t k = 0; k < nc; k++)
                        row[k] = 0.0;
                for (size_t k = 0; k < cm->n_pairs; k++)
                        row[cm->pos[k]] = calibrate(&cm->cals[k].c,
                                                    pred[r * w + cm->pred_col + k]);
                if (nc == 2) {
                        row[0] = 1.0 - row[1];
                } else {
                        double s = model_np_sum(row, nc);
                        for (size_t k = 0; k < nc; k++)
                                row[k] = s != 0.0 ? row[k] / s : 1.0 / (double)nc;
                }
                for (size_t k = 0; k < nc; k++) {
                        if (row[k] > 1.0 && row[k] <= 1.0 + 1e-5)
                                row[k] = 1.0;
                        acc[r * nc + k] += row[k];
                }
        }
        return 0;
}

static int calibrated_classify(const struct model *m, const double *X, size_t rows,
                               size_t *class_idx, double *proba,
                               struct model_error *err)
{
        const struct calibrated *cc = (const struct calibrated *)m;
        size_t nc = m->n_classes, cells = (rows ? rows : 1) * nc;
        double *acc = proba ? proba : malloc(cells * sizeof(double));
        double *p = malloc(cells * sizeof(double));
        double *pred = malloc((rows ? rows : 1) * cc->pred_width * sizeof(double));
        int rc = 0;
        if (!acc || !p || !pred) {
                rc = oom(err);
                goto out;
        }
        for (size_t c = 0; c < rows * nc; c++)
                acc[c] = 0.0;
        for (size_t i = 0; i < cc->n && rc == 0; i++)
                rc = cal_member_add(cc, &cc->members[i], X, rows, pred, p, acc, err);
        for (size_t c = 0; rc == 0 && c < rows * nc; c++)
                acc[c] /= (double)cc->n;
        for (size_t r = 0; rc == 0 && r < rows; r++)
                class_idx[r] = model_np_argmax(acc + r * nc, nc);
out:
        if (acc != proba)
                free(acc);
        free(p);
        free(pred);
        return rc;
}

static void calibrated_describe(const struct model *m, char *buf, size_t len)
{
        const struct calibrated *cc = (const struct calibrated *)m;
        char inner[160];
        model_describe(cc->members[0].est, inner, sizeof(inner));
        snprintf(buf, len, "CalibratedClassifierCV[%zu x %s, %s]", cc->n, inner,
                 cc->members[0].cals[0].c.kind == MODEL_CALIBRATOR_SIGMOID ? "sigmoid"
                                                                          : "isotonic");
}

static void calibrated_destroy(struct model *m)
{
        struct calibrated *cc = (struct calibrated *)m;
        model_base_release(m);
        for (size_t i = 0; cc->members && i < cc->n; i++) {
                struct cal_member *cm = &cc->members[i];
                model_free(cm->est);
                for (size_t k = 0; cm->cals && k < cm->n_cals; k++)
                        free(cm->cals[k].owned);
                free(cm->cals);
                free(cm->pos);
        }
        free(cc->members);
        free(cc);
}

static const struct model_ops calibrated_ops = {
        .name = "CalibratedClassifierCV",
        .classify = calibrated_classify,
        .describe = calibrated_describe,
        .destroy = calibrated_destroy,
};

/* Copies one calibrator, checking an isotonic one's thresholds. */
static int calibrator_copy(const struct model_calibrator *src, struct calibrator *dst,
                           struct model_error *err)
{
        dst->c = *src;
        if (src->kind == MODEL_CALIBRATOR_SIGMOID)
                return 0;
        if (src->kind != MODEL_CALIBRATOR_ISOTONIC || src->n == 0 ||
            src->n > SIZE_MAX / 2 / sizeof(double)) {
                model_set_error(err, "CalibratedClassifierCV: expected a sigmoid or an "
                                     "isotonic calibrator with thresholds");
                return -EINVAL;
        }
        for (size_t k = 1; k < src->n; k++) {
                if (!(src->x[k] > src->x[k - 1])) {
                        model_set_error(err,
                                        "IsotonicRegression.X_thresholds_: expected strictly "
                                        "increasing values, found %.17g after %.17g",
                                        src->x[k], src->x[k - 1]);
                        return -EINVAL;
                }
        }
        if (!(dst->owned = malloc(2 * src->n * sizeof(double))))
                return oom(err);
        memcpy(dst->owned, src->x, src->n * sizeof(double));
        memcpy(dst->owned + src->n, src->y, src->n * sizeof(double));
        dst->c.x = dst->owned;
        dst->c.y = dst->owned + src->n;
        return 0;
}

/* Fills member i of cc from est and its calibrators. */
static int cal_member_init(struct calibrated *cc, size_t i,
                           const struct model_calibrator *cals, size_t n_cals,
                           struct model_error *err)
{
        struct cal_member *cm = &cc->members[i];
        const struct model *est = cm->est;
        size_t nc = cc->base.n_classes;
        if (est->type != MODEL_TYPE_CLASSIFIER || est->n_features != cc->base.n_features) {
                model_set_error(err,
                                "CalibratedClassifierCV: estimator %zu (%s) is not a "
                                "classifier of %zu features",
                                i, est->ops->name, cc->base.n_features);
                return -EINVAL;
        }
        cm->decision = est->ops->decision && est->decision_width;
        if (!cm->decision && !est->has_proba) {
                model_set_error(err,
                                "CalibratedClassifierCV: estimator %zu (%s) has neither "
                                "decision_function nor predict_proba",
                                i, est->ops->name);
                return -EINVAL;
        }
        size_t w = cm->decision ? est->decision_width : est->n_classes;
        /* binary predict_proba: only the positive column ([:, 1:]) */
        cm->pred_col = !cm->decision && nc == 2 ? 1 : 0;
        size_t cols = w - cm->pred_col;
        if (w > cc->pred_width)
                cc->pred_width = w;
        size_t pairs = est->n_classes < cols ? est->n_classes : cols;
        pairs = pairs < n_cals ? pairs : n_cals;
        cm->pos = calloc(pairs ? pairs : 1, sizeof(size_t));
        cm->cals = calloc(n_cals ? n_cals : 1, sizeof(*cm->cals));
        if (!cm->pos || !cm->cals)
                return oom(err);
        cm->n_pairs = pairs;
        cm->n_cals = n_cals;
        for (size_t k = 0; k < n_cals; k++) {
                int rc = calibrator_copy(&cals[k], &cm->cals[k], err);
                if (rc < 0)
                        return rc;
        }
        for (size_t k = 0; k < pairs; k++) {
                size_t j = 0;
                while (j < nc && !model_label_equal(&est->classes[k], &cc->base.classes[j]))
                        j++;
                if (j == nc) {
                        model_set_error(err,
                                        "CalibratedClassifierCV: estimator %zu (%s) has a "
                                        "class that is not among the %zu classes_",
                                        i, est->ops->name, nc);
                        return -EINVAL;
                }
                /* binary: the one column belongs to classes_[1] */
                cm->pos[k] = nc == 2 ? j + 1 : j;
                if (cm->pos[k] >= nc) {
                        model_set_error(err, "CalibratedClassifierCV: estimator %zu "
                                             "calibrates a class past the last", i);
                        return -EINVAL;
                }
        }
        return 0;
}

int model_calibrated_create(struct model **estimators, size_t n,
                            const struct model_calibrator *const *cals,
                            const size_t *n_cals,
                            const struct model_label *classes, size_t n_classes,
                            struct model **out, struct model_error *err)
{
        struct calibrated *cc = NULL;
        int rc = -EINVAL;
        if (n == 0 || !estimators[0] || n_classes < 2) {
                model_set_error(err,
                                "CalibratedClassifierCV: expected calibrated classifiers and "
                                "at least 2 classes, found %zu and %zu",
                                n, n_classes);
                goto fail;
        }
        if (!(cc = calloc(1, sizeof(*cc))) ||
            !(cc->members = calloc(n, sizeof(*cc->members))))
                goto nomem;
        cc->n = n;
        for (size_t i = 0; i < n; i++) {
                cc->members[i].est = estimators[i];
                estimators[i] = NULL;
        }
        if ((rc = model_base_init(&cc->base, &calibrated_ops, MODEL_TYPE_CLASSIFIER,
                                  cc->members[0].est->n_features, classes, n_classes,
                                  err)) < 0)
                goto fail;
        cc->base.has_proba = true;
        for (size_t i = 0; i < n; i++)
                if ((rc = cal_member_init(cc, i, cals[i], n_cals[i], err)) < 0 ||
                    (rc = model_merge_kinds(&cc->base, cc->members[i].est, err)) < 0)
                        goto fail;
        *out = &cc->base;
        return 0;
nomem:
        rc = oom(err);
fail:
        for (size_t i = 0; i < n; i++)
                model_free(estimators[i]);
        if (cc)
                calibrated_destroy(&cc->base);
        return rc;
}

/* --- bagging ------------------------------------------------------------- */

struct bag_member {
        struct model *m;
        size_t *features; /* columns of X it reads */
        size_t n_feat;
        size_t *cls;      /* classifiers: column of each member class */
};

struct bagging {
        struct model base;
        struct bag_member *members;
        size_t n;
        size_t n_estimators, n_jobs;
        size_t width;     /* predict_proba / predict values per row */
        size_t max_feat, max_width;
};

enum bag_call { BAG_PROBA, BAG_VALUES, BAG_DECISION };

/* Adds member bm's contribution on xs (its columns of X) into part:
 * probabilities spread over the ensemble's columns, or a vote for
 * members without predict_proba; a regressor's values; decisions. */
static int bag_add(const struct bagging *b, const struct bag_member *bm,
                   enum bag_call call, const double *xs, size_t rows, double *tmp,
                   double *part, struct model_error *err)
{
        const struct model *m = bm->m;
        size_t w = call == BAG_DECISION ? b->base.decision_width : b->width;
        int rc;
        if (call == BAG_VALUES)
                rc = m->ops->regress(m, xs, rows, tmp, err);
        else if (call == BAG_DECISION)
                rc = m->ops->decision(m, xs, rows, tmp, err);
        else if (!m->has_proba)
                rc = member_predict(m, xs, rows, tmp, err);
        else
                rc = member_proba(m, xs, rows, tmp, err);
        if (rc < 0) {
                if (err) /* xs holds the member's own columns */
                        err->column = MODEL_NO_COLUMN;
                return rc;
        }
        if (call != BAG_PROBA) {
                for (size_t c = 0; c < rows * w; c++)
                        part[c] += tmp[c];
                return 0;
        }
        size_t nc = m->n_classes;
        for (size_t r = 0; r < rows; r++) {
                double *row = part + r * w;
                if (!m->has_proba)
                        row[bm->cls[(size_t)tmp[r]]] += 1.0;
                else
                        for (size_t k = 0; k < nc; k++)
                                row[bm->cls[k]] += tmp[r * nc + k];
        }
        return 0;
}

/* Sums the members job by job (_partition_estimators), the jobs in
 * order, and divides by n_estimators. */
static int bag_run(const struct bagging *b, const double *X, size_t rows,
                   enum bag_call call, double *out, struct model_error *err)
{
        size_t w = call == BAG_DECISION ? b->base.decision_width : b->width;
        size_t nf = b->base.n_features, cells = rows * w, r1 = rows ? rows : 1;
        double *part = malloc(r1 * w * sizeof(double));
        double *tmp = malloc(r1 * b->max_width * sizeof(double));
        double *xs = malloc(r1 * b->max_feat * sizeof(double));
        int rc = 0;
        if (!part || !tmp || !xs) {
                rc = oom(err);
                goto out;
        }
        for (size_t c = 0; c < cells; c++)
                out[c] = 0.0;
        size_t jobs = b->n_jobs < b->n ? b->n_jobs : b->n, next = 0;
        for (size_t j = 0; j < jobs && rc == 0; j++) {
                size_t count = b->n / jobs + (j < b->n % jobs ? 1 : 0);
                for (size_t c = 0; c < cells; c++)
                        part[c] = 0.0;
                for (size_t i = next; i < next + count && rc == 0; i++) {
                        const struct bag_member *bm = &b->members[i];
                        for (size_t r = 0; r < rows; r++)
                                for (size_t f = 0; f < bm->n_feat; f++)
                                        xs[r * bm->n_feat + f] = X[r * nf + bm->features[f]];
                        rc = bag_add(b, bm, call, xs, rows, tmp, part, err);
                }
                next += count;
                for (size_t c = 0; c < cells; c++)
                        out[c] += part[c];
        }
        for (size_t c = 0; rc == 0 && c < cells; c++)
                out[c] /= (double)b->n_estimators;
out:
        free(part);
        free(tmp);
        free(xs);
        return rc;
}

static int bagging_classify(const struct model *m, const double *X, size_t rows,
                            size_t *class_idx, double *proba, struct model_error *err)
{
        const struct bagging *b = (const struct bagging *)m;
        size_t nc = m->n_classes;
        double *p = proba ? proba : malloc((rows ? rows : 1) * nc * sizeof(double));
        if (!p)
                return oom(err);
        int rc = bag_run(b, X, rows, BAG_PROBA, p, err);
        for (size_t r = 0; rc == 0 && r < rows; r++)
                class_idx[r] = model_np_argmax(p + r * nc, nc);
        if (p != proba)
                free(p);
        return rc;
}

static int bagging_regress(const struct model *m, const double *X, size_t rows,
                           double *out, struct model_error *err)
{
        return bag_run((const struct bagging *)m, X, rows, BAG_VALUES, out, err);
}

static int bagging_decision(const struct model *m, const double *X, size_t rows,
                            double *out, struct model_error *err)
{
        return bag_run((const struct bagging *)m, X, rows, BAG_DECISION, out, err);
}

static void bagging_describe(const struct model *m, char *buf, size_t len)
{
        const struct bagging *b = (const struct bagging *)m;
        char inner[160];
        model_describe(b->members[0].m, inner, sizeof(inner));
        snprintf(buf, len, "%s[%zu x %s]", m->ops->name, b->n, inner);
}

static void bagging_destroy(struct model *m)
{
        struct bagging *b = (struct bagging *)m;
        model_base_release(m);
        for (size_t i = 0; b->members && i < b->n; i++) {
                model_free(b->members[i].m);
                free(b->members[i].features);
                free(b->members[i].cls);
        }
        free(b->members);
        free(b);
}

static const struct model_ops bagging_ops[] = {
        {
                .name = "BaggingClassifier",
                .classify = bagging_classify,
                .decision = bagging_decision,
                .describe = bagging_describe,
                .destroy = bagging_destroy,
        },
        {
                .name = "BaggingRegressor",
                .regress = bagging_regress,
                .describe = bagging_describe,
                .destroy = bagging_destroy,
        },
};

/* Checks member i and copies its features and class columns. */
static int bag_member_init(struct bagging *b, size_t i, const int64_t *features,
                           size_t n_feat, bool classifier, struct model_error *err)
{
        struct bag_member *bm = &b->members[i];
        const struct model *m = bm->m;
        const char *name = b->base.ops->name;
        size_t nc = b->base.n_classes;
        if (m->type != (classifier ? MODEL_TYPE_CLASSIFIER : MODEL_TYPE_REGRESSOR) ||
            m->n_features != n_feat || n_feat == 0) {
                model_set_error(err,
                                "%s: member %zu (%s) should be a %s of %zu features "
                                "(its estimators_features_)",
                                name, i, m->ops->name,
                                classifier ? "classifier" : "regressor", n_feat);
                return -EINVAL;
        }
        if (!(bm->features = malloc(n_feat * sizeof(size_t))))
                return oom(err);
        bm->n_feat = n_feat;
        for (size_t j = 0; j < n_feat; j++) {
                if (features[j] < 0 || (uint64_t)features[j] >= b->base.n_features) {
                        model_set_error(err,
                                        "%s: estimators_features_[%zu] names feature %lld of "
                                        "%zu",
                                        name, i, (long long)features[j],
                                        b->base.n_features);
                        return -EINVAL;
                }
                bm->features[j] = (size_t)features[j];
        }
        if (n_feat > b->max_feat)
                b->max_feat = n_feat;
        size_t w = classifier ? (m->has_proba ? m->n_classes : 1) : m->n_outputs;
        if (!classifier && m->n_outputs != b->width) {
                model_set_error(err, "%s: member %zu predicts %zu targets, member 0 %zu",
                                name, i, m->n_outputs, b->width);
                return -EINVAL;
        }
        if (classifier && m->decision_width > w)
                w = m->decision_width;
        if (w > b->max_width)
                b->max_width = w;
        if (!classifier)
                return 0;
        if (!(bm->cls = malloc((m->n_classes ? m->n_classes : 1) * sizeof(size_t))))
                return oom(err);
        for (size_t k = 0; k < m->n_classes; k++) {
                const struct model_label *l = &m->classes[k];
                if (l->type != MODEL_LABEL_INT || l->v.i < 0 || (uint64_t)l->v.i >= nc ||
                    (k && (size_t)l->v.i <= bm->cls[k - 1])) {
                        model_set_error(err,
                                        "%s: member %zu (%s) should hold increasing encoded "
                                        "classes below %zu, found another label at %zu",
                                        name, i, m->ops->name, nc, k);
                        return -EINVAL;
                }
                bm->cls[k] = (size_t)l->v.i;
        }
        return 0;
}

int model_bagging_create(const struct model_bagging_params *p,
                         struct model **members, size_t n,
                         const struct model_label *classes, size_t n_classes,
                         struct model **out, struct model_error *err)
{
        struct bagging *b = NULL;
        int rc = -EINVAL;
        const struct model_ops *ops = &bagging_ops[p->classifier ? 0 : 1];
        if (n == 0 || !members[0] || p->n_estimators == 0 || p->n_jobs == 0 ||
            (p->classifier && n_classes < 2)) {
                model_set_error(err,
                                "%s: expected fitted members, n_estimators, n_jobs and (for "
                                "a classifier) 2 classes or more",
                                ops->name);
                goto fail;
        }
        if (!(b = calloc(1, sizeof(*b))) || !(b->members = calloc(n, sizeof(*b->members))))
                goto nomem;
        b->n = n;
        for (size_t i = 0; i < n; i++) {
                b->members[i].m = members[i];
                members[i] = NULL;
        }
        if ((rc = model_base_init(&b->base, ops,
                                  p->classifier ? MODEL_TYPE_CLASSIFIER : MODEL_TYPE_REGRESSOR,
                                  p->n_features, classes, p->classifier ? n_classes : 0,
                                  err)) < 0)
                goto fail;
        b->n_estimators = p->n_estimators;
        b->n_jobs = p->n_jobs;
        b->width = p->classifier ? n_classes : b->members[0].m->n_outputs;
        b->max_width = b->width;
        for (size_t i = 0; i < n; i++)
                if ((rc = model_need_numeric_input(b->members[i].m, ops->name, err)) < 0 ||
                    (rc = bag_member_init(b, i, p->features[i], p->n_feat[i], p->classifier,
                                          err)) < 0)
                        goto fail;
        if (p->classifier) {
                b->base.has_proba = true;
                /* decision_function when every member has one of the
                 * ensemble's width */
                size_t dw = n_classes == 2 ? 1 : n_classes;
                bool dec = true;
                for (size_t i = 0; i < n; i++) {
                        const struct model *m = b->members[i].m;
                        dec = dec && m->ops->decision && m->decision_width == dw &&
                              m->n_classes == n_classes;
                }
                b->base.decision_width = dec ? dw : 0;
        } else {
                b->base.n_outputs = b->width;
        }
        *out = &b->base;
        return 0;
nomem:
        rc = oom(err);
fail:
        for (size_t i = 0; i < n; i++)
                model_free(members[i]);
        if (b)
                bagging_destroy(&b->base);
        return rc;
}
