/* model_internal.h - what the estimator files of model/ share. Never
 * included from outside model/. */
#ifndef PREDICTD_MODEL_INTERNAL_H
#define PREDICTD_MODEL_INTERNAL_H

#include "model.h"

struct model_ops {
        const char *name; /* scikit-learn's class name */
        /* rows x n_features in -> rows x n_out out; transformers only. */
        int (*transform)(const struct model *m, const double *X, size_t rows,
                         double *out, struct model_error *err);
        /* Classifiers: class indices, and probabilities when proba != NULL
         * (only called with proba != NULL when has_proba). */
        int (*classify)(const struct model *m, const double *X, size_t rows,
                        size_t *class_idx, double *proba,
                        struct model_error *err);
        /* Regressors: rows x n_outputs values. */
        int (*regress)(const struct model *m, const double *X, size_t rows,
                       double *out, struct model_error *err);
        /* decision_function: rows x decision_width values. */
        int (*decision)(const struct model *m, const double *X, size_t rows,
                        double *out, struct model_error *err);
        void (*describe)(const struct model *m, char *buf, size_t len);
        void (*destroy)(struct model *m);
};

struct model {
        const struct model_ops *ops;
        enum model_type type;
        size_t n_features; /* input width */
        size_t n_out;      /* transformers: output width */
        size_t n_outputs;  /* regressors: targets per row */
        size_t decision_width; /* 0 without decision_function */
        bool has_proba;
        bool accepts_nan; /* NaN inputs mean "missing", as the model was fitted */
        bool outputs_2d;  /* see model_outputs_2d */
        struct model_label *classes; /* owned; NULL for transformers */
        size_t n_classes;
};

/* Fills the common header; copies classes (and their strings). */
int model_base_init(struct model *m, const struct model_ops *ops,
                    enum model_type type, size_t n_features,
                    const struct model_label *classes, size_t n_classes,
                    struct model_error *err);
/* Frees what model_base_init allocated. */
void model_base_release(struct model *m);

void model_set_error(struct model_error *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* numpy's float64 sum reduction (pairwise, 8-way unrolled) over n values,
 * so that normalisations round exactly as scikit-learn's do. */
double model_np_sum(const double *a, size_t n);
/* Index of the first maximum, as numpy.argmax. */
size_t model_np_argmax(const double *a, size_t n);
/* In place: scikit-learn's utils.extmath.softmax on one row. */
void model_softmax_row(double *row, size_t n);
/* scipy.special.logsumexp of one row: log(sum(exp(a - max))) + max.
 * scratch holds n doubles and may be a itself only if a may be lost. */
double model_logsumexp(const double *a, size_t n, double *scratch);
/* scipy.special.expit. */
double model_expit(double x);

#endif
