/* serialize.h - model files on disk to models in memory, without ever
 * running anything a file names.
 *
 * A file (plain pickle, protocol 0-5, or a joblib file, plain or zlib/gzip
 * compressed) is read by a restricted pickle machine into an inert graph;
 * globals resolve only against an allowlist of exact (module, name) pairs;
 * one builder per scikit-learn class turns the graph into model/ structs.
 *
 * Errors: 0 on success or a negative errno value; the reason, naming what
 * was expected and what was found (and the byte offset in the pickle
 * stream where it applies), goes into the caller's struct serialize_error.
 */
#ifndef PREDICTD_SERIALIZE_H
#define PREDICTD_SERIALIZE_H

#include <stddef.h>
#include <stdint.h>

struct model;

struct serialize_error {
        char message[512];
        long long offset; /* byte offset in the (decompressed) stream, or -1 */
};

/* Hard limits on what one load may consume. */
struct serialize_limits {
        size_t max_file_bytes;    /* size of the file on disk */
        size_t max_stream_bytes;  /* size after decompression */
        size_t max_alloc_bytes;   /* everything the reader allocates */
        size_t max_memo;          /* memo entries */
        size_t max_stack;         /* stack entries */
        size_t max_depth;         /* nesting of objects walked by builders */
        size_t max_model_bytes;   /* native model memory */
};

/* One item of a metadata wrapper dict, rendered as JSON text. */
struct serialize_meta {
        char *key;
        char *json;
};

/* What a load found besides the model. Owned by the caller. */
struct serialize_info {
        char sha256[65];         /* hex digest of the file as on disk */
        char sklearn_version[32];/* _sklearn_version in the file, or "" */
        char container[64];      /* e.g. "pickle protocol 4", "joblib (zlib)" */
        char **feature_names;    /* input column names, or NULL */
        size_t n_feature_names;
        struct serialize_meta *meta; /* other keys of a metadata wrapper */
        size_t n_meta;
        /* "valid (PATH.sig, Ed25519 key KEY.pem)" when keys were given,
         * else whether PATH.sig exists; "" after serialize_load_buffer */
        char signature[400];
};

/* The public keys model files must be signed by (Ed25519, PEM). */
struct serialize_keys;

/* What a load checks on the bytes it read, before parsing them. */
struct serialize_trust {
        const struct serialize_keys *keys; /* NULL: no signature needed */
        const char *const *sha256; /* the file's SHA-256 (lower-case hex) must be
                                    * one of these ... */
        size_t n_sha256;           /* ... unless there are none */
};

/* A model file's signature: the raw 64-byte Ed25519 signature of the
 * whole file, as written by `openssl pkeyutl -sign -rawin`, in a file of
 * the model's path with this suffix. */
#define SERIALIZE_SIG_SUFFIX ".sig"
#define SERIALIZE_SIG_BYTES 64

/* Fills *lim with defaults suited to a server with a few GiB of memory. */
void serialize_limits_default(struct serialize_limits *lim);

/* Loads the model file at path. On success *model_out and *info_out are new
 * objects the caller frees with model_free() and serialize_info_free().
 * Errors: -ENOENT/-EACCES/... from opening the file, -EFBIG over a limit,
 * -EPERM for a global or opcode that is not allowed, -EINVAL for a file
 * that is malformed or holds no supported estimator, -ENOMEM. */
int serialize_load_file(const char *path, const struct serialize_limits *lim,
                        struct model **model_out,
                        struct serialize_info **info_out,
                        struct serialize_error *err);

/* The same for bytes already in memory (the SHA-256 is of these bytes). */
int serialize_load_buffer(const uint8_t *data, size_t len,
                          const struct serialize_limits *lim,
                          struct model **model_out,
                          struct serialize_info **info_out,
                          struct serialize_error *err);

/* Reads a .npy file holding a 2-D float64 matrix (np.save of an array of
 * dtype float64, C or Fortran order). On success *out is rows x cols
 * doubles in C order, which the caller frees with free(). Errors: -errno
 * from opening, -EFBIG when the data is over max_bytes, -EINVAL for any
 * other dtype, a shape that is not 2-D, or a size that does not match. */
int serialize_npy_read_f64(const char *path, size_t max_bytes, double **out,
                           size_t *rows, size_t *cols, struct serialize_error *err);

/* Accepts NULL. */
void serialize_info_free(struct serialize_info *info);

/* Reads the public keys in the PEM files paths[0..n). On success *out is
 * a new set freed with serialize_keys_free. Errors name the file: -EINVAL
 * for a file that holds no PEM public key or another kind than Ed25519,
 * -ENOENT/-EACCES/... from opening it, -ENOMEM. */
int serialize_keys_load(const char *const *paths, size_t n, struct serialize_keys **out,
                        struct serialize_error *err);

/* Accepts NULL. */
void serialize_keys_free(struct serialize_keys *keys);

/* serialize_load_file with the checks of trust (NULL: none) made on the
 * bytes read, which are then the bytes parsed (the file is read once):
 * a digest not among trust->sha256 and, with trust->keys, a missing,
 * malformed or not matching PATH.sig are -EPERM, the message naming
 * the file. info->signature says what was found. */
int serialize_load_trusted(const char *path, const struct serialize_limits *lim,
                           const struct serialize_trust *trust, struct model **model_out,
                           struct serialize_info **info_out, struct serialize_error *err);

/* Signs the file at path (at most max_bytes) with the Ed25519 private key
 * in the PEM file key_path, writing PATH.sig (replaced atomically). On
 * success the file's SHA-256 in hex goes into sha256. -EINVAL for a key
 * that is not an Ed25519 private key, -EFBIG, errors of reading and
 * writing; the message names the file. */
int serialize_sign_file(const char *path, const char *key_path, size_t max_bytes,
                        char sha256[65], struct serialize_error *err);

#endif
