/* hist.c - histogram gradient boosting (HistGradientBoostingRegressor and
 * HistGradientBoostingClassifier) and isolation forests.
 *
 * Unlike the trees of tree.c these compare X as float64: a numerical split
 * sends x <= num_threshold left. NaN goes where missing_go_to_left says. A
 * categorical split casts x to a byte as the Cython predictor does and
 * sends it left when the tree's bitset holds it, right when the bin
 * mapper knew the category at fit time, and otherwise (unknown or
 * negative categories) the way missing values go. Files from 1.4 on
 * that have categorical features first encode them as OrdinalEncoder does
 * (index among the categories seen in fit, NaN for unknown ones) and put
 * them before the numerical columns; the model does the same. Raw predictions start
 * from _baseline_prediction and add each predictor's leaf value, iteration
 * by iteration, as _raw_predict does; the loss's inverse link then gives
 * predict (regressors) or predict_proba (classifiers). IsolationForest is
 * at the end of the file. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "quickscorer.h"
#include "treelanes.h"

#define BITSET_WORDS 8 /* 256 bits: one per byte value */

struct hnode {
        double value;
        double num_threshold;
        uint32_t feature, left, right, bitset_idx;
        uint8_t is_leaf, missing_go_to_left, is_categorical;
};

/* The compact form of a numerical-only model's nodes (hgb_fast): 16
 * bytes, left child implicit at i + 1 (scikit-learn's predictor arrays are
 * filled in pre-order), the float64 threshold kept as it is. A leaf points
 * right at itself, has threshold NaN and no missing-left bit, so a walk
 * that goes on past it stays there; its value is in fast_value. */
struct hfast {
        double threshold;
        uint32_t fm; /* feature | HFAST_MISSING_LEFT */
        uint32_t right;
};

#define HFAST_MISSING_LEFT 0x80000000u
/* Rows walked together, tree by tree. */
#define HGB_BLOCK 128

struct hgb {
        struct model base;
        enum model_hgb_link link;
        bool predict_from_proba;
        size_t n_iter, k;
        double *baseline;      /* k */
        struct hnode *nodes;   /* every tree's nodes, one after another */
        size_t *node_start;    /* n_iter * k: first node of each tree */
        uint32_t *bitsets;     /* every tree's left bitsets, then known ones */
        size_t *bitset_start;  /* n_iter * k: first bitset row of each tree */
        size_t known_start;    /* first row of the known-category bitsets */
        uint32_t *f_idx_map;   /* n_features; UINT32_MAX: numerical */
        /* NULL, or n_features; cats owned. A string input's cats are its
         * codes, sorted, and cat_index[f] gives each one's categories_
         * position. */
        struct model_hgb_input *inputs;
        size_t **cat_index;
        /* NULL unless no split is categorical, no input is encoded and
         * every left child is its parent's next node: then the nodes
         * again, compact, indexed as nodes is */
        struct hfast *fast;
        double *fast_value;   /* every node's value (leaves') */
        /* the trees as bit vectors (quickscorer.c) when no split is
         * categorical and every tree has at most 64 leaves; else NULL */
        struct qs_forest *qs;
        /* the same in lanes of rows (treelanes.c) when every tree has at
         * most 32 leaves; else NULL */
        struct tl_forest *tl;
};

/* Doubles of scratch hgb_raw_block needs. */
static size_t hgb_scratch_doubles(const struct hgb *h)
{
        size_t n = h->base.n_features;
        if (h->qs)
                n += (1 + QS_ROWS) * h->n_iter * h->k; /* words, then values */
        if (h->tl) /* a block's rows as the trees take them, then the lanes' */
                n += TL_ROWS * h->base.n_features + tl_scratch_doubles(h->tl, h->k);
        return n;
}

/* <X_BINNED_DTYPE_C>data_val for data_val >= 0: C's double to unsigned
 * char, which x86-64 compilers do through a 32-bit truncation (values past
 * INT32_MAX become INT32_MIN, whose low byte is 0). */
static uint8_t category_byte(double x)
{
        if (x < 2147483648.0)
                return (uint8_t)(uint32_t)(int32_t)x;
        return 0;
}

static bool in_bitset(const uint32_t *row, uint8_t v)
{
        return (row[v / 32] >> (v % 32)) & 1u;
}

static double tree_value(const struct hgb *h, size_t t, const double *x)
{
        const struct hnode *nodes = h->nodes + h->node_start[t];
        const uint32_t *left_sets = h->bitsets + h->bitset_start[t] * BITSET_WORDS;
        const struct hnode *n = &nodes[0];
        while (!n->is_leaf) {
                double v = x[n->feature];
                bool left;
                if (isnan(v)) {
                        left = n->missing_go_to_left;
                } else if (n->is_categorical) {
                        if (v < 0) {
                                left = n->missing_go_to_left;
                        } else {
                                uint8_t c = category_byte(v);
                                const uint32_t *known = h->bitsets +
                                        (h->known_start + h->f_idx_map[n->feature]) *
                                                BITSET_WORDS;
                                if (in_bitset(left_sets + (size_t)n->bitset_idx * BITSET_WORDS, c))
                                        left = true;
                                else if (in_bitset(known, c))
                                        left = false;
                                else
                                        left = n->missing_go_to_left;
                        }
                } else {
                        left = v <= n->num_threshold;
                }
                n = &nodes[left ? n->left : n->right];
        }
        return n->value;
}

/* OrdinalEncoder.transform of one value: its index among the sorted
 * categories, NaN when it is missing or unknown. */
static double encode_category(const struct model_hgb_input *in, const size_t *index,
                              double v)
{
        uint64_t code;
        if (in->strings) {
                if (!model_string_code_of(v, &code))
                        return NAN; /* missing, unknown, or a number */
                v = (double)code;
        } else if (isnan(v)) {
                return NAN;
        }
        size_t lo = 0, hi = in->n_cats;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (in->cats[mid] < v)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == in->n_cats || in->cats[lo] != v)
                return NAN;
        return in->strings ? (double)index[lo] : (double)lo;
}

