/* test_probabilistic.c - naive Bayes and MLP models refuse inconsistent
 * parts and apply scikit-learn's edge rules (strict thresholds, ties to the
 * first class) on numbers small enough to check by hand. Parity with
 * scikit-learn on real models is the matrix tests' job. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "model_build.h"
#include "tap.h"

static const struct model_label labels[3] = {
        { MODEL_LABEL_INT, { .i = 10 } },
        { MODEL_LABEL_INT, { .i = 20 } },
        { MODEL_LABEL_INT, { .i = 30 } },
};

static bool close_to(double a, double b)
{
        return fabs(a - b) <= 1e-15 * (fabs(b) > 1.0 ? fabs(b) : 1.0);
}

static bool gnb_midpoint_tie_goes_to_first_class(void)
{
        /* one feature, means 0 and 1, unit variances, equal priors: at
         * x = 0.5 both classes are equally likely */
        const double theta[2] = { 0.0, 1.0 }, var[2] = { 1.0, 1.0 }, prior[2] = { 0.5, 0.5 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_gaussian_nb_create(1, theta, var, prior, MODEL_NB_LSE_LOG1P, labels, 2,
                                        &m, &e) == 0);
        double x[2] = { 0.5, 2.0 }, p[4];
        size_t idx[2] = { 9, 9 };
        EXPECT(model_predict(m, x, 2, idx, p, &e) == 0);
        EXPECT(idx[0] == 0 && idx[1] == 1);
        EXPECT(close_to(p[0], 0.5) && p[0] == p[1]);
        /* at x = 2: log odds (x - 0)^2 / 2 - (x - 1)^2 / 2 = 1.5 */
        EXPECT(close_to(p[3], 1.0 / (1.0 + exp(-1.5))));
        EXPECT(close_to(p[2] + p[3], 1.0));
        model_free(m);
        return true;
}

static bool gnb_both_logsumexp_rules_agree_on_simple_rows(void)
{
        const double theta[3] = { 0.0, 1.0, 3.0 }, var[3] = { 1.0, 2.0, 0.5 };
        const double prior[3] = { 0.2, 0.3, 0.5 };
        struct model *a = NULL, *b = NULL;
        struct model_error e;
        EXPECT(model_gaussian_nb_create(1, theta, var, prior, MODEL_NB_LSE_PLAIN, labels, 3,
                                        &a, &e) == 0);
        EXPECT(model_gaussian_nb_create(1, theta, var, prior, MODEL_NB_LSE_LOG1P, labels, 3,
                                        &b, &e) == 0);
        double x[3] = { -1.0, 1.5, 3.0 }, pa[9], pb[9];
        size_t ia[3], ib[3];
        EXPECT(model_predict(a, x, 3, ia, pa, &e) == 0);
        EXPECT(model_predict(b, x, 3, ib, pb, &e) == 0);
        for (size_t i = 0; i < 9; i++)
                EXPECT(fabs(pa[i] - pb[i]) <= 1e-15);
        EXPECT(ia[2] == 2 && ib[2] == 2);
        model_free(a);
        model_free(b);
        return true;
}

static bool bnb_binarize_is_strictly_above(void)
{
        /* two features; class 1 likes feature 0 on, class 0 likes it off */
        const double flp[4] = { log(0.1), log(0.5), log(0.9), log(0.5) };
        const double clp[2] = { log(0.5), log(0.5) };
        const double threshold = 0.5;
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_discrete_nb_create("BernoulliNB", 2, flp, clp, &threshold,
                                        MODEL_NB_LSE_PLAIN, labels, 2, &m, &e) == 0);
        double x[4] = { 0.5, 0.0, 0.50001, 0.0 }, p[4];
        size_t idx[2];
        EXPECT(model_predict(m, x, 2, idx, p, &e) == 0);
        EXPECT(idx[0] == 0 && idx[1] == 1);
        EXPECT(close_to(p[0], 0.9) && close_to(p[3], 0.9));
        model_free(m);
        return true;
}

static bool mnb_ties_go_to_first_class(void)
{
        const double flp[4] = { log(0.5), log(0.5), log(0.5), log(0.5) };
        const double clp[2] = { log(0.5), log(0.5) };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_discrete_nb_create("MultinomialNB", 2, flp, clp, NULL, MODEL_NB_LSE_LOG1P,
                                        labels, 2, &m, &e) == 0);
        double x[2] = { 3.0, 1.0 }, p[2];
        size_t idx = 9;
        EXPECT(model_predict(m, x, 1, &idx, p, &e) == 0);
        EXPECT(idx == 0 && close_to(p[0], 0.5) && p[0] == p[1]);
        model_free(m);
        return true;
}

