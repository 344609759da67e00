/* build_ensemble.c - builders for estimators made of fitted estimators:
 * VotingClassifier, VotingRegressor, StackingClassifier and
 * StackingRegressor. Members (estimators_, final_estimator_) go through
 * build_estimator, so any class predictd builds may be one; the labels
 * come from the LabelEncoder the ensemble keeps (le_, _label_encoder),
 * since its members were fitted on the encoded labels.
 * CalibratedClassifierCV: each _CalibratedClassifier's estimator and its
 * calibrators (_SigmoidCalibration, IsotonicRegression). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

/* Members of one ensemble; more is no model but a way to multiply work. */
#define MAX_MEMBERS 4096

#define ENTRY(mod, cls, fn) { { mod, cls, ROLE_ESTIMATOR, cls }, fn }

/* What every ensemble builder collects before model_ensemble_create. */
struct members {
        struct model **v;
        size_t n;
};

static void members_free(struct members *m)
{
        for (size_t i = 0; m->v && i < m->n; i++)
                model_free(m->v[i]);
        free(m->v);
        memset(m, 0, sizeof(*m));
}

/* Builds every estimator of the list attribute `name` (estimators_). */
static int build_members(struct build_ctx *bc, const struct pv *obj,
                         const char *name, struct members *out)
{
        const struct pv *list = NULL;
        int rc = build_need_attr(bc, obj, name, &list);
        if (rc < 0)
                return rc;
        if ((list->kind != PV_LIST && list->kind != PV_TUPLE) || list->u.seq.len == 0)
                return build_fail(bc, -EINVAL, "%s.%s: expected a non-empty list, found %s",
                                  build_cls_name(obj), name, pv_kind_name(list));
        size_t n = list->u.seq.len;
        if (n > MAX_MEMBERS)
                return build_fail(bc, -EINVAL, "%s.%s: %zu members (at most %d)",
                                  build_cls_name(obj), name, n, MAX_MEMBERS);
        if ((rc = build_charge(bc, n * (sizeof(struct model *) + 2 * sizeof(double)),
                               name)) < 0)
                return rc;
        struct members m = { calloc(n, sizeof(struct model *)), n };
        if (!m.v)
                return build_fail(bc, -ENOMEM, "out of memory for %zu members", n);
        for (size_t i = 0; i < n; i++) {
                if ((rc = build_estimator(bc, list->u.seq.items[i], &m.v[i])) < 0) {
                        char inner[sizeof(bc->err->message)];
                        memcpy(inner, bc->err->message, sizeof(inner));
                        build_fail(bc, rc, "%s.%s[%zu]: %s", build_cls_name(obj), name, i,
                                   inner);
                        members_free(&m);
                        return rc;
                }
        }
        *out = m;
        return 0;
}

static bool is_dropped(const struct pv *est)
{
        return est->kind == PV_NONE || pv_is_str(est, "drop");
}

/* weights of the members that were not dropped (_weights_not_none):
 * *out is NULL for weights=None, else n_fitted doubles the caller frees. */
