/* test_hist.c - model/hist.c: histogram gradient boosting routes values
 * as scikit-learn's predictor does (float64 compare, NaN, categories,
 * unknown categories) and refuses inconsistent parts; IsolationForest
 * checks its members. Numbers against scikit-learn are the end-to-end
 * tests' job. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "model_build.h"
#include "tap.h"

/* A stump: node 0 splits feature 0 (numerical at 0.5, or categorical with
 * left categories {1, 3}); leaves 1 (value -1) and 2 (value +1). */
static struct model_hgb_node stump_nodes[3] = {
        { .num_threshold = 0.5, .feature = 0, .left = 1, .right = 2 },
        { .value = -1.0, .is_leaf = true },
        { .value = 1.0, .is_leaf = true },
};
static const uint32_t left_cats[8] = { (1u << 1) | (1u << 3) };
static const uint32_t known_cats[8] = { (1u << 1) | (1u << 2) | (1u << 3) };
static const uint32_t f_idx_map[2] = { 0, UINT32_MAX };
static const double zero[1] = { 0.0 };

static int make_reg(bool categorical, bool missing_left, struct model **m,
                    struct model_error *e)
{
        stump_nodes[0].is_categorical = categorical;
        stump_nodes[0].missing_go_to_left = missing_left;
        struct model_hgb_tree tree = { 3, stump_nodes, categorical ? 1 : 0, left_cats };
        struct model_hgb_params p = {
                .link = MODEL_HGB_IDENTITY, .n_features = 2, .n_iter = 1, .k = 1,
                .baseline = zero, .trees = &tree,
                .n_cat = categorical ? 1 : 0, .known_cat_bitsets = known_cats,
                .f_idx_map = categorical ? f_idx_map : NULL,
        };
        return model_hgb_create(&p, NULL, 0, m, e);
}

static bool hgb_compares_in_float64(void)
{
        struct model *m = NULL;
        struct model_error e;
        EXPECT(make_reg(false, false, &m, &e) == 0);
        /* 0.5 + 1e-12 would round to 0.5 in float32; HGB keeps float64 */
        double X[4] = { 0.5, 0, 0.5 + 1e-12, 0 }, y[2];
        EXPECT(model_predict_values(m, X, 2, y, &e) == 0);
        EXPECT(y[0] == -1.0 && y[1] == 1.0);
        model_free(m);
        return true;
}

static bool hgb_nan_follows_missing_go_to_left(void)
{
        double X[2] = { NAN, 0 }, y;
        struct model_error e;
        for (int left = 0; left < 2; left++) {
                struct model *m = NULL;
                EXPECT(make_reg(false, left, &m, &e) == 0);
                EXPECT(model_predict_values(m, X, 1, &y, &e) == 0);
                EXPECT(y == (left ? -1.0 : 1.0));
                model_free(m);
        }
        return true;
}

static bool hgb_unknown_category_goes_with_missing(void)
{
        /* 1 and 3 left, 2 known and right; 5, -1 and NaN follow missing */
        double X[12] = { 1, 0, 2, 0, 3, 0, 5, 0, -1, 0, NAN, 0 }, y[6];
        struct model_error e;
        for (int left = 0; left < 2; left++) {
                struct model *m = NULL;
                double miss = left ? -1.0 : 1.0;
                EXPECT(make_reg(true, left, &m, &e) == 0);
                EXPECT(model_predict_values(m, X, 6, y, &e) == 0);
                EXPECT(y[0] == -1.0 && y[1] == 1.0 && y[2] == -1.0);
                EXPECT(y[3] == miss && y[4] == miss && y[5] == miss);
                model_free(m);
        }
        return true;
}

static bool hgb_category_past_255_wraps_like_a_byte_cast(void)
{
        struct model *m = NULL;
        struct model_error e;
        EXPECT(make_reg(true, false, &m, &e) == 0);
        double X[4] = { 257.0, 0, 3.9, 0 }, y[2]; /* reads as 1, then 3 */
        EXPECT(model_predict_values(m, X, 2, y, &e) == 0);
        EXPECT(y[0] == -1.0 && y[1] == -1.0);
        model_free(m);
        return true;
}

static bool hgb_backward_child_refused(void)
{
        struct model_hgb_node nodes[2] = {
                { .feature = 0, .left = 1, .right = 0 },
                { .is_leaf = true },
        };
        struct model_hgb_tree tree = { 2, nodes, 0, NULL };
        struct model_hgb_params p = { .link = MODEL_HGB_IDENTITY, .n_features = 1,
                                      .n_iter = 1, .k = 1, .baseline = zero, .trees = &tree };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_hgb_create(&p, NULL, 0, &m, &e) == -EINVAL);
        EXPECT(m == NULL);
        EXPECT_CONTAINS(e.message, "children");
        return true;
}

/* The categorical stump with node 0 changed to (feature, bitset_idx)
 * must be refused with a message containing want. */
