/* build_common.c - the readers every builder uses: attributes looked up
 * with a work budget, numeric arrays checked for kind, shape and
 * finiteness, class labels in all the forms numpy stores them, and the
 * charge of native memory against the model limit. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

int build_fail(struct build_ctx *bc, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(bc->err->message, sizeof(bc->err->message), fmt, ap);
        va_end(ap);
        bc->err->offset = -1;
        return code;
}

int build_model_error(struct build_ctx *bc, int rc,
                            const struct model_error *me)
{
        return build_fail(bc, rc, "%s", me->message);
}

/* Counts native memory against max_model_bytes before it is allocated. */
int build_charge(struct build_ctx *bc, size_t bytes, const char *what)
{
        if (bytes > bc->lim->max_model_bytes ||
            bc->model_bytes > bc->lim->max_model_bytes - bytes)
                return build_fail(bc, -EFBIG,
                             "%s: the model needs more than the limit of %zu bytes",
                             what, bc->lim->max_model_bytes);
        bc->model_bytes += bytes;
        return 0;
}

const char *build_cls_name(const struct pv *obj)
{
        return pv_kind_name(obj);
}


const struct pv *build_state_get(struct build_ctx *bc, const struct pv *dict,
                                  const char *name)
{
        if (!dict || dict->kind != PV_DICT)
                return NULL;
        bc->lookups += dict->u.dict.len;
        if (bc->lookups > bc->max_lookups)
                return NULL;
        return pv_dict_get(dict, name);
}

const struct pv *build_attr(struct build_ctx *bc, const struct pv *obj,
                             const char *name)
{
        return build_state_get(bc, obj->u.obj.state, name);
}

int build_too_much_work(struct build_ctx *bc)
{
        return build_fail(bc, -EFBIG,
                     "the model's object graph is too large to build (more than %zu "
                     "attribute entries scanned)",
                     bc->max_lookups);
}

bool build_is_built_array(const struct pv *v)
{
        return v && v->kind == PV_ARRAY && v->u.arr->built;
}

/* True when the estimator was saved by a scikit-learn older than
 * major.minor, or records no version (files from before 0.18). */
bool build_saved_before(struct build_ctx *bc, const struct pv *obj, long major,
                         long minor)
{
        const struct pv *v = build_attr(bc, obj, "_sklearn_version");
        if (!v || v->kind != PV_STR)
                return true;
        char *end;
        long ma = strtol(v->u.s.data, &end, 10);
        long mi = *end == '.' ? strtol(end + 1, NULL, 10) : 0;
        return ma < major || (ma == major && mi < minor);
}

int build_need_attr(struct build_ctx *bc, const struct pv *obj,
                     const char *name, const struct pv **out)
{
        const struct pv *v = build_attr(bc, obj, name);
        if (bc->lookups > bc->max_lookups)
                return build_too_much_work(bc);
        if (!v) {
                /* files before 1.0 may lack it by layout, not by mistake */
                const struct pv *ver = build_attr(bc, obj, "_sklearn_version");
                if (ver && ver->kind == PV_STR && build_saved_before(bc, obj, 1, 0))
                        return build_fail(bc, -EINVAL,
                                          "%s saved by scikit-learn %.20s has no %s: that "
                                          "version's layout lacks what predictd reads",
                                          build_cls_name(obj), ver->u.s.data, name);
                return build_fail(bc, -EINVAL,
                             "%s has no %s: was it fitted before it was saved?",
                             build_cls_name(obj), name);
        }
        *out = v;
        return 0;
}

int build_attr_int(struct build_ctx *bc, const struct pv *obj,
                    const char *name, int64_t *out)
{
        const struct pv *v = NULL;
        int rc = build_need_attr(bc, obj, name, &v);
        if (rc < 0)
                return rc;
        if (v->kind != PV_INT && v->kind != PV_BOOL)
                return build_fail(bc, -EINVAL, "%s.%s: expected an int, found %s",
                             build_cls_name(obj), name, pv_kind_name(v));
        *out = v->kind == PV_INT ? v->u.i : v->u.b;
        return 0;
}

bool build_attr_bool(struct build_ctx *bc, const struct pv *obj,
                      const char *name, bool dflt)
{
        const struct pv *v = build_attr(bc, obj, name);
        if (v && v->kind == PV_BOOL)
                return v->u.b;
        if (v && v->kind == PV_INT)
                return v->u.i != 0;
        return dflt;
}