static int read_weights(struct build_ctx *bc, const struct pv *obj, size_t n_fitted,
                        double **out)
{
        const struct pv *w = build_attr(bc, obj, "weights");
        const struct pv *ests = NULL;
        *out = NULL;
        if (!w || w->kind == PV_NONE)
                return 0;
        int rc = build_need_attr(bc, obj, "estimators", &ests);
        if (rc < 0)
                return rc;
        if (ests->kind != PV_LIST && ests->kind != PV_TUPLE)
                return build_fail(bc, -EINVAL, "%s.estimators: expected a list, found %s",
                                  build_cls_name(obj), pv_kind_name(ests));
        size_t n = ests->u.seq.len;
        double *all = NULL;
        size_t got = 0, s1 = 1;
        if (w->kind == PV_LIST || w->kind == PV_TUPLE) {
                got = w->u.seq.len;
                if (got != n)
                        goto bad_len;
                if (!(all = malloc((n ? n : 1) * sizeof(double))))
                        return build_fail(bc, -ENOMEM, "out of memory reading weights");
                for (size_t i = 0; i < n; i++) {
                        const struct pv *x = w->u.seq.items[i];
                        if (x->kind == PV_INT)
                                all[i] = (double)x->u.i;
                        else if (x->kind == PV_FLOAT)
                                all[i] = x->u.f;
                        else if (x->kind == PV_BOOL)
                                all[i] = x->u.b;
                        else {
                                free(all);
                                return build_fail(bc, -EINVAL,
                                                  "%s.weights[%zu]: expected a number, found %s",
                                                  build_cls_name(obj), i, pv_kind_name(x));
                        }
                }
        } else {
                if ((rc = build_attr_f64(bc, obj, "weights", 1, &all, &got, &s1)) < 0)
                        return rc;
                if (got != n) {
                        free(all);
                        goto bad_len;
                }
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                const struct pv *pair = ests->u.seq.items[i];
                if (pair->kind != PV_TUPLE || pair->u.seq.len != 2) {
                        free(all);
                        return build_fail(bc, -EINVAL,
                                          "%s.estimators[%zu]: expected a (name, estimator) "
                                          "tuple, found %s",
                                          build_cls_name(obj), i, pv_kind_name(pair));
                }
                if (!is_dropped(pair->u.seq.items[1]))
                        all[k++] = all[i];
        }
        if (k != n_fitted) {
                free(all);
                return build_fail(bc, -EINVAL,
                                  "%s: %zu estimators are not dropped but estimators_ holds %zu",
                                  build_cls_name(obj), k, n_fitted);
        }
        *out = all;
        return 0;
bad_len:
        return build_fail(bc, -EINVAL, "%s.weights: expected %zu weights, found %zu",
                          build_cls_name(obj), n, got);
}

/* The labels of the LabelEncoder held in attribute `name`. */
static int read_encoder_labels(struct build_ctx *bc, const struct pv *obj,
                               const char *name, struct build_labels *out)
{
        const struct pv *le = NULL;
        int rc = build_need_attr(bc, obj, name, &le);
        if (rc < 0)
                return rc;
        if (le->kind != PV_OBJECT || !le->u.obj.state)
                return build_fail(bc, -EINVAL,
                                  "%s.%s: expected a fitted LabelEncoder, found %s (multi-label "
                                  "ensembles are not supported)",
                                  build_cls_name(obj), name, pv_kind_name(le));
        return build_read_labels(bc, le, out);
}

static int finish(struct build_ctx *bc, const struct model_ensemble_params *p,
                  struct members *m, const struct build_labels *labels,
                  struct model **out)
{
        struct model_error me;
        int rc = model_ensemble_create(p, m->v, m->n, labels ? labels->v : NULL,
                                       labels ? labels->n : 0, out, &me);
        free(m->v); /* the model took (or freed) the members */
        memset(m, 0, sizeof(*m));
        return rc < 0 ? build_model_error(bc, rc, &me) : 0;
}

static int build_voting(struct build_ctx *bc, const struct pv *obj, struct model **out,
                        bool classifier)
{
        struct model_ensemble_params p = { .kind = MODEL_VOTING_REGRESSOR };
        struct build_labels labels = { 0 };
        struct members m = { 0 };
        double *weights = NULL;
        int rc;

        if (classifier) {
                const struct pv *v = build_attr(bc, obj, "voting");
                if (pv_is_str(v, "hard"))
                        p.kind = MODEL_VOTING_HARD;
                else if (pv_is_str(v, "soft"))
                        p.kind = MODEL_VOTING_SOFT;
                else
                        return build_fail(bc, -EINVAL,
                                          "VotingClassifier.voting: expected 'hard' or 'soft', "
                                          "found %s",
                                          v && v->kind == PV_STR ? v->u.s.data : pv_kind_name(v));
                if ((rc = read_encoder_labels(bc, obj, "le_", &labels)) < 0)
                        return rc;
                p.no_transform = p.kind == MODEL_VOTING_SOFT &&
                                 !build_attr_bool(bc, obj, "flatten_transform", true);
        }
        if ((rc = build_members(bc, obj, "estimators_", &m)) < 0 ||
            (rc = read_weights(bc, obj, m.n, &weights)) < 0)
                goto out;
        p.weights = weights;
        rc = finish(bc, &p, &m, classifier ? &labels : NULL, out);
out:
        members_free(&m);
        build_labels_free(&labels);
        free(weights);
        return rc;
}

static int build_voting_clf(struct build_ctx *bc, const struct pv *obj,
                            struct model **out)
{
        return build_voting(bc, obj, out, true);
}

