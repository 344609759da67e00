/* tree.c - decision trees, forests of them (random and extremely
 * randomized, classifiers and regressors) and gradient boosting.
 *
 * scikit-learn casts X to float32 before it walks a tree and compares the
 * float32 value, widened again, against the float64 threshold; the same
 * is done here so that rows sitting on a threshold go the same way.
 * Probabilities are each leaf's values, divided by their numpy sum (a zero
 * sum counts as 1) for files from before scikit-learn 1.4, computed once at
 * build time with the same rounding; a forest adds its trees'
 * probabilities (or values) in order and divides by the count. Gradient
 * boosting starts from its init estimator's raw prediction and adds
 * learning_rate * leaf value stage by stage, as predict_stages does. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "quickscorer.h"
#include "shallow.h"
#include "treelanes.h"

/* 16 bytes rather than 24: the threshold is kept as the float32 t32 that
 * threshold_f32() chooses, so the walk compares two floats and a node's
 * neighbours share its cache line.
 *
 * A walk's state is a node index while the node is a split, and ~leaf
 * (negative) once it has reached a leaf: left and right hold the child's
 * index, or ~child when the child is a leaf, so the step that reaches a
 * leaf says so without another load. A leaf's own left and right are
 * both ~itself, so a finished state stepped again stays (see tnode_at);
 * its threshold decides nothing, so a forest member's leaf keeps its row
 * of t->proba there instead (struct tree). */
struct tnode {
        union {
                float threshold; /* splits: threshold_f32(the file's float64 threshold) */
                uint32_t row;    /* leaves of a tree with t->sure: see struct tree */
        };
        int32_t left;
        int32_t right;
        int32_t feature; /* 0 for a leaf, so a lockstep walk can read it */
};

struct tree {
        struct model base;
        size_t n_nodes;
        size_t n_values; /* values per node: classes, or outputs (regressor) */
        size_t depth;    /* edges on the longest root-to-leaf path */
        int32_t start;   /* a walk's first state: 0, or ~0 when the root is a leaf */
        struct tnode *nodes;
        /* n_nodes x n_values, as stored in the file: regressors and
         * standalone classifiers (a forest member has none, NULL) */
        double *value;
        /* classifiers: rows of probabilities (values normalised), row i
         * for node i; the same table as value when they are equal (files
         * from 1.4 on). A forest member with sure has only the rows of
         * its n_mixed mixed leaves, the leaf's tnode.row naming its row. */
        double *proba;
        /* forest members: per node, the class c when the node's proba row
         * is 1.0 at c and +0.0 elsewhere (a pure leaf, nearly every leaf of
         * an unbounded forest), else TREE_MIXED; NULL when there are more
         * classes than a byte names, or when more than one leaf in
         * TREE_SURE_MIN is mixed (member_tables) */
        uint8_t *sure;
        size_t n_mixed; /* leaves that are TREE_MIXED, when sure is kept */
        struct model_slab *slab; /* where the tables above are, or NULL: malloc */
};

#define TREE_MIXED UINT8_MAX
/* A tree keeps t->sure only when at most one leaf in this many is mixed:
 * the test of a leaf's byte is a branch, and where the two kinds of leaf
 * are both common (a depth-limited forest: a quarter of the leaves mixed)
 * its mispredictions cost more than the rows it saves. */
#define TREE_SURE_MIN 32

struct forest {
        struct model base;
        struct tree **trees;
        size_t n_trees;
};

struct gb {
        struct model base;
        enum model_gb_loss loss;
        bool legacy;
        double learning_rate;
        size_t n_stages, k;
        double *init_raw;    /* k raw values every row starts from */
        struct tree **trees; /* n_stages x k */
        struct qs_forest *qs; /* the trees as bit vectors, when each has <= 64 leaves */
        struct tl_forest *tl; /* the same, a block of rows at once, when <= 32 leaves */
        struct sh_forest *sh; /* the trees stored complete, when at most SH_MAX_DEPTH deep */
};

/* Casts one row to float32 as sklearn's check_array(dtype=float32) does,
 * which refuses values that overflow float32. */
static int cast_row(const double *x, size_t nf, size_t row, float *xf,
                    struct model_error *err)
{
        for (size_t j = 0; j < nf; j++) {
                xf[j] = (float)x[j];
                if (isinf(xf[j]) && !isinf(x[j])) {
                        model_set_error(err,
                                        "row %zu, feature %zu: %.17g is too large for float32, "
                                        "which trees compare in",
                                        row, j, x[j]);
                        return -EINVAL;
                }
        }
        return 0;
}

/* The largest float32 below r (r not NaN, not -inf): nextafterf(r, -INFINITY)
 * without the call. */
static inline float f32_down(float r)
{
        uint32_t b;
        memcpy(&b, &r, sizeof(b));
        if (r == 0.0f)
                b = 0x80000001u; /* the negative float nearest zero */
        else if (r > 0.0f)
                b--;
        else
                b++;
        memcpy(&r, &b, sizeof(r));
        return r;
}

/* The largest float32 t32 <= t (t is not NaN: tree_alloc refuses it).
 *
 * scikit-learn decides (double)f <= t for the float32 input f. Claim: for
 * every float32 f, (double)f <= t  iff  f <= t32.
 *  - If f <= t32, then f <= t32 <= t.
 *  - If f <= t, f is one of the float32 values <= t, whose largest is t32
 *    (the set is not empty, -inf is in it); so f <= t32.
 *  - A NaN f makes both sides false.
 * Edge cases follow from the same argument: t above FLT_MAX gives
 * t32 = FLT_MAX (+inf is not <= t, nor <= FLT_MAX), t below -FLT_MAX gives
 * -inf, t = +-inf gives itself. (float)t rounds to a neighbour of t in any
 * rounding mode; one step down fixes a neighbour above t. */
static inline float threshold_f32(double t)
{
        float r = (float)t;
        if ((double)r > t)
                r = f32_down(r);
        return r;
}

/* The next state after n for x: left when x <= threshold, computed with
 * a mask rather than a branch, as in a lockstep walk the sides are
 * unpredictable. */
static inline int32_t tnode_child(const struct tnode *n, float x)
{
        int32_t right = -(int32_t)!(x <= n->threshold);
        return n->left ^ ((n->left ^ n->right) & right);
}

/* The node a state is at: s itself, or ~s for a leaf. */
static inline size_t tnode_at(int32_t s)
{
        return (size_t)(uint32_t)(s ^ (s >> 31));
}

/* One step of a row x from split s. */
static inline int32_t tnode_step(const struct tnode *nodes, const float *x, int32_t s)
{
        const struct tnode *n = &nodes[s];
        return tnode_child(n, x[n->feature]);
}

static size_t tree_leaf(const struct tree *t, const float *xf)
{
        int32_t s = t->start;
        while (s >= 0)
                s = tnode_step(t->nodes, xf, s);
        return (size_t)~s;
}