/* The columns the trees see: X itself, or X through the file's
 * preprocessor (into scratch). */
static const double *tree_input(const struct hgb *h, const double *x, double *scratch)
{
        if (!h->inputs)
                return x;
        for (size_t f = 0; f < h->base.n_features; f++) {
                const struct model_hgb_input *in = &h->inputs[f];
                scratch[f] = in->categorical
                                     ? encode_category(in, h->cat_index ? h->cat_index[f] : NULL,
                                                       x[in->src])
                                     : x[in->src];
        }
        return scratch;
}

/* raw[0..k) of one row: baseline, then every predictor of every
 * iteration added in order. */
static void hgb_raw(const struct hgb *h, const double *x, double *raw)
{
        memcpy(raw, h->baseline, h->k * sizeof(double));
        for (size_t i = 0; i < h->n_iter; i++)
                for (size_t j = 0; j < h->k; j++)
                        raw[j] += tree_value(h, i * h->k + j, x);
}

/* The node after n for x: its left child (the next node) when x <= the
 * threshold, or when x is NaN and missing values go left, else its right
 * one; a leaf's next node is itself. A mask, not a branch: in a lockstep
 * walk the sides are unpredictable. */
static inline uint32_t hfast_next(const struct hfast *n, uint32_t i, const double *x)
{
        double v = x[n->fm & ~HFAST_MISSING_LEFT];
        bool left = (v <= n->threshold) | (isnan(v) & ((n->fm & HFAST_MISSING_LEFT) != 0));
        uint32_t go_right = (uint32_t)left - 1u;
        return ((i + 1) & ~go_right) | (n->right & go_right);
}

/* Levels walked between two checks for rows that have reached a leaf. */
#define HGB_CHECK_EVERY 2

/* pos[b] = the leaf row b of X (nb rows of nf doubles) ends at in tree t
 * of the compact nodes, the leaf tree_value reaches. The rows still
 * walking (act[0, na)) go down one level at a time, without branches, so
 * their loads overlap; every HGB_CHECK_EVERY levels the rows at a leaf
 * leave the list, as scikit-learn's leaf-wise trees end at very different
 * depths (walking every row to the block's deepest leaf took 1.9 times the
 * steps). The walk ends when no row is left (children come after their
 * parent, so it does). */
static void fast_leaves(const struct hgb *h, size_t t, const double *X, size_t nf, size_t nb,
                        uint32_t *pos)
{
        const struct hfast *nodes = h->fast + h->node_start[t];
        uint32_t act[HGB_BLOCK];
        size_t na = nb;
        for (size_t b = 0; b < nb; b++) {
                pos[b] = 0;
                act[b] = (uint32_t)b;
        }
        while (na) {
                for (size_t d = 0; d < HGB_CHECK_EVERY; d++)
                        for (size_t a = 0; a < na; a++) {
                                uint32_t b = act[a];
                                pos[b] = hfast_next(&nodes[pos[b]], pos[b], X + (size_t)b * nf);
                        }
                size_t left = 0;
                for (size_t a = 0; a < na; a++) {
                        uint32_t b = act[a];
                        act[left] = b;
                        left += nodes[pos[b]].right != pos[b];
                }
                na = left;
        }
}

/* Fewer rows than this walk one row at a time, HGB_GROUP trees at once. */
#define HGB_FEW_ROWS 8
#define HGB_GROUP 16

/* pos[g] = the leaf row x ends at in tree t0 + g, for ng <= HGB_GROUP
 * trees: a lockstep walk as in fast_leaves, the independent loads coming
 * from different trees of one row, until every tree is at a leaf. */
static void fast_group_leaves(const struct hgb *h, size_t t0, size_t ng, const double *x,
                              uint32_t *pos)
{
        const struct hfast *nodes[HGB_GROUP];
        for (size_t g = 0; g < ng; g++) {
                pos[g] = 0;
                nodes[g] = h->fast + h->node_start[t0 + g];
        }
        for (;;) {
                for (size_t d = 0; d < HGB_CHECK_EVERY; d++)
                        for (size_t g = 0; g < ng; g++)
                                pos[g] = hfast_next(&nodes[g][pos[g]], pos[g], x);
                size_t at_leaf = 0;
                for (size_t g = 0; g < ng; g++)
                        at_leaf += nodes[g][pos[g]].right == pos[g];
                if (at_leaf == ng)
                        return;
        }
}

/* raw[b * k ..] for rows [0, nb) of X by bit vectors: baseline, then
 * iteration by iteration, tree by tree, as hgb_raw adds them (times 1.0,
 * which is exact); TL_ROWS rows at a time in lanes (h->tl) while
 * TL_MIN_ROWS remain, then QS_ROWS at a time. scratch:
 * hgb_scratch_doubles. */