static int build_voting_reg(struct build_ctx *bc, const struct pv *obj,
                            struct model **out)
{
        return build_voting(bc, obj, out, false);
}

static int read_stack_methods(struct build_ctx *bc, const struct pv *obj, size_t n,
                              enum model_stack_method **out)
{
        const struct pv *sm = NULL;
        int rc = build_need_attr(bc, obj, "stack_method_", &sm);
        if (rc < 0)
                return rc;
        if ((sm->kind != PV_LIST && sm->kind != PV_TUPLE) || sm->u.seq.len != n)
                return build_fail(bc, -EINVAL,
                                  "%s.stack_method_: expected a list of %zu methods, found %s "
                                  "of %zu",
                                  build_cls_name(obj), n, pv_kind_name(sm),
                                  sm->kind == PV_LIST || sm->kind == PV_TUPLE ? sm->u.seq.len
                                                                              : 0);
        enum model_stack_method *v = malloc(n * sizeof(*v));
        if (!v)
                return build_fail(bc, -ENOMEM, "out of memory reading stack_method_");
        for (size_t i = 0; i < n; i++) {
                const struct pv *s = sm->u.seq.items[i];
                if (pv_is_str(s, "predict"))
                        v[i] = MODEL_STACK_PREDICT;
                else if (pv_is_str(s, "predict_proba"))
                        v[i] = MODEL_STACK_PREDICT_PROBA;
                else if (pv_is_str(s, "decision_function"))
                        v[i] = MODEL_STACK_DECISION_FUNCTION;
                else {
                        free(v);
                        return build_fail(bc, -EINVAL,
                                          "%s.stack_method_[%zu]: expected 'predict', "
                                          "'predict_proba' or 'decision_function', found %.60s",
                                          build_cls_name(obj), i,
                                          s->kind == PV_STR ? s->u.s.data : pv_kind_name(s));
                }
        }
        *out = v;
        return 0;
}

static int build_stacking(struct build_ctx *bc, const struct pv *obj, struct model **out,
                          bool classifier)
{
        struct model_ensemble_params p = {
                .kind = classifier ? MODEL_STACKING_CLASSIFIER : MODEL_STACKING_REGRESSOR,
        };
        struct build_labels labels = { 0 };
        struct members m = { 0 };
        enum model_stack_method *methods = NULL;
        const struct pv *fe = NULL;
        int rc;

        /* _le before 1.0 */
        const char *le = build_attr(bc, obj, "_label_encoder") || !build_attr(bc, obj, "_le")
                                 ? "_label_encoder" : "_le";
        if (classifier && (rc = read_encoder_labels(bc, obj, le, &labels)) < 0)
                return rc;
        if ((rc = build_members(bc, obj, "estimators_", &m)) < 0 ||
            (rc = read_stack_methods(bc, obj, m.n, &methods)) < 0 ||
            (rc = build_need_attr(bc, obj, "final_estimator_", &fe)) < 0)
                goto out;
        if ((rc = build_estimator(bc, fe, &p.final)) < 0) {
                char inner[sizeof(bc->err->message)];
                memcpy(inner, bc->err->message, sizeof(inner));
                build_fail(bc, rc, "%s.final_estimator_: %s", build_cls_name(obj), inner);
                goto out;
        }
        p.methods = methods;
        p.passthrough = build_attr_bool(bc, obj, "passthrough", false);
        rc = finish(bc, &p, &m, classifier ? &labels : NULL, out);
out:
        members_free(&m);
        build_labels_free(&labels);
        free(methods);
        return rc;
}

static int build_stacking_clf(struct build_ctx *bc, const struct pv *obj,
                              struct model **out)
{
        return build_stacking(bc, obj, out, true);
}

static int build_stacking_reg(struct build_ctx *bc, const struct pv *obj,
                              struct model **out)
{
        return build_stacking(bc, obj, out, false);
}

/* --- CalibratedClassifierCV ---------------------------------------------- */

