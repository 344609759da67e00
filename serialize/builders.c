/* builders.c - one builder per supported scikit-learn class: reads the
 * fitted attributes out of an inert object's state and hands plain arrays
 * to model/. Everything read is checked for kind, shape and consistency,
 * so that a file that is well-formed pickle but a nonsensical model is
 * refused here rather than computing garbage. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "serialize_internal.h"

static int bfail(struct build_ctx *bc, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int bfail(struct build_ctx *bc, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(bc->err->message, sizeof(bc->err->message), fmt, ap);
        va_end(ap);
        bc->err->offset = -1;
        return code;
}

static int from_model_error(struct build_ctx *bc, int rc,
                            const struct model_error *me)
{
        return bfail(bc, rc, "%s", me->message);
}

/* Counts native memory against max_model_bytes before it is allocated. */
static int charge(struct build_ctx *bc, size_t bytes, const char *what)
{
        if (bytes > bc->lim->max_model_bytes ||
            bc->model_bytes > bc->lim->max_model_bytes - bytes)
                return bfail(bc, -EFBIG,
                             "%s: the model needs more than the limit of %zu bytes",
                             what, bc->lim->max_model_bytes);
        bc->model_bytes += bytes;
        return 0;
}

static const char *cls_name(const struct pv *obj)
{
        return pv_kind_name(obj);
}

/* Builders may meet the same object many times through memo references
 * (a forest listing one tree a million times); counting every dict entry
 * scanned turns such a file into an error instead of hours of work. */
#define MAX_LOOKUPS ((size_t)1 << 27)
/* Step and feature names are copied into the model; a name longer than
 * this is no name but a way to multiply memory through references. */
#define MAX_NAME_BYTES 4096

static const struct pv *state_get(struct build_ctx *bc, const struct pv *dict,
                                  const char *name)
{
        if (!dict || dict->kind != PV_DICT)
                return NULL;
        bc->lookups += dict->u.dict.len;
        if (bc->lookups > MAX_LOOKUPS)
                return NULL;
        return pv_dict_get(dict, name);
}

static const struct pv *attr(struct build_ctx *bc, const struct pv *obj,
                             const char *name)
{
        return state_get(bc, obj->u.obj.state, name);
}

static int too_much_work(struct build_ctx *bc)
{
        return bfail(bc, -EFBIG,
                     "the model's object graph is too large to build (more than %zu "
                     "attribute entries scanned)",
                     MAX_LOOKUPS);
}

static bool is_built_array(const struct pv *v)
{
        return v && v->kind == PV_ARRAY && v->u.arr->built;
}

/* True when the estimator was saved by a scikit-learn older than
 * major.minor, or records no version (files from before 0.18). */
static bool saved_before(struct build_ctx *bc, const struct pv *obj, long major,
                         long minor)
{
        const struct pv *v = attr(bc, obj, "_sklearn_version");
        if (!v || v->kind != PV_STR)
                return true;
        char *end;
        long ma = strtol(v->u.s.data, &end, 10);
        long mi = *end == '.' ? strtol(end + 1, NULL, 10) : 0;
        return ma < major || (ma == major && mi < minor);
}

static int need_attr(struct build_ctx *bc, const struct pv *obj,
                     const char *name, const struct pv **out)
{
        const struct pv *v = attr(bc, obj, name);
        if (bc->lookups > MAX_LOOKUPS)
                return too_much_work(bc);
        if (!v)
                return bfail(bc, -EINVAL,
                             "%s has no %s: was it fitted before it was saved?",
                             cls_name(obj), name);
        *out = v;
        return 0;
}

static int attr_int(struct build_ctx *bc, const struct pv *obj,
                    const char *name, int64_t *out)
{
        const struct pv *v = NULL;
        int rc = need_attr(bc, obj, name, &v);
        if (rc < 0)
                return rc;
        if (v->kind != PV_INT && v->kind != PV_BOOL)
                return bfail(bc, -EINVAL, "%s.%s: expected an int, found %s",
                             cls_name(obj), name, pv_kind_name(v));
        *out = v->kind == PV_INT ? v->u.i : v->u.b;
        return 0;
}