/* Rows are walked FOREST_BLOCK at a time, tree by tree: each tree's nodes
 * are read once per block rather than once per row, which keeps a large
 * forest's working set in cache. Each row still adds its trees' leaf rows
 * in tree order, so the sums are the ones scikit-learn makes. */
#define FOREST_BLOCK 256

/* Trees no deeper than this walk every row to the tree's depth. */
#define TREE_SHALLOW 12
/* tree_group_leaves' walks, which go on until every tree's state is at a
 * leaf, look every this many levels: a state at a leaf stays there when
 * stepped again, so checking after each level would cost more than the
 * few steps wasted between checks. */
#define TREE_CHECK_EVERY 4
/* Rows a deep tree walks at once, each in a lane of its own (tree_leaves).
 * Six was the fastest of 4, 5, 6, 8, 12 and 16 on ExtraTrees-100 and
 * RandomForest-300 (bench/core.py's files): fewer lanes leave the loads of
 * one step too few to overlap, more spill the lanes out of registers. */
#define TREE_LANES 6

/* leaf[b] = tree_leaf(t, row b of xf) for nb <= FOREST_BLOCK rows of nf
 * floats. A shallow tree's rows go down one level at a time, all to the
 * tree's depth, without branches, so their loads overlap. A deep tree's
 * rows (an unbounded forest's trees are about twice as deep as their mean
 * path) walk TREE_LANES at a time, each only its own path: a row that
 * reaches its leaf gives its lane to the next row of the block. The one
 * branch per step, "at a leaf?", is taken once a path; the list of rows
 * still walking that this replaced was rewritten every few levels, and
 * the walk is 1.15x (RandomForest-300) to 1.4x (ExtraTrees) faster. */
static void tree_leaves(const struct tree *t, const float *xf, size_t nf, size_t nb,
                        int32_t *leaf)
{
        const struct tnode *nodes = t->nodes;
        for (size_t b = 0; b < nb; b++)
                leaf[b] = t->start;
        if (t->depth <= TREE_SHALLOW) {
                for (size_t d = 0; d < t->depth; d++)
                        for (size_t r = 0; r < nb; r++) {
                                const struct tnode *n = &nodes[tnode_at(leaf[r])];
                                leaf[r] = tnode_child(n, xf[r * nf + (size_t)n->feature]);
                        }
        } else if (t->start >= 0) {
                /* full lanes, then the last rows as their lanes empty: the
                 * first loop's fixed count keeps the lanes in registers
                 * (one loop for both was 1.24x slower on ExtraTrees) */
                int32_t st[TREE_LANES];
                uint32_t row[TREE_LANES];
                size_t nl = nb < TREE_LANES ? nb : TREE_LANES, next = nl;
                for (size_t l = 0; l < nl; l++) {
                        row[l] = (uint32_t)l;
                        st[l] = t->start;
                }
                while (nl == TREE_LANES) {
                        for (size_t l = 0; l < TREE_LANES; l++) {
                                int32_t s = st[l] = tnode_step(nodes, xf + (size_t)row[l] * nf,
                                                               st[l]);
                                if (s < 0) {
                                        leaf[row[l]] = s;
                                        if (next < nb) {
                                                row[l] = (uint32_t)next++;
                                                st[l] = t->start;
                                        } else {
                                                nl--;
                                                row[l] = row[nl];
                                                st[l] = st[nl];
                                                break;
                                        }
                                }
                        }
                }
                while (nl) {
                        for (size_t l = 0; l < nl; l++) {
                                int32_t s = st[l] = tnode_step(nodes, xf + (size_t)row[l] * nf,
                                                               st[l]);
                                if (s < 0) {
                                        leaf[row[l]] = s;
                                        nl--;
                                        row[l] = row[nl];
                                        st[l] = st[nl];
                                        l--;
                                }
                        }
                }
        }
        for (size_t b = 0; b < nb; b++)
                leaf[b] = ~leaf[b];
}

/* A block smaller than this walks its rows one at a time, several trees
 * at once (tree_group_leaves), rather than several rows at once. */
#define TREE_FEW_ROWS 8
/* Trees walked together for one row. */
#define TREE_GROUP 16

/* leaf[g] = tree_leaf(trees[g], xf) for ng <= TREE_GROUP trees and one
 * row: the few-rows counterpart of tree_leaves, where the independent
 * loads come from different trees instead of different rows. */
static void tree_group_leaves(struct tree *const *trees, size_t ng, const float *xf,
                              int32_t *leaf)
{
        int32_t walking = -1; /* the states' AND: negative once every one is */
        for (size_t g = 0; g < ng; g++) {
                leaf[g] = trees[g]->start;
                walking &= leaf[g];
        }
        while (walking >= 0) {
                for (size_t d = 0; d < TREE_CHECK_EVERY; d++)
                        for (size_t g = 0; g < ng; g++) {
                                const struct tnode *n = &trees[g]->nodes[tnode_at(leaf[g])];
                                leaf[g] = tnode_child(n, xf[n->feature]);
                        }
                walking = -1;
                for (size_t g = 0; g < ng; g++)
                        walking &= leaf[g];
        }
        for (size_t g = 0; g < ng; g++)
                leaf[g] = ~leaf[g];
}

/* Runs fn(model, xf, r, ctx) for every row r of X cast to float32: the
 * one loop every tree model's predict goes through. */
typedef void (*row_fn)(const struct model *m, const float *xf, size_t r,
                       void *ctx);

static int for_each_row(const struct model *m, const double *X, size_t rows,
                        row_fn fn, void *ctx, struct model_error *err)
{
        size_t nf = m->n_features;
        float *xf = malloc(nf * sizeof(float));
        if (!xf) {
                model_set_error(err, "out of memory");
                return -ENOMEM;
        }
        for (size_t r = 0; r < rows; r++) {
                int rc = cast_row(X + r * nf, nf, r, xf, err);
                if (rc < 0) {
                        free(xf);
                        return rc;
                }
                fn(m, xf, r, ctx);
        }
        free(xf);
        return 0;
}

struct classify_ctx {
        size_t *class_idx;
        double *proba; /* may be NULL */
        double *acc;   /* n_classes scratch */
};

static void tree_classify_row(const struct model *m, const float *xf, size_t r,
                              void *ctx)
{
        const struct tree *t = (const struct tree *)m;
        struct classify_ctx *c = ctx;
        size_t nc = m->n_classes, leaf = tree_leaf(t, xf); /* t->value: see tree_classify */
        /* predict takes argmax of the raw values, not of proba */
        c->class_idx[r] = model_np_argmax(t->value + leaf * nc, nc);
        if (c->proba)
                memcpy(c->proba + r * nc, t->proba + leaf * nc, nc * sizeof(double));
}

static int tree_classify(const struct model *m, const double *X, size_t rows,
                         size_t *class_idx, double *proba,
                         struct model_error *err)
{
        const struct tree *t = (const struct tree *)m;
        if (!t->value) {
                model_set_error(err, "a forest's tree is not a classifier of its own");
                return -EINVAL;
        }
        struct classify_ctx c = { class_idx, proba, NULL };
        return for_each_row(m, X, rows, tree_classify_row, &c, err);
}

