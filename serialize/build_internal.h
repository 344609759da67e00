/* build_internal.h - what the builders of serialize/ share: reading fitted
 * attributes out of an inert object, with every lookup counted and every
 * native allocation charged, and the registry of builders. Never included
 * outside serialize/.
 *
 * A builder family (build_linear.c, build_tree.c, ...) lists its classes in
 * a table of struct build_entry: the exact (module, name) pairs a file may
 * name for the class, and the function that turns its state into a model.
 * The allowlist and the dispatch both read these tables, so a class is
 * allowed exactly when it has a builder. */
#ifndef PREDICTD_BUILD_INTERNAL_H
#define PREDICTD_BUILD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "model_build.h"
#include "serialize_internal.h"

/* Builders may meet the same object many times through memo references
 * (a forest listing one tree a million times); counting every dict entry
 * scanned turns such a file into an error instead of hours of work. */
#define MAX_LOOKUPS ((size_t)1 << 27)
/* ...and a file may not make more than this many per byte of its stream
 * (plus LOOKUPS_BASE), so that a small file is refused in milliseconds:
 * a real model's dicts are each written out once, and a builder looks up
 * a few dozen names in each; only shared references multiply scans.
 * (Every file in tests/fixtures makes at most 0.4 per byte.) */
#define LOOKUPS_PER_BYTE 16
#define LOOKUPS_BASE ((size_t)1 << 20)
/* Step and feature names are copied into the model; a name longer than
 * this is no name but a way to multiply memory through references. */
#define MAX_NAME_BYTES 4096

typedef int (*build_fn)(struct build_ctx *bc, const struct pv *obj,
                        struct model **out);

struct build_entry {
        struct pv_class cls; /* role ROLE_ESTIMATOR; sk_name is the class */
        build_fn fn;         /* NULL: allowed only as a part (Tree) */
};

/* Each family's table, ended by an entry with a NULL module. */
extern const struct build_entry build_linear_entries[];
extern const struct build_entry build_tree_entries[];
extern const struct build_entry build_preprocess_entries[];
extern const struct build_entry build_compose_entries[];
extern const struct build_entry build_kernel_entries[];
extern const struct build_entry build_probabilistic_entries[];
extern const struct build_entry build_ensemble_entries[];
extern const struct build_entry build_hist_entries[];
extern const struct build_entry build_boosting_entries[];
extern const struct build_entry build_search_entries[];
extern const struct build_entry build_cluster_entries[];
extern const struct build_entry build_imblearn_entries[];

/* A Pipeline's steps into a model (build_compose.c). With samplers
 * (imbalanced-learn's Pipeline), a step that build_is_sampler names is
 * skipped, as imbalanced-learn skips it at predict time; -EINVAL when the
 * last step is one. */
int build_pipeline_steps(struct build_ctx *bc, const struct pv *obj, bool samplers,
                         struct model **out);
/* Whether v is one of imbalanced-learn's samplers (build_imblearn.c). */
bool build_is_sampler(const struct pv *v);
extern const struct build_entry build_nonlinear_entries[];
/* scipy.stats distributions, inert data of a search (scipy_stats.c) */
extern const struct build_entry build_scipy_stats_entries[];

/* A search (GridSearchCV, ...) is served through its best_estimator_;
 * -EINVAL when it was saved with refit=False. */
int build_search_best(struct build_ctx *bc, const struct pv *obj, struct model **out);

/* The entry whose class is exactly (module, name), or NULL. */
const struct build_entry *build_find(const char *module, size_t module_len,
                                     const char *name, size_t name_len);

/* --- errors and budgets ---------------------------------------------- */

