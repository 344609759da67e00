/* build_tree.c - builders for tree models: sklearn's Tree structure and
 * DecisionTreeClassifier and RandomForestClassifier over it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

/* sklearn.tree._tree.Tree: REDUCE(Tree, (n_features, n_classes, n_outputs))
 * + BUILD {max_depth, node_count, nodes, values}. */
static int build_tree(struct build_ctx *bc, const struct pv *owner,
                      const struct pv *tree, const struct build_labels *labels,
                      size_t n_classes, struct model **out)
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
        if (n_outputs != 1)
                return build_fail(bc, -EINVAL,
                             "%s: %lld outputs; multi-output trees are not supported yet",
                             who, (long long)n_outputs);
        if (nf <= 0)
                return build_fail(bc, -EINVAL, "%s.tree_: n_features is %lld", who, (long long)nf);
        const struct pv *nodes = build_state_get(bc, tree->u.obj.state, "nodes");
        const struct pv *values = build_state_get(bc, tree->u.obj.state, "values");
        if (bc->lookups > MAX_LOOKUPS)
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
        size_t n_nodes = na->count;
        if (!build_is_built_array(values) || values->u.arr->ndim != 3 ||
            values->u.arr->dtype->kind != 'f' || values->u.arr->shape[0] != n_nodes ||
            values->u.arr->shape[1] != 1 || values->u.arr->shape[2] != n_classes)
                return build_fail(bc, -EINVAL,
                             "%s.tree_.values: expected a float array of shape (%zu, 1, %zu)",
                             who, n_nodes, n_classes);
        int rc = build_charge(bc, n_nodes * (24 + 2 * n_classes * sizeof(double)), who);
        if (rc < 0)
                return rc;
        struct model_tree_node *tn = malloc((n_nodes ? n_nodes : 1) * sizeof(*tn));
        size_t n_val = n_nodes * n_classes;
        double *val = malloc((n_val ? n_val : 1) * sizeof(double));
        if (!tn || !val) {
                free(tn);
                free(val);
                return build_fail(bc, -ENOMEM, "out of memory for %zu tree nodes", n_nodes);
        }
        for (size_t i = 0; i < n_nodes; i++) {
                const uint8_t *rec = na->data + i * nd->itemsize;
                if (!numpy_get_i64(nd->field_types[fl], rec + nd->field_offsets[fl], &tn[i].left) ||
                    !numpy_get_i64(nd->field_types[fr], rec + nd->field_offsets[fr], &tn[i].right) ||
                    !numpy_get_i64(nd->field_types[ff], rec + nd->field_offsets[ff], &tn[i].feature)) {
                        rc = build_fail(bc, -EINVAL, "%s.tree_.nodes[%zu]: an index is out of range",
                                   who, i);
                        goto out;
                }
                numpy_get_f64(nd->field_types[ft], rec + nd->field_offsets[ft], &tn[i].threshold);
        }
        const struct pv_array *va = values->u.arr;
        for (size_t i = 0; i < n_nodes * n_classes; i++) {
                numpy_get_f64(va->dtype, va->data + i * va->dtype->itemsize, &val[i]);
                if (!isfinite(val[i]) || val[i] < 0) {
                        rc = build_fail(bc, -EINVAL,
                                   "%s.tree_.values: value %zu is not a finite non-negative number",
                                   who, i);
                        goto out;
                }
        }
        struct model_error me;
        /* scikit-learn < 1.4 stored weighted counts and normalised them in
         * predict_proba; from 1.4 it stores fractions and returns them as
         * they are (dividing again would change the last bits). */
        bool normalize = build_saved_before(bc, owner, 1, 4);
        rc = model_tree_create((size_t)nf, n_nodes, tn, val, n_classes, normalize,
                               labels ? labels->v : NULL, out, &me);
        if (rc < 0)
                build_fail(bc, rc, "%s: %s", who, me.message);
out:
        free(tn);
        free(val);
        return rc;
}

static int build_dtc(struct build_ctx *bc, const struct pv *obj,
                     struct model **out)
{
        struct build_labels labels = { 0 };
        const struct pv *tree = NULL;
        int rc;
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

static int build_forest(struct build_ctx *bc, const struct pv *obj,
                        struct model **out)
{
        struct build_labels labels = { 0 };
        const struct pv *ests = NULL;
        struct model **trees = NULL;
        size_t n = 0;
        struct model_error me;
        int rc;
        if ((rc = build_read_labels(bc, obj, &labels)) < 0)
                return rc;
        if ((rc = build_need_attr(bc, obj, "estimators_", &ests)) < 0)
                goto out;
        if (ests->kind != PV_LIST || ests->u.seq.len == 0) {
                rc = build_fail(bc, -EINVAL,
                           "RandomForestClassifier.estimators_: expected a non-empty list, "
                           "found %s", pv_kind_name(ests));
                goto out;
        }
        trees = calloc(ests->u.seq.len, sizeof(*trees));
        if (!trees) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu trees", ests->u.seq.len);
                goto out;
        }
        for (; n < ests->u.seq.len; n++) {
                const struct pv *e = ests->u.seq.items[n];
                const struct pv *tree = NULL;
                if (e->kind != PV_OBJECT || strcmp(build_cls_name(e), "DecisionTreeClassifier") != 0 ||
                    !e->u.obj.state) {
                        rc = build_fail(bc, -EINVAL,
                                   "RandomForestClassifier.estimators_[%zu]: expected a fitted "
                                   "DecisionTreeClassifier, found %s", n, pv_kind_name(e));
                        goto out;
                }
                if ((rc = build_need_attr(bc, e, "tree_", &tree)) < 0 ||
                    (rc = build_tree(bc, e, tree, NULL, labels.n, &trees[n])) < 0)
                        goto out;
        }
        rc = model_forest_create(trees, n, labels.v, labels.n, out, &me);
        n = 0; /* the forest took the trees, also on failure */
        if (rc < 0) {
                build_model_error(bc, rc, &me);
                goto out;
        }
        if ((rc = build_check_n_features(bc, obj, model_n_features(*out))) < 0) {
                model_free(*out);
                *out = NULL;
        }
out:
        for (size_t i = 0; i < n; i++)
                model_free(trees[i]);
        free(trees);
        build_labels_free(&labels);
        return rc;
}


const struct build_entry build_tree_entries[] = {
        { { "sklearn.tree._tree", "Tree", ROLE_ESTIMATOR, "Tree" }, NULL },
        { { "sklearn.tree._classes", "DecisionTreeClassifier", ROLE_ESTIMATOR,
            "DecisionTreeClassifier" }, build_dtc },
        { { "sklearn.tree.tree", "DecisionTreeClassifier", ROLE_ESTIMATOR,
            "DecisionTreeClassifier" }, build_dtc },
        { { "sklearn.ensemble._forest", "RandomForestClassifier", ROLE_ESTIMATOR,
            "RandomForestClassifier" }, build_forest },
        { { "sklearn.ensemble.forest", "RandomForestClassifier", ROLE_ESTIMATOR,
            "RandomForestClassifier" }, build_forest },
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