static void tree_describe(const struct model *m, char *buf, size_t len)
{
        const struct tree *t = (const struct tree *)m;
        snprintf(buf, len, "DecisionTreeClassifier[%zu nodes, %zu classes]",
                 t->n_nodes, m->n_classes);
}

static void tree_destroy(struct model *m)
{
        struct tree *t = (struct tree *)m;
        model_base_release(m);
        model_slab_free(t->slab, t->nodes);
        if (t->proba != t->value)
                model_slab_free(t->slab, t->proba);
        model_slab_free(t->slab, t->value);
        model_slab_free(t->slab, t->sure);
        model_slab_drop(t->slab);
        free(t);
}

static const struct model_ops tree_ops = {
        .name = "DecisionTreeClassifier",
        .classify = tree_classify,
        .describe = tree_describe,
        .destroy = tree_destroy,
};

/* Checks and copies the nodes into a new tree with no tables yet (the
 * constructors add them). Children always have higher indices than their
 * parent in trees that scikit-learn builds; requiring it bounds every
 * walk by n_nodes steps, and lets one forward pass check each node,
 * compact it and give every node its depth. */
static int tree_alloc(const char *who, size_t n_features, size_t n_nodes,
                      const struct model_tree_node *nodes, size_t n_values,
                      struct tree **out, struct model_error *err)
{
        if (n_features == 0 || n_nodes == 0 || n_values == 0 ||
            n_nodes > INT32_MAX || n_features > INT32_MAX ||
            n_values > SIZE_MAX / sizeof(double) / n_nodes) {
                model_set_error(err,
                                "%s: expected nodes, features and values per node "
                                "in [1, 2^31), got %zu, %zu, %zu",
                                who, n_nodes, n_features, n_values);
                return -EINVAL;
        }
        struct tree *t = calloc(1, sizeof(*t));
        /* depths fit: at most n_nodes - 1 < 2^31 */
        uint32_t *depth = calloc(n_nodes, sizeof(*depth));
        if (!t || !depth)
                goto nomem;
        t->n_nodes = n_nodes;
        t->n_values = n_values;
        t->slab = model_slab_take();
        t->nodes = model_slab_alloc(t->slab, n_nodes * sizeof(*t->nodes));
        if (!t->nodes)
                goto nomem;
        const int64_t n = (int64_t)n_nodes, nf = (int64_t)n_features;
        uint32_t deepest = 0;
        for (size_t i = 0; i < n_nodes; i++) {
                const struct model_tree_node *src = &nodes[i];
                struct tnode *dst = &t->nodes[i];
                if (src->left == -1) {
                        /* whatever the file says of its right */
                        dst->threshold = 0.0f;
                        dst->feature = 0;
                        dst->left = dst->right = ~(int32_t)i;
                        if (depth[i] > deepest)
                                deepest = depth[i];
                        continue;
                }
                int64_t l = src->left, r = src->right;
                if (l <= (int64_t)i || l >= n || r <= (int64_t)i || r >= n) {
                        model_set_error(err,
                                        "tree node %zu: children %lld/%lld are not "
                                        "later nodes in [%zu, %zu)",
                                        i, (long long)l, (long long)r, i + 1, n_nodes);
                        goto invalid;
                }
                if (src->feature < 0 || src->feature >= nf) {
                        model_set_error(err, "tree node %zu: feature %lld outside [0, %zu)",
                                        i, (long long)src->feature, n_features);
                        goto invalid;
                }
                double th = src->threshold;
                if (isnan(th)) {
                        model_set_error(err, "tree node %zu: threshold is NaN", i);
                        goto invalid;
                }
                dst->threshold = threshold_f32(th);
                dst->feature = (int32_t)src->feature;
                dst->left = nodes[l].left == -1 ? ~(int32_t)l : (int32_t)l;
                dst->right = nodes[r].left == -1 ? ~(int32_t)r : (int32_t)r;
                /* the longest path: a malformed file may give a node two
                 * parents */
                uint32_t d = depth[i] + 1;
                if (d > depth[l])
                        depth[l] = d;
                if (d > depth[r])
                        depth[r] = d;
        }
        free(depth);
        t->depth = deepest;
        t->start = nodes[0].left == -1 ? ~0 : 0;
        *out = t;
        return 0;
invalid:
        free(depth);
        tree_destroy(&t->base);
        return -EINVAL;
nomem:
        free(depth);
        if (t)
                tree_destroy(&t->base);
        model_set_error(err, "%s: out of memory for %zu nodes", who, n_nodes);
        return -ENOMEM;
}

/* A classifier's row of probabilities from its row v of values: divided
 * by their numpy sum (a zero sum counts as 1) when normalize, else as
 * they are. */
static inline void proba_row(const double *v, size_t nc, bool normalize, double *p)
{
        if (!normalize) {
                memcpy(p, v, nc * sizeof(double));
                return;
        }
        double norm = model_np_sum(v, nc);
        if (norm == 0.0)
                norm = 1.0;
        for (size_t k = 0; k < nc; k++)
                p[k] = v[k] / norm;
}

/* The class c when the proba row that proba_row makes of v is 1.0 at c
 * and +0.0 elsewhere, else TREE_MIXED. A forest adds a tree's proba row
 * to each class's sum; for such a row that is the same as adding 1.0 to
 * the one class, for the sums start at +0.0, never become -0.0 (x + y is
 * -0.0 only when both are), and x + +0.0 is x for every other x.
 *
 * Read from v without dividing: when every value but v[c] is +0.0, the
 * sum is v[c] exactly and v[c] / v[c] is 1.0 for a finite v[c] > 0 (the
 * values are finite, checked), +0.0 / v[c] is +0.0; unnormalised, the row
 * is v. A row that is one only because a tiny value divided to zero is
 * called mixed: its row is then added as it is, the same sums. */
static inline uint8_t sure_class(const double *v, size_t nc, bool normalize)
{
        size_t zeros = 0, c = 0;
        for (size_t k = 0; k < nc; k++) {
                uint64_t b;
                memcpy(&b, &v[k], sizeof(b));
                if (b == 0)
                        zeros++; /* +0.0 */
                else
                        c = k;
        }
        if (zeros != nc - 1)
                return TREE_MIXED;
        return (normalize ? v[c] > 0.0 : v[c] == 1.0) ? (uint8_t)c : TREE_MIXED;
}

/* A forest member's tables: t->sure and the rows of its mixed leaves
 * when nearly every leaf is pure, else every node's row of proba. Only
 * leaves are ever read; an internal node's row is zeros. */
