/* build_tree.c - builders for tree models: sklearn's Tree structure, the
 * decision trees over it, the forests of them (random and extremely
 * randomized) and gradient boosting with its init estimator and loss. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

/* A Tree's nodes and values, read and checked: in bc->tree_scratch, or
 * in a buffer of their own (scratch) when that is taken. */
struct tree_parts {
        size_t n_features, n_nodes, n_outputs, n_classes;
        struct model_tree_node *nodes;
        double *values; /* n_nodes x n_outputs x n_classes */
        void *own;      /* what to free, NULL when they are bc->tree_scratch */
};

/* Room for n nodes and n_val values. A forest's trees come one after the
 * other, so one buffer serves them all: fresh memory for every tree was
 * a page fault every 4 KiB, most of what reading a large forest cost. */
static int tree_parts_alloc(struct build_ctx *bc, size_t n, size_t n_val,
                            struct tree_parts *tp)
{
        size_t nodes = (n ? n : 1) * sizeof(*tp->nodes);
        size_t bytes = nodes + (n_val ? n_val : 1) * sizeof(double);
        void *p;
        if (bc->tree_scratch_busy) {
                if (!(p = malloc(bytes)))
                        return -ENOMEM;
                tp->own = p;
        } else {
                if (bytes > bc->tree_scratch_bytes) {
                        free(bc->tree_scratch);
                        bc->tree_scratch_bytes = 0;
                        if (!(bc->tree_scratch = malloc(bytes)))
                                return -ENOMEM;
                        bc->tree_scratch_bytes = bytes;
                }
                p = bc->tree_scratch;
                bc->tree_scratch_busy = true;
                tp->own = NULL;
        }
        tp->nodes = p;
        tp->values = (double *)((uint8_t *)p + nodes);
        return 0;
}

static void tree_parts_free(struct build_ctx *bc, struct tree_parts *tp)
{
        if (tp->own)
                free(tp->own);
        else if (tp->nodes)
                bc->tree_scratch_busy = false;
        tp->nodes = NULL;
        tp->values = NULL;
        tp->own = NULL;
}

/* sklearn.tree._tree.Tree: REDUCE(Tree, (n_features, n_classes, n_outputs))
 * + BUILD {max_depth, node_count, nodes, values}. want_outputs 0 takes any
 * number of outputs; values must have n_classes per output (1 for a
 * regression tree). Classifier values are counts or fractions, so they
 * must not be negative; regression values may be. */