static void hgb_qs_block(const struct hgb *h, const double *X, size_t nb, double *raw,
                         double *scratch)
{
        size_t nf = h->base.n_features, k = h->k, n = h->n_iter * k;
        uint64_t *words = (uint64_t *)(void *)(scratch + nf);
        double *vals = scratch + nf + n;
        size_t b0 = 0;
        if (h->tl) {
                double *in = vals + QS_ROWS * n, *tl_scratch = in + TL_ROWS * nf;
                for (; nb - b0 >= TL_MIN_ROWS; b0 += TL_ROWS) {
                        size_t m = nb - b0 < TL_ROWS ? nb - b0 : TL_ROWS;
                        const double *rows[TL_ROWS];
                        for (size_t b = 0; b < m; b++) {
                                rows[b] = tree_input(h, X + (b0 + b) * nf, in + b * nf);
                                memcpy(raw + (b0 + b) * k, h->baseline, k * sizeof(double));
                        }
                        tl_add64(h->tl, rows, m, k, raw + b0 * k, tl_scratch);
                        if (m < TL_ROWS)
                                return;
                }
        }
        for (; b0 < nb; b0 += QS_ROWS) {
                size_t m = nb - b0 < QS_ROWS ? nb - b0 : QS_ROWS;
                for (size_t b = 0; b < m; b++) {
                        qs_values(h->qs, tree_input(h, X + (b0 + b) * nf, scratch), words,
                                  vals + b * n);
                        memcpy(raw + (b0 + b) * k, h->baseline, k * sizeof(double));
                }
                qs_add(vals, n, k, m, 1.0, raw + b0 * k);
        }
}

/* raw[b * k ..] for rows [0, nb <= HGB_BLOCK) of X: what hgb_raw gives
 * each row, with the same additions in the same order (baseline, then
 * iteration by iteration, tree by tree), walking the block tree by tree
 * so each tree's nodes are read once per block. scratch:
 * hgb_scratch_doubles. */
static void hgb_raw_block(const struct hgb *h, const double *X, size_t nb, double *raw,
                          double *scratch)
{
        size_t nf = h->base.n_features, k = h->k;
        if (h->qs) {
                hgb_qs_block(h, X, nb, raw, scratch);
                return;
        }
        if (!h->fast) {
                for (size_t b = 0; b < nb; b++)
                        hgb_raw(h, tree_input(h, X + b * nf, scratch), raw + b * k);
                return;
        }
        for (size_t b = 0; b < nb; b++)
                memcpy(raw + b * k, h->baseline, k * sizeof(double));
        uint32_t pos[HGB_BLOCK];
        if (nb < HGB_FEW_ROWS) {
                /* iteration by iteration, tree by tree is the trees' order */
                size_t n = h->n_iter * k;
                for (size_t b = 0; b < nb; b++)
                        for (size_t t = 0; t < n; t += HGB_GROUP) {
                                size_t ng = n - t < HGB_GROUP ? n - t : HGB_GROUP;
                                fast_group_leaves(h, t, ng, X + b * nf, pos);
                                for (size_t g = 0; g < ng; g++)
                                        raw[b * k + (t + g) % k] +=
                                                h->fast_value[h->node_start[t + g] + pos[g]];
                        }
                return;
        }
        for (size_t i = 0; i < h->n_iter; i++)
                for (size_t j = 0; j < k; j++) {
                        size_t t = i * k + j;
                        const double *value = h->fast_value + h->node_start[t];
                        fast_leaves(h, t, X, nf, nb, pos);
                        for (size_t b = 0; b < nb; b++)
                                raw[b * k + j] += value[pos[b]];
                }
}

static int hgb_decision(const struct model *m, const double *X, size_t rows,
                        double *out, struct model_error *err)
{
        const struct hgb *h = (const struct hgb *)m;
        double *scratch = malloc(hgb_scratch_doubles(h) * sizeof(double));
        if (!scratch) {
                model_set_error(err, "out of memory");
                return -ENOMEM;
        }
        for (size_t r0 = 0; r0 < rows; r0 += HGB_BLOCK) {
                size_t nb = rows - r0 < HGB_BLOCK ? rows - r0 : HGB_BLOCK;
                hgb_raw_block(h, X + r0 * m->n_features, nb, out + r0 * h->k, scratch);
        }
        free(scratch);
        return 0;
}

static int hgb_regress(const struct model *m, const double *X, size_t rows,
                       double *out, struct model_error *err)
{
        const struct hgb *h = (const struct hgb *)m;
        int rc = hgb_decision(m, X, rows, out, err);
        if (rc < 0)
                return rc;
        if (h->link == MODEL_HGB_LOG)
                for (size_t r = 0; r < rows; r++)
                        out[r] = exp(out[r]);
        return 0;
}

static int hgb_classify(const struct model *m, const double *X, size_t rows,
                        size_t *class_idx, double *proba, struct model_error *err)
{
        const struct hgb *h = (const struct hgb *)m;
        size_t nc = m->n_classes;
        double *block = malloc((HGB_BLOCK * h->k + nc + hgb_scratch_doubles(h)) * sizeof(double));
        if (!block) {
                model_set_error(err, "out of memory");
                return -ENOMEM;
        }
        double *p = block + HGB_BLOCK * h->k, *scratch = p + nc;
        for (size_t r = 0; r < rows; r++) {
                size_t b = r % HGB_BLOCK;
                if (!b)
                        hgb_raw_block(h, X + r * m->n_features,
                                      rows - r < HGB_BLOCK ? rows - r : HGB_BLOCK, block,
                                      scratch);
                const double *raw = block + b * h->k;
                if (h->link == MODEL_HGB_LOGIT) {
                        /* HalfBinomialLoss.predict_proba */
                        p[1] = model_expit(raw[0]);
                        p[0] = 1.0 - p[1];
                        class_idx[r] = h->predict_from_proba ? model_np_argmax(p, 2)
                                                             : (raw[0] > 0.0 ? 1 : 0);
                } else {
                        memcpy(p, raw, nc * sizeof(double));
                        model_softmax_row(p, nc);
                        class_idx[r] = model_np_argmax(h->predict_from_proba ? p : raw, nc);
                }
                if (proba)
                        memcpy(proba + r * nc, p, nc * sizeof(double));
        }
        free(block);
        return 0;
}

static void hgb_describe(const struct model *m, char *buf, size_t len)
{
        const struct hgb *h = (const struct hgb *)m;
        snprintf(buf, len, "%s[%zu iterations x %zu trees]", m->ops->name, h->n_iter, h->k);
}

