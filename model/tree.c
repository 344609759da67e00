/* tree.c - DecisionTreeClassifier and RandomForestClassifier.
 *
 * scikit-learn casts X to float32 before it walks a tree and compares the
 * float32 value, widened again, against the float64 threshold; the same
 * is done here so that rows sitting on a threshold go the same way.
 * Probabilities are each leaf's values, divided by their numpy sum (a zero
 * sum counts as 1) for files from before scikit-learn 1.4, computed once at
 * build time with the same rounding; a forest adds its trees'
 * probabilities in order and divides by the count. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

struct tnode {
        double threshold;
        int32_t left; /* -1 for a leaf */
        int32_t right;
        int32_t feature;
};

struct tree {
        struct model base;
        size_t n_nodes;
        size_t n_values; /* values per node: the number of classes */
        struct tnode *nodes;
        double *value; /* n_nodes x n_values, as stored in the file */
        double *proba; /* n_nodes x n_values, normalised per node */
};

struct forest {
        struct model base;
        struct tree **trees;
        size_t n_trees;
};

/* Casts one row to float32 as sklearn's check_array(dtype=float32) does,
 * which refuses values that overflow float32. */
static int cast_row(const double *x, size_t nf, size_t row, float *xf,
                    struct model_error *err)
{
        for (size_t j = 0; j < nf; j++) {
                xf[j] = (float)x[j];
                if (isinf(xf[j]) && !isinf(x[j])) {
                        model_set_error(err,
                                        "row %zu, feature %zu: %.17g is too large for float32, "
                                        "which trees compare in",
                                        row, j, x[j]);
                        return -EINVAL;
                }
        }
        return 0;
}

static size_t tree_leaf(const struct tree *t, const float *xf)
{
        size_t node = 0;
        while (t->nodes[node].left >= 0) {
                const struct tnode *n = &t->nodes[node];
                node = (double)xf[n->feature] <= n->threshold ? (size_t)n->left
                                                              : (size_t)n->right;
        }
        return node;
}

static int tree_classify(const struct model *m, const double *X, size_t rows,
                         size_t *class_idx, double *proba,
                         struct model_error *err)
{
        const struct tree *t = (const struct tree *)m;
        size_t nf = m->n_features, nc = m->n_classes;
        float *xf = malloc(nf * sizeof(float));
        if (!xf) {
                model_set_error(err, "out of memory");
                return -ENOMEM;
        }
        for (size_t r = 0; r < rows; r++) {
                int rc = cast_row(X + r * nf, nf, r, xf, err);
                if (rc < 0) {
                        free(xf);
                        return rc;
                }
                size_t leaf = tree_leaf(t, xf);
                /* predict takes argmax of the raw values, not of proba */
                class_idx[r] = model_np_argmax(t->value + leaf * nc, nc);
                if (proba)
                        memcpy(proba + r * nc, t->proba + leaf * nc,
                               nc * sizeof(double));
        }
        free(xf);
        return 0;
}

static void tree_describe(const struct model *m, char *buf, size_t len)
{
        const struct tree *t = (const struct tree *)m;
        snprintf(buf, len, "DecisionTreeClassifier[%zu nodes, %zu classes]",
                 t->n_nodes, m->n_classes);
}

static void tree_destroy(struct model *m)
{
        struct tree *t = (struct tree *)m;
        model_base_release(m);
        free(t->nodes);
        free(t->value);
        free(t->proba);
        free(t);
}

static const struct model_ops tree_ops = {
        .name = "DecisionTreeClassifier",
        .classify = tree_classify,
        .describe = tree_describe,
        .destroy = tree_destroy,
};

/* Children always have higher indices than their parent in trees that
 * scikit-learn builds; requiring it bounds every walk by n_nodes steps. */
