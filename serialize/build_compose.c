/* build_compose.c - builders for estimators made of estimators: Pipeline,
 * ColumnTransformer, FeatureUnion and TransformedTargetRegressor. Column specifiers are read as data (ints, lists,
 * boolean masks, builtins.slice objects kept inert, names resolved through
 * feature_names_in_); nothing a file names is ever called. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

/* Builds a member; its error is prefixed with where it sits. */
static int build_member(struct build_ctx *bc, const struct pv *e, const char *where,
                        const char *name, struct model **out)
{
        int rc = build_estimator(bc, e, out);
        if (rc < 0) {
                char inner[sizeof(bc->err->message)];
                memcpy(inner, bc->err->message, sizeof(inner));
                build_fail(bc, rc, "%s '%.60s': %s", where, name, inner);
        }
        return rc;
}

int build_pipeline_steps(struct build_ctx *bc, const struct pv *obj, bool samplers,
                         struct model **out)
{
        const struct pv *steps = NULL;
        int rc = build_need_attr(bc, obj, "steps", &steps);
        if (rc < 0)
                return rc;
        if (steps->kind != PV_LIST || steps->u.seq.len == 0)
                return build_fail(bc, -EINVAL, "Pipeline.steps: expected a non-empty list, found %s",
                             pv_kind_name(steps));
        size_t n = steps->u.seq.len;
        struct model **built = calloc(n, sizeof(*built));
        const char **names = calloc(n, sizeof(*names));
        struct model_error me;
        size_t i = 0;
        if (!built || !names) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu pipeline steps", n);
                goto out;
        }
        for (; i < n; i++) {
                const struct pv *st = steps->u.seq.items[i];
                if (st->kind != PV_TUPLE || st->u.seq.len != 2 ||
                    st->u.seq.items[0]->kind != PV_STR) {
                        rc = build_fail(bc, -EINVAL,
                                   "Pipeline.steps[%zu]: expected a (name, estimator) tuple", i);
                        goto out;
                }
                if (st->u.seq.items[0]->u.s.len > MAX_NAME_BYTES) {
                        rc = build_fail(bc, -EINVAL,
                                   "Pipeline.steps[%zu]: a step name of %zu bytes (at most %d)", i,
                                   st->u.seq.items[0]->u.s.len, MAX_NAME_BYTES);
                        goto out;
                }
                names[i] = st->u.seq.items[0]->u.s.data;
                const struct pv *e = st->u.seq.items[1];
                if (e->kind == PV_NONE || pv_is_str(e, "passthrough"))
                        continue;
                /* imbalanced-learn: a sampler resamples at fit time only */
                if (samplers && build_is_sampler(e)) {
                        if (i + 1 < n)
                                continue;
                        rc = build_fail(bc, -EINVAL,
                                        "Pipeline step '%.60s': the last step is %s, a sampler, "
                                        "which has no predict or transform", names[i],
                                        build_cls_name(e));
                        goto out;
                }
                if ((rc = build_member(bc, e, "Pipeline step", names[i], &built[i])) < 0)
                        goto out;
        }
        bool col = built[n - 1] && model_outputs_2d(built[n - 1]);
        rc = model_pipeline_create(built, names, n, out, &me);
        i = 0; /* the pipeline took the steps */
        if (rc < 0)
                build_model_error(bc, rc, &me);
        else
                model_set_outputs_2d(*out, col);
out:
        for (size_t k = 0; k < i && built; k++)
                model_free(built[k]);
        free(built);
        free(names);
        return rc;
}

/* Bounds on what a ColumnTransformer may list: parts, input width, and
 * selected columns in all (8 per input feature, plus a little). */
#define MAX_CT_PARTS 1024
#define MAX_CT_FEATURES (1 << 20)

struct named_col {
        const struct pv *name;
        size_t k;
};

struct colset {
        size_t *cols;
        size_t len, cap;
        /* feature_names_in_'s strings sorted, made at the first column
         * given by name: each name is then a binary search, not a walk
         * along up to MAX_CT_FEATURES names */
        struct named_col *by_name;
        size_t n_named;
};

