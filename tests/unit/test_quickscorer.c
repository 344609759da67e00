/* test_quickscorer.c - the three ways model/ scores many small trees
 * without walking them reach the leaf a plain walk reaches: bit vectors
 * row by row (quickscorer.c), bit vectors eight rows at a time
 * (treelanes.c, float32 and float64 rows) and complete trees walked by
 * index (shallow.c). Random
 * trees, rows that sit on the thresholds, just beside them, at +-inf and
 * NaN; forests they cannot serve (too many leaves, too deep, NaN sent
 * left, a threshold no float32 holds, a feature out of range) are
 * declined (no forest built), so the walk serves them. Agreement with
 * scikit-learn is the end-to-end tests' job
 * (tests/e2e/test_bitvector_trees.py). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "quickscorer.h"
#include "shallow.h"
#include "treelanes.h"
#include "tap.h"

#define MAX_NODES 127
#define FEATURES 5

/* The leaf value a walk reaches: left when x <= threshold, NaN by the
 * node's missing_left. */
static double walk(const struct qs_node *nodes, const double *x)
{
        size_t i = 0;
        while (nodes[i].left >= 0) {
                const struct qs_node *n = &nodes[i];
                double v = x[n->feature];
                bool left = isnan(v) ? n->missing_left : v <= n->threshold;
                i = (size_t)(left ? n->left : n->right);
        }
        return nodes[i].value;
}

static unsigned rnd(unsigned *s)
{
        *s = *s * 1103515245u + 12345u;
        return (*s >> 16) & 0x7fff;
}

/* A random tree of at most `leaves` leaves and `depth` levels (exactly
 * `leaves` when depth allows), in pre-order (children after their
 * parent); thresholds from a small set so that several splits share one,
 * each a float32 value; NaN goes either way, or always right when
 * !nan_left. */
static size_t grow_tree(struct qs_node *nodes, size_t *n, unsigned leaves, unsigned depth,
                        bool nan_left, unsigned *seed)
{
        size_t i = (*n)++;
        if (leaves == 1 || depth == 0) {
                nodes[i] = (struct qs_node){ -1, -1, 0, false, 0.0, (double)i + 0.25 };
                return i;
        }
        unsigned left = 1 + rnd(seed) % (leaves - 1);
        nodes[i].feature = (int32_t)(rnd(seed) % FEATURES);
        nodes[i].threshold = (double)((int)(rnd(seed) % 9) - 4) * 0.5;
        nodes[i].missing_left = rnd(seed) % 2 && nan_left;
        nodes[i].value = NAN;
        nodes[i].left = (int32_t)grow_tree(nodes, n, left, depth - 1, nan_left, seed);
        nodes[i].right = (int32_t)grow_tree(nodes, n, leaves - left, depth - 1, nan_left, seed);
        return i;
}

static size_t grow(struct qs_node *nodes, size_t *n, unsigned leaves, unsigned *seed)
{
        return grow_tree(nodes, n, leaves, 64, true, seed);
}

/* A special value or its neighbour below or above: the next float32
 * when f32, else the next float64. */
static double special_value(unsigned *seed, bool f32)
{
        static const double special[] = { -2.0, -0.5, 0.0, 0.5, 2.0, INFINITY,
                                          -INFINITY, NAN };
        double v = special[rnd(seed) % 8];
        int side = (int)(rnd(seed) % 3);
        if (side) {
                double to = side == 1 ? -INFINITY : INFINITY;
                v = f32 ? (double)nextafterf((float)v, (float)to) : nextafter(v, to);
        }
        return v;
}

/* A row of specials and their float64 neighbours. */
static void double_row(double *x, unsigned *seed)
{
        for (int f = 0; f < FEATURES; f++)
                x[f] = special_value(seed, false);
}

