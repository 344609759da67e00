/* build_kernel.c - builders for the kernel family: libsvm's SVC, NuSVC,
 * SVR, NuSVR and OneClassSVM, and KNeighborsClassifier/Regressor. SVMs read libsvm's own view of the model
 * (_dual_coef_, _intercept_, _n_support, _gamma, _probA, _probB), not the
 * public attributes scikit-learn sign-flips for binary classifiers, so
 * that model/ can compute exactly what libsvm computes. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

/* Everything read from an SVM's state, freed together. */
struct svm_parts {
        double *sv, *dual, *icpt, *prob_a, *prob_b, *nsup_f;
        size_t *nsup;
        size_t n_sv, nf;
        struct build_labels labels;
};

static void svm_parts_free(struct svm_parts *p)
{
        free(p->sv);
        free(p->dual);
        free(p->icpt);
        free(p->prob_a);
        free(p->prob_b);
        free(p->nsup_f);
        free(p->nsup);
        build_labels_free(&p->labels);
}

/* A number attribute (Python float or int, or a numpy scalar). */
static int read_number(struct build_ctx *bc, const struct pv *obj, const char *name,
                       double *out)
{
        const struct pv *v = NULL;
        int rc = build_need_attr(bc, obj, name, &v);
        if (rc < 0)
                return rc;
        double x;
        if (v->kind == PV_FLOAT)
                x = v->u.f;
        else if (v->kind == PV_INT)
                x = (double)v->u.i;
        else if (v->kind == PV_BOOL)
                x = v->u.b ? 1.0 : 0.0;
        else
                return build_fail(bc, -EINVAL, "%s.%s: expected a number, found %s",
                                  build_cls_name(obj), name, pv_kind_name(v));
        if (!isfinite(x))
                return build_fail(bc, -EINVAL, "%s.%s is not a finite number",
                                  build_cls_name(obj), name);
        *out = x;
        return 0;
}

static int read_kernel(struct build_ctx *bc, const struct pv *obj,
                       enum model_svm_kernel *out)
{
        static const struct {
                const char *name;
                enum model_svm_kernel k;
        } kernels[] = {
                { "linear", MODEL_SVM_LINEAR },
                { "poly", MODEL_SVM_POLY },
                { "rbf", MODEL_SVM_RBF },
                { "sigmoid", MODEL_SVM_SIGMOID },
        };
        const struct pv *v = NULL;
        int rc = build_need_attr(bc, obj, "kernel", &v);
        if (rc < 0)
                return rc;
        for (size_t i = 0; i < sizeof(kernels) / sizeof(kernels[0]); i++) {
                if (pv_is_str(v, kernels[i].name)) {
                        *out = kernels[i].k;
                        return 0;
                }
        }
        return build_fail(bc, -EINVAL,
                          "%s.kernel: expected 'linear', 'poly', 'rbf' or 'sigmoid', "
                          "found %s%s%.40s%s (precomputed and callable kernels are not "
                          "supported)", build_cls_name(obj), pv_kind_name(v),
                          v->kind == PV_STR ? " '" : "", v->kind == PV_STR ? v->u.s.data : "",
                          v->kind == PV_STR ? "'" : "");
}

/* Kernel parameters, support vectors and libsvm's coefficients, with
 * their shapes checked against each other: coef_rows x n_sv dual
 * coefficients and n_icpt intercepts. */
