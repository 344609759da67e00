/* quickscorer.c - QuickScorer's bit-vector traversal (Lucchese et al.,
 * SIGIR 2015) for forests of small trees (gradient boosting's, at most 64
 * leaves each).
 *
 * Number a tree's leaves left to right. A split whose test fails (x goes
 * right) makes every leaf of its left subtree unreachable; the leaf a row
 * reaches is the leftmost one that no failed split of its path removes,
 * and no split off the path can remove it (such a split's left subtree
 * lies wholly to one side of the path's leaf, and if to its left, the
 * leftmost survivor is still the path's leaf). So a row's leaf is the
 * lowest set bit of the AND, over every failed split of the tree, of that
 * split's mask (all leaves but its left subtree's).
 *
 * The failed splits are found feature by feature: a feature's splits over
 * all trees are sorted by threshold, and for x the failed ones are exactly
 * those with threshold < x (x <= threshold passes), a prefix of the list;
 * for NaN, those that do not send missing values left. The comparisons
 * are the walks' own (tree.c's float32 values and thresholds are exact
 * as doubles), so the leaf is the one the walk reaches, with no dependent
 * loads between one split and the next. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "quickscorer.h"

struct qs_forest {
        size_t n_features, n_trees;
        size_t *start;    /* n_features + 1: feature f's splits are [start[f], start[f+1]) */
        double *threshold; /* splits, by feature, then ascending threshold */
        uint32_t *tree;
        uint64_t *mask;
        uint64_t *nan_mask; /* mask, or all ones for a split sending NaN left */
        uint64_t *all;    /* n_trees: a bit per leaf */
        double *leaf;     /* n_trees x 64: leaf values by left-to-right number */
};

struct qs_split {
        double threshold;
        uint32_t tree;
        uint64_t mask, nan_mask;
        int32_t feature;
};

static int split_cmp(const void *a, const void *b)
{
        const struct qs_split *x = a, *y = b;
        if (x->feature != y->feature)
                return x->feature < y->feature ? -1 : 1;
        if (x->threshold != y->threshold)
                return x->threshold < y->threshold ? -1 : 1;
        return x->tree < y->tree ? -1 : x->tree > y->tree;
}

/* Numbers node i's leaves from *next on, left to right, and adds a split
 * for each internal node; -E2BIG past 64 leaves. Depth is bounded by the
 * node count (children come after their parent), and the builder gives
 * small trees, but the recursion is bounded by 64 leaves all the same: a
 * subtree of more than 64 leaves stops at its 65th. */
static int number_leaves(const struct qs_node *nodes, size_t i, uint32_t t, unsigned *next,
                         double *leaf, struct qs_split *splits, size_t *n_splits)
{
        const struct qs_node *n = &nodes[i];
        if (n->left < 0) {
                if (*next >= 64)
                        return -E2BIG;
                leaf[*next] = n->value;
                (*next)++;
                return 0;
        }
        unsigned lo = *next;
        int rc = number_leaves(nodes, (size_t)n->left, t, next, leaf, splits, n_splits);
        if (rc < 0)
                return rc;
        unsigned hi = *next; /* the left subtree's leaves are [lo, hi), hi <= 64 */
        uint64_t left = (hi == 64 ? ~(uint64_t)0 : ((uint64_t)1 << hi) - 1) &
                        ~(((uint64_t)1 << lo) - 1);
        splits[*n_splits] = (struct qs_split){ n->threshold, t, ~left,
                                               n->missing_left ? ~(uint64_t)0 : ~left,
                                               n->feature };
        (*n_splits)++;
        return number_leaves(nodes, (size_t)n->right, t, next, leaf, splits, n_splits);
}

void qs_free(struct qs_forest *q)
{
        if (!q)
                return;
        free(q->start);
        free(q->threshold);
        free(q->tree);
        free(q->mask);
        free(q->nan_mask);
        free(q->all);
        free(q->leaf);
        free(q);
}

