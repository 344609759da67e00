/* serialize_internal.h - the inert object graph the pickle machine builds,
 * and what the parts of serialize/ share. Never included outside it. */
#ifndef PREDICTD_SERIALIZE_INTERNAL_H
#define PREDICTD_SERIALIZE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serialize.h"

/* --- arena: every graph allocation, counted against one limit -------- */

struct arena {
        struct arena_block *head;
        size_t used;  /* bytes handed out, including block overhead */
        size_t limit;
};

void arena_init(struct arena *a, size_t limit);
/* Zeroed memory, 16-byte aligned; NULL when the limit would be passed or
 * malloc fails. */
void *arena_alloc(struct arena *a, size_t n);
/* As arena_alloc, not zeroed: for memory the caller writes before anything
 * reads it (a string's copy). */
void *arena_alloc_raw(struct arena *a, size_t n);
void arena_release(struct arena *a);

/* --- globals ----------------------------------------------------------- */

enum pv_role {
        ROLE_ESTIMATOR,       /* a scikit-learn class: NEWOBJ/REDUCE + BUILD */
        ROLE_NDARRAY,         /* numpy.ndarray, only as _reconstruct's arg */
        ROLE_RECONSTRUCT,     /* numpy _reconstruct(ndarray, shape, b'b') */
        ROLE_DTYPE,           /* numpy.dtype(descr, align, copy) */
        ROLE_SCALAR,          /* numpy scalar(dtype, bytes) */
        ROLE_FROMBUFFER,      /* numpy _frombuffer(buf, dtype, shape, order) */
        ROLE_CODECS_ENCODE,   /* _codecs.encode(str, 'latin1') -> bytes */
        ROLE_BYTES,           /* bytes() */
        ROLE_RECONSTRUCTOR,   /* copyreg._reconstructor(cls, object, None) */
        ROLE_OBJECT,          /* builtins.object, only as _reconstructor's arg */
        ROLE_SET,             /* set(list) / frozenset(list) */
        ROLE_ORDERED_DICT,    /* collections.OrderedDict(): a plain dict,
                               * as pickle writes one (REDUCE of (), then
                               * SETITEMS) */
        ROLE_DATETIME,        /* datetime.datetime(bytes) */
        ROLE_DATE,            /* datetime.date(bytes) */
        ROLE_JOBLIB_WRAPPER,  /* joblib NumpyArrayWrapper */
        ROLE_INERT,           /* an object kept as data and never served
                               * (numpy random state in tree estimators):
                               * REDUCE/NEWOBJ args and any BUILD state */
        ROLE_PARTIAL,         /* functools.partial: only as partial.c allows */
        ROLE_CHECK_ARRAY,     /* sklearn.utils.validation.check_array: only
                               * the function that partial wraps, never called */
        ROLE_GETATTR,         /* builtins.getattr: only as scipy_stats.c
                               * allows (a scipy distribution's own method,
                               * kept as a name, never looked up) */
};

struct pv_class {
        const char *module;
        const char *name;
        enum pv_role role;
        const char *sk_name; /* scikit-learn class name, ROLE_ESTIMATOR only;
                              * "functools.partial" for ROLE_PARTIAL, which
                              * messages name in full */
};

/* The entry for exactly (module, name), or NULL. */
const struct pv_class *allowlist_find(const char *module, size_t module_len,
                                      const char *name, size_t name_len);
/* Why a global that allowlist_find refused is refused, for the message:
 * another framework named as such (XGBoost, Keras, ...), a module that is
 * the user's own code, or the plain allowlist reason. Always writes buf. */
void allowlist_explain(const char *module, size_t module_len, char *buf, size_t len);
/* Why a scikit-learn class (a sklearn.* global allowlist_find refused) is
 * refused: a reason of its own where there is one (DBSCAN has no predict,
 * text vectorizers are not served), else "not supported". */
void allowlist_explain_sklearn(const char *name, size_t name_len, char *buf, size_t len);

/* --- values ------------------------------------------------------------ */