static int read_tree(struct build_ctx *bc, const struct pv *owner,
                     const struct pv *tree, size_t want_outputs,
                     size_t n_classes, bool nonneg, struct tree_parts *tp)
{
        const char *who = build_cls_name(owner);
        if (!tree || tree->kind != PV_OBJECT || strcmp(build_cls_name(tree), "Tree") != 0 ||
            !tree->u.obj.state)
                return build_fail(bc, -EINVAL, "%s.tree_: expected a fitted sklearn Tree, found %s",
                             who, pv_kind_name(tree));
        const struct pv *args = tree->u.obj.args;
        if (!args || args->kind != PV_TUPLE || args->u.seq.len != 3 ||
            args->u.seq.items[0]->kind != PV_INT || args->u.seq.items[2]->kind != PV_INT)
                return build_fail(bc, -EINVAL,
                             "%s.tree_: expected Tree(n_features, n_classes, n_outputs)", who);
        int64_t nf = args->u.seq.items[0]->u.i, n_outputs = args->u.seq.items[2]->u.i;
        if (n_outputs < 1 || (want_outputs && (uint64_t)n_outputs != want_outputs))
                return build_fail(bc, -EINVAL,
                             "%s: %lld outputs; multi-output classification trees are not "
                             "supported yet", who, (long long)n_outputs);
        if (nf <= 0)
                return build_fail(bc, -EINVAL, "%s.tree_: n_features is %lld", who, (long long)nf);
        /* predict reads n_outputs_ and the tree's values shape both; when
         * they differ scikit-learn raises (or, for a regressor told 1 of
         * a 2-output tree, answers the first output only) */
        const struct pv *own = build_attr(bc, owner, "n_outputs_");
        if (own && (own->kind != PV_INT || own->u.i != n_outputs))
                return build_fail(bc, -EINVAL,
                                  "%s: n_outputs_ is %lld but its tree_ has %lld outputs: an "
                                  "inconsistent estimator",
                                  who, own->kind == PV_INT ? (long long)own->u.i : -1LL,
                                  (long long)n_outputs);
        const struct pv *nodes = build_state_get(bc, tree->u.obj.state, "nodes");
        const struct pv *values = build_state_get(bc, tree->u.obj.state, "values");
        if (bc->lookups > bc->max_lookups)
                return build_too_much_work(bc);
        if (!build_is_built_array(nodes) || nodes->u.arr->ndim != 1 ||
            !nodes->u.arr->dtype->n_fields)
                return build_fail(bc, -EINVAL, "%s.tree_.nodes: expected a structured 1-D array, found %s",
                             who, pv_kind_name(nodes));
        const struct pv_array *na = nodes->u.arr;
        const struct pv_dtype *nd = na->dtype;
        int fl = build_field_index(nd, "left_child"), fr = build_field_index(nd, "right_child");
        int ff = build_field_index(nd, "feature"), ft = build_field_index(nd, "threshold");
        if (fl < 0 || fr < 0 || ff < 0 || ft < 0 ||
            !strchr("iu", nd->field_types[fl]->kind) || !strchr("iu", nd->field_types[fr]->kind) ||
            !strchr("iu", nd->field_types[ff]->kind) || nd->field_types[ft]->kind != 'f')
                return build_fail(bc, -EINVAL,
                             "%s.tree_.nodes: expected integer left_child, right_child, "
                             "feature and float threshold fields",
                             who);
        size_t n_nodes = na->count, no = (size_t)n_outputs;
        int rc = build_check_node_count(bc, who, tree, n_nodes);
        if (rc < 0)
                return rc;
        if (!build_is_built_array(values) || values->u.arr->ndim != 3 ||
            values->u.arr->dtype->kind != 'f' || values->u.arr->shape[0] != n_nodes ||
            values->u.arr->shape[1] != no || values->u.arr->shape[2] != n_classes)
                return build_fail(bc, -EINVAL,
                             "%s.tree_.values: expected a float array of shape (%zu, %zu, %zu)",
                             who, n_nodes, no, n_classes);
        /* the shape matched an array the file holds, so n_val is bounded */
        size_t n_val = values->u.arr->count;
        rc = build_charge(bc, n_nodes * 24 + 2 * n_val * sizeof(double), who);
        if (rc < 0)
                return rc;
        if (tree_parts_alloc(bc, n_nodes, n_val, tp) < 0)
                return build_fail(bc, -ENOMEM, "out of memory for %zu tree nodes", n_nodes);
        struct model_tree_node *tn = tp->nodes;
        double *val = tp->values;
        if (numpy_native8(nd->field_types[fl], 'i') && numpy_native8(nd->field_types[fr], 'i') &&
            numpy_native8(nd->field_types[ff], 'i') && numpy_native8(nd->field_types[ft], 'f')) {
                /* scikit-learn's own node dtype, read by plain loads: most
                 * of a large forest's load is this loop */
                const size_t ol = nd->field_offsets[fl], or = nd->field_offsets[fr];
                const size_t of = nd->field_offsets[ff], ot = nd->field_offsets[ft];
                for (size_t i = 0; i < n_nodes; i++) {
                        const uint8_t *rec = na->data + i * nd->itemsize;
                        memcpy(&tn[i].left, rec + ol, 8);
                        memcpy(&tn[i].right, rec + or, 8);
                        memcpy(&tn[i].feature, rec + of, 8);
                        memcpy(&tn[i].threshold, rec + ot, 8);
                }
        } else {
                for (size_t i = 0; i < n_nodes; i++) {
                        const uint8_t *rec = na->data + i * nd->itemsize;
                        if (!numpy_get_i64(nd->field_types[fl], rec + nd->field_offsets[fl],
                                           &tn[i].left) ||
                            !numpy_get_i64(nd->field_types[fr], rec + nd->field_offsets[fr],
                                           &tn[i].right) ||
                            !numpy_get_i64(nd->field_types[ff], rec + nd->field_offsets[ff],
                                           &tn[i].feature)) {
                                rc = build_fail(bc, -EINVAL,
                                                "%s.tree_.nodes[%zu]: an index is out of range",
                                                who, i);
                                goto fail;
                        }
                        numpy_get_f64(nd->field_types[ft], rec + nd->field_offsets[ft],
                                      &tn[i].threshold);
                }
        }
        numpy_copy_f64(values->u.arr, val);
        for (size_t i = 0; i < n_val; i++) {
                if (!isfinite(val[i]) || (nonneg && val[i] < 0)) {
                        rc = build_fail(bc, -EINVAL,
                                   "%s.tree_.values: value %zu is not a finite%s number",
                                   who, i, nonneg ? " non-negative" : "");
                        goto fail;
                }
        }
        tp->n_features = (size_t)nf;
        tp->n_nodes = n_nodes;
        tp->n_outputs = no;
        tp->n_classes = n_classes;
        return 0;
fail:
        tree_parts_free(bc, tp);
        return rc;
}

static int build_tree(struct build_ctx *bc, const struct pv *owner,
                      const struct pv *tree, const struct build_labels *labels,
                      size_t n_classes, struct model **out)
{
        struct tree_parts tp = { 0 };
        int rc = read_tree(bc, owner, tree, 1, n_classes, true, &tp);
        if (rc < 0)
                return rc;
        struct model_error me;
        /* scikit-learn < 1.4 stored weighted counts and normalised them in
         * predict_proba; from 1.4 it stores fractions and returns them as
         * they are (dividing again would change the last bits). */
        bool normalize = build_saved_before(bc, owner, 1, 4);
        rc = model_tree_create(tp.n_features, tp.n_nodes, tp.nodes, tp.values, n_classes,
                               normalize, labels ? labels->v : NULL, out, &me);
        if (rc < 0)
                build_fail(bc, rc, "%s: %s", build_cls_name(owner), me.message);
        tree_parts_free(bc, &tp);
        return rc;
}

