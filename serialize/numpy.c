/* numpy.c - numpy dtypes and arrays from their pickled state, as data.
 *
 * numpy pickles an array as _reconstruct(...) + BUILD(1, shape, dtype,
 * is_fortran, data) or, at protocol 5, _frombuffer(buf, dtype, shape,
 * order); joblib writes raw bytes after a wrapper. All three end here:
 * the shape is checked, the byte count must match exactly, Fortran order
 * is turned into C order, and values are read with their byte order. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "serialize_internal.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "predictd reads numpy data assuming a little-endian host"
#endif

#define NUMPY_MAX_FIELDS 64

static int nfail(struct pickle_ctx *ctx, size_t off, int code, const char *what)
{
        serr_set(ctx->err, (long long)off, "byte offset %zu: %s", off, what);
        return code;
}

int numpy_dtype_from_descr(struct pickle_ctx *ctx, const char *descr,
                           size_t len, size_t offset, struct pv_dtype **out)
{
        char msg[160];
        size_t i = 0;
        char order = '=';
        if (len > 0 && strchr("<>|=", descr[0])) {
                order = descr[0];
                i = 1;
        }
        if (i >= len)
                goto bad;
        char kind = descr[i++];
        size_t size = 0;
        if (i == len)
                goto bad;
        for (; i < len; i++) {
                if (descr[i] < '0' || descr[i] > '9' || size > 100000000)
                        goto bad;
                size = size * 10 + (size_t)(descr[i] - '0');
        }
        bool ok;
        switch (kind) {
        case 'f': ok = size == 4 || size == 8; break;
        case 'i':
        case 'u': ok = size == 1 || size == 2 || size == 4 || size == 8; break;
        case 'b': ok = size == 1; break;
        case 'O': ok = size == 8 || size == 4; break;
        case 'U': ok = size > 0; size *= 4; break; /* 'U10' is 10 UTF-32 units */
        case 'S':
        case 'V': ok = size > 0; break; /* zero-size items would make counts free */
        default: ok = false;
        }
        if (!ok)
                goto bad;
        struct pv_dtype *dt = arena_alloc(ctx->arena, sizeof(*dt));
        if (!dt)
                return nfail(ctx, offset, -EFBIG, "out of memory for a dtype");
        dt->kind = kind;
        dt->itemsize = size;
        dt->byteorder = (size <= 1 || kind == 'O' || kind == 'S' || kind == 'V')
                                ? '|' : (order == '>' ? '>' : '<');
        *out = dt;
        return 0;
bad:
        snprintf(msg, sizeof(msg),
                 "numpy dtype '%.*s' is not supported (expected f4/f8, i/u 1-8, b1, "
                 "O, U, S or a structured V)",
                 (int)(len > 20 ? 20 : len), descr);
        return nfail(ctx, offset, -EINVAL, msg);
}

static int int_of(const struct pv *v, int64_t *out)
{
        if (!v || v->kind != PV_INT)
                return -1;
        *out = v->u.i;
        return 0;
}

