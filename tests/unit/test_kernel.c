/* test_kernel.c - model/kernel.c: SVMs and nearest neighbours refuse
 * inconsistent parts, follow scikit-learn's sign and weight rules on
 * cases small enough to work out by hand, and refuse a neighbour tie
 * they cannot decide. Parity with scikit-learn is the matrix's job. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "model_build.h"
#include "tap.h"

static const struct model_label labels[3] = {
        { MODEL_LABEL_INT, { .i = 0 } },
        { MODEL_LABEL_INT, { .i = 1 } },
        { MODEL_LABEL_INT, { .i = 2 } },
};

/* A linear binary SVC on one feature whose libsvm value is -2x. */
static struct model_svm_params binary_svc(void)
{
        static const double sv[2] = { -1.0, 1.0 }, dual[2] = { 1.0, -1.0 }, icpt[1] = { 0.0 };
        static const size_t nsup[2] = { 1, 1 };
        struct model_svm_params p = {
                .name = "SVC", .kind = MODEL_SVM_SVC, .kernel = MODEL_SVM_LINEAR,
                .n_sv = 2, .sv = sv, .dual_coef = dual, .intercept = icpt, .n_support = nsup,
                .ovr = true,
        };
        return p;
}

static bool svm_n_support_not_summing_refused(void)
{
        struct model_svm_params p = binary_svc();
        const size_t nsup[2] = { 1, 0 };
        struct model *m = NULL;
        struct model_error e;
        p.n_support = nsup;
        EXPECT(model_svm_create(&p, 1, labels, 2, &m, &e) == -EINVAL);
        EXPECT(m == NULL);
        EXPECT_CONTAINS(e.message, "n_support sums to 1");
        return true;
}

static bool svm_binary_decision_is_negated_libsvm_value(void)
{
        struct model_svm_params p = binary_svc();
        struct model *m = NULL;
        struct model_error e;
        double x[2] = { 1.0, -0.5 }, d[2];
        size_t idx[2];
        EXPECT(model_svm_create(&p, 1, labels, 2, &m, &e) == 0);
        EXPECT(model_decision_width(m) == 1);
        EXPECT(model_decision_function(m, x, 2, d, &e) == 0);
        EXPECT(d[0] == 2.0 && d[1] == -1.0);
        EXPECT(model_predict(m, x, 2, idx, NULL, &e) == 0);
        EXPECT(idx[0] == 1 && idx[1] == 0);
        EXPECT(!model_has_proba(m));
        model_free(m);
        return true;
}

static bool svm_one_class_predicts_plus_and_minus_one(void)
{
        const double sv[1] = { 0.0 }, dual[1] = { 1.0 }, icpt[1] = { -0.5 };
        struct model_svm_params p = {
                .name = "OneClassSVM", .kind = MODEL_SVM_ONE_CLASS, .kernel = MODEL_SVM_RBF,
                .gamma = 1.0, .n_sv = 1, .sv = sv, .dual_coef = dual, .intercept = icpt,
        };
        struct model *m = NULL;
        struct model_error e;
        double x[2] = { 0.0, 10.0 }, y[2], d[2];
        EXPECT(model_svm_create(&p, 1, NULL, 0, &m, &e) == 0);
        EXPECT(model_get_type(m) == MODEL_TYPE_REGRESSOR);
        EXPECT(model_predict_values(m, x, 2, y, &e) == 0);
        EXPECT(y[0] == 1.0 && y[1] == -1.0);
        EXPECT(model_decision_function(m, x, 2, d, &e) == 0);
        EXPECT(d[0] == 0.5 && d[1] == -0.5);
        model_free(m);
        return true;
}

/* score_samples is decision_function + offset_ (here x - 0.5 + 0.25),
 * and only with an offset; SVR has none. */
static bool svm_one_class_score_samples_adds_offset(void)
{
        const double sv[1] = { 1.0 }, dual[1] = { 1.0 }, icpt[1] = { -0.5 };
        const double offset = 0.25, bad = INFINITY;
        struct model_svm_params p = {
                .name = "OneClassSVM", .kind = MODEL_SVM_ONE_CLASS, .kernel = MODEL_SVM_LINEAR,
                .n_sv = 1, .sv = sv, .dual_coef = dual, .intercept = icpt,
        };
        struct model *m = NULL;
        struct model_error e;
        double x[2] = { 0.0, 3.0 }, s[2] = { 7.0, 7.0 };
        EXPECT(model_svm_create(&p, 1, NULL, 0, &m, &e) == 0);
        EXPECT(!model_has_score_samples(m));
        EXPECT(model_score_samples(m, x, 2, s, &e) == -ENOTSUP);
        EXPECT_CONTAINS(e.message, "OneClassSVM has no score_samples");
        EXPECT(s[0] == 7.0);
        model_free(m);
        p.offset = &offset;
        EXPECT(model_svm_create(&p, 1, NULL, 0, &m, &e) == 0);
        EXPECT(model_has_score_samples(m));
        EXPECT(model_score_samples(m, x, 2, s, &e) == 0);
        EXPECT(s[0] == -0.25 && s[1] == 2.75);
        model_free(m);
        p.offset = &bad;
        m = NULL;
        EXPECT(model_svm_create(&p, 1, NULL, 0, &m, &e) == -EINVAL && m == NULL);
        EXPECT_CONTAINS(e.message, "offset must be finite");
        p.kind = MODEL_SVM_SVR;
        p.name = "SVR";
        p.offset = &offset;
        EXPECT(model_svm_create(&p, 1, NULL, 0, &m, &e) == 0);
        EXPECT(!model_has_score_samples(m));
        model_free(m);
        return true;
}