static void hgb_destroy(struct model *m)
{
        struct hgb *h = (struct hgb *)m;
        model_base_release(m);
        free(h->baseline);
        free(h->nodes);
        free(h->node_start);
        free(h->bitsets);
        free(h->bitset_start);
        free(h->f_idx_map);
        if (h->inputs)
                for (size_t f = 0; f < m->n_features; f++) {
                        free((void *)h->inputs[f].cats);
                        if (h->cat_index)
                                free(h->cat_index[f]);
                }
        free(h->inputs);
        free(h->cat_index);
        free(h->fast);
        free(h->fast_value);
        qs_free(h->qs);
        tl_free(h->tl);
        free(h);
}

static const struct model_ops hgb_reg_ops = {
        .name = "HistGradientBoostingRegressor",
        .regress = hgb_regress,
        .describe = hgb_describe,
        .destroy = hgb_destroy,
};

static const struct model_ops hgb_clf_ops = {
        .name = "HistGradientBoostingClassifier",
        .classify = hgb_classify,
        .decision = hgb_decision,
        .describe = hgb_describe,
        .destroy = hgb_destroy,
};

/* Every walk must end: children after their parent, inside the tree;
 * features, bitsets and categorical features inside their tables. */
static int check_tree(const char *who, const struct model_hgb_params *p, size_t t,
                      struct model_error *err)
{
        const struct model_hgb_tree *tr = &p->trees[t];
        if (tr->n_nodes == 0 || !tr->nodes) {
                model_set_error(err, "%s: predictor %zu has no nodes", who, t);
                return -EINVAL;
        }
        for (size_t i = 0; i < tr->n_nodes; i++) {
                const struct model_hgb_node *n = &tr->nodes[i];
                if (n->is_leaf) {
                        if (!isfinite(n->value)) {
                                model_set_error(err, "%s: predictor %zu, node %zu: leaf value "
                                                "is not finite", who, t, i);
                                return -EINVAL;
                        }
                        continue;
                }
                if (n->left <= i || n->left >= tr->n_nodes || n->right <= i ||
                    n->right >= tr->n_nodes) {
                        model_set_error(err, "%s: predictor %zu, node %zu: children %u/%u are "
                                        "not later nodes in [%zu, %zu)", who, t, i,
                                        (unsigned)n->left, (unsigned)n->right, i + 1,
                                        tr->n_nodes);
                        return -EINVAL;
                }
                if (n->feature >= p->n_features) {
                        model_set_error(err, "%s: predictor %zu, node %zu: feature %u outside "
                                        "[0, %zu)", who, t, i, (unsigned)n->feature,
                                        p->n_features);
                        return -EINVAL;
                }
                if (n->is_categorical) {
                        if (n->bitset_idx >= tr->n_bitsets) {
                                model_set_error(err, "%s: predictor %zu, node %zu: bitset %u "
                                                "outside [0, %zu)", who, t, i,
                                                (unsigned)n->bitset_idx, tr->n_bitsets);
                                return -EINVAL;
                        }
                        if (!p->f_idx_map || p->f_idx_map[n->feature] >= p->n_cat) {
                                model_set_error(err, "%s: predictor %zu, node %zu: feature %u "
                                                "is not categorical", who, t, i,
                                                (unsigned)n->feature);
                                return -EINVAL;
                        }
                } else if (isnan(n->num_threshold)) {
                        model_set_error(err, "%s: predictor %zu, node %zu: threshold is NaN",
                                        who, t, i);
                        return -EINVAL;
                }
        }
        return 0;
}