int numpy_dtype_build(struct pickle_ctx *ctx, struct pv_dtype *dt,
                      const struct pv *state, size_t offset)
{
        char msg[200];
        if (dt->built)
                return nfail(ctx, offset, -EINVAL, "numpy dtype built twice");
        if (!state || state->kind != PV_TUPLE ||
            (state->u.seq.len != 8 && state->u.seq.len != 9))
                return nfail(ctx, offset, -EINVAL,
                             "numpy dtype state: expected a tuple of 8 or 9 items");
        struct pv **s = state->u.seq.items;
        int64_t version, elsize;
        if (int_of(s[0], &version) < 0 || (version != 3 && version != 4) ||
            int_of(s[5], &elsize) < 0)
                return nfail(ctx, offset, -EINVAL,
                             "numpy dtype state: expected version 3 or 4 and an int size");
        if (pv_is_str(s[1], ">"))
                dt->byteorder = dt->byteorder == '|' ? '|' : '>';
        else if (pv_is_str(s[1], "<") || pv_is_str(s[1], "="))
                dt->byteorder = dt->byteorder == '|' ? '|' : '<';
        else if (!pv_is_str(s[1], "|"))
                return nfail(ctx, offset, -EINVAL, "numpy dtype state: unknown byte order");
        if (s[2]->kind != PV_NONE)
                return nfail(ctx, offset, -EINVAL,
                             "numpy dtypes with a subarray shape are not supported");
        if ((dt->kind == 'U' || dt->kind == 'S' || dt->kind == 'V') && elsize != -1) {
                if (elsize <= 0 || elsize > 100000000 || (dt->kind == 'U' && elsize % 4))
                        return nfail(ctx, offset, -EINVAL,
                                     "numpy dtype state: item size must be positive (and a "
                                     "multiple of 4 for str)");
                dt->itemsize = (size_t)elsize;
        }

        const struct pv *names = s[3], *fields = s[4];
        if (names->kind == PV_TUPLE) {
                if (dt->kind != 'V' || fields->kind != PV_DICT)
                        return nfail(ctx, offset, -EINVAL,
                                     "numpy dtype state: field names without fields");
                size_t n = names->u.seq.len;
                /* scikit-learn's records have at most 13 fields; the cap
                 * keeps the name-to-field lookups below linear per name */
                if (n == 0 || n > NUMPY_MAX_FIELDS || fields->u.dict.len > 2 * NUMPY_MAX_FIELDS)
                        return nfail(ctx, offset, -EINVAL,
                                     "numpy structured dtype: expected 1 to 64 fields");
                dt->n_fields = n;
                dt->field_names = arena_alloc(ctx->arena, (n + 1) * sizeof(char *));
                dt->field_types = arena_alloc(ctx->arena, (n + 1) * sizeof(*dt->field_types));
                dt->field_offsets = arena_alloc(ctx->arena, (n + 1) * sizeof(size_t));
                if (!dt->field_names || !dt->field_types || !dt->field_offsets)
                        return nfail(ctx, offset, -EFBIG, "out of memory for dtype fields");
                for (size_t i = 0; i < n; i++) {
                        const struct pv *nm = names->u.seq.items[i];
                        if (nm->kind != PV_STR)
                                return nfail(ctx, offset, -EINVAL, "numpy field name is not a str");
                        const struct pv *f = pv_dict_get(fields, nm->u.s.data);
                        int64_t off;
                        if (!f || f->kind != PV_TUPLE || f->u.seq.len < 2 ||
                            f->u.seq.items[0]->kind != PV_DTYPE ||
                            int_of(f->u.seq.items[1], &off) < 0 || off < 0) {
                                snprintf(msg, sizeof(msg),
                                         "numpy field '%.40s': expected (dtype, offset)",
                                         nm->u.s.data);
                                return nfail(ctx, offset, -EINVAL, msg);
                        }
                        struct pv_dtype *ft = f->u.seq.items[0]->u.dtype;
                        if (!ft->built || ft->n_fields || ft->kind == 'O' ||
                            (size_t)off > dt->itemsize ||
                            ft->itemsize > dt->itemsize - (size_t)off) {
                                snprintf(msg, sizeof(msg),
                                         "numpy field '%.40s' at %lld does not fit in "
                                         "%zu-byte records",
                                         nm->u.s.data, (long long)off, dt->itemsize);
                                return nfail(ctx, offset, -EINVAL, msg);
                        }
                        dt->field_names[i] = nm->u.s.data;
                        dt->field_types[i] = ft;
                        dt->field_offsets[i] = (size_t)off;
                }
        } else if (names->kind != PV_NONE) {
                return nfail(ctx, offset, -EINVAL, "numpy dtype state: names is not a tuple");
        }
        dt->built = true;
        return 0;
}

int numpy_shape_from_tuple(struct pickle_ctx *ctx, const struct pv *t,
                           size_t *shape, size_t *ndim, size_t *count,
                           size_t offset)
{
        if (!t || t->kind != PV_TUPLE || t->u.seq.len > 32)
                return nfail(ctx, offset, -EINVAL,
                             "numpy shape: expected a tuple of at most 32 ints");
        size_t c = 1;
        for (size_t i = 0; i < t->u.seq.len; i++) {
                int64_t d;
                if (int_of(t->u.seq.items[i], &d) < 0 || d < 0)
                        return nfail(ctx, offset, -EINVAL,
                                     "numpy shape: expected non-negative ints");
                if (d && c > SIZE_MAX / (size_t)d)
                        return nfail(ctx, offset, -EFBIG, "numpy shape: too many elements");
                c *= (size_t)d;
                shape[i] = (size_t)d;
        }
        /* every element costs at least a byte (or a list slot) of input or
         * memory, so no real array has more elements than that budget */
        if (c > ctx->lim->max_alloc_bytes)
                return nfail(ctx, offset, -EFBIG, "numpy shape: more elements than the load limit");
        *ndim = t->u.seq.len;
        *count = c;
        return 0;
}

/* Fortran-ordered data to C order. */
static int to_c_order(struct pickle_ctx *ctx, const uint8_t *src, size_t item,
                      const size_t *shape, size_t ndim, size_t count,
                      size_t offset, const uint8_t **out)
{
        uint8_t *dst = arena_alloc(ctx->arena, count * item);
        if (!dst)
                return nfail(ctx, offset, -EFBIG, "out of memory for an array");
        size_t idx[32] = { 0 };
        for (size_t c = 0; c < count; c++) {
                /* idx is the C multi-index of element c */
                size_t f = 0, stride = 1;
                for (size_t d = 0; d < ndim; d++) {
                        f += idx[d] * stride;
                        stride *= shape[d];
                }
                memcpy(dst + c * item, src + f * item, item);
                for (size_t d = ndim; d-- > 0;) {
                        if (++idx[d] < shape[d])
                                break;
                        idx[d] = 0;
                }
        }
        *out = dst;
        return 0;
}

