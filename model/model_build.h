/* model_build.h - the model core's construction API, used by serialize/
 * (and the unit tests) to turn a file's parts into a struct model: one
 * create function per estimator family, with the parameter structs they
 * take. What a built model answers is model.h.
 */
#ifndef PREDICTD_MODEL_BUILD_H
#define PREDICTD_MODEL_BUILD_H

#include "model.h"

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

/* All arrays are n_features long unless said otherwise and are copied. */

/* MinMaxScaler: x * scale + min, then clipped to [lo, hi] when clip. */
int model_minmax_create(size_t n_features, const double *scale,
                        const double *min, bool clip, double lo, double hi,
                        struct model **out, struct model_error *err);

/* MaxAbsScaler: x / scale. */
int model_maxabs_create(size_t n_features, const double *scale,
                        struct model **out, struct model_error *err);

/* RobustScaler: (x - center) / scale; either may be NULL. */
int model_robust_create(size_t n_features, const double *center,
                        const double *scale, struct model **out,
                        struct model_error *err);

enum model_norm { MODEL_NORM_L1, MODEL_NORM_L2, MODEL_NORM_MAX };

/* Normalizer: each row divided by its norm (norms near 0 count as 1). */
int model_normalizer_create(size_t n_features, enum model_norm norm,
                            struct model **out, struct model_error *err);

/* PolynomialFeatures with degrees min_degree..max_degree; the output
 * width is computed and must not exceed max_out (-E2BIG otherwise). */
int model_poly_create(size_t n_features, size_t min_degree,
                      size_t max_degree, bool interaction_only,
                      bool include_bias, size_t max_out, struct model **out,
                      struct model_error *err);

/* PCA and TruncatedSVD (name is one of the two; -EINVAL otherwise):
 * components is n_components x n_features.
 * mean NULL: no centering (TruncatedSVD). center_after: scikit-learn
 * >= 1.5 projects first and subtracts mean @ components.T afterwards.
 * variance non-NULL whitens by sqrt(variance) (n_components long);
 * clip_eps also raises those scales to at least DBL_EPSILON (>= 1.5). */
int model_projection_create(const char *name, size_t n_features,
                            size_t n_components, const double *components,
                            const double *mean, bool center_after,
                            const double *variance, bool clip_eps,
                            struct model **out, struct model_error *err);

/* VarianceThreshold, SelectKBest, SelectFromModel: keeps the columns
 * whose mask entry is true, in order. name is one of the three class
 * names (-EINVAL otherwise); a mask selecting nothing is -EINVAL. */
int model_select_create(const char *name, size_t n_features,
                        const bool *mask, struct model **out,
                        struct model_error *err);

enum model_threshold_ref {
        MODEL_THRESHOLD_MEAN,   /* np.mean(scores) */
        MODEL_THRESHOLD_MEDIAN, /* np.median(scores) */
};

/* SelectFromModel's reference threshold over n > 0 finite scores,
 * rounded as numpy's mean and median round. */
double model_select_threshold(const double *scores, size_t n,
                              enum model_threshold_ref ref);

/* SimpleImputer: cells equal to missing (NaN when missing_nan; missing
 * may be a string cell) become statistics[j]. A NaN statistic drops its
 * column unless keep_all. A column whose statistic is a string cell
 * (model_strings_intern) reads and gives strings.
 * indicator[0..n_indicator) (add_indicator=True: MissingIndicator's
 * features_) appends one 0/1 column per listed input feature, 1 where
 * that feature was missing. */
int model_imputer_create(size_t n_features, const double *statistics,
                         bool missing_nan, double missing, bool keep_all,
                         const size_t *indicator, size_t n_indicator,
                         struct model **out, struct model_error *err);

/* KBinsDiscretizer: feature j has edges[offsets[j] .. offsets[j+1]) (at
 * least 2 each). The bin is the searchsorted(right) position among the
 * inner edges; with tolerance (scikit-learn < 1.1) it is digitize(x + eps)
 * over all but the first edge, clipped to the last bin, eps being
 * 1e-8 + 1e-5 * |x|. onehot writes one dense indicator column per bin. */