static bool discrete_nb_unknown_name_refused(void)
{
        const double flp[2] = { -1.0, -1.0 }, clp[2] = { -1.0, -1.0 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_discrete_nb_create("ComplementNB", 1, flp, clp, NULL, MODEL_NB_LSE_PLAIN,
                                        labels, 2, &m, &e) == -EINVAL);
        EXPECT(m == NULL);
        EXPECT_CONTAINS(e.message, "ComplementNB");
        return true;
}

static bool mlp_binary_half_is_first_class(void)
{
        /* all-zero weights: the logistic output is exactly 0.5, and
         * LabelBinarizer only picks the second class above 0.5 */
        const size_t widths[3] = { 2, 2, 1 };
        const double w0[4] = { 0 }, b0[2] = { 0 }, w1[2] = { 0 }, b1[1] = { 0 };
        const double *coefs[2] = { w0, w1 }, *icpts[2] = { b0, b1 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_mlp_create(2, widths, coefs, icpts, MODEL_MLP_RELU, MODEL_MLP_LOGISTIC,
                                labels, 2, &m, &e) == 0);
        EXPECT(model_get_type(m) == MODEL_TYPE_CLASSIFIER && model_has_proba(m));
        double x[2] = { 1.0, -3.0 }, p[2];
        size_t idx = 9;
        EXPECT(model_predict(m, x, 1, &idx, p, &e) == 0);
        EXPECT(idx == 0 && p[0] == 0.5 && p[1] == 0.5);
        model_free(m);
        return true;
}

static bool mlp_regressor_relu_by_hand(void)
{
        /* h = relu(x @ [[1, -1], [2, 1]] + [0, 1]); y = h @ [[3], [5]] - 1 */
        const size_t widths[3] = { 2, 2, 1 };
        const double w0[4] = { 1, -1, 2, 1 }, b0[2] = { 0, 1 }, w1[2] = { 3, 5 }, b1[1] = { -1 };
        const double *coefs[2] = { w0, w1 }, *icpts[2] = { b0, b1 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_mlp_create(2, widths, coefs, icpts, MODEL_MLP_RELU, MODEL_MLP_IDENTITY,
                                NULL, 0, &m, &e) == 0);
        EXPECT(model_get_type(m) == MODEL_TYPE_REGRESSOR && model_n_outputs(m) == 1);
        /* x = (1, 2): pre = (5, 2) -> 3*5 + 5*2 - 1 = 24;
         * x = (1, -3): pre = (-5, -1) -> relu 0, 0 -> -1 */
        double x[4] = { 1, 2, 1, -3 }, y[2];
        EXPECT(model_predict_values(m, x, 2, y, &e) == 0);
        EXPECT(y[0] == 24.0 && y[1] == -1.0);
        model_free(m);
        return true;
}

static bool mlp_bad_shapes_refused(void)
{
        const size_t widths[3] = { 2, 0, 1 };
        const double w[4] = { 0 }, b[2] = { 0 };
        const double *coefs[2] = { w, w }, *icpts[2] = { b, b };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_mlp_create(2, widths, coefs, icpts, MODEL_MLP_RELU, MODEL_MLP_IDENTITY,
                                NULL, 0, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "layers of 1 to 65536 units");
        EXPECT(model_mlp_create(0, widths, coefs, icpts, MODEL_MLP_RELU, MODEL_MLP_IDENTITY,
                                NULL, 0, &m, &e) == -EINVAL);
        EXPECT(model_mlp_create(MODEL_MLP_MAX_LAYERS + 1, widths, coefs, icpts, MODEL_MLP_RELU,
                                MODEL_MLP_IDENTITY, NULL, 0, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "1 to 64 weight matrices");
        EXPECT(m == NULL);
        return true;
}

static bool mlp_output_units_must_match_classes(void)
{
        /* 3 classes but 2 output units */
        const size_t widths[2] = { 2, 2 };
        const double w[4] = { 0 }, b[2] = { 0 };
        const double *coefs[1] = { w }, *icpts[1] = { b };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_mlp_create(1, widths, coefs, icpts, MODEL_MLP_RELU, MODEL_MLP_SOFTMAX,
                                labels, 3, &m, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "one output unit for 2 classes or one per class");
        EXPECT(m == NULL);
        return true;
}

TAP_MAIN(CASE(gnb_midpoint_tie_goes_to_first_class),
         CASE(gnb_both_logsumexp_rules_agree_on_simple_rows),
         CASE(bnb_binarize_is_strictly_above), CASE(mnb_ties_go_to_first_class),
         CASE(discrete_nb_unknown_name_refused), CASE(mlp_binary_half_is_first_class),
         CASE(mlp_regressor_relu_by_hand), CASE(mlp_bad_shapes_refused),
         CASE(mlp_output_units_must_match_classes))