static int member_tables(struct tree *t, const double *values, bool normalize,
                         struct model_error *err)
{
        size_t nc = t->n_values, n = t->n_nodes, leaves = 0;
        if (nc < TREE_MIXED) {
                if (!(t->sure = model_slab_alloc(t->slab, n)))
                        goto nomem;
                t->n_mixed = 0;
                for (size_t i = 0; i < n; i++) {
                        if (t->nodes[i].left != ~(int32_t)i) {
                                t->sure[i] = TREE_MIXED;
                                continue;
                        }
                        leaves++;
                        t->sure[i] = sure_class(values + i * nc, nc, normalize);
                        t->n_mixed += t->sure[i] == TREE_MIXED;
                }
                if (t->n_mixed <= leaves / TREE_SURE_MIN) {
                        size_t m = t->n_mixed ? t->n_mixed : 1;
                        if (!(t->proba = model_slab_alloc(t->slab, m * nc * sizeof(double))))
                                goto nomem;
                        uint32_t at = 0;
                        for (size_t i = 0; i < n; i++) {
                                if (t->nodes[i].left != ~(int32_t)i ||
                                    t->sure[i] != TREE_MIXED)
                                        continue;
                                proba_row(values + i * nc, nc, normalize, t->proba + at * nc);
                                t->nodes[i].row = at++;
                        }
                        return 0;
                }
                model_slab_free(t->slab, t->sure);
                t->sure = NULL;
                t->n_mixed = 0;
        }
        if (!(t->proba = model_slab_alloc(t->slab, n * nc * sizeof(double))))
                goto nomem;
        for (size_t i = 0; i < n; i++) {
                double *p = t->proba + i * nc;
                if (t->nodes[i].left == ~(int32_t)i)
                        proba_row(values + i * nc, nc, normalize, p);
                else
                        for (size_t k = 0; k < nc; k++)
                                p[k] = 0.0;
        }
        return 0;
nomem:
        model_set_error(err, "DecisionTreeClassifier: out of memory for %zu nodes", n);
        return -ENOMEM;
}

/* acc[0, nc) += the proba row of leaf, a leaf of t with t->sure. */
static inline void tree_add_proba(const struct tree *t, size_t leaf, size_t nc, double *acc)
{
        uint8_t c = t->sure[leaf];
        if (c != TREE_MIXED) {
                acc[c] += 1.0;
                return;
        }
        const double *v = t->proba + (size_t)t->nodes[leaf].row * nc;
        for (size_t k = 0; k < nc; k++)
                acc[k] += v[k];
}

int model_tree_create(size_t n_features, size_t n_nodes,
                      const struct model_tree_node *nodes, const double *values,
                      size_t n_classes, bool normalize,
                      const struct model_label *classes, struct model **out,
                      struct model_error *err)
{
        struct tree *t = NULL;
        int rc = tree_alloc("DecisionTreeClassifier", n_features, n_nodes, nodes, n_classes,
                            &t, err);
        if (rc < 0)
                return rc;
        t->base.ops = &tree_ops;
        size_t n_val = n_nodes * n_classes;
        if (!classes) {
                /* a forest's member: the forest reads only its proba */
                rc = member_tables(t, values, normalize, err);
        } else if (!(t->value = model_slab_alloc(t->slab, n_val * sizeof(double)))) {
                rc = -ENOMEM;
        } else {
                memcpy(t->value, values, n_val * sizeof(double));
                t->proba = normalize ? model_slab_alloc(t->slab, n_val * sizeof(double))
                                     : t->value;
                if (!t->proba)
                        rc = -ENOMEM;
                else if (normalize)
                        for (size_t i = 0; i < n_nodes; i++)
                                proba_row(values + i * n_classes, n_classes, true,
                                          t->proba + i * n_classes);
        }
        if (rc == -ENOMEM)
                model_set_error(err, "DecisionTreeClassifier: out of memory for %zu nodes",
                                n_nodes);
        /* A tree inside a forest carries no labels; it still knows its
         * width so the forest can check it. */
        if (rc == 0)
                rc = model_base_init(&t->base, &tree_ops, MODEL_TYPE_CLASSIFIER,
                                     n_features, classes, classes ? n_classes : 0, err);
        if (rc < 0) {
                tree_destroy(&t->base);
                return rc;
        }
        t->base.has_proba = true;
        *out = &t->base;
        return 0;
}

static void tree_regress_row(const struct model *m, const float *xf, size_t r,
                             void *ctx)
{
        const struct tree *t = (const struct tree *)m;
        double *out = ctx;
        memcpy(out + r * t->n_values, t->value + tree_leaf(t, xf) * t->n_values,
               t->n_values * sizeof(double));
}

static int tree_regress(const struct model *m, const double *X, size_t rows,
                        double *out, struct model_error *err)
{
        return for_each_row(m, X, rows, tree_regress_row, out, err);
}

static void tree_reg_describe(const struct model *m, char *buf, size_t len)
{
        const struct tree *t = (const struct tree *)m;
        snprintf(buf, len, "DecisionTreeRegressor[%zu nodes, %zu outputs]",
                 t->n_nodes, t->n_values);
}

static const struct model_ops tree_reg_ops = {
        .name = "DecisionTreeRegressor",
        .regress = tree_regress,
        .describe = tree_reg_describe,
        .destroy = tree_destroy,
};

int model_tree_regressor_create(size_t n_features, size_t n_nodes,
                                const struct model_tree_node *nodes,
                                const double *values, size_t n_outputs,
                                struct model **out, struct model_error *err)
{
        struct tree *t = NULL;
        int rc = tree_alloc("DecisionTreeRegressor", n_features, n_nodes, nodes, n_outputs,
                            &t, err);
        if (rc < 0)
                return rc;
        if (!(t->value = model_slab_alloc(t->slab, n_nodes * n_outputs * sizeof(double)))) {
                model_set_error(err, "DecisionTreeRegressor: out of memory for %zu nodes",
                                n_nodes);
                tree_destroy(&t->base);
                return -ENOMEM;
        }
        memcpy(t->value, values, n_nodes * n_outputs * sizeof(double));
        for (size_t i = 0; i < n_nodes * n_outputs; i++) {
                if (!isfinite(values[i])) {
                        model_set_error(err, "DecisionTreeRegressor: value %zu is not finite", i);
                        tree_destroy(&t->base);
                        return -EINVAL;
                }
        }
        rc = model_base_init(&t->base, &tree_reg_ops, MODEL_TYPE_REGRESSOR, n_features,
                             NULL, 0, err);
        if (rc < 0) {
                tree_destroy(&t->base);
                return rc;
        }
        t->base.n_outputs = n_outputs;
        *out = &t->base;
        return 0;
}

/* ... fewer when the rows are wide, so the block's float32 copy stays
 * near this size (in L1 with the tree being walked) */
#define FOREST_BLOCK_BYTES (64 * 1024)
/* A forest larger than the cache would be read from memory once per
 * block; so its trees are taken in groups of about this many bytes (nodes
 * and leaf tables), in order, and each group walks every block of a chunk
 * of FOREST_CHUNK_BLOCKS blocks while it stays in L2. */
#define FOREST_GROUP_BYTES (256 * 1024)
#define FOREST_CHUNK_BLOCKS 16

