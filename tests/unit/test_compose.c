/* test_compose.c - ColumnTransformer, FeatureUnion, the target inverse of
 * TransformedTargetRegressor and the numeric encoders over hand-made parts
 * whose outputs are known exactly, and what their constructors refuse
 * (under valgrind the refusals also show that parts handed over are
 * freed on failure). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_build.h"
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
        struct model_encoder_params p = { .onehot = true, .n_features = 2,
                                          .offsets = offsets, .cats = cats, .drop = drop,
                                          .unknown = MODEL_UNKNOWN_IGNORE };
        EXPECT(model_encoder_create(&p, &m, &e) == 0);
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
        struct model_encoder_params p = { .onehot = true, .n_features = 1,
                                          .offsets = offsets, .cats = cats, .group = group,
                                          .unknown = MODEL_UNKNOWN_INFREQUENT };
        EXPECT(model_encoder_create(&p, &m, &e) == 0);
        EXPECT(model_transform_width(m) == 3);
        EXPECT(model_transform(m, X, 3, out, &e) == 0);
        EXPECT(out[0] == 0 && out[1] == 0 && out[2] == 1); /* infrequent */
        EXPECT(out[3] == 0 && out[4] == 0 && out[5] == 1); /* unknown joins it */
        EXPECT(out[6] == 0 && out[7] == 1 && out[8] == 0);
        model_free(m);
        return true;
}

/* drop counts grouped codes: dropping code 0 (category 0) shifts the
 * group to column 1; dropping the group sends unknowns to all zeros;
 * a drop past the last group is refused. */
static bool onehot_drop_counts_grouped_codes(void)
{
        size_t offsets[2] = { 0, 4 };
        double cats[4] = { 0, 1, 2, 5 }, X[3] = { 2, 7, 0 }, out[6];
        int64_t group[4] = { 0, 2, 2, 1 }, drop[1] = { 0 };
        struct model *m = NULL;
        struct model_error e;
        struct model_encoder_params p = { .onehot = true, .n_features = 1,
                                          .offsets = offsets, .cats = cats, .group = group,
                                          .drop = drop, .unknown = MODEL_UNKNOWN_INFREQUENT };
        EXPECT(model_encoder_create(&p, &m, &e) == 0);
        EXPECT(model_transform_width(m) == 2);
        EXPECT(model_transform(m, X, 3, out, &e) == 0);
        EXPECT(out[0] == 0 && out[1] == 1); /* infrequent: group code 2 -> column 1 */
        EXPECT(out[2] == 0 && out[3] == 1); /* unknown joins it */
        EXPECT(out[4] == 0 && out[5] == 0); /* category 0 dropped */
        model_free(m);
        drop[0] = 2; /* the group itself */
        EXPECT(model_encoder_create(&p, &m, &e) == 0);
        EXPECT(model_transform_width(m) == 2);
        EXPECT(model_transform(m, X, 3, out, &e) == 0);
        EXPECT(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == 0);
        EXPECT(out[4] == 1 && out[5] == 0);
        model_free(m);
        m = NULL;
        drop[0] = 3;
        EXPECT(model_encoder_create(&p, &m, &e) == -EINVAL && m == NULL);
        EXPECT(strstr(e.message, "drops column 3 of 3") != NULL);
        return true;
}

