/* model.h - the model core: native estimators and their math.
 *
 * A `struct model` is one fitted scikit-learn estimator (or a Pipeline of
 * them) in plain native memory. It is built once by serialize/, is
 * immutable afterwards and may be used from any number of threads at once.
 * Nothing here does I/O, parses files or logs.
 *
 * Errors: functions returning int give 0 on success or a negative errno
 * value; a human-readable reason goes into the caller's struct model_error.
 */
#ifndef PREDICTD_MODEL_H
#define PREDICTD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;

struct model_error {
        char message[320];
};

/* What a model's predict() returns. */
enum model_type {
        MODEL_TYPE_CLASSIFIER,  /* predict -> class label, maybe predict_proba */
        MODEL_TYPE_REGRESSOR,   /* predict -> n_outputs numbers */
        MODEL_TYPE_TRANSFORMER, /* transform only (a pipeline step) */
};

/* A class label exactly as scikit-learn holds it in `classes_`. */
enum model_label_type {
        MODEL_LABEL_INT,
        MODEL_LABEL_FLOAT,
        MODEL_LABEL_BOOL,
        MODEL_LABEL_STR,
};

struct model_label {
        enum model_label_type type;
        union {
                int64_t i;
                double f;
                bool b;
                const char *s; /* NUL-terminated UTF-8, owned by the model */
        } v;
};

/* How LogisticRegression turns decision values into probabilities. */
enum model_logreg_proba {
        MODEL_LOGREG_OVR,         /* expit, then normalised (binary: 1-p, p) */
        MODEL_LOGREG_MULTINOMIAL, /* softmax (binary: softmax of [-d, d]) */
};

/* A tree node as scikit-learn's Tree stores it. left == -1 marks a leaf. */
struct model_tree_node {
        int64_t left;
        int64_t right;
        int64_t feature;
        double threshold;
};

/* --- construction (used by serialize/) ------------------------------ */

/* Each create function copies what it is given; on success *out owns a new
 * model the caller frees with model_free(). `classes` strings are copied.
 * Returns -EINVAL when the parts are inconsistent (message says how),
 * -ENOMEM when out of memory. */

/* coef: n_rows x n_features, row-major; n_rows is 1 for a binary problem
 * (then n_classes must be 2), n_classes otherwise. */
int model_logreg_create(size_t n_features, size_t n_rows, const double *coef,
                        const double *intercept, enum model_logreg_proba proba,
                        const struct model_label *classes, size_t n_classes,
                        struct model **out, struct model_error *err);

/* mean and scale may each be NULL (with_mean=False / with_std=False). */
int model_scaler_create(size_t n_features, const double *mean,
                        const double *scale, struct model **out,
                        struct model_error *err);

/* values: n_nodes x n_classes (one output). normalize: probabilities are
 * each leaf's values divided by their sum (scikit-learn < 1.4, which
 * stored weighted counts) rather than the values as stored (1.4+, which
 * stores fractions). The tree keeps no classes of its own when used inside
 * a forest; pass classes for a standalone tree. */
int model_tree_create(size_t n_features, size_t n_nodes,
                      const struct model_tree_node *nodes, const double *values,
                      size_t n_classes, bool normalize,
                      const struct model_label *classes, struct model **out,
                      struct model_error *err);

/* Takes ownership of trees[0..n_trees) (also on failure) which must all be
 * trees made by model_tree_create with the same n_features and n_classes. */
int model_forest_create(struct model **trees, size_t n_trees,
                        const struct model_label *classes, size_t n_classes,
                        struct model **out, struct model_error *err);

/* Takes ownership of steps[0..n) (also on failure). A NULL step is
 * 'passthrough'. All but the last must be transformers. */
int model_pipeline_create(struct model **steps, const char *const *names,
                          size_t n, struct model **out,
                          struct model_error *err);

/* --- linear family (model/linear.c) --------------------------------- */

