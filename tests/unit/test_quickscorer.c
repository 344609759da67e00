/* test_quickscorer.c - the bit-vector traversal (model/quickscorer.c)
 * reaches the leaf a plain walk reaches, on random trees of up to 64
 * leaves and rows that sit on the thresholds, just beside them, at +-inf
 * and NaN; a tree of 65 leaves and a feature out of range are refused so
 * the walk serves them. Agreement with scikit-learn is the end-to-end
 * tests' job (tests/e2e/test_bitvector_trees.py). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "quickscorer.h"
#include "tap.h"

#define MAX_NODES 127
#define FEATURES 5

/* The leaf value a walk reaches: left when x <= threshold (NaN goes right). */
static double walk(const struct qs_node *nodes, const float *x)
{
        size_t i = 0;
        while (nodes[i].left >= 0)
                i = x[nodes[i].feature] <= nodes[i].threshold ? (size_t)nodes[i].left
                                                              : (size_t)nodes[i].right;
        return nodes[i].value;
}

static unsigned rnd(unsigned *s)
{
        *s = *s * 1103515245u + 12345u;
        return (*s >> 16) & 0x7fff;
}

/* A random tree of `leaves` leaves, in pre-order (children after their
 * parent); thresholds from a small set so that several splits share one. */
static size_t grow(struct qs_node *nodes, size_t *n, unsigned leaves, unsigned *seed)
{
        size_t i = (*n)++;
        if (leaves == 1) {
                nodes[i] = (struct qs_node){ -1, -1, 0, 0.0f, (double)i + 0.25 };
                return i;
        }
        unsigned left = 1 + rnd(seed) % (leaves - 1);
        nodes[i].feature = (int32_t)(rnd(seed) % FEATURES);
        nodes[i].threshold = (float)((int)(rnd(seed) % 9) - 4) * 0.5f;
        nodes[i].value = NAN;
        nodes[i].left = (int32_t)grow(nodes, n, left, seed);
        nodes[i].right = (int32_t)grow(nodes, n, leaves - left, seed);
        return i;
}

static bool random_forests_match_the_walk(void)
{
        static struct qs_node store[40][MAX_NODES];
        const struct qs_node *trees[40];
        size_t counts[40];
        unsigned seed = 7;
        for (int round = 0; round < 20; round++) {
                size_t n_trees = 1 + rnd(&seed) % 40;
                for (size_t t = 0; t < n_trees; t++) {
                        unsigned leaves = 1 + rnd(&seed) % 64;
                        if (round == 0)
                                leaves = t % 2 ? 64 : 1; /* both ends */
                        counts[t] = 0;
                        grow(store[t], &counts[t], leaves, &seed);
                        trees[t] = store[t];
                }
                struct qs_forest *q = NULL;
                EXPECT(qs_build(FEATURES, n_trees, trees, counts, &q) == 0);
                uint64_t scratch[40];
                double got[40];
                EXPECT(qs_scratch_words(q) == n_trees);
                static const float special[] = { -2.0f, -0.5f, 0.0f, 0.5f, 2.0f, INFINITY,
                                                 -INFINITY, NAN };
                for (int r = 0; r < 400; r++) {
                        float x[FEATURES];
                        for (int f = 0; f < FEATURES; f++) {
                                float v = special[rnd(&seed) % 8];
                                int side = (int)(rnd(&seed) % 3);
                                if (side == 1)
                                        v = nextafterf(v, -INFINITY);
                                else if (side == 2)
                                        v = nextafterf(v, INFINITY);
                                x[f] = v;
                        }
                        qs_values(q, x, scratch, got);
                        for (size_t t = 0; t < n_trees; t++)
                                EXPECT(got[t] == walk(trees[t], x));
                }
                qs_free(q);
        }
        return true;
}

static bool more_than_64_leaves_refused(void)
{
        static struct qs_node nodes[MAX_NODES + 2];
        size_t n = 0;
        unsigned seed = 3;
        grow(nodes, &n, 65, &seed);
        const struct qs_node *trees[1] = { nodes };
        struct qs_forest *q = NULL;
        EXPECT(qs_build(FEATURES, 1, trees, &n, &q) == -E2BIG);
        EXPECT(q == NULL);
        return true;
}

static bool feature_out_of_range_refused(void)
{
        struct qs_node nodes[3] = {
                { 1, 2, FEATURES, 0.5f, NAN },
                { -1, -1, 0, 0.0f, 1.0 },
                { -1, -1, 0, 0.0f, 2.0 },
        };
        const struct qs_node *trees[1] = { nodes };
        size_t n = 3;
        struct qs_forest *q = NULL;
        EXPECT(qs_build(FEATURES, 1, trees, &n, &q) == -EINVAL);
        EXPECT(q == NULL);
        return true;
}

TAP_MAIN(CASE(random_forests_match_the_walk),
         CASE(more_than_64_leaves_refused),
         CASE(feature_out_of_range_refused))