/* Appends column j (negative counts from the end, as numpy indexing does). */
static int col_push(struct build_ctx *bc, struct colset *cs, int64_t j,
                    size_t n_features, const char *part)
{
        int64_t n = (int64_t)n_features;
        if (j < -n || j >= n)
                return build_fail(bc, -EINVAL,
                                  "ColumnTransformer part '%.60s': column %lld out of range "
                                  "for %zu input features", part, (long long)j, n_features);
        if (cs->len == cs->cap)
                return build_fail(bc, -E2BIG,
                                  "ColumnTransformer: more than %zu selected columns in all",
                                  cs->cap);
        cs->cols[cs->len++] = (size_t)(j < 0 ? j + n : j);
        return 0;
}

/* Orders names by length, bytes, then position: the first of equal
 * names is the one found, as a walk in order would. */
static int cmp_named(const void *a, const void *b)
{
        const struct named_col *x = a, *y = b;
        size_t lx = x->name->u.s.len, ly = y->name->u.s.len;
        if (lx != ly)
                return lx < ly ? -1 : 1;
        int c = memcmp(x->name->u.s.data, y->name->u.s.data, lx);
        if (c)
                return c;
        return (x->k > y->k) - (x->k < y->k);
}

static int cmp_named_key(const struct pv *key, const struct named_col *e)
{
        size_t lk = key->u.s.len, le = e->name->u.s.len;
        if (lk != le)
                return lk < le ? -1 : 1;
        return memcmp(key->u.s.data, e->name->u.s.data, lk);
}

static int sort_names(struct build_ctx *bc, const struct pv *names, struct colset *cs)
{
        size_t n = names->u.arr->count;
        int rc = build_charge(bc, n * sizeof(*cs->by_name), "ColumnTransformer");
        if (rc < 0)
                return rc;
        if (!(cs->by_name = malloc((n ? n : 1) * sizeof(*cs->by_name))))
                return build_fail(bc, -ENOMEM, "out of memory for a ColumnTransformer");
        for (size_t k = 0; k < n; k++) {
                const struct pv *nm = names->u.arr->objects[k];
                if (nm && nm->kind == PV_STR)
                        cs->by_name[cs->n_named++] = (struct named_col){ nm, k };
        }
        qsort(cs->by_name, cs->n_named, sizeof(*cs->by_name), cmp_named);
        return 0;
}

static int col_name(struct build_ctx *bc, const struct pv *names, const struct pv *s,
                    struct colset *cs, size_t n_features, const char *part)
{
        if (!names || names->kind != PV_ARRAY || !names->u.arr->objects ||
            names->u.arr->count != n_features)
                return build_fail(bc, -EINVAL,
                                  "ColumnTransformer part '%.60s': column '%.60s' given by "
                                  "name, expected feature_names_in_ with %zu names",
                                  part, s->u.s.data, n_features);
        int rc;
        if (!cs->by_name && (rc = sort_names(bc, names, cs)) < 0)
                return rc;
        size_t lo = 0, hi = cs->n_named;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (cmp_named_key(s, &cs->by_name[mid]) > 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo < cs->n_named && cmp_named_key(s, &cs->by_name[lo]) == 0)
                return col_push(bc, cs, (int64_t)cs->by_name[lo].k, n_features, part);
        return build_fail(bc, -EINVAL,
                          "ColumnTransformer part '%.60s': expected a column named '%.60s' in "
                          "feature_names_in_, found none", part, s->u.s.data);
}

/* One bound of a slice, as Python's slice.indices(n) clamps it: lower and
 * upper are the clamping range ([0, n] for a positive step, [-1, n - 1]
 * for a negative one). Returns -1 for a bound that is not an int. */
static int slice_bound(const struct pv *v, int64_t dflt, int64_t lower, int64_t upper,
                       int64_t n, int64_t *out)
{
        if (!v || v->kind == PV_NONE) {
                *out = dflt;
                return 0;
        }
        if (v->kind != PV_INT && v->kind != PV_BOOL)
                return -1;
        int64_t b = v->kind == PV_INT ? v->u.i : (int64_t)v->u.b;
        if (b < 0)
                b = b < -n ? lower : b + n;
        *out = b < lower ? lower : b > upper ? upper : b;
        return 0;
}

