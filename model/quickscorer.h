/* quickscorer.h - many small trees evaluated by bit vectors instead of
 * walks (quickscorer.c). Internal to model/. */
#ifndef PREDICTD_QUICKSCORER_H
#define PREDICTD_QUICKSCORER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One node as the builder gives it: children -1 for a leaf; children come
 * after their parent. A split sends x left when x <= threshold, and NaN
 * left when missing_left (tree.c's trees send NaN right; a
 * HistGradientBoosting node says). */
struct qs_node {
        int32_t left, right;
        int32_t feature;
        bool missing_left;
        double threshold;
        double value; /* a leaf's value */
};

/* One split of a tree whose leaves are numbered left to right: a row
 * that fails it (goes right) keeps only the leaves of mask (all but the
 * split's left subtree's); nan_mask is what a NaN keeps. */
struct qs_split {
        double threshold;
        uint32_t tree;
        uint64_t mask, nan_mask;
        int32_t feature;
};

/* Numbers the leaves of the subtree at node i of tree t from *next on,
 * left to right, storing their values in leaf[*next ..], and appends a
 * split for each internal node in pre-order; -E2BIG past max (<= 64)
 * leaves. Depth is bounded by the node count (children come after their
 * parent), and the recursion stops at the (max + 1)th leaf. */
int qs_number_leaves(const struct qs_node *nodes, size_t i, uint32_t t, unsigned max,
                     unsigned *next, double *leaf, struct qs_split *splits, size_t *n_splits);

struct qs_forest;

/* The forest of n_trees trees on n_features features, tree t's nodes
 * being nodes[start[t], start[t + 1]). 0 with *out NULL when it does not
 * qualify (a tree of more than 64 leaves, a feature out of range: the walk
 * serves such forests), -ENOMEM. */
int qs_build(size_t n_features, size_t n_trees, const struct qs_node *nodes,
             const size_t *start, struct qs_forest **out);
void qs_free(struct qs_forest *q);

/* Scratch qs_values needs: n_trees words. */
size_t qs_scratch_words(const struct qs_forest *q);

/* out[t] = the value of the leaf tree t sends the row x (n_features
 * values) to. */
void qs_values(const struct qs_forest *q, const double *x, uint64_t *scratch, double *out);

/* Rows whose leaf values qs_add adds side by side. */
#define QS_ROWS 4

/* For the m <= QS_ROWS rows b whose qs_values are at vals + b * n (n
 * trees, stage by stage and k a stage): raw[b * k + j] += scale * value,
 * stage by stage, each row's sums in that order and the rows' side by
 * side (each is a chain of n / k dependent adds). */
void qs_add(const double *vals, size_t n, size_t k, size_t m, double scale, double *raw);

#endif
