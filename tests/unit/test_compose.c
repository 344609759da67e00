/* test_compose.c - ColumnTransformer, FeatureUnion, the target inverse of
 * TransformedTargetRegressor and the numeric encoders over hand-made parts
 * whose outputs are known exactly, and what their constructors refuse
 * (under valgrind the refusals also show that parts handed over are
 * freed on failure). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "model.h"
#include "tap.h"

/* (x - mean) / scale over n features. */
static struct model *scaler(size_t n, const double *mean, const double *scale)
{
        struct model *m = NULL;
        struct model_error e;
        if (model_scaler_create(n, mean, scale, &m, &e) < 0)
                return NULL;
        return m;
}

static bool ct_parts_side_by_side_in_order(void)
{
        double mean[2] = { 1, 2 }, scale[2] = { 2, 4 };
        struct model *parts[2] = { scaler(2, mean, scale), NULL }, *m = NULL;
        /* part 0 reads columns 2 and 0; part 1 passes column 1 through */
        size_t cols[3] = { 2, 0, 1 }, offsets[3] = { 0, 2, 3 };
        double w[2] = { 1.0, 3.0 };
        double X[3] = { 5, 7, 9 }, out[3];
        struct model_error e;
        EXPECT(parts[0]);
        EXPECT(model_column_transformer_create("ColumnTransformer", 3, parts, cols, offsets, w,
                                               2, &m, &e) == 0);
        EXPECT(model_transform_width(m) == 3);
        EXPECT(model_transform(m, X, 1, out, &e) == 0);
        EXPECT(out[0] == (9.0 - 1) / 2 && out[1] == (5.0 - 2) / 4 && out[2] == 21.0);
        model_free(m);
        return true;
}

static bool ct_column_out_of_range_refused(void)
{
        double mean[1] = { 0 }, scale[1] = { 1 };
        struct model *parts[1] = { scaler(1, mean, scale) }, *m = NULL;
        size_t cols[1] = { 3 }, offsets[2] = { 0, 1 };
        struct model_error e;
        EXPECT(parts[0]);
        EXPECT(model_column_transformer_create("ColumnTransformer", 3, parts, cols, offsets,
                                               NULL, 1, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "selects column 3 of 3");
        EXPECT(m == NULL);
        return true;
}

static bool union_width_mismatch_refused(void)
{
        double mean[2] = { 0, 0 }, scale[2] = { 1, 1 };
        struct model *parts[1] = { scaler(2, mean, scale) }, *m = NULL;
        size_t cols[3] = { 0, 1, 2 }, offsets[2] = { 0, 3 };
        struct model_error e;
        EXPECT(parts[0]);
        EXPECT(model_column_transformer_create("FeatureUnion", 3, parts, cols, offsets, NULL, 1,
                                               &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "FeatureUnion: part 0 (StandardScaler) expected to be a "
                                   "transformer of 3 features");
        return true;
}

static bool target_minmax_inverse_applies(void)
{
        double coef = 2.0, icpt = 1.0, shift = 0.5, scale = 0.25;
        struct model *reg = NULL, *m = NULL;
        struct model_error e;
        double x = 3.0, y = 0;
        EXPECT(model_linear_regressor_create("L", 1, 1, &coef, &icpt, &reg, &e) == 0);
        EXPECT(model_target_regressor_create(reg, MODEL_TARGET_MINMAX, 1, &shift, &scale, &m,
                                             &e) == 0);
        EXPECT(model_predict_values(m, &x, 1, &y, &e) == 0);
        EXPECT(y == (7.0 - 0.5) / 0.25);
        model_free(m);
        return true;
}

static bool target_width_mismatch_refused(void)
{
        double coef = 2.0, icpt = 1.0, shift[2] = { 0, 0 }, scale[2] = { 1, 1 };
        struct model *reg = NULL, *m = NULL;
        struct model_error e;
        EXPECT(model_linear_regressor_create("L", 1, 1, &coef, &icpt, &reg, &e) == 0);
        EXPECT(model_target_regressor_create(reg, MODEL_TARGET_STANDARD, 2, shift, scale, &m,
                                             &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "2 columns but the regressor predicts 1 outputs");
        return true;
}

static bool onehot_drop_and_unknown(void)
{
        size_t offsets[3] = { 0, 3, 5 };
        double cats[5] = { -1, 0, 4, 10, 20 };
        int64_t drop[2] = { 1, -1 };
        double X[4] = { 4, 20, 3, 10 }, out[8];
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_encoder_create(true, 2, offsets, cats, drop, NULL, MODEL_UNKNOWN_IGNORE, 0,
                                    &m,
                                    &e) == 0);
        EXPECT(model_transform_width(m) == 4);
        EXPECT(model_transform(m, X, 2, out, &e) == 0);
        /* row 0: 4 is category 2, column 1 after dropping category 1; 20 -> 1 */
        EXPECT(out[0] == 0 && out[1] == 1 && out[2] == 0 && out[3] == 1);
        /* row 1: 3 is unknown (all zeros), 10 -> first column of feature 1 */
        EXPECT(out[4] == 0 && out[5] == 0 && out[6] == 1 && out[7] == 0);
        model_free(m);
        return true;
}

static bool onehot_infrequent_group_takes_unknowns(void)
{
        size_t offsets[2] = { 0, 4 };
        double cats[4] = { 0, 1, 2, 5 }, X[3] = { 2, 7, 5 }, out[9];
        int64_t group[4] = { 0, 2, 2, 1 }; /* 1 and 2 are infrequent */
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_encoder_create(true, 1, offsets, cats, NULL, group,
                                    MODEL_UNKNOWN_INFREQUENT, 0, &m, &e) == 0);
        EXPECT(model_transform_width(m) == 3);
        EXPECT(model_transform(m, X, 3, out, &e) == 0);
        EXPECT(out[0] == 0 && out[1] == 0 && out[2] == 1); /* infrequent */
        EXPECT(out[3] == 0 && out[4] == 0 && out[5] == 1); /* unknown joins it */
        EXPECT(out[6] == 0 && out[7] == 1 && out[8] == 0);
        model_free(m);
        return true;
}

static bool ordinal_unknown_error_names_column(void)
{
        size_t offsets[2] = { 0, 2 };
        double cats[2] = { 1, 2 }, X[2] = { 2, 2.5 }, out[2];
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_encoder_create(false, 1, offsets, cats, NULL, NULL, MODEL_UNKNOWN_ERROR, 0,
                                    &m,
                                    &e) == 0);
        EXPECT(model_transform(m, X, 2, out, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "row 1, column 0");
        EXPECT_CONTAINS(e.message, "found 2.5");
        model_free(m);
        return true;
}

static bool encoder_unsorted_categories_refused(void)
{
        size_t offsets[2] = { 0, 2 };
        double cats[2] = { 2, 1 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_encoder_create(false, 1, offsets, cats, NULL, NULL, MODEL_UNKNOWN_ERROR, 0,
                                    &m,
                                    &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "increasing order");
        return true;
}

TAP_MAIN(CASE(ct_parts_side_by_side_in_order), CASE(ct_column_out_of_range_refused),
         CASE(union_width_mismatch_refused), CASE(target_minmax_inverse_applies),
         CASE(target_width_mismatch_refused), CASE(onehot_drop_and_unknown),
         CASE(onehot_infrequent_group_takes_unknowns),
         CASE(ordinal_unknown_error_names_column), CASE(encoder_unsorted_categories_refused))