static bool attr_bool(struct build_ctx *bc, const struct pv *obj,
                      const char *name, bool dflt)
{
        const struct pv *v = attr(bc, obj, name);
        if (v && v->kind == PV_BOOL)
                return v->u.b;
        if (v && v->kind == PV_INT)
                return v->u.i != 0;
        return dflt;
}

/* A numeric array attribute as malloc'd doubles; shape0 and shape1 get its
 * dimensions (1-D arrays report shape1 = 1). want_ndim 0 accepts 1 or 2. */
static int attr_f64(struct build_ctx *bc, const struct pv *obj,
                    const char *name, size_t want_ndim, double **out,
                    size_t *shape0, size_t *shape1)
{
        const struct pv *v = NULL;
        int rc = need_attr(bc, obj, name, &v);
        if (rc < 0)
                return rc;
        if (v->kind != PV_ARRAY || !v->u.arr->built)
                return bfail(bc, -EINVAL, "%s.%s: expected a numpy array, found %s",
                             cls_name(obj), name, pv_kind_name(v));
        const struct pv_array *a = v->u.arr;
        if (!strchr("fiub", a->dtype->kind) || a->dtype->n_fields ||
            (want_ndim && a->ndim != want_ndim) || a->ndim < 1 || a->ndim > 2)
                return bfail(bc, -EINVAL,
                             "%s.%s: expected a %s numeric array, found %zu-D of kind '%c'",
                             cls_name(obj), name,
                             want_ndim == 2 ? "2-D" : want_ndim == 1 ? "1-D" : "1-D or 2-D",
                             a->ndim, a->dtype->kind);
        double *d = malloc((a->count ? a->count : 1) * sizeof(double));
        if (!d)
                return bfail(bc, -ENOMEM, "out of memory reading %s", name);
        for (size_t i = 0; i < a->count; i++) {
                numpy_get_f64(a->dtype, a->data + i * a->dtype->itemsize, &d[i]);
                if (!isfinite(d[i])) {
                        free(d);
                        return bfail(bc, -EINVAL, "%s.%s[%zu] is not a finite number",
                                     cls_name(obj), name, i);
                }
        }
        *out = d;
        *shape0 = a->shape[0];
        *shape1 = a->ndim == 2 ? a->shape[1] : 1;
        return 0;
}

/* --- class labels ------------------------------------------------------ */

struct labels {
        struct model_label *v;
        char **owned; /* strings converted from numpy 'U' data */
        size_t n;
};

static void labels_free(struct labels *l)
{
        if (l->owned)
                for (size_t i = 0; i < l->n; i++)
                        free(l->owned[i]);
        free(l->owned);
        free(l->v);
        memset(l, 0, sizeof(*l));
}

static char *utf32_to_utf8(const uint8_t *p, size_t units, char byteorder)
{
        char *s = malloc(units * 4 + 1);
        if (s && pv_utf32_decode(p, units, byteorder, s) < 0) {
                free(s);
                s = NULL;
        }
        return s;
}