int model_kbins_create(size_t n_features, const size_t *offsets,
                       const double *edges, bool tolerance, bool onehot,
                       struct model **out, struct model_error *err);

/* ColumnTransformer and FeatureUnion (name is one of the two; -EINVAL
 * otherwise; a FeatureUnion's parts each list every column): part i
 * transforms the input columns
 * cols[offsets[i] .. offsets[i+1]) (gathered in that order; a NULL part
 * is 'passthrough') and the outputs are placed side by side; each is
 * multiplied by weights[i] when weights is non-NULL. Takes ownership of
 * parts[0..n) (also on failure); cols, offsets (n + 1 long) and weights
 * are copied. -EINVAL for a part selecting no or out-of-range columns or
 * one that is not a transformer of that width. */
int model_column_transformer_create(const char *name, size_t n_features,
                                    struct model **parts,
                                    const size_t *cols, const size_t *offsets,
                                    const double *weights, size_t n,
                                    struct model **out,
                                    struct model_error *err);

/* How TransformedTargetRegressor maps predictions back: the inverse of
 * its fitted target transformer. */
enum model_target_inverse {
        MODEL_TARGET_IDENTITY, /* FunctionTransformer without functions */
        MODEL_TARGET_STANDARD, /* StandardScaler: y * scale + shift (either NULL) */
        MODEL_TARGET_MINMAX,   /* MinMaxScaler: (y - shift) / scale */
};

/* TransformedTargetRegressor: regressor's predictions (n outputs) through
 * the inverse above; shift and scale are n long (ignored for identity) and
 * copied. Takes ownership of regressor (also on failure). -EINVAL when it
 * is not a regressor, n differs from its outputs, or a value is not
 * finite. */
int model_target_regressor_create(struct model *regressor, enum model_target_inverse kind,
                                  size_t n, const double *shift, const double *scale,
                                  struct model **out, struct model_error *err);

/* What an encoder does with a value that is none of its categories. */
enum model_unknown {
        MODEL_UNKNOWN_ERROR,  /* transform fails with -EINVAL naming the column */
        MODEL_UNKNOWN_IGNORE, /* one-hot: all zeros; ordinal: unknown_value */
        MODEL_UNKNOWN_INFREQUENT, /* one-hot: the infrequent column if the
                                   * feature has one, else all zeros */
};

/* OneHotEncoder (onehot) and OrdinalEncoder (model/encode.c). All arrays
 * are copied. */
struct model_encoder_params {
        bool onehot;
        size_t n_features;
        /* feature j's categories are cats[offsets[j] .. offsets[j+1]), in
         * categories_ order: finite and strictly increasing numbers, or,
         * where kinds (NULL: all numeric) says MODEL_COLUMN_STRING,
         * distinct string cells made by model_strings_intern */
        const size_t *offsets;
        const double *cats;
        const uint8_t *kinds;
        /* per feature (may be NULL): 1 when its last category is NaN,
         * which a missing cell (NaN) matches; 2 when it is Python's None,
         * which scikit-learn tells from NaN and no cell matches. That
         * category's cat is NaN. An ordinal encoder writes missing_value
         * for a NaN category, whatever its group says. */
        const uint8_t *missing;
        /* one-hot only, may be NULL: per feature, the output column
         * dropped, counted after grouping (the infrequent group may be
         * the one dropped), -1 for none */
        const int64_t *drop;
        /* may be NULL: each category's code within its feature, the
         * infrequent ones sharing the last (scikit-learn's
         * _default_to_infrequent_mappings) */
        const int64_t *group;
        /* with group: per feature, 1 when it has infrequent categories
         * (their shared code is its last), where unknown values go under
         * MODEL_UNKNOWN_INFREQUENT */
        const uint8_t *infrequent;
        enum model_unknown unknown;
        double unknown_value; /* ordinal code of an unknown value (NaN allowed) */
        double missing_value; /* ordinal code of a NaN category (encoded_missing_value) */
};

int model_encoder_create(const struct model_encoder_params *p, struct model **out,
                         struct model_error *err);

/* --- non-linear transformers (model/nonlinear.c) ------------------------ */