/* How a linear classifier turns decision values d into predict_proba. */
enum model_linear_proba {
        MODEL_LINEAR_NO_PROBA,      /* no predict_proba (hinge, perceptron, ...) */
        MODEL_LINEAR_OVR,           /* expit, normalised; 0/0 stays NaN (< 1.9) */
        MODEL_LINEAR_OVR_UNIFORM,   /* as OVR, all-zero rows uniform (1.9+) */
        MODEL_LINEAR_MULTINOMIAL,   /* softmax (binary: softmax of [-d, d]) */
        MODEL_LINEAR_MODIFIED_HUBER, /* (clip(d, -1, 1) + 1) / 2, normalised */
};

/* A linear classifier named `name` (scikit-learn's class name, copied,
 * at most 47 bytes): decision_function = X @ coef.T + intercept; predict
 * is classes[d > 0] with one row, argmax otherwise. coef: n_rows x
 * n_features, row-major; n_rows is 1 for a binary problem (then n_classes
 * must be 2), n_classes otherwise. Errors and ownership as above. */
int model_linear_classifier_create(const char *name, size_t n_features,
                                   size_t n_rows, const double *coef,
                                   const double *intercept,
                                   enum model_linear_proba proba,
                                   const struct model_label *classes,
                                   size_t n_classes, struct model **out,
                                   struct model_error *err);

/* A linear regressor: predict = X @ coef.T + intercept, n_targets values
 * per row. coef: n_targets x n_features, row-major; intercept: n_targets.
 * Errors and ownership as above. */
int model_linear_regressor_create(const char *name, size_t n_features,
                                  size_t n_targets, const double *coef,
                                  const double *intercept, struct model **out,
                                  struct model_error *err);

/* --- tree family (model/tree.c) --------------------------------------- */

/* A regression tree (DecisionTreeRegressor, or one member of a forest or a
 * gradient boosting ensemble). values: n_nodes x n_outputs, the leaf
 * means as scikit-learn stores them; predict returns values[leaf]. */
int model_tree_regressor_create(size_t n_features, size_t n_nodes,
                                const struct model_tree_node *nodes,
                                const double *values, size_t n_outputs,
                                struct model **out, struct model_error *err);

/* Which scikit-learn forest a forest model is; it names the model and
 * decides the kind of trees it takes. */
enum model_forest_kind {
        MODEL_FOREST_RANDOM_CLASSIFIER,
        MODEL_FOREST_EXTRA_CLASSIFIER,
        MODEL_FOREST_RANDOM_REGRESSOR,
        MODEL_FOREST_EXTRA_REGRESSOR,
};

/* As model_forest_create, for any forest kind. Classifier forests take
 * trees from model_tree_create and average probabilities; regressor
 * forests take trees from model_tree_regressor_create (same n_features and
 * n_outputs; classes NULL, n_classes 0) and average their values, adding
 * in tree order and dividing by the count as scikit-learn does. Takes
 * ownership of trees[0..n_trees) (also on failure). */
int model_forest_kind_create(enum model_forest_kind kind, struct model **trees,
                             size_t n_trees, const struct model_label *classes,
                             size_t n_classes, struct model **out,
                             struct model_error *err);

/* How a gradient boosting ensemble turns raw predictions into answers. */
enum model_gb_loss {
        MODEL_GB_REGRESSION,  /* identity: predict is the raw value */
        MODEL_GB_BINOMIAL,    /* log-loss, 2 classes: expit(raw) */
        MODEL_GB_EXPONENTIAL, /* AdaBoost loss, 2 classes: expit(2 raw) */
        MODEL_GB_MULTINOMIAL, /* log-loss, K > 2 classes: softmax(raw) */
};

struct model_gb_params {
        enum model_gb_loss loss;
        double learning_rate;
        size_t n_stages; /* rows of estimators_ */
        size_t k;        /* trees per stage: n_classes if multinomial, else 1 */
        /* init_: NULL for 'zero'; else what the Dummy estimator predicts,
         * the same for every row: DummyRegressor's constant (1 value) or
         * DummyClassifier's class prior (n_classes values). */
        const double *init;
        /* Files from scikit-learn < 1.4 (sklearn.ensemble._gb_losses):
         * predict takes argmax of the probabilities rather than of raw
         * values (binary ties go to the first class) and a multinomial
         * init is log(p) rather than log(p / geometric mean(p)). */
        bool legacy;
};