static int read_labels(struct build_ctx *bc, const struct pv *obj,
                       struct labels *out)
{
        const struct pv *v = NULL;
        int rc = need_attr(bc, obj, "classes_", &v);
        if (rc < 0)
                return rc;
        if (!is_built_array(v) || v->u.arr->ndim != 1)
                return bfail(bc, -EINVAL,
                             "%s.classes_: expected a 1-D array, found %s (multi-output "
                             "classifiers are not supported yet)",
                             cls_name(obj), pv_kind_name(v));
        const struct pv_array *a = v->u.arr;
        size_t label_bytes = a->count * (sizeof(struct model_label) +
                                         (a->dtype->kind == 'U' ? a->dtype->itemsize : 0));
        if ((rc = charge(bc, label_bytes, "classes_")) < 0)
                return rc;
        struct labels l = { 0 };
        l.n = a->count;
        l.v = calloc(a->count ? a->count : 1, sizeof(*l.v));
        if (!l.v)
                return bfail(bc, -ENOMEM, "out of memory reading classes_");
        const struct pv_dtype *dt = a->dtype;
        for (size_t i = 0; i < a->count; i++) {
                const uint8_t *p = a->data ? a->data + i * dt->itemsize : NULL;
                struct model_label *lab = &l.v[i];
                switch (dt->kind) {
                case 'i':
                case 'u':
                        lab->type = MODEL_LABEL_INT;
                        if (!numpy_get_i64(dt, p, &lab->v.i))
                                goto bad;
                        break;
                case 'f':
                        lab->type = MODEL_LABEL_FLOAT;
                        numpy_get_f64(dt, p, &lab->v.f);
                        if (!isfinite(lab->v.f))
                                goto bad;
                        break;
                case 'b':
                        lab->type = MODEL_LABEL_BOOL;
                        lab->v.b = p[0] != 0;
                        break;
                case 'U':
                        if (!l.owned && !(l.owned = calloc(a->count, sizeof(char *))))
                                goto nomem;
                        lab->type = MODEL_LABEL_STR;
                        l.owned[i] = utf32_to_utf8(p, dt->itemsize / 4, dt->byteorder);
                        if (!l.owned[i])
                                goto bad;
                        lab->v.s = l.owned[i];
                        break;
                case 'O': {
                        const struct pv *o = a->objects[i];
                        if (o->kind == PV_STR) {
                                if (memchr(o->u.s.data, '\0', o->u.s.len) ||
                                    (rc = charge(bc, o->u.s.len, "classes_")) < 0) {
                                        labels_free(&l);
                                        return rc < 0 ? rc : bfail(bc, -EINVAL,
                                                "%s.classes_[%zu] contains a NUL character",
                                                cls_name(obj), i);
                                }
                                lab->type = MODEL_LABEL_STR;
                                lab->v.s = o->u.s.data;
                        } else if (o->kind == PV_INT) {
                                lab->type = MODEL_LABEL_INT;
                                lab->v.i = o->u.i;
                        } else if (o->kind == PV_BOOL) {
                                lab->type = MODEL_LABEL_BOOL;
                                lab->v.b = o->u.b;
                        } else if (o->kind == PV_FLOAT) {
                                lab->type = MODEL_LABEL_FLOAT;
                                lab->v.f = o->u.f;
                        } else {
                                labels_free(&l);
                                return bfail(bc, -EINVAL,
                                             "%s.classes_[%zu]: expected str, int, float or "
                                             "bool, found %s",
                                             cls_name(obj), i, pv_kind_name(o));
                        }
                        break;
                }
                default:
                        goto bad;
                }
        }
        *out = l;
        return 0;
nomem:
        labels_free(&l);
        return bfail(bc, -ENOMEM, "out of memory reading classes_");
bad:
        labels_free(&l);
        return bfail(bc, -EINVAL, "%s.classes_: unsupported labels of numpy kind '%c'",
                     cls_name(obj), dt->kind);
}

static int check_n_features(struct build_ctx *bc, const struct pv *obj,
                            size_t have)
{
        const struct pv *v = attr(bc, obj, "n_features_in_");
        if (v && v->kind == PV_INT && (v->u.i < 0 || (uint64_t)v->u.i != have))
                return bfail(bc, -EINVAL,
                             "%s: n_features_in_ is %lld but its arrays hold %zu features",
                             cls_name(obj), (long long)v->u.i, have);
        return 0;
}

/* --- estimators ---------------------------------------------------- */