static bool categorical_stump_refused(uint32_t feature, uint32_t bitset_idx,
                                      const char *want)
{
        stump_nodes[0].is_categorical = true;
        stump_nodes[0].feature = feature;
        stump_nodes[0].bitset_idx = bitset_idx;
        struct model_hgb_tree tree = { 3, stump_nodes, 1, left_cats };
        struct model_hgb_params p = {
                .link = MODEL_HGB_IDENTITY, .n_features = 2, .n_iter = 1, .k = 1,
                .baseline = zero, .trees = &tree, .n_cat = 1,
                .known_cat_bitsets = known_cats, .f_idx_map = f_idx_map,
        };
        struct model *m = NULL;
        struct model_error e;
        int rc = model_hgb_create(&p, NULL, 0, &m, &e);
        stump_nodes[0].feature = 0;
        stump_nodes[0].bitset_idx = 0;
        EXPECT(rc == -EINVAL);
        EXPECT(m == NULL);
        EXPECT_CONTAINS(e.message, want);
        return true;
}

static bool hgb_categorical_split_on_numerical_feature_refused(void)
{
        /* f_idx_map says feature 1 is numerical */
        return categorical_stump_refused(1, 0, "not categorical");
}

static bool hgb_bitset_out_of_range_refused(void)
{
        return categorical_stump_refused(0, 1, "bitset 1");
}

static const struct model_label int_labels[2] = {
        { MODEL_LABEL_INT, { .i = 0 } },
        { MODEL_LABEL_INT, { .i = 1 } },
};

/* raw 0: proba (0.5, 0.5); before 1.5 argmax(proba) gives class 0 and so
 * does raw > 0 after; a tiny positive raw differs only in rounding. */
static bool hgb_binary_predict_follows_version(void)
{
        struct model_hgb_node leaf = { .value = 1e-17, .is_leaf = true };
        struct model_hgb_tree tree = { 1, &leaf, 0, NULL };
        struct model_error e;
        for (int old = 0; old < 2; old++) {
                struct model_hgb_params p = { .link = MODEL_HGB_LOGIT, .n_features = 1,
                                              .n_iter = 1, .k = 1, .baseline = zero,
                                              .trees = &tree, .predict_from_proba = old };
                struct model *m = NULL;
                EXPECT(model_hgb_create(&p, int_labels, 2, &m, &e) == 0);
                double x = 0, proba[2];
                size_t idx = 9;
                EXPECT(model_predict(m, &x, 1, &idx, proba, &e) == 0);
                /* expit(1e-17) rounds to 0.5: argmax ties to 0; raw > 0 is 1 */
                EXPECT(proba[1] == 0.5);
                EXPECT(idx == (old ? 0u : 1u));
                model_free(m);
        }
        return true;
}

static bool hgb_wrong_trees_per_iteration_refused(void)
{
        struct model_hgb_node leaf = { .value = 0, .is_leaf = true };
        struct model_hgb_tree tree = { 1, &leaf, 0, NULL };
        struct model_hgb_params p = { .link = MODEL_HGB_SOFTMAX, .n_features = 1,
                                      .n_iter = 1, .k = 1, .baseline = zero, .trees = &tree };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_hgb_create(&p, int_labels, 2, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "do not fit");
        return true;
}

static bool hgb_encoded_input_unknown_is_nan(void)
{
        /* the trees see column 1 encoded: categories {10, 20, 30} -> 0..2 */
        struct model_hgb_node nodes[3] = {
                { .num_threshold = 0.5, .feature = 0, .left = 1, .right = 2,
                  .missing_go_to_left = true },
                { .value = -1.0, .is_leaf = true },
                { .value = 1.0, .is_leaf = true },
        };
        const double cats[3] = { 10, 20, 30 };
        struct model_hgb_input in[2] = { { .src = 1, .categorical = true, .n_cats = 3,
                                           .cats = cats },
                                         { .src = 0 } };
        struct model_hgb_tree tree = { 3, nodes, 0, NULL };
        struct model_hgb_params p = { .link = MODEL_HGB_IDENTITY, .n_features = 2,
                                      .n_iter = 1, .k = 1, .baseline = zero, .trees = &tree,
                                      .inputs = in };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_hgb_create(&p, NULL, 0, &m, &e) == 0);
        /* 10 -> 0 left; 20 -> 1 right; 15 unknown -> NaN -> left */
        double X[6] = { 0, 10, 0, 20, 0, 15 }, y[3];
        EXPECT(model_predict_values(m, X, 3, y, &e) == 0);
        EXPECT(y[0] == -1.0 && y[1] == 1.0 && y[2] == -1.0);
        model_free(m);
        return true;
}