/* The positions slice(start, stop, step) selects among n columns, as
 * numpy's arange(n)[slice] gives them (Python's slice.indices). */
static int read_slice(struct build_ctx *bc, const struct pv *spec, struct colset *cs,
                      size_t n_features, const char *part)
{
        const struct pv *args = spec->u.obj.args;
        int64_t n = (int64_t)n_features, lo, hi, step = 1;
        if (strcmp(spec->u.obj.cls->name, "slice") != 0 || !args || args->kind != PV_TUPLE ||
            args->u.seq.len != 3)
                return build_fail(bc, -EINVAL,
                                  "ColumnTransformer part '%.60s': expected a slice "
                                  "(start, stop, step), found %s", part, build_cls_name(spec));
        const struct pv *st = args->u.seq.items[2];
        if (st->kind == PV_INT)
                step = st->u.i;
        else if (st->kind != PV_NONE)
                return build_fail(bc, -EINVAL,
                                  "ColumnTransformer part '%.60s': expected a slice step "
                                  "that is an int or None, found %s", part, pv_kind_name(st));
        if (step == 0 || step == INT64_MIN)
                return build_fail(bc, -EINVAL,
                                  "ColumnTransformer part '%.60s': a slice step of %lld "
                                  "selects nothing Python can index", part, (long long)step);
        int rc = step > 0
                ? (slice_bound(args->u.seq.items[0], 0, 0, n, n, &lo) |
                   slice_bound(args->u.seq.items[1], n, 0, n, n, &hi))
                : (slice_bound(args->u.seq.items[0], n - 1, -1, n - 1, n, &lo) |
                   slice_bound(args->u.seq.items[1], -1, -1, n - 1, n, &hi));
        if (rc < 0)
                return build_fail(bc, -EINVAL,
                                  "ColumnTransformer part '%.60s': expected a slice of "
                                  "int positions (slices of names are not supported)", part);
        for (int64_t j = lo; step > 0 ? j < hi : j > hi; j += step) {
                if ((rc = col_push(bc, cs, j, n_features, part)) < 0)
                        return rc;
                if ((step > 0 && j > INT64_MAX - step) || (step < 0 && j < INT64_MIN - step))
                        break;
        }
        return 0;
}

/* Columns of one transformers_ entry: an int, a name, a list of ints or
 * names or bools, a numpy int or bool array, or a slice of ints. */