/* Rows per block for rows of nf features, a batch of rows. */
static size_t block_rows(size_t nf, size_t rows)
{
        size_t n = nf ? FOREST_BLOCK_BYTES / (nf * sizeof(float)) : FOREST_BLOCK;
        if (n > FOREST_BLOCK)
                n = FOREST_BLOCK;
        if (n < TREE_FEW_ROWS)
                n = TREE_FEW_ROWS;
        return rows < n ? (rows ? rows : 1) : n;
}

/* What a walk of t reads: its nodes and, per node, a byte of t->sure
 * (and the rows of its mixed leaves) or a row of values. */
static size_t tree_bytes(const struct tree *t)
{
        size_t row = t->n_values * sizeof(double);
        if (t->sure)
                return t->n_nodes * (sizeof(struct tnode) + 1) + t->n_mixed * row;
        return t->n_nodes * (sizeof(struct tnode) + row);
}

/* acc[b * w ..] += the leaf rows every tree reaches for the nb rows of
 * xf, one row at a time, TREE_GROUP trees at once. */
static void forest_few_rows(const struct forest *f, const float *xf, size_t nb,
                            bool use_proba, double *acc)
{
        size_t nf = f->base.n_features, w = f->trees[0]->n_values;
        int32_t leaf[TREE_GROUP];
        for (size_t b = 0; b < nb; b++)
                for (size_t i = 0; i < f->n_trees; i += TREE_GROUP) {
                        size_t ng = f->n_trees - i < TREE_GROUP ? f->n_trees - i : TREE_GROUP;
                        tree_group_leaves(f->trees + i, ng, xf + b * nf, leaf);
                        double *a = acc + b * w;
                        for (size_t g = 0; g < ng; g++) {
                                const struct tree *t = f->trees[i + g];
                                if (use_proba && t->sure) {
                                        tree_add_proba(t, (size_t)leaf[g], w, a);
                                        continue;
                                }
                                const double *v =
                                        (use_proba ? t->proba : t->value) + (size_t)leaf[g] * w;
                                for (size_t k = 0; k < w; k++)
                                        a[k] += v[k];
                        }
                }
}

/* The forest's rows [r0, r0 + n) of X cast to float32 into xf, then
 * acc[b * width ..] = sum over trees, in order, of the leaf's row of
 * proba (classifiers) or value (regressors), divided by n_trees. Blocks
 * of bs rows walk a group of trees at a time (FOREST_GROUP_BYTES); every
 * row still adds its trees in order. */
static int forest_chunk(const struct forest *f, const double *X, size_t r0, size_t n,
                        size_t bs, bool use_proba, float *xf, double *acc,
                        struct model_error *err)
{
        size_t nf = f->base.n_features, w = f->trees[0]->n_values;
        for (size_t b = 0; b < n; b++) {
                int rc = cast_row(X + (r0 + b) * nf, nf, r0 + b, xf + b * nf, err);
                if (rc < 0)
                        return rc;
        }
        for (size_t i = 0; i < n * w; i++)
                acc[i] = 0.0;
        if (n < TREE_FEW_ROWS) {
                forest_few_rows(f, xf, n, use_proba, acc);
                goto average;
        }
        int32_t leaf[FOREST_BLOCK];
        for (size_t g0 = 0, g1; g0 < f->n_trees; g0 = g1) {
                size_t bytes = tree_bytes(f->trees[g0]);
                for (g1 = g0 + 1; g1 < f->n_trees && bytes < FOREST_GROUP_BYTES; g1++)
                        bytes += tree_bytes(f->trees[g1]);
                for (size_t b0 = 0; b0 < n; b0 += bs) {
                        size_t nb = n - b0 < bs ? n - b0 : bs;
                        for (size_t i = g0; i < g1; i++) {
                                const struct tree *t = f->trees[i];
                                const double *table = use_proba ? t->proba : t->value;
                                tree_leaves(t, xf + b0 * nf, nf, nb, leaf);
                                if (use_proba && t->sure) {
                                        for (size_t b = 0; b < nb; b++)
                                                tree_add_proba(t, (size_t)leaf[b], w,
                                                               acc + (b0 + b) * w);
                                        continue;
                                }
                                for (size_t b = 0; b < nb; b++) {
                                        const double *v = table + (size_t)leaf[b] * w;
                                        double *a = acc + (b0 + b) * w;
                                        for (size_t k = 0; k < w; k++)
                                                a[k] += v[k];
                                }
                        }
                }
        }
average:
        for (size_t i = 0; i < n * w; i++)
                acc[i] /= (double)f->n_trees;
        return 0;
}

/* Runs forest_chunk over every chunk of rows, then done(r, its acc row)
 * for each row of the chunk. */
typedef void (*forest_done_fn)(size_t r, const double *acc, size_t w, void *ctx);

static int forest_for_blocks(const struct model *m, const double *X, size_t rows,
                             bool use_proba, forest_done_fn done, void *ctx,
                             struct model_error *err)
{
        const struct forest *f = (const struct forest *)m;
        size_t w = f->trees[0]->n_values;
        size_t bs = block_rows(m->n_features, rows);
        size_t cs = rows < bs * FOREST_CHUNK_BLOCKS ? (rows ? rows : 1)
                                                    : bs * FOREST_CHUNK_BLOCKS;
        float *xf = malloc(cs * m->n_features * sizeof(float));
        double *acc = malloc(cs * w * sizeof(double));
        int rc = 0;
        if (!xf || !acc) {
                model_set_error(err, "out of memory");
                rc = -ENOMEM;
                goto done;
        }
        for (size_t r0 = 0; r0 < rows; r0 += cs) {
                size_t n = rows - r0 < cs ? rows - r0 : cs;
                rc = forest_chunk(f, X, r0, n, bs, use_proba, xf, acc, err);
                if (rc < 0)
                        goto done;
                for (size_t b = 0; b < n; b++)
                        done(r0 + b, acc + b * w, w, ctx);
        }
done:
        free(xf);
        free(acc);
        return rc;
}

static void forest_classified(size_t r, const double *acc, size_t nc, void *ctx)
{
        struct classify_ctx *c = ctx;
        c->class_idx[r] = model_np_argmax(acc, nc);
        if (c->proba)
                memcpy(c->proba + r * nc, acc, nc * sizeof(double));
}

/* ForestClassifier.predict_proba: the trees' probabilities added in order,
 * then divided by the number of trees; predict is their argmax. */
static int forest_classify(const struct model *m, const double *X, size_t rows,
                           size_t *class_idx, double *proba,
                           struct model_error *err)
{
        struct classify_ctx c = { class_idx, proba, NULL };
        return forest_for_blocks(m, X, rows, true, forest_classified, &c, err);
}

static void forest_regressed(size_t r, const double *acc, size_t no, void *ctx)
{
        memcpy((double *)ctx + r * no, acc, no * sizeof(double));
}

/* ForestRegressor.predict: y_hat += tree.predict(X) for each tree in
 * order, then y_hat /= len(estimators_). */
static int forest_regress(const struct model *m, const double *X, size_t rows,
                          double *out, struct model_error *err)
{
        return forest_for_blocks(m, X, rows, false, forest_regressed, out, err);
}