static bool iforest_feature_outside_x_refused(void)
{
        const struct model_tree_node nodes[3] = {
                { 1, 2, 0, 0.5 }, { -1, -1, -2, -2.0 }, { -1, -1, -2, -2.0 },
        };
        const double pl[3] = { 1, 2, 2 }, apl[3] = { 0, 0, 0 };
        const int64_t feats[1] = { 4 };
        struct model_iforest_tree t = { .n_features = 1, .n_nodes = 3, .nodes = nodes,
                                        .path_length = pl, .avg_path_length = apl,
                                        .features = feats };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_iforest_create(2, &t, 1, 8, -0.5, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "feature 4");
        return true;
}

/* A stump whose left leaf is shallower: NaN goes by missing_go_to_left
 * when the trees carry it (1.9) and is refused otherwise. */
static bool iforest_nan_routed_only_with_missing_go_to_left(void)
{
        const struct model_tree_node nodes[3] = {
                { 1, 2, 0, 0.5 }, { -1, -1, -2, -2.0 }, { -1, -1, -2, -2.0 },
        };
        const double pl[3] = { 1, 2, 2 }, apl[3] = { 0, 0, 3 };
        const uint8_t to_left[3] = { 1, 0, 0 };
        struct model_error e;
        double nan_row = NAN, low = 0.0, d_nan, d_low;
        for (int routed = 0; routed < 2; routed++) {
                struct model_iforest_tree t = { .n_features = 1, .n_nodes = 3,
                                                .nodes = nodes, .path_length = pl,
                                                .avg_path_length = apl,
                                                .missing_go_to_left = routed ? to_left : NULL };
                struct model *m = NULL;
                EXPECT(model_iforest_create(1, &t, 1, 8, -0.5, &m, &e) == 0);
                if (routed) {
                        EXPECT(model_decision_function(m, &nan_row, 1, &d_nan, &e) == 0);
                        EXPECT(model_decision_function(m, &low, 1, &d_low, &e) == 0);
                        EXPECT(d_nan == d_low);
                } else {
                        EXPECT(model_decision_function(m, &nan_row, 1, &d_nan, &e) == -EINVAL);
                        EXPECT_CONTAINS(e.message, "NaN");
                }
                model_free(m);
        }
        return true;
}

/* One stump of 8 samples: score_samples is -2^(-depth / c(8)) with the
 * leaf's depth (path length 2 plus its average path length, minus 1),
 * and decision_function is score_samples - offset_, row by row. */
static bool iforest_score_samples_is_decision_plus_offset(void)
{
        const struct model_tree_node nodes[3] = {
                { 1, 2, 0, 0.5 }, { -1, -1, -2, -2.0 }, { -1, -1, -2, -2.0 },
        };
        const double pl[3] = { 1, 2, 2 }, apl[3] = { 0, 0, 1 };
        struct model_iforest_tree t = { .n_features = 1, .n_nodes = 3, .nodes = nodes,
                                        .path_length = pl, .avg_path_length = apl };
        struct model *m = NULL;
        struct model_error e;
        double x[2] = { 0.0, 1.0 }, s[2], d[2];
        EXPECT(model_iforest_create(1, &t, 1, 8, -0.375, &m, &e) == 0);
        EXPECT(model_has_score_samples(m));
        EXPECT(model_score_samples(m, x, 2, s, &e) == 0);
        EXPECT(model_decision_function(m, x, 2, d, &e) == 0);
        double c8 = model_iforest_average_path_length(8);
        EXPECT(s[0] == -pow(2.0, -1.0 / c8) && s[1] == -pow(2.0, -2.0 / c8));
        EXPECT(d[0] == s[0] + 0.375 && d[1] == s[1] + 0.375);
        /* NaN is refused by score_samples too before 1.9 */
        double nan_row = NAN;
        EXPECT(model_score_samples(m, &nan_row, 1, s, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "NaN");
        model_free(m);
        return true;
}

static bool iforest_average_path_length_edges(void)
{
        EXPECT(model_iforest_average_path_length(1) == 0.0);
        EXPECT(model_iforest_average_path_length(2) == 1.0);
        /* c(3) = 2 (ln 2 + gamma) - 4/3 */
        EXPECT(fabs(model_iforest_average_path_length(3) -
                    (2.0 * (log(2.0) + 0.5772156649015329) - 4.0 / 3.0)) < 1e-15);
        return true;
}

TAP_MAIN(CASE(hgb_compares_in_float64),
         CASE(hgb_nan_follows_missing_go_to_left),
         CASE(hgb_unknown_category_goes_with_missing),
         CASE(hgb_category_past_255_wraps_like_a_byte_cast),
         CASE(hgb_backward_child_refused),
         CASE(hgb_categorical_split_on_numerical_feature_refused),
         CASE(hgb_bitset_out_of_range_refused),
         CASE(hgb_binary_predict_follows_version),
         CASE(hgb_wrong_trees_per_iteration_refused),
         CASE(hgb_encoded_input_unknown_is_nan),
         CASE(iforest_feature_outside_x_refused),
         CASE(iforest_nan_routed_only_with_missing_go_to_left),
         CASE(iforest_score_samples_is_decision_plus_offset),
         CASE(iforest_average_path_length_edges))