/* How PowerTransformer maps x with lambda l. */
enum model_power_method {
        MODEL_POWER_YEO_JOHNSON,       /* scikit-learn < 1.9: (pow(x + 1, l) - 1) / l */
        MODEL_POWER_YEO_JOHNSON_EXPM1, /* 1.9+, scipy.stats.yeojohnson: expm1(l log1p(x)) / l */
        MODEL_POWER_BOX_COX,           /* scipy.special.boxcox; a batch with x <= 0 is
                                        * refused (-EINVAL naming the cell) */
};

/* PowerTransformer: lambdas_ per feature, then (x - mean) / scale when
 * standardize (mean and scale from its StandardScaler; NULL without).
 * Arrays are n_features long and copied. NaN in gives NaN out. */
int model_power_create(size_t n_features, enum model_power_method method,
                       const double *lambdas, const double *mean, const double *scale,
                       struct model **out, struct model_error *err);

/* QuantileTransformer: quantiles is quantiles_ (n_quantiles x n_features,
 * row-major), references is references_ (n_quantiles); normal maps the
 * uniform output through norm.ppf, clipped as scikit-learn clips it.
 * Copied; -EINVAL for non-finite values or a count past the limit. */
int model_quantile_create(size_t n_features, size_t n_quantiles, const double *quantiles,
                          const double *references, bool normal, struct model **out,
                          struct model_error *err);

enum model_spline_extrapolation {
        MODEL_SPLINE_ERROR,    /* a value outside the knots refuses the batch */
        MODEL_SPLINE_CONSTANT,
        MODEL_SPLINE_LINEAR,
        MODEL_SPLINE_CONTINUE,
        MODEL_SPLINE_PERIODIC,
};

/* SplineTransformer: feature j's BSpline has knots[j * n_t .. +n_t) and
 * coefficients coef[j * n_coef * n_splines ..] (n_coef x n_splines,
 * row-major, n_coef = n_t - degree - 1), both copied. Output: n_splines
 * columns per feature, the last dropped without include_bias. */
struct model_spline_params {
        size_t n_features, degree, n_splines, n_t, n_coef;
        const double *knots;
        const double *coef;
        enum model_spline_extrapolation extrapolation;
        bool include_bias;
        bool missing_zeros;     /* handle_missing='zeros' (1.9+): NaN gives zeros */
        bool zero_period_zeros; /* 1.9+: periodic with a zero period maps x to 0 */
};

int model_spline_create(const struct model_spline_params *p, struct model **out,
                        struct model_error *err);

/* --- kernel family (model/kernel.c) -------------------------- */
/* (issue 3: SVMs and nearest neighbours are declared here) */

/* Which libsvm machine an SVM model is. */
enum model_svm_kind {
        MODEL_SVM_SVC,       /* SVC, NuSVC: one-vs-one classifiers */
        MODEL_SVM_SVR,       /* SVR, NuSVR: one regression value */
        MODEL_SVM_ONE_CLASS, /* OneClassSVM: predict is +1 / -1 */
};

enum model_svm_kernel {
        MODEL_SVM_LINEAR,  /* <x, s> */
        MODEL_SVM_POLY,    /* (gamma <x, s> + coef0) ^ degree */
        MODEL_SVM_RBF,     /* exp(-gamma |x - s|^2) */
        MODEL_SVM_SIGMOID, /* tanh(gamma <x, s> + coef0) */
};

/* A fitted SVM as libsvm keeps it (scikit-learn's private attributes,
 * before it flips signs for binary classifiers). */
struct model_svm_params {
        const char *name; /* scikit-learn's class name, at most 47 bytes */
        enum model_svm_kind kind;
        enum model_svm_kernel kernel;
        double gamma, coef0;
        int degree;           /* poly only; 0..MODEL_SVM_MAX_DEGREE */
        size_t n_sv;          /* rows of sv */
        const double *sv;     /* support_vectors_: n_sv x n_features */
        /* _dual_coef_: (n_classes - 1) x n_sv for SVC, 1 x n_sv otherwise */
        const double *dual_coef;
        /* _intercept_ (libsvm's -rho): one per class pair for SVC, else 1 */
        const double *intercept;
        /* SVC: support vectors per class (sum n_sv), in class order */
        const size_t *n_support;
        /* SVC: Platt parameters, one per class pair, or both NULL */
        const double *prob_a, *prob_b;
        bool ovr;        /* SVC: decision_function_shape 'ovr' */
        bool break_ties; /* SVC: predict is argmax of the ovr values */
        /* OneClassSVM: offset_ (one value), score_samples being
         * decision_function + offset_; NULL for none (before 0.20) */
        const double *offset;
};

