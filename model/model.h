/* model.h - the model core's use API: what a loaded model answers.
 *
 * A `struct model` is one fitted scikit-learn estimator (or a Pipeline of
 * them) in plain native memory. It is built once by serialize/ (through
 * model_build.h, the construction API), is immutable afterwards and may be
 * used from any number of threads at once. server/ needs only this file.
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
        /* The input column the message is about, when a step that reads
         * the model's input refused a value; MODEL_NO_COLUMN otherwise
         * (the column numbers in the message are then the step's own). */
        size_t column;
};

#define MODEL_NO_COLUMN ((size_t)-1)

/* The English ordinal of n for messages ("1st", "2nd", "3rd", "11th",
 * "22nd", "113th"), written into buf and returned; every message that
 * counts in words uses it. */
#define MODEL_ORDINAL_SIZE 24
const char *model_ordinal(size_t n, char buf[MODEL_ORDINAL_SIZE]);

/* What a model's predict() returns. */
enum model_type {
        MODEL_TYPE_CLASSIFIER,  /* predict -> class label, maybe predict_proba */
        MODEL_TYPE_REGRESSOR,   /* predict -> n_outputs numbers */
        MODEL_TYPE_TRANSFORMER, /* transform only (a pipeline step) */
        MODEL_TYPE_MULTI_CLASSIFIER, /* several outputs, each with its classes:
                                      * model_predict_output */
};

/* A class label exactly as scikit-learn holds it in `classes_`. */
enum model_label_type {
        MODEL_LABEL_INT,
        MODEL_LABEL_UINT, /* classes_ of dtype uint64: values up to 2^64 - 1 */
        MODEL_LABEL_FLOAT,
        MODEL_LABEL_BOOL,
        MODEL_LABEL_STR,
};

struct model_label {
        enum model_label_type type;
        union {
                int64_t i;
                uint64_t u;
                double f;
                bool b;
                const char *s; /* NUL-terminated UTF-8, owned by the model */
        } v;
};

/* --- string cells ------------------------------------------------------ */

/* A string a request sends becomes a double cell: a NaN-boxed code of the
 * model's string table (model_build.h, string columns), which no number
 * and no plain NaN (a missing value) can equal. The cell value of s for m: its code, or a code that means "a string
 * the model never saw", which encoders treat as an unknown category and
 * imputers do not treat as missing. */
double model_string_value(const struct model *m, const char *s, size_t len);
bool model_is_string_value(double v);

enum model_column_kind {
        MODEL_COLUMN_NUMBER, /* numbers (and NaN where accepted) */
        MODEL_COLUMN_STRING, /* string cells (and NaN: a missing value) */
        MODEL_COLUMN_ANY,    /* a column the model never reads (a dropped one) */
};

/* What input column col holds. */
enum model_column_kind model_column_kind(const struct model *m, size_t col);
/* True when some input column holds strings. */
bool model_takes_strings(const struct model *m);

/* --- use (server/ and main) ----------------------------------------- */

/* Accepts NULL and half-built models. */
void model_free(struct model *m);

enum model_type model_get_type(const struct model *m);
size_t model_n_features(const struct model *m);
/* Number of classes, 0 for a transformer. */
size_t model_n_classes(const struct model *m);
/* Label i (i < model_n_classes); the pointer lives as long as the model. */
const struct model_label *model_class_label(const struct model *m, size_t i);
bool model_has_proba(const struct model *m);
/* True when the model has score_samples (IsolationForest, OneClassSVM,
 * a Pipeline ending in one of them). */
bool model_has_score_samples(const struct model *m);
/* True when the model takes NaN as a missing value (HistGradientBoosting,
 * a pipeline that starts with a NaN SimpleImputer, ...); for every other
 * model NaN input is an error. */
bool model_accepts_nan(const struct model *m);

/* Writes a one-line description such as
 * "Pipeline(scaler=StandardScaler, clf=RandomForestClassifier[100 trees])"
 * into buf (always NUL-terminated, truncated to len). */
void model_describe(const struct model *m, char *buf, size_t len);

/* Regressors: values per row (1 for a single target). 0 otherwise. */
size_t model_n_outputs(const struct model *m);
/* True for a regressor whose predict scikit-learn returns as rows x
 * n_outputs even with one target: one fitted on y of shape (n, 1)
 * (LinearRegression, Ridge, KNeighborsRegressor, TransformedTargetRegressor
 * and a Pipeline ending in one). The values are the same either way. */
bool model_outputs_2d(const struct model *m);
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

/* score_samples: writes out[rows], one score per row (higher is more
 * normal for the outlier detectors). -ENOTSUP when the model has none
 * (model_has_score_samples), -EINVAL for input it refuses. */
int model_score_samples(const struct model *m, const double *X, size_t rows,
                        double *out, struct model_error *err);

/* transform: writes out[rows x model_transform_width]. */
int model_transform(const struct model *m, const double *X, size_t rows,
                    double *out, struct model_error *err);

/* Multi-output classifiers: the number of outputs (0 for other models),
 * and the single-output classifier that holds output j's classes (use
 * model_n_classes / model_class_label on it; it lives as long as m). */
size_t model_n_class_outputs(const struct model *m);
const struct model *model_output_classes(const struct model *m, size_t j);
/* As model_predict, for output j of a multi-output classifier: class
 * indices into output j's classes and, when proba is not NULL,
 * proba[rows x that output's n_classes]. */
int model_predict_output(const struct model *m, size_t j, const double *X, size_t rows,
                         size_t *class_idx, double *proba, struct model_error *err);

/* Classifies rows x n_features doubles (row-major). On success writes
 * class_idx[rows] (index into the class labels) and, when proba is not
 * NULL and the model has predict_proba, proba[rows x n_classes].
 * Returns -EINVAL for input the model refuses (the message names the row
 * and column), -ENOMEM, or -ENOTSUP for a model that cannot classify. */
int model_predict(const struct model *m, const double *X, size_t rows,
                  size_t *class_idx, double *proba, struct model_error *err);

#endif