static bool random_forests_match_the_walk(void)
{
        static struct qs_node store[40 * MAX_NODES];
        const struct qs_node *trees[40];
        size_t start[41];
        unsigned seed = 7;
        for (int round = 0; round < 20; round++) {
                size_t n_trees = 1 + rnd(&seed) % 40;
                start[0] = 0;
                for (size_t t = 0; t < n_trees; t++) {
                        unsigned leaves = 1 + rnd(&seed) % 64;
                        if (round == 0)
                                leaves = t % 2 ? 64 : 1; /* both ends */
                        size_t n = 0;
                        trees[t] = store + start[t];
                        grow(store + start[t], &n, leaves, &seed);
                        start[t + 1] = start[t] + n;
                }
                struct qs_forest *q = NULL;
                EXPECT(qs_build(FEATURES, n_trees, store, start, &q) == 0);
                EXPECT(q != NULL);
                uint64_t scratch[40];
                double got[40];
                EXPECT(qs_scratch_words(q) == n_trees);
                for (int r = 0; r < 400; r++) {
                        double x[FEATURES];
                        double_row(x, &seed);
                        qs_values(q, x, scratch, got);
                        for (size_t t = 0; t < n_trees; t++)
                                EXPECT(got[t] == walk(trees[t], x));
                }
                qs_free(q);
        }
        return true;
}

static size_t tree_depth(const struct qs_node *nodes, size_t i)
{
        if (nodes[i].left < 0)
                return 0;
        size_t l = tree_depth(nodes, (size_t)nodes[i].left);
        size_t r = tree_depth(nodes, (size_t)nodes[i].right);
        return 1 + (l > r ? l : r);
}

/* n_trees random trees of at most 32 leaves (alternately 32 and 1 when
 * ends) and max_depth levels, one after another in store, tree t at
 * start[t] (also in trees[t]); the deepest one's depth. */
static size_t grow_forest(struct qs_node *store, const struct qs_node **trees, size_t *start,
                          size_t n_trees, unsigned max_depth, bool nan_left, bool ends,
                          unsigned *seed)
{
        size_t depth = 0;
        start[0] = 0;
        for (size_t t = 0; t < n_trees; t++) {
                unsigned leaves = 1 + rnd(seed) % 32;
                if (ends)
                        leaves = t % 2 ? 32 : 1;
                size_t n = 0;
                trees[t] = store + start[t];
                grow_tree(store + start[t], &n, leaves, max_depth, nan_left, seed);
                start[t + 1] = start[t] + n;
                size_t d = tree_depth(trees[t], 0);
                depth = d > depth ? d : depth;
        }
        return depth;
}

/* A float32 row of specials and their neighbours, and the same as
 * doubles for the walk. */
static void float_row(float *xf, double *x, unsigned *seed)
{
        for (int f = 0; f < FEATURES; f++) {
                xf[f] = (float)special_value(seed, true);
                x[f] = xf[f];
        }
}

/* Gradient boosting's trees (NaN right, float32 thresholds): eight rows
 * at a time (treelanes.c) the sums are those of adding scale x the
 * walk's leaf tree after tree, for every count of rows in a block; one
 * row at a time (shallow.c) every tree's leaf is the walk's, and a
 * forest deeper than SH_MAX_DEPTH is declined. */
