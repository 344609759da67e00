/* serialize.c - from a file to a model: read the bytes (bounded), hash
 * them, undo joblib's compression, run the restricted pickle machine,
 * unwrap the metadata dict some users save around their estimator, and
 * hand the estimator to its builder. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "model_build.h"
#include "build_internal.h"
#include "serialize_internal.h"

void serialize_limits_default(struct serialize_limits *lim)
{
        lim->max_file_bytes = (size_t)1 << 30;
        lim->max_stream_bytes = (size_t)2 << 30;
        lim->max_alloc_bytes = (size_t)4 << 30;
        lim->max_memo = (size_t)1 << 22;
        lim->max_stack = (size_t)1 << 20;
        lim->max_depth = 64;
        lim->max_model_bytes = (size_t)4 << 30;
}

void serialize_info_free(struct serialize_info *info)
{
        if (!info)
                return;
        for (size_t i = 0; i < info->n_feature_names; i++)
                free(info->feature_names[i]);
        free(info->feature_names);
        for (size_t i = 0; i < info->n_meta; i++) {
                free(info->meta[i].key);
                free(info->meta[i].json);
        }
        free(info->meta);
        free(info);
}

/* --- reading and decompressing ------------------------------------------ */

/* Buffers of at least HUGE_BYTES are aligned to and advised into 2 MiB
 * pages: a 100 MB file otherwise takes 25,000 page faults to read. */
#define HUGE_BYTES ((size_t)2 << 20)

static uint8_t *big_buffer(size_t cap)
{
        void *p = NULL;
        if (cap < HUGE_BYTES)
                return malloc(cap);
        if (posix_memalign(&p, HUGE_BYTES, cap) != 0)
                return NULL;
        (void)madvise(p, cap & ~(HUGE_BYTES - 1), MADV_HUGEPAGE); /* advice only */
        return p;
}

/* Files at least this large are hashed on a thread of their own while
 * they are read and loaded (digest.c), when nothing waits on the digest
 * (no pin, no key). */
#define DIGEST_THREAD_BYTES ((size_t)4 << 20)
/* What one read() takes while a digest follows the reader: the thread
 * starts on the first piece rather than once the whole file is in. */
#define FEED_BYTES ((size_t)4 << 20)

/* serialize_read_file; with feed non-NULL, a regular file of at least
 * DIGEST_THREAD_BYTES is hashed as it is read by a digest thread that
 * *feed is then set to (else NULL), for the caller to finish. */
static int read_file(const char *path, size_t max, uint8_t **out, size_t *len,
                     struct digest_feed **feed, struct serialize_error *err)
{
        struct digest_feed *f = NULL;
        if (feed)
                *feed = NULL;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                int e = errno;
                serr_set(err, -1, "cannot open: %s", strerror(e));
                return -e;
        }
        /* a regular file's size is known: one buffer of that size and a
         * byte more, so that reading to the end needs no copy (a file that
         * grows while read still grows the buffer below) */
        struct stat st;
        size_t cap = 1 << 16, n = 0;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
            (uint64_t)st.st_size < max)
                cap = (size_t)st.st_size + 1 > cap ? (size_t)st.st_size + 1 : cap;
        uint8_t *buf = big_buffer(cap);
        int rc = 0;
        if (!buf) {
                rc = -ENOMEM;
                serr_set(err, -1, "out of memory");
                goto out;
        }
        if (feed && cap > DIGEST_THREAD_BYTES && digest_feed_start(&f) < 0)
                f = NULL; /* then the caller hashes it afterwards */
        for (;;) {
                if (n == cap) {
                        if (cap > max) {
                                rc = -EFBIG;
                                serr_set(err, -1, "file is larger than the limit of %zu bytes",
                                         max);
                                goto out;
                        }
                        if (f)
                                digest_feed_idle(f); /* before buf moves */
                        uint8_t *nb = realloc(buf, cap * 2);
                        if (!nb) {
                                rc = -ENOMEM;
                                serr_set(err, -1, "out of memory reading the file");
                                goto out;
                        }
                        buf = nb;
                        cap *= 2;
                }
                size_t want = cap - n;
                if (f && want > FEED_BYTES)
                        want = FEED_BYTES;
                ssize_t r = read(fd, buf + n, want);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        rc = -errno;
                        serr_set(err, -1, "cannot read: %s", strerror(errno));
                        goto out;
                }
                if (r == 0)
                        break;
                n += (size_t)r;
                if (f)
                        digest_feed_publish(f, buf, n);
        }
        if (n > max) {
                rc = -EFBIG;
                serr_set(err, -1, "file is larger than the limit of %zu bytes", max);
                goto out;
        }
        *out = buf;
        *len = n;
        buf = NULL;
        if (feed) {
                *feed = f;
                f = NULL;
        }
