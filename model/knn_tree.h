/* knn_tree.h - scikit-learn's KD-tree and ball-tree k-nearest search,
 * replayed over a pickled tree (knn_tree.c). Internal to model/. */
#ifndef PREDICTD_KNN_TREE_H
#define PREDICTD_KNN_TREE_H

#include "model_internal.h"

struct knn_tree;

/* Copies and checks src for n samples of nf features (p 1 or 2). */
int knn_tree_copy(const struct model_knn_tree *src, size_t n, size_t nf, int p,
                  struct knn_tree **out, struct model_error *err);
void knn_tree_free(struct knn_tree *t);

/* The k nearest samples of x as scikit-learn's query collects them: hd
 * and hi receive k reduced distances and sample indices, in heap order. */
void knn_tree_query(const struct knn_tree *t, const double *fit_x, const double *x, size_t k,
                    double *hd, size_t *hi);

#endif