/* Sets the error (offset -1) and returns code. */
int build_fail(struct build_ctx *bc, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Copies model/'s message into the error; returns rc. */
int build_model_error(struct build_ctx *bc, int rc, const struct model_error *me);
/* Counts bytes of native memory against max_model_bytes; -EFBIG past it. */
int build_charge(struct build_ctx *bc, size_t bytes, const char *what);
/* A Tree's node_count, where the file has one, must be the number of
 * records in its nodes array; -EINVAL naming both otherwise. */
int build_check_node_count(struct build_ctx *bc, const char *who, const struct pv *tree,
                           size_t n_nodes);
/* The error for a graph whose lookups passed MAX_LOOKUPS. */
int build_too_much_work(struct build_ctx *bc);

/* --- reading state ------------------------------------------------------ */

/* The class name of an object for messages (never NULL). */
const char *build_cls_name(const struct pv *obj);
/* dict[name] with the lookup counted; NULL if absent or over budget. */
const struct pv *build_state_get(struct build_ctx *bc, const struct pv *dict,
                                 const char *name);
/* obj.__dict__[name], counted. */
const struct pv *build_attr(struct build_ctx *bc, const struct pv *obj,
                            const char *name);
/* As build_attr, but a missing attribute is an error that says the
 * estimator looks unfitted. */
int build_need_attr(struct build_ctx *bc, const struct pv *obj,
                    const char *name, const struct pv **out);
int build_attr_int(struct build_ctx *bc, const struct pv *obj,
                   const char *name, int64_t *out);
/* A bool (or int) attribute, dflt when absent or of another kind. */
bool build_attr_bool(struct build_ctx *bc, const struct pv *obj,
                     const char *name, bool dflt);
/* A finite numeric 1-D or 2-D array attribute as malloc'd doubles (the
 * caller frees); want_ndim 0 accepts either; shape1 is 1 for 1-D. */
int build_attr_f64(struct build_ctx *bc, const struct pv *obj,
                   const char *name, size_t want_ndim, double **out,
                   size_t *shape0, size_t *shape1);
/* As build_attr_f64, but NaN is accepted (infinities are not): for
 * attributes where scikit-learn itself stores NaN, such as the statistics
 * of an imputer's all-missing column. */
int build_attr_f64_nan(struct build_ctx *bc, const struct pv *obj,
                       const char *name, size_t want_ndim, double **out,
                       size_t *shape0, size_t *shape1);
/* A 1-D array attribute that must hold exactly *n values (*n 0: any,
 * then *n gets the length); NaN accepted when allow_nan. */
int build_attr_vec(struct build_ctx *bc, const struct pv *obj, const char *name,
                   bool allow_nan, double **out, size_t *n);
/* A str attribute, or NULL when absent or of another kind. */
const char *build_attr_str(struct build_ctx *bc, const struct pv *obj, const char *name);
/* As build_attr_f64, without the copy where none is needed: a native,
 * aligned float64 array is read where the stream holds it (*out points
 * into the stream, which outlives the build; *own is NULL); any other
 * array is copied into *own, which *out then points at and the caller
 * frees. For arrays the model copies anyway (a KNN's samples), so a large
 * one is not copied twice. */
int build_attr_f64_view(struct build_ctx *bc, const struct pv *obj, const char *name,
                        size_t want_ndim, const double **out, double **own, size_t *shape0,
                        size_t *shape1);
/* As build_attr_f64 for a value already in hand (an element of an object
 * array); obj and name only name it in messages. */
int build_value_f64(struct build_ctx *bc, const struct pv *obj,
                    const char *name, const struct pv *v, size_t want_ndim,
                    bool allow_nan, double **out, size_t *shape0,
                    size_t *shape1);
bool build_is_built_array(const struct pv *v);
/* True when obj was saved by scikit-learn older than major.minor, or
 * records no _sklearn_version (files from before 0.18). */
bool build_saved_before(struct build_ctx *bc, const struct pv *obj,
                        long major, long minor);
/* -EINVAL when n_features_in_ is recorded and differs from have. */
int build_check_n_features(struct build_ctx *bc, const struct pv *obj,
                           size_t have);
/* Index of the named field of a structured dtype, or -1. */
int build_field_index(const struct pv_dtype *dt, const char *name);

/* A Python int, float or bool as a double. */
bool build_pv_number(const struct pv *v, double *out);

/* Element k of a 1-D array (numeric, 'U' or object) as a model cell:
 * a number, or a string interned in the model's string table (*is_str
 * true). Numbers come as they are (NaN included: callers decide);
 * None and other objects are refused, what naming the element. */
int build_array_cell(struct build_ctx *bc, const struct pv_array *a, size_t k,
                     const char *what, double *out, bool *is_str);
/* The same for a Python object (an element of an object array, or an
 * attribute such as missing_values). */
int build_pv_cell(struct build_ctx *bc, const struct pv *o, const char *what, double *out,
                  bool *is_str);

/* Marks p as a functools.partial found where scikit-learn puts one (the
 * func of HistGradientBoosting's _preprocessor's numerical part); `where`
 * names that place in messages. -EPERM unless p is a complete
 * partial(check_array, ...) the stream made (partial.c). */
int build_place_partial(struct build_ctx *bc, const struct pv *p, const char *where);

/* classes_ as model labels; strings point into the graph or into owned. */
struct build_labels {
        struct model_label *v;
        char **owned; /* strings converted from numpy 'U' data */
        size_t n;
};

int build_read_labels(struct build_ctx *bc, const struct pv *obj,
                      struct build_labels *out);
/* classes_ of a classifier fitted on several outputs is a list of arrays:
 * their number, or 0 when classes_ is one array (or absent). */
size_t build_n_class_outputs(struct build_ctx *bc, const struct pv *obj);
/* The labels of one classes_ array v (obj names it in messages). */
int build_labels_of(struct build_ctx *bc, const struct pv *obj, const struct pv *v,
                    struct build_labels *out);
void build_labels_free(struct build_labels *l);

#endif