out:
        if (f)
                digest_feed_finish(f, NULL); /* before buf goes */
        free(buf);
        close(fd);
        return rc;
}

int serialize_read_file(const char *path, size_t max, uint8_t **out, size_t *len,
                        struct serialize_error *err)
{
        return read_file(path, max, out, len, NULL, err);
}

static int inflate_all(const uint8_t *in, size_t len, size_t max,
                       uint8_t **out, size_t *out_len,
                       struct serialize_error *err)
{
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        if (inflateInit2(&zs, 15 + 32) != Z_OK) { /* zlib or gzip header */
                serr_set(err, -1, "cannot start zlib");
                return -ENOMEM;
        }
        size_t cap = len * 4 + 4096, n = 0;
        if (cap > max + 1)
                cap = max + 1;
        uint8_t *buf = malloc(cap);
        int rc = 0;
        if (!buf) {
                rc = -ENOMEM;
                serr_set(err, -1, "out of memory decompressing");
                goto out;
        }
        zs.next_in = (Bytef *)(uintptr_t)in;
        /* zlib's counters are 32-bit: feed and drain in bounded steps */
        size_t in_left = len;
        for (;;) {
                if (n == cap) {
                        if (cap > max) {
                                rc = -EFBIG;
                                serr_set(err, -1,
                                         "decompressed stream is larger than the limit of %zu bytes",
                                         max);
                                goto out;
                        }
                        size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
                        uint8_t *nb = realloc(buf, ncap);
                        if (!nb) {
                                rc = -ENOMEM;
                                serr_set(err, -1, "out of memory decompressing");
                                goto out;
                        }
                        buf = nb;
                        cap = ncap;
                }
                if (zs.avail_in == 0 && in_left) {
                        zs.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
                        in_left -= zs.avail_in;
                }
                size_t room = cap - n > (1u << 30) ? (1u << 30) : cap - n;
                zs.next_out = buf + n;
                zs.avail_out = (uInt)room;
                int zr = inflate(&zs, Z_NO_FLUSH);
                n += room - zs.avail_out;
                if (zr == Z_STREAM_END)
                        break;
                if (zr != Z_OK && !(zr == Z_BUF_ERROR && zs.avail_out == 0)) {
                        rc = -EINVAL;
                        serr_set(err, (long long)zs.total_in,
                                 "compressed data is corrupt or truncated at input byte %lu (%s)",
                                 (unsigned long)zs.total_in, zs.msg ? zs.msg : "zlib error");
                        goto out;
                }
        }
        if (n > max) {
                rc = -EFBIG;
                serr_set(err, -1, "decompressed stream is larger than the limit of %zu bytes", max);
                goto out;
        }
        *out = buf;
        *out_len = n;
        buf = NULL;
out:
        inflateEnd(&zs);
        free(buf);
        return rc;
}

static bool starts_with(const uint8_t *d, size_t len, const char *magic, size_t n)
{
        return len >= n && memcmp(d, magic, n) == 0;
}

/* A stream that does not start with PROTO and has no valid opcodes in its
 * first bytes is not a pickle at
 * all (a text file, an HDF5 or ONNX model, a file mangled by a UTF-8
 * round trip): say so and show its first bytes. */
