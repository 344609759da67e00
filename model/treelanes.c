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
 * way, so the answers do not depend on the CPU.
 *
 * HistGradientBoosting's trees compare float64 values with float64
 * thresholds and send NaN where each split says: tl_build64's forests
 * hold the thresholds as they are, and a lane goes left when x <= the
 * threshold or when x is NaN and the split's missing values go left, as
 * hist.c's walk does. Eight float64 lanes are two AVX2 registers, so
 * these forests are built only where the CPU has AVX2. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treelanes.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TL_CLONES __attribute__((target_clones("avx2", "default")))
/* Float64 lanes pay only in AVX2's registers: with SSE2 alone GCC
 * compares them one lane at a time, slower than quickscorer.c's rows. */
#define TL64_TARGET __attribute__((target("avx2")))
static bool tl64_usable(void)
{
        return __builtin_cpu_supports("avx2");
}
#else
#define TL_CLONES
#define TL64_TARGET
static bool tl64_usable(void)
{
        return false;
}
#endif

typedef float tl_vf __attribute__((vector_size(TL_ROWS * sizeof(float))));
typedef int32_t tl_vi __attribute__((vector_size(TL_ROWS * sizeof(int32_t)), aligned(4)));
/* accumulators live in the caller's scratch, which is only double-aligned */
typedef double tl_vd __attribute__((vector_size(TL_ROWS * sizeof(double)), aligned(8)));
/* float64 lanes come in halves of a block: GCC compares a vector wider
 * than the target's registers one lane at a time */
#define TL_HALF (TL_ROWS / 2)
typedef double tl_vd2 __attribute__((vector_size(TL_HALF * sizeof(double)), aligned(8)));
typedef int64_t tl_vl2 __attribute__((vector_size(TL_HALF * sizeof(int64_t)), aligned(8)));

struct tl_split {
        uint32_t lane;   /* feature x TL_ROWS: the feature's values in a block */
        float threshold;
        uint32_t keep;   /* the leaves a row failing the split keeps */
};

/* A split of a forest built by tl_build64: the float64 threshold as the
 * file has it, and NaN's way. */
struct tl_split64 {
        double threshold;
        uint32_t lane;
        uint32_t keep;
        int64_t nan_left; /* -1 when NaN goes left (keeps every leaf), else 0 */
};

struct tl_tree {
        uint32_t first, end; /* its splits */
        uint32_t leaf;       /* its first leaf value */
        uint32_t all;        /* a bit per leaf */
};

struct tl_forest {
        size_t n_features, n_trees;
        struct tl_tree *trees;
        bool f64;                  /* tl_build64's: splits64, not splits */
        struct tl_split *splits;
        struct tl_split64 *splits64;
        double *leaf; /* scale x each leaf's value, tree by tree, left to right */
};

void tl_free(struct tl_forest *f)
{
        if (!f)
                return;
        free(f->trees);
        free(f->splits);
        free(f->splits64);
        free(f->leaf);
        free(f);
}

/* tl_build's work; -E2BIG or -EINVAL when the forest does not qualify. */
static int build(size_t n_features, size_t n_trees, const struct qs_node *nodes,
                 const size_t *start, double scale, bool f64, struct tl_forest *f)
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
                if (!f64 && (n->missing_left || (double)(float)n->threshold != n->threshold))
                        return -EINVAL;
                if (n->feature < 0 || (size_t)n->feature >= n_features)
                        return -EINVAL;
        }
        f->n_features = n_features;
        f->n_trees = n_trees;
        f->trees = malloc((n_trees ? n_trees : 1) * sizeof(*f->trees));
        f->f64 = f64;
        if (f64)
                f->splits64 = malloc((n_nodes ? n_nodes : 1) * sizeof(*f->splits64));
        else
                f->splits = malloc((n_nodes ? n_nodes : 1) * sizeof(*f->splits));
        f->leaf = malloc((n_nodes ? n_nodes : 1) * sizeof(double));
        struct qs_split *splits = malloc(32 * sizeof(*splits));
        int rc = -ENOMEM;
        if (!f->trees || !(f->splits || f->splits64) || !f->leaf || !splits)
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
                for (size_t s = 0; s < ns; s++, n_splits++) {
                        uint32_t lane = (uint32_t)splits[s].feature * TL_ROWS;
                        if (f64)
                                /* a NaN that goes left keeps more than mask */
                                f->splits64[n_splits] = (struct tl_split64){
                                        splits[s].threshold, lane, (uint32_t)splits[s].mask,
                                        splits[s].nan_mask != splits[s].mask ? -1 : 0
                                };
                        else
                                f->splits[n_splits] = (struct tl_split){
                                        lane, (float)splits[s].threshold,
                                        (uint32_t)splits[s].mask
                                };
                }
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