static int ensemble_done(struct build_ctx *bc, const struct pv *obj, int rc,
                         const struct model_error *me, struct model **out);

/* The labels of each output of a classifier fitted on k outputs
 * (classes_ a list of k arrays); *max_nc is the largest class count, the
 * width of its trees' values. */
static int read_output_labels(struct build_ctx *bc, const struct pv *obj, size_t k,
                              struct build_labels **out, size_t *max_nc)
{
        const struct pv *cl = build_attr(bc, obj, "classes_");
        int rc = build_charge(bc, k * sizeof(struct build_labels), "classes_");
        if (rc < 0)
                return rc;
        struct build_labels *l = calloc(k, sizeof(*l));
        if (!l)
                return build_fail(bc, -ENOMEM, "out of memory for %zu outputs", k);
        *max_nc = 0;
        for (size_t j = 0; j < k; j++) {
                if ((rc = build_labels_of(bc, obj, cl->u.seq.items[j], &l[j])) < 0) {
                        while (j--)
                                build_labels_free(&l[j]);
                        free(l);
                        return rc;
                }
                if (l[j].n > *max_nc)
                        *max_nc = l[j].n;
        }
        *out = l;
        return 0;
}

static void output_labels_free(struct build_labels *l, size_t k)
{
        for (size_t j = 0; l && j < k; j++)
                build_labels_free(&l[j]);
        free(l);
}

/* One tree fitted on k outputs as k single-output trees: output j's
 * values are values[:, j, :n_classes_j], as scikit-learn slices them in
 * predict_proba. labels NULL: no classes of their own (forest members). */
static int build_tree_outputs(struct build_ctx *bc, const struct pv *owner,
                              const struct pv *tree, const struct build_labels *labels,
                              size_t k, size_t max_nc, struct model **outs)
{
        struct tree_parts tp = { 0 };
        int rc = read_tree(bc, owner, tree, k, max_nc, true, &tp);
        if (rc < 0)
                return rc;
        bool normalize = build_saved_before(bc, owner, 1, 4);
        double *v = NULL;
        if ((rc = build_charge(bc, k * tp.n_nodes * (24 + max_nc * sizeof(double)),
                               build_cls_name(owner))) < 0)
                goto out;
        if (!(v = malloc((tp.n_nodes ? tp.n_nodes : 1) * max_nc * sizeof(double)))) {
                rc = build_fail(bc, -ENOMEM, "out of memory for a tree's outputs");
                goto out;
        }
        for (size_t j = 0; j < k; j++) {
                size_t nc = labels[j].n;
                for (size_t i = 0; i < tp.n_nodes; i++)
                        for (size_t c = 0; c < nc; c++)
                                v[i * nc + c] = tp.values[(i * k + j) * max_nc + c];
                struct model_error me;
                rc = model_tree_create(tp.n_features, tp.n_nodes, tp.nodes, v, nc, normalize,
                                       labels[j].v, &outs[j], &me);
                if (rc < 0) {
                        build_fail(bc, rc, "%s: output %zu: %s", build_cls_name(owner), j,
                                   me.message);
                        while (j--) {
                                model_free(outs[j]);
                                outs[j] = NULL;
                        }
                        goto out;
                }
        }
out:
        free(v);
        tree_parts_free(bc, &tp);
        return rc;
}

/* A regression tree: values (n_nodes, n_outputs, 1), the leaf means. */
static int build_reg_tree(struct build_ctx *bc, const struct pv *owner,
                          const struct pv *tree, size_t want_outputs,
                          struct model **out)
{
        struct tree_parts tp = { 0 };
        int rc = read_tree(bc, owner, tree, want_outputs, 1, false, &tp);
        if (rc < 0)
                return rc;
        struct model_error me;
        rc = model_tree_regressor_create(tp.n_features, tp.n_nodes, tp.nodes, tp.values,
                                         tp.n_outputs, out, &me);
        if (rc < 0)
                build_fail(bc, rc, "%s: %s", build_cls_name(owner), me.message);
        tree_parts_free(bc, &tp);
        return rc;
}

/* obj.tree_ of a fitted tree estimator whose class is sk_name. */
static int member_tree(struct build_ctx *bc, const char *who, size_t i,
                       const struct pv *e, const char *sk_name,
                       const struct pv **tree)
{
        if (e->kind != PV_OBJECT || strcmp(build_cls_name(e), sk_name) != 0 ||
            !e->u.obj.state)
                return build_fail(bc, -EINVAL,
                                  "%s.estimators_[%zu]: expected a fitted %s, found %s", who,
                                  i, sk_name, pv_kind_name(e));
        return build_need_attr(bc, e, "tree_", tree);
}