static void not_a_pickle(const uint8_t *d, size_t len, const char *kind,
                         struct serialize_error *err)
{
        char hex[3 * 16 + 1] = "", text[16 + 1] = "";
        size_t n = len < 16 ? len : 16, o = 0;
        for (size_t i = 0; i < n; i++) {
                o += (size_t)snprintf(hex + o, sizeof(hex) - o, "%s%02x", i ? " " : "", d[i]);
                text[i] = d[i] >= 0x20 && d[i] < 0x7f ? (char)d[i] : '.';
        }
        text[n] = '\0';
        bool plain = strcmp(kind, "uncompressed") == 0;
        serr_set(err, 0,
                 "not a pickle or joblib file%s%s%s: it starts with the bytes %s (\"%s\"), "
                 "where a pickle starts with 0x80 and its protocol number",
                 plain ? "" : " (after ", plain ? "" : kind, plain ? "" : ")", hex, text);
}

/* Decides the container from the first bytes, as joblib does. */
static int open_container(const uint8_t *data, size_t len,
                          const struct serialize_limits *lim, uint8_t **owned,
                          const uint8_t **stream, size_t *stream_len,
                          char *desc, size_t desc_len,
                          struct serialize_error *err)
{
        const char *other = NULL;
        *owned = NULL;
        if (len == 0) {
                serr_set(err, 0, "file is empty");
                return -EINVAL;
        }
        if (data[0] == 0x78 || starts_with(data, len, "\x1f\x8b", 2)) {
                int rc = inflate_all(data, len, lim->max_stream_bytes, owned, stream_len, err);
                if (rc < 0)
                        return rc;
                *stream = *owned;
                snprintf(desc, desc_len, "%s-compressed", data[0] == 0x78 ? "zlib" : "gzip");
                return 0;
        }
        bool xz = starts_with(data, len, "\xfd" "7zXZ", 5);
        if (xz || starts_with(data, len, "\x5d\x00\x00", 3)) {
                int rc = unxz_all(data, len, !xz, lim->max_stream_bytes, owned, stream_len, err);
                if (rc < 0)
                        return rc;
                *stream = *owned;
                snprintf(desc, desc_len, "%s-compressed", xz ? "xz" : "lzma");
                return 0;
        }
        bool bz2 = starts_with(data, len, "BZh", 3);
        if (bz2 || starts_with(data, len, "\x04\x22\x4d\x18", 4)) {
                int rc = bz2 ? unbz2_all(data, len, lim->max_stream_bytes, owned, stream_len, err)
                             : unlz4_all(data, len, lim->max_stream_bytes, owned, stream_len, err);
                if (rc < 0)
                        return rc;
                *stream = *owned;
                snprintf(desc, desc_len, "%s-compressed", bz2 ? "bz2" : "lz4");
                return 0;
        }
        if (starts_with(data, len, "ZF", 2))
                other = "joblib < 0.10 zfile";
        if (other) {
                serr_set(err, 0,
                         "%s-compressed files are not supported (expected a pickle, or "
                         "joblib with zlib, gzip, bz2, xz, lzma or lz4 compression)",
                         other);
                return -EINVAL;
        }
        *stream = data;
        *stream_len = len;
        snprintf(desc, desc_len, "uncompressed");
        return 0;
}

/* --- metadata ------------------------------------------------------------ */

/* Metadata is for display. One budget of rendered JSON bytes covers the
 * whole wrapper (every key and value); a value that does not fit in
 * what is left (a graph built to expand through shared references, a
 * long string referenced by many keys) is replaced by a note instead of
 * being walked to the end. */
#define META_MAX_BYTES (1u << 20)
#define META_NODE_BYTES 16 /* what one value costs at least */
/* The seed's wrapper has six keys; checking duplicates is quadratic. */
#define MAX_WRAPPER_KEYS 1024
#define META_MAX_DEPTH 16
#define META_TOO_LARGE "\"(too large to show)\""

/* Takes n bytes from the budget; false (and the budget spent) when it
 * has fewer. */
static bool meta_charge(size_t *budget, size_t n)
{
        if (n > *budget) {
                *budget = 0;
                return false;
        }
        *budget -= n;
        return true;
}

/* The bytes s takes as a JSON string: cJSON writes a control character
 * as six (\u00XX), a quote or backslash as two. */
static size_t meta_string_cost(const char *s, size_t len)
{
        size_t n = len + 2;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x20)
                        n += 5;
                else if (c == '"' || c == '\\')
                        n += 1;
        }
        return n;
}

/* Python's repr of a float: the shortest digits that read back the same,
 * with ".0" on integral values. */
