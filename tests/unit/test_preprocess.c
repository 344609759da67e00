/* test_preprocess.c - the transformers of model/preprocess.c refuse
 * inconsistent parts and lay out their columns as scikit-learn does
 * (PolynomialFeatures' powers_ order, KBinsDiscretizer's right-closed
 * bins, SimpleImputer's dropped columns). Numbers against scikit-learn
 * are the end-to-end matrix's job. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "model_build.h"
#include "tap.h"

static bool poly_columns_follow_powers_order(void)
{
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_poly_create(2, 0, 2, false, true, 1000, &m, &e) == 0);
        EXPECT(model_transform_width(m) == 6);
        double x[2] = { 2, 3 }, out[6];
        EXPECT(model_transform(m, x, 1, out, &e) == 0);
        /* 1, a, b, a^2, ab, b^2 */
        const double want[6] = { 1, 2, 3, 4, 6, 9 };
        for (int i = 0; i < 6; i++)
                EXPECT(out[i] == want[i]);
        model_free(m);
        return true;
}

static bool poly_interaction_only_min_degree(void)
{
        struct model *m = NULL;
        struct model_error e;
        /* degree (2, 3), interactions of 3 features, no bias */
        EXPECT(model_poly_create(3, 2, 3, true, false, 1000, &m, &e) == 0);
        EXPECT(model_transform_width(m) == 4);
        double x[3] = { 2, 3, 5 }, out[4];
        EXPECT(model_transform(m, x, 1, out, &e) == 0);
        const double want[4] = { 6, 10, 15, 30 }; /* ab, ac, bc, abc */
        for (int i = 0; i < 4; i++)
                EXPECT(out[i] == want[i]);
        model_free(m);
        return true;
}

static bool poly_too_many_or_no_columns_refused(void)
{
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_poly_create(100, 0, 4, false, true, 10000, &m, &e) == -E2BIG);
        EXPECT(m == NULL);
        EXPECT_CONTAINS(e.message, "more than 10000");
        /* degree (3, 3) of interactions needs 3 features */
        EXPECT(model_poly_create(2, 3, 3, true, false, 1000, &m, &e) == -EINVAL);
        EXPECT(m == NULL);
        EXPECT_CONTAINS(e.message, "give no output column");
        return true;
}

static bool select_empty_mask_refused(void)
{
        bool mask[3] = { false, false, false };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_select_create("VarianceThreshold", 3, mask, &m, &e) == -EINVAL);
        EXPECT(m == NULL);
        EXPECT_CONTAINS(e.message, "selects none of the 3");
        return true;
}