static int check_params(const struct model_hgb_params *p, const struct model_ops *ops,
                        size_t n_classes, struct model_error *err)
{
        size_t want_k = p->link == MODEL_HGB_SOFTMAX ? n_classes : 1;
        bool classifier = p->link == MODEL_HGB_LOGIT || p->link == MODEL_HGB_SOFTMAX;
        if ((unsigned)p->link > MODEL_HGB_SOFTMAX || p->n_features == 0 ||
            p->n_features > UINT32_MAX) {
                model_set_error(err, "%s: bad link or %zu features", ops->name, p->n_features);
                return -EINVAL;
        }
        if (p->n_iter == 0 || p->k != want_k ||
            (classifier ? (p->link == MODEL_HGB_LOGIT ? n_classes != 2 : n_classes < 3)
                        : n_classes != 0) ||
            p->n_iter > SIZE_MAX / p->k) {
                model_set_error(err, "%s: %zu iterations of %zu trees for %zu classes do "
                                "not fit its loss", ops->name, p->n_iter, p->k, n_classes);
                return -EINVAL;
        }
        for (size_t j = 0; j < p->k; j++)
                if (!isfinite(p->baseline[j])) {
                        model_set_error(err, "%s: baseline prediction %zu is not finite",
                                        ops->name, j);
                        return -EINVAL;
                }
        for (size_t f = 0; p->inputs && f < p->n_features; f++) {
                const struct model_hgb_input *in = &p->inputs[f];
                bool sorted = !in->n_cats ||
                              (in->cats && (in->strings || !isnan(in->cats[0])));
                for (size_t c = 1; sorted && !in->strings && c < in->n_cats; c++)
                        sorted = in->cats[c - 1] < in->cats[c];
                for (size_t c = 0; in->strings && c < in->n_cats; c++) {
                        uint64_t code;
                        sorted = sorted && model_string_code_of(in->cats[c], &code);
                }
                if (in->src >= p->n_features || (in->categorical && !sorted)) {
                        model_set_error(err, "%s: input %zu: column %u outside [0, %zu) or "
                                        "categories not sorted", ops->name, f,
                                        (unsigned)in->src, p->n_features);
                        return -EINVAL;
                }
        }
        for (size_t t = 0; t < p->n_iter * p->k; t++) {
                int rc = check_tree(ops->name, p, t, err);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

/* Sums of sizes checked against overflow: a + b into *acc. */
static bool add_size(size_t *acc, size_t b)
{
        if (*acc > SIZE_MAX - b)
                return false;
        *acc += b;
        return true;
}

/* Input f's string cells c[0..n) become their codes, sorted, with each
 * one's categories_ position in cat_index[f]; -EINVAL when a string is
 * listed twice, -ENOMEM. */
static int string_keys(struct hgb *h, size_t f, double *c, size_t n)
{
        if (!h->cat_index && !(h->cat_index = calloc(h->base.n_features, sizeof(size_t *))))
                return -ENOMEM;
        if (!(h->cat_index[f] = malloc((n ? n : 1) * sizeof(size_t))))
                return -ENOMEM;
        for (size_t k = 0; k < n; k++) {
                uint64_t code = 0;
                model_string_code_of(c[k], &code);
                c[k] = (double)code;
        }
        return model_sort_keys(c, h->cat_index[f], n);
}

/* The input columns string inputs read hold strings. */
static int hgb_kinds(struct model *m, const struct model_hgb_params *p,
                     struct model_error *err)
{
        bool any = false;
        for (size_t f = 0; p->inputs && f < p->n_features; f++)
                any |= p->inputs[f].strings;
        if (!any)
                return 0;
        uint8_t *kin = calloc(m->n_features, 1);
        if (!kin) {
                model_set_error(err, "%s: out of memory", m->ops->name);
                return -ENOMEM;
        }
        for (size_t f = 0; f < p->n_features; f++)
                if (p->inputs[f].strings)
                        kin[p->inputs[f].src] = MODEL_COLUMN_STRING;
        int rc = model_set_kinds(m, kin, NULL, err);
        free(kin);
        return rc;
}

/* Fills h->fast from h->nodes when the model qualifies (see struct hgb);
 * leaves it NULL otherwise, and on a failed allocation (the plain walk
 * gives the same answers). */
static void hgb_fast_build(struct hgb *h, const struct model_hgb_params *p, size_t total)
{
        size_t n_trees = p->n_iter * p->k;
        if (p->inputs || p->n_features > ~HFAST_MISSING_LEFT)
                return;
        for (size_t i = 0; i < total; i++)
                if (h->nodes[i].is_categorical)
                        return;
        for (size_t t = 0; t < n_trees; t++)
                for (size_t i = 0; i < p->trees[t].n_nodes; i++)
                        if (!p->trees[t].nodes[i].is_leaf && p->trees[t].nodes[i].left != i + 1)
                                return;
        struct hfast *fast = malloc(total * sizeof(*fast));
        double *value = malloc(total * sizeof(*value));
        if (!fast || !value) {
                free(fast);
                free(value);
                return;
        }
        for (size_t i = 0; i < total; i++)
                value[i] = h->nodes[i].value;
        for (size_t t = 0; t < n_trees; t++) {
                const struct hnode *src = h->nodes + h->node_start[t];
                struct hfast *dst = fast + h->node_start[t];
                for (size_t i = 0; i < p->trees[t].n_nodes; i++)
                        dst[i] = src[i].is_leaf
                                         ? (struct hfast){ NAN, 0, (uint32_t)i }
                                         : (struct hfast){ src[i].num_threshold,
                                                           src[i].feature |
                                                                   (src[i].missing_go_to_left
                                                                            ? HFAST_MISSING_LEFT
                                                                            : 0),
                                                           src[i].right };
        }
        h->fast = fast;
        h->fast_value = value;
}

/* h->qs from the trees when no split is categorical and every tree has at
 * most 64 leaves (else the walks serve them); 0 either way, or -ENOMEM. */
static int hgb_qs_build(struct hgb *h, const struct model_hgb_params *p, size_t total)
{
        size_t n_trees = p->n_iter * p->k;
        for (size_t i = 0; i < total; i++)
                if (h->nodes[i].is_categorical)
                        return 0;
        struct qs_node *nodes = malloc(total * sizeof(*nodes));
        size_t *start = malloc((n_trees + 1) * sizeof(*start));
        int rc = -ENOMEM;
        if (nodes && start) {
                /* h->nodes holds the trees one after another */
                memcpy(start, h->node_start, n_trees * sizeof(*start));
                start[n_trees] = total;
                for (size_t i = 0; i < total; i++) {
                        const struct hnode *src = &h->nodes[i];
                        nodes[i] = (struct qs_node){
                                .left = src->is_leaf ? -1 : (int32_t)src->left,
                                .right = src->is_leaf ? -1 : (int32_t)src->right,
                                .feature = src->is_leaf ? 0 : (int32_t)src->feature,
                                .missing_left = src->missing_go_to_left,
                                .threshold = src->num_threshold,
                                .value = src->value,
                        };
                }
                rc = qs_build(p->n_features, n_trees, nodes, start, &h->qs);
                if (rc == 0 && h->qs)
                        rc = tl_build64(p->n_features, n_trees, nodes, start, &h->tl);
        }
        free(nodes);
        free(start);
        return rc;
}

int model_hgb_create(const struct model_hgb_params *p,
                     const struct model_label *classes, size_t n_classes,
                     struct model **out, struct model_error *err)
{
        bool classifier = p->link == MODEL_HGB_LOGIT || p->link == MODEL_HGB_SOFTMAX;
        const struct model_ops *ops = classifier ? &hgb_clf_ops : &hgb_reg_ops;
        int rc = check_params(p, ops, n_classes, err);
        if (rc < 0)
                return rc;
        size_t n_trees = p->n_iter * p->k, total_nodes = 0, total_sets = 0;
        for (size_t t = 0; t < n_trees; t++)
                if (!add_size(&total_nodes, p->trees[t].n_nodes) ||
                    !add_size(&total_sets, p->trees[t].n_bitsets))
                        goto nomem;
        if (!add_size(&total_sets, p->n_cat) || total_nodes > SIZE_MAX / sizeof(struct hnode) ||
            total_sets > SIZE_MAX / (BITSET_WORDS * sizeof(uint32_t)))
                goto nomem;
        struct hgb *h = calloc(1, sizeof(*h));
        if (!h)
                goto nomem;
        h->base.ops = ops;
        h->base.n_features = p->n_features; /* hgb_destroy reads it */
        h->baseline = malloc(p->k * sizeof(double));
        h->nodes = malloc(total_nodes * sizeof(*h->nodes));
        h->node_start = malloc(n_trees * sizeof(size_t));
        h->bitsets = malloc((total_sets ? total_sets : 1) * BITSET_WORDS * sizeof(uint32_t));
        h->bitset_start = malloc(n_trees * sizeof(size_t));
        h->f_idx_map = malloc(p->n_features * sizeof(uint32_t));
        if (!h->baseline || !h->nodes || !h->node_start || !h->bitsets || !h->bitset_start ||
            !h->f_idx_map) {
                hgb_destroy(&h->base);
                goto nomem;
        }
        memcpy(h->baseline, p->baseline, p->k * sizeof(double));
        size_t ni = 0, si = 0;
        for (size_t t = 0; t < n_trees; t++) {
                const struct model_hgb_tree *tr = &p->trees[t];
                h->node_start[t] = ni;
                h->bitset_start[t] = si;
                for (size_t i = 0; i < tr->n_nodes; i++, ni++) {
                        const struct model_hgb_node *s = &tr->nodes[i];
                        h->nodes[ni] = (struct hnode){
                                .value = s->value,
                                .num_threshold = s->num_threshold,
                                .feature = s->feature,
                                .left = s->left,
                                .right = s->right,
                                .bitset_idx = s->bitset_idx,
                                .is_leaf = s->is_leaf,
                                .missing_go_to_left = s->missing_go_to_left,
                                .is_categorical = s->is_categorical,
                        };
                }
                if (tr->n_bitsets)
                        memcpy(h->bitsets + si * BITSET_WORDS, tr->left_cat_bitsets,
                               tr->n_bitsets * BITSET_WORDS * sizeof(uint32_t));
                si += tr->n_bitsets;
        }
        h->known_start = si;
        if (hgb_qs_build(h, p, total_nodes) < 0) {
                hgb_destroy(&h->base);
                model_set_error(err, "%s: out of memory", ops->name);
                return -ENOMEM;
        }
        if (!h->qs) /* the bit vectors serve every row when there are some */
                hgb_fast_build(h, p, total_nodes);
        if (p->n_cat)
                memcpy(h->bitsets + si * BITSET_WORDS, p->known_cat_bitsets,
                       p->n_cat * BITSET_WORDS * sizeof(uint32_t));
        for (size_t f = 0; f < p->n_features; f++)
                h->f_idx_map[f] = p->f_idx_map ? p->f_idx_map[f] : UINT32_MAX;
        if (p->inputs) {
                h->inputs = calloc(p->n_features, sizeof(*h->inputs));
                if (!h->inputs) {
                        hgb_destroy(&h->base);
                        goto nomem;
                }
                for (size_t f = 0; f < p->n_features; f++) {
                        struct model_hgb_input *in = &h->inputs[f];
                        *in = p->inputs[f];
                        in->cats = NULL;
                        if (!in->categorical || !in->n_cats)
                                continue;
                        double *c = malloc(in->n_cats * sizeof(double));
                        if (!c) {
                                hgb_destroy(&h->base);
                                goto nomem;
                        }
                        memcpy(c, p->inputs[f].cats, in->n_cats * sizeof(double));
                        in->cats = c;
                        if (in->strings && (rc = string_keys(h, f, c, in->n_cats)) < 0) {
                                hgb_destroy(&h->base);
                                if (rc == -ENOMEM)
                                        goto nomem;
                                model_set_error(err, "%s: input %zu: a category is listed "
                                                "twice", ops->name, f);
                                return rc;
                        }
                }
        }
        h->n_iter = p->n_iter;
        h->k = p->k;
        h->link = p->link;
        h->predict_from_proba = p->predict_from_proba;
        rc = model_base_init(&h->base, ops,
                             classifier ? MODEL_TYPE_CLASSIFIER : MODEL_TYPE_REGRESSOR,
                             p->n_features, classes, n_classes, err);
        if (rc < 0) {
                hgb_destroy(&h->base);
                return rc;
        }
        if ((rc = hgb_kinds(&h->base, p, err)) < 0) {
                hgb_destroy(&h->base);
                return rc;
        }
        h->base.has_proba = classifier;
        h->base.accepts_nan = true;
        h->base.n_outputs = classifier ? 0 : 1;
        h->base.decision_width = classifier ? p->k : 0;
        *out = &h->base;
        return 0;
nomem:
        model_set_error(err, "%s: out of memory", ops->name);
        return -ENOMEM;
}

/* --- isolation forest ------------------------------------------------ */

/* Like tree.c's trees, isolation trees compare X cast to float32. Each
 * node keeps the term a row ending there adds to depths, summed as
 * scikit-learn sums it: (path length + average path length) - 1. */
struct inode {
        double threshold;
        double term;
        int32_t left, right, feature;
        bool missing_left;
};

struct iforest {
        struct model base;
        size_t n_trees;
        struct inode *nodes;    /* every tree's nodes, one after another */
        size_t *node_start;     /* n_trees */
        uint32_t *columns;      /* n_trees x n_features: tree column -> X column */
        size_t *tree_width;     /* n_trees */
        double denominator;     /* n_trees * c(max_samples) */
        double offset;
        bool nan_routed;        /* NaN follows missing_left (1.9) */
};

double model_iforest_average_path_length(double n)
{
        if (n <= 1)
                return 0.0;
        if (n == 2)
                return 1.0;
        const double euler_gamma = 0.57721566490153286060651209008240243;
        return 2.0 * (log(n - 1.0) + euler_gamma) - 2.0 * (n - 1.0) / n;
}

/* Row r of X cast to float32 into xf, or -EINVAL when it does not fit
 * float32 or holds NaN that the version refuses (before 1.9). */
static int iforest_cast(const struct iforest *f, const double *x, size_t r, float *xf,
                        struct model_error *err)
{
        size_t nf = f->base.n_features;
        for (size_t j = 0; j < nf; j++) {
                xf[j] = (float)x[j];
                if ((isnan(x[j]) && !f->nan_routed) || (isinf(xf[j]) && !isinf(x[j]))) {
                        model_set_error(err, "row %zu, feature %zu: %.17g is NaN or too "
                                        "large for float32, which trees compare in",
                                        r, j, x[j]);
                        return -EINVAL;
                }
        }
        return 0;
}

/* Rows walked together, tree by tree, and levels between two checks that
 * all have reached a leaf. */
#define IFOREST_BLOCK 64
#define IFOREST_CHECK_EVERY 4

/* depths[b] += the term of the leaf row b of xf (nb rows of nf floats)
 * reaches in tree t. All rows walk one level at a time, the side chosen
 * with a mask rather than a branch (a leaf's children are both -1, so a
 * row there stays), until every row is at a leaf. */
static void iforest_tree_add(const struct iforest *f, size_t t, const float *xf, size_t nb,
                             double *depths)
{
        size_t nf = f->base.n_features;
        const struct inode *nodes = f->nodes + f->node_start[t];
        const uint32_t *col = f->columns + t * nf;
        int32_t pos[IFOREST_BLOCK];
        for (size_t b = 0; b < nb; b++)
                pos[b] = 0;
        for (;;) {
                for (size_t d = 0; d < IFOREST_CHECK_EVERY; d++)
                        for (size_t b = 0; b < nb; b++) {
                                const struct inode *n = &nodes[pos[b]];
                                double v = xf[b * nf + col[n->feature]];
                                bool left = (v <= n->threshold) | (isnan(v) & n->missing_left);
                                int32_t go_right = (int32_t)left - 1;
                                int32_t next = n->left ^ ((n->left ^ n->right) & go_right);
                                pos[b] = next < 0 ? pos[b] : next;
                        }
                size_t at_leaf = 0;
                for (size_t b = 0; b < nb; b++)
                        at_leaf += nodes[pos[b]].left < 0;
                if (at_leaf == nb)
                        break;
        }
        for (size_t b = 0; b < nb; b++)
                depths[b] += nodes[pos[b]].term;
}

/* score_samples (-score) minus shift: offset_ for decision_function, 0
 * for score_samples itself (x - 0 is x, so both round as sklearn's).
 * Each row adds its trees' terms in tree order, as scikit-learn does. */
static int iforest_shifted(const struct model *m, const double *X, size_t rows,
                           double shift, double *out, struct model_error *err)
{
        const struct iforest *f = (const struct iforest *)m;
        size_t nf = m->n_features, bs = rows < IFOREST_BLOCK ? (rows ? rows : 1) : IFOREST_BLOCK;
        float *xf = malloc(bs * nf * sizeof(float));
        if (!xf) {
                model_set_error(err, "out of memory");
                return -ENOMEM;
        }
        double depths[IFOREST_BLOCK];
        for (size_t r0 = 0; r0 < rows; r0 += bs) {
                size_t nb = rows - r0 < bs ? rows - r0 : bs;
                for (size_t b = 0; b < nb; b++) {
                        int rc = iforest_cast(f, X + (r0 + b) * nf, r0 + b, xf + b * nf, err);
                        if (rc < 0) {
                                free(xf);
                                return rc;
                        }
                        depths[b] = 0.0;
                }
                for (size_t t = 0; t < f->n_trees; t++)
                        iforest_tree_add(f, t, xf, nb, depths);
                for (size_t b = 0; b < nb; b++) {
                        /* np.divide(..., where=denominator != 0) leaves 1 where
                         * it is 0 */
                        double ratio = f->denominator != 0 ? depths[b] / f->denominator : 1.0;
                        double score = pow(2.0, -ratio);
                        out[r0 + b] = -score - shift;
                }
        }
        free(xf);
        return 0;
}

static int iforest_score_samples(const struct model *m, const double *X, size_t rows,
                                 double *out, struct model_error *err)
{
        return iforest_shifted(m, X, rows, 0.0, out, err);
}

/* decision_function: score_samples - offset_ */
static int iforest_decision(const struct model *m, const double *X, size_t rows,
                            double *out, struct model_error *err)
{
        return iforest_shifted(m, X, rows, ((const struct iforest *)m)->offset, out, err);
}

static int iforest_predict(const struct model *m, const double *X, size_t rows,
                           double *out, struct model_error *err)
{
        int rc = iforest_decision(m, X, rows, out, err);
        if (rc < 0)
                return rc;
        for (size_t r = 0; r < rows; r++)
                out[r] = out[r] < 0 ? -1.0 : 1.0;
        return 0;
}

static void iforest_describe(const struct model *m, char *buf, size_t len)
{
        const struct iforest *f = (const struct iforest *)m;
        snprintf(buf, len, "IsolationForest[%zu trees]", f->n_trees);
}

static void iforest_destroy(struct model *m)
{
        struct iforest *f = (struct iforest *)m;
        model_base_release(m);
        free(f->nodes);
        free(f->node_start);
        free(f->columns);
        free(f->tree_width);
        free(f);
}

static const struct model_ops iforest_ops = {
        .name = "IsolationForest",
        .regress = iforest_predict,
        .decision = iforest_decision,
        .score = iforest_score_samples,
        .describe = iforest_describe,
        .destroy = iforest_destroy,
};

static int check_itree(size_t n_features, const struct model_iforest_tree *tr, size_t t,
                       struct model_error *err)
{
        if (tr->n_nodes == 0 || tr->n_nodes > INT32_MAX || tr->n_features == 0 ||
            tr->n_features > n_features) {
                model_set_error(err, "IsolationForest: tree %zu has %zu nodes over %zu of "
                                "%zu features", t, tr->n_nodes, tr->n_features, n_features);
                return -EINVAL;
        }
        for (size_t j = 0; tr->features && j < tr->n_features; j++)
                if (tr->features[j] < 0 || (uint64_t)tr->features[j] >= n_features) {
                        model_set_error(err, "IsolationForest: tree %zu reads feature %lld "
                                        "outside [0, %zu)", t, (long long)tr->features[j],
                                        n_features);
                        return -EINVAL;
                }
        for (size_t i = 0; i < tr->n_nodes; i++) {
                const struct model_tree_node *n = &tr->nodes[i];
                if (!isfinite(tr->path_length[i]) || !isfinite(tr->avg_path_length[i])) {
                        model_set_error(err, "IsolationForest: tree %zu, node %zu: path "
                                        "length is not finite", t, i);
                        return -EINVAL;
                }
                if (n->left == -1)
                        continue;
                if (n->left <= (int64_t)i || n->left >= (int64_t)tr->n_nodes ||
                    n->right <= (int64_t)i || n->right >= (int64_t)tr->n_nodes ||
                    n->feature < 0 || n->feature >= (int64_t)tr->n_features ||
                    isnan(n->threshold)) {
                        model_set_error(err, "IsolationForest: tree %zu, node %zu: children "
                                        "%lld/%lld or feature %lld out of range", t, i,
                                        (long long)n->left, (long long)n->right,
                                        (long long)n->feature);
                        return -EINVAL;
                }
        }
        return 0;
}

int model_iforest_create(size_t n_features, const struct model_iforest_tree *trees,
                         size_t n_trees, double max_samples, double offset,
                         struct model **out, struct model_error *err)
{
        if (n_trees == 0 || n_features == 0 || n_features > INT32_MAX ||
            n_trees > SIZE_MAX / n_features / sizeof(uint32_t) || !isfinite(offset) ||
            !isfinite(max_samples)) {
                model_set_error(err, "IsolationForest: %zu trees over %zu features, offset "
                                "%g", n_trees, n_features, offset);
                return -EINVAL;
        }
        size_t total = 0;
        for (size_t t = 0; t < n_trees; t++) {
                if (!trees[t].missing_go_to_left != !trees[0].missing_go_to_left) {
                        model_set_error(err, "IsolationForest: tree %zu %s missing_go_to_left "
                                        "unlike tree 0", t,
                                        trees[t].missing_go_to_left ? "has" : "lacks");
                        return -EINVAL;
                }
                int rc = check_itree(n_features, &trees[t], t, err);
                if (rc < 0)
                        return rc;
                if (!add_size(&total, trees[t].n_nodes))
                        goto nomem;
        }
        if (total > SIZE_MAX / sizeof(struct inode))
                goto nomem;
        struct iforest *f = calloc(1, sizeof(*f));
        if (!f)
                goto nomem;
        f->base.ops = &iforest_ops;
        f->nodes = malloc(total * sizeof(*f->nodes));
        f->node_start = malloc(n_trees * sizeof(size_t));
        f->columns = malloc(n_trees * n_features * sizeof(uint32_t));
        f->tree_width = malloc(n_trees * sizeof(size_t));
        if (!f->nodes || !f->node_start || !f->columns || !f->tree_width) {
                iforest_destroy(&f->base);
                goto nomem;
        }
        size_t ni = 0;
        for (size_t t = 0; t < n_trees; t++) {
                const struct model_iforest_tree *tr = &trees[t];
                f->node_start[t] = ni;
                f->tree_width[t] = tr->n_features;
                for (size_t j = 0; j < n_features; j++)
                        f->columns[t * n_features + j] =
                                j < tr->n_features ? (uint32_t)(tr->features ? tr->features[j]
                                                                              : (int64_t)j)
                                                   : 0;
                for (size_t i = 0; i < tr->n_nodes; i++, ni++) {
                        const struct model_tree_node *s = &tr->nodes[i];
                        f->nodes[ni] = (struct inode){
                                .threshold = s->threshold,
                                .term = tr->path_length[i] + tr->avg_path_length[i] - 1.0,
                                /* a leaf (left -1) gets right -1 and feature 0
                                 * whatever the file says: iforest_tree_add
                                 * reads them and must stay put */
                                .left = (int32_t)s->left,
                                .right = s->left == -1 ? -1 : (int32_t)s->right,
                                .feature = s->left == -1 ? 0 : (int32_t)s->feature,
                                .missing_left = s->left != -1 && tr->missing_go_to_left &&
                                                tr->missing_go_to_left[i],
                        };
                }
        }
        f->n_trees = n_trees;
        f->denominator = (double)n_trees * model_iforest_average_path_length(max_samples);
        f->offset = offset;
        f->nan_routed = trees[0].missing_go_to_left != NULL;
        int rc = model_base_init(&f->base, &iforest_ops, MODEL_TYPE_REGRESSOR, n_features,
                                 NULL, 0, err);
        if (rc < 0) {
                iforest_destroy(&f->base);
                return rc;
        }
        f->base.n_outputs = 1;
        f->base.decision_width = 1;
        f->base.has_score = true;
        f->base.accepts_nan = f->nan_routed;
        *out = &f->base;
        return 0;
nomem:
        model_set_error(err, "IsolationForest: out of memory");
        return -ENOMEM;
}