/* GradientBoostingRegressor / GradientBoostingClassifier. trees holds
 * n_stages x k regression trees (model_tree_regressor_create, one output)
 * row-major, owned by the model (also on failure). classes: n_classes
 * labels for a classifier, NULL/0 for a regressor. */
int model_gb_create(const struct model_gb_params *p, struct model **trees,
                    const struct model_label *classes, size_t n_classes,
                    struct model **out, struct model_error *err);

/* --- preprocessing family (model/preprocess.c) ------------------------ */
/* (issue 3: transformers are declared here) */

/* --- kernel family (model/kernel.c) -------------------------- */
/* (issue 3: SVMs and nearest neighbours are declared here) */

/* --- probabilistic family (model/probabilistic.c) ------------ */
/* (issue 3: naive Bayes and neural networks are declared here) */

/* --- ensemble family (model/ensemble.c) ---------------------- */
/* (issue 3: voting, stacking, bagging and calibration are declared here) */

/* --- hist family (model/hist.c) ------------------------------ */
/* (issue 3: histogram gradient boosting and isolation forests are declared here) */

/* One node of a HistGradientBoosting TreePredictor (PREDICTOR_RECORD_DTYPE).
 * Children come after their parent. A categorical split sends a category
 * left when it is in the tree's left bitset bitset_idx. */
struct model_hgb_node {
        double value;         /* leaf value */
        double num_threshold; /* numerical split: x <= num_threshold goes left */
        uint32_t feature;
        uint32_t left, right;
        uint32_t bitset_idx;
        bool is_leaf, missing_go_to_left, is_categorical;
};

/* One TreePredictor: nodes and raw_left_cat_bitsets (n_bitsets x 8 words). */
struct model_hgb_tree {
        size_t n_nodes;
        const struct model_hgb_node *nodes;
        size_t n_bitsets;
        const uint32_t *left_cat_bitsets;
};

/* The loss's inverse link, which turns raw predictions into answers. */
enum model_hgb_link {
        MODEL_HGB_IDENTITY, /* regressor: squared, absolute, quantile errors */
        MODEL_HGB_LOG,      /* regressor: poisson, gamma (predict = exp(raw)) */
        MODEL_HGB_LOGIT,    /* binary classifier: expit */
        MODEL_HGB_SOFTMAX,  /* multiclass classifier */
};

/* One column the trees see when a file (1.4+) encodes its categorical
 * features first: input column src, as it is (numerical) or as its index
 * in cats[0..n_cats), which is sorted and holds no NaN (categorical; NaN
 * and values not in cats become NaN), as OrdinalEncoder does. serialize/
 * does not make these yet: those files hold functools.partial, which the
 * loader refuses. */
struct model_hgb_input {
        uint32_t src;
        bool categorical;
        size_t n_cats;
        const double *cats;
};

struct model_hgb_params {
        enum model_hgb_link link;
        size_t n_features;
        size_t n_iter;   /* len(_predictors) */
        size_t k;        /* n_trees_per_iteration_ */
        const double *baseline;              /* k values (_baseline_prediction) */
        const struct model_hgb_tree *trees;  /* n_iter x k, row-major */
        /* The bin mapper's known categories: known_cat_bitsets (n_cat x 8
         * words) and, per feature, its row there (UINT32_MAX when the
         * feature is numerical). */
        size_t n_cat;
        const uint32_t *known_cat_bitsets;
        const uint32_t *f_idx_map; /* n_features */
        /* NULL: the trees see X as it is; else n_features columns. */
        const struct model_hgb_input *inputs;
        /* scikit-learn < 1.5: predict is argmax(predict_proba) rather than
         * raw > 0 / argmax(raw). */
        bool predict_from_proba;
};