enum pv_kind {
        PV_NONE,
        PV_BOOL,
        PV_INT,
        PV_BIGINT, /* an integer wider than 64 bits: kept, never used */
        PV_FLOAT,
        PV_STR,    /* UTF-8, NUL-terminated */
        PV_BYTES,
        PV_TUPLE,
        PV_LIST,
        PV_DICT,
        PV_SET,
        PV_GLOBAL,
        PV_OBJECT,
        PV_ARRAY,
        PV_DTYPE,
};

struct pv;

struct pv_dtype {
        char kind;       /* numpy kind: f i u b O U S V */
        size_t itemsize;
        char byteorder;  /* '<' '>' '|' */
        bool built;
        size_t n_fields; /* structured dtypes */
        const char **field_names;
        struct pv_dtype **field_types;
        size_t *field_offsets;
};

struct pv_array {
        struct pv_dtype *dtype;
        size_t ndim;
        size_t shape[32];
        size_t count;          /* product of shape */
        bool built;
        const uint8_t *data;   /* count x itemsize bytes, C order */
        struct pv **objects;   /* dtype 'O': count values */
};

struct pv {
        enum pv_kind kind;
        size_t offset; /* where in the stream it was made */
        union {
                bool b;
                int64_t i;
                double f;
                struct {
                        const char *data;
                        size_t len;
                } s; /* STR, BYTES, BIGINT (raw little-endian bytes) */
                struct {
                        struct pv **items;
                        size_t len, cap;
                } seq; /* TUPLE, LIST, SET */
                struct {
                        struct pv **keys, **vals;
                        size_t len, cap;
                } dict;
                const struct pv_class *global;
                struct {
                        const struct pv_class *cls;
                        struct pv *args;
                        struct pv *state;
                } obj;
                struct pv_array *arr;
                struct pv_dtype *dtype;
        } u;
};

/* --- the pickle machine ---------------------------------------------- */

#include <locale.h>

/* The functools.partial objects a stream made (partial.c): each must be
 * placed by a builder before the load succeeds. */
#define MAX_PARTIALS 4096

struct partial_made {
        const struct pv *obj;
        size_t name_off; /* where the stream names functools.partial */
        bool placed;
};

struct partial_list {
        struct partial_made *v; /* MAX_PARTIALS entries, from the arena */
        size_t n;
};

struct pickle_ctx {
        const uint8_t *buf;
        size_t len;
        const struct serialize_limits *lim;
        struct arena *arena;
        struct serialize_error *err;
        int max_protocol_seen;
        size_t joblib_arrays; /* NumpyArrayWrapper arrays read */
        locale_t c_locale;    /* made on first use, freed with the load */
        struct partial_list partials;
};

/* Runs the pickle stream that starts at *pos; on success *out is the value
 * STOP returned and *pos the byte after STOP. nested > 0 for the pickles
 * joblib embeds for object arrays. */
int pickle_vm_run(struct pickle_ctx *ctx, size_t *pos, int nested,
                  struct pv **out);

/* --- numpy ------------------------------------------------------------ */

/* Parses a dtype descriptor such as "f8", "<i4", "O8", "V56". */
int numpy_dtype_from_descr(struct pickle_ctx *ctx, const char *descr,
                           size_t len, size_t offset, struct pv_dtype **out);
/* Applies a dtype's BUILD state (3 or 4, endian, subarray, names, ...). */
int numpy_dtype_build(struct pickle_ctx *ctx, struct pv_dtype *dt,
                      const struct pv *state, size_t offset);
/* Applies an ndarray's BUILD state (1, shape, dtype, is_fortran, data). */
int numpy_array_build(struct pickle_ctx *ctx, struct pv_array *arr,
                      const struct pv *state, size_t offset);
/* Makes a built array from raw bytes in the given order ('C' or 'F'). */
int numpy_array_from_bytes(struct pickle_ctx *ctx, struct pv_dtype *dt,
                           const size_t *shape, size_t ndim, char order,
                           const uint8_t *data, size_t len, size_t offset,
                           struct pv **out);