static int build_logreg(struct build_ctx *bc, const struct pv *obj,
                        struct model **out)
{
        double *coef = NULL, *icpt = NULL;
        size_t rows = 0, nf = 0, ni = 0, one = 0;
        struct labels labels = { 0 };
        struct model_error me;
        int rc;
        if ((rc = attr_f64(bc, obj, "coef_", 2, &coef, &rows, &nf)) < 0 ||
            (rc = attr_f64(bc, obj, "intercept_", 1, &icpt, &ni, &one)) < 0 ||
            (rc = read_labels(bc, obj, &labels)) < 0 ||
            (rc = check_n_features(bc, obj, nf)) < 0 ||
            (rc = charge(bc, (rows * nf + ni) * sizeof(double), "LogisticRegression")) < 0)
                goto out;
        if (ni != rows) {
                rc = bfail(bc, -EINVAL,
                           "LogisticRegression: intercept_ has %zu values for %zu coef_ rows",
                           ni, rows);
                goto out;
        }
        /* scikit-learn's rule (1.2-1.7): one-vs-rest unless multinomial was
         * asked for, or 'auto' chose it (more than 2 classes, solver neither
         * liblinear nor newton-cholesky). 1.8+ has no multi_class and fits
         * newton-cholesky as multinomial. */
        const struct pv *mc = attr(bc, obj, "multi_class");
        const struct pv *solver = attr(bc, obj, "solver");
        bool ovr;
        if (pv_is_str(mc, "ovr") || pv_is_str(mc, "warn"))
                ovr = true;
        else if (pv_is_str(mc, "multinomial"))
                ovr = false;
        else if (!mc || pv_is_str(mc, "auto") || pv_is_str(mc, "deprecated"))
                ovr = labels.n <= 2 || pv_is_str(solver, "liblinear") ||
                      (pv_is_str(solver, "newton-cholesky") && saved_before(bc, obj, 1, 9));
        else {
                rc = bfail(bc, -EINVAL,
                           "LogisticRegression.multi_class: expected 'auto', 'ovr' or "
                           "'multinomial', found %s", pv_kind_name(mc));
                goto out;
        }
        rc = model_logreg_create(nf, rows, coef, icpt,
                                 ovr ? MODEL_LOGREG_OVR : MODEL_LOGREG_MULTINOMIAL,
                                 labels.v, labels.n, out, &me);
        if (rc < 0)
                from_model_error(bc, rc, &me);
out:
        free(coef);
        free(icpt);
        labels_free(&labels);
        return rc;
}

static int build_scaler(struct build_ctx *bc, const struct pv *obj,
                        struct model **out)
{
        double *mean = NULL, *scale = NULL;
        size_t nm = 0, ns = 0, one;
        struct model_error me;
        int rc = 0;
        bool with_mean = attr_bool(bc, obj, "with_mean", true);
        bool with_std = attr_bool(bc, obj, "with_std", true);
        if (with_mean && (rc = attr_f64(bc, obj, "mean_", 1, &mean, &nm, &one)) < 0)
                goto out;
        if (with_std && (rc = attr_f64(bc, obj, "scale_", 1, &scale, &ns, &one)) < 0)
                goto out;
        size_t nf = with_mean ? nm : ns;
        if (!with_mean && !with_std) {
                int64_t n = 0;
                if ((rc = attr_int(bc, obj, "n_features_in_", &n)) < 0)
                        goto out;
                nf = n > 0 ? (size_t)n : 0;
        }
        if (with_mean && with_std && nm != ns) {
                rc = bfail(bc, -EINVAL, "StandardScaler: mean_ has %zu values, scale_ %zu",
                           nm, ns);
                goto out;
        }
        if ((rc = check_n_features(bc, obj, nf)) < 0 ||
            (rc = charge(bc, 2 * nf * sizeof(double), "StandardScaler")) < 0)
                goto out;
        for (size_t j = 0; scale && j < nf; j++) {
                /* fit() replaces zero scales by 1; a zero here is not a fit */
                if (scale[j] == 0.0) {
                        rc = bfail(bc, -EINVAL, "StandardScaler.scale_[%zu] is 0", j);
                        goto out;
                }
        }
        rc = model_scaler_create(nf, mean, scale, out, &me);
        if (rc < 0)
                from_model_error(bc, rc, &me);
out:
        free(mean);
        free(scale);
        return rc;
}

static int field_index(const struct pv_dtype *dt, const char *name)
{
        for (size_t i = 0; i < dt->n_fields; i++)
                if (strcmp(dt->field_names[i], name) == 0)
                        return (int)i;
        return -1;
}

/* sklearn.tree._tree.Tree: REDUCE(Tree, (n_features, n_classes, n_outputs))
 * + BUILD {max_depth, node_count, nodes, values}. */