static int read_columns(struct build_ctx *bc, const struct pv *spec, const struct pv *names,
                        struct colset *cs, size_t n_features, const char *part)
{
        switch (spec->kind) {
        case PV_INT:
                return col_push(bc, cs, spec->u.i, n_features, part);
        case PV_STR:
                return col_name(bc, names, spec, cs, n_features, part);
        case PV_LIST:
        case PV_TUPLE: {
                size_t n = spec->u.seq.len;
                bool mask = n > 0 && spec->u.seq.items[0]->kind == PV_BOOL;
                if (mask && n != n_features)
                        return build_fail(bc, -EINVAL,
                                          "ColumnTransformer part '%.60s': a boolean mask of "
                                          "%zu entries, expected %zu", part, n, n_features);
                for (size_t k = 0; k < n; k++) {
                        const struct pv *e = spec->u.seq.items[k];
                        int rc = 0;
                        if (mask && e->kind == PV_BOOL)
                                rc = e->u.b ? col_push(bc, cs, (int64_t)k, n_features, part) : 0;
                        else if (!mask && e->kind == PV_INT)
                                rc = col_push(bc, cs, e->u.i, n_features, part);
                        else if (!mask && e->kind == PV_STR)
                                rc = col_name(bc, names, e, cs, n_features, part);
                        else
                                rc = build_fail(bc, -EINVAL,
                                                "ColumnTransformer part '%.60s': column %zu "
                                                "expected an int, a name or a bool, found %s",
                                                part, k, pv_kind_name(e));
                        if (rc < 0)
                                return rc;
                }
                return 0;
        }
        case PV_ARRAY: {
                const struct pv_array *a = spec->u.arr;
                if (!a->built || a->ndim != 1 || !strchr("biu", a->dtype->kind))
                        return build_fail(bc, -EINVAL,
                                          "ColumnTransformer part '%.60s': expected a 1-D int "
                                          "or bool array of columns, found kind '%c'",
                                          part, a->dtype->kind);
                if (a->dtype->kind == 'b' && a->count != n_features)
                        return build_fail(bc, -EINVAL,
                                          "ColumnTransformer part '%.60s': a boolean mask of "
                                          "%zu entries, expected %zu", part, a->count,
                                          n_features);
                for (size_t k = 0; k < a->count; k++) {
                        int64_t v;
                        if (!numpy_get_i64(a->dtype, a->data + k * a->dtype->itemsize, &v))
                                return build_fail(bc, -EINVAL,
                                                  "ColumnTransformer part '%.60s': column %zu "
                                                  "is not a 64-bit integer", part, k);
                        int rc = a->dtype->kind == 'b'
                                         ? (v ? col_push(bc, cs, (int64_t)k, n_features, part) : 0)
                                         : col_push(bc, cs, v, n_features, part);
                        if (rc < 0)
                                return rc;
                }
                return 0;
        }
        case PV_OBJECT:
                /* 1.5-1.6 keep the remainder's columns in a list subclass
                 * whose state holds them under 'data' */
                if (spec->u.obj.cls->sk_name &&
                    strcmp(spec->u.obj.cls->sk_name, "_RemainderColsList") == 0) {
                        const struct pv *data = build_attr(bc, spec, "data");
                        if (!data || data->kind != PV_LIST)
                                return build_fail(bc, -EINVAL,
                                                  "ColumnTransformer part '%.60s': expected "
                                                  "_RemainderColsList to hold a list under "
                                                  "'data', found %s", part, pv_kind_name(data));
                        return read_columns(bc, data, names, cs, n_features, part);
                }
                /* a pandas Index of names (df.select_dtypes(...).columns):
                 * _new_Index(Index, {'data': object array, ...}), read as data */
                if (spec->u.obj.cls->role == ROLE_INERT &&
                    strcmp(spec->u.obj.cls->name, "_new_Index") == 0) {
                        const struct pv *a = spec->u.obj.args, *d = NULL;
                        if (a && a->kind == PV_TUPLE && a->u.seq.len == 2)
                                d = build_state_get(bc, a->u.seq.items[1], "data");
                        if (!d || d->kind != PV_ARRAY || !d->u.arr->built || d->u.arr->ndim != 1 ||
                            d->u.arr->dtype->kind != 'O')
                                return build_fail(bc, -EINVAL,
                                                  "ColumnTransformer part '%.60s': expected a "
                                                  "pandas Index of column names", part);
                        for (size_t k = 0; k < d->u.arr->count; k++) {
                                const struct pv *e = d->u.arr->objects[k];
                                int rc = e->kind == PV_STR
                                                 ? col_name(bc, names, e, cs, n_features, part)
                                                 : build_fail(bc, -EINVAL,
                                                              "ColumnTransformer part '%.60s': "
                                                              "Index entry %zu expected a name, "
                                                              "found %s", part, k,
                                                              pv_kind_name(e));
                                if (rc < 0)
                                        return rc;
                        }
                        return 0;
                }
                return read_slice(bc, spec, cs, n_features, part);
        default:
                return build_fail(bc, -EINVAL,
                                  "ColumnTransformer part '%.60s': expected columns as an int, "
                                  "name, list, array or slice, found %s", part,
                                  pv_kind_name(spec));
        }
}

/* The fitted remainder (and, from 1.4, every 'passthrough') is stored as
 * a FunctionTransformer without a function: the identity. One with a
 * function would run Python code. */