static int read_common(struct build_ctx *bc, const struct pv *obj,
                       struct model_svm_params *sp, struct svm_parts *p,
                       size_t coef_rows, size_t n_icpt)
{
        const char *who = build_cls_name(obj);
        size_t r = 0, c = 0;
        double degree = 0.0;
        int rc;
        if (build_attr_bool(bc, obj, "_sparse", false))
                return build_fail(bc, -EINVAL, "%s: fitted on sparse input (not supported)",
                                  who);
        if ((rc = read_kernel(bc, obj, &sp->kernel)) < 0 ||
            (rc = read_number(bc, obj, "_gamma", &sp->gamma)) < 0 ||
            (rc = read_number(bc, obj, "coef0", &sp->coef0)) < 0 ||
            (rc = read_number(bc, obj, "degree", &degree)) < 0)
                return rc;
        if (sp->kernel == MODEL_SVM_POLY &&
            (degree != floor(degree) || degree < 0 || degree > MODEL_SVM_MAX_DEGREE))
                return build_fail(bc, -EINVAL, "%s.degree: expected a whole number in 0..%d, "
                                  "found %g", who, MODEL_SVM_MAX_DEGREE, degree);
        sp->degree = sp->kernel == MODEL_SVM_POLY ? (int)degree : 0;
        if ((rc = build_attr_f64(bc, obj, "support_vectors_", 2, &p->sv, &p->n_sv,
                                 &p->nf)) < 0)
                return rc;
        if (p->nf == 0)
                return build_fail(bc, -EINVAL, "%s.support_vectors_: expected at least one "
                                  "feature, found none", who);
        if ((rc = build_check_n_features(bc, obj, p->nf)) < 0 ||
            (rc = build_charge(bc, p->n_sv * p->nf * sizeof(double), who)) < 0)
                return rc;
        if ((rc = build_attr_f64(bc, obj, "_dual_coef_", 2, &p->dual, &r, &c)) < 0)
                return rc;
        if (r != coef_rows || c != p->n_sv)
                return build_fail(bc, -EINVAL, "%s._dual_coef_: expected %zu x %zu, found "
                                  "%zu x %zu", who, coef_rows, p->n_sv, r, c);
        if ((rc = build_attr_f64(bc, obj, "_intercept_", 1, &p->icpt, &r, &c)) < 0)
                return rc;
        if (r != n_icpt)
                return build_fail(bc, -EINVAL, "%s._intercept_: expected %zu values, found %zu",
                                  who, n_icpt, r);
        sp->name = who;
        sp->n_sv = p->n_sv;
        sp->sv = p->sv;
        sp->dual_coef = p->dual;
        sp->intercept = p->icpt;
        return build_charge(bc, (coef_rows * p->n_sv + n_icpt) * sizeof(double), who);
}

/* _n_support (n_support_ before 0.23 kept it public): whole counts. */
static int read_n_support(struct build_ctx *bc, const struct pv *obj, size_t nc,
                          struct svm_parts *p)
{
        const char *who = build_cls_name(obj);
        const char *name = build_attr(bc, obj, "_n_support") ? "_n_support" : "n_support_";
        size_t n = 0, one = 0, total = 0;
        int rc = build_attr_f64(bc, obj, name, 1, &p->nsup_f, &n, &one);
        if (rc < 0)
                return rc;
        if (n != nc)
                return build_fail(bc, -EINVAL, "%s.%s: expected %zu counts, found %zu", who,
                                  name, nc, n);
        if (!(p->nsup = malloc(nc * sizeof(size_t))))
                return build_fail(bc, -ENOMEM, "out of memory reading %s", name);
        for (size_t i = 0; i < nc; i++) {
                double x = p->nsup_f[i];
                if (x < 0 || x != floor(x) || x > (double)p->n_sv)
                        return build_fail(bc, -EINVAL, "%s.%s[%zu]: expected a count of at "
                                          "most %zu, found %g", who, name, i, p->n_sv, x);
                p->nsup[i] = (size_t)x;
                total += p->nsup[i];
        }
        if (total != p->n_sv)
                return build_fail(bc, -EINVAL, "%s.%s: expected counts summing to the %zu "
                                  "support vectors, found %zu", who, name, p->n_sv, total);
        return 0;
}

/* probA/probB when predict_proba is available: probability is True (1.9
 * may hold the string 'deprecated') and libsvm fitted one pair per class
 * pair; an empty pair means it was not fitted. */