static void forest_describe(const struct model *m, char *buf, size_t len)
{
        const struct forest *f = (const struct forest *)m;
        if (m->type == MODEL_TYPE_REGRESSOR)
                snprintf(buf, len, "%s[%zu trees, %zu outputs]", m->ops->name,
                         f->n_trees, m->n_outputs);
        else
                snprintf(buf, len, "%s[%zu trees, %zu classes]", m->ops->name,
                         f->n_trees, m->n_classes);
}

static void forest_destroy(struct model *m)
{
        struct forest *f = (struct forest *)m;
        model_base_release(m);
        if (f->trees)
                for (size_t i = 0; i < f->n_trees; i++)
                        model_free(&f->trees[i]->base);
        free(f->trees);
        free(f);
}

static const struct model_ops forest_ops[] = {
        [MODEL_FOREST_RANDOM_CLASSIFIER] = {
                .name = "RandomForestClassifier",
                .classify = forest_classify,
                .describe = forest_describe,
                .destroy = forest_destroy,
        },
        [MODEL_FOREST_EXTRA_CLASSIFIER] = {
                .name = "ExtraTreesClassifier",
                .classify = forest_classify,
                .describe = forest_describe,
                .destroy = forest_destroy,
        },
        [MODEL_FOREST_RANDOM_REGRESSOR] = {
                .name = "RandomForestRegressor",
                .regress = forest_regress,
                .describe = forest_describe,
                .destroy = forest_destroy,
        },
        [MODEL_FOREST_EXTRA_REGRESSOR] = {
                .name = "ExtraTreesRegressor",
                .regress = forest_regress,
                .describe = forest_describe,
                .destroy = forest_destroy,
        },
};

/* Checks that every member is a tree of the expected kind and width. */
static int check_members(const char *who, struct model **trees, size_t n,
                         const struct model_ops *want, size_t n_values,
                         struct model_error *err)
{
        size_t nf = trees[0]->n_features;
        for (size_t i = 0; i < n; i++) {
                if (trees[i]->ops != want) {
                        model_set_error(err, "%s: estimator %zu is a %s, expected %s", who, i,
                                        trees[i]->ops->name, want->name);
                        return -EINVAL;
                }
                const struct tree *t = (const struct tree *)trees[i];
                if (trees[i]->n_features != nf || t->n_values != n_values) {
                        model_set_error(err,
                                        "%s: tree %zu has %zu features and %zu values per "
                                        "node, expected %zu and %zu",
                                        who, i, trees[i]->n_features, t->n_values, nf,
                                        n_values);
                        return -EINVAL;
                }
        }
        return 0;
}

int model_forest_kind_create(enum model_forest_kind kind, struct model **trees,
                             size_t n_trees, const struct model_label *classes,
                             size_t n_classes, struct model **out,
                             struct model_error *err)
{
        struct forest *f = NULL;
        int rc = -EINVAL;
        if ((unsigned)kind > MODEL_FOREST_EXTRA_REGRESSOR) {
                model_set_error(err, "forest: unknown kind %d", (int)kind);
                goto fail;
        }
        const struct model_ops *ops = &forest_ops[kind];
        bool regressor = kind == MODEL_FOREST_RANDOM_REGRESSOR ||
                         kind == MODEL_FOREST_EXTRA_REGRESSOR;
        if (n_trees == 0) {
                model_set_error(err, "%s: no trees", ops->name);
                goto fail;
        }
        size_t n_values = regressor ? trees[0]->n_outputs : n_classes;
        if ((rc = check_members(ops->name, trees, n_trees,
                                regressor ? &tree_reg_ops : &tree_ops, n_values, err)) < 0)
                goto fail;
        rc = -ENOMEM;
        f = calloc(1, sizeof(*f));
        if (!f) {
                model_set_error(err, "%s: out of memory", ops->name);
                goto fail;
        }
        f->base.ops = ops;
        struct tree **copy = malloc(n_trees * sizeof(*copy));
        if (!copy) {
                model_set_error(err, "%s: out of memory", ops->name);
                goto fail;
        }
        memcpy(copy, trees, n_trees * sizeof(*copy));
        rc = model_base_init(&f->base, ops,
                             regressor ? MODEL_TYPE_REGRESSOR : MODEL_TYPE_CLASSIFIER,
                             trees[0]->n_features, regressor ? NULL : classes,
                             regressor ? 0 : n_classes, err);
        if (rc < 0) {
                free(copy);
                goto fail;
        }
        f->trees = copy;
        f->n_trees = n_trees;
        f->base.has_proba = !regressor;
        f->base.n_outputs = regressor ? n_values : 0;
        *out = &f->base;
        return 0;
fail:
        for (size_t i = 0; i < n_trees; i++)
                model_free(trees[i]);
        if (f)
                forest_destroy(&f->base);
        return rc;
}

int model_forest_create(struct model **trees, size_t n_trees,
                        const struct model_label *classes, size_t n_classes,
                        struct model **out, struct model_error *err)
{
        return model_forest_kind_create(MODEL_FOREST_RANDOM_CLASSIFIER, trees, n_trees,
                                        classes, n_classes, out, err);
}

/* --- gradient boosting ------------------------------------------------ */

/* For rows [r0, r0 + nb) of X, cast to float32 into xf:
 * raw[b * k + j] = init, then += learning_rate * value for every stage i
 * and tree j in that order (predict_stages), FOREST_BLOCK rows at most.
 * With bit vectors, TL_ROWS rows at a time (g->tl, tl_scratch holding
 * its scratch) while TL_MIN_ROWS remain, then row by row, by complete
 * trees (g->sh) or bit vectors (g->qs; qs_scratch holds n_stages x k
 * words, qs_out QS_ROWS x n_stages x k values and qs_row n_features). */