/* Pipeline.score_samples: the transforms, then the last step's; a
 * pipeline whose last step has none has none either. */
static bool pipeline_score_samples_goes_through_last_step(void)
{
        const double sv[1] = { 1.0 }, dual[1] = { 1.0 }, icpt[1] = { -0.5 };
        const double offset = 0.25, mean = 1.0, scale = 2.0;
        struct model_svm_params p = {
                .name = "OneClassSVM", .kind = MODEL_SVM_ONE_CLASS, .kernel = MODEL_SVM_LINEAR,
                .n_sv = 1, .sv = sv, .dual_coef = dual, .intercept = icpt, .offset = &offset,
        };
        const char *names[2] = { "scale", "svm" };
        struct model *steps[2] = { NULL, NULL }, *pipe = NULL;
        struct model_error e;
        double x[2] = { 1.0, 7.0 }, s[2];
        EXPECT(model_scaler_create(1, &mean, &scale, &steps[0], &e) == 0);
        EXPECT(model_svm_create(&p, 1, NULL, 0, &steps[1], &e) == 0);
        EXPECT(model_pipeline_create(steps, names, 2, &pipe, &e) == 0);
        EXPECT(model_has_score_samples(pipe));
        EXPECT(model_score_samples(pipe, x, 2, s, &e) == 0);
        /* (x - 1) / 2 is 0 and 3: 0 - 0.5 + 0.25 and 3 - 0.5 + 0.25 */
        EXPECT(s[0] == -0.25 && s[1] == 2.75);
        model_free(pipe);
        p.kind = MODEL_SVM_SVR;
        p.name = "SVR";
        EXPECT(model_scaler_create(1, &mean, &scale, &steps[0], &e) == 0);
        EXPECT(model_svm_create(&p, 1, NULL, 0, &steps[1], &e) == 0);
        EXPECT(model_pipeline_create(steps, names, 2, &pipe, &e) == 0);
        EXPECT(!model_has_score_samples(pipe));
        EXPECT(model_score_samples(pipe, x, 2, s, &e) == -ENOTSUP);
        EXPECT_CONTAINS(e.message, "Pipeline has no score_samples");
        model_free(pipe);
        return true;
}

static bool svm_three_class_probabilities_sum_to_one(void)
{
        const double sv[3] = { -1.0, 0.0, 1.0 };
        const double dual[6] = { 1.0, 1.0, -1.0, -1.0, 1.0, -1.0 };
        const double icpt[3] = { 0.1, -0.2, 0.3 };
        const double pa[3] = { -2.0, -1.5, -3.0 }, pb[3] = { 0.1, 0.0, -0.1 };
        const size_t nsup[3] = { 1, 1, 1 };
        struct model_svm_params p = {
                .name = "SVC", .kind = MODEL_SVM_SVC, .kernel = MODEL_SVM_POLY,
                .gamma = 0.5, .coef0 = 1.0, .degree = 3, .n_sv = 3, .sv = sv,
                .dual_coef = dual, .intercept = icpt, .n_support = nsup,
                .prob_a = pa, .prob_b = pb, .ovr = true,
        };
        struct model *m = NULL;
        struct model_error e;
        double x[3] = { -2.0, 0.3, 4.0 }, pr[9];
        size_t idx[3];
        EXPECT(model_svm_create(&p, 1, labels, 3, &m, &e) == 0);
        EXPECT(model_decision_width(m) == 3);
        EXPECT(model_predict(m, x, 3, idx, pr, &e) == 0);
        for (int r = 0; r < 3; r++) {
                double s = pr[3 * r] + pr[3 * r + 1] + pr[3 * r + 2];
                EXPECT(fabs(s - 1.0) < 1e-9);
                EXPECT(idx[r] < 3);
        }
        model_free(m);
        return true;
}

static bool knn_zero_distances_take_all_the_weight(void)
{
        const double fit[3] = { 0.0, 0.0, 3.0 };
        const size_t y[3] = { 0, 1, 1 };
        struct model_knn_params p = {
                .name = "KNeighborsClassifier", .n_samples = 3, .fit_x = fit, .k = 3,
                .p = 2, .distance = true, .y_idx = y,
        };
        struct model *m = NULL;
        struct model_error e;
        double x[1] = { 0.0 }, pr[2];
        size_t idx;
        EXPECT(model_knn_create(&p, 1, 0, labels, 2, &m, &e) == 0);
        EXPECT(model_predict(m, x, 1, &idx, pr, &e) == 0);
        /* the sample at 3 gets weight 0; the two duplicates split evenly
         * and the tie goes to the first class */
        EXPECT(pr[0] == 0.5 && pr[1] == 0.5 && idx == 0);
        model_free(m);
        return true;
}