static int check_nodes(size_t n_features, size_t n_nodes,
                       const struct model_tree_node *nodes,
                       struct model_error *err)
{
        for (size_t i = 0; i < n_nodes; i++) {
                const struct model_tree_node *n = &nodes[i];
                if (n->left == -1)
                        continue;
                if (n->left <= (int64_t)i || n->left >= (int64_t)n_nodes ||
                    n->right <= (int64_t)i || n->right >= (int64_t)n_nodes) {
                        model_set_error(err,
                                        "tree node %zu: children %lld/%lld are not "
                                        "later nodes in [%zu, %zu)",
                                        i, (long long)n->left, (long long)n->right,
                                        i + 1, n_nodes);
                        return -EINVAL;
                }
                if (n->feature < 0 || n->feature >= (int64_t)n_features) {
                        model_set_error(err,
                                        "tree node %zu: feature %lld outside [0, %zu)",
                                        i, (long long)n->feature, n_features);
                        return -EINVAL;
                }
                if (isnan(n->threshold)) {
                        model_set_error(err, "tree node %zu: threshold is NaN", i);
                        return -EINVAL;
                }
        }
        return 0;
}

int model_tree_create(size_t n_features, size_t n_nodes,
                      const struct model_tree_node *nodes, const double *values,
                      size_t n_classes, bool normalize,
                      const struct model_label *classes, struct model **out,
                      struct model_error *err)
{
        if (n_features == 0 || n_nodes == 0 || n_classes == 0 ||
            n_nodes > INT32_MAX || n_features > INT32_MAX) {
                model_set_error(err,
                                "DecisionTreeClassifier: expected nodes, features and "
                                "classes in [1, 2^31), got %zu, %zu, %zu",
                                n_nodes, n_features, n_classes);
                return -EINVAL;
        }
        int rc = check_nodes(n_features, n_nodes, nodes, err);
        if (rc < 0)
                return rc;
        struct tree *t = calloc(1, sizeof(*t));
        if (!t)
                goto nomem;
        t->base.ops = &tree_ops;
        t->n_nodes = n_nodes;
        t->n_values = n_classes;
        t->nodes = malloc(n_nodes * sizeof(*t->nodes));
        t->value = malloc(n_nodes * n_classes * sizeof(double));
        t->proba = malloc(n_nodes * n_classes * sizeof(double));
        if (!t->nodes || !t->value || !t->proba)
                goto nomem;
        for (size_t i = 0; i < n_nodes; i++) {
                t->nodes[i].threshold = nodes[i].threshold;
                t->nodes[i].left = (int32_t)nodes[i].left;
                t->nodes[i].right = (int32_t)nodes[i].right;
                t->nodes[i].feature = (int32_t)nodes[i].feature;
        }
        memcpy(t->value, values, n_nodes * n_classes * sizeof(double));
        for (size_t i = 0; i < n_nodes; i++) {
                const double *v = values + i * n_classes;
                double *p = t->proba + i * n_classes;
                double norm = normalize ? model_np_sum(v, n_classes) : 1.0;
                if (norm == 0.0)
                        norm = 1.0;
                for (size_t k = 0; k < n_classes; k++)
                        p[k] = normalize ? v[k] / norm : v[k];
        }
        /* A tree inside a forest carries no labels; it still knows its
         * width so the forest can check it. */
        rc = model_base_init(&t->base, &tree_ops, MODEL_TYPE_CLASSIFIER,
                             n_features, classes, classes ? n_classes : 0, err);
        if (rc < 0) {
                tree_destroy(&t->base);
                return rc;
        }
        t->base.has_proba = true;
        *out = &t->base;
        return 0;
nomem:
        if (t)
                tree_destroy(&t->base);
        model_set_error(err, "DecisionTreeClassifier: out of memory for %zu nodes",
                        n_nodes);
        return -ENOMEM;
}