static cJSON *meta_float(double f)
{
        char num[40];
        if (!isfinite(f))
                return cJSON_CreateNull();
        for (int prec = 15; prec <= 17; prec++) {
                snprintf(num, sizeof(num), "%.*g", prec, f);
                if (strtod(num, NULL) == f)
                        break;
        }
        if (!strpbrk(num, ".eE"))
                memcpy(num + strlen(num), ".0", 3);
        return cJSON_CreateRaw(num);
}

/* Plain data becomes JSON; anything else a string naming its kind. NULL
 * when out of memory or over the byte budget. */
static cJSON *meta_json(const struct pv *v, size_t depth, size_t *budget)
{
        char num[32];
        if (!meta_charge(budget, META_NODE_BYTES))
                return NULL;
        if (depth > META_MAX_DEPTH)
                return cJSON_CreateString("...");
        switch (v->kind) {
        case PV_NONE: return cJSON_CreateNull();
        case PV_BOOL: return cJSON_CreateBool(v->u.b);
        case PV_INT:
                snprintf(num, sizeof(num), "%lld", (long long)v->u.i);
                return cJSON_CreateRaw(num);
        case PV_FLOAT: return meta_float(v->u.f);
        case PV_STR:
                /* a string costs what it renders to, each time it is
                 * referenced; the scan is paid for by the budget too */
                if (v->u.s.len + 2 > *budget ||
                    !meta_charge(budget, meta_string_cost(v->u.s.data, v->u.s.len))) {
                        *budget = 0;
                        return NULL;
                }
                return cJSON_CreateString(v->u.s.data);
        case PV_TUPLE:
        case PV_LIST:
        case PV_SET: {
                cJSON *a = cJSON_CreateArray();
                for (size_t i = 0; a && i < v->u.seq.len; i++) {
                        cJSON *item = meta_json(v->u.seq.items[i], depth + 1, budget);
                        if (!item || !cJSON_AddItemToArray(a, item)) {
                                cJSON_Delete(item);
                                cJSON_Delete(a);
                                return NULL;
                        }
                }
                return a;
        }
        case PV_DICT: {
                cJSON *o = cJSON_CreateObject();
                for (size_t i = 0; o && i < v->u.dict.len; i++) {
                        const struct pv *key = v->u.dict.keys[i];
                        if (key->kind != PV_STR)
                                continue;
                        if (!meta_charge(budget, meta_string_cost(key->u.s.data, key->u.s.len))) {
                                cJSON_Delete(o);
                                return NULL;
                        }
                        cJSON *item = meta_json(v->u.dict.vals[i], depth + 1, budget);
                        if (!item || !cJSON_AddItemToObject(o, key->u.s.data, item)) {
                                cJSON_Delete(item);
                                cJSON_Delete(o);
                                return NULL;
                        }
                }
                return o;
        }
        default:
                return cJSON_CreateString(pv_kind_name(v));
        }
}

/* What the metadata may still take: the rendered-JSON budget shared by
 * every key and value (META_MAX_BYTES in all), and the room left under
 * max_model_bytes once the model and feature names are counted. */
struct meta_acc {
        size_t budget;
        size_t room;
        size_t limit;
};

/* One metadata item: key and v rendered as JSON (a note in place of a
 * value over the budget). The caller's info owns it, also when memory
 * runs out half-way (serialize_info_free takes NULL fields). 1 when the
 * budget cannot even name the key (the item is left out). */
static int meta_append(struct serialize_info *info, const char *key, const struct pv *v,
                       struct meta_acc *acc, struct serialize_error *err)
{
        if (!meta_charge(&acc->budget, meta_string_cost(key, strlen(key))))
                return 1;
        cJSON *j = meta_json(v, 0, &acc->budget);
        struct serialize_meta *nm = realloc(info->meta, (info->n_meta + 1) * sizeof(*nm));
        if (!nm) {
                cJSON_Delete(j);
                goto nomem;
        }
        info->meta = nm;
        struct serialize_meta *m = &info->meta[info->n_meta];
        m->key = strdup(key);
        m->json = j ? cJSON_PrintUnformatted(j) : acc->budget == 0 ? strdup(META_TOO_LARGE) : NULL;
        cJSON_Delete(j);
        info->n_meta++;
        if (!m->key || !m->json)
                goto nomem;
        size_t kept = strlen(m->key) + strlen(m->json) + 2;
        if (kept > acc->room) {
                serr_set(err, -1,
                         "metadata wrapper: the model and its metadata need more than "
                         "the limit of %zu bytes",
                         acc->limit);
                return -EFBIG;
        }
        acc->room -= kept;
        return 0;
nomem:
        serr_set(err, -1, "out of memory collecting metadata");
        return -ENOMEM;
}

