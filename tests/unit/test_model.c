/* test_model.c - model/ refuses inconsistent parts and follows the input
 * rules scikit-learn applies (float32 casts for trees). Numbers against
 * scikit-learn are the end-to-end tests' job. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "model_build.h"
#include "tap.h"

static const struct model_label int_labels[3] = {
        { MODEL_LABEL_INT, { .i = 0 } },
        { MODEL_LABEL_INT, { .i = 1 } },
        { MODEL_LABEL_INT, { .i = 2 } },
};

/* A stump on feature 0 at threshold 0.5: left is class 0, right class 1. */
static int stump(double threshold, struct model **out, struct model_error *e)
{
        const struct model_tree_node nodes[3] = {
                { 1, 2, 0, threshold }, { -1, -1, -2, -2.0 }, { -1, -1, -2, -2.0 },
        };
        const double values[6] = { 5, 5, 5, 0, 0, 5 };
        return model_tree_create(2, 3, nodes, values, 2, true, int_labels, out, e);
}

static bool ordinal_words_in_english(void)
{
        static const struct {
                size_t n;
                const char *want;
        } cases[] = { { 0, "0th" },     { 1, "1st" },     { 2, "2nd" },   { 3, "3rd" },
                      { 4, "4th" },     { 11, "11th" },   { 12, "12th" }, { 13, "13th" },
                      { 21, "21st" },   { 22, "22nd" },   { 23, "23rd" }, { 101, "101st" },
                      { 111, "111th" }, { 112, "112th" }, { 213, "213th" },
                      { 1002, "1002nd" },
                      { SIZE_MAX, "18446744073709551615th" } };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char buf[MODEL_ORDINAL_SIZE];
                EXPECT(strcmp(model_ordinal(cases[i].n, buf), cases[i].want) == 0);
        }
        return true;
}

static bool tree_backward_child_refused(void)
{
        const struct model_tree_node nodes[2] = { { 1, 0, 0, 0.5 }, { -1, -1, -2, -2.0 } };
        const double values[4] = { 1, 1, 1, 0 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_tree_create(2, 2, nodes, values, 2, true, int_labels, &m, &e) == -EINVAL);
        EXPECT(m == NULL);
        EXPECT_CONTAINS(e.message, "children");
        return true;
}