int numpy_array_from_bytes(struct pickle_ctx *ctx, struct pv_dtype *dt,
                           const size_t *shape, size_t ndim, char order,
                           const uint8_t *data, size_t len, size_t offset,
                           struct pv **out)
{
        char msg[200];
        size_t count = 1;
        for (size_t i = 0; i < ndim; i++)
                count *= shape[i]; /* checked by numpy_shape_from_tuple */
        if (!dt->built)
                return nfail(ctx, offset, -EINVAL, "numpy dtype used before its state was set");
        if (dt->kind == 'O')
                return nfail(ctx, offset, -EINVAL,
                             "numpy object array given as raw bytes");
        if (dt->itemsize && count > SIZE_MAX / dt->itemsize)
                return nfail(ctx, offset, -EFBIG, "numpy array too large");
        if (len != count * dt->itemsize) {
                snprintf(msg, sizeof(msg),
                         "numpy array data: expected %zu bytes (%zu items of %zu), found %zu",
                         count * dt->itemsize, count, dt->itemsize, len);
                return nfail(ctx, offset, -EINVAL, msg);
        }
        struct pv *v = arena_alloc(ctx->arena, sizeof(*v));
        struct pv_array *arr = v ? arena_alloc(ctx->arena, sizeof(*arr)) : NULL;
        if (!arr)
                return nfail(ctx, offset, -EFBIG, "out of memory for an array");
        v->kind = PV_ARRAY;
        v->offset = offset;
        v->u.arr = arr;
        arr->dtype = dt;
        arr->ndim = ndim;
        memcpy(arr->shape, shape, ndim * sizeof(size_t));
        arr->count = count;
        arr->data = data;
        if (order == 'F' && ndim > 1) {
                int rc = to_c_order(ctx, data, dt->itemsize, shape, ndim, count,
                                    offset, &arr->data);
                if (rc < 0)
                        return rc;
        }
        arr->built = true;
        *out = v;
        return 0;
}

int numpy_array_transpose(struct pickle_ctx *ctx, struct pv_array *arr, const size_t *axes,
                          size_t offset)
{
        size_t n = arr->ndim, item = arr->dtype->itemsize;
        size_t in_stride[32], out_shape[32], idx[32] = { 0 };
        bool seen[32] = { false };
        for (size_t d = 0; d < n; d++) {
                if (axes[d] >= n || seen[axes[d]])
                        return nfail(ctx, offset, -EINVAL,
                                     "numpy _frombuffer: axis_order is not a permutation of "
                                     "the array's axes");
                seen[axes[d]] = true;
        }
        for (size_t d = n, st = 1; d-- > 0;) {
                in_stride[d] = st;
                st *= arr->shape[d];
        }
        for (size_t d = 0; d < n; d++)
                out_shape[d] = arr->shape[axes[d]];
        uint8_t *dst = arena_alloc(ctx->arena, arr->count * item > 0 ? arr->count * item : 1);
        if (!dst)
                return nfail(ctx, offset, -EFBIG, "out of memory for an array");
        for (size_t c = 0; c < arr->count; c++) {
                /* idx is the C multi-index of element c of the result */
                size_t f = 0;
                for (size_t d = 0; d < n; d++)
                        f += idx[d] * in_stride[axes[d]];
                memcpy(dst + c * item, arr->data + f * item, item);
                for (size_t d = n; d-- > 0;) {
                        if (++idx[d] < out_shape[d])
                                break;
                        idx[d] = 0;
                }
        }
        memcpy(arr->shape, out_shape, n * sizeof(size_t));
        arr->data = dst;
        return 0;
}