/* Decodes an xz stream (alone false) or an lzma-alone one (true) into a
 * new buffer of at most max bytes (unxz.c). -EFBIG past max, -EINVAL for
 * corrupt or truncated data, -ENOMEM; the reason in err. */
int unxz_all(const uint8_t *in, size_t len, bool alone, size_t max, uint8_t **out,
             size_t *out_len, struct serialize_error *err);

/* An output buffer that a decoder fills: buf[0..n) used of cap. */
struct decomp_out {
        uint8_t *buf;
        size_t n, cap;
};

/* Makes room in o when it is full (first to hint bytes, then doubling),
 * never past max + 1 bytes: -EFBIG when o already holds more than max,
 * -ENOMEM; the reason in err (decompress.c). */
int decomp_grow(struct decomp_out *o, size_t max, size_t hint, struct serialize_error *err);

/* Decode a bz2 stream, or one lz4 frame, into a new buffer of at most
 * max bytes. -EFBIG past max, -EINVAL for corrupt or truncated data,
 * -ENOMEM; the reason in err (decompress.c). */
int unbz2_all(const uint8_t *in, size_t len, size_t max, uint8_t **out, size_t *out_len,
              struct serialize_error *err);
int unlz4_all(const uint8_t *in, size_t len, size_t max, uint8_t **out, size_t *out_len,
              struct serialize_error *err);

/* Transposes a built array in place as numpy's transpose(axes) and
 * copies it to C order: numpy 2.4 pickles an array that is neither C
 * nor F contiguous as _frombuffer(buf, dtype, shape, 'K', axis_order). */
int numpy_array_transpose(struct pickle_ctx *ctx, struct pv_array *arr, const size_t *axes,
                          size_t offset);
/* Sets arr->shape/ndim/count from a tuple of ints. */
int numpy_shape_from_tuple(struct pickle_ctx *ctx, const struct pv *t,
                           size_t *shape, size_t *ndim, size_t *count,
                           size_t offset);
/* Converts element i of a numeric array (f, i, u, b kinds) to double. */
bool numpy_get_f64(const struct pv_dtype *dt, const uint8_t *p, double *out);
bool numpy_get_i64(const struct pv_dtype *dt, const uint8_t *p, int64_t *out);
/* An unsigned integer element as uint64; false for any other kind. */
bool numpy_get_u64(const struct pv_dtype *dt, const uint8_t *p, uint64_t *out);
/* True when dt is an 8-byte element of kind ('i', 'u' or 'f') in this
 * machine's byte order: a plain 8-byte load reads it as the getters do.
 * Inline: the getters ask it for every element. */
static inline bool numpy_native8(const struct pv_dtype *dt, char kind)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return dt->kind == kind && dt->itemsize == 8 && dt->byteorder != '>';
#else
        (void)dt;
        (void)kind;
        return false;
#endif
}
/* Every element of a numeric array (f, i, u, b kinds) as double into
 * out[a->count]: one copy when it already holds native doubles. */
void numpy_copy_f64(const struct pv_array *a, double *out);

/* --- the one functools.partial a model may hold (partial.c) ------------ */

/* The stream's checks, each 0 or -EPERM with the reason in why[0..n):
 * REDUCE arguments of functools.partial, and the BUILD state of the
 * partial object it made. */
int partial_check_args(const struct pv *args, char *why, size_t n);
int partial_check_state(const struct pv *state, char *why, size_t n);
/* Records a partial object made at name_off; -EFBIG past MAX_PARTIALS,
 * -EFBIG when the arena is full. */
int partial_record(struct pickle_ctx *ctx, const struct pv *obj, size_t name_off);
/* After building: -EPERM (err set, naming the global and where the
 * stream names it) for the first partial no builder placed. */
int partial_check_placed(const struct partial_list *l, struct serialize_error *err);

/* --- scipy.stats distributions in a search (scipy_stats.c) ------------- */

/* 0 when the REDUCE arguments of builtins.getattr are a scipy.stats
 * distribution object and a method name scipy pickles; else -EPERM with
 * the reason in why[0..n). */