/* A Python or numpy float (or int) attribute. */
static int attr_number(struct build_ctx *bc, const struct pv *obj, const char *name,
                       double *out)
{
        const struct pv *v = NULL;
        int rc = build_need_attr(bc, obj, name, &v);
        if (rc < 0)
                return rc;
        if (v->kind == PV_FLOAT)
                *out = v->u.f;
        else if (v->kind == PV_INT)
                *out = (double)v->u.i;
        else
                return build_fail(bc, -EINVAL, "%s.%s: expected a number, found %s",
                                  build_cls_name(obj), name, pv_kind_name(v));
        if (!isfinite(*out))
                return build_fail(bc, -EINVAL, "%s.%s is not a finite number",
                                  build_cls_name(obj), name);
        return 0;
}

static bool is_class(const struct pv *v, const char *name)
{
        return v->kind == PV_OBJECT && strcmp(v->u.obj.cls->name, name) == 0;
}

/* Reads one calibrator; an isotonic one's x and y are malloc'd into
 * *arrays (x then y) for the caller to free. */
static int read_calibrator(struct build_ctx *bc, const struct pv *v,
                           struct model_calibrator *c, double **arrays)
{
        int rc;
        memset(c, 0, sizeof(*c));
        if (v->kind == PV_OBJECT && !v->u.obj.state)
                return build_fail(bc, -EINVAL, "%s has no state: was it fitted?",
                                  build_cls_name(v));
        if (is_class(v, "_SigmoidCalibration")) {
                c->kind = MODEL_CALIBRATOR_SIGMOID;
                if ((rc = attr_number(bc, v, "a_", &c->a)) < 0 ||
                    (rc = attr_number(bc, v, "b_", &c->b)) < 0)
                        return rc;
                return 0;
        }
        if (!is_class(v, "IsotonicRegression"))
                return build_fail(bc, -EINVAL,
                                  "expected a _SigmoidCalibration or IsotonicRegression "
                                  "calibrator, found %s",
                                  build_cls_name(v));
        c->kind = MODEL_CALIBRATOR_ISOTONIC;
        const struct pv *oob = build_attr(bc, v, "out_of_bounds");
        if (!pv_is_str(oob, "clip"))
                return build_fail(bc, -EINVAL,
                                  "IsotonicRegression.out_of_bounds: expected 'clip' (as "
                                  "CalibratedClassifierCV sets it), found %s",
                                  oob && oob->kind == PV_STR ? oob->u.s.data
                                                             : pv_kind_name(oob));
        /* before 0.24 the same arrays were _necessary_X_ / _necessary_y_ */
        bool old = !build_attr(bc, v, "X_thresholds_") && build_attr(bc, v, "_necessary_X_");
        const char *names[2] = { old ? "_necessary_X_" : "X_thresholds_",
                                 old ? "_necessary_y_" : "y_thresholds_" };
        double *xy[2] = { NULL, NULL };
        size_t n[2] = { 0, 0 }, s1;
        for (int k = 0; k < 2; k++) {
                const struct pv *a = build_attr(bc, v, names[k]);
                /* interp1d hands float64 data to np.interp; other dtypes
                 * take scipy's own path, which rounds differently */
                if (build_is_built_array(a) &&
                    (a->u.arr->dtype->kind != 'f' || a->u.arr->dtype->itemsize != 8)) {
                        free(xy[0]);
                        return build_fail(bc, -EINVAL,
                                          "IsotonicRegression.%s: expected float64, found "
                                          "kind '%c' of %zu bytes",
                                          names[k], a->u.arr->dtype->kind,
                                          a->u.arr->dtype->itemsize);
                }
                if ((rc = build_attr_f64(bc, v, names[k], 1, &xy[k], &n[k], &s1)) < 0) {
                        free(xy[0]);
                        return rc;
                }
        }
        if (n[0] != n[1] || n[0] == 0) {
                rc = build_fail(bc, -EINVAL,
                                "IsotonicRegression: expected as many X_thresholds_ as "
                                "y_thresholds_ (at least 1), found %zu and %zu",
                                n[0], n[1]);
                goto bad;
        }
        if ((rc = build_charge(bc, 2 * n[0] * sizeof(double), "IsotonicRegression")) < 0 ||
            (rc = attr_number(bc, v, "X_min_", &c->x_min)) < 0 ||
            (rc = attr_number(bc, v, "X_max_", &c->x_max)) < 0)
                goto bad;
        double *both = malloc(2 * n[0] * sizeof(double));
        if (!both) {
                rc = build_fail(bc, -ENOMEM, "out of memory reading IsotonicRegression");
                goto bad;
        }
        memcpy(both, xy[0], n[0] * sizeof(double));
        memcpy(both + n[0], xy[1], n[0] * sizeof(double));
        c->n = n[0];
        c->x = both;
        c->y = both + n[0];
        *arrays = both;
        rc = 0;
bad:
        free(xy[0]);
        free(xy[1]);
        return rc;
}

