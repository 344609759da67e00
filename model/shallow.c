/* shallow.c - shallow trees stored complete and walked by index.
 *
 * Every tree of the forest is stored as the complete binary tree of the
 * forest's depth D, in breadth-first order: node i's children are
 * 2i + 1 and 2i + 2, and the 2^D leaves follow the 2^D - 1 splits. A
 * leaf shallower than D becomes splits that cannot separate anything:
 * threshold +inf (every number goes left, NaN right, as in any split) with
 * the leaf's value copied to every leaf below. A row's walk is then D
 * steps of i = 2i + 1 + (x fails the split), with no branch to mispredict
 * and no test for a leaf, and the trees' walks overlap in the CPU since
 * none waits on another. The comparison is tree.c's own (x <= the
 * float32 threshold), so each walk ends on the value tree.c's walk
 * reaches. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "shallow.h"

struct sh_node {
        float threshold;
        uint32_t feature;
};

struct sh_forest {
        size_t n_trees;
        unsigned depth;
        struct sh_node *nodes; /* n_trees x (2^depth - 1) */
        double *leaf;          /* n_trees x 2^depth */
};

void sh_free(struct sh_forest *f)
{
        if (!f)
                return;
        free(f->nodes);
        free(f->leaf);
        free(f);
}

/* The depth of the subtree at node i, or SH_MAX_DEPTH + 1 once past it;
 * -EINVAL for a split that does not qualify. */
static int depth_of(const struct qs_node *nodes, size_t i, size_t n_features, int d)
{
        const struct qs_node *n = &nodes[i];
        if (n->left < 0)
                return d;
        if (d == SH_MAX_DEPTH)
                return SH_MAX_DEPTH + 1;
        if (n->missing_left || (double)(float)n->threshold != n->threshold ||
            n->feature < 0 || (size_t)n->feature >= n_features)
                return -EINVAL;
        int l = depth_of(nodes, (size_t)n->left, n_features, d + 1);
        if (l < 0 || l > SH_MAX_DEPTH)
                return l;
        int r = depth_of(nodes, (size_t)n->right, n_features, d + 1);
        return r < 0 || r > l ? r : l;
}

/* Stores the subtree at node i as complete position p at depth d. */
static void fill(const struct sh_forest *f, size_t t, const struct qs_node *nodes, size_t i,
                 size_t p, unsigned d)
{
        size_t n_splits = ((size_t)1 << f->depth) - 1;
        const struct qs_node *n = &nodes[i];
        if (d == f->depth) {
                f->leaf[t * (n_splits + 1) + p - n_splits] = n->value;
                return;
        }
        struct sh_node *s = &f->nodes[t * n_splits + p];
        if (n->left < 0) {
                *s = (struct sh_node){ INFINITY, 0 };
                fill(f, t, nodes, i, 2 * p + 1, d + 1);
                fill(f, t, nodes, i, 2 * p + 2, d + 1);
                return;
        }
        *s = (struct sh_node){ (float)n->threshold, (uint32_t)n->feature };
        fill(f, t, nodes, (size_t)n->left, 2 * p + 1, d + 1);
        fill(f, t, nodes, (size_t)n->right, 2 * p + 2, d + 1);
}

int sh_build(size_t n_features, size_t n_trees, const struct qs_node *nodes,
             const size_t *start, struct sh_forest **out)
{
        *out = NULL;
        int depth = 0;
        for (size_t t = 0; t < n_trees; t++) {
                if (start[t + 1] == start[t])
                        return 0;
                int d = depth_of(nodes + start[t], 0, n_features, 0);
                if (d < 0 || d > SH_MAX_DEPTH)
                        return 0;
                if (d > depth)
                        depth = d;
        }
        struct sh_forest *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->n_trees = n_trees;
        f->depth = (unsigned)depth;
        size_t leaves = (size_t)1 << depth;
        f->nodes = malloc((n_trees ? n_trees : 1) * (leaves - 1 ? leaves - 1 : 1) *
                          sizeof(*f->nodes));
        f->leaf = malloc((n_trees ? n_trees : 1) * leaves * sizeof(double));
        if (!f->nodes || !f->leaf) {
                sh_free(f);
                return -ENOMEM;
        }
        for (size_t t = 0; t < n_trees; t++)
                fill(f, t, nodes + start[t], 0, 0, 0);
        *out = f;
        return 0;
}

/* The walks for a fixed depth, so that the compiler unrolls them. */
static inline void walk_all(const struct sh_forest *f, const float *x, double *out,
                            unsigned depth)
{
        size_t n_splits = ((size_t)1 << depth) - 1, n_trees = f->n_trees;
        const struct sh_node *s = f->nodes;
        const double *leaf = f->leaf;
        for (size_t t = 0; t < n_trees; t++) {
                size_t i = 0;
#pragma GCC unroll 8
                for (unsigned d = 0; d < depth; d++)
                        i = 2 * i + 1 + !(x[s[i].feature] <= s[i].threshold);
                out[t] = leaf[i - n_splits];
                s += n_splits;
                leaf += n_splits + 1;
        }
}

void sh_values(const struct sh_forest *f, const float *x, double *out)
{
        switch (f->depth) {
        case 0: walk_all(f, x, out, 0); break;
        case 1: walk_all(f, x, out, 1); break;
        case 2: walk_all(f, x, out, 2); break;
        case 3: walk_all(f, x, out, 3); break;
        case 4: walk_all(f, x, out, 4); break;
        default: walk_all(f, x, out, SH_MAX_DEPTH); break;
        }
}