static bool knn_disagreeing_tie_at_k_refused(void)
{
        const double fit[3] = { -1.0, 1.0, 5.0 };
        const double y[3] = { 1.0, 2.0, 2.0 };
        struct model_knn_params p = {
                .name = "KNeighborsRegressor", .n_samples = 3, .fit_x = fit, .k = 1,
                .p = 1, .y = y,
        };
        struct model *m = NULL;
        struct model_error e;
        double x[2] = { 4.0, 0.0 }, out[2];
        EXPECT(model_knn_create(&p, 1, 1, NULL, 0, &m, &e) == 0);
        EXPECT(model_predict_values(m, x, 1, out, &e) == 0 && out[0] == 2.0);
        EXPECT(model_predict_values(m, x, 2, out, &e) == -EINVAL);
        EXPECT_CONTAINS(e.message, "row 1");
        model_free(m);
        return true;
}

static bool knn_more_neighbours_than_samples_refused(void)
{
        const double fit[2] = { 0.0, 1.0 }, y[2] = { 0.0, 1.0 };
        struct model_knn_params p = {
                .name = "KNeighborsRegressor", .n_samples = 2, .fit_x = fit, .k = 3,
                .p = 2, .y = y,
        };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(model_knn_create(&p, 1, 1, NULL, 0, &m, &e) == -EINVAL);
        EXPECT(m == NULL);
        EXPECT_CONTAINS(e.message, "n_neighbors 3");
        return true;
}

/* A tree over 4 samples: root [0,4) split into leaves [0,2) and [2,4). */
static bool knn_tree_model(const int64_t *idx, const int64_t *start, const int64_t *end,
                           struct model **m, struct model_error *e)
{
        static const double fit[4] = { 0.0, 1.0, 2.0, 3.0 }, y[4] = { 0.0, 1.0, 2.0, 3.0 };
        static const bool leaf[3] = { false, true, true };
        static const double bounds[6] = { 0.0, 0.0, 2.0, 3.0, 1.0, 3.0 };
        struct model_knn_tree t = {
                .n_nodes = 3, .idx = idx, .start = start, .end = end, .leaf = leaf,
                .bounds = bounds,
        };
        struct model_knn_params p = {
                .name = "KNeighborsRegressor", .n_samples = 4, .fit_x = fit, .k = 1,
                .p = 2, .y = y, .tree_distances = true, .tree = &t,
        };
        return model_knn_create(&p, 1, 1, NULL, 0, m, e) == 0;
}

static bool knn_tree_checked_and_searched(void)
{
        const int64_t idx[4] = { 0, 1, 2, 3 }, start[3] = { 0, 0, 2 }, end[3] = { 4, 2, 4 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(knn_tree_model(idx, start, end, &m, &e));
        const double x[3] = { 2.9, 0.2, 1.5 };
        double out[3];
        EXPECT(model_predict_values(m, x, 3, out, &e) == 0);
        /* 1.5 is as far from 1 as from 2: the nearer leaf [0,2) is searched
         * first and 2 is not strictly nearer, so 1 stays */
        EXPECT(out[0] == 3.0 && out[1] == 0.0 && out[2] == 1.0);
        model_free(m);
        return true;
}

static bool knn_tree_not_a_permutation_refused(void)
{
        const int64_t idx[4] = { 0, 1, 1, 3 }, start[3] = { 0, 0, 2 }, end[3] = { 4, 2, 4 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(!knn_tree_model(idx, start, end, &m, &e));
        EXPECT(m == NULL);
        EXPECT_CONTAINS(e.message, "idx_array[2]");
        return true;
}

static bool knn_tree_overlapping_leaves_refused(void)
{
        /* leaves that each cover every sample would make a query read the
         * samples once per leaf */
        const int64_t idx[4] = { 0, 1, 2, 3 }, start[3] = { 0, 0, 0 }, end[3] = { 4, 4, 4 };
        struct model *m = NULL;
        struct model_error e;
        EXPECT(!knn_tree_model(idx, start, end, &m, &e));
        EXPECT(m == NULL);
        EXPECT_CONTAINS(e.message, "not a split of its parent");
        return true;
}

TAP_MAIN(CASE(svm_n_support_not_summing_refused),
         CASE(svm_binary_decision_is_negated_libsvm_value),
         CASE(svm_one_class_predicts_plus_and_minus_one),
         CASE(svm_one_class_score_samples_adds_offset),
         CASE(pipeline_score_samples_goes_through_last_step),
         CASE(svm_three_class_probabilities_sum_to_one),
         CASE(knn_zero_distances_take_all_the_weight),
         CASE(knn_disagreeing_tie_at_k_refused),
         CASE(knn_more_neighbours_than_samples_refused),
         CASE(knn_tree_checked_and_searched),
         CASE(knn_tree_not_a_permutation_refused),
         CASE(knn_tree_overlapping_leaves_refused))