/* The parts of one _CalibratedClassifier. */
struct cal_parts {
        struct model_calibrator *cals;
        double **arrays;
        size_t n;
};

static void cal_parts_free(struct cal_parts *p)
{
        for (size_t k = 0; p->arrays && k < p->n; k++)
                free(p->arrays[k]);
        free(p->arrays);
        free(p->cals);
}

/* An attribute under either of its names (renamed across versions). */
static const struct pv *attr_either(struct build_ctx *bc, const struct pv *obj,
                                    const char *a, const char *b)
{
        const struct pv *v = build_attr(bc, obj, a);
        return v ? v : build_attr(bc, obj, b);
}

static int read_cal_classifier(struct build_ctx *bc, const struct pv *cc,
                               struct model **est, struct cal_parts *parts)
{
        int rc;
        if (!is_class(cc, "_CalibratedClassifier") || !cc->u.obj.state)
                return build_fail(bc, -EINVAL,
                                  "calibrated_classifiers_: expected a fitted "
                                  "_CalibratedClassifier, found %s",
                                  build_cls_name(cc));
        const struct pv *method = build_attr(bc, cc, "method");
        if (method && !pv_is_str(method, "sigmoid") && !pv_is_str(method, "isotonic"))
                return build_fail(bc, -EINVAL,
                                  "_CalibratedClassifier.method: expected 'sigmoid' or "
                                  "'isotonic', found %.40s",
                                  method->kind == PV_STR ? method->u.s.data
                                                         : pv_kind_name(method));
        /* 1.2+ name estimator and calibrators; older files base_estimator */
        const struct pv *e = attr_either(bc, cc, "estimator", "base_estimator");
        const struct pv *cl = attr_either(bc, cc, "calibrators", "calibrators_");
        if (!e || !cl)
                return build_fail(bc, -EINVAL,
                                  "_CalibratedClassifier: expected estimator and calibrators, "
                                  "found %s",
                                  e ? "no calibrators" : "no estimator");
        if ((cl->kind != PV_LIST && cl->kind != PV_TUPLE) || cl->u.seq.len == 0 ||
            cl->u.seq.len > MAX_MEMBERS)
                return build_fail(bc, -EINVAL,
                                  "_CalibratedClassifier.calibrators: expected a list of 1 to "
                                  "%d calibrators, found %s",
                                  MAX_MEMBERS, pv_kind_name(cl));
        size_t n = cl->u.seq.len;
        if ((rc = build_charge(bc, n * sizeof(struct model_calibrator), "calibrators")) < 0)
                return rc;
        struct cal_parts p = { calloc(n, sizeof(*p.cals)), calloc(n, sizeof(double *)), n };
        if (!p.cals || !p.arrays) {
                cal_parts_free(&p);
                return build_fail(bc, -ENOMEM, "out of memory for %zu calibrators", n);
        }
        for (size_t k = 0; k < n; k++) {
                if ((rc = read_calibrator(bc, cl->u.seq.items[k], &p.cals[k],
                                          &p.arrays[k])) < 0) {
                        cal_parts_free(&p);
                        return rc;
                }
        }
        if ((rc = build_estimator(bc, e, est)) < 0) {
                char inner[sizeof(bc->err->message)];
                memcpy(inner, bc->err->message, sizeof(inner));
                build_fail(bc, rc, "_CalibratedClassifier.estimator: %s", inner);
                cal_parts_free(&p);
                return rc;
        }
        *parts = p;
        return 0;
}