static int forest_classify(const struct model *m, const double *X, size_t rows,
                           size_t *class_idx, double *proba,
                           struct model_error *err)
{
        const struct forest *f = (const struct forest *)m;
        size_t nf = m->n_features, nc = m->n_classes;
        float *xf = malloc(nf * sizeof(float));
        double *acc = malloc(nc * sizeof(double));
        int rc = 0;
        if (!xf || !acc) {
                model_set_error(err, "out of memory");
                rc = -ENOMEM;
                goto out;
        }
        for (size_t r = 0; r < rows; r++) {
                rc = cast_row(X + r * nf, nf, r, xf, err);
                if (rc < 0)
                        goto out;
                for (size_t k = 0; k < nc; k++)
                        acc[k] = 0.0;
                for (size_t i = 0; i < f->n_trees; i++) {
                        const struct tree *t = f->trees[i];
                        const double *p = t->proba + tree_leaf(t, xf) * nc;
                        for (size_t k = 0; k < nc; k++)
                                acc[k] += p[k];
                }
                for (size_t k = 0; k < nc; k++)
                        acc[k] /= (double)f->n_trees;
                class_idx[r] = model_np_argmax(acc, nc);
                if (proba)
                        memcpy(proba + r * nc, acc, nc * sizeof(double));
        }
out:
        free(xf);
        free(acc);
        return rc;
}

static void forest_describe(const struct model *m, char *buf, size_t len)
{
        const struct forest *f = (const struct forest *)m;
        snprintf(buf, len, "RandomForestClassifier[%zu trees, %zu classes]",
                 f->n_trees, m->n_classes);
}

static void forest_destroy(struct model *m)
{
        struct forest *f = (struct forest *)m;
        model_base_release(m);
        if (f->trees)
                for (size_t i = 0; i < f->n_trees; i++)
                        model_free(&f->trees[i]->base);
        free(f->trees);
        free(f);
}

static const struct model_ops forest_ops = {
        .name = "RandomForestClassifier",
        .classify = forest_classify,
        .describe = forest_describe,
        .destroy = forest_destroy,
};

int model_forest_create(struct model **trees, size_t n_trees,
                        const struct model_label *classes, size_t n_classes,
                        struct model **out, struct model_error *err)
{
        struct forest *f = NULL;
        int rc = -EINVAL;
        if (n_trees == 0) {
                model_set_error(err, "RandomForestClassifier: no trees");
                goto fail;
        }
        size_t nf = trees[0]->n_features;
        for (size_t i = 0; i < n_trees; i++) {
                if (trees[i]->ops != &tree_ops) {
                        model_set_error(err,
                                        "RandomForestClassifier: estimator %zu is a %s, "
                                        "expected DecisionTreeClassifier",
                                        i, trees[i]->ops->name);
                        goto fail;
                }
                const struct tree *t = (const struct tree *)trees[i];
                if (trees[i]->n_features != nf || t->n_values != n_classes) {
                        model_set_error(err,
                                        "RandomForestClassifier: tree %zu has %zu features "
                                        "and %zu classes, expected %zu and %zu",
                                        i, trees[i]->n_features, t->n_values, nf,
                                        n_classes);
                        goto fail;
                }
        }
        f = calloc(1, sizeof(*f));
        if (!f) {
                rc = -ENOMEM;
                model_set_error(err, "RandomForestClassifier: out of memory");
                goto fail;
        }
        f->base.ops = &forest_ops;
        struct tree **copy = malloc(n_trees * sizeof(*copy));
        if (!copy) {
                rc = -ENOMEM;
                model_set_error(err, "RandomForestClassifier: out of memory");
                goto fail;
        }
        memcpy(copy, trees, n_trees * sizeof(*copy));
        rc = model_base_init(&f->base, &forest_ops, MODEL_TYPE_CLASSIFIER, nf,
                             classes, n_classes, err);
        if (rc < 0) {
                free(copy);
                goto fail;
        }
        f->trees = copy;
        f->n_trees = n_trees;
        f->base.has_proba = true;
        *out = &f->base;
        return 0;
fail:
        for (size_t i = 0; i < n_trees; i++)
                model_free(trees[i]);
        if (f)
                forest_destroy(&f->base);
        return rc;
}