static bool float_forests_match_the_walk(void)
{
        static struct qs_node store[40 * MAX_NODES];
        const struct qs_node *trees[40];
        size_t start[41];
        unsigned seed = 11;
        for (int round = 0; round < 40; round++) {
                size_t n_trees = 1 + rnd(&seed) % 40, k = 1 + rnd(&seed) % 3;
                unsigned max_depth = round % 2 ? 64 : rnd(&seed) % (SH_MAX_DEPTH + 1);
                size_t depth = grow_forest(store, trees, start, n_trees, max_depth, false,
                                           round == 0, &seed);
                double scale = 0.1;
                struct tl_forest *tl = NULL;
                struct sh_forest *sh = NULL;
                EXPECT(tl_build(FEATURES, n_trees, store, start, scale, &tl) == 0);
                EXPECT(tl != NULL);
                EXPECT(sh_build(FEATURES, n_trees, store, start, &sh) == 0);
                EXPECT((sh != NULL) == (depth <= SH_MAX_DEPTH));
                double scratch[3 * TL_ROWS + FEATURES * TL_ROWS];
                EXPECT(tl_scratch_doubles(tl, k) <= sizeof(scratch) / sizeof(double));
                for (int r = 0; r < 100; r++) {
                        size_t m = 1 + (size_t)r % TL_ROWS;
                        float xf[TL_ROWS * FEATURES];
                        double x[TL_ROWS][FEATURES], raw[TL_ROWS * 3], want[TL_ROWS * 3];
                        for (size_t b = 0; b < m; b++) {
                                float_row(xf + b * FEATURES, x[b], &seed);
                                for (size_t j = 0; j < k; j++)
                                        raw[b * k + j] = want[b * k + j] =
                                                (double)rnd(&seed) / 7.0;
                                for (size_t t = 0; t < n_trees; t++)
                                        want[b * k + t % k] += scale * walk(trees[t], x[b]);
                        }
                        tl_add(tl, xf, m, k, raw, scratch);
                        for (size_t i = 0; i < m * k; i++)
                                EXPECT(raw[i] == want[i]);
                        if (!sh)
                                continue;
                        double got[40];
                        sh_values(sh, xf, got);
                        for (size_t t = 0; t < n_trees; t++)
                                EXPECT(got[t] == walk(trees[t], x[0]));
                }
                tl_free(tl);
                sh_free(sh);
        }
        return true;
}

/* HistGradientBoosting's trees (float64 thresholds, NaN either way):
 * eight float64 rows at a time (tl_build64, tl_add64) the sums are the
 * baseline plus the walk's leaf, tree after tree, for every count of rows
 * in a block; a tree of more than 32 leaves is declined. Where the CPU
 * has no AVX2 no forest is built and there is nothing to compare. */
static bool double_forests_match_the_walk(void)
{
        static struct qs_node store[40 * MAX_NODES];
        const struct qs_node *trees[40];
        size_t start[41];
        unsigned seed = 13;
        for (int round = 0; round < 40; round++) {
                size_t n_trees = 1 + rnd(&seed) % 40, k = 1 + rnd(&seed) % 3;
                grow_forest(store, trees, start, n_trees, 64, true, round == 0, &seed);
                /* thresholds no float32 holds, beside the specials */
                for (size_t i = 0; i < start[n_trees]; i++)
                        if (store[i].left >= 0 && rnd(&seed) % 2)
                                store[i].threshold = nextafter(
                                        store[i].threshold, rnd(&seed) % 2 ? INFINITY : -INFINITY);
                struct tl_forest *tl = NULL;
                EXPECT(tl_build64(FEATURES, n_trees, store, start, &tl) == 0);
                if (!tl)
                        return true; /* no AVX2 */
                double scratch[3 * TL_ROWS + 2 * FEATURES * TL_ROWS];
                EXPECT(tl_scratch_doubles(tl, k) <= sizeof(scratch) / sizeof(double));
                for (int r = 0; r < 100; r++) {
                        size_t m = 1 + (size_t)r % TL_ROWS;
                        double x[TL_ROWS][FEATURES], raw[TL_ROWS * 3], want[TL_ROWS * 3];
                        const double *rows[TL_ROWS];
                        for (size_t b = 0; b < m; b++) {
                                double_row(x[b], &seed);
                                rows[b] = x[b];
                                for (size_t j = 0; j < k; j++)
                                        raw[b * k + j] = want[b * k + j] =
                                                (double)rnd(&seed) / 7.0;
                                for (size_t t = 0; t < n_trees; t++)
                                        want[b * k + t % k] += walk(trees[t], x[b]);
                        }
                        tl_add64(tl, rows, m, k, raw, scratch);
                        for (size_t i = 0; i < m * k; i++)
                                EXPECT(raw[i] == want[i]);
                }
                tl_free(tl);
        }
        static struct qs_node big[MAX_NODES + 2];
        size_t n = 0;
        grow(big, &n, 33, &seed);
        size_t one[2] = { 0, n };
        struct tl_forest *tl = NULL;
        EXPECT(tl_build64(FEATURES, 1, big, one, &tl) == 0 && tl == NULL);
        return true;
}