int scipy_getattr_check(const struct pv *args, char *why, size_t n);
/* Whether c is one of scipy.stats' distribution classes (randint_gen, ...). */
bool scipy_is_distribution(const struct pv_class *c);

/* --- helpers ------------------------------------------------------------ */

void serr_set(struct serialize_error *err, long long offset, const char *fmt,
              ...) __attribute__((format(printf, 3, 4)));

/* The value of key in dict (last one written wins; a bytes key matches a
 * str key with the same contents, for Python 2 files), or NULL. */
struct pv *pv_dict_get(const struct pv *dict, const char *key);
bool pv_is_str(const struct pv *v, const char *s);
/* Writes code point cp as UTF-8 (1-4 bytes) and returns the length. */
size_t pv_utf8_put(uint32_t cp, char *out);
/* Decodes numpy 'U' data (UTF-32, NUL-padded) of `units` code units into
 * out (room for 4 * units + 1 bytes), NUL-terminated. Returns the length,
 * or -1 for a value that is not a Unicode scalar. */
long pv_utf32_decode(const uint8_t *p, size_t units, char byteorder, char *out);
const char *pv_kind_name(const struct pv *v);

/* --- builders ------------------------------------------------------------ */

struct build_ctx {
        const struct serialize_limits *lim;
        struct serialize_error *err;
        size_t depth;
        size_t model_bytes; /* native memory committed so far */
        size_t lookups;     /* dict entries scanned: bounds the work a graph
                             * of shared references can cause */
        size_t max_lookups; /* the bound: grows with the stream's size */
        char sklearn_version[32];
        /* the strings the model compares (string categories), attached
         * to the outermost model when it is built */
        struct model_strings *strings;
        size_t cells; /* category and statistic cells read, repeats included */
        struct partial_list *partials; /* the stream's, for placing them */
        /* one tree's nodes and values as read, reused from tree to tree
         * of a forest (build_tree.c); freed once the build is done */
        void *tree_scratch;
        size_t tree_scratch_bytes;
        bool tree_scratch_busy;
};

/* True when v is a search (GridSearchCV, ...) served through its
 * best_estimator_ (build_search.c). */
bool build_is_search(const struct pv *v);

/* Builds the estimator object v into a model. */
int build_estimator(struct build_ctx *bc, const struct pv *v,
                    struct model **out);

/* --- reading and integrity (serialize.c, signature.c, digest.c) --- */

/* The whole file at path, at most max bytes, into a new *out (malloc'd).
 * -EFBIG over max, errors of open and read; the message does not name
 * the file (the caller does). */
int serialize_read_file(const char *path, size_t max, uint8_t **out, size_t *len,
                        struct serialize_error *err);

/* A SHA-256 computed on a thread of its own, of bytes a reader hands it
 * as they arrive (digest.c). Start it, publish buf[0, n) each time n
 * grows (bytes published are never written again), wait for it to be
 * idle before buf moves, and finish it before buf is freed: finish writes
 * the 64 hex digits to hex (hex[0] == '\0' if OpenSSL failed; hex may be
 * NULL) and frees the feed. */
struct digest_feed;
int digest_feed_start(struct digest_feed **out);
void digest_feed_publish(struct digest_feed *f, const uint8_t *buf, size_t n);
void digest_feed_idle(struct digest_feed *f);
void digest_feed_finish(struct digest_feed *f, char hex[65]);

/* The SHA-256 of data as 64 hex digits (out[0] == '\0' if OpenSSL fails;
 * digest.c). */
void serialize_sha256_hex(const uint8_t *data, size_t len, char out[65]);

/* trust's pinned digests and signature keys (trust may be NULL) checked
 * against the len bytes read from path, whose SHA-256 is sha256 (read
 * only when trust pins digests, so NULL will do when it pins none). On
 * success state says what was found about PATH.sig. -EPERM when a check
 * fails, the message naming the file. */
int serialize_trust_check(const struct serialize_trust *trust, const char *path, const uint8_t *data,
                size_t len, const char sha256[65], char *state, size_t statelen,
                struct serialize_error *err);

#endif