/* v is a 1-D or 2-D (want_ndim, 0: either) numeric array; shape0 and
 * shape1 get its dimensions (1-D arrays report shape1 = 1). */
static int numeric_array(struct build_ctx *bc, const struct pv *obj, const char *name,
                         const struct pv *v, size_t want_ndim, size_t *shape0, size_t *shape1)
{
        if (v->kind != PV_ARRAY || !v->u.arr->built)
                return build_fail(bc, -EINVAL, "%s.%s: expected a numpy array, found %s",
                             build_cls_name(obj), name, pv_kind_name(v));
        const struct pv_array *a = v->u.arr;
        if (!strchr("fiub", a->dtype->kind) || a->dtype->n_fields ||
            (want_ndim && a->ndim != want_ndim) || a->ndim < 1 || a->ndim > 2)
                return build_fail(bc, -EINVAL,
                             "%s.%s: expected a %s numeric array, found %zu-D of kind '%c'",
                             build_cls_name(obj), name,
                             want_ndim == 2 ? "2-D" : want_ndim == 1 ? "1-D" : "1-D or 2-D",
                             a->ndim, a->dtype->kind);
        *shape0 = a->shape[0];
        *shape1 = a->ndim == 2 ? a->shape[1] : 1;
        return 0;
}

static int all_finite(struct build_ctx *bc, const struct pv *obj, const char *name,
                      const double *d, size_t n, bool allow_nan)
{
        for (size_t i = 0; i < n; i++)
                if (!isfinite(d[i]) && !(allow_nan && isnan(d[i])))
                        return build_fail(bc, -EINVAL, "%s.%s[%zu] is not a finite number",
                                          build_cls_name(obj), name, i);
        return 0;
}

/* Array a (numeric_array) as malloc'd, checked doubles. */
static int copy_f64(struct build_ctx *bc, const struct pv *obj, const char *name,
                    const struct pv_array *a, bool allow_nan, double **out)
{
        double *d = malloc((a->count ? a->count : 1) * sizeof(double));
        if (!d)
                return build_fail(bc, -ENOMEM, "out of memory reading %s", name);
        numpy_copy_f64(a, d);
        int rc = all_finite(bc, obj, name, d, a->count, allow_nan);
        if (rc < 0) {
                free(d);
                return rc;
        }
        *out = d;
        return 0;
}

/* A numeric array value as malloc'd doubles; shape0 and shape1 get its
 * dimensions (1-D arrays report shape1 = 1). want_ndim 0 accepts 1 or 2.
 * obj and name only name the array in messages. */
int build_value_f64(struct build_ctx *bc, const struct pv *obj,
                    const char *name, const struct pv *v, size_t want_ndim,
                    bool allow_nan, double **out, size_t *shape0,
                    size_t *shape1)
{
        int rc = numeric_array(bc, obj, name, v, want_ndim, shape0, shape1);
        return rc < 0 ? rc : copy_f64(bc, obj, name, v->u.arr, allow_nan, out);
}

int build_attr_f64_view(struct build_ctx *bc, const struct pv *obj, const char *name,
                        size_t want_ndim, const double **out, double **own, size_t *shape0,
                        size_t *shape1)
{
        const struct pv *v = NULL;
        int rc = build_need_attr(bc, obj, name, &v);
        *own = NULL;
        if (rc < 0 || (rc = numeric_array(bc, obj, name, v, want_ndim, shape0, shape1)) < 0)
                return rc;
        const struct pv_array *a = v->u.arr;
        if (!numpy_native8(a->dtype, 'f') || (uintptr_t)a->data % _Alignof(double)) {
                rc = copy_f64(bc, obj, name, a, false, own);
                *out = *own;
                return rc;
        }
        const double *d = (const double *)(const void *)a->data;
        if ((rc = all_finite(bc, obj, name, d, a->count, false)) < 0)
                return rc;
        *out = d;
        return 0;
}

static int attr_f64(struct build_ctx *bc, const struct pv *obj, const char *name,
                    size_t want_ndim, bool allow_nan, double **out, size_t *shape0,
                    size_t *shape1)
{
        const struct pv *v = NULL;
        int rc = build_need_attr(bc, obj, name, &v);
        if (rc < 0)
                return rc;
        return build_value_f64(bc, obj, name, v, want_ndim, allow_nan, out, shape0, shape1);
}