static int read_proba(struct build_ctx *bc, const struct pv *obj, size_t n_pairs,
                      struct model_svm_params *sp, struct svm_parts *p)
{
        const char *who = build_cls_name(obj);
        const struct pv *prob = build_attr(bc, obj, "probability");
        size_t na = 0, nb = 0, one = 0;
        int rc;
        if (!prob || prob->kind != PV_BOOL || !prob->u.b)
                return 0;
        const char *an = build_attr(bc, obj, "_probA") ? "_probA" : "probA_";
        const char *bn = build_attr(bc, obj, "_probB") ? "_probB" : "probB_";
        if ((rc = build_attr_f64(bc, obj, an, 1, &p->prob_a, &na, &one)) < 0 ||
            (rc = build_attr_f64(bc, obj, bn, 1, &p->prob_b, &nb, &one)) < 0)
                return rc;
        if (na == 0 || nb == 0)
                return 0;
        if (na != n_pairs || nb != n_pairs)
                return build_fail(bc, -EINVAL, "%s: expected %zu Platt parameters per "
                                  "array, found %zu and %zu", who, n_pairs, na, nb);
        sp->prob_a = p->prob_a;
        sp->prob_b = p->prob_b;
        return build_charge(bc, 2 * n_pairs * sizeof(double), who);
}