/* A DecisionTreeClassifier fitted on k outputs. */
static int build_dtc_outputs(struct build_ctx *bc, const struct pv *obj, size_t k,
                             struct model **out)
{
        struct build_labels *labels = NULL;
        const struct pv *tree = NULL;
        struct model **outs = NULL;
        size_t max_nc = 0, n_labels = k;
        int rc;
        if ((rc = read_output_labels(bc, obj, k, &labels, &max_nc)) < 0)
                return rc;
        if (!(outs = calloc(k, sizeof(*outs)))) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu outputs", k);
                goto out;
        }
        if ((rc = build_need_attr(bc, obj, "tree_", &tree)) < 0 ||
            (rc = build_tree_outputs(bc, obj, tree, labels, k, max_nc, outs)) < 0)
                goto out;
        struct model_error me;
        rc = model_multioutput_create("DecisionTreeClassifier", outs, k, out, &me);
        rc = ensemble_done(bc, obj, rc, &me, out);
        k = 0; /* taken, also on failure */
out:
        for (size_t j = 0; outs && j < k; j++)
                model_free(outs[j]);
        free(outs);
        output_labels_free(labels, n_labels);
        return rc;
}

static int build_dtc(struct build_ctx *bc, const struct pv *obj,
                     struct model **out)
{
        struct build_labels labels = { 0 };
        const struct pv *tree = NULL;
        size_t k = build_n_class_outputs(bc, obj);
        int rc;
        if (k)
                return build_dtc_outputs(bc, obj, k, out);
        if ((rc = build_read_labels(bc, obj, &labels)) < 0)
                return rc;
        if ((rc = build_need_attr(bc, obj, "tree_", &tree)) < 0 ||
            (rc = build_tree(bc, obj, tree, &labels, labels.n, out)) < 0)
                goto out;
        if ((rc = build_check_n_features(bc, obj, model_n_features(*out))) < 0) {
                model_free(*out);
                *out = NULL;
        }
out:
        build_labels_free(&labels);
        return rc;
}

static int build_dtr(struct build_ctx *bc, const struct pv *obj,
                     struct model **out)
{
        const struct pv *tree = NULL;
        int rc;
        if ((rc = build_need_attr(bc, obj, "tree_", &tree)) < 0 ||
            (rc = build_reg_tree(bc, obj, tree, 0, out)) < 0)
                return rc;
        if ((rc = build_check_n_features(bc, obj, model_n_features(*out))) < 0) {
                model_free(*out);
                *out = NULL;
        }
        return rc;
}

/* The end every ensemble builder shares: report model/'s error, or check
 * the model against n_features_in_. rc is what the constructor returned. */
static int ensemble_done(struct build_ctx *bc, const struct pv *obj, int rc,
                         const struct model_error *me, struct model **out)
{
        if (rc < 0)
                return build_model_error(bc, rc, me);
        if ((rc = build_check_n_features(bc, obj, model_n_features(*out))) < 0) {
                model_free(*out);
                *out = NULL;
        }
        return rc;
}

/* What each forest class holds in estimators_. */
static const char *const forest_member[] = {
        [MODEL_FOREST_RANDOM_CLASSIFIER] = "DecisionTreeClassifier",
        [MODEL_FOREST_EXTRA_CLASSIFIER] = "ExtraTreeClassifier",
        [MODEL_FOREST_RANDOM_REGRESSOR] = "DecisionTreeRegressor",
        [MODEL_FOREST_EXTRA_REGRESSOR] = "ExtraTreeRegressor",
};

/* A classifier forest fitted on k outputs: one forest per output over
 * its members' output-j trees, which average as the whole forest does. */
static int build_forest_outputs(struct build_ctx *bc, const struct pv *obj,
                                enum model_forest_kind kind, const struct pv *ests,
                                size_t k, struct model **out)
{
        const char *who = build_cls_name(obj);
        struct build_labels *labels = NULL;
        size_t max_nc = 0, n = ests->u.seq.len, made = 0, trees_from = 0;
        struct model **trees = NULL, **outs = NULL, **row = NULL;
        int rc;
        if ((rc = read_output_labels(bc, obj, k, &labels, &max_nc)) < 0)
                return rc;
        if ((rc = build_charge(bc, (k * n + 2 * k) * sizeof(*trees), who)) < 0)
                goto out;
        trees = calloc(k * n, sizeof(*trees)); /* output-major: trees[j * n + i] */
        outs = calloc(k, sizeof(*outs));
        row = calloc(k, sizeof(*row));
        if (!trees || !outs || !row) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu trees", k * n);
                goto out;
        }
        /* members hold no classes of their own: labels with none */
        struct build_labels *bare = calloc(k, sizeof(*bare));
        if (!bare) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu outputs", k);
                goto out;
        }
        for (size_t j = 0; j < k; j++)
                bare[j].n = labels[j].n;
        for (size_t i = 0; i < n; i++) {
                const struct pv *e = ests->u.seq.items[i], *tree = NULL;
                if ((rc = member_tree(bc, who, i, e, forest_member[kind], &tree)) < 0 ||
                    (rc = build_tree_outputs(bc, e, tree, bare, k, max_nc, row)) < 0)
                        break;
                for (size_t j = 0; j < k; j++)
                        trees[j * n + i] = row[j];
        }
        free(bare);
        if (rc < 0)
                goto out;
        struct model_error me;
        for (; made < k; made++) {
                rc = model_forest_kind_create(kind, trees + made * n, n, labels[made].v,
                                              labels[made].n, &outs[made], &me);
                trees_from = (made + 1) * n; /* taken, also on failure */
                if (rc < 0) {
                        build_model_error(bc, rc, &me);
                        goto out;
                }
        }
        rc = model_multioutput_create(who, outs, k, out, &me);
        made = 0; /* outs taken, also on failure */
        rc = ensemble_done(bc, obj, rc, &me, out);
