/* treelanes.c - small trees scored TL_ROWS rows at a time, tree by tree.
 *
 * quickscorer.c finds one row's leaf in each tree as the lowest set bit
 * of the AND of the masks of the splits the row fails; it visits only the
 * failed splits, but each costs a dependent read-modify-write of the
 * tree's word. Here a block of rows is laid out feature-major (TL_ROWS
 * float32 values per feature), and each tree's words, one lane per row,
 * live in a register: every split of the tree is one vector comparison
 * and two bitwise operations for all the rows, with nothing to wait on
 * from the split before. The comparison is the walk's own (x <= the
 * float32 threshold, NaN failing it), so each lane ends on the leaf the
 * walk reaches; the leaf values are then added into one accumulator lane
 * per row, tree after tree, the order in which a walk adds them.
 *
 * The lanes are GCC's vector extension, so the same source is SSE2 code
 * everywhere and, on x86-64 with GCC, also AVX2 code chosen at load time
 * when the CPU has it. Only comparisons and bit operations run in lanes;
 * the additions are the same double additions in the same order either
 * way, so the answers do not depend on the CPU. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treelanes.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TL_CLONES
#endif

typedef float tl_vf __attribute__((vector_size(TL_ROWS * sizeof(float))));
typedef int32_t tl_vi __attribute__((vector_size(TL_ROWS * sizeof(int32_t)), aligned(4)));
/* accumulators live in the caller's scratch, which is only double-aligned */
typedef double tl_vd __attribute__((vector_size(TL_ROWS * sizeof(double)), aligned(8)));

struct tl_split {
        uint32_t lane;   /* feature x TL_ROWS: the feature's values in a block */
        float threshold;
        uint32_t keep;   /* the leaves a row failing the split keeps */
};

struct tl_tree {
        uint32_t first, end; /* its splits */
        uint32_t leaf;       /* its first leaf value */
        uint32_t all;        /* a bit per leaf */
};

struct tl_forest {
        size_t n_features, n_trees;
        struct tl_tree *trees;
        struct tl_split *splits;
        double *leaf; /* scale x each leaf's value, tree by tree, left to right */
};

void tl_free(struct tl_forest *f)
{
        if (!f)
                return;
        free(f->trees);
        free(f->splits);
        free(f->leaf);
        free(f);
}

/* tl_build's work; -E2BIG or -EINVAL when the forest does not qualify. */
static int build(size_t n_features, size_t n_trees, const struct qs_node *nodes,
                 const size_t *start, double scale, struct tl_forest *f)
{
        /* 32 leaves need at most 63 nodes and 31 splits */
        size_t n_nodes = start[n_trees];
        if (n_trees > UINT32_MAX / 63 || n_features > UINT32_MAX / TL_ROWS)
                return -E2BIG;
        for (size_t t = 0; t < n_trees; t++)
                if (start[t + 1] - start[t] > 63 || start[t + 1] == start[t])
                        return -E2BIG;
        for (size_t i = 0; i < n_nodes; i++) {
                const struct qs_node *n = &nodes[i];
                if (n->left < 0)
                        continue;
                if (n->missing_left || (double)(float)n->threshold != n->threshold)
                        return -EINVAL;
                if (n->feature < 0 || (size_t)n->feature >= n_features)
                        return -EINVAL;
        }
        f->n_features = n_features;
        f->n_trees = n_trees;
        f->trees = malloc((n_trees ? n_trees : 1) * sizeof(*f->trees));
        f->splits = malloc((n_nodes ? n_nodes : 1) * sizeof(*f->splits));
        f->leaf = malloc((n_nodes ? n_nodes : 1) * sizeof(double));
        struct qs_split *splits = malloc(32 * sizeof(*splits));
        int rc = -ENOMEM;
        if (!f->trees || !f->splits || !f->leaf || !splits)
                goto done;
        size_t n_splits = 0, n_leaves = 0;
        for (size_t t = 0; t < n_trees; t++) {
                unsigned leaves = 0;
                size_t ns = 0;
                rc = qs_number_leaves(nodes + start[t], 0, (uint32_t)t, 32, &leaves,
                                      f->leaf + n_leaves, splits, &ns);
                if (rc < 0)
                        goto done;
                struct tl_tree *tr = &f->trees[t];
                tr->first = (uint32_t)n_splits;
                tr->leaf = (uint32_t)n_leaves;
                tr->all = leaves == 32 ? UINT32_MAX : ((uint32_t)1 << leaves) - 1;
                for (size_t s = 0; s < ns; s++)
                        f->splits[n_splits++] = (struct tl_split){
                                (uint32_t)splits[s].feature * TL_ROWS,
                                (float)splits[s].threshold, (uint32_t)splits[s].mask
                        };
                tr->end = (uint32_t)n_splits;
                for (unsigned l = 0; l < leaves; l++)
                        f->leaf[n_leaves + l] *= scale;
                n_leaves += leaves;
        }
        rc = 0;
done:
        free(splits);
        return rc;
}

