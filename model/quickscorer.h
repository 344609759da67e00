/* quickscorer.h - many small trees evaluated by bit vectors instead of
 * walks (quickscorer.c). Internal to model/. */
#ifndef PREDICTD_QUICKSCORER_H
#define PREDICTD_QUICKSCORER_H

#include <stddef.h>
#include <stdint.h>

/* One node as the builder gives it: children -1 for a leaf; children come
 * after their parent. A split sends x left when x <= threshold (a float32
 * x, so NaN goes right), as tree.c's walk does. */
struct qs_node {
        int32_t left, right;
        int32_t feature;
        float threshold;
        double value; /* a leaf's value */
};

struct qs_forest;

/* The forest of n_trees trees (tree t has n_nodes[t] nodes at trees[t]) on
 * n_features features. -E2BIG when a tree has more than 64 leaves (the
 * walk serves such forests), -EINVAL for a feature out of range, -ENOMEM. */
int qs_build(size_t n_features, size_t n_trees, const struct qs_node *const *trees,
             const size_t *n_nodes, struct qs_forest **out);
void qs_free(struct qs_forest *q);

/* Scratch qs_values needs: n_trees words. */
size_t qs_scratch_words(const struct qs_forest *q);

/* out[t] = the value of the leaf tree t sends the row xf (n_features
 * float32 values) to. */
void qs_values(const struct qs_forest *q, const float *xf, uint64_t *scratch, double *out);

#endif
