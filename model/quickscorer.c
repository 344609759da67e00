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

static int split_cmp(const void *a, const void *b)
{
        const struct qs_split *x = a, *y = b;
        if (x->feature != y->feature)
                return x->feature < y->feature ? -1 : 1;
        if (x->threshold != y->threshold)
                return x->threshold < y->threshold ? -1 : 1;
        return x->tree < y->tree ? -1 : x->tree > y->tree;
}

int qs_number_leaves(const struct qs_node *nodes, size_t i, uint32_t t, unsigned max,
                     unsigned *next, double *leaf, struct qs_split *splits, size_t *n_splits)
{
        const struct qs_node *n = &nodes[i];
        if (n->left < 0) {
                if (*next >= max)
                        return -E2BIG;
                leaf[*next] = n->value;
                (*next)++;
                return 0;
        }
        unsigned lo = *next;
        int rc = qs_number_leaves(nodes, (size_t)n->left, t, max, next, leaf, splits,
                                  n_splits);
        if (rc < 0)
                return rc;
        unsigned hi = *next; /* the left subtree's leaves are [lo, hi), hi <= 64 */
        uint64_t left = (hi == 64 ? ~(uint64_t)0 : ((uint64_t)1 << hi) - 1) &
                        ~(((uint64_t)1 << lo) - 1);
        splits[*n_splits] = (struct qs_split){ n->threshold, t, ~left,
                                               n->missing_left ? ~(uint64_t)0 : ~left,
                                               n->feature };
        (*n_splits)++;
        return qs_number_leaves(nodes, (size_t)n->right, t, max, next, leaf, splits, n_splits);
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
                int rc = qs_number_leaves(nodes + start[t], 0, (uint32_t)t, 64, &leaves,
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

/* The start of chain c's values, for qs_add; chains past the last one
 * repeat it. */
static const double *chain_start(const double *vals, size_t n, size_t k, size_t chains,
                                 size_t c)
{
        if (c >= chains)
                c = chains - 1;
        return vals + (c / k) * n + c % k;
}

void qs_add(const double *vals, size_t n, size_t k, size_t m, double scale, double *raw)
{
        /* chain c = b * k + j adds vals[b * n + j + i * k], i = 0, 1, ...;
         * four chains at a time, each in a register, so that no add waits
         * on a store of the one before (a last group of fewer repeats its
         * last chain and drops the repeats) */
        size_t chains = m * k;
        for (size_t c = 0; c < chains; c += 4) {
                const double *p0 = chain_start(vals, n, k, chains, c);
                const double *p1 = chain_start(vals, n, k, chains, c + 1);
                const double *p2 = chain_start(vals, n, k, chains, c + 2);
                const double *p3 = chain_start(vals, n, k, chains, c + 3);
                size_t last = chains - 1;
                double s0 = raw[c], s1 = raw[c + 1 < last ? c + 1 : last],
                       s2 = raw[c + 2 < last ? c + 2 : last],
                       s3 = raw[c + 3 < last ? c + 3 : last];
                for (size_t t = 0; t < n; t += k) {
                        s0 += scale * p0[t];
                        s1 += scale * p1[t];
                        s2 += scale * p2[t];
                        s3 += scale * p3[t];
                }
                double sum[4] = { s0, s1, s2, s3 };
                for (size_t q = 0; q < 4 && c + q < chains; q++)
                        raw[c + q] = sum[q];
        }
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