static int is_identity(struct build_ctx *bc, const struct pv *t, const char *where,
                       const char *part, bool *out)
{
        *out = false;
        if (t->kind != PV_OBJECT || t->u.obj.cls->sk_name == NULL ||
            strcmp(t->u.obj.cls->sk_name, "FunctionTransformer") != 0)
                return 0;
        const struct pv *f = build_attr(bc, t, "func");
        const struct pv *inv = build_attr(bc, t, "inverse_func");
        if ((f && f->kind != PV_NONE) || (inv && inv->kind != PV_NONE))
                return build_fail(bc, -EPERM,
                                  "%s '%.60s': FunctionTransformer with a func (%s) runs "
                                  "Python code, which predictd never does", where, part,
                                  pv_kind_name(f && f->kind != PV_NONE ? f : inv));
        *out = true;
        return 0;
}

static int part_weight(struct build_ctx *bc, const struct pv *obj, const struct pv *weights,
                       const char *part, double *out)
{
        *out = 1.0;
        if (!weights || weights->kind == PV_NONE)
                return 0;
        if (weights->kind != PV_DICT)
                return build_fail(bc, -EINVAL,
                                  "%s.transformer_weights: expected a dict, found %s",
                                  build_cls_name(obj), pv_kind_name(weights));
        const struct pv *w = build_state_get(bc, weights, part);
        if (!w)
                return 0;
        if (w->kind == PV_INT)
                *out = (double)w->u.i;
        else if (w->kind == PV_FLOAT && isfinite(w->u.f))
                *out = w->u.f;
        else
                return build_fail(bc, -EINVAL,
                                  "%s.transformer_weights['%.60s']: expected a finite "
                                  "number, found %s", build_cls_name(obj), part,
                                  pv_kind_name(w));
        return 0;
}

/* One (name, transformer[, columns]) entry of transformers_ or
 * transformer_list; what names the list in the message. */
static int read_entry(struct build_ctx *bc, const struct pv *e, size_t arity,
                      const char *what, size_t i, const char **name, const struct pv **t)
{
        if (e->kind != PV_TUPLE || e->u.seq.len != arity ||
            e->u.seq.items[0]->kind != PV_STR ||
            e->u.seq.items[0]->u.s.len > MAX_NAME_BYTES)
                return build_fail(bc, -EINVAL, "%s[%zu]: expected a (name, transformer%s) tuple",
                                  what, i, arity == 3 ? ", columns" : "");
        *name = e->u.seq.items[0]->u.s.data;
        *t = e->u.seq.items[1];
        return 0;
}

/* The parts of a ColumnTransformer or FeatureUnion while they are read. */
struct parts {
        struct model **m;
        size_t *offsets; /* n + 1 */
        double *w;
        size_t kept;
};

static int parts_alloc(struct build_ctx *bc, struct parts *p, size_t n, const char *what)
{
        p->m = calloc(n, sizeof(*p->m));
        p->offsets = calloc(n + 1, sizeof(*p->offsets));
        p->w = calloc(n, sizeof(*p->w));
        p->kept = 0;
        if (!p->m || !p->offsets || !p->w)
                return build_fail(bc, -ENOMEM, "out of memory for a %s", what);
        return 0;
}

static void parts_free(struct parts *p)
{
        for (size_t k = 0; k < p->kept && p->m; k++)
                model_free(p->m[k]);
        free(p->m);
        free(p->offsets);
        free(p->w);
}