static int gb_block(const struct gb *g, const double *X, size_t r0, size_t nb, float *xf,
                    double *raw, uint64_t *qs_scratch, double *qs_out, double *qs_row,
                    double *tl_scratch, struct model_error *err)
{
        size_t nf = g->base.n_features, k = g->k;
        for (size_t b = 0; b < nb; b++) {
                int rc = cast_row(X + (r0 + b) * nf, nf, r0 + b, xf + b * nf, err);
                if (rc < 0)
                        return rc;
                memcpy(raw + b * k, g->init_raw, k * sizeof(double));
        }
        size_t b0 = 0;
        if (g->tl && tl_scratch)
                /* TL_MIN_ROWS or more rows: a block costs what TL_ROWS do */
                while (nb - b0 >= TL_MIN_ROWS) {
                        size_t m = nb - b0 < TL_ROWS ? nb - b0 : TL_ROWS;
                        tl_add(g->tl, xf + b0 * nf, m, k, raw + b0 * k, tl_scratch);
                        b0 += m;
                }
        if (g->qs) {
                /* stage by stage, class by class is the trees' order */
                size_t n = g->n_stages * k;
                for (; b0 < nb; b0 += QS_ROWS) {
                        size_t m = nb - b0 < QS_ROWS ? nb - b0 : QS_ROWS;
                        for (size_t b = 0; b < m; b++) {
                                if (g->sh) {
                                        sh_values(g->sh, xf + (b0 + b) * nf, qs_out + b * n);
                                        continue;
                                }
                                /* float32 values and thresholds, exact as doubles */
                                for (size_t f = 0; f < nf; f++)
                                        qs_row[f] = xf[(b0 + b) * nf + f];
                                qs_values(g->qs, qs_row, qs_scratch, qs_out + b * n);
                        }
                        qs_add(qs_out, n, k, m, g->learning_rate, raw + b0 * k);
                }
                return 0;
        }
        if (nb < TREE_FEW_ROWS) {
                /* stage by stage, class by class is the trees' order */
                size_t n = g->n_stages * k;
                int32_t leaf[TREE_GROUP];
                for (size_t b = 0; b < nb; b++)
                        for (size_t i = 0; i < n; i += TREE_GROUP) {
                                size_t ng = n - i < TREE_GROUP ? n - i : TREE_GROUP;
                                tree_group_leaves(g->trees + i, ng, xf + b * nf, leaf);
                                for (size_t q = 0; q < ng; q++)
                                        raw[b * k + (i + q) % k] +=
                                                g->learning_rate *
                                                g->trees[i + q]->value[leaf[q]];
                        }
                return 0;
        }
        int32_t leaf[FOREST_BLOCK];
        for (size_t i = 0; i < g->n_stages; i++)
                for (size_t j = 0; j < k; j++) {
                        const struct tree *t = g->trees[i * k + j];
                        tree_leaves(t, xf, nf, nb, leaf);
                        for (size_t b = 0; b < nb; b++)
                                raw[b * k + j] += g->learning_rate * t->value[leaf[b]];
                }
        return 0;
}

typedef void (*gb_done_fn)(const struct gb *g, size_t r, double *raw, void *ctx);

/* gb_block over every block of rows, then done(g, r, raw row, ctx) per row;
 * done may use raw[k .. k + n_classes) as scratch. */
static int gb_for_blocks(const struct gb *g, const double *X, size_t rows, gb_done_fn done,
                         void *ctx, struct model_error *err)
{
        size_t k = g->k, w = k + g->base.n_classes, n = g->qs ? g->n_stages * k : 0;
        size_t bs = block_rows(g->base.n_features, rows);
        size_t tl_n = g->tl && rows >= TL_MIN_ROWS ? tl_scratch_doubles(g->tl, k) : 0;
        float *xf = malloc(bs * g->base.n_features * sizeof(float));
        double *raw = malloc(bs * k * sizeof(double) + w * sizeof(double));
        uint64_t *qs_scratch = n ? malloc(n * sizeof(uint64_t)) : NULL;
        double *qs_out = n ? malloc((QS_ROWS * n + g->base.n_features + tl_n) *
                                    sizeof(double))
                           : NULL;
        int rc = 0;
        if (!xf || !raw || (n && (!qs_scratch || !qs_out))) {
                model_set_error(err, "out of memory");
                rc = -ENOMEM;
                goto done;
        }
        double *row = raw + bs * k;
        for (size_t r0 = 0; r0 < rows; r0 += bs) {
                size_t nb = rows - r0 < bs ? rows - r0 : bs;
                rc = gb_block(g, X, r0, nb, xf, raw, qs_scratch, qs_out,
                              qs_out ? qs_out + QS_ROWS * n : NULL,
                              tl_n ? qs_out + QS_ROWS * n + g->base.n_features : NULL, err);
                if (rc < 0)
                        goto done;
                for (size_t b = 0; b < nb; b++) {
                        memcpy(row, raw + b * k, k * sizeof(double));
                        done(g, r0 + b, row, ctx);
                }
        }
done:
        free(xf);
        free(raw);
        free(qs_scratch);
        free(qs_out);
        return rc;
}

static void gb_raw_done(const struct gb *g, size_t r, double *raw, void *ctx)
{
        memcpy((double *)ctx + r * g->k, raw, g->k * sizeof(double));
}

/* regress and decision_function both return the raw predictions */
static int gb_raw_rows(const struct model *m, const double *X, size_t rows,
                       double *out, struct model_error *err)
{
        return gb_for_blocks((const struct gb *)m, X, rows, gb_raw_done, out, err);
}

/* MultinomialDeviance._raw_prediction_to_proba (< 1.4):
 * nan_to_num(exp(raw - logsumexp(raw))). */
static void legacy_multinomial_proba(const double *raw, size_t n, double *p)
{
        double lse = model_logsumexp(raw, n, p);
        for (size_t i = 0; i < n; i++) {
                p[i] = exp(raw[i] - lse);
                if (isnan(p[i]))
                        p[i] = 0.0;
        }
}

static void gb_classified(const struct gb *g, size_t r, double *raw, void *ctx)
{
        struct classify_ctx *c = ctx;
        size_t nc = g->base.n_classes;
        double *p = raw + g->k;
        switch (g->loss) {
        case MODEL_GB_BINOMIAL:
        case MODEL_GB_EXPONENTIAL:
                p[1] = model_expit(g->loss == MODEL_GB_EXPONENTIAL ? 2.0 * raw[0] : raw[0]);
                p[0] = 1.0 - p[1];
                /* < 1.4 BinomialDeviance: argmax([1 - p, p]); all others:
                 * raw >= 0 */
                if (g->legacy && g->loss == MODEL_GB_BINOMIAL)
                        c->class_idx[r] = model_np_argmax(p, 2);
                else
                        c->class_idx[r] = raw[0] >= 0.0 ? 1 : 0;
                break;
        case MODEL_GB_MULTINOMIAL:
                if (g->legacy) {
                        legacy_multinomial_proba(raw, nc, p);
                        c->class_idx[r] = model_np_argmax(p, nc);
                } else {
                        memcpy(p, raw, nc * sizeof(double));
                        model_softmax_row(p, nc);
                        c->class_idx[r] = model_np_argmax(raw, nc);
                }
                break;
        case MODEL_GB_REGRESSION:
                break;
        }
        if (c->proba)
                memcpy(c->proba + r * nc, p, nc * sizeof(double));
}

static int gb_classify(const struct model *m, const double *X, size_t rows,
                       size_t *class_idx, double *proba, struct model_error *err)
{
        struct classify_ctx c = { class_idx, proba, NULL };
        return gb_for_blocks((const struct gb *)m, X, rows, gb_classified, &c, err);
}

static void gb_describe(const struct model *m, char *buf, size_t len)
{
        const struct gb *g = (const struct gb *)m;
        snprintf(buf, len, "%s[%zu stages x %zu trees]", m->ops->name, g->n_stages, g->k);
}

static void gb_destroy(struct model *m)
{
        struct gb *g = (struct gb *)m;
        model_base_release(m);
        if (g->trees)
                for (size_t i = 0; i < g->n_stages * g->k; i++)
                        model_free(&g->trees[i]->base);
        free(g->trees);
        free(g->init_raw);
        qs_free(g->qs);
        tl_free(g->tl);
        sh_free(g->sh);
        free(g);
}