int build_attr_f64(struct build_ctx *bc, const struct pv *obj,
                    const char *name, size_t want_ndim, double **out,
                    size_t *shape0, size_t *shape1)
{
        return attr_f64(bc, obj, name, want_ndim, false, out, shape0, shape1);
}

int build_attr_f64_nan(struct build_ctx *bc, const struct pv *obj,
                       const char *name, size_t want_ndim, double **out,
                       size_t *shape0, size_t *shape1)
{
        return attr_f64(bc, obj, name, want_ndim, true, out, shape0, shape1);
}

const char *build_attr_str(struct build_ctx *bc, const struct pv *obj, const char *name)
{
        const struct pv *v = build_attr(bc, obj, name);
        return v && v->kind == PV_STR ? v->u.s.data : NULL;
}

int build_attr_vec(struct build_ctx *bc, const struct pv *obj, const char *name,
                   bool allow_nan, double **out, size_t *n)
{
        size_t len = 0, one = 0;
        int rc = attr_f64(bc, obj, name, 1, allow_nan, out, &len, &one);
        if (rc < 0)
                return rc;
        if (*n && len != *n) {
                free(*out);
                *out = NULL;
                return build_fail(bc, -EINVAL, "%s.%s: expected %zu values, found %zu",
                                  build_cls_name(obj), name, *n, len);
        }
        *n = len;
        return 0;
}

/* --- class labels ------------------------------------------------------ */

void build_labels_free(struct build_labels *l)
{
        if (l->owned)
                for (size_t i = 0; i < l->n; i++)
                        free(l->owned[i]);
        free(l->owned);
        free(l->v);
        memset(l, 0, sizeof(*l));
}

static char *utf32_to_utf8(const uint8_t *p, size_t units, char byteorder)
{
        /* numpy pads a short string with NULs, and the decoder stops at
         * the first; one followed by more text is a NUL inside the string
         * ('a\0b'), which would otherwise be read as the shorter 'a' */
        size_t len = 0;
        while (len < units && memcmp(p + 4 * len, "\0\0\0\0", 4) != 0)
                len++;
        for (size_t i = len; i < units; i++)
                if (memcmp(p + 4 * i, "\0\0\0\0", 4) != 0)
                        return NULL;
        char *s = malloc(len * 4 + 1);
        if (s && pv_utf32_decode(p, len, byteorder, s) < 0) {
                free(s);
                s = NULL;
        }
        return s;
}

bool build_pv_number(const struct pv *v, double *out)
{
        if (!v)
                return false;
        switch (v->kind) {
        case PV_INT: *out = (double)v->u.i; return true;
        case PV_FLOAT: *out = v->u.f; return true;
        case PV_BOOL: *out = v->u.b; return true;
        default: return false;
        }
}

/* What one string costs the model's table (strings.c): its copy and
 * malloc's header, a pointer and a length in arrays that double as they
 * grow, and up to four 4-byte hash slots. Charged for each cell, whether
 * or not the string is new. */
#define STRING_COST(len) ((len) + 1 + 16 + 2 * (sizeof(char *) + sizeof(size_t)) + \
                          4 * sizeof(uint32_t))

static int intern(struct build_ctx *bc, const char *s, size_t len, const char *what,
                  double *out)
{
        int rc = build_charge(bc, STRING_COST(len), what);
        if (rc < 0)
                return rc;
        if (memchr(s, '\0', len))
                return build_fail(bc, -EINVAL, "%s contains a NUL character", what);
        if (!bc->strings && !(bc->strings = model_strings_new()))
                return build_fail(bc, -ENOMEM, "out of memory for %s", what);
        rc = model_strings_intern(bc->strings, s, len, out);
        if (rc == -E2BIG)
                return build_fail(bc, rc, "%s: more than %zu distinct strings in the model",
                                  what, (size_t)MODEL_MAX_STRINGS);
        if (rc < 0)
                return build_fail(bc, rc, "out of memory for %s", what);
        return 0;
}

/* Cells read in all. One categories_ array of a million cells,
 * referenced from many encoders through the memo, is read again for each
 * (and its copies in the encoders are not charged): 100 references to
 * 2^20 numbers took 15 s and 1.6 GB from a file of 8 MB, and one of
 * strings, sorted again each time, took 26 s before the memory charge
 * stopped it. */
#define MAX_CELLS ((size_t)1 << 23)

static int count_cell(struct build_ctx *bc, const char *what)
{
        if (++bc->cells <= MAX_CELLS)
                return 0;
        return build_fail(bc, -EFBIG, "%s: more than %zu category or statistic cells in the "
                          "model (each reference to the same array counts again)", what,
                          MAX_CELLS);
}