#define MODEL_SVM_MAX_DEGREE 64

/* An SVM (SVC, NuSVC, SVR, NuSVR, OneClassSVM) computing what libsvm
 * computes. classes: n_classes labels for SVC, NULL/0 otherwise. A
 * OneClassSVM is a regressor whose predict values are +1 and -1, whose
 * decision_function is one column and which has score_samples when given
 * a finite offset. Copies everything; errors and ownership as the other
 * create functions. */
int model_svm_create(const struct model_svm_params *p, size_t n_features,
                     const struct model_label *classes, size_t n_classes,
                     struct model **out, struct model_error *err);

/* How a nearest-neighbours model weighs and measures. */
/* The KD tree or ball tree a KNeighbors model was pickled with (_tree):
 * idx_array and node_data's idx_start, idx_end, is_leaf and radius, and
 * node_bounds: for a KD tree 2 x n_nodes x n_features (lower bounds, then
 * upper), for a ball tree n_nodes x n_features centroids. */
struct model_knn_tree {
        bool ball;
        size_t n_nodes;
        const int64_t *idx;           /* n_samples */
        const int64_t *start, *end;   /* n_nodes */
        const bool *leaf;             /* n_nodes */
        const double *radius;         /* n_nodes, ball tree; else NULL */
        const double *bounds;
};

struct model_knn_params {
        const char *name;   /* scikit-learn's class name, at most 47 bytes */
        size_t n_samples;   /* rows of fit_x */
        const double *fit_x; /* _fit_X: n_samples x n_features */
        size_t k;           /* n_neighbors, 1..n_samples */
        int p;              /* 1: manhattan, 2: euclidean */
        bool distance;      /* weights='distance' (else 'uniform') */
        /* classifier: the class index of each sample (_y); regressor:
         * n_samples x n_outputs targets */
        const size_t *y_idx;
        const double *y;
        /* Distances that scikit-learn took from |x|^2 - 2 x.y + |y|^2
         * (brute-force euclidean before 1.0): near a training sample that
         * sum cancels to BLAS rounding, so with distance weights a row that
         * close to a sample is refused with -EINVAL. */
        bool expanded_distances;
        /* Distances that scikit-learn's KD tree or ball tree took as
         * predictd does (the sum of |d| or d^2 in feature order), so their
         * order is exact and only bit-equal distances tie. */
        bool tree_distances;
        /* When given, queries replay scikit-learn's search of this tree, so
         * samples at equal distances are kept as scikit-learn keeps them
         * and no row is refused for a tie. */
        const struct model_knn_tree *tree;
};

/* KNeighborsClassifier (classes given) or KNeighborsRegressor (classes
 * NULL, n_outputs >= 1) by brute force over the training rows. Neighbours
 * are the k nearest; a row whose k-th and (k+1)-th candidates are at the
 * same distance (within rounding; exactly, with tree_distances) and
 * disagree on the answer is refused
 * with -EINVAL at prediction time, since which one scikit-learn keeps
 * depends on its tree or heap. Copies everything; errors as above. */
int model_knn_create(const struct model_knn_params *p, size_t n_features,
                     size_t n_outputs, const struct model_label *classes,
                     size_t n_classes, struct model **out,
                     struct model_error *err);

/* --- probabilistic family (model/probabilistic.c) ------------ */

/* How predict_proba normalises a naive Bayes joint log likelihood:
 * jll - logsumexp(jll) as scipy computes logsumexp. */
enum model_nb_lse {
        /* scipy < 1.15 (with scikit-learn 1.2): log(sum(exp(a - max))) + max */
        MODEL_NB_LSE_PLAIN,
        /* scipy >= 1.15 and scikit-learn 1.9's own: the maxima are taken
         * out of the sum, log1p(s / m) + log(m) + max with m of them */
        MODEL_NB_LSE_LOG1P,
};