out:
        for (size_t j = 0; outs && j < made; j++)
                model_free(outs[j]);
        for (size_t t = trees_from; trees && t < k * n; t++)
                model_free(trees[t]);
        free(trees);
        free(outs);
        free(row);
        output_labels_free(labels, k);
        return rc;
}

static int build_forest_kind(struct build_ctx *bc, const struct pv *obj,
                             enum model_forest_kind kind, struct model **out)
{
        bool regressor = kind == MODEL_FOREST_RANDOM_REGRESSOR ||
                         kind == MODEL_FOREST_EXTRA_REGRESSOR;
        const char *who = build_cls_name(obj);
        struct build_labels labels = { 0 };
        const struct pv *ests = NULL;
        struct model **trees = NULL;
        size_t n = 0;
        struct model_error me;
        int rc;
        if (!regressor && !build_n_class_outputs(bc, obj) &&
            (rc = build_read_labels(bc, obj, &labels)) < 0)
                return rc;
        if ((rc = build_need_attr(bc, obj, "estimators_", &ests)) < 0)
                goto out;
        if (ests->kind != PV_LIST || ests->u.seq.len == 0) {
                rc = build_fail(bc, -EINVAL,
                           "%s.estimators_: expected a non-empty list, found %s", who,
                           pv_kind_name(ests));
                goto out;
        }
        size_t k = regressor ? 0 : build_n_class_outputs(bc, obj);
        if (k) {
                rc = build_forest_outputs(bc, obj, kind, ests, k, out);
                goto out;
        }
        if ((rc = build_charge(bc, ests->u.seq.len * sizeof(*trees), who)) < 0)
                goto out;
        trees = calloc(ests->u.seq.len, sizeof(*trees));
        if (!trees) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu trees", ests->u.seq.len);
                goto out;
        }
        for (; n < ests->u.seq.len; n++) {
                const struct pv *e = ests->u.seq.items[n];
                const struct pv *tree = NULL;
                if ((rc = member_tree(bc, who, n, e, forest_member[kind], &tree)) < 0)
                        goto out;
                /* every member has the first one's outputs */
                rc = regressor ? build_reg_tree(bc, e, tree, n ? model_n_outputs(trees[0]) : 0,
                                                &trees[n])
                               : build_tree(bc, e, tree, NULL, labels.n, &trees[n]);
                if (rc < 0)
                        goto out;
        }
        rc = model_forest_kind_create(kind, trees, n, labels.v, labels.n, out, &me);
        n = 0; /* the forest took the trees, also on failure */
        rc = ensemble_done(bc, obj, rc, &me, out);
out:
        for (size_t i = 0; i < n; i++)
                model_free(trees[i]);
        free(trees);
        build_labels_free(&labels);
        return rc;
}

static int build_forest(struct build_ctx *bc, const struct pv *obj,
                        struct model **out)
{
        return build_forest_kind(bc, obj, MODEL_FOREST_RANDOM_CLASSIFIER, out);
}

static int build_extra_trees_clf(struct build_ctx *bc, const struct pv *obj,
                                 struct model **out)
{
        return build_forest_kind(bc, obj, MODEL_FOREST_EXTRA_CLASSIFIER, out);
}

static int build_forest_reg(struct build_ctx *bc, const struct pv *obj,
                            struct model **out)
{
        return build_forest_kind(bc, obj, MODEL_FOREST_RANDOM_REGRESSOR, out);
}

static int build_extra_trees_reg(struct build_ctx *bc, const struct pv *obj,
                                 struct model **out)
{
        return build_forest_kind(bc, obj, MODEL_FOREST_EXTRA_REGRESSOR, out);
}

/* --- gradient boosting ------------------------------------------------ */

/* The loss objects a GradientBoosting file may hold in _loss: the class
 * decides the link, and the module the version's rules (< 1.4 files hold
 * sklearn.ensemble._gb_losses objects). From 1.4 the loss keeps a Cython
 * twin in `closs` and its link object in `link`; both must be the pair
 * that class always has. */
struct gb_loss_class {
        const char *module, *name;
        enum model_gb_loss loss;
        const char *cy;   /* closs class, 1.4+ */
        const char *link; /* link class, 1.4+ */
};