int build_pv_cell(struct build_ctx *bc, const struct pv *o, const char *what, double *out,
                  bool *is_str)
{
        *is_str = false;
        int rc = count_cell(bc, what);
        if (rc < 0)
                return rc;
        if (o && o->kind == PV_STR) {
                rc = intern(bc, o->u.s.data, o->u.s.len, what, out);
                *is_str = rc == 0;
                return rc;
        }
        if (o && o->kind != PV_BOOL && build_pv_number(o, out))
                return 0;
        return build_fail(bc, -ENOTSUP, "%s: expected a number or a string, found %s", what,
                          o ? pv_kind_name(o) : "nothing");
}

int build_array_cell(struct build_ctx *bc, const struct pv_array *a, size_t k,
                     const char *what, double *out, bool *is_str)
{
        const struct pv_dtype *dt = a->dtype;
        *is_str = false;
        if (dt->kind == 'O') /* build_pv_cell counts it */
                return build_pv_cell(bc, a->objects[k], what, out, is_str);
        int rc = count_cell(bc, what);
        if (rc < 0)
                return rc;
        if (dt->kind == 'U') {
                char *s = utf32_to_utf8(a->data + k * dt->itemsize, dt->itemsize / 4,
                                        dt->byteorder);
                if (!s)
                        return build_fail(bc, -EINVAL, "%s is not valid text (a code point outside "
                                          "Unicode, a surrogate, or a NUL character)", what);
                rc = intern(bc, s, strlen(s), what, out);
                free(s);
                *is_str = rc == 0;
                return rc;
        }
        if (!strchr("fiub", dt->kind) || !numpy_get_f64(dt, a->data + k * dt->itemsize, out))
                return build_fail(bc, -EINVAL, "%s: expected a number or a string, found "
                                  "dtype kind '%c'", what, dt->kind);
        return 0;
}

int build_read_labels(struct build_ctx *bc, const struct pv *obj,
                      struct build_labels *out)
{
        const struct pv *v = NULL;
        int rc = build_need_attr(bc, obj, "classes_", &v);
        if (rc < 0)
                return rc;
        if (v->kind == PV_LIST)
                return build_fail(bc, -ENOTSUP,
                                  "%s.classes_: a list of %zu arrays (a classifier fitted on "
                                  "several outputs), which is served for trees, forests and "
                                  "nearest neighbours only", build_cls_name(obj),
                                  v->u.seq.len);
        return build_labels_of(bc, obj, v, out);
}

size_t build_n_class_outputs(struct build_ctx *bc, const struct pv *obj)
{
        const struct pv *v = build_attr(bc, obj, "classes_");
        return v && v->kind == PV_LIST ? v->u.seq.len : 0;
}

