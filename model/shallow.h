/* shallow.h - shallow trees stored complete, for one row at a time
 * (shallow.c): gradient boosting's single rows. Internal to model/. */
#ifndef PREDICTD_SHALLOW_H
#define PREDICTD_SHALLOW_H

#include <stddef.h>

#include "quickscorer.h" /* struct qs_node, the builder's node */

/* The deepest tree stored complete (2^depth leaves each). */
#define SH_MAX_DEPTH 5

struct sh_forest;

/* The forest of n_trees trees on n_features features (tree t's nodes are
 * nodes[start[t], start[t + 1]), children after their parent). It
 * qualifies when no tree is deeper than SH_MAX_DEPTH, every threshold is
 * a float32 value, every split sends NaN right (missing_left false:
 * tree.c's trees) and every feature is in range; 0 with *out NULL when
 * it does not, -ENOMEM. */
int sh_build(size_t n_features, size_t n_trees, const struct qs_node *nodes,
             const size_t *start, struct sh_forest **out);
void sh_free(struct sh_forest *f);

/* out[t] = the value of the leaf tree t sends x (float32, n_features
 * values) to. */
void sh_values(const struct sh_forest *f, const float *x, double *out);

#endif
