/* test_quickscorer.c - the bit-vector traversal (model/quickscorer.c)
 * reaches the leaf a plain walk reaches, on random trees of up to 64
 * leaves and rows that sit on the thresholds, just beside them, at +-inf
 * and NaN (sent left or right as each node says); a tree of 65 leaves
 * and a feature out of range are declined (no forest built), so the walk
 * serves them. Agreement with scikit-learn is the end-to-end tests' job
 * (tests/e2e/test_bitvector_trees.py). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "quickscorer.h"
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

/* A random tree of `leaves` leaves, in pre-order (children after their
 * parent); thresholds from a small set so that several splits share one. */
static size_t grow(struct qs_node *nodes, size_t *n, unsigned leaves, unsigned *seed)
{
        size_t i = (*n)++;
        if (leaves == 1) {
                nodes[i] = (struct qs_node){ -1, -1, 0, false, 0.0, (double)i + 0.25 };
                return i;
        }
        unsigned left = 1 + rnd(seed) % (leaves - 1);
        nodes[i].feature = (int32_t)(rnd(seed) % FEATURES);
        nodes[i].threshold = (double)((int)(rnd(seed) % 9) - 4) * 0.5;
        nodes[i].missing_left = rnd(seed) % 2;
        nodes[i].value = NAN;
        nodes[i].left = (int32_t)grow(nodes, n, left, seed);
        nodes[i].right = (int32_t)grow(nodes, n, leaves - left, seed);
        return i;
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
                static const double special[] = { -2.0, -0.5, 0.0, 0.5, 2.0, INFINITY,
                                                  -INFINITY, NAN };
                for (int r = 0; r < 400; r++) {
                        double x[FEATURES];
                        for (int f = 0; f < FEATURES; f++) {
                                double v = special[rnd(&seed) % 8];
                                int side = (int)(rnd(&seed) % 3);
                                if (side == 1)
                                        v = nextafter(v, -INFINITY);
                                else if (side == 2)
                                        v = nextafter(v, INFINITY);
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
         CASE(more_than_64_leaves_declined),
         CASE(feature_out_of_range_declined))