/* The metadata wrapper's keys other than 'model'. */
static int collect_meta(const struct pv *dict, struct meta_acc *acc,
                        struct serialize_info *info, struct serialize_error *err)
{
        for (size_t i = 0; i < dict->u.dict.len; i++) {
                const struct pv *k = dict->u.dict.keys[i];
                if (k->kind != PV_STR || pv_is_str(k, "model"))
                        continue;
                /* a later duplicate key wins, as in a Python dict */
                if (pv_dict_get(dict, k->u.s.data) != dict->u.dict.vals[i])
                        continue;
                int rc = meta_append(info, k->u.s.data, dict->u.dict.vals[i], acc, err);
                if (rc < 0)
                        return rc;
                if (rc > 0)
                        break; /* no room even to name the rest: not shown */
        }
        return 0;
}

/* A search saved as it is (GridSearchCV, ...) is served through its
 * best_estimator_; `check` and the model metadata show which search it
 * was and what it chose (best_params_, best_score_ as best_params,
 * best_score), as metadata items. */
static int collect_search(const struct pv *search, struct meta_acc *acc,
                          struct serialize_info *info, struct serialize_error *err)
{
        const struct pv name = {
                .kind = PV_STR,
                .u.s = { search->u.obj.cls->name, strlen(search->u.obj.cls->name) },
        };
        int rc = meta_append(info, "search", &name, acc, err);
        static const char *const keys[] = { "best_params_", "best_score_" };
        const struct pv *st = search->u.obj.state;
        for (size_t i = 0; rc == 0 && i < sizeof(keys) / sizeof(keys[0]); i++) {
                const struct pv *v = st && st->kind == PV_DICT ? pv_dict_get(st, keys[i]) : NULL;
                if (!v)
                        continue;
                char key[16];
                size_t kl = strlen(keys[i]) - 1; /* without the trailing '_' */
                memcpy(key, keys[i], kl);
                key[kl] = '\0';
                rc = meta_append(info, key, v, acc, err);
        }
        return rc < 0 ? rc : 0;
}

/* Input column names: the wrapper's 'features', else feature_names_in_. */
/* Feature names are copied into the result; their total size is capped so
 * that one long string referenced many times cannot multiply memory. */
#define MAX_FEATURE_NAME_BYTES (16u << 20)

static int collect_features(const struct pv *names, size_t n_features, size_t limit,
                            size_t *room, struct serialize_info *info,
                            struct serialize_error *err)
{
        size_t n, total = 0;
        struct pv **items = NULL;
        if (names->kind == PV_LIST || names->kind == PV_TUPLE) {
                n = names->u.seq.len;
                items = names->u.seq.items;
        } else if (names->kind == PV_ARRAY && names->u.arr->built &&
                   names->u.arr->dtype->kind == 'O') {
                n = names->u.arr->count;
                items = names->u.arr->objects;
        } else {
                serr_set(err, -1, "feature names: expected a list of str, found %s",
                         pv_kind_name(names));
                return -EINVAL;
        }
        if (n != n_features) {
                serr_set(err, -1, "the file names %zu features but the model takes %zu", n,
                         n_features);
                return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
                if (items[i]->kind != PV_STR || memchr(items[i]->u.s.data, '\0', items[i]->u.s.len)) {
                        serr_set(err, -1, "feature name %zu: expected a str without NUL, found %s",
                                 i, pv_kind_name(items[i]));
                        return -EINVAL;
                }
                total += items[i]->u.s.len + 1;
                if (total > MAX_FEATURE_NAME_BYTES) {
                        serr_set(err, -1, "feature names: more than %u bytes in all",
                                 MAX_FEATURE_NAME_BYTES);
                        return -EFBIG;
                }
        }
        total += n * sizeof(char *);
        if (total > *room) {
                serr_set(err, -1, "feature names: the model and its %zu bytes of feature names "
                         "need more than the limit of %zu bytes",
                         total, limit);
                return -EFBIG;
        }
        *room -= total;
        info->feature_names = calloc(n ? n : 1, sizeof(char *));
        if (!info->feature_names)
                goto nomem;
        for (size_t i = 0; i < n; i++) {
                info->feature_names[i] = strdup(items[i]->u.s.data);
                if (!info->feature_names[i])
                        goto nomem;
                info->n_feature_names = i + 1;
        }
        return 0;
nomem:
        serr_set(err, -1, "out of memory collecting feature names");
        return -ENOMEM;
}