/* GaussianNB. theta and var: n_classes x n_features, row-major (var_, or
 * sigma_ before 1.0, already holding epsilon_); prior: class_prior_.
 * jll[c] = log(prior[c]) + (-0.5 sum(log(2 pi var[c])) - 0.5 sum((x -
 * theta[c])^2 / var[c])) with numpy's sums. Errors as above. */
int model_gaussian_nb_create(size_t n_features, const double *theta,
                             const double *var, const double *prior,
                             enum model_nb_lse lse,
                             const struct model_label *classes,
                             size_t n_classes, struct model **out,
                             struct model_error *err);

/* MultinomialNB (binarize NULL) and BernoulliNB (name "BernoulliNB",
 * binarize points at the threshold or is NULL for None). feature_log_prob:
 * n_classes x n_features; class_log_prior: n_classes. MultinomialNB:
 * jll = x @ flp.T + clp. BernoulliNB: x > threshold becomes 1, else 0;
 * neg = log(1 - exp(flp)); jll = x @ (flp - neg).T + (clp + sum(neg)). */
int model_discrete_nb_create(const char *name, size_t n_features,
                             const double *feature_log_prob,
                             const double *class_log_prior,
                             const double *binarize, enum model_nb_lse lse,
                             const struct model_label *classes,
                             size_t n_classes, struct model **out,
                             struct model_error *err);

/* Activations of MLPClassifier / MLPRegressor (scikit-learn's names). */
enum model_mlp_act {
        MODEL_MLP_IDENTITY,
        MODEL_MLP_LOGISTIC,
        MODEL_MLP_TANH,
        MODEL_MLP_RELU,
        MODEL_MLP_SOFTMAX, /* output only */
        MODEL_MLP_EXP,     /* output only (MLPRegressor, loss='poisson') */
};

#define MODEL_MLP_MAX_LAYERS 64    /* weight matrices */
#define MODEL_MLP_MAX_WIDTH 65536  /* units in one layer */

/* A multi-layer perceptron: n_mats weight matrices; widths[0..n_mats]
 * are the layer sizes (widths[0] = n_features); coefs[l] is widths[l] x
 * widths[l+1] row-major and intercepts[l] has widths[l+1] values, as
 * coefs_ and intercepts_. Forward pass as _forward_pass_fast: a @ W + b,
 * `hidden` after every layer but the last, `output` after the last.
 * Classifier (classes != NULL): one output unit (logistic) for two
 * classes, predict p > 0.5, proba [1 - p, p]; otherwise one unit per
 * class (softmax), argmax. Regressor (classes NULL): widths[n_mats]
 * values per row. Errors and ownership as above; nothing is taken. */
int model_mlp_create(size_t n_mats, const size_t *widths,
                     const double *const *coefs,
                     const double *const *intercepts,
                     enum model_mlp_act hidden, enum model_mlp_act output,
                     const struct model_label *classes, size_t n_classes,
                     struct model **out, struct model_error *err);

/* --- ensemble family (model/ensemble.c) ---------------------- */

/* Which ensemble of estimators a model is. */
enum model_ensemble_kind {
        MODEL_VOTING_HARD,   /* VotingClassifier(voting='hard') */
        MODEL_VOTING_SOFT,   /* VotingClassifier(voting='soft') */
        MODEL_VOTING_REGRESSOR,
        MODEL_STACKING_CLASSIFIER,
        MODEL_STACKING_REGRESSOR,
};

/* What a stacking member contributes (its stack_method_ entry). */
enum model_stack_method {
        MODEL_STACK_PREDICT,
        MODEL_STACK_PREDICT_PROBA,
        MODEL_STACK_DECISION_FUNCTION,
};

struct model_ensemble_params {
        enum model_ensemble_kind kind;
        /* Voting: n_members weights, or NULL for equal ones. */
        const double *weights;
        /* Stacking: n_members methods, and whether X follows the
         * members' columns (passthrough). */
        const enum model_stack_method *methods;
        bool passthrough;
        /* Stacking: final_estimator_, owned by the model (also on
         * failure). */
        struct model *final;
        /* Soft voting with flatten_transform=False transforms into a 3-D
         * array, which this API cannot return: no transform then. */
        bool no_transform;
};