static const struct gb_loss_class gb_loss_classes[] = {
        { "sklearn.ensemble._gb_losses", "LeastSquaresError", MODEL_GB_REGRESSION, NULL, NULL },
        { "sklearn.ensemble._gb_losses", "LeastAbsoluteError", MODEL_GB_REGRESSION, NULL, NULL },
        { "sklearn.ensemble._gb_losses", "HuberLossFunction", MODEL_GB_REGRESSION, NULL, NULL },
        { "sklearn.ensemble._gb_losses", "QuantileLossFunction", MODEL_GB_REGRESSION, NULL, NULL },
        { "sklearn.ensemble._gb_losses", "BinomialDeviance", MODEL_GB_BINOMIAL, NULL, NULL },
        { "sklearn.ensemble._gb_losses", "MultinomialDeviance", MODEL_GB_MULTINOMIAL, NULL, NULL },
        { "sklearn.ensemble._gb_losses", "ExponentialLoss", MODEL_GB_EXPONENTIAL, NULL, NULL },
        { "sklearn._loss.loss", "HalfSquaredError", MODEL_GB_REGRESSION, "CyHalfSquaredError",
          "IdentityLink" },
        { "sklearn._loss.loss", "AbsoluteError", MODEL_GB_REGRESSION, "CyAbsoluteError",
          "IdentityLink" },
        { "sklearn._loss.loss", "HuberLoss", MODEL_GB_REGRESSION, "CyHuberLoss", "IdentityLink" },
        { "sklearn._loss.loss", "PinballLoss", MODEL_GB_REGRESSION, "CyPinballLoss",
          "IdentityLink" },
        { "sklearn._loss.loss", "HalfBinomialLoss", MODEL_GB_BINOMIAL, "CyHalfBinomialLoss",
          "LogitLink" },
        { "sklearn._loss.loss", "HalfMultinomialLoss", MODEL_GB_MULTINOMIAL,
          "CyHalfMultinomialLoss", "MultinomialLogit" },
        { "sklearn._loss.loss", "ExponentialLoss", MODEL_GB_EXPONENTIAL, "CyExponentialLoss",
          "HalfLogitLink" },
};

static bool is_global(const struct pv *v, const char *module, const char *name)
{
        return v && v->kind == PV_GLOBAL && strcmp(v->u.global->module, module) == 0 &&
               strcmp(v->u.global->name, name) == 0;
}

static bool numbers_only(const struct pv *t)
{
        if (t->kind != PV_TUPLE)
                return false;
        for (size_t i = 0; i < t->u.seq.len; i++)
                if (t->u.seq.items[i]->kind != PV_FLOAT && t->u.seq.items[i]->kind != PV_INT)
                        return false;
        return true;
}

/* closs is CyX(parameters...) (1.9 reduces to the class and its numeric
 * parameters) or, as older Cython pickles it, __pyx_unpickle_CyX(CyX,
 * checksum, state): both are only data here. */
static int check_closs(struct build_ctx *bc, const char *who, const struct pv *loss,
                       const struct gb_loss_class *lc)
{
        const struct pv *closs = build_attr(bc, loss, "closs");
        const struct pv *link = build_attr(bc, loss, "link");
        char unpickle[64];
        snprintf(unpickle, sizeof(unpickle), "__pyx_unpickle_%s", lc->cy);
        bool ok = closs && closs->kind == PV_OBJECT &&
                  strcmp(closs->u.obj.cls->module, "sklearn._loss._loss") == 0;
        const struct pv *args = ok ? closs->u.obj.args : NULL;
        if (ok && strcmp(closs->u.obj.cls->name, lc->cy) == 0)
                ok = !args || numbers_only(args);
        else if (ok && strcmp(closs->u.obj.cls->name, unpickle) == 0)
                ok = args && args->kind == PV_TUPLE && args->u.seq.len == 3 &&
                     is_global(args->u.seq.items[0], "sklearn._loss._loss", lc->cy) &&
                     args->u.seq.items[1]->kind == PV_INT &&
                     args->u.seq.items[2]->kind == PV_TUPLE;
        else
                ok = false;
        if (!ok)
                return build_fail(bc, -EINVAL, "%s._loss.closs: expected the %s that %s holds, "
                                  "found %s", who, lc->cy, lc->name, pv_kind_name(closs));
        if (!link || link->kind != PV_OBJECT ||
            strcmp(link->u.obj.cls->module, "sklearn._loss.link") != 0 ||
            strcmp(link->u.obj.cls->name, lc->link) != 0)
                return build_fail(bc, -EINVAL, "%s._loss.link: expected %s for %s, found %s",
                                  who, lc->link, lc->name, pv_kind_name(link));
        return 0;
}

static int gb_read_loss(struct build_ctx *bc, const char *who, const struct pv *obj,
                        const struct gb_loss_class **out)
{
        const struct pv *loss = build_attr(bc, obj, "_loss");
        if (!loss)
                loss = build_attr(bc, obj, "loss_"); /* before 1.1 */
        if (bc->lookups > bc->max_lookups)
                return build_too_much_work(bc);
        if (!loss || loss->kind != PV_OBJECT)
                return build_fail(bc, -EINVAL, "%s: expected a loss object in _loss, found %s",
                                  who, pv_kind_name(loss));
        for (size_t i = 0; i < sizeof(gb_loss_classes) / sizeof(gb_loss_classes[0]); i++) {
                const struct gb_loss_class *lc = &gb_loss_classes[i];
                if (strcmp(loss->u.obj.cls->module, lc->module) != 0 ||
                    strcmp(loss->u.obj.cls->name, lc->name) != 0)
                        continue;
                int rc = lc->cy ? check_closs(bc, who, loss, lc) : 0;
                if (rc == 0)
                        *out = lc;
                return rc;
        }
        return build_fail(bc, -EINVAL, "%s: loss %s is not supported", who,
                          pv_kind_name(loss));
}