static int build_column_transformer(struct build_ctx *bc, const struct pv *obj,
                                    struct model **out)
{
        const struct pv *tr = NULL;
        int64_t nf = 0;
        int rc = build_need_attr(bc, obj, "transformers_", &tr);
        if (rc < 0 || (rc = build_attr_int(bc, obj, "n_features_in_", &nf)) < 0)
                return rc;
        if (tr->kind != PV_LIST || tr->u.seq.len == 0 || tr->u.seq.len > MAX_CT_PARTS)
                return build_fail(bc, -EINVAL,
                                  "ColumnTransformer.transformers_: expected a list of 1 to %d "
                                  "entries, found %s of %zu", MAX_CT_PARTS, pv_kind_name(tr),
                                  tr->kind == PV_LIST ? tr->u.seq.len : 0);
        if (nf <= 0 || nf > MAX_CT_FEATURES)
                return build_fail(bc, -EINVAL,
                                  "ColumnTransformer.n_features_in_: expected 1 to %d, found "
                                  "%lld", MAX_CT_FEATURES, (long long)nf);
        if (build_attr_bool(bc, obj, "sparse_output_", false))
                return build_fail(bc, -EINVAL,
                                  "ColumnTransformer: its output is sparse (sparse_output_), "
                                  "only dense output is supported");
        size_t n_features = (size_t)nf, n = tr->u.seq.len;
        /* _feature_names_in before 1.0 */
        const struct pv *names = build_attr(bc, obj, "feature_names_in_");
        if (!names)
                names = build_attr(bc, obj, "_feature_names_in");
        const struct pv *weights = build_attr(bc, obj, "transformer_weights");
        struct colset cs = { .cap = n_features * 8 + 64 };
        struct parts ps = { 0 };
        struct model_error me;
        if ((rc = build_charge(bc, cs.cap * sizeof(size_t) + n * 64, "ColumnTransformer")) < 0 ||
            (rc = parts_alloc(bc, &ps, n, "ColumnTransformer")) < 0)
                goto out;
        cs.cols = malloc(cs.cap * sizeof(size_t));
        if (!cs.cols) {
                rc = build_fail(bc, -ENOMEM, "out of memory for a ColumnTransformer");
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                const struct pv *e = tr->u.seq.items[i], *t = NULL;
                const char *part = NULL;
                bool ident = false;
                if ((rc = read_entry(bc, e, 3, "ColumnTransformer.transformers_", i, &part,
                                     &t)) < 0)
                        goto out;
                if (pv_is_str(t, "drop"))
                        continue;
                if ((rc = is_identity(bc, t, "ColumnTransformer part", part, &ident)) < 0)
                        goto out;
                size_t start = cs.len;
                if ((rc = read_columns(bc, e->u.seq.items[2], names, &cs, n_features,
                                       part)) < 0)
                        goto out;
                if (cs.len == start) /* scikit-learn skips empty selections */
                        continue;
                if ((rc = part_weight(bc, obj, weights, part, &ps.w[ps.kept])) < 0)
                        goto out;
                if (!ident && !pv_is_str(t, "passthrough") &&
                    (rc = build_member(bc, t, "ColumnTransformer part", part,
                                       &ps.m[ps.kept])) < 0)
                        goto out;
                ps.kept++;
                ps.offsets[ps.kept] = cs.len;
        }
        rc = model_column_transformer_create("ColumnTransformer", n_features, ps.m, cs.cols,
                                             ps.offsets, ps.w, ps.kept, out, &me);
        ps.kept = 0; /* the model took the parts */
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        parts_free(&ps);
        free(cs.cols);
        free(cs.by_name);
        return rc;
}

/* FeatureUnion: every part reads all columns; the input width comes from
 * the parts, as FeatureUnion records none of its own. */