/* feature_names_in_ of an estimator fitted on a DataFrame. A Pipeline
 * does not store its own (it is a property over its first step), so the
 * first step that is not passthrough answers for it. */
static const struct pv *feature_names_in(const struct pv *est, size_t depth)
{
        if (!est || est->kind != PV_OBJECT || !est->u.obj.state || depth > 8)
                return NULL;
        const struct pv *names = pv_dict_get(est->u.obj.state, "feature_names_in_");
        /* before 1.0 only a ColumnTransformer kept them, as _feature_names_in */
        if (!names && est->u.obj.cls->sk_name &&
            strcmp(est->u.obj.cls->sk_name, "ColumnTransformer") == 0)
                names = pv_dict_get(est->u.obj.state, "_feature_names_in");
        if (names)
                return names;
        const struct pv *steps = pv_dict_get(est->u.obj.state, "steps");
        if (est->u.obj.cls->sk_name && strcmp(est->u.obj.cls->sk_name, "Pipeline") == 0 &&
            steps && steps->kind == PV_LIST) {
                for (size_t i = 0; i < steps->u.seq.len; i++) {
                        const struct pv *st = steps->u.seq.items[i];
                        if (st->kind != PV_TUPLE || st->u.seq.len != 2)
                                return NULL;
                        const struct pv *step = st->u.seq.items[1];
                        if (step->kind == PV_NONE || pv_is_str(step, "passthrough"))
                                continue;
                        return feature_names_in(step, depth + 1);
                }
        }
        return NULL;
}

/* --- the load ------------------------------------------------------------ */

/* The _sklearn_version string a stream records, found by its bytes: the
 * key, memo opcodes, then SHORT_BINUNICODE or BINUNICODE. Only used to say
 * in an error which version wrote a file the reader refused before it
 * got to the estimator's state; it decides nothing. */
static bool recorded_version(const uint8_t *p, size_t len, char *out, size_t cap)
{
        static const char key[] = "_sklearn_version";
        const size_t klen = sizeof(key) - 1;
        for (size_t i = 0; i + klen < len; i++) {
                if (p[i] != '_' || memcmp(p + i, key, klen) != 0)
                        continue;
                size_t j = i + klen;
                if (j < len && p[j] == 0x94) /* MEMOIZE */
                        j++;
                else if (j + 1 < len && p[j] == 'q') /* BINPUT */
                        j += 2;
                else if (j + 4 < len && p[j] == 'r') /* LONG_BINPUT */
                        j += 5;
                size_t n = 0, at = 0;
                if (j + 1 < len && p[j] == 0x8c) {
                        n = p[j + 1];
                        at = j + 2;
                } else if (j + 4 < len && p[j] == 'X') {
                        n = (size_t)p[j + 1] | (size_t)p[j + 2] << 8 |
                            (size_t)p[j + 3] << 16 | (size_t)p[j + 4] << 24;
                        at = j + 5;
                }
                if (n == 0 || n >= cap || n > 20 || at + n > len)
                        continue;
                bool ok = true;
                for (size_t k = 0; k < n && ok; k++)
                        ok = (p[at + k] >= '0' && p[at + k] <= '9') || p[at + k] == '.' ||
                             (p[at + k] >= 'a' && p[at + k] <= 'z');
                if (!ok)
                        continue;
                memcpy(out, p + at, n);
                out[n] = '\0';
                return true;
        }
        return false;
}

/* Files written before 1.0 load where their layout is one predictd reads;
 * when one does not, the error also says which version wrote it. */