/* VotingClassifier, VotingRegressor, StackingClassifier and
 * StackingRegressor over members[0..n_members), which the model owns
 * (also on failure). Classifiers take classes, the ensemble's labels
 * (its LabelEncoder's classes_); their classifier members, and a
 * stacking classifier's final estimator, must have been fitted on the
 * encoded labels, that is hold exactly the integer classes 0..n-1, as
 * scikit-learn fits them. Voting and stacking classifiers transform:
 * members' probabilities side by side (soft), their encoded votes
 * (hard) or the stacking features; a voting regressor transforms into
 * its members' predictions. Errors as above. */
int model_ensemble_create(const struct model_ensemble_params *p,
                          struct model **members, size_t n_members,
                          const struct model_label *classes, size_t n_classes,
                          struct model **out, struct model_error *err);

/* One calibrator of CalibratedClassifierCV, mapping a member's decision
 * value (or probability) t to a probability. */
enum model_calibrator_kind {
        MODEL_CALIBRATOR_SIGMOID,  /* _SigmoidCalibration: expit(-(a t + b)) */
        MODEL_CALIBRATOR_ISOTONIC, /* IsotonicRegression, out_of_bounds='clip' */
};

struct model_calibrator {
        enum model_calibrator_kind kind;
        double a, b;         /* sigmoid */
        /* isotonic: t is clipped to [x_min, x_max], then interpolated as
         * np.interp over n strictly increasing x with values y (copied) */
        size_t n;
        const double *x, *y;
        double x_min, x_max;
};

/* CalibratedClassifierCV over estimators[0..n) (owned by the model, also
 * on failure): estimator i, whose classes must all be among `classes`,
 * has calibrators cals[i][0..n_cals[i]), used as _CalibratedClassifier
 * does (decision_function when the estimator has one, else
 * predict_proba; the binary case calibrates the positive class only).
 * predict_proba averages the estimators'. Errors as above. */
int model_calibrated_create(struct model **estimators, size_t n,
                            const struct model_calibrator *const *cals,
                            const size_t *n_cals,
                            const struct model_label *classes, size_t n_classes,
                            struct model **out, struct model_error *err);

struct model_bagging_params {
        bool classifier;     /* BaggingClassifier, else BaggingRegressor */
        size_t n_estimators; /* the n_estimators parameter: the divisor */
        size_t n_jobs;       /* partitions summed apart, as joblib's jobs */
        /* estimators_features_: member i reads X columns
         * features[i][0..n_feat[i]) (copied) */
        const int64_t *const *features;
        const size_t *n_feat;
        size_t n_features;   /* X's width */
};

/* BaggingClassifier / BaggingRegressor over members[0..n) (owned, also on
 * failure). Classifier members hold encoded labels, a sorted subset of
 * 0..n_classes-1; predict_proba adds their probabilities (votes for
 * members without predict_proba) per job, adds the jobs and divides by
 * n_estimators, as _parallel_predict_proba does. Errors as above. */
int model_bagging_create(const struct model_bagging_params *p,
                         struct model **members, size_t n,
                         const struct model_label *classes, size_t n_classes,
                         struct model **out, struct model_error *err);

/* --- boosting (model/boosting.c) ------------------------------------ */

/* Which AdaBoost a boosting model is, and how it combines its members. */
enum model_adaboost_kind {
        MODEL_ADABOOST_SAMME_LEGACY, /* SAMME as scikit-learn < 1.4: w for the
                                      * predicted class, 0 elsewhere */
        MODEL_ADABOOST_SAMME,        /* 1.4+: w, and -w / (K - 1) elsewhere */
        MODEL_ADABOOST_SAMME_R,      /* SAMME.R (files before 1.6) */
        MODEL_ADABOOST_R2,           /* AdaBoostRegressor: weighted median */
};