/* What the eight-row and complete-tree forms cannot hold is declined. */
static bool float_forests_declined(void)
{
        static struct qs_node nodes[MAX_NODES + 2];
        size_t n = 0;
        unsigned seed = 5;
        grow_tree(nodes, &n, 33, 64, false, &seed); /* 33 leaves, deeper than 5 */
        size_t start[2] = { 0, n };
        struct tl_forest *tl = NULL;
        struct sh_forest *sh = NULL;
        EXPECT(tl_build(FEATURES, 1, nodes, start, 1.0, &tl) == 0 && tl == NULL);
        EXPECT(sh_build(FEATURES, 1, nodes, start, &sh) == 0 && sh == NULL);
        struct qs_node small[3] = {
                { 1, 2, 0, false, 0.5, NAN },
                { -1, -1, 0, false, 0.0, 1.0 },
                { -1, -1, 0, false, 0.0, 2.0 },
        };
        start[1] = 3;
        EXPECT(tl_build(FEATURES, 1, small, start, 1.0, &tl) == 0 && tl != NULL);
        EXPECT(sh_build(FEATURES, 1, small, start, &sh) == 0 && sh != NULL);
        tl_free(tl);
        sh_free(sh);
        struct qs_node bad = small[0];
        small[0].missing_left = true; /* NaN sent left */
        EXPECT(tl_build(FEATURES, 1, small, start, 1.0, &tl) == 0 && tl == NULL);
        EXPECT(sh_build(FEATURES, 1, small, start, &sh) == 0 && sh == NULL);
        small[0] = bad;
        small[0].threshold = 0.1; /* no float32 is 0.1 */
        EXPECT(tl_build(FEATURES, 1, small, start, 1.0, &tl) == 0 && tl == NULL);
        EXPECT(sh_build(FEATURES, 1, small, start, &sh) == 0 && sh == NULL);
        small[0] = bad;
        small[0].feature = FEATURES; /* out of range */
        EXPECT(tl_build(FEATURES, 1, small, start, 1.0, &tl) == 0 && tl == NULL);
        EXPECT(sh_build(FEATURES, 1, small, start, &sh) == 0 && sh == NULL);
        return true;
}

static bool more_than_64_leaves_declined(void)
{
        static struct qs_node nodes[MAX_NODES + 2];
        size_t n = 0;
        unsigned seed = 3;
        grow(nodes, &n, 65, &seed);
        size_t start[2] = { 0, n };
        struct qs_forest *q = NULL;
        EXPECT(qs_build(FEATURES, 1, nodes, start, &q) == 0);
        EXPECT(q == NULL);
        return true;
}

static bool feature_out_of_range_declined(void)
{
        struct qs_node nodes[3] = {
                { 1, 2, FEATURES, false, 0.5, NAN },
                { -1, -1, 0, false, 0.0, 1.0 },
                { -1, -1, 0, false, 0.0, 2.0 },
        };
        size_t start[2] = { 0, 3 };
        struct qs_forest *q = NULL;
        EXPECT(qs_build(FEATURES, 1, nodes, start, &q) == 0);
        EXPECT(q == NULL);
        return true;
}

TAP_MAIN(CASE(random_forests_match_the_walk),
         CASE(float_forests_match_the_walk),
         CASE(double_forests_match_the_walk),
         CASE(float_forests_declined),
         CASE(more_than_64_leaves_declined),
         CASE(feature_out_of_range_declined))