static int build_calibrated(struct build_ctx *bc, const struct pv *obj,
                            struct model **out)
{
        const struct pv *list = NULL;
        struct build_labels labels = { 0 };
        struct model_error me;
        int rc = build_need_attr(bc, obj, "calibrated_classifiers_", &list);
        if (rc < 0)
                return rc;
        if ((list->kind != PV_LIST && list->kind != PV_TUPLE) || list->u.seq.len == 0 ||
            list->u.seq.len > MAX_MEMBERS)
                return build_fail(bc, -EINVAL,
                                  "CalibratedClassifierCV.calibrated_classifiers_: expected a "
                                  "list of 1 to %d, found %s",
                                  MAX_MEMBERS, pv_kind_name(list));
        size_t n = list->u.seq.len, i = 0;
        if ((rc = build_charge(bc, n * (sizeof(struct model *) + 64),
                               "calibrated_classifiers_")) < 0 ||
            (rc = build_read_labels(bc, obj, &labels)) < 0)
                return rc;
        struct model **ests = calloc(n, sizeof(*ests));
        struct cal_parts *parts = calloc(n, sizeof(*parts));
        const struct model_calibrator **cals = calloc(n, sizeof(*cals));
        size_t *n_cals = calloc(n, sizeof(*n_cals));
        if (!ests || !parts || !cals || !n_cals) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu calibrated classifiers", n);
                goto out;
        }
        for (; i < n; i++) {
                if ((rc = read_cal_classifier(bc, list->u.seq.items[i], &ests[i],
                                              &parts[i])) < 0) {
                        char inner[sizeof(bc->err->message)];
                        memcpy(inner, bc->err->message, sizeof(inner));
                        build_fail(bc, rc, "CalibratedClassifierCV.calibrated_classifiers_"
                                           "[%zu]: %s", i, inner);
                        goto out;
                }
                cals[i] = parts[i].cals;
                n_cals[i] = parts[i].n;
        }
        rc = model_calibrated_create(ests, n, cals, n_cals, labels.v, labels.n, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        for (size_t k = 0; k < i && ests; k++) {
                model_free(ests[k]); /* NULL once the model took them */
                cal_parts_free(&parts[k]);
        }
        free(ests);
        free(parts);
        free(cals);
        free(n_cals);
        build_labels_free(&labels);
        return rc;
}

/* --- bagging --------------------------------------------------------------- */

/* estimators_features_[i] as int64 column indices (malloc'd). */
static int read_features(struct build_ctx *bc, const struct pv *v, size_t i,
                         int64_t **out, size_t *n)
{
        if (!build_is_built_array(v) || v->u.arr->ndim != 1 ||
            !strchr("iu", v->u.arr->dtype->kind))
                return build_fail(bc, -EINVAL,
                                  "estimators_features_[%zu]: expected a 1-D integer array, "
                                  "found %s",
                                  i, pv_kind_name(v));
        const struct pv_array *a = v->u.arr;
        int rc = build_charge(bc, a->count * sizeof(size_t), "estimators_features_");
        if (rc < 0)
                return rc;
        int64_t *f = malloc((a->count ? a->count : 1) * sizeof(int64_t));
        if (!f)
                return build_fail(bc, -ENOMEM, "out of memory reading estimators_features_");
        for (size_t k = 0; k < a->count; k++) {
                if (!numpy_get_i64(a->dtype, a->data + k * a->dtype->itemsize, &f[k])) {
                        free(f);
                        return build_fail(bc, -EINVAL,
                                          "estimators_features_[%zu][%zu] is out of range",
                                          i, k);
                }
        }
        *out = f;
        *n = a->count;
        return 0;
}