/* init_: 'zero', or the Dummy estimator fit() makes by default, whose
 * answer is the same for every row: DummyRegressor.constant_ or
 * DummyClassifier(strategy='prior').class_prior_. *init is NULL for 'zero'. */
static int gb_read_init(struct build_ctx *bc, const char *who, const struct pv *obj,
                        bool regressor, size_t n_classes, double **init)
{
        const struct pv *v = NULL;
        size_t s0 = 0, s1 = 0;
        int rc = build_need_attr(bc, obj, "init_", &v);
        if (rc < 0)
                return rc;
        if (v->kind == PV_STR && strcmp(v->u.s.data, "zero") == 0) {
                *init = NULL;
                return 0;
        }
        const char *want = regressor ? "DummyRegressor" : "DummyClassifier";
        if (v->kind != PV_OBJECT || strcmp(build_cls_name(v), want) != 0 || !v->u.obj.state)
                return build_fail(bc, -EINVAL,
                                  "%s.init_: a custom init estimator (%s) is not supported; "
                                  "expected 'zero' or a fitted %s",
                                  who, pv_kind_name(v), want);
        if (!regressor) {
                const struct pv *st = build_attr(bc, v, "strategy");
                if (!st || st->kind != PV_STR || strcmp(st->u.s.data, "prior") != 0)
                        return build_fail(bc, -EINVAL,
                                          "%s.init_: DummyClassifier with strategy %s is not "
                                          "supported; expected 'prior'",
                                          who, st && st->kind == PV_STR ? st->u.s.data : "?");
        }
        const char *attr = regressor ? "constant_" : "class_prior_";
        double *d = NULL;
        if ((rc = build_attr_f64(bc, v, attr, 0, &d, &s0, &s1)) < 0)
                return rc;
        size_t want_n = regressor ? 1 : n_classes;
        if (s0 * s1 != want_n) {
                free(d);
                return build_fail(bc, -EINVAL, "%s.init_.%s: expected %zu values, found %zu",
                                  who, attr, want_n, s0 * s1);
        }
        *init = d;
        return 0;
}

static int build_gb(struct build_ctx *bc, const struct pv *obj, bool regressor,
                    struct model **out)
{
        const char *who = build_cls_name(obj);
        struct build_labels labels = { 0 };
        const struct gb_loss_class *lc = NULL;
        const struct pv *ests = NULL, *lr = NULL;
        struct model **trees = NULL;
        double *init = NULL;
        size_t n = 0, n_trees = 0;
        struct model_error me;
        int rc;
        if (!regressor && (rc = build_read_labels(bc, obj, &labels)) < 0)
                return rc;
        if ((rc = gb_read_loss(bc, who, obj, &lc)) < 0)
                goto out;
        if ((lc->loss == MODEL_GB_REGRESSION) != regressor) {
                rc = build_fail(bc, -EINVAL, "%s: loss %s does not belong to it", who, lc->name);
                goto out;
        }
        if ((rc = build_need_attr(bc, obj, "learning_rate", &lr)) < 0)
                goto out;
        if (lr->kind != PV_FLOAT && lr->kind != PV_INT) {
                rc = build_fail(bc, -EINVAL, "%s.learning_rate: expected a number, found %s",
                                who, pv_kind_name(lr));
                goto out;
        }
        if ((rc = gb_read_init(bc, who, obj, regressor, labels.n, &init)) < 0 ||
            (rc = build_need_attr(bc, obj, "estimators_", &ests)) < 0)
                goto out;
        if (!build_is_built_array(ests) || ests->u.arr->dtype->kind != 'O' ||
            ests->u.arr->ndim != 2 || ests->u.arr->count == 0) {
                rc = build_fail(bc, -EINVAL,
                                "%s.estimators_: expected a non-empty 2-D object array, found %s",
                                who, pv_kind_name(ests));
                goto out;
        }
        n_trees = ests->u.arr->count;
        if ((rc = build_charge(bc, n_trees * sizeof(*trees), who)) < 0)
                goto out;
        trees = calloc(n_trees, sizeof(*trees));
        if (!trees) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu trees", n_trees);
                goto out;
        }
        for (; n < n_trees; n++) {
                const struct pv *e = ests->u.arr->objects[n], *tree = NULL;
                if ((rc = member_tree(bc, who, n, e, "DecisionTreeRegressor", &tree)) < 0 ||
                    (rc = build_reg_tree(bc, e, tree, 1, &trees[n])) < 0)
                        goto out;
        }
        struct model_gb_params p = {
                .loss = lc->loss,
                .learning_rate = lr->kind == PV_FLOAT ? lr->u.f : (double)lr->u.i,
                .n_stages = ests->u.arr->shape[0],
                .k = ests->u.arr->shape[1],
                .init = init,
                .legacy = lc->cy == NULL,
        };
        rc = model_gb_create(&p, trees, labels.v, labels.n, out, &me);
        n = 0; /* the model took the trees, also on failure */
        rc = ensemble_done(bc, obj, rc, &me, out);
out:
        for (size_t i = 0; i < n; i++)
                model_free(trees[i]);
        free(trees);
        free(init);
        build_labels_free(&labels);
        return rc;
}