static const struct model_ops gb_reg_ops = {
        .name = "GradientBoostingRegressor",
        .regress = gb_raw_rows,
        .describe = gb_describe,
        .destroy = gb_destroy,
};

static const struct model_ops gb_clf_ops = {
        .name = "GradientBoostingClassifier",
        .classify = gb_classify,
        .decision = gb_raw_rows,
        .describe = gb_describe,
        .destroy = gb_destroy,
};

/* The raw prediction of the init estimator, as get_init_raw_predictions
 * (< 1.4) and _init_raw_predictions (1.4+) compute it from a Dummy
 * estimator's constant answer. Probabilities are clipped to
 * [eps, 1 - eps] with float32's eps first. */
static void gb_init_raw(const struct model_gb_params *p, size_t n_classes,
                        double *raw)
{
        const double eps = FLT_EPSILON;
        for (size_t j = 0; j < p->k; j++)
                raw[j] = 0.0;
        if (!p->init)
                return;
        if (p->loss == MODEL_GB_REGRESSION) {
                raw[0] = p->init[0];
                return;
        }
        if (p->loss != MODEL_GB_MULTINOMIAL) {
                double q = fmin(fmax(p->init[1], eps), 1.0 - eps);
                raw[0] = log(q / (1.0 - q));
                if (p->loss == MODEL_GB_EXPONENTIAL)
                        raw[0] *= 0.5;
                return;
        }
        for (size_t j = 0; j < n_classes; j++)
                raw[j] = log(fmin(fmax(p->init[j], eps), 1.0 - eps));
        if (p->legacy)
                return;
        /* MultinomialLogit.link: log(p / gmean(p)), gmean = exp(mean(log p)) */
        double gm = exp(model_np_sum(raw, n_classes) / (double)n_classes);
        for (size_t j = 0; j < n_classes; j++)
                raw[j] = log(fmin(fmax(p->init[j], eps), 1.0 - eps) / gm);
}

/* g->qs from g's trees when every one has at most 64 leaves (else the
 * walk serves them); 0 either way, or -ENOMEM. */
static int gb_bit_vectors(struct gb *g)
{
        size_t n = g->n_stages * g->k;
        size_t *start = malloc((n + 1) * sizeof(*start));
        if (!start)
                return -ENOMEM;
        start[0] = 0;
        for (size_t t = 0; t < n; t++)
                start[t + 1] = start[t] + g->trees[t]->n_nodes;
        struct qs_node *nodes = malloc(start[n] * sizeof(*nodes));
        int rc = -ENOMEM;
        if (!nodes)
                goto done;
        for (size_t t = 0; t < n; t++) {
                const struct tree *tr = g->trees[t];
                for (size_t i = 0; i < tr->n_nodes; i++) {
                        const struct tnode *tn = &tr->nodes[i];
                        struct qs_node *q = &nodes[start[t] + i];
                        bool leaf = tn->left == ~(int32_t)i;
                        q->left = leaf ? -1 : (int32_t)tnode_at(tn->left);
                        q->right = leaf ? -1 : (int32_t)tnode_at(tn->right);
                        q->feature = tn->feature;
                        q->missing_left = false; /* NaN fails x <= t */
                        q->threshold = tn->threshold;
                        q->value = tr->value[i];
                }
        }
        rc = qs_build(g->trees[0]->base.n_features, n, nodes, start, &g->qs);
        if (rc == 0 && g->qs)
                rc = tl_build(g->trees[0]->base.n_features, n, nodes, start,
                              g->learning_rate, &g->tl);
        if (rc == 0 && g->qs)
                rc = sh_build(g->trees[0]->base.n_features, n, nodes, start, &g->sh);
done:
        free(nodes);
        free(start);
        return rc;
}

int model_gb_create(const struct model_gb_params *p, struct model **trees,
                    const struct model_label *classes, size_t n_classes,
                    struct model **out, struct model_error *err)
{
        bool regressor = p->loss == MODEL_GB_REGRESSION;
        const struct model_ops *ops = regressor ? &gb_reg_ops : &gb_clf_ops;
        size_t want_k = p->loss == MODEL_GB_MULTINOMIAL ? n_classes : 1;
        size_t n = p->n_stages * p->k;
        struct gb *g = NULL;
        int rc = -EINVAL;
        if (p->n_stages == 0 || p->k == 0 || n / p->k != p->n_stages) {
                model_set_error(err, "%s: no trees", ops->name);
                goto fail;
        }
        if (p->k != want_k || (regressor ? n_classes != 0
                                         : (p->loss == MODEL_GB_MULTINOMIAL ? n_classes < 3
                                                                            : n_classes != 2))) {
                model_set_error(err, "%s: %zu trees per stage for %zu classes do not fit "
                                "its loss", ops->name, p->k, n_classes);
                goto fail;
        }
        if (!isfinite(p->learning_rate)) {
                model_set_error(err, "%s: learning_rate is not finite", ops->name);
                goto fail;
        }
        if (p->init)
                for (size_t j = 0; j < (regressor ? 1 : n_classes); j++)
                        if (!isfinite(p->init[j])) {
                                model_set_error(err, "%s: init_ value %zu is not finite",
                                                ops->name, j);
                                goto fail;
                        }
        if ((rc = check_members(ops->name, trees, n, &tree_reg_ops, 1, err)) < 0)
                goto fail;
        rc = -ENOMEM;
        g = calloc(1, sizeof(*g));
        if (!g)
                goto nomem;
        g->base.ops = ops;
        g->init_raw = malloc(p->k * sizeof(double));
        g->trees = malloc(n * sizeof(*g->trees));
        if (!g->init_raw || !g->trees) {
                free(g->trees);
                g->trees = NULL;
                goto nomem;
        }
        memcpy(g->trees, trees, n * sizeof(*g->trees));
        g->n_stages = p->n_stages;
        g->k = p->k;
        g->loss = p->loss;
        g->legacy = p->legacy;
        g->learning_rate = p->learning_rate;
        gb_init_raw(p, n_classes, g->init_raw);
        if ((rc = gb_bit_vectors(g)) < 0) {
                gb_destroy(&g->base);
                model_set_error(err, "%s: out of memory", ops->name);
                return rc;
        }
        rc = model_base_init(&g->base, ops,
                             regressor ? MODEL_TYPE_REGRESSOR : MODEL_TYPE_CLASSIFIER,
                             trees[0]->n_features, classes, n_classes, err);
        if (rc < 0) {
                gb_destroy(&g->base); /* it owns the trees now */
                return rc;
        }
        g->base.has_proba = !regressor;
        g->base.n_outputs = regressor ? 1 : 0;
        g->base.decision_width = regressor ? 0 : p->k;
        *out = &g->base;
        return 0;
nomem:
        model_set_error(err, "%s: out of memory", ops->name);
fail:
        for (size_t i = 0; i < n; i++)
                model_free(trees[i]);
        if (g)
                gb_destroy(&g->base);
        return rc;
}