static bool select_describe_names_its_class(void)
{
        bool mask[3] = { true, false, true };
        struct model *m = NULL;
        struct model_error e;
        char buf[64];
        EXPECT(model_select_create("SelectFromModel", 3, mask, &m, &e) == 0);
        model_describe(m, buf, sizeof(buf));
        EXPECT_CONTAINS(buf, "SelectFromModel[2 of 3 features]");
        size_t idx;
        double x[3] = { 0, 0, 0 };
        EXPECT(model_predict(m, x, 1, &idx, NULL, &e) == -ENOTSUP);
        EXPECT_CONTAINS(e.message, "SelectFromModel is not a classifier");
        model_free(m);
        EXPECT(model_select_create("Lasso", 3, mask, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "found 'Lasso'");
        return true;
}

static bool imputer_drops_never_observed_column(void)
{
        const double stats[3] = { 1.5, NAN, -2 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_imputer_create(3, stats, true, NAN, false, NULL, 0, &m, &e) == 0);
        EXPECT(model_transform_width(m) == 2);
        double x[3] = { NAN, 7, NAN }, out[2];
        EXPECT(model_transform(m, x, 1, out, &e) == 0);
        EXPECT(out[0] == 1.5 && out[1] == -2);
        model_free(m);
        /* keep_empty_features keeps it, filled with what fit stored */
        EXPECT(model_imputer_create(3, stats, true, NAN, true, NULL, 0, &m, &e) == 0);
        EXPECT(model_transform_width(m) == 3);
        model_free(m);
        return true;
}

static bool imputer_numeric_missing_value(void)
{
        const double stats[2] = { 4, 5 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_imputer_create(2, stats, false, -1, false, NULL, 0, &m, &e) == 0);
        double x[2] = { -1, 3 }, out[2];
        EXPECT(model_transform(m, x, 1, out, &e) == 0);
        EXPECT(out[0] == 4 && out[1] == 3);
        model_free(m);
        return true;
}

static bool imputer_indicator_columns_follow(void)
{
        const double stats[3] = { 1, NAN, 3 };
        const size_t ind[2] = { 0, 1 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_imputer_create(3, stats, true, NAN, false, ind, 2, &m, &e) == 0);
        EXPECT(model_transform_width(m) == 4);
        double x[3] = { NAN, NAN, 7 }, out[4];
        EXPECT(model_transform(m, x, 1, out, &e) == 0);
        /* the dropped column still has its indicator */
        EXPECT(out[0] == 1 && out[1] == 7 && out[2] == 1 && out[3] == 1);
        model_free(m);
        const size_t bad[2] = { 1, 1 };
        EXPECT(model_imputer_create(3, stats, true, NAN, false, bad, 2, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "expected increasing indices below 3");
        return true;
}

static bool imputer_all_columns_empty_refused(void)
{
        const double stats[2] = { NAN, NAN };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_imputer_create(2, stats, true, NAN, false, NULL, 0, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "no column is left");
        return true;
}

static bool kbins_edge_value_goes_right(void)
{
        const size_t off[3] = { 0, 4, 6 };
        const double edges[6] = { 0, 1, 2, 3, /* feature 1 */ 0, 10 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_kbins_create(2, off, edges, false, false, &m, &e) == 0);
        double x[8] = { 1, 5, -4, 99, 2.5, 0, 100, -1 }, out[8];
        EXPECT(model_transform(m, x, 4, out, &e) == 0);
        const double want[8] = { 1, 0, 0, 0, 2, 0, 2, 0 };
        for (int i = 0; i < 8; i++)
                EXPECT(out[i] == want[i]);
        model_free(m);
        EXPECT(model_kbins_create(2, off, edges, false, true, &m, &e) == 0);
        EXPECT(model_transform_width(m) == 4);
        double oh[4];
        EXPECT(model_transform(m, x, 1, oh, &e) == 0);
        EXPECT(oh[0] == 0 && oh[1] == 1 && oh[2] == 0 && oh[3] == 1);
        model_free(m);
        return true;
}

static bool kbins_tolerance_before_1_1(void)
{
        const size_t off[2] = { 0, 4 };
        const double edges[4] = { 0, 1, 2, 3 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_kbins_create(1, off, edges, true, false, &m, &e) == 0);
        /* just below an edge is nudged into the next bin; past the last
         * edge is clipped into the last bin */
        double x[4] = { 1 - 1e-9, 0.5, 2 - 1e-4, 7 }, out[4];
        EXPECT(model_transform(m, x, 4, out, &e) == 0);
        EXPECT(out[0] == 1 && out[1] == 0 && out[2] == 1 && out[3] == 2);
        model_free(m);
        return true;
}

static bool kbins_unsorted_edges_refused(void)
{
        const size_t off[2] = { 0, 3 };
        const double edges[3] = { 0, 2, 1 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_kbins_create(1, off, edges, false, false, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "not sorted");
        return true;
}

static bool minmax_clip_keeps_nan(void)
{
        const double scale[2] = { 2, 2 }, min[2] = { 0, 0 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_minmax_create(2, scale, min, true, 0, 1, &m, &e) == 0);
        double x[2] = { NAN, 3 }, out[2];
        EXPECT(model_transform(m, x, 1, out, &e) == 0);
        EXPECT(isnan(out[0]) && out[1] == 1);
        model_free(m);
        return true;
}

static bool pca_whiten_zero_variance(void)
{
        const double comp[2] = { 1, 0 }, mean[2] = { 0, 0 }, var[1] = { 0 };
        struct model *m = NULL;
        struct model_error e;
        /* before 1.5 a zero variance divides by zero: refused */
        EXPECT(model_projection_create("PCA", 2, 1, comp, mean, false, var, false, &m, &e) ==
               -EINVAL);
        EXPECT_CONTAINS(e.message, "explained_variance_[0]");
        /* 1.5+ raises the scale to eps */
        EXPECT(model_projection_create("PCA", 2, 1, comp, mean, true, var, true, &m, &e) == 0);
        double x[2] = { 1, 5 }, out[1];
        EXPECT(model_transform(m, x, 1, out, &e) == 0);
        EXPECT(out[0] == 1 / 2.220446049250313e-16);
        model_free(m);
        return true;
}

static bool normalizer_zero_row_unchanged(void)
{
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_normalizer_create(2, MODEL_NORM_MAX, &m, &e) == 0);
        double x[4] = { 0, 0, -4, 2 }, out[4];
        EXPECT(model_transform(m, x, 2, out, &e) == 0);
        EXPECT(out[0] == 0 && out[1] == 0 && out[2] == -1 && out[3] == 0.5);
        model_free(m);
        return true;
}

TAP_MAIN(CASE(poly_columns_follow_powers_order),
         CASE(poly_interaction_only_min_degree),
         CASE(poly_too_many_or_no_columns_refused),
         CASE(select_empty_mask_refused),
         CASE(select_describe_names_its_class),
         CASE(imputer_drops_never_observed_column),
         CASE(imputer_numeric_missing_value),
         CASE(imputer_indicator_columns_follow),
         CASE(imputer_all_columns_empty_refused),
         CASE(kbins_edge_value_goes_right),
         CASE(kbins_tolerance_before_1_1),
         CASE(kbins_unsorted_edges_refused),
         CASE(minmax_clip_keeps_nan),
         CASE(pca_whiten_zero_variance),
         CASE(normalizer_zero_row_unchanged))