static int build_tree(struct build_ctx *bc, const struct pv *owner,
                      const struct pv *tree, const struct labels *labels,
                      size_t n_classes, struct model **out)
{
        const char *who = cls_name(owner);
        if (!tree || tree->kind != PV_OBJECT || strcmp(cls_name(tree), "Tree") != 0 ||
            !tree->u.obj.state)
                return bfail(bc, -EINVAL, "%s.tree_: expected a fitted sklearn Tree, found %s",
                             who, pv_kind_name(tree));
        const struct pv *args = tree->u.obj.args;
        if (!args || args->kind != PV_TUPLE || args->u.seq.len != 3 ||
            args->u.seq.items[0]->kind != PV_INT || args->u.seq.items[2]->kind != PV_INT)
                return bfail(bc, -EINVAL,
                             "%s.tree_: expected Tree(n_features, n_classes, n_outputs)", who);
        int64_t nf = args->u.seq.items[0]->u.i, n_outputs = args->u.seq.items[2]->u.i;
        if (n_outputs != 1)
                return bfail(bc, -EINVAL,
                             "%s: %lld outputs; multi-output trees are not supported yet",
                             who, (long long)n_outputs);
        if (nf <= 0)
                return bfail(bc, -EINVAL, "%s.tree_: n_features is %lld", who, (long long)nf);
        const struct pv *nodes = state_get(bc, tree->u.obj.state, "nodes");
        const struct pv *values = state_get(bc, tree->u.obj.state, "values");
        if (bc->lookups > MAX_LOOKUPS)
                return too_much_work(bc);
        if (!is_built_array(nodes) || nodes->u.arr->ndim != 1 ||
            !nodes->u.arr->dtype->n_fields)
                return bfail(bc, -EINVAL, "%s.tree_.nodes: expected a structured 1-D array, found %s",
                             who, pv_kind_name(nodes));
        const struct pv_array *na = nodes->u.arr;
        const struct pv_dtype *nd = na->dtype;
        int fl = field_index(nd, "left_child"), fr = field_index(nd, "right_child");
        int ff = field_index(nd, "feature"), ft = field_index(nd, "threshold");
        if (fl < 0 || fr < 0 || ff < 0 || ft < 0 ||
            !strchr("iu", nd->field_types[fl]->kind) || !strchr("iu", nd->field_types[fr]->kind) ||
            !strchr("iu", nd->field_types[ff]->kind) || nd->field_types[ft]->kind != 'f')
                return bfail(bc, -EINVAL,
                             "%s.tree_.nodes: expected integer left_child, right_child, "
                             "feature and float threshold fields",
                             who);
        size_t n_nodes = na->count;
        if (!is_built_array(values) || values->u.arr->ndim != 3 ||
            values->u.arr->dtype->kind != 'f' || values->u.arr->shape[0] != n_nodes ||
            values->u.arr->shape[1] != 1 || values->u.arr->shape[2] != n_classes)
                return bfail(bc, -EINVAL,
                             "%s.tree_.values: expected a float array of shape (%zu, 1, %zu)",
                             who, n_nodes, n_classes);
        int rc = charge(bc, n_nodes * (24 + 2 * n_classes * sizeof(double)), who);
        if (rc < 0)
                return rc;
        struct model_tree_node *tn = malloc((n_nodes ? n_nodes : 1) * sizeof(*tn));
        size_t n_val = n_nodes * n_classes;
        double *val = malloc((n_val ? n_val : 1) * sizeof(double));
        if (!tn || !val) {
                free(tn);
                free(val);
                return bfail(bc, -ENOMEM, "out of memory for %zu tree nodes", n_nodes);
        }
        for (size_t i = 0; i < n_nodes; i++) {
                const uint8_t *rec = na->data + i * nd->itemsize;
                if (!numpy_get_i64(nd->field_types[fl], rec + nd->field_offsets[fl], &tn[i].left) ||
                    !numpy_get_i64(nd->field_types[fr], rec + nd->field_offsets[fr], &tn[i].right) ||
                    !numpy_get_i64(nd->field_types[ff], rec + nd->field_offsets[ff], &tn[i].feature)) {
                        rc = bfail(bc, -EINVAL, "%s.tree_.nodes[%zu]: an index is out of range",
                                   who, i);
                        goto out;
                }
                numpy_get_f64(nd->field_types[ft], rec + nd->field_offsets[ft], &tn[i].threshold);
        }
        const struct pv_array *va = values->u.arr;
        for (size_t i = 0; i < n_nodes * n_classes; i++) {
                numpy_get_f64(va->dtype, va->data + i * va->dtype->itemsize, &val[i]);
                if (!isfinite(val[i]) || val[i] < 0) {
                        rc = bfail(bc, -EINVAL,
                                   "%s.tree_.values: value %zu is not a finite non-negative number",
                                   who, i);
                        goto out;
                }
        }
        struct model_error me;
        /* scikit-learn < 1.4 stored weighted counts and normalised them in
         * predict_proba; from 1.4 it stores fractions and returns them as
         * they are (dividing again would change the last bits). */
        bool normalize = saved_before(bc, owner, 1, 4);
        rc = model_tree_create((size_t)nf, n_nodes, tn, val, n_classes, normalize,
                               labels ? labels->v : NULL, out, &me);
        if (rc < 0)
                bfail(bc, rc, "%s: %s", who, me.message);
out:
        free(tn);
        free(val);
        return rc;
}

