/* test_ensemble.c - voting, stacking, calibration and bagging over
 * hand-made members whose outputs are known exactly, and what their
 * constructors refuse (run under valgrind, the refusals also show that
 * members handed over are freed on failure). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "model_build.h"
#include "tap.h"

static const struct model_label enc[3] = {
        { MODEL_LABEL_INT, { .i = 0 } },
        { MODEL_LABEL_INT, { .i = 1 } },
        { MODEL_LABEL_INT, { .i = 2 } },
};

static const struct model_label names[3] = {
        { MODEL_LABEL_STR, { .s = "a" } },
        { MODEL_LABEL_STR, { .s = "b" } },
        { MODEL_LABEL_STR, { .s = "c" } },
};

/* A 3-class classifier of one feature that always predicts class k. */
static struct model *always(size_t k, const struct model_label *labels)
{
        double coef[3] = { 0, 0, 0 }, icpt[3] = { 0, 0, 0 };
        struct model *m = NULL;
        struct model_error e;
        icpt[k] = 5.0;
        if (model_linear_classifier_create("T", 1, 3, coef, icpt, MODEL_LINEAR_MULTINOMIAL,
                                           labels, 3, &m, &e) < 0)
                return NULL;
        return m;
}

/* predict = a x + b, one feature. */
static struct model *line(double a, double b)
{
        struct model *m = NULL;
        struct model_error e;
        if (model_linear_regressor_create("L", 1, 1, &a, &b, &m, &e) < 0)
                return NULL;
        return m;
}

static bool voting_hard_tie_goes_to_first_label(void)
{
        struct model *mb[2] = { always(2, enc), always(0, enc) }, *m = NULL;
        struct model_ensemble_params p = { .kind = MODEL_VOTING_HARD };
        struct model_error e;
        size_t idx = 9;
        double x = 1.0;
        EXPECT(mb[0] && mb[1]);
        EXPECT(model_ensemble_create(&p, mb, 2, names, 3, &m, &e) == 0);
        EXPECT(model_predict(m, &x, 1, &idx, NULL, &e) == 0);
        EXPECT(idx == 0);
        EXPECT(!model_has_proba(m));
        EXPECT(model_transform_width(m) == 2);
        model_free(m);
        return true;
}

static bool voting_hard_weights_break_the_tie(void)
{
        struct model *mb[2] = { always(2, enc), always(0, enc) }, *m = NULL;
        double w[2] = { 2.0, 1.0 };
        struct model_ensemble_params p = { .kind = MODEL_VOTING_HARD, .weights = w };
        struct model_error e;
        size_t idx = 9;
        double x = 1.0;
        EXPECT(model_ensemble_create(&p, mb, 2, names, 3, &m, &e) == 0);
        EXPECT(model_predict(m, &x, 1, &idx, NULL, &e) == 0);
        EXPECT(idx == 2);
        model_free(m);
        return true;
}

static bool voting_regressor_weighted_average(void)
{
        struct model *mb[2] = { line(1.0, 0.0), line(0.0, 4.0) }, *m = NULL;
        double w[2] = { 1.0, 3.0 }, x = 2.0, y = 0.0;
        struct model_ensemble_params p = { .kind = MODEL_VOTING_REGRESSOR, .weights = w };
        struct model_error e;
        EXPECT(model_ensemble_create(&p, mb, 2, NULL, 0, &m, &e) == 0);
        EXPECT(model_predict_values(m, &x, 1, &y, &e) == 0);
        EXPECT(y == (2.0 * 1.0 + 4.0 * 3.0) / 4.0);
        model_free(m);
        return true;
}

static bool stacking_regressor_passthrough_feeds_final(void)
{
        struct model *mb[1] = { line(2.0, 1.0) }, *m = NULL;
        double coef[2] = { 1.0, 10.0 }, icpt = 0.5, x = 3.0, y = 0.0, t[2];
        enum model_stack_method meth = MODEL_STACK_PREDICT;
        struct model *final = NULL;
        struct model_error e;
        EXPECT(model_linear_regressor_create("F", 2, 1, coef, &icpt, &final, &e) == 0);
        struct model_ensemble_params p = { .kind = MODEL_STACKING_REGRESSOR,
                                           .methods = &meth, .passthrough = true,
                                           .final = final };
        EXPECT(model_ensemble_create(&p, mb, 1, NULL, 0, &m, &e) == 0);
        EXPECT(model_transform_width(m) == 2);
        EXPECT(model_transform(m, &x, 1, t, &e) == 0);
        EXPECT(t[0] == 7.0 && t[1] == 3.0);
        EXPECT(model_predict_values(m, &x, 1, &y, &e) == 0);
        EXPECT(y == 7.0 + 30.0 + 0.5);
        model_free(m);
        return true;
}