static int build_bagging(struct build_ctx *bc, const struct pv *obj, struct model **out,
                         bool classifier)
{
        struct model_bagging_params p = { .classifier = classifier, .n_jobs = 1 };
        struct build_labels labels = { 0 };
        struct members m = { 0 };
        const struct pv *feats = NULL, *jobs;
        int64_t **features = NULL, n_est = 0, n_in = 0;
        size_t *n_feat = NULL, n_members = 0;
        struct model_error me;
        int rc;

        if ((classifier && (rc = build_read_labels(bc, obj, &labels)) < 0) ||
            (rc = build_attr_int(bc, obj, "n_estimators", &n_est)) < 0 ||
            (rc = build_attr_int(bc, obj, "n_features_in_", &n_in)) < 0 ||
            (rc = build_members(bc, obj, "estimators_", &m)) < 0 ||
            (rc = build_need_attr(bc, obj, "estimators_features_", &feats)) < 0)
                goto out;
        n_members = m.n;
        rc = -EINVAL;
        if (n_est <= 0 || (uint64_t)n_est != m.n || n_in <= 0) {
                build_fail(bc, rc,
                           "%s: expected n_estimators (%lld) fitted members and a positive "
                           "n_features_in_, found %zu and %lld",
                           build_cls_name(obj), (long long)n_est, m.n, (long long)n_in);
                goto out;
        }
        if ((feats->kind != PV_LIST && feats->kind != PV_TUPLE) || feats->u.seq.len != m.n) {
                build_fail(bc, rc,
                           "%s.estimators_features_: expected a list of %zu arrays, found %s",
                           build_cls_name(obj), m.n, pv_kind_name(feats));
                goto out;
        }
        /* joblib's jobs sum apart; a negative n_jobs depends on the CPUs of
         * the machine that predicts, which no file records: one job */
        jobs = build_attr(bc, obj, "n_jobs");
        if (jobs && jobs->kind == PV_INT && jobs->u.i > 0)
                p.n_jobs = (size_t)jobs->u.i;
        features = calloc(m.n, sizeof(*features));
        n_feat = calloc(m.n, sizeof(*n_feat));
        if (!features || !n_feat) {
                rc = build_fail(bc, -ENOMEM, "out of memory for estimators_features_");
                goto out;
        }
        for (size_t i = 0; i < m.n; i++)
                if ((rc = read_features(bc, feats->u.seq.items[i], i, &features[i],
                                        &n_feat[i])) < 0)
                        goto out;
        p.n_estimators = (size_t)n_est;
        p.n_features = (size_t)n_in;
        p.features = (const int64_t *const *)features;
        p.n_feat = n_feat;
        rc = model_bagging_create(&p, m.v, m.n, labels.v, labels.n, out, &me);
        free(m.v); /* the model took (or freed) the members */
        memset(&m, 0, sizeof(m));
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        for (size_t i = 0; features && i < n_members; i++)
                free(features[i]);
        free(features);
        free(n_feat);
        members_free(&m);
        build_labels_free(&labels);
        return rc;
}

static int build_bagging_clf(struct build_ctx *bc, const struct pv *obj,
                             struct model **out)
{
        return build_bagging(bc, obj, out, true);
}

static int build_bagging_reg(struct build_ctx *bc, const struct pv *obj,
                             struct model **out)
{
        return build_bagging(bc, obj, out, false);
}

const struct build_entry build_ensemble_entries[] = {
        ENTRY("sklearn.ensemble._voting", "VotingClassifier", build_voting_clf),
        ENTRY("sklearn.ensemble._voting", "VotingRegressor", build_voting_reg),
        /* before 0.22 the modules were public (voting, bagging, label) */
        ENTRY("sklearn.ensemble.voting", "VotingClassifier", build_voting_clf),
        ENTRY("sklearn.ensemble.voting", "VotingRegressor", build_voting_reg),
        ENTRY("sklearn.ensemble.bagging", "BaggingClassifier", build_bagging_clf),
        ENTRY("sklearn.ensemble.bagging", "BaggingRegressor", build_bagging_reg),
        ENTRY("sklearn.preprocessing.label", "LabelEncoder", NULL),
        ENTRY("sklearn.ensemble._stacking", "StackingClassifier", build_stacking_clf),
        ENTRY("sklearn.ensemble._stacking", "StackingRegressor", build_stacking_reg),
        /* le_ / _label_encoder: read for its classes_, never served */
        ENTRY("sklearn.calibration", "CalibratedClassifierCV", build_calibrated),
        ENTRY("sklearn.ensemble._bagging", "BaggingClassifier", build_bagging_clf),
        ENTRY("sklearn.ensemble._bagging", "BaggingRegressor", build_bagging_reg),
        ENTRY("sklearn.preprocessing._label", "LabelEncoder", NULL),
        /* parts of CalibratedClassifierCV */
        ENTRY("sklearn.calibration", "_CalibratedClassifier", NULL),
        ENTRY("sklearn.calibration", "_SigmoidCalibration", NULL),
        ENTRY("sklearn.isotonic", "IsotonicRegression", NULL),
        /* named_estimators_: a dict subclass repeating estimators_, kept
         * as inert data */
        { { "sklearn.utils._bunch", "Bunch", ROLE_INERT, NULL }, NULL },
        { { "sklearn.utils", "Bunch", ROLE_INERT, NULL }, NULL },
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