/* SVC and NuSVC. */
static int build_svc(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        struct svm_parts p = { 0 };
        struct model_svm_params sp = { .kind = MODEL_SVM_SVC };
        struct model_error me;
        const char *who = build_cls_name(obj);
        int rc;
        if ((rc = build_read_labels(bc, obj, &p.labels)) < 0)
                goto out;
        size_t nc = p.labels.n;
        if (nc < 2 || nc > 512) {
                rc = build_fail(bc, -EINVAL, "%s.classes_: expected 2 to 512 classes, found %zu",
                                who, nc);
                goto out;
        }
        size_t n_pairs = nc * (nc - 1) / 2;
        const struct pv *shape = build_attr(bc, obj, "decision_function_shape");
        if (pv_is_str(shape, "ovr")) {
                sp.ovr = true;
        } else if (!pv_is_str(shape, "ovo")) {
                rc = build_fail(bc, -EINVAL, "%s.decision_function_shape: expected 'ovr' or "
                                "'ovo', found %s", who, shape ? pv_kind_name(shape) : "nothing");
                goto out;
        }
        sp.break_ties = build_attr_bool(bc, obj, "break_ties", false);
        if (sp.break_ties && !sp.ovr) {
                /* scikit-learn's predict raises ValueError for this pair */
                rc = build_fail(bc, -EINVAL, "%s: break_ties must be False when "
                                "decision_function_shape is 'ovo'", who);
                goto out;
        }
        if ((rc = read_common(bc, obj, &sp, &p, nc - 1, n_pairs)) < 0 ||
            (rc = read_n_support(bc, obj, nc, &p)) < 0 ||
            (rc = read_proba(bc, obj, n_pairs, &sp, &p)) < 0 ||
            (rc = build_charge(bc, 2 * nc * nc * sizeof(double), who)) < 0)
                goto out;
        sp.n_support = p.nsup;
        rc = model_svm_create(&sp, p.nf, p.labels.v, nc, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        svm_parts_free(&p);
        return rc;
}

/* OneClassSVM's offset_ (score_samples = decision_function + offset_),
 * one value, when the file has it (from 0.20; without it, as then, the
 * model has no score_samples). */
static int read_offset(struct build_ctx *bc, const struct pv *obj,
                       struct model_svm_params *sp, double **offset)
{
        size_t n = 0, one = 0;
        if (!build_attr(bc, obj, "offset_"))
                return 0;
        int rc = build_attr_f64(bc, obj, "offset_", 1, offset, &n, &one);
        if (rc < 0)
                return rc;
        if (n != 1)
                return build_fail(bc, -EINVAL, "%s.offset_: expected 1 value, found %zu",
                                  build_cls_name(obj), n);
        sp->offset = *offset;
        return 0;
}

/* SVR, NuSVR and OneClassSVM: one row of coefficients, one intercept. */
static int build_one_output(struct build_ctx *bc, const struct pv *obj,
                            enum model_svm_kind kind, struct model **out)
{
        struct svm_parts p = { 0 };
        struct model_svm_params sp = { .kind = kind };
        struct model_error me;
        double *offset = NULL;
        int rc = read_common(bc, obj, &sp, &p, 1, 1);
        if (rc < 0 || (kind == MODEL_SVM_ONE_CLASS &&
                       (rc = read_offset(bc, obj, &sp, &offset)) < 0))
                goto out;
        rc = model_svm_create(&sp, p.nf, NULL, 0, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        free(offset);
        svm_parts_free(&p);
        return rc;
}

static int build_svr(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        return build_one_output(bc, obj, MODEL_SVM_SVR, out);
}

static int build_one_class(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        return build_one_output(bc, obj, MODEL_SVM_ONE_CLASS, out);
}

/* --- nearest neighbours ------------------------------------------- */

/* effective_metric_ as p: euclidean 2, manhattan 1, minkowski with p 1
 * or 2 (from effective_metric_params_ or p); anything else, or other
 * metric parameters (weights w other than None), is refused. */
static int read_knn_metric(struct build_ctx *bc, const struct pv *obj, int *out)
{
        const char *who = build_cls_name(obj);
        const struct pv *m = NULL;
        int rc = build_need_attr(bc, obj, "effective_metric_", &m);
        if (rc < 0)
                return rc;
        const struct pv *params = build_attr(bc, obj, "effective_metric_params_");
        const struct pv *pp = NULL;
        if (params && params->kind == PV_DICT) {
                pp = build_state_get(bc, params, "p");
                /* scikit-learn records w=None beside p for minkowski */
                const struct pv *wt = build_state_get(bc, params, "w");
                size_t known = (pp ? 1u : 0u) + (wt && wt->kind == PV_NONE ? 1u : 0u);
                if (params->u.dict.len > known)
                        return build_fail(bc, -EINVAL, "%s.effective_metric_params_: only p is "
                                          "supported, found %zu parameters", who,
                                          params->u.dict.len);
        } else if (params && params->kind != PV_NONE) {
                return build_fail(bc, -EINVAL, "%s.effective_metric_params_: expected a dict, "
                                  "found %s", who, pv_kind_name(params));
        }
        if (pv_is_str(m, "euclidean") || pv_is_str(m, "l2")) {
                *out = 2;
                return 0;
        }
        if (pv_is_str(m, "manhattan") || pv_is_str(m, "l1") || pv_is_str(m, "cityblock")) {
                *out = 1;
                return 0;
        }
        if (pv_is_str(m, "minkowski")) {
                if (!pp)
                        pp = build_attr(bc, obj, "p");
                double p = pp && pp->kind == PV_INT ? (double)pp->u.i :
                           pp && pp->kind == PV_FLOAT ? pp->u.f : 0.0;
                if (p == 1.0 || p == 2.0) {
                        *out = (int)p;
                        return 0;
                }
                return build_fail(bc, -EINVAL, "%s: minkowski metric with p other than 1 or 2 "
                                  "is not supported", who);
        }
        return build_fail(bc, -EINVAL, "%s.effective_metric_: expected 'euclidean', "
                          "'manhattan' or 'minkowski', found %s%s%.40s%s", who, pv_kind_name(m),
                          m->kind == PV_STR ? " '" : "", m->kind == PV_STR ? m->u.s.data : "",
                          m->kind == PV_STR ? "'" : "");
}

/* The arrays of a KNeighbors model's pickled search tree, owned by the
 * builder until model_knn_create has copied them. */
struct knn_tree_buf {
        struct model_knn_tree t;
        int64_t *idx, *start, *end;
        bool *leaf;
        double *radius, *bounds;
};

static void knn_tree_buf_free(struct knn_tree_buf *b)
{
        free(b->idx);
        free(b->start);
        free(b->end);
        free(b->leaf);
        free(b->radius);
        free(b->bounds);
}

/* The float64 array v of the given shape (ndim 1..3) into a new buffer. */
static double *tree_f64(const struct pv *v, size_t ndim, const size_t *shape)
{
        if (!build_is_built_array(v) || v->u.arr->ndim != ndim || v->u.arr->dtype->kind != 'f')
                return NULL;
        for (size_t d = 0; d < ndim; d++)
                if (v->u.arr->shape[d] != shape[d])
                        return NULL;
        const struct pv_array *a = v->u.arr;
        double *out = malloc((a->count ? a->count : 1) * sizeof(double));
        if (out)
                numpy_copy_f64(a, out);
        return out;
}

/* _tree: newObj(KDTree or BallTree) with the state tuple (data,
 * idx_array, node_data, node_bounds, ...). 1 when it is absent or not in
 * that form (the search is then brute force, refusing boundary ties as
 * before), 0 when read into b, or a negative errno. */
static int read_knn_tree(struct build_ctx *bc, const struct pv *obj, size_t n, size_t nf,
                         struct knn_tree_buf *b)
{
        const struct pv *tr = build_attr(bc, obj, "_tree");
        if (!tr || tr->kind != PV_OBJECT || !tr->u.obj.args ||
            tr->u.obj.args->kind != PV_TUPLE || tr->u.obj.args->u.seq.len != 1 ||
            tr->u.obj.args->u.seq.items[0]->kind != PV_GLOBAL || !tr->u.obj.state ||
            tr->u.obj.state->kind != PV_TUPLE || tr->u.obj.state->u.seq.len < 4)
                return 1;
        const char *cls = tr->u.obj.args->u.seq.items[0]->u.global->name;
        bool ball = strcmp(cls, "BallTree") == 0 || strcmp(cls, "BallTree64") == 0;
        if (!ball && strcmp(cls, "KDTree") != 0 && strcmp(cls, "KDTree64") != 0)
                return 1;
        struct pv **st = tr->u.obj.state->u.seq.items;
        const struct pv *ia = st[1], *nd = st[2];
        if (!build_is_built_array(ia) || ia->u.arr->ndim != 1 || ia->u.arr->count != n ||
            !strchr("iu", ia->u.arr->dtype->kind) || !build_is_built_array(nd) ||
            nd->u.arr->ndim != 1 || !nd->u.arr->dtype->n_fields)
                return 1;
        const struct pv_dtype *dt = nd->u.arr->dtype;
        int fs = build_field_index(dt, "idx_start"), fe = build_field_index(dt, "idx_end");
        int fl = build_field_index(dt, "is_leaf"), fr = build_field_index(dt, "radius");
        if (fs < 0 || fe < 0 || fl < 0 || fr < 0 || !strchr("iu", dt->field_types[fs]->kind) ||
            !strchr("iu", dt->field_types[fe]->kind) || !strchr("iub", dt->field_types[fl]->kind) ||
            dt->field_types[fr]->kind != 'f')
                return 1;
        size_t nn = nd->u.arr->count;
        size_t shape[3] = { ball ? 1 : 2, nn, nf };
        int rc = build_charge(bc, nn * (3 * sizeof(int64_t) + sizeof(double) + 1) +
                              n * sizeof(int64_t) + shape[0] * nn * nf * sizeof(double),
                              "KNeighbors _tree");
        if (rc < 0)
                return rc;
        b->idx = malloc((n ? n : 1) * sizeof(int64_t));
        b->start = malloc((nn ? nn : 1) * sizeof(int64_t));
        b->end = malloc((nn ? nn : 1) * sizeof(int64_t));
        b->leaf = malloc((nn ? nn : 1) * sizeof(bool));
        b->radius = malloc((nn ? nn : 1) * sizeof(double));
        b->bounds = tree_f64(st[3], 3, shape);
        if (!b->idx || !b->start || !b->end || !b->leaf || !b->radius) {
                knn_tree_buf_free(b);
                *b = (struct knn_tree_buf){ 0 };
                return build_fail(bc, -ENOMEM, "out of memory for a KNeighbors tree");
        }
        if (!b->bounds) {
                knn_tree_buf_free(b);
                *b = (struct knn_tree_buf){ 0 };
                return 1;
        }
        for (size_t i = 0; i < n; i++)
                numpy_get_i64(ia->u.arr->dtype, ia->u.arr->data + i * ia->u.arr->dtype->itemsize,
                              &b->idx[i]);
        for (size_t i = 0; i < nn; i++) {
                const uint8_t *rec = nd->u.arr->data + i * dt->itemsize;
                int64_t leaf = 0;
                numpy_get_i64(dt->field_types[fs], rec + dt->field_offsets[fs], &b->start[i]);
                numpy_get_i64(dt->field_types[fe], rec + dt->field_offsets[fe], &b->end[i]);
                numpy_get_i64(dt->field_types[fl], rec + dt->field_offsets[fl], &leaf);
                numpy_get_f64(dt->field_types[fr], rec + dt->field_offsets[fr], &b->radius[i]);
                b->leaf[i] = leaf != 0;
        }
        b->t = (struct model_knn_tree){
                .ball = ball, .n_nodes = nn, .idx = b->idx, .start = b->start, .end = b->end,
                .leaf = b->leaf, .radius = ball ? b->radius : NULL, .bounds = b->bounds,
        };
        return 0;
}

/* The common part of both neighbours estimators: _fit_X, n_neighbors,
 * weights and metric. *fit_own: the copy of _fit_X to free, NULL when
 * kp->fit_x reads it in the stream. *y, *y_rows, *y_cols: _y as read. */
static int read_knn(struct build_ctx *bc, const struct pv *obj,
                    struct model_knn_params *kp, double **fit_own, size_t *nf,
                    double **y, size_t *y_rows, size_t *y_cols, struct knn_tree_buf *tb)
{
        const char *who = build_cls_name(obj);
        const struct pv *w = NULL;
        int64_t k = 0;
        int rc;
        if ((rc = build_need_attr(bc, obj, "weights", &w)) < 0)
                return rc;
        if (pv_is_str(w, "distance"))
                kp->distance = true;
        else if (!pv_is_str(w, "uniform") && w->kind != PV_NONE)
                return build_fail(bc, -EINVAL, "%s.weights: expected 'uniform' or 'distance', "
                                  "found %s (callable weights are not supported)", who,
                                  pv_kind_name(w));
        if ((rc = read_knn_metric(bc, obj, &kp->p)) < 0 ||
            (rc = build_attr_int(bc, obj, "n_neighbors", &k)) < 0 ||
            (rc = build_attr_f64_view(bc, obj, "_fit_X", 2, &kp->fit_x, fit_own, &kp->n_samples,
                                      nf)) < 0)
                return rc;
        if (*nf == 0 || kp->n_samples == 0 || k < 1 || (uint64_t)k > kp->n_samples)
                return build_fail(bc, -EINVAL, "%s: expected 1 <= n_neighbors <= %zu samples "
                                  "of at least one feature, found n_neighbors %lld and %zu "
                                  "features", who, kp->n_samples, (long long)k, *nf);
        kp->k = (size_t)k;
        const struct pv *method = build_attr(bc, obj, "_fit_method");
        kp->expanded_distances = pv_is_str(method, "brute") && build_saved_before(bc, obj, 1, 0);
        kp->tree_distances = pv_is_str(method, "kd_tree") || pv_is_str(method, "ball_tree");
        kp->name = who;
        if (kp->tree_distances) {
                if ((rc = read_knn_tree(bc, obj, kp->n_samples, *nf, tb)) < 0)
                        return rc;
                kp->tree = rc == 0 ? &tb->t : NULL;
        }
        if ((rc = build_check_n_features(bc, obj, *nf)) < 0 ||
            (rc = build_charge(bc, kp->n_samples * (*nf + 2) * sizeof(double), who)) < 0 ||
            (rc = build_attr_f64(bc, obj, "_y", 0, y, y_rows, y_cols)) < 0)
                return rc;
        if (*y_rows != kp->n_samples)
                return build_fail(bc, -EINVAL, "%s._y: expected %zu rows, found %zu", who,
                                  kp->n_samples, *y_rows);
        return build_charge(bc, *y_rows * *y_cols * sizeof(double), who);
}

/* Sample i's class index in column j of _y (yc columns). */
static int knn_class_index(struct build_ctx *bc, const char *who, const double *y, size_t yc,
                           size_t i, size_t j, size_t n_classes, size_t *out)
{
        double v = y[i * yc + j];
        if (v < 0 || v != floor(v) || v >= (double)n_classes)
                return build_fail(bc, -EINVAL, "%s._y[%zu, %zu]: expected a class index below "
                                  "%zu, found %g", who, i, j, n_classes, v);
        *out = (size_t)v;
        return 0;
}

/* A KNeighborsClassifier fitted on k outputs (outputs_2d_): one
 * single-output classifier per column of _y, with that output's classes,
 * as predict and predict_proba loop over the outputs. */
static int build_knn_outputs(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        const char *who = build_cls_name(obj);
        size_t k = build_n_class_outputs(bc, obj), nf = 0, yr = 0, yc = 0, made = 0;
        struct model_knn_params kp = { 0 };
        struct knn_tree_buf tb = { 0 };
        struct model_error me;
        struct build_labels labels = { 0 };
        struct model **outs = NULL;
        double *fit_own = NULL, *y = NULL;
        size_t *idx = NULL;
        const struct pv *cl = build_attr(bc, obj, "classes_");
        int rc;
        if ((rc = read_knn(bc, obj, &kp, &fit_own, &nf, &y, &yr, &yc, &tb)) < 0)
                goto out;
        if (k < 2 || yc != k) {
                rc = build_fail(bc, -EINVAL, "%s: expected classes_ and _y for the same 2 or "
                                "more outputs, found %zu and %zu", who, k, yc);
                goto out;
        }
        if ((rc = build_charge(bc, k * kp.n_samples * (nf + 2) * sizeof(double), who)) < 0)
                goto out;
        outs = calloc(k, sizeof(*outs));
        idx = malloc(yr * sizeof(size_t));
        if (!outs || !idx) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu outputs", k);
                goto out;
        }
        for (; made < k; made++) {
                if ((rc = build_labels_of(bc, obj, cl->u.seq.items[made], &labels)) < 0)
                        goto out;
                for (size_t i = 0; i < yr; i++)
                        if ((rc = knn_class_index(bc, who, y, yc, i, made, labels.n,
                                                  &idx[i])) < 0)
                                goto out;
                kp.y_idx = idx;
                rc = model_knn_create(&kp, nf, 0, labels.v, labels.n, &outs[made], &me);
                build_labels_free(&labels);
                if (rc < 0) {
                        build_model_error(bc, rc, &me);
                        goto out;
                }
        }
        rc = model_multioutput_create(who, outs, k, out, &me);
        made = 0; /* taken, also on failure */
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        for (size_t j = 0; outs && j < made; j++)
                model_free(outs[j]);
        build_labels_free(&labels);
        free(outs);
        free(fit_own);
        knn_tree_buf_free(&tb);
        free(y);
        free(idx);
        return rc;
}

static int build_knn_classifier(struct build_ctx *bc, const struct pv *obj,
                                struct model **out)
{
        const char *who = build_cls_name(obj);
        struct model_knn_params kp = { 0 };
        struct knn_tree_buf tb = { 0 };
        struct build_labels labels = { 0 };
        struct model_error me;
        double *fit_own = NULL, *y = NULL;
        size_t *idx = NULL, nf = 0, yr = 0, yc = 0;
        int rc;
        if (build_attr_bool(bc, obj, "outputs_2d_", false))
                return build_knn_outputs(bc, obj, out);
        if ((rc = read_knn(bc, obj, &kp, &fit_own, &nf, &y, &yr, &yc, &tb)) < 0 ||
            (rc = build_read_labels(bc, obj, &labels)) < 0)
                goto out;
        if (yc != 1) {
                rc = build_fail(bc, -EINVAL, "%s._y: expected one label per sample", who);
                goto out;
        }
        if (!(idx = malloc(yr * sizeof(size_t)))) {
                rc = build_fail(bc, -ENOMEM, "out of memory reading _y");
                goto out;
        }
        for (size_t i = 0; i < yr; i++)
                if ((rc = knn_class_index(bc, who, y, 1, i, 0, labels.n, &idx[i])) < 0)
                        goto out;
        kp.y_idx = idx;
        rc = model_knn_create(&kp, nf, 0, labels.v, labels.n, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        free(fit_own);
        knn_tree_buf_free(&tb);
        free(y);
        free(idx);
        build_labels_free(&labels);
        return rc;
}

static int build_knn_regressor(struct build_ctx *bc, const struct pv *obj,
                               struct model **out)
{
        struct model_knn_params kp = { 0 };
        struct knn_tree_buf tb = { 0 };
        struct model_error me;
        double *fit_own = NULL, *y = NULL;
        size_t nf = 0, yr = 0, yc = 0;
        int rc = read_knn(bc, obj, &kp, &fit_own, &nf, &y, &yr, &yc, &tb);
        if (rc < 0)
                goto out;
        kp.y = y;
        rc = model_knn_create(&kp, nf, yc, NULL, 0, out, &me);
        if (rc < 0) {
                build_model_error(bc, rc, &me);
                goto out;
        }
        /* predict ravels only a 1-D _y */
        const struct pv *ya = build_attr(bc, obj, "_y");
        model_set_outputs_2d(*out, build_is_built_array(ya) && ya->u.arr->ndim == 2);
out:
        free(fit_own);
        knn_tree_buf_free(&tb);
        free(y);
        return rc;
}

#define INERT(module, name) { { module, name, ROLE_INERT, NULL }, NULL }

#define ENTRY(module, name, fn) { { module, name, ROLE_ESTIMATOR, name }, fn }

/* Modules as the pickles of 1.2, 1.4 and 1.9 name them (pickletools),
 * and the public module before 0.22. */
const struct build_entry build_kernel_entries[] = {
        ENTRY("sklearn.svm._classes", "SVC", build_svc),
        ENTRY("sklearn.svm.classes", "SVC", build_svc),
        ENTRY("sklearn.svm._classes", "NuSVC", build_svc),
        ENTRY("sklearn.svm.classes", "NuSVC", build_svc),
        ENTRY("sklearn.svm._classes", "SVR", build_svr),
        ENTRY("sklearn.svm.classes", "SVR", build_svr),
        ENTRY("sklearn.svm._classes", "NuSVR", build_svr),
        ENTRY("sklearn.svm.classes", "NuSVR", build_svr),
        ENTRY("sklearn.svm._classes", "OneClassSVM", build_one_class),
        ENTRY("sklearn.svm.classes", "OneClassSVM", build_one_class),
        ENTRY("sklearn.neighbors._classification", "KNeighborsClassifier",
              build_knn_classifier),
        ENTRY("sklearn.neighbors.classification", "KNeighborsClassifier",
              build_knn_classifier),
        ENTRY("sklearn.neighbors._regression", "KNeighborsRegressor", build_knn_regressor),
        ENTRY("sklearn.neighbors.regression", "KNeighborsRegressor", build_knn_regressor),
        /* Parts, never read: the search tree (_tree) and its distance
         * metric, which Cython pickles as newObj(cls) plus a state tuple;
         * predictions are made by brute force over _fit_X. */
        INERT("sklearn.neighbors._kd_tree", "newObj"),
        INERT("sklearn.neighbors._kd_tree", "KDTree"),
        INERT("sklearn.neighbors._ball_tree", "newObj"),
        INERT("sklearn.neighbors._ball_tree", "BallTree"),
        /* before 1.1 the metrics lived in sklearn.neighbors; before 0.22
         * the trees and metrics were public modules */
        INERT("sklearn.neighbors._dist_metrics", "newObj"),
        INERT("sklearn.neighbors._dist_metrics", "EuclideanDistance"),
        INERT("sklearn.neighbors._dist_metrics", "ManhattanDistance"),
        INERT("sklearn.neighbors.dist_metrics", "newObj"),
        INERT("sklearn.neighbors.dist_metrics", "EuclideanDistance"),
        INERT("sklearn.neighbors.dist_metrics", "ManhattanDistance"),
        INERT("sklearn.neighbors.kd_tree", "newObj"),
        INERT("sklearn.neighbors.kd_tree", "KDTree"),
        INERT("sklearn.neighbors.ball_tree", "newObj"),
        INERT("sklearn.neighbors.ball_tree", "BallTree"),
        INERT("sklearn.metrics._dist_metrics", "newObj"),
        INERT("sklearn.metrics._dist_metrics", "EuclideanDistance"),
        INERT("sklearn.metrics._dist_metrics", "ManhattanDistance"),
        INERT("sklearn.metrics._dist_metrics", "EuclideanDistance64"),
        INERT("sklearn.metrics._dist_metrics", "ManhattanDistance64"),
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
