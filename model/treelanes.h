/* treelanes.h - many small trees scored eight rows at a time
 * (treelanes.c): gradient boosting's batches. Internal to model/. */
#ifndef PREDICTD_TREELANES_H
#define PREDICTD_TREELANES_H

#include <stddef.h>

#include "quickscorer.h" /* struct qs_node, the builder's node */

/* Rows scored side by side, and the fewest worth a block (fewer go row
 * by row through quickscorer.c). */
#define TL_ROWS 8
#define TL_MIN_ROWS 3

struct tl_forest;

/* The forest of n_trees trees on n_features features (tree t's nodes are
 * nodes[start[t], start[t + 1]), children after their parent), each leaf
 * value multiplied by scale once here. It qualifies when every tree has
 * at most 32 leaves, every threshold is a float32 value, every split
 * sends NaN right (missing_left false: tree.c's trees) and every feature
 * is in range; 0 with *out NULL when it does not, -ENOMEM. */
int tl_build(size_t n_features, size_t n_trees, const struct qs_node *nodes,
             const size_t *start, double scale, struct tl_forest **out);
/* The same for float64 rows compared with float64 thresholds, NaN going
 * where each split's missing_left says (HistGradientBoosting's trees),
 * leaf values as they are; tl_add64 scores it. Only where the CPU has
 * AVX2 (x86-64, GCC): elsewhere 0 with *out NULL. */
int tl_build64(size_t n_features, size_t n_trees, const struct qs_node *nodes,
               const size_t *start, struct tl_forest **out);
void tl_free(struct tl_forest *f);

/* Doubles of scratch tl_add needs for k outputs. */
size_t tl_scratch_doubles(const struct tl_forest *f, size_t k);

/* For the m (1..TL_ROWS) rows of xf (float32, row-major, the forest's
 * n_features each): raw[b * k + t % k] += scale * the value of the leaf
 * tree t sends row b to, for t = 0, 1, ... in order, so each row's sums
 * are the ones a walk over the trees in order makes. */
void tl_add(const struct tl_forest *f, const float *xf, size_t m, size_t k, double *raw,
            double *scratch);

/* tl_add for a tl_build64 forest: the m (1..TL_ROWS) rows are rows[b],
 * float64, n_features each. */
void tl_add64(const struct tl_forest *f, const double *const *rows, size_t m, size_t k,
              double *raw, double *scratch);

#endif
