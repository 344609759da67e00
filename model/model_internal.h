/* model_internal.h - what the estimator files of model/ share. Never
 * included from outside model/. */
#ifndef PREDICTD_MODEL_INTERNAL_H
#define PREDICTD_MODEL_INTERNAL_H

#include "model_build.h"

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
        /* score_samples: rows values (only called when has_score). */
        int (*score)(const struct model *m, const double *X, size_t rows,
                     double *out, struct model_error *err);
        /* Multi-output classifiers: output j's class indices and
         * probabilities, as classify. */
        int (*classify_output)(const struct model *m, size_t j, const double *X, size_t rows,
                               size_t *class_idx, double *proba, struct model_error *err);
        void (*describe)(const struct model *m, char *buf, size_t len);
        void (*destroy)(struct model *m);
};

/* Where a row-by-row classify writes: class indices, and probabilities
 * (n_classes a row) unless proba is NULL. */
struct model_classify_out {
        size_t *class_idx;
        double *proba;
};

/* Two class labels are the same value of the same type (model.c). */
bool model_label_equal(const struct model_label *a, const struct model_label *b);

struct model {
        const struct model_ops *ops;
        enum model_type type;
        size_t n_features; /* input width */
        size_t n_out;      /* transformers: output width */
        size_t n_outputs;  /* regressors: targets per row */
        size_t decision_width; /* 0 without decision_function */
        bool has_proba;
        bool has_score;   /* score_samples through ops->score */
        bool accepts_nan; /* NaN inputs mean "missing", as the model was fitted */
        bool outputs_2d;  /* see model_outputs_2d */
        struct model_label *classes; /* owned; NULL for transformers */
        size_t n_classes;
        /* enum model_column_kind per input column (n_features) and, for
         * transformers, per output column (n_out); NULL: all numbers */
        uint8_t *in_kinds;
        uint8_t *out_kinds;
        /* MODEL_TYPE_MULTI_CLASSIFIER: n_class_outputs single-output
         * classifiers holding each output's classes (owned by the
         * multi-output model; a Pipeline borrows its last step's) */
        size_t n_class_outputs;
        struct model *const *class_outs;
        /* the outermost model's string table (model_attach_strings) */
        struct model_strings *strings;
};

/* Fills the common header; copies classes (and their strings). */
int model_base_init(struct model *m, const struct model_ops *ops,
                    enum model_type type, size_t n_features,
                    const struct model_label *classes, size_t n_classes,
                    struct model_error *err);
/* Frees what model_base_init allocated. */
void model_base_release(struct model *m);
/* Allocates a transformer of size bytes (a struct starting with struct
 * model) into *(struct model **)res with its header filled for
 * n_features in and n_out out; -EINVAL when either is 0, -ENOMEM
 * (preprocess.c). */
int model_transformer_new(size_t size, const struct model_ops *ops, size_t n_features,
                          size_t n_out, void *res, struct model_error *err);
/* Destroys the half-built m and reports ENOMEM naming it. */
int model_transformer_nomem(struct model *m, struct model_error *err);

/* --- large tables (slab.c) --- */

/* The calling thread's open slab with a reference taken, or NULL; an
 * object that allocates from it keeps the reference until its destroy
 * calls model_slab_drop (NULL is a no-op). */
struct model_slab *model_slab_take(void);
void model_slab_drop(struct model_slab *s);
/* n bytes from s, 64-byte aligned; malloc when s is NULL. NULL when out
 * of memory. Memory from a slab is given back by model_slab_drop, never
 * one table at a time: model_slab_free frees p only when s is NULL. */
void *model_slab_alloc(struct model_slab *s, size_t n);
void model_slab_free(struct model_slab *s, void *p);

/* --- string cells (strings.c) --- */

/* The cell value of the string with this code. */
double model_string_box(uint64_t code);
/* The code of a string cell; false for numbers, NaN and unknown strings. */
bool model_string_code_of(double v, uint64_t *code);
/* NaN that is not a string cell: a missing value. */
bool model_is_missing(double v);
/* Sets the column kinds (copied; NULL means all numbers). */
int model_set_kinds(struct model *m, const uint8_t *in, const uint8_t *out,
                    struct model_error *err);
/* Sorts the n keys (a string feature's categories as codes) ascending
 * in place and writes pos[k], the original position of the k-th key, so
 * that a binary search over keys finds a category's place in
 * categories_. -EINVAL when two keys are equal (a string listed twice),
 * -ENOMEM. */
int model_sort_keys(double *keys, size_t *pos, size_t n);
/* One reader's kind want for a column others (seen) read as *have: a
 * column a reader ignores (MODEL_COLUMN_ANY) takes the others' kind;
 * false when one reads strings and another numbers. */
bool model_merge_kind(uint8_t *have, bool seen, uint8_t want);
/* For composites whose members all read the model's input: merges
 * member's column kinds into m's (a column one member ignores takes the
 * others' kind); -EINVAL when they disagree. Call once per member, after
 * model_base_init. */
int model_merge_kinds(struct model *m, const struct model *member, struct model_error *err);
/* -ENOTSUP, naming parent, when member reads string columns: for the
 * composites that do not route column kinds. */
int model_need_numeric_input(const struct model *member, const char *parent,
                             struct model_error *err);

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
/* np.einsum("ij,ij->i", x, x) of one contiguous row of n values (sklearn's
 * row_norms(squared=True)), rounded as numpy's kernel rounds it. */
double model_einsum_sumsq(const double *x, size_t n);

#endif