static void note_old_version(struct serialize_error *err, const char *version)
{
        char *end;
        long major = strtol(version, &end, 10);
        if (end == version || major >= 1)
                return;
        char have[48];
        snprintf(have, sizeof(have), "scikit-learn %s", version);
        if (strstr(err->message, have))
                return;
        size_t n = strlen(err->message);
        snprintf(err->message + n, sizeof(err->message) - n,
                 " (the file was written by scikit-learn %s; files older than 1.0 load "
                 "only where their layout matches what predictd reads)", version);
}

/* Models from pickle streams (the file, decompressed) of this size up
 * are built into a slab: below it their tables are too few for the page
 * faults to matter, and a huge page would be mostly empty. */
#define SLAB_MIN_STREAM ((size_t)8 << 20)

/* The load of data; the caller fills in info->sha256. */
static int load_bytes(const uint8_t *data, size_t len,
                      const struct serialize_limits *lim, struct model **model_out,
                      struct serialize_info **info_out, struct serialize_error *err)
{
        struct serialize_limits dflt;
        struct arena arena;
        struct serialize_info *info = NULL;
        struct model *model = NULL;
        uint8_t *owned = NULL;
        const uint8_t *stream = NULL;
        size_t stream_len, pos = 0;
        char kind[32];
        struct pv *root = NULL;
        int rc;

        if (!lim) {
                serialize_limits_default(&dflt);
                lim = &dflt;
        }
        err->offset = -1;
        err->message[0] = '\0';
        arena_init(&arena, lim->max_alloc_bytes);
        info = calloc(1, sizeof(*info));
        if (!info) {
                serr_set(err, -1, "out of memory");
                return -ENOMEM;
        }
        rc = open_container(data, len, lim, &owned, &stream, &stream_len, kind,
                            sizeof(kind), err);
        if (rc < 0)
                goto fail;

        struct pickle_ctx ctx = {
                .buf = stream, .len = stream_len, .lim = lim, .arena = &arena,
                .err = err,
        };
        rc = pickle_vm_run(&ctx, &pos, 0, &root);
        if (ctx.c_locale)
                freelocale(ctx.c_locale);
        if (rc < 0) {
                char version[24];
                if (rc == -EPERM && recorded_version(stream, stream_len, version,
                                                     sizeof(version)))
                        note_old_version(err, version);
                if (stream_len && stream[0] != 0x80 && err->offset >= 0 && err->offset < 16 &&
                    strstr(err->message, "unknown opcode"))
                        not_a_pickle(stream, stream_len, kind, err);
                goto fail;
        }
        if (pos != stream_len) {
                /* Python would ignore them; a model file has no reason to
                 * carry a second payload, so refuse rather than guess. */
                serr_set(err, (long long)pos,
                         "byte offset %zu: %zu trailing bytes after the pickle's STOP opcode",
                         pos, stream_len - pos);
                rc = -EINVAL;
                goto fail;
        }
        snprintf(info->container, sizeof(info->container), "%spickle protocol %d, %s",
                 ctx.joblib_arrays ? "joblib, " : "", ctx.max_protocol_seen, kind);

        const struct pv *est = root;
        const struct pv *features = NULL;
        if (root->kind == PV_DICT) {
                if (root->u.dict.len > MAX_WRAPPER_KEYS) {
                        serr_set(err, -1,
                                 "a metadata wrapper dict with %zu items (at most %d)",
                                 root->u.dict.len, MAX_WRAPPER_KEYS);
                        rc = -EINVAL;
                        goto fail;
                }
                est = pv_dict_get(root, "model");
                if (!est) {
                        serr_set(err, -1,
                                 "expected a scikit-learn estimator, or a dict with the "
                                 "estimator under 'model'; found a dict without 'model'");
                        rc = -EINVAL;
                        goto fail;
                }
                features = pv_dict_get(root, "features");
        }
        if (est->kind != PV_OBJECT || est->u.obj.cls->role != ROLE_ESTIMATOR) {
                serr_set(err, -1,
                         "expected a scikit-learn estimator, found %s: the file holds no "
                         "model",
                         pv_kind_name(est));
                rc = -EINVAL;
                goto fail;
        }
        if (!features)
                features = feature_names_in(est, 0);