struct model_adaboost_params {
        enum model_adaboost_kind kind;
        /* estimator_weights_ whole (n_weights >= the members; a boosting
         * that stopped early leaves zeros past them): member i's weight is
         * weights[i] and the decision is divided by the sum of all */
        const double *weights;
        size_t n_weights;
};

/* AdaBoostClassifier (classes: its classes_, which every member must
 * hold in the same order; SAMME.R members need predict_proba) or
 * AdaBoostRegressor (single-output regressor members; classes NULL, 0)
 * over members[0..n), owned by the model (also on failure). Copies the
 * weights. -EINVAL for inconsistent parts, -ENOMEM. */
int model_adaboost_create(const struct model_adaboost_params *p, struct model **members,
                          size_t n, const struct model_label *classes, size_t n_classes,
                          struct model **out, struct model_error *err);

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
 * features first (its _preprocessor): input column src, as it is
 * (numerical) or as its index in cats[0..n_cats) (categorical; NaN and
 * values not in cats become NaN), as OrdinalEncoder does. Numeric cats
 * are sorted and hold no NaN; with strings, cats are distinct string
 * cells (model_strings_intern) in categories_ order and src reads
 * strings. */
struct model_hgb_input {
        uint32_t src;
        bool categorical;
        bool strings;
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

/* --- clustering (model/cluster.c) ----------------------------------- */

/* KMeans or MiniBatchKMeans (name is one of the two) with centers
 * n_clusters x n_features (cluster_centers_, copied, finite). predict is
 * the nearest centre as scikit-learn's lloyd step computes it, served as a
 * classifier whose labels are the ints 0 .. n_clusters-1 (no
 * predict_proba); transform is the euclidean distance to each centre
 * (n_clusters columns). -EINVAL for another name or a non-finite centre,
 * -ENOMEM. */
int model_kmeans_create(const char *name, size_t n_features, size_t n_clusters,
                        const double *centers, struct model **out,
                        struct model_error *err);

/* --- string columns (model/strings.c) ------------------------------ */

/* Encoders and imputers fitted on string columns compare strings. A
 * model keeps every string it knows in one table; a string cell is passed
 * in the double matrices as a NaN-boxed code of that table, which no
 * number and no plain NaN (a missing value) can equal. serialize/ interns
 * the fitted strings while building and attaches the table to the
 * outermost model; callers turn request strings into cell values with
 * model_string_value. */
struct model_strings;

/* At most this many distinct strings in one model. */
#define MODEL_MAX_STRINGS ((size_t)1 << 24)

struct model_strings *model_strings_new(void);
void model_strings_free(struct model_strings *t);
/* The cell value of s (len bytes, copied on first use) into *value.
 * -E2BIG past MODEL_MAX_STRINGS strings, -ENOMEM. */
int model_strings_intern(struct model_strings *t, const char *s, size_t len,
                         double *value);
/* m (the outermost model) takes t over and frees it with itself. */
void model_attach_strings(struct model *m, struct model_strings *t);

/* --- multi-output classifiers (model/multioutput.c) ----------------- */

/* A classifier fitted on k >= 2 outputs (a 2-D y): outs[j] is output j's
 * single-output classifier (its classes are classes_[j]), all of the same
 * width. Takes ownership of outs[0..k) (also on failure); name names it
 * in messages. */
int model_multioutput_create(const char *name, struct model **outs, size_t k,
                             struct model **out, struct model_error *err);

/* --- large models' memory (model/slab.c) ---------------------------- */

/* While a slab is open on a thread, the large tables of the models that
 * thread builds (today a tree's nodes and leaf values) come from a few
 * mappings backed by huge pages instead of malloc: for a large file, one
 * page fault where malloc takes hundreds. expect_bytes sizes the
 * mappings (the file's size will do). Close it on the same thread once
 * the models are built, whether or not they were; the memory goes when
 * the last model using it is freed. Returns NULL when out of memory (the
 * models are then built with malloc). */
struct model_slab;
struct model_slab *model_slab_open(size_t expect_bytes);
void model_slab_close(struct model_slab *s);

/* --- building's last steps ------------------------------------------- */

/* Marks a regressor as above; serialize/ calls it while building, before
 * the model is shared. Ignored for other models. */
void model_set_outputs_2d(struct model *m, bool on);

#endif