/* qs_build's work; -E2BIG or -EINVAL when the forest does not qualify. */
static int build(size_t n_features, size_t n_trees, const struct qs_node *nodes,
                 const size_t *start, struct qs_forest **out)
{
        /* a tree of at most 64 leaves has at most 127 nodes, 63 splits */
        for (size_t t = 0; t < n_trees; t++)
                if (start[t + 1] - start[t] > 127 || start[t + 1] == start[t])
                        return -E2BIG;
        if (n_trees > UINT32_MAX || n_trees > SIZE_MAX / 64 / sizeof(double))
                return -E2BIG;
        struct qs_forest *q = calloc(1, sizeof(*q));
        struct qs_split *splits = malloc((n_trees ? n_trees : 1) * 63 * sizeof(*splits));
        if (!q || !splits)
                goto nomem;
        q->n_features = n_features;
        q->n_trees = n_trees;
        q->all = malloc((n_trees ? n_trees : 1) * sizeof(uint64_t));
        q->leaf = calloc((n_trees ? n_trees : 1) * 64, sizeof(double));
        q->start = calloc(n_features + 1, sizeof(size_t));
        if (!q->all || !q->leaf || !q->start)
                goto nomem;
        size_t n_splits = 0;
        for (size_t t = 0; t < n_trees; t++) {
                unsigned leaves = 0;
                int rc = number_leaves(nodes + start[t], 0, (uint32_t)t, &leaves,
                                       q->leaf + t * 64, splits, &n_splits);
                if (rc < 0) {
                        free(splits);
                        qs_free(q);
                        return rc;
                }
                q->all[t] = leaves == 64 ? ~(uint64_t)0 : ((uint64_t)1 << leaves) - 1;
        }
        qsort(splits, n_splits, sizeof(*splits), split_cmp);
        size_t ns = n_splits ? n_splits : 1;
        q->threshold = malloc(ns * sizeof(double));
        q->tree = malloc(ns * sizeof(uint32_t));
        q->mask = malloc(ns * sizeof(uint64_t));
        q->nan_mask = malloc(ns * sizeof(uint64_t));
        if (!q->threshold || !q->tree || !q->mask || !q->nan_mask)
                goto nomem;
        for (size_t i = 0; i < n_splits; i++) {
                if (splits[i].feature < 0 || (size_t)splits[i].feature >= n_features) {
                        free(splits);
                        qs_free(q);
                        return -EINVAL;
                }
                q->threshold[i] = splits[i].threshold;
                q->tree[i] = splits[i].tree;
                q->mask[i] = splits[i].mask;
                q->nan_mask[i] = splits[i].nan_mask;
                q->start[splits[i].feature + 1]++;
        }
        for (size_t f = 0; f < n_features; f++)
                q->start[f + 1] += q->start[f];
        free(splits);
        *out = q;
        return 0;
nomem:
        free(splits);
        qs_free(q);
        return -ENOMEM;
}

int qs_build(size_t n_features, size_t n_trees, const struct qs_node *nodes,
             const size_t *start, struct qs_forest **out)
{
        *out = NULL;
        int rc = build(n_features, n_trees, nodes, start, out);
        return rc == -E2BIG || rc == -EINVAL ? 0 : rc;
}

size_t qs_scratch_words(const struct qs_forest *q)
{
        return q->n_trees ? q->n_trees : 1;
}

void qs_add(const double *vals, size_t n, size_t k, size_t m, double scale, double *raw)
{
        for (size_t t = 0; t < n; t += k)
                for (size_t j = 0; j < k; j++)
                        for (size_t b = 0; b < m; b++)
                                raw[b * k + j] += scale * vals[b * n + t + j];
}

void qs_values(const struct qs_forest *q, const double *xr, uint64_t *v, double *out)
{
        /* locals: the stores into v could otherwise alias q's fields (the
         * project builds with -fno-strict-aliasing) */
        const double *restrict threshold = q->threshold;
        const uint32_t *restrict tree = q->tree;
        const uint64_t *restrict mask = q->mask, *restrict nan_mask = q->nan_mask;
        const size_t *start = q->start;
        size_t n_trees = q->n_trees, n_features = q->n_features;
        for (size_t t = 0; t < n_trees; t++)
                v[t] = q->all[t];
        for (size_t f = 0; f < n_features; f++) {
                double x = xr[f];
                size_t i = start[f], end = start[f + 1];
                if (isnan(x)) {
                        for (; i < end; i++)
                                v[tree[i]] &= nan_mask[i];
                        continue;
                }
                for (; i < end && threshold[i] < x; i++)
                        v[tree[i]] &= mask[i];
        }
        const double *leaf = q->leaf;
        for (size_t t = 0; t < n_trees; t++)
                out[t] = leaf[t * 64 + (size_t)__builtin_ctzll(v[t])];
}