/* HistGradientBoostingRegressor (classes NULL, n_classes 0) or
 * HistGradientBoostingClassifier. Copies everything it is given. Returns
 * -EINVAL when the parts are inconsistent (a child out of order, a
 * feature or bitset out of range, a non-finite leaf value), -ENOMEM. */
int model_hgb_create(const struct model_hgb_params *p,
                     const struct model_label *classes, size_t n_classes,
                     struct model **out, struct model_error *err);

/* One member of an IsolationForest: an ExtraTreeRegressor's nodes and,
 * per node, the two terms sklearn adds for a row ending there: its path
 * length (nodes on the path, or _decision_path_lengths from 1.4) and
 * _average_path_length of its sample count. features: the member's
 * columns of X (estimators_features_), or NULL when it sees X whole. */
struct model_iforest_tree {
        size_t n_features; /* columns the tree reads */
        size_t n_nodes;
        const struct model_tree_node *nodes;
        const double *path_length;
        const double *avg_path_length;
        const int64_t *features;
        /* 1.9 routes NaN by each node's missing_go_to_left; NULL when the
         * version refuses NaN (every tree must agree). */
        const uint8_t *missing_go_to_left;
};

/* scikit-learn's _average_path_length c(n) of one sample count. */
double model_iforest_average_path_length(double n);

/* IsolationForest: score_samples = -2^(-depths / (n_trees *
 * c(max_samples))), where depths adds path_length + avg_path_length - 1
 * of each tree's leaf in tree order; decision_function = score_samples -
 * offset; predict is -1 where decision_function < 0, else 1 (served as a
 * one-output regressor). Rows holding NaN are refused unless the trees
 * carry missing_go_to_left. Copies what it is given. -EINVAL for
 * inconsistent parts, -ENOMEM. */
int model_iforest_create(size_t n_features, const struct model_iforest_tree *trees,
                         size_t n_trees, double max_samples, double offset,
                         struct model **out, struct model_error *err);

/* Accepts NULL and half-built models. */
void model_free(struct model *m);

/* --- use (server/ and main) ----------------------------------------- */

enum model_type model_get_type(const struct model *m);
size_t model_n_features(const struct model *m);
/* Number of classes, 0 for a transformer. */
size_t model_n_classes(const struct model *m);
/* Label i (i < model_n_classes); the pointer lives as long as the model. */
const struct model_label *model_class_label(const struct model *m, size_t i);
bool model_has_proba(const struct model *m);

/* Writes a one-line description such as
 * "Pipeline(scaler=StandardScaler, clf=RandomForestClassifier[100 trees])"
 * into buf (always NUL-terminated, truncated to len). */
void model_describe(const struct model *m, char *buf, size_t len);

/* Regressors: values per row (1 for a single target). 0 otherwise. */
size_t model_n_outputs(const struct model *m);
/* Columns decision_function returns per row (1 for a binary classifier),
 * or 0 when the model has no decision_function. */
size_t model_decision_width(const struct model *m);
/* Columns transform returns per row, or 0 when the model does not
 * transform. */
size_t model_transform_width(const struct model *m);

/* Regression: writes out[rows x model_n_outputs]. -ENOTSUP for a model
 * that is not a regressor, -EINVAL for input it refuses. */
int model_predict_values(const struct model *m, const double *X, size_t rows,
                         double *out, struct model_error *err);

/* decision_function: writes out[rows x model_decision_width]. */
int model_decision_function(const struct model *m, const double *X,
                            size_t rows, double *out, struct model_error *err);

/* transform: writes out[rows x model_transform_width]. */
int model_transform(const struct model *m, const double *X, size_t rows,
                    double *out, struct model_error *err);

/* Classifies rows x n_features doubles (row-major). On success writes
 * class_idx[rows] (index into the class labels) and, when proba is not
 * NULL and the model has predict_proba, proba[rows x n_classes].
 * Returns -EINVAL for input the model refuses (the message names the row
 * and column), -ENOMEM, or -ENOTSUP for a model that cannot classify. */
int model_predict(const struct model *m, const double *X, size_t rows,
                  size_t *class_idx, double *proba, struct model_error *err);

#endif