static int build_dtc(struct build_ctx *bc, const struct pv *obj,
                     struct model **out)
{
        struct labels labels = { 0 };
        const struct pv *tree = NULL;
        int rc;
        if ((rc = read_labels(bc, obj, &labels)) < 0)
                return rc;
        if ((rc = need_attr(bc, obj, "tree_", &tree)) < 0 ||
            (rc = build_tree(bc, obj, tree, &labels, labels.n, out)) < 0)
                goto out;
        if ((rc = check_n_features(bc, obj, model_n_features(*out))) < 0) {
                model_free(*out);
                *out = NULL;
        }
out:
        labels_free(&labels);
        return rc;
}

static int build_forest(struct build_ctx *bc, const struct pv *obj,
                        struct model **out)
{
        struct labels labels = { 0 };
        const struct pv *ests = NULL;
        struct model **trees = NULL;
        size_t n = 0;
        struct model_error me;
        int rc;
        if ((rc = read_labels(bc, obj, &labels)) < 0)
                return rc;
        if ((rc = need_attr(bc, obj, "estimators_", &ests)) < 0)
                goto out;
        if (ests->kind != PV_LIST || ests->u.seq.len == 0) {
                rc = bfail(bc, -EINVAL,
                           "RandomForestClassifier.estimators_: expected a non-empty list, "
                           "found %s", pv_kind_name(ests));
                goto out;
        }
        trees = calloc(ests->u.seq.len, sizeof(*trees));
        if (!trees) {
                rc = bfail(bc, -ENOMEM, "out of memory for %zu trees", ests->u.seq.len);
                goto out;
        }
        for (; n < ests->u.seq.len; n++) {
                const struct pv *e = ests->u.seq.items[n];
                const struct pv *tree = NULL;
                if (e->kind != PV_OBJECT || strcmp(cls_name(e), "DecisionTreeClassifier") != 0 ||
                    !e->u.obj.state) {
                        rc = bfail(bc, -EINVAL,
                                   "RandomForestClassifier.estimators_[%zu]: expected a fitted "
                                   "DecisionTreeClassifier, found %s", n, pv_kind_name(e));
                        goto out;
                }
                if ((rc = need_attr(bc, e, "tree_", &tree)) < 0 ||
                    (rc = build_tree(bc, e, tree, NULL, labels.n, &trees[n])) < 0)
                        goto out;
        }
        rc = model_forest_create(trees, n, labels.v, labels.n, out, &me);
        n = 0; /* the forest took the trees, also on failure */
        if (rc < 0) {
                from_model_error(bc, rc, &me);
                goto out;
        }
        if ((rc = check_n_features(bc, obj, model_n_features(*out))) < 0) {
                model_free(*out);
                *out = NULL;
        }
out:
        for (size_t i = 0; i < n; i++)
                model_free(trees[i]);
        free(trees);
        labels_free(&labels);
        return rc;
}