int tl_build(size_t n_features, size_t n_trees, const struct qs_node *nodes,
             const size_t *start, double scale, struct tl_forest **out)
{
        *out = NULL;
        struct tl_forest *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        int rc = build(n_features, n_trees, nodes, start, scale, f);
        if (rc < 0) {
                tl_free(f);
                return rc == -E2BIG || rc == -EINVAL ? 0 : rc;
        }
        *out = f;
        return 0;
}

size_t tl_scratch_doubles(const struct tl_forest *f, size_t k)
{
        return k * TL_ROWS + (f->n_features * TL_ROWS + 1) / 2;
}

/* acc[j] lane b += leaf values of rows b for the trees t with t % k == j,
 * in tree order; xt holds the block feature-major. */
TL_CLONES static void score(const struct tl_forest *f, const float *xt, size_t k, tl_vd *acc)
{
        const struct tl_split *splits = f->splits;
        const double *leaves = f->leaf;
        size_t j = 0;
        for (size_t t = 0; t < f->n_trees; t++) {
                const struct tl_tree *tr = &f->trees[t];
                tl_vi v = (tl_vi){ 0 } + (int32_t)tr->all;
                for (uint32_t s = tr->first; s < tr->end; s++) {
                        tl_vf x;
                        memcpy(&x, xt + splits[s].lane, sizeof(x));
                        /* all ones where the row goes left: it keeps every leaf */
                        tl_vi left = x <= splits[s].threshold;
                        v &= left | (int32_t)splits[s].keep;
                }
                uint32_t w[TL_ROWS]; /* out of the register only once the tree is done */
                *(tl_vi *)w = v;
                const double *leaf = leaves + tr->leaf;
                tl_vd val;
                for (int b = 0; b < TL_ROWS; b++)
                        val[b] = leaf[__builtin_ctz(w[b])];
                acc[j] += val;
                if (++j == k)
                        j = 0;
        }
}

void tl_add(const struct tl_forest *f, const float *xf, size_t m, size_t k, double *raw,
            double *scratch)
{
        size_t nf = f->n_features;
        tl_vd *acc = (tl_vd *)scratch;
        /* the block feature-major; lanes past m repeat row 0 and are dropped */
        float *xt = (float *)(scratch + k * TL_ROWS);
        for (size_t b = 0; b < TL_ROWS; b++) {
                const float *row = xf + (b < m ? b : 0) * nf;
                for (size_t i = 0; i < nf; i++)
                        xt[i * TL_ROWS + b] = row[i];
        }
        for (size_t j = 0; j < k; j++)
                for (size_t b = 0; b < TL_ROWS; b++)
                        acc[j][b] = b < m ? raw[b * k + j] : 0.0;
        score(f, xt, k, acc);
        for (size_t b = 0; b < m; b++)
                for (size_t j = 0; j < k; j++)
                        raw[b * k + j] = acc[j][b];
}