static bool tree_feature_out_of_range_refused(void)
{
        const struct model_tree_node nodes[3] = {
                { 1, 2, 7, 0.5 }, { -1, -1, -2, -2.0 }, { -1, -1, -2, -2.0 },
        };
        const double values[6] = { 1, 1, 1, 0, 0, 1 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_tree_create(2, 3, nodes, values, 2, true, int_labels, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "feature 7");
        return true;
}

static bool tree_compares_in_float32(void)
{
        struct model *m = NULL;
        struct model_error e;
        EXPECT(stump(0.5, &m, &e) == 0);
        /* 0.5 + 1e-12 is above the threshold as a double but rounds to
         * 0.5 as float32, so scikit-learn sends it left. */
        double x[2] = { 0.5 + 1e-12, 0.0 };
        size_t idx = 9;
        double p[2];
        EXPECT(model_predict(m, x, 1, &idx, p, &e) == 0);
        EXPECT(idx == 0);
        EXPECT(p[0] == 1.0 && p[1] == 0.0);
        x[0] = 0.5000001; /* the next float32 up from 0.5 is 0.50000006 */
        EXPECT(model_predict(m, x, 1, &idx, p, &e) == 0);
        EXPECT(idx == 1);
        model_free(m);
        return true;
}

/* The tree keeps a float32 threshold; for every float32 input within 32
 * steps of each threshold (exact float32 values, doubles between two
 * float32s, subnormals, around +-FLT_MAX, huge and infinite thresholds,
 * and 20,000 pseudo-random doubles), the stump's side must be the one the
 * float64 comparison (double)f <= t that scikit-learn makes gives. */
static bool tree_float32_threshold_same_side_as_float64(void)
{
        enum { SPAN = 32, N = 2 * SPAN + 1, RANDOM = 20000 };
        double fixed[] = { 0.5, 0.5 + 1e-12, 0.5 - 1e-12, 0.1, -0.1, 0.0, -0.0, 1e-40,
                           -1e-40, 1e-45, -1e-45, 1e-300, -1e-300, 3.0e38, FLT_MAX,
                           (double)FLT_MAX * (1 + 1e-9), -(double)FLT_MAX * (1 + 1e-9), 1e300,
                           -1e300, INFINITY, -INFINITY, 16777217.0, -16777217.0, 1.0 / 3 };
        size_t nfix = sizeof(fixed) / sizeof(fixed[0]);
        double x[2 * N];
        size_t idx[N];
        uint64_t seed = 0x9e3779b97f4a7c15u;
        for (size_t k = 0; k < nfix + RANDOM; k++) {
                double t;
                if (k < nfix) {
                        t = fixed[k];
                } else {
                        seed = seed * 6364136223846793005u + 1442695040888963407u;
                        /* random sign, exponent in [-60, 60), mantissa */
                        double mant = (double)(seed >> 11) / 9007199254740992.0;
                        int ex = (int)((seed >> 3) % 120) - 60;
                        t = ldexp(0.5 + mant / 2, ex) * ((seed & 1) ? -1 : 1);
                }
                if (isinf(t))
                        continue; /* scikit-learn never stores one; covered by +-1e300 */
                struct model *m = NULL;
                struct model_error e;
                EXPECT(stump(t, &m, &e) == 0);
                float f = (float)t;
                for (int i = 0; i < SPAN; i++)
                        f = nextafterf(f, -INFINITY);
                float fs[N];
                for (int i = 0; i < N; i++) {
                        fs[i] = f;
                        x[2 * i] = isinf(f) ? (f > 0 ? FLT_MAX : -FLT_MAX) : (double)f;
                        x[2 * i + 1] = 0.0;
                        f = nextafterf(f, INFINITY);
                }
                EXPECT(model_predict(m, x, N, idx, NULL, &e) == 0);
                for (int i = 0; i < N; i++) {
                        size_t want = x[2 * i] <= t ? 0 : 1;
                        if (idx[i] != want) {
                                fprintf(stderr, "# threshold %.17g, input %.9g: went %zu, "
                                        "float64 says %zu\n", t, (double)fs[i], idx[i], want);
                                model_free(m);
                                return false;
                        }
                }
                model_free(m);
        }
        return true;
}

static bool tree_float32_overflow_refused(void)
{
        struct model *m = NULL;
        struct model_error e;
        EXPECT(stump(0.5, &m, &e) == 0);
        double x[2] = { 1e39, 0.0 };
        size_t idx;
        double p[2];
        EXPECT(model_predict(m, x, 1, &idx, p, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "float32");
        model_free(m);
        return true;
}

static bool forest_mixed_widths_refused(void)
{
        struct model *t[2] = { NULL, NULL }, *f = NULL;
        struct model_error e;
        EXPECT(stump(0.5, &t[0], &e) == 0);
        const struct model_tree_node nodes[1] = { { -1, -1, -2, -2.0 } };
        const double values[3] = { 1, 1, 1 };
        EXPECT(model_tree_create(2, 1, nodes, values, 3, true, NULL, &t[1], &e) == 0);
        EXPECT(model_forest_create(t, 2, int_labels, 2, &f, &e) == -EINVAL);
        EXPECT(f == NULL);
        EXPECT_CONTAINS(e.message, "tree 1");
        return true;
}

/* A regression stump on feature 0: left leaf values l[], right r[]. */
static int reg_stump(double threshold, size_t n_outputs, const double *l,
                     const double *r, struct model **out, struct model_error *e)
{
        const struct model_tree_node nodes[3] = {
                { 1, 2, 0, threshold }, { -1, -1, -2, -2.0 }, { -1, -1, -2, -2.0 },
        };
        double values[3 * 4] = { 0 };
        for (size_t k = 0; k < n_outputs && k < 4; k++) {
                values[n_outputs + k] = l[k];
                values[2 * n_outputs + k] = r[k];
        }
        return model_tree_regressor_create(2, 3, nodes, values, n_outputs, out, e);
}

static bool reg_tree_multi_output_returns_leaf_values(void)
{
        const double l[2] = { -1.5, 7.0 }, r[2] = { 2.5, -3.0 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(reg_stump(0.5, 2, l, r, &m, &e) == 0);
        EXPECT(model_get_type(m) == MODEL_TYPE_REGRESSOR && model_n_outputs(m) == 2);
        /* 0.5 + 1e-12 rounds to 0.5 in float32: left, as in scikit-learn */
        double x[4] = { 0.5 + 1e-12, 0.0, 0.5000001, 0.0 }, y[4];
        EXPECT(model_predict_values(m, x, 2, y, &e) == 0);
        EXPECT(y[0] == -1.5 && y[1] == 7.0 && y[2] == 2.5 && y[3] == -3.0);
        model_free(m);
        return true;
}

/* A leaf is a node whose left child is -1, whatever its right says: a
 * forest's rows walked in lockstep must stop there too. Node 1 is a leaf
 * (class 0) whose right field names node 3 (class 1). */
static bool forest_leaf_with_right_child_stops(void)
{
        const struct model_tree_node nodes[5] = {
                { 1, 2, 0, 0.5 }, { -1, 3, 0, -2.0 }, { 3, 4, 0, 1.5 },
                { -1, -1, -2, -2.0 }, { -1, -1, -2, -2.0 },
        };
        const double values[10] = { 1, 1, 4, 0, 1, 1, 0, 4, 3, 0 };
        struct model *t[1] = { NULL }, *f = NULL;
        struct model_error e;
        EXPECT(model_tree_create(2, 5, nodes, values, 2, true, NULL, &t[0], &e) == 0);
        EXPECT(model_forest_create(t, 1, int_labels, 2, &f, &e) == 0);
        double x[6] = { 0.0, 0.0, 1.0, 0.0, 2.0, 0.0 };
        size_t idx[3];
        EXPECT(model_predict(f, x, 3, idx, NULL, &e) == 0);
        EXPECT(idx[0] == 0 && idx[1] == 1 && idx[2] == 0);
        model_free(f);
        return true;
}

/* A chain of 64 leaves on feature 0: split j (node 2j) sends x <= j + 0.5
 * to leaf j (node 2j + 1), the rest on; the last split's right is leaf
 * 63. Leaf j holds 2 samples of class j % 2, except mixed[k], which holds
 * chain_mixed[k] of each class: probabilities of class 1 chain_p1[k].
 * Without normalize the leaves hold those fractions, as files from
 * scikit-learn 1.4 on do. */
static const double chain_mixed[4][2] = { { 1, 3 }, { 3, 1 }, { 1, 1 }, { 1, 7 } };
static const double chain_p1[4] = { 0.75, 0.25, 0.5, 0.875 };
enum { CHAIN_LEAVES = 64, CHAIN_NODES = 2 * CHAIN_LEAVES - 1 };
static int chain_tree(const int *mixed, size_t n_mixed, bool normalize, struct model **out,
                      struct model_error *e)
{
        struct model_tree_node nodes[CHAIN_NODES];
        double values[2 * CHAIN_NODES];
        for (int i = 0; i < CHAIN_NODES; i++) {
                int leaf = i % 2 ? i / 2 : i == CHAIN_NODES - 1 ? CHAIN_LEAVES - 1 : -1;
                if (leaf < 0)
                        nodes[i] = (struct model_tree_node){ i + 1, i + 2, 0, i / 2 + 0.5 };
                else
                        nodes[i] = (struct model_tree_node){ -1, -1, -2, -2.0 };
                double pure = normalize ? 2 : 1;
                values[2 * i] = leaf < 0 ? 4 : leaf % 2 ? 0 : pure;
                values[2 * i + 1] = leaf < 0 ? 4 : leaf % 2 ? pure : 0;
                for (size_t k = 0; k < n_mixed; k++)
                        if (leaf == mixed[k]) {
                                values[2 * i] = normalize ? chain_mixed[k][0] : 1 - chain_p1[k];
                                values[2 * i + 1] = normalize ? chain_mixed[k][1] : chain_p1[k];
                        }
        }
        return model_tree_create(2, CHAIN_NODES, nodes, values, 2, normalize, NULL, out, e);
}

/* A forest of one chain tree answers every leaf's probabilities: with two
 * mixed leaves in 64 (its tables keep only the mixed leaves' rows) and
 * with four (every row), on 64 rows at once and on one, built with and
 * without a slab, from counts and from fractions; the slab outlives its
 * close until the forest is freed. A forest's tree has no classify of
 * its own. */
static bool forest_leaf_tables(void)
{
        static const int mixed[4] = { 5, 20, 40, 63 };
        for (int variant = 0; variant < 8; variant++) {
                size_t n_mixed = variant & 1 ? 4 : 2;
                struct model_slab *slab = variant & 2 ? model_slab_open(1 << 20) : NULL;
                struct model *t[1] = { NULL }, *f = NULL;
                struct model_error e;
                EXPECT(chain_tree(mixed, n_mixed, !(variant & 4), &t[0], &e) == 0);
                double one[2] = { 0.0, 0.0 };
                size_t idx[CHAIN_LEAVES];
                EXPECT(model_predict(t[0], one, 1, idx, NULL, &e) == -EINVAL);
                EXPECT_CONTAINS(e.message, "not a classifier of its own");
                EXPECT(model_forest_create(t, 1, int_labels, 2, &f, &e) == 0);
                model_slab_close(slab);
                double x[2 * CHAIN_LEAVES], p[2 * CHAIN_LEAVES];
                for (int j = 0; j < CHAIN_LEAVES; j++) {
                        x[2 * j] = j;
                        x[2 * j + 1] = 0.0;
                }
                for (int rows = 1; rows <= CHAIN_LEAVES; rows += CHAIN_LEAVES - 1) {
                        for (int j0 = 0; j0 + rows <= CHAIN_LEAVES; j0 += rows) {
                                EXPECT(model_predict(f, x + 2 * j0, (size_t)rows, idx, p, &e) ==
                                       0);
                                for (int r = 0; r < rows; r++) {
                                        int j = j0 + r;
                                        double want1 = j % 2 ? 1.0 : 0.0;
                                        for (size_t k = 0; k < n_mixed; k++)
                                                if (mixed[k] == j)
                                                        want1 = chain_p1[k];
                                        if (p[2 * r] != 1.0 - want1 || p[2 * r + 1] != want1) {
                                                fprintf(stderr, "# variant %d, leaf %d: %g %g\n",
                                                        variant, j, p[2 * r], p[2 * r + 1]);
                                                return false;
                                        }
                                        EXPECT(idx[r] == (want1 > 0.5 ? 1u : 0u));
                                }
                        }
                }
                model_free(f);
        }
        return true;
}

static bool forest_regressor_averages_in_order(void)
{
        const double l0[1] = { 1.0 }, r0[1] = { 2.0 }, l1[1] = { 4.0 }, r1[1] = { 8.0 };
        struct model *t[2] = { NULL, NULL }, *f = NULL;
        struct model_error e;
        EXPECT(reg_stump(0.5, 1, l0, r0, &t[0], &e) == 0);
        EXPECT(reg_stump(0.5, 1, l1, r1, &t[1], &e) == 0);
        EXPECT(model_forest_kind_create(MODEL_FOREST_EXTRA_REGRESSOR, t, 2, NULL, 0, &f, &e) ==
               0);
        double x[4] = { 0.0, 0.0, 1.0, 0.0 }, y[2];
        EXPECT(model_predict_values(f, x, 2, y, &e) == 0);
        EXPECT(y[0] == 2.5 && y[1] == 5.0);
        char buf[64];
        model_describe(f, buf, sizeof(buf));
        EXPECT_CONTAINS(buf, "ExtraTreesRegressor");
        model_free(f);
        return true;
}

static bool forest_regressor_classifier_tree_refused(void)
{
        struct model *t[1] = { NULL }, *f = NULL;
        struct model_error e;
        EXPECT(stump(0.5, &t[0], &e) == 0);
        EXPECT(model_forest_kind_create(MODEL_FOREST_RANDOM_REGRESSOR, t, 1, NULL, 0, &f, &e) ==
               -EINVAL);
        EXPECT(f == NULL);
        EXPECT_CONTAINS(e.message, "expected DecisionTreeRegressor");
        return true;
}

/* A binomial ensemble of one stage whose raw value is exactly 0 on the
 * left: scikit-learn < 1.4 predicts argmax([0.5, 0.5]) = class 0, 1.4+
 * predicts raw >= 0 = class 1. */
static bool gb_binary_tie_follows_version(void)
{
        for (int legacy = 0; legacy <= 1; legacy++) {
                const double l[1] = { 0.0 }, r[1] = { 1.0 };
                struct model *t[1] = { NULL }, *m = NULL;
                struct model_error e;
                EXPECT(reg_stump(0.5, 1, l, r, &t[0], &e) == 0);
                struct model_gb_params p = { .loss = MODEL_GB_BINOMIAL, .learning_rate = 0.1,
                                             .n_stages = 1, .k = 1, .legacy = legacy };
                EXPECT(model_gb_create(&p, t, int_labels, 2, &m, &e) == 0);
                double x[2] = { 0.0, 0.0 }, proba[2], raw;
                size_t idx = 9;
                EXPECT(model_predict(m, x, 1, &idx, proba, &e) == 0);
                EXPECT(idx == (legacy ? 0u : 1u));
                EXPECT(proba[0] == 0.5 && proba[1] == 0.5);
                EXPECT(model_decision_function(m, x, 1, &raw, &e) == 0 && raw == 0.0);
                model_free(m);
        }
        return true;
}

static bool gb_prior_is_clipped_to_float32_eps(void)
{
        const double l[1] = { 0.0 }, r[1] = { 0.0 }, prior[2] = { 0.0, 1.0 };
        struct model *t[1] = { NULL }, *m = NULL;
        struct model_error e;
        EXPECT(reg_stump(0.5, 1, l, r, &t[0], &e) == 0);
        struct model_gb_params p = { .loss = MODEL_GB_BINOMIAL, .learning_rate = 1.0,
                                     .n_stages = 1, .k = 1, .init = prior };
        EXPECT(model_gb_create(&p, t, int_labels, 2, &m, &e) == 0);
        double x[2] = { 0.0, 0.0 }, raw;
        EXPECT(model_decision_function(m, x, 1, &raw, &e) == 0);
        const double eps = 1.1920928955078125e-07; /* np.finfo(np.float32).eps */
        EXPECT(raw == log((1.0 - eps) / eps));
        model_free(m);
        return true;
}

static bool gb_trees_per_stage_mismatch_refused(void)
{
        const double l[1] = { 0.0 }, r[1] = { 1.0 };
        struct model *t[1] = { NULL }, *m = NULL;
        struct model_error e;
        EXPECT(reg_stump(0.5, 1, l, r, &t[0], &e) == 0);
        struct model_gb_params p = { .loss = MODEL_GB_MULTINOMIAL, .learning_rate = 0.1,
                                     .n_stages = 1, .k = 1 };
        EXPECT(model_gb_create(&p, t, int_labels, 3, &m, &e) == -EINVAL);
        EXPECT(m == NULL);
        EXPECT_CONTAINS(e.message, "1 trees per stage for 3 classes");
        return true;
}

static bool logreg_shape_mismatch_refused(void)
{
        double coef[8] = { 0 }, icpt[2] = { 0 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_logreg_create(4, 2, coef, icpt, MODEL_LOGREG_OVR, int_labels, 3, &m, &e) ==
               -EINVAL);
        EXPECT_CONTAINS(e.message, "2 rows for 3 classes");
        return true;
}

static bool logreg_binary_probabilities_sum_to_one(void)
{
        double coef[2] = { 1.0, -2.0 }, icpt[1] = { 0.25 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_logreg_create(2, 1, coef, icpt, MODEL_LOGREG_OVR, int_labels, 2, &m, &e) ==
               0);
        double x[2] = { 3.0, 1.0 }; /* decision 1.25 > 0: class 1 */
        size_t idx;
        double p[2];
        EXPECT(model_predict(m, x, 1, &idx, p, &e) == 0);
        EXPECT(idx == 1);
        EXPECT(p[1] == 1.0 / (1.0 + exp(-1.25)));
        EXPECT(p[0] == 1.0 - p[1]);
        model_free(m);
        return true;
}

static bool linear_regressor_two_targets_values(void)
{
        /* rows are targets: y0 = 2a - b + 1, y1 = 0.5b - 3 */
        double coef[4] = { 2.0, -1.0, 0.0, 0.5 }, icpt[2] = { 1.0, -3.0 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_linear_regressor_create("Ridge", 2, 2, coef, icpt, &m, &e) == 0);
        EXPECT(model_get_type(m) == MODEL_TYPE_REGRESSOR);
        EXPECT(model_n_outputs(m) == 2);
        EXPECT(model_decision_width(m) == 0);
        double x[4] = { 1.0, 4.0, -2.0, 0.0 }, y[4];
        EXPECT(model_predict_values(m, x, 2, y, &e) == 0);
        EXPECT(y[0] == -1.0 && y[1] == -1.0 && y[2] == -3.0 && y[3] == -3.0);
        size_t idx;
        EXPECT(model_predict(m, x, 1, &idx, NULL, &e) == -ENOTSUP);
        EXPECT_CONTAINS(e.message, "Ridge");
        model_free(m);
        return true;
}

static bool linear_regressor_without_features_refused(void)
{
        double coef[1] = { 0 }, icpt[1] = { 0 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_linear_regressor_create("Lasso", 0, 1, coef, icpt, &m, &e) == -EINVAL);
        EXPECT(m == NULL);
        EXPECT_CONTAINS(e.message, "Lasso");
        return true;
}

/* Three classes whose decision values are all -2 for x = (1): */
static int all_negative(enum model_linear_proba proba, struct model **m,
                        struct model_error *e)
{
        static const double coef[3] = { -1.0, -1.0, -1.0 }, icpt[3] = { -1.0, -1.0, -1.0 };
        return model_linear_classifier_create("SGDClassifier", 1, 3, coef, icpt, proba,
                                              int_labels, 3, m, e);
}

static bool linear_modified_huber_all_zero_row_uniform(void)
{
        struct model *m = NULL;
        struct model_error e;
        EXPECT(all_negative(MODEL_LINEAR_MODIFIED_HUBER, &m, &e) == 0);
        double x[2] = { 1.0, -1.5 }, p[6];
        size_t idx[2];
        EXPECT(model_predict(m, x, 2, idx, p, &e) == 0);
        EXPECT(idx[0] == 0);
        EXPECT(p[0] == 1.0 / 3.0 && p[1] == 1.0 / 3.0 && p[2] == 1.0 / 3.0);
        /* d = 0.5 for every class: (0.5 + 1) / 2 each, normalised */
        EXPECT(p[3] == 0.75 / 2.25 && p[5] == 0.75 / 2.25);
        model_free(m);
        return true;
}

static bool linear_ovr_underflow_nan_before_1_9_uniform_after(void)
{
        static const double coef[3] = { -1.0, -1.0, -1.0 }, icpt[3] = { 0, 0, 0 };
        struct model *old = NULL, *new = NULL;
        struct model_error e;
        EXPECT(model_linear_classifier_create("SGDClassifier", 1, 3, coef, icpt,
                                              MODEL_LINEAR_OVR, int_labels, 3, &old, &e) == 0);
        EXPECT(model_linear_classifier_create("SGDClassifier", 1, 3, coef, icpt,
                                              MODEL_LINEAR_OVR_UNIFORM, int_labels, 3, &new,
                                              &e) == 0);
        double x[1] = { 1000.0 }, p[3]; /* expit(-1000) == 0 */
        size_t idx;
        EXPECT(model_predict(old, x, 1, &idx, p, &e) == 0);
        EXPECT(isnan(p[0]) && isnan(p[2]));
        EXPECT(model_predict(new, x, 1, &idx, p, &e) == 0);
        EXPECT(p[0] == 1.0 / 3.0 && p[2] == 1.0 / 3.0);
        model_free(old);
        model_free(new);
        return true;
}

static bool linear_margin_classifier_has_no_proba(void)
{
        double coef[2] = { 1.0, -1.0 }, icpt[1] = { 0.0 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_linear_classifier_create("LinearSVC", 2, 1, coef, icpt,
                                              MODEL_LINEAR_NO_PROBA, int_labels, 2, &m,
                                              &e) == 0);
        EXPECT(!model_has_proba(m));
        EXPECT(model_decision_width(m) == 1);
        double x[4] = { 1.0, 1.0, 1.0, 0.5 }, d[2];
        size_t idx[2];
        double p[4] = { -7, -7, -7, -7 };
        /* decision 0 is not > 0: class 0, as scikit-learn */
        EXPECT(model_predict(m, x, 2, idx, p, &e) == 0);
        EXPECT(idx[0] == 0 && idx[1] == 1 && p[0] == -7);
        EXPECT(model_decision_function(m, x, 2, d, &e) == 0);
        EXPECT(d[0] == 0.0 && d[1] == 0.5);
        char buf[80];
        model_describe(m, buf, sizeof(buf));
        EXPECT_CONTAINS(buf, "LinearSVC");
        model_free(m);
        return true;
}

static bool pipeline_width_mismatch_refused(void)
{
        double mean[3] = { 0, 0, 0 }, scale[3] = { 1, 1, 1 };
        struct model *steps[2] = { NULL, NULL }, *p = NULL;
        struct model_error e;
        EXPECT(model_scaler_create(3, mean, scale, &steps[0], &e) == 0);
        EXPECT(stump(0.5, &steps[1], &e) == 0);
        const char *names[2] = { "scale", "clf" };
        EXPECT(model_pipeline_create(steps, names, 2, &p, &e) == -EINVAL);
        EXPECT(p == NULL);
        EXPECT_CONTAINS(e.message, "expects 2 features");
        return true;
}

/* A one-target regressor is 1-D unless marked as fitted on y (n, 1); the
 * mark is for regressors only, and two targets are 2-D anyway. */
static bool outputs_2d_marks_regressors_only(void)
{
        double coef[2] = { 1, 2 }, icpt[2] = { 0, 0 };
        struct model *one = NULL, *two = NULL, *scaler = NULL;
        struct model_error e;
        EXPECT(model_linear_regressor_create("L", 1, 1, coef, icpt, &one, &e) == 0);
        EXPECT(model_linear_regressor_create("L", 1, 2, coef, icpt, &two, &e) == 0);
        EXPECT(model_scaler_create(1, coef, coef + 1, &scaler, &e) == 0);
        EXPECT(!model_outputs_2d(one) && model_outputs_2d(two));
        model_set_outputs_2d(one, true);
        model_set_outputs_2d(scaler, true);
        EXPECT(model_outputs_2d(one) && !model_outputs_2d(scaler));
        model_free(one);
        model_free(two);
        model_free(scaler);
        return true;
}

static bool transformer_has_no_predict(void)
{
        double mean[2] = { 0, 0 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_scaler_create(2, mean, NULL, &m, &e) == 0);
        double x[2] = { 1, 2 };
        size_t idx;
        EXPECT(model_predict(m, x, 1, &idx, NULL, &e) == -ENOTSUP);
        EXPECT_CONTAINS(e.message, "StandardScaler");
        model_free(m);
        model_free(NULL);
        return true;
}

/* Two binary logistic outputs over 2 features: each output answers
 * with its own classes; one output, or outputs of other widths, are
 * refused. */
static bool multioutput_answers_per_output(void)
{
        double coef_a[2] = { 1, 0 }, coef_b[2] = { 0, -1 }, icpt[1] = { 0 };
        struct model_label la[2] = { { MODEL_LABEL_INT, { .i = 0 } },
                                     { MODEL_LABEL_INT, { .i = 1 } } };
        struct model_label lb[2] = { { MODEL_LABEL_STR, { .s = "no" } },
                                     { MODEL_LABEL_STR, { .s = "yes" } } };
        struct model *outs[2] = { NULL, NULL }, *m = NULL, *narrow = NULL;
        struct model_error e;
        EXPECT(model_logreg_create(2, 1, coef_a, icpt, MODEL_LOGREG_OVR, la, 2, &outs[0], &e) == 0);
        EXPECT(model_logreg_create(2, 1, coef_b, icpt, MODEL_LOGREG_OVR, lb, 2, &outs[1], &e) == 0);
        EXPECT(model_multioutput_create("test", outs, 2, &m, &e) == 0);
        EXPECT(model_get_type(m) == MODEL_TYPE_MULTI_CLASSIFIER && model_n_class_outputs(m) == 2);
        EXPECT(model_n_classes(model_output_classes(m, 1)) == 2);
        EXPECT(model_class_label(model_output_classes(m, 1), 1)->type == MODEL_LABEL_STR);
        double X[2] = { 3, 3 }, p[2];
        size_t idx = 9;
        EXPECT(model_predict_output(m, 0, X, 1, &idx, p, &e) == 0 && idx == 1);
        EXPECT(model_predict_output(m, 1, X, 1, &idx, p, &e) == 0 && idx == 0);
        EXPECT(model_predict_output(m, 2, X, 1, &idx, p, &e) == -ENOTSUP);
        EXPECT(model_predict(m, X, 1, &idx, p, &e) == -ENOTSUP);
        model_free(m);

        double coef_c[1] = { 1 };
        EXPECT(model_logreg_create(2, 1, coef_a, icpt, MODEL_LOGREG_OVR, la, 2, &outs[0], &e) == 0);
        EXPECT(model_logreg_create(1, 1, coef_c, icpt, MODEL_LOGREG_OVR, la, 2, &narrow, &e) == 0);
        outs[1] = narrow;
        EXPECT(model_multioutput_create("test", outs, 2, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "output 1 is not a classifier of 2 features");
        EXPECT(model_logreg_create(2, 1, coef_a, icpt, MODEL_LOGREG_OVR, la, 2, &outs[0], &e) == 0);
        EXPECT(model_multioutput_create("test", outs, 1, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "expected 2 outputs or more");
        return true;
}

TAP_MAIN(CASE(tree_backward_child_refused),
         CASE(ordinal_words_in_english),
         CASE(tree_feature_out_of_range_refused),
         CASE(tree_compares_in_float32),
         CASE(tree_float32_threshold_same_side_as_float64),
         CASE(forest_leaf_tables),
         CASE(tree_float32_overflow_refused),
         CASE(forest_mixed_widths_refused),
         CASE(reg_tree_multi_output_returns_leaf_values),
         CASE(forest_leaf_with_right_child_stops),
         CASE(forest_regressor_averages_in_order),
         CASE(forest_regressor_classifier_tree_refused),
         CASE(gb_binary_tie_follows_version),
         CASE(gb_prior_is_clipped_to_float32_eps),
         CASE(gb_trees_per_stage_mismatch_refused),
         CASE(logreg_shape_mismatch_refused),
         CASE(logreg_binary_probabilities_sum_to_one),
         CASE(linear_regressor_two_targets_values),
         CASE(linear_regressor_without_features_refused),
         CASE(linear_modified_huber_all_zero_row_uniform),
         CASE(linear_ovr_underflow_nan_before_1_9_uniform_after),
         CASE(linear_margin_classifier_has_no_proba),
         CASE(pipeline_width_mismatch_refused),
         CASE(transformer_has_no_predict),
         CASE(outputs_2d_marks_regressors_only), CASE(multioutput_answers_per_output))