static int build_feature_union(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        const struct pv *tl = NULL;
        int rc = build_need_attr(bc, obj, "transformer_list", &tl);
        if (rc < 0)
                return rc;
        if (tl->kind != PV_LIST || tl->u.seq.len == 0 || tl->u.seq.len > MAX_CT_PARTS)
                return build_fail(bc, -EINVAL,
                                  "FeatureUnion.transformer_list: expected a list of 1 to %d "
                                  "entries, found %s", MAX_CT_PARTS, pv_kind_name(tl));
        size_t n = tl->u.seq.len, n_features = 0;
        const struct pv *weights = build_attr(bc, obj, "transformer_weights");
        struct parts ps = { 0 };
        size_t *cols = NULL;
        struct model_error me;
        if ((rc = parts_alloc(bc, &ps, n, "FeatureUnion")) < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                const struct pv *e = tl->u.seq.items[i], *t = NULL;
                const char *part = NULL;
                bool ident = false;
                if ((rc = read_entry(bc, e, 2, "FeatureUnion.transformer_list", i, &part,
                                     &t)) < 0)
                        goto out;
                if (t->kind == PV_NONE || pv_is_str(t, "drop"))
                        continue;
                if ((rc = is_identity(bc, t, "FeatureUnion part", part, &ident)) < 0)
                        goto out;
                if (pv_is_str(t, "passthrough")) {
                        rc = build_fail(bc, -EINVAL,
                                        "FeatureUnion part '%.60s': expected a fitted "
                                        "passthrough, found the string", part);
                        goto out;
                }
                if ((rc = part_weight(bc, obj, weights, part, &ps.w[ps.kept])) < 0)
                        goto out;
                if (ident) {
                        int64_t nf = 0;
                        if ((rc = build_attr_int(bc, t, "n_features_in_", &nf)) < 0)
                                goto out;
                        if (nf <= 0 || nf > MAX_CT_FEATURES) {
                                rc = build_fail(bc, -EINVAL,
                                                "FeatureUnion part '%.60s': expected 1 to %d "
                                                "input features, found %lld", part,
                                                MAX_CT_FEATURES, (long long)nf);
                                goto out;
                        }
                        if (!n_features)
                                n_features = (size_t)nf;
                } else {
                        if ((rc = build_member(bc, t, "FeatureUnion part", part,
                                               &ps.m[ps.kept])) < 0)
                                goto out;
                        if (!n_features)
                                n_features = model_n_features(ps.m[ps.kept]);
                }
                ps.kept++;
        }
        if (!ps.kept || !n_features) {
                rc = build_fail(bc, -EINVAL, "FeatureUnion: every part was dropped; expected "
                                "at least one transformer");
                goto out;
        }
        if ((rc = build_charge(bc, ps.kept * n_features * sizeof(size_t), "FeatureUnion")) < 0)
                goto out;
        cols = malloc(ps.kept * n_features * sizeof(size_t));
        if (!cols) {
                rc = build_fail(bc, -ENOMEM, "out of memory for a FeatureUnion");
                goto out;
        }
        for (size_t i = 0; i < ps.kept; i++) {
                for (size_t j = 0; j < n_features; j++)
                        cols[i * n_features + j] = j;
                ps.offsets[i + 1] = (i + 1) * n_features;
        }
        rc = model_column_transformer_create("FeatureUnion", n_features, ps.m, cols, ps.offsets,
                                             ps.w, ps.kept, out, &me);
        ps.kept = 0; /* the model took the parts */
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        parts_free(&ps);
        free(cols);
        return rc;
}

/* TransformedTargetRegressor: regressor_ with the inverse of transformer_
 * applied to its predictions. func/inverse_func would run Python code. */