static bool ensemble_refuses_members_with_raw_labels(void)
{
        struct model *mb[1] = { always(1, names) }, *m = NULL;
        struct model_ensemble_params p = { .kind = MODEL_VOTING_SOFT };
        struct model_error e;
        EXPECT(model_ensemble_create(&p, mb, 1, names, 3, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "encoded classes 0..2");
        EXPECT(m == NULL);
        return true;
}

static bool stacking_refuses_final_of_other_width(void)
{
        struct model *mb[1] = { line(1.0, 0.0) }, *m = NULL, *final = line(1.0, 0.0);
        enum model_stack_method meth = MODEL_STACK_PREDICT;
        struct model_ensemble_params p = { .kind = MODEL_STACKING_REGRESSOR,
                                           .methods = &meth, .passthrough = true,
                                           .final = final };
        struct model_error e;
        EXPECT(model_ensemble_create(&p, mb, 1, NULL, 0, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "takes 1 features but the members give 2");
        return true;
}

/* A binary classifier whose decision value is x itself; calibrated
 * estimators keep the raw labels. */
static struct model *identity_binary(void)
{
        double coef = 1.0, icpt = 0.0;
        struct model *m = NULL;
        struct model_error e;
        if (model_linear_classifier_create("I", 1, 1, &coef, &icpt, MODEL_LINEAR_OVR, names, 2,
                                           &m, &e) < 0)
                return NULL;
        return m;
}

static bool isotonic_interpolates_and_clips(void)
{
        static const double xs[3] = { 0.0, 1.0, 2.0 }, ys[3] = { 0.0, 0.5, 1.0 };
        struct model_calibrator c = { .kind = MODEL_CALIBRATOR_ISOTONIC, .n = 3, .x = xs,
                                      .y = ys, .x_min = 0.0, .x_max = 2.0 };
        const struct model_calibrator *cals[1] = { &c };
        size_t n_cals[1] = { 1 }, idx[3];
        struct model *est[1] = { identity_binary() }, *m = NULL;
        struct model_error e;
        double X[3] = { 0.5, 9.0, -9.0 }, p[6];
        EXPECT(model_calibrated_create(est, 1, cals, n_cals, names, 2, &m, &e) == 0);
        EXPECT(model_predict(m, X, 3, idx, p, &e) == 0);
        EXPECT(p[1] == 0.25 && p[0] == 0.75 && idx[0] == 0);
        EXPECT(p[3] == 1.0 && p[2] == 0.0 && idx[1] == 1);
        EXPECT(p[5] == 0.0 && p[4] == 1.0 && idx[2] == 0);
        model_free(m);
        return true;
}

static bool isotonic_refuses_unsorted_thresholds(void)
{
        static const double xs[2] = { 1.0, 1.0 }, ys[2] = { 0.0, 1.0 };
        struct model_calibrator c = { .kind = MODEL_CALIBRATOR_ISOTONIC, .n = 2, .x = xs,
                                      .y = ys, .x_min = 1.0, .x_max = 1.0 };
        const struct model_calibrator *cals[1] = { &c };
        size_t n_cals[1] = { 1 };
        struct model *est[1] = { identity_binary() }, *m = NULL;
        struct model_error e;
        EXPECT(model_calibrated_create(est, 1, cals, n_cals, names, 2, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "strictly increasing");
        return true;
}

static bool bagging_spreads_a_member_missing_a_class(void)
{
        /* member 0 knows classes {0, 2} and always says 2; member 1 all */
        double coef = 0.0, icpt = -5.0, X[2] = { 7.0, 1.0 }, p[3];
        static const struct model_label two[2] = { { MODEL_LABEL_INT, { .i = 0 } },
                                                  { MODEL_LABEL_INT, { .i = 2 } } };
        struct model *mb[2] = { NULL, always(1, enc) }, *m = NULL;
        struct model_error e;
        EXPECT(model_linear_classifier_create("M", 1, 1, &coef, &icpt, MODEL_LINEAR_OVR, two,
                                              2, &mb[0], &e) == 0);
        static const int64_t f0[1] = { 1 }, f1[1] = { 0 };
        const int64_t *feats[2] = { f0, f1 };
        size_t n_feat[2] = { 1, 1 }, idx;
        struct model_bagging_params bp = { .classifier = true, .n_estimators = 2,
                                           .n_jobs = 1, .features = feats,
                                           .n_feat = n_feat, .n_features = 2 };
        EXPECT(model_bagging_create(&bp, mb, 2, names, 3, &m, &e) == 0);
        EXPECT(model_predict(m, X, 1, &idx, p, &e) == 0);
        /* member 0 adds nothing to class 1, so no column reaches 1/2 and
         * its P(class 0) = 1 - expit(-5) beats member 1's softmax */
        EXPECT(fabs(p[0] + p[1] + p[2] - 1.0) < 1e-12);
        EXPECT(p[0] < 0.5 && p[1] < 0.5 && p[2] > 0.0);
        double q0 = 1.0 - 1.0 / (1.0 + exp(5.0)), q1 = 1.0 / (exp(5.0) + 2.0);
        EXPECT(fabs(p[0] - (q0 + q1) / 2.0) < 1e-15);
        EXPECT(idx == 0);
        model_free(m);
        return true;
}

static bool bagging_refuses_feature_past_x(void)
{
        struct model *mb[1] = { always(0, enc) }, *m = NULL;
        static const int64_t f0[1] = { 3 };
        const int64_t *feats[1] = { f0 };
        size_t n_feat[1] = { 1 };
        struct model_bagging_params bp = { .classifier = true, .n_estimators = 1,
                                           .n_jobs = 1, .features = feats,
                                           .n_feat = n_feat, .n_features = 2 };
        struct model_error e;
        EXPECT(model_bagging_create(&bp, mb, 1, names, 3, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "names feature 3 of 2");
        return true;
}

TAP_MAIN(CASE(voting_hard_tie_goes_to_first_label),
         CASE(voting_hard_weights_break_the_tie),
         CASE(voting_regressor_weighted_average),
         CASE(stacking_regressor_passthrough_feeds_final),
         CASE(ensemble_refuses_members_with_raw_labels),
         CASE(stacking_refuses_final_of_other_width),
         CASE(isotonic_interpolates_and_clips),
         CASE(isotonic_refuses_unsorted_thresholds),
         CASE(bagging_spreads_a_member_missing_a_class),
         CASE(bagging_refuses_feature_past_x))