static int build_pipeline(struct build_ctx *bc, const struct pv *obj,
                          struct model **out)
{
        const struct pv *steps = NULL;
        int rc = need_attr(bc, obj, "steps", &steps);
        if (rc < 0)
                return rc;
        if (steps->kind != PV_LIST || steps->u.seq.len == 0)
                return bfail(bc, -EINVAL, "Pipeline.steps: expected a non-empty list, found %s",
                             pv_kind_name(steps));
        size_t n = steps->u.seq.len;
        struct model **built = calloc(n, sizeof(*built));
        const char **names = calloc(n, sizeof(*names));
        struct model_error me;
        size_t i = 0;
        if (!built || !names) {
                rc = bfail(bc, -ENOMEM, "out of memory for %zu pipeline steps", n);
                goto out;
        }
        for (; i < n; i++) {
                const struct pv *st = steps->u.seq.items[i];
                if (st->kind != PV_TUPLE || st->u.seq.len != 2 ||
                    st->u.seq.items[0]->kind != PV_STR) {
                        rc = bfail(bc, -EINVAL,
                                   "Pipeline.steps[%zu]: expected a (name, estimator) tuple", i);
                        goto out;
                }
                if (st->u.seq.items[0]->u.s.len > MAX_NAME_BYTES) {
                        rc = bfail(bc, -EINVAL,
                                   "Pipeline.steps[%zu]: a step name of %zu bytes (at most %d)", i,
                                   st->u.seq.items[0]->u.s.len, MAX_NAME_BYTES);
                        goto out;
                }
                names[i] = st->u.seq.items[0]->u.s.data;
                const struct pv *e = st->u.seq.items[1];
                if (e->kind == PV_NONE || pv_is_str(e, "passthrough"))
                        continue;
                if ((rc = build_estimator(bc, e, &built[i])) < 0) {
                        char inner[sizeof(bc->err->message)];
                        memcpy(inner, bc->err->message, sizeof(inner));
                        bfail(bc, rc, "Pipeline step '%.60s': %s", names[i], inner);
                        goto out;
                }
        }
        rc = model_pipeline_create(built, names, n, out, &me);
        i = 0; /* the pipeline took the steps */
        if (rc < 0)
                from_model_error(bc, rc, &me);
out:
        for (size_t k = 0; k < i && built; k++)
                model_free(built[k]);
        free(built);
        free(names);
        return rc;
}

int build_estimator(struct build_ctx *bc, const struct pv *v, struct model **out)
{
        if (!v || v->kind != PV_OBJECT || v->u.obj.cls->role != ROLE_ESTIMATOR)
                return bfail(bc, -EINVAL,
                             "expected a scikit-learn estimator, found %s", pv_kind_name(v));
        if (!v->u.obj.state)
                return bfail(bc, -EINVAL, "%s has no state: it was saved unfitted or "
                             "incompletely", cls_name(v));
        if (bc->depth >= bc->lim->max_depth)
                return bfail(bc, -EINVAL, "estimators nested deeper than the limit of %zu",
                             bc->lim->max_depth);
        const struct pv *ver = attr(bc, v, "_sklearn_version");
        if (!bc->sklearn_version[0] && ver && ver->kind == PV_STR)
                snprintf(bc->sklearn_version, sizeof(bc->sklearn_version), "%s",
                         ver->u.s.data);
        static const struct {
                const char *name;
                int (*fn)(struct build_ctx *, const struct pv *, struct model **);
        } builders[] = {
                { "LogisticRegression", build_logreg },
                { "StandardScaler", build_scaler },
                { "DecisionTreeClassifier", build_dtc },
                { "RandomForestClassifier", build_forest },
                { "Pipeline", build_pipeline },
        };
        for (size_t i = 0; i < sizeof(builders) / sizeof(builders[0]); i++) {
                if (strcmp(builders[i].name, cls_name(v)) == 0) {
                        bc->depth++;
                        int rc = builders[i].fn(bc, v, out);
                        bc->depth--;
                        return rc;
                }
        }
        return bfail(bc, -EINVAL, "%s cannot be served on its own", cls_name(v));
}
