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