int build_labels_of(struct build_ctx *bc, const struct pv *obj, const struct pv *v,
                    struct build_labels *out)
{
        int rc;
        if (!build_is_built_array(v) || v->u.arr->ndim != 1)
                return build_fail(bc, -EINVAL,
                                  "%s.classes_: expected a 1-D array, found %s",
                                  build_cls_name(obj), pv_kind_name(v));
        const struct pv_array *a = v->u.arr;
        size_t label_bytes = a->count * (sizeof(struct model_label) +
                                         (a->dtype->kind == 'U' ? a->dtype->itemsize : 0));
        if ((rc = build_charge(bc, label_bytes, "classes_")) < 0)
                return rc;
        struct build_labels l = { 0 };
        l.n = a->count;
        l.v = calloc(a->count ? a->count : 1, sizeof(*l.v));
        if (!l.v)
                return build_fail(bc, -ENOMEM, "out of memory reading classes_");
        const struct pv_dtype *dt = a->dtype;
        for (size_t i = 0; i < a->count; i++) {
                const uint8_t *p = a->data ? a->data + i * dt->itemsize : NULL;
                struct model_label *lab = &l.v[i];
                switch (dt->kind) {
                case 'u':
                        if (dt->itemsize == 8) {
                                /* every uint64 label, so one type per model */
                                lab->type = MODEL_LABEL_UINT;
                                if (!numpy_get_u64(dt, p, &lab->v.u))
                                        goto bad;
                                break;
                        }
                        /* fall through - smaller unsigned fit an int64 */
                case 'i':
                        lab->type = MODEL_LABEL_INT;
                        if (!numpy_get_i64(dt, p, &lab->v.i))
                                goto bad;
                        break;
                case 'f':
                        lab->type = MODEL_LABEL_FLOAT;
                        numpy_get_f64(dt, p, &lab->v.f);
                        if (!isfinite(lab->v.f))
                                goto bad;
                        break;
                case 'b':
                        lab->type = MODEL_LABEL_BOOL;
                        lab->v.b = p[0] != 0;
                        break;
                case 'U':
                        if (!l.owned && !(l.owned = calloc(a->count, sizeof(char *))))
                                goto nomem;
                        lab->type = MODEL_LABEL_STR;
                        l.owned[i] = utf32_to_utf8(p, dt->itemsize / 4, dt->byteorder);
                        if (!l.owned[i]) {
                                build_labels_free(&l);
                                return build_fail(bc, -EINVAL, "%s.classes_[%zu] is not valid "
                                                  "text (a code point outside Unicode, a "
                                                  "surrogate, or a NUL character)",
                                                  build_cls_name(obj), i);
                        }
                        lab->v.s = l.owned[i];
                        break;
                case 'O': {
                        const struct pv *o = a->objects[i];
                        if (o->kind == PV_STR) {
                                if (memchr(o->u.s.data, '\0', o->u.s.len) ||
                                    (rc = build_charge(bc, o->u.s.len, "classes_")) < 0) {
                                        build_labels_free(&l);
                                        return rc < 0 ? rc : build_fail(bc, -EINVAL,
                                                "%s.classes_[%zu] contains a NUL character",
                                                build_cls_name(obj), i);
                                }
                                lab->type = MODEL_LABEL_STR;
                                lab->v.s = o->u.s.data;
                        } else if (o->kind == PV_INT) {
                                lab->type = MODEL_LABEL_INT;
                                lab->v.i = o->u.i;
                        } else if (o->kind == PV_BOOL) {
                                lab->type = MODEL_LABEL_BOOL;
                                lab->v.b = o->u.b;
                        } else if (o->kind == PV_FLOAT) {
                                lab->type = MODEL_LABEL_FLOAT;
                                lab->v.f = o->u.f;
                        } else {
                                build_labels_free(&l);
                                return build_fail(bc, -EINVAL,
                                             "%s.classes_[%zu]: expected str, int, float or "
                                             "bool, found %s",
                                             build_cls_name(obj), i, pv_kind_name(o));
                        }
                        break;
                }
                default:
                        goto bad;
                }
        }
        *out = l;
        return 0;
nomem:
        build_labels_free(&l);
        return build_fail(bc, -ENOMEM, "out of memory reading classes_");
bad:
        build_labels_free(&l);
        return build_fail(bc, -EINVAL, "%s.classes_: unsupported labels of numpy kind '%c'",
                     build_cls_name(obj), dt->kind);
}

int build_check_n_features(struct build_ctx *bc, const struct pv *obj,
                            size_t have)
{
        const struct pv *v = build_attr(bc, obj, "n_features_in_");
        if (v && v->kind == PV_INT && (v->u.i < 0 || (uint64_t)v->u.i != have))
                return build_fail(bc, -EINVAL,
                             "%s: n_features_in_ is %lld but its arrays hold %zu features",
                             build_cls_name(obj), (long long)v->u.i, have);
        return 0;
}


int build_field_index(const struct pv_dtype *dt, const char *name)
{
        for (size_t i = 0; i < dt->n_fields; i++)
                if (strcmp(dt->field_names[i], name) == 0)
                        return (int)i;
        return -1;
}

int build_check_node_count(struct build_ctx *bc, const char *who, const struct pv *tree,
                           size_t n_nodes)
{
        const struct pv *nc = build_state_get(bc, tree->u.obj.state, "node_count");
        if (bc->lookups > bc->max_lookups)
                return build_too_much_work(bc);
        if (!nc)
                return 0; /* hand-made graphs; scikit-learn always writes it */
        if (nc->kind != PV_INT || nc->u.i < 0 || (uint64_t)nc->u.i != n_nodes)
                return build_fail(bc, -EINVAL,
                                  "%s.tree_: node_count says %lld but nodes holds %zu nodes "
                                  "(scikit-learn would answer from the first node_count "
                                  "values only, or read past them): an inconsistent tree",
                                  who, nc->kind == PV_INT ? (long long)nc->u.i : -1LL, n_nodes);
        return 0;
}