int numpy_array_build(struct pickle_ctx *ctx, struct pv_array *arr,
                      const struct pv *state, size_t offset)
{
        char msg[200];
        if (arr->built)
                return nfail(ctx, offset, -EINVAL, "numpy array built twice");
        if (!state || state->kind != PV_TUPLE ||
            (state->u.seq.len != 5 && state->u.seq.len != 4))
                return nfail(ctx, offset, -EINVAL,
                             "numpy array state: expected (version, shape, dtype, "
                             "is_fortran, data)");
        struct pv **s = state->u.seq.items;
        if (state->u.seq.len == 5) {
                if (s[0]->kind != PV_INT || s[0]->u.i != 1)
                        return nfail(ctx, offset, -EINVAL,
                                     "numpy array state: expected version 1");
                s++;
        }
        const struct pv *shape_t = s[0], *dtype = s[1], *fortran = s[2], *data = s[3];
        if (dtype->kind != PV_DTYPE ||
            (fortran->kind != PV_BOOL && fortran->kind != PV_INT))
                return nfail(ctx, offset, -EINVAL,
                             "numpy array state: expected a dtype and a fortran flag");
        size_t shape[32], ndim, count;
        int rc = numpy_shape_from_tuple(ctx, shape_t, shape, &ndim, &count, offset);
        if (rc < 0)
                return rc;
        bool is_f = fortran->kind == PV_BOOL ? fortran->u.b : fortran->u.i != 0;
        struct pv_dtype *dt = dtype->u.dtype;
        if (!dt->built)
                return nfail(ctx, offset, -EINVAL, "numpy dtype used before its state was set");
        if (dt->kind == 'O') {
                if (data->kind != PV_LIST || data->u.seq.len != count) {
                        snprintf(msg, sizeof(msg),
                                 "numpy object array: expected a list of %zu items, found %s",
                                 count, pv_kind_name(data));
                        return nfail(ctx, offset, -EINVAL, msg);
                }
                struct pv **objs = data->u.seq.items;
                if (is_f && ndim > 1) {
                        const uint8_t *c = NULL;
                        rc = to_c_order(ctx, (const uint8_t *)objs, sizeof(*objs), shape,
                                        ndim, count, offset, &c);
                        if (rc < 0)
                                return rc;
                        objs = (struct pv **)(uintptr_t)c;
                }
                arr->dtype = dt;
                arr->ndim = ndim;
                memcpy(arr->shape, shape, sizeof(shape));
                arr->count = count;
                arr->objects = objs;
                arr->built = true;
                return 0;
        }
        if (data->kind != PV_BYTES)
                return nfail(ctx, offset, -EINVAL, "numpy array data: expected bytes");
        struct pv *tmp = NULL;
        rc = numpy_array_from_bytes(ctx, dt, shape, ndim, is_f ? 'F' : 'C',
                                    (const uint8_t *)data->u.s.data, data->u.s.len,
                                    offset, &tmp);
        if (rc < 0)
                return rc;
        *arr = *tmp->u.arr;
        return 0;
}

static uint64_t load_uint(const struct pv_dtype *dt, const uint8_t *p)
{
        uint64_t v = 0;
        size_t n = dt->itemsize;
        /* the common case (8-byte little-endian ints and doubles of every
         * tree node) as one load: a model's load is mostly these */
        if (numpy_native8(dt, dt->kind)) {
                memcpy(&v, p, 8);
                return v;
        }
        if (dt->byteorder == '>')
                for (size_t i = 0; i < n; i++)
                        v = (v << 8) | p[i];
        else
                for (size_t i = n; i-- > 0;)
                        v = (v << 8) | p[i];
        return v;
}

bool numpy_get_f64(const struct pv_dtype *dt, const uint8_t *p, double *out)
{
        uint64_t u = load_uint(dt, p);
        switch (dt->kind) {
        case 'f':
                if (dt->itemsize == 8) {
                        memcpy(out, &u, 8);
                } else {
                        uint32_t u32 = (uint32_t)u;
                        float f;
                        memcpy(&f, &u32, 4);
                        *out = f;
                }
                return true;
        case 'i': {
                int64_t i;
                if (!numpy_get_i64(dt, p, &i))
                        return false;
                *out = (double)i;
                return true;
        }
        case 'u':
                *out = (double)u;
                return true;
        case 'b':
                *out = u ? 1.0 : 0.0;
                return true;
        default:
                return false;
        }
}

void numpy_copy_f64(const struct pv_array *a, double *out)
{
        if (numpy_native8(a->dtype, 'f')) {
                memcpy(out, a->data, a->count * sizeof(double));
                return;
        }
        for (size_t i = 0; i < a->count; i++)
                numpy_get_f64(a->dtype, a->data + i * a->dtype->itemsize, &out[i]);
}

bool numpy_get_u64(const struct pv_dtype *dt, const uint8_t *p, uint64_t *out)
{
        if (dt->kind != 'u')
                return false;
        *out = load_uint(dt, p);
        return true;
}

bool numpy_get_i64(const struct pv_dtype *dt, const uint8_t *p, int64_t *out)
{
        uint64_t u = load_uint(dt, p);
        size_t bits = dt->itemsize * 8;
        switch (dt->kind) {
        case 'i':
                if (bits < 64 && (u >> (bits - 1)) & 1)
                        u |= ~(uint64_t)0 << bits;
                *out = (int64_t)u;
                return true;
        case 'u':
                if (u > INT64_MAX)
                        return false;
                *out = (int64_t)u;
                return true;
        case 'b':
                *out = u != 0;
                return true;
        default:
                return false;
        }
}