static int build_forest(size_t n_features, size_t n_trees, const struct qs_node *nodes,
                        const size_t *start, double scale, bool f64,
                        struct tl_forest **out)
{
        *out = NULL;
        struct tl_forest *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        int rc = build(n_features, n_trees, nodes, start, scale, f64, f);
        if (rc < 0) {
                tl_free(f);
                return rc == -E2BIG || rc == -EINVAL ? 0 : rc;
        }
        *out = f;
        return 0;
}

int tl_build(size_t n_features, size_t n_trees, const struct qs_node *nodes,
             const size_t *start, double scale, struct tl_forest **out)
{
        return build_forest(n_features, n_trees, nodes, start, scale, false, out);
}

int tl_build64(size_t n_features, size_t n_trees, const struct qs_node *nodes,
               const size_t *start, struct tl_forest **out)
{
        if (!tl64_usable()) {
                *out = NULL;
                return 0;
        }
        return build_forest(n_features, n_trees, nodes, start, 1.0, true, out);
}

size_t tl_scratch_doubles(const struct tl_forest *f, size_t k)
{
        if (f->f64) /* the block's values, then its NaN lanes */
                return k * TL_ROWS + 2 * f->n_features * TL_ROWS;
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

/* score for tl_build64's forests: xt the block's float64 values
 * feature-major, nan all ones in the lanes where xt is NaN. */
TL64_TARGET static void score64(const struct tl_forest *f, const double *xt, const int64_t *nan,
                              size_t k, tl_vd *acc)
{
        const struct tl_split64 *splits = f->splits64;
        const double *leaves = f->leaf;
        size_t j = 0;
        for (size_t t = 0; t < f->n_trees; t++) {
                const struct tl_tree *tr = &f->trees[t];
                tl_vl2 v0 = (tl_vl2){ 0 } + (int64_t)tr->all, v1 = v0;
                for (uint32_t s = tr->first; s < tr->end; s++) {
                        const struct tl_split64 *sp = &splits[s];
                        /* loads through the 8-byte-aligned lane types, not
                         * memcpy, which GCC splits into halves through the
                         * stack in this function */
                        tl_vd2 x0 = *(const tl_vd2 *)(xt + sp->lane);
                        tl_vd2 x1 = *(const tl_vd2 *)(xt + sp->lane + TL_HALF);
                        tl_vl2 n0 = *(const tl_vl2 *)(nan + sp->lane);
                        tl_vl2 n1 = *(const tl_vl2 *)(nan + sp->lane + TL_HALF);
                        /* all ones where the row goes left: it keeps every leaf */
                        v0 &= (x0 <= sp->threshold) | (n0 & sp->nan_left) | (int64_t)sp->keep;
                        v1 &= (x1 <= sp->threshold) | (n1 & sp->nan_left) | (int64_t)sp->keep;
                }
                int64_t w[TL_ROWS];
                memcpy(w, &v0, sizeof(v0));
                memcpy(w + TL_HALF, &v1, sizeof(v1));
                const double *leaf = leaves + tr->leaf;
                tl_vd val;
                for (int b = 0; b < TL_ROWS; b++)
                        val[b] = leaf[__builtin_ctz((uint32_t)w[b])];
                acc[j] += val;
                if (++j == k)
                        j = 0;
        }
}

/* acc's lanes from raw's rows, and back */
static void acc_load(const double *raw, size_t m, size_t k, tl_vd *acc)
{
        for (size_t j = 0; j < k; j++)
                for (size_t b = 0; b < TL_ROWS; b++)
                        acc[j][b] = b < m ? raw[b * k + j] : 0.0;
}

static void acc_store(const tl_vd *acc, size_t m, size_t k, double *raw)
{
        for (size_t b = 0; b < m; b++)
                for (size_t j = 0; j < k; j++)
                        raw[b * k + j] = acc[j][b];
}

void tl_add64(const struct tl_forest *f, const double *const *rows, size_t m, size_t k,
              double *raw, double *scratch)
{
        size_t nf = f->n_features;
        tl_vd *acc = (tl_vd *)scratch;
        /* the block feature-major; lanes past m repeat row 0 and are dropped */
        double *xt = scratch + k * TL_ROWS;
        int64_t *nan = (int64_t *)(void *)(xt + nf * TL_ROWS);
        for (size_t b = 0; b < TL_ROWS; b++) {
                const double *row = rows[b < m ? b : 0];
                for (size_t i = 0; i < nf; i++) {
                        xt[i * TL_ROWS + b] = row[i];
                        nan[i * TL_ROWS + b] = row[i] != row[i] ? -1 : 0;
                }
        }
        acc_load(raw, m, k, acc);
        score64(f, xt, nan, k, acc);
        acc_store(acc, m, k, raw);
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
        acc_load(raw, m, k, acc);
        score(f, xt, k, acc);
        acc_store(acc, m, k, raw);
}