static int build_gbr(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        return build_gb(bc, obj, true, out);
}

static int build_gbc(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        return build_gb(bc, obj, false, out);
}

#define ENTRY(mod, cls, fn) { { mod, cls, ROLE_ESTIMATOR, cls }, fn }
/* Cython extension types of sklearn._loss._loss and the functions Cython
 * pickles them through: allowed only as data inside a loss object. */
#define CY_LOSS(cls) ENTRY("sklearn._loss._loss", cls, NULL), \
        ENTRY("sklearn._loss._loss", "__pyx_unpickle_" cls, NULL)

const struct build_entry build_tree_entries[] = {
        ENTRY("sklearn.tree._tree", "Tree", NULL),
        ENTRY("sklearn.tree._classes", "DecisionTreeClassifier", build_dtc),
        ENTRY("sklearn.tree.tree", "DecisionTreeClassifier", build_dtc),
        ENTRY("sklearn.tree._classes", "DecisionTreeRegressor", build_dtr),
        ENTRY("sklearn.tree.tree", "DecisionTreeRegressor", build_dtr),
        /* members of ExtraTrees forests */
        ENTRY("sklearn.tree._classes", "ExtraTreeClassifier", NULL),
        ENTRY("sklearn.tree.tree", "ExtraTreeClassifier", NULL),
        ENTRY("sklearn.tree._classes", "ExtraTreeRegressor", NULL),
        ENTRY("sklearn.tree.tree", "ExtraTreeRegressor", NULL),
        ENTRY("sklearn.ensemble._forest", "RandomForestClassifier", build_forest),
        ENTRY("sklearn.ensemble.forest", "RandomForestClassifier", build_forest),
        ENTRY("sklearn.ensemble._forest", "RandomForestRegressor", build_forest_reg),
        ENTRY("sklearn.ensemble.forest", "RandomForestRegressor", build_forest_reg),
        ENTRY("sklearn.ensemble._forest", "ExtraTreesClassifier", build_extra_trees_clf),
        ENTRY("sklearn.ensemble.forest", "ExtraTreesClassifier", build_extra_trees_clf),
        ENTRY("sklearn.ensemble._forest", "ExtraTreesRegressor", build_extra_trees_reg),
        ENTRY("sklearn.ensemble.forest", "ExtraTreesRegressor", build_extra_trees_reg),
        ENTRY("sklearn.ensemble._gb", "GradientBoostingRegressor", build_gbr),
        ENTRY("sklearn.ensemble.gradient_boosting", "GradientBoostingRegressor", build_gbr),
        ENTRY("sklearn.ensemble._gb", "GradientBoostingClassifier", build_gbc),
        ENTRY("sklearn.ensemble.gradient_boosting", "GradientBoostingClassifier", build_gbc),
        /* init_ of gradient boosting */
        ENTRY("sklearn.dummy", "DummyRegressor", NULL),
        ENTRY("sklearn.dummy", "DummyClassifier", NULL),
        /* gradient boosting losses, < 1.4 */
        ENTRY("sklearn.ensemble._gb_losses", "LeastSquaresError", NULL),
        ENTRY("sklearn.ensemble._gb_losses", "LeastAbsoluteError", NULL),
        ENTRY("sklearn.ensemble._gb_losses", "HuberLossFunction", NULL),
        ENTRY("sklearn.ensemble._gb_losses", "QuantileLossFunction", NULL),
        ENTRY("sklearn.ensemble._gb_losses", "BinomialDeviance", NULL),
        ENTRY("sklearn.ensemble._gb_losses", "MultinomialDeviance", NULL),
        ENTRY("sklearn.ensemble._gb_losses", "ExponentialLoss", NULL),
        /* 1.4+: sklearn._loss losses, their links and Cython twins */
        ENTRY("sklearn._loss.loss", "HalfSquaredError", NULL),
        ENTRY("sklearn._loss.loss", "AbsoluteError", NULL),
        ENTRY("sklearn._loss.loss", "HuberLoss", NULL),
        ENTRY("sklearn._loss.loss", "PinballLoss", NULL),
        ENTRY("sklearn._loss.loss", "HalfBinomialLoss", NULL),
        ENTRY("sklearn._loss.loss", "HalfMultinomialLoss", NULL),
        ENTRY("sklearn._loss.loss", "ExponentialLoss", NULL),
        ENTRY("sklearn._loss.link", "IdentityLink", NULL),
        ENTRY("sklearn._loss.link", "LogitLink", NULL),
        ENTRY("sklearn._loss.link", "HalfLogitLink", NULL),
        ENTRY("sklearn._loss.link", "MultinomialLogit", NULL),
        ENTRY("sklearn._loss.link", "Interval", NULL),
        CY_LOSS("CyHalfSquaredError"),
        CY_LOSS("CyAbsoluteError"),
        CY_LOSS("CyHuberLoss"),
        CY_LOSS("CyPinballLoss"),
        CY_LOSS("CyHalfBinomialLoss"),
        CY_LOSS("CyHalfMultinomialLoss"),
        CY_LOSS("CyExponentialLoss"),
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