static bool ordinal_unknown_error_names_column(void)
{
        size_t offsets[2] = { 0, 2 };
        double cats[2] = { 1, 2 }, X[2] = { 2, 2.5 }, out[2];
        struct model *m = NULL;
        struct model_error e;
        struct model_encoder_params p = { .n_features = 1, .offsets = offsets, .cats = cats,
                                          .unknown = MODEL_UNKNOWN_ERROR };
        EXPECT(model_encoder_create(&p, &m, &e) == 0);
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
        struct model_encoder_params p = { .n_features = 1, .offsets = offsets, .cats = cats,
                                          .unknown = MODEL_UNKNOWN_ERROR };
        EXPECT(model_encoder_create(&p, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "increasing order");
        return true;
}

/* Three strings interned; an encoder over two of them in categories_
 * order that is not code order ("b" then "a"). */
static bool string_categories_match_by_code(void)
{
        struct model_strings *t = model_strings_new();
        double a, b, c, again;
        EXPECT(t);
        EXPECT(model_strings_intern(t, "a", 1, &a) == 0);
        EXPECT(model_strings_intern(t, "b", 1, &b) == 0);
        EXPECT(model_strings_intern(t, "c", 1, &c) == 0);
        EXPECT(model_strings_intern(t, "a", 1, &again) == 0);
        EXPECT(model_is_string_value(a) && !model_is_string_value(NAN) &&
               !model_is_string_value(1.0));
        EXPECT(memcmp(&a, &again, sizeof(a)) == 0);
        size_t offsets[2] = { 0, 2 };
        double cats[2] = { b, a }, out[5];
        uint8_t kinds[1] = { MODEL_COLUMN_STRING };
        struct model *m = NULL;
        struct model_error e;
        struct model_encoder_params p = { .onehot = false, .n_features = 1,
                                          .offsets = offsets, .cats = cats, .kinds = kinds,
                                          .unknown = MODEL_UNKNOWN_IGNORE,
                                          .unknown_value = -1 };
        EXPECT(model_encoder_create(&p, &m, &e) == 0);
        model_attach_strings(m, t);
        EXPECT(model_column_kind(m, 0) == MODEL_COLUMN_STRING);
        double X[5] = { model_string_value(m, "a", 1), model_string_value(m, "b", 1), c,
                        model_string_value(m, "zz", 2), 0.0 };
        EXPECT(model_transform(m, X, 5, out, &e) == 0);
        /* "a" is categories_[1], "b" [0]; "c" (known to the table, not to
         * the encoder), a string never seen and a number are unknown */
        EXPECT(out[0] == 1 && out[1] == 0 && out[2] == -1 && out[3] == -1 && out[4] == -1);
        model_free(m);
        return true;
}

/* An imputer over a string column hands its fill string on; a string
 * marker of missing matches only that string. */
static bool imputer_fills_strings(void)
{
        struct model_strings *t = model_strings_new();
        double fill, marker, other, out[3];
        EXPECT(t);
        EXPECT(model_strings_intern(t, "missing", 7, &fill) == 0);
        EXPECT(model_strings_intern(t, "", 0, &marker) == 0);
        EXPECT(model_strings_intern(t, "x", 1, &other) == 0);
        double stats[1] = { fill };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_imputer_create(1, stats, false, marker, false, NULL, 0, &m, &e) == 0);
        double X[3] = { marker, other, NAN };
        EXPECT(model_transform(m, X, 2, out, &e) == 0);
        EXPECT(memcmp(&out[0], &fill, sizeof(fill)) == 0);
        EXPECT(memcmp(&out[1], &other, sizeof(other)) == 0);
        /* NaN is no string and not this imputer's marker: refused */
        EXPECT(model_transform(m, X + 2, 1, out, &e) == -EINVAL && e.column == 0);
        EXPECT(model_column_kind(m, 0) == MODEL_COLUMN_STRING);
        model_free(m);
        model_strings_free(t);
        return true;
}

TAP_MAIN(CASE(ct_parts_side_by_side_in_order), CASE(ct_column_out_of_range_refused),
         CASE(union_width_mismatch_refused), CASE(target_minmax_inverse_applies),
         CASE(target_width_mismatch_refused), CASE(onehot_drop_and_unknown),
         CASE(onehot_infrequent_group_takes_unknowns),
         CASE(onehot_drop_counts_grouped_codes),
         CASE(ordinal_unknown_error_names_column), CASE(encoder_unsorted_categories_refused),
         CASE(string_categories_match_by_code), CASE(imputer_fills_strings))