        struct build_ctx bc = { .lim = lim, .err = err, .partials = &ctx.partials };
        bc.max_lookups = stream_len > (MAX_LOOKUPS - LOOKUPS_BASE) / LOOKUPS_PER_BYTE
                                 ? MAX_LOOKUPS
                                 : LOOKUPS_BASE + LOOKUPS_PER_BYTE * stream_len;
        /* a large file's tables in huge pages (model_slab_open) */
        struct model_slab *slab =
                stream_len >= SLAB_MIN_STREAM ? model_slab_open(stream_len) : NULL;
        rc = build_estimator(&bc, est, &model);
        model_slab_close(slab);
        free(bc.tree_scratch);
        if (rc == 0)
                rc = partial_check_placed(&ctx.partials, err);
        if (rc < 0) {
                model_strings_free(bc.strings);
                note_old_version(err, bc.sklearn_version);
                goto fail;
        }
        model_attach_strings(model, bc.strings);
        snprintf(info->sklearn_version, sizeof(info->sklearn_version), "%s",
                 bc.sklearn_version);
        /* what is kept besides the model counts against the same limit */
        struct meta_acc acc = {
                .budget = META_MAX_BYTES,
                .room = lim->max_model_bytes - bc.model_bytes,
                .limit = lim->max_model_bytes,
        };
        if (features && features->kind != PV_NONE) {
                if ((rc = collect_features(features, model_n_features(model),
                                           lim->max_model_bytes, &acc.room, info,
                                           err)) < 0)
                        goto fail;
        }
        if (root->kind == PV_DICT && (rc = collect_meta(root, &acc, info, err)) < 0)
                goto fail;
        if (build_is_search(est) && (rc = collect_search(est, &acc, info, err)) < 0)
                goto fail;
        arena_release(&arena);
        free(owned);
        *model_out = model;
        *info_out = info;
        return 0;
fail:
        model_free(model);
        serialize_info_free(info);
        arena_release(&arena);
        free(owned);
        return rc;
}

int serialize_load_buffer(const uint8_t *data, size_t len,
                          const struct serialize_limits *lim,
                          struct model **model_out,
                          struct serialize_info **info_out,
                          struct serialize_error *err)
{
        int rc = load_bytes(data, len, lim, model_out, info_out, err);
        if (rc == 0)
                serialize_sha256_hex(data, len, (*info_out)->sha256);
        return rc;
}

int serialize_load_file(const char *path, const struct serialize_limits *lim,
                        struct model **model_out,
                        struct serialize_info **info_out,
                        struct serialize_error *err)
{
        return serialize_load_trusted(path, lim, NULL, model_out, info_out, err);
}

/* One read. With a pin or a key the digest and the signature are checked
 * on those bytes before the pickle machine sees any of them; without, the
 * digest is only reported and may be computed beside the load. */
int serialize_load_trusted(const char *path, const struct serialize_limits *lim,
                           const struct serialize_trust *trust, struct model **model_out,
                           struct serialize_info **info_out, struct serialize_error *err)
{
        struct serialize_limits dflt;
        uint8_t *data = NULL;
        size_t len = 0;
        char state[sizeof(((struct serialize_info *)0)->signature)];
        if (!lim) {
                serialize_limits_default(&dflt);
                lim = &dflt;
        }
        err->offset = -1;
        bool checked = trust && (trust->n_sha256 || trust->keys);
        struct digest_feed *beside = NULL;
        int rc = read_file(path, lim->max_file_bytes, &data, &len, checked ? NULL : &beside,
                           err);
        if (rc < 0)
                return rc;
        char hex[65];
        if (!beside)
                serialize_sha256_hex(data, len, hex);
        /* beside implies no pin: the check does not read the digest */
        struct serialize_info *info = NULL;
        if ((rc = serialize_trust_check(trust, path, data, len, beside ? NULL : hex, state,
                                        sizeof(state), err)) == 0)
                rc = load_bytes(data, len, lim, model_out, &info, err);
        if (beside)
                digest_feed_finish(beside, hex);
        if (rc == 0) {
                memcpy(info->sha256, hex, sizeof(info->sha256));
                memcpy(info->signature, state, sizeof(state));
                *info_out = info;
        }
        free(data);
        return rc;
}