static int build_target_regressor(struct build_ctx *bc, const struct pv *obj,
                                  struct model **out)
{
        const struct pv *reg = NULL, *tr = NULL;
        struct model *m = NULL;
        double *shift = NULL, *scale = NULL;
        size_t n = 0, n1 = 0, d1 = 0;
        enum model_target_inverse kind = MODEL_TARGET_IDENTITY;
        struct model_error me;
        const struct pv *f = build_attr(bc, obj, "func");
        const struct pv *inv = build_attr(bc, obj, "inverse_func");
        int rc;
        if ((f && f->kind != PV_NONE) || (inv && inv->kind != PV_NONE))
                return build_fail(bc, -EPERM,
                                  "TransformedTargetRegressor with func/inverse_func is not "
                                  "supported: those functions are Python code, which predictd "
                                  "never runs");
        if ((rc = build_need_attr(bc, obj, "regressor_", &reg)) < 0 ||
            (rc = build_need_attr(bc, obj, "transformer_", &tr)) < 0)
                return rc;
        const char *tname = tr->kind == PV_OBJECT && tr->u.obj.cls->sk_name
                                    ? tr->u.obj.cls->sk_name : pv_kind_name(tr);
        if (strcmp(tname, "FunctionTransformer") == 0) {
                bool ident = false;
                if ((rc = is_identity(bc, tr, "TransformedTargetRegressor", "transformer_",
                                      &ident)) < 0)
                        return rc;
        } else if (strcmp(tname, "StandardScaler") == 0) {
                kind = MODEL_TARGET_STANDARD;
                if (build_attr_bool(bc, tr, "with_mean", true) &&
                    (rc = build_attr_f64(bc, tr, "mean_", 1, &shift, &n, &d1)) < 0)
                        goto out;
                if (build_attr_bool(bc, tr, "with_std", true) &&
                    (rc = build_attr_f64(bc, tr, "scale_", 1, &scale, &n1, &d1)) < 0)
                        goto out;
                if (shift && scale && n != n1) {
                        rc = build_fail(bc, -EINVAL,
                                        "TransformedTargetRegressor.transformer_: mean_ has %zu "
                                        "entries, scale_ %zu", n, n1);
                        goto out;
                }
                n = shift ? n : n1;
        } else if (strcmp(tname, "MinMaxScaler") == 0) {
                kind = MODEL_TARGET_MINMAX;
                if ((rc = build_attr_f64(bc, tr, "min_", 1, &shift, &n, &d1)) < 0 ||
                    (rc = build_attr_f64(bc, tr, "scale_", 1, &scale, &n1, &d1)) < 0)
                        goto out;
                if (n != n1) {
                        rc = build_fail(bc, -EINVAL,
                                        "TransformedTargetRegressor.transformer_: min_ has %zu "
                                        "entries, scale_ %zu", n, n1);
                        goto out;
                }
        } else {
                return build_fail(bc, -EINVAL,
                                  "TransformedTargetRegressor.transformer_: expected "
                                  "StandardScaler, MinMaxScaler or no transformer (their "
                                  "inverse_transform is served), found %s", tname);
        }
        if ((rc = build_member(bc, reg, "TransformedTargetRegressor", "regressor_", &m)) < 0)
                goto out;
        rc = model_target_regressor_create(m, kind, n, shift, scale, out, &me);
        if (rc < 0) {
                build_model_error(bc, rc, &me);
                goto out;
        }
        /* inverse_transform's column is squeezed only for a 1-D y */
        const struct pv *dim = build_attr(bc, obj, "_training_dim");
        model_set_outputs_2d(*out, dim && dim->kind == PV_INT && dim->u.i == 2);
out:
        free(shift);
        free(scale);
        return rc;
}

/* FunctionTransformer is allowed so that ColumnTransformer's identity
 * passthrough loads; on its own it is refused. */
static int build_pipeline(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        return build_pipeline_steps(bc, obj, false, out);
}

static int build_function_transformer(struct build_ctx *bc, const struct pv *obj,
                                      struct model **out)
{
        (void)out;
        const struct pv *f = build_attr(bc, obj, "func");
        return build_fail(bc, -EPERM,
                          "%s is not supported: FunctionTransformer runs Python code (its "
                          "func, %s), which predictd never executes",
                          build_cls_name(obj), pv_kind_name(f));
}

const struct build_entry build_compose_entries[] = {
        { { "sklearn.pipeline", "Pipeline", ROLE_ESTIMATOR, "Pipeline" }, build_pipeline },
        { { "sklearn.pipeline", "FeatureUnion", ROLE_ESTIMATOR, "FeatureUnion" },
          build_feature_union },
        { { "sklearn.compose._column_transformer", "ColumnTransformer", ROLE_ESTIMATOR,
            "ColumnTransformer" }, build_column_transformer },
        { { "sklearn.compose._target", "TransformedTargetRegressor", ROLE_ESTIMATOR,
            "TransformedTargetRegressor" }, build_target_regressor },
        { { "sklearn.preprocessing._function_transformer", "FunctionTransformer",
            ROLE_ESTIMATOR, "FunctionTransformer" }, build_function_transformer },
        /* a column specifier, kept as inert data: its arguments are read,
         * it is never called */
        { { "builtins", "slice", ROLE_ESTIMATOR, "slice" }, NULL },
        /* 1.5-1.6: the remainder's columns, a list subclass (read_columns) */
        { { "sklearn.compose._column_transformer", "_RemainderColsList", ROLE_ESTIMATOR,
            "_RemainderColsList" }, NULL },
        /* before 1.0 a ColumnTransformer fitted on a DataFrame also keeps
         * its columns as a pandas Index (_df_columns): kept as inert data,
         * never read (_feature_names_in holds the same names) */
        { { "pandas.core.indexes.base", "_new_Index", ROLE_INERT, NULL }, NULL },
        { { "pandas.core.indexes.base", "Index", ROLE_INERT, NULL }, NULL },
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
