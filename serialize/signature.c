/* signature.c - what ties a file being served to the file that was
 * trained: a pinned SHA-256, and an Ed25519 signature of the whole file
 * checked against trusted public keys, both through OpenSSL's EVP
 * interface. The checks run on the bytes serialize_load_trusted read,
 * which are the bytes it then parses, so nothing can change the file
 * between the check and the load.
 *
 * The signature file, PATH.sig, holds the 64 raw bytes of the Ed25519
 * signature (RFC 8032, "pure" Ed25519 over the whole file) and nothing
 * else: the format `openssl pkeyutl -sign -rawin` writes and
 * `openssl pkeyutl -verify -rawin` reads, so a file can be signed and
 * checked without predictd. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "serialize_internal.h"

struct serialize_keys {
        EVP_PKEY **key;
        char **path;
        size_t n;
};

void serialize_keys_free(struct serialize_keys *keys)
{
        if (!keys)
                return;
        for (size_t i = 0; i < keys->n; i++) {
                EVP_PKEY_free(keys->key[i]);
                free(keys->path[i]);
        }
        free(keys->key);
        free(keys->path);
        free(keys);
}

/* The key in the PEM file path, public or private (want_private); NULL
 * with the reason in err. OpenSSL's own error text is left out: it says
 * nothing a user can act on beyond "not a PEM key". */
static EVP_PKEY *read_key(const char *path, bool want_private, int *rc,
                          struct serialize_error *err)
{
        FILE *f = fopen(path, "re");
        if (!f) {
                *rc = -errno;
                serr_set(err, -1, "%s: cannot open the key file: %s", path, strerror(errno));
                return NULL;
        }
        EVP_PKEY *k = want_private ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
                                   : PEM_read_PUBKEY(f, NULL, NULL, NULL);
        fclose(f);
        ERR_clear_error();
        *rc = -EINVAL;
        if (!k) {
                serr_set(err, -1,
                         want_private
                                 ? "%s: expected an Ed25519 private key in PEM (\"-----BEGIN "
                                   "PRIVATE KEY-----\", as `openssl genpkey -algorithm ed25519` "
                                   "writes); found none"
                                 : "%s: expected an Ed25519 public key in PEM (\"-----BEGIN "
                                   "PUBLIC KEY-----\", as `openssl pkey -pubout` writes); found "
                                   "none",
                         path);
                return NULL;
        }
        if (!EVP_PKEY_is_a(k, "ED25519")) {
                serr_set(err, -1, "%s: expected an Ed25519 key, found a %s key", path,
                         EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "another");
                EVP_PKEY_free(k);
                return NULL;
        }
        *rc = 0;
        return k;
}

int serialize_keys_load(const char *const *paths, size_t n, struct serialize_keys **out,
                        struct serialize_error *err)
{
        err->offset = -1;
        struct serialize_keys *keys = calloc(1, sizeof(*keys));
        int rc = -ENOMEM;
        if (!keys || !(keys->key = calloc(n ? n : 1, sizeof(*keys->key))) ||
            !(keys->path = calloc(n ? n : 1, sizeof(*keys->path)))) {
                serr_set(err, -1, "out of memory");
                goto fail;
        }
        for (size_t i = 0; i < n; i++) {
                EVP_PKEY *k = read_key(paths[i], false, &rc, err);
                if (!k)
                        goto fail;
                keys->key[keys->n] = k;
                keys->path[keys->n] = strdup(paths[i]);
                keys->n++;
                if (!keys->path[keys->n - 1]) {
                        rc = -ENOMEM;
                        serr_set(err, -1, "out of memory");
                        goto fail;
                }
        }
        *out = keys;
        return 0;
fail:
        serialize_keys_free(keys);
        return rc;
}

/* "PATH.sig", or -ENAMETOOLONG. */
static int sig_path(const char *path, char *out, size_t len, struct serialize_error *err)
{
        if ((size_t)snprintf(out, len, "%s%s", path, SERIALIZE_SIG_SUFFIX) >= len) {
                serr_set(err, -1, "%s: the path is too long to name its signature file", path);
                return -ENAMETOOLONG;
        }
        return 0;
}

/* Reads PATH.sig into sig: exactly SERIALIZE_SIG_BYTES bytes. */
static int read_sig(const char *sp, uint8_t sig[SERIALIZE_SIG_BYTES],
                    struct serialize_error *err)
{
        uint8_t *data = NULL;
        size_t len = 0;
        int rc = serialize_read_file(sp, SERIALIZE_SIG_BYTES, &data, &len, err);
        if (rc == -ENOENT) {
                serr_set(err, -1, "%s: no such file; every model file must be signed (the "
                         "server verifies signatures), e.g. with `predictd sign --key "
                         "PRIVATE.pem FILE`", sp);
                return -EPERM;
        }
        if (rc == -EFBIG || (rc == 0 && len != SERIALIZE_SIG_BYTES)) {
                free(data);
                serr_set(err, -1, "%s: expected a raw %d-byte Ed25519 signature, found %s", sp,
                         SERIALIZE_SIG_BYTES, rc == -EFBIG ? "a longer file" : "a shorter one");
                return -EPERM;
        }
        if (rc < 0) {
                char why[sizeof(err->message)];
                snprintf(why, sizeof(why), "%s", err->message);
                serr_set(err, -1, "%s: %s", sp, why);
                return rc;
        }
        memcpy(sig, data, SERIALIZE_SIG_BYTES);
        free(data);
        return 0;
}

static bool verify_one(EVP_PKEY *key, const uint8_t *sig, const uint8_t *data, size_t len)
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
                  EVP_DigestVerify(ctx, sig, SERIALIZE_SIG_BYTES, data, len) == 1;
        EVP_MD_CTX_free(ctx);
        ERR_clear_error();
        return ok;
}

/* The pinned digest, then the signature. */
int serialize_trust_check(const struct serialize_trust *trust, const char *path, const uint8_t *data,
                size_t len, const char sha256[65], char *state, size_t statelen,
                struct serialize_error *err)
{
        char sp[4096];
        int rc = sig_path(path, sp, sizeof(sp), err);
        if (rc < 0)
                return rc;
        if (trust && trust->n_sha256) {
                bool match = false;
                for (size_t i = 0; i < trust->n_sha256 && !match; i++)
                        match = strcmp(trust->sha256[i], sha256) == 0;
                if (!match) {
                        serr_set(err, -1, "the file's SHA-256 is %s; expected %s%s (the "
                                 "digest pinned for this model)", sha256,
                                 trust->n_sha256 > 1 ? "one of the pinned digests, e.g. " : "",
                                 trust->sha256[0]);
                        return -EPERM;
                }
        }
        if (!trust || !trust->keys) {
                struct stat st;
                snprintf(state, statelen, stat(sp, &st) == 0
                                 ? "not checked (%s exists; pass --verify-key PUBLIC.pem to check it)"
                                 : "none (no %s)",
                         sp);
                return 0;
        }
        uint8_t sig[SERIALIZE_SIG_BYTES];
        if ((rc = read_sig(sp, sig, err)) < 0)
                return rc;
        const struct serialize_keys *keys = trust->keys;
        for (size_t i = 0; i < keys->n; i++) {
                if (verify_one(keys->key[i], sig, data, len)) {
                        snprintf(state, statelen, "valid (%s, Ed25519 key %s)", sp,
                                 keys->path[i]);
                        return 0;
                }
        }
        serr_set(err, -1, "%s: the signature does not match the file under %s (the file or "
                 "its signature was changed, or another key signed it)", sp,
                 keys->n == 1 ? "the trusted key" : "any of the trusted keys");
        return -EPERM;
}

/* Writes len bytes to path through a temporary file and a rename, so a
 * reader never sees half a signature. */
static int write_atomic(const char *path, const uint8_t *data, size_t len,
                        struct serialize_error *err)
{
        char tmp[4200];
        if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
            sizeof(tmp)) {
                serr_set(err, -1, "%s: the path is too long", path);
                return -ENAMETOOLONG;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
                int e = errno;
                serr_set(err, -1, "%s: cannot create: %s", tmp, strerror(e));
                return -e;
        }
        size_t off = 0;
        while (off < len) {
                ssize_t w = write(fd, data + off, len - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        break;
                off += (size_t)w;
        }
        int e = off < len ? errno : 0;
        if (!e && fsync(fd) < 0)
                e = errno;
        if (close(fd) < 0 && !e)
                e = errno;
        if (!e && rename(tmp, path) < 0)
                e = errno;
        if (e) {
                unlink(tmp);
                serr_set(err, -1, "%s: cannot write: %s", path, strerror(e ? e : EIO));
                return -(e ? e : EIO);
        }
        return 0;
}

int serialize_sign_file(const char *path, const char *key_path, size_t max_bytes,
                        char sha256[65], struct serialize_error *err)
{
        err->offset = -1;
        int rc;
        EVP_PKEY *key = read_key(key_path, true, &rc, err);
        if (!key)
                return rc;
        uint8_t *data = NULL;
        size_t len = 0;
        EVP_MD_CTX *ctx = NULL;
        if ((rc = serialize_read_file(path, max_bytes, &data, &len, err)) < 0) {
                char why[sizeof(err->message)];
                snprintf(why, sizeof(why), "%s", err->message);
                serr_set(err, -1, "%s: %s", path, why);
                goto out;
        }
        uint8_t sig[SERIALIZE_SIG_BYTES];
        size_t siglen = sizeof(sig);
        ctx = EVP_MD_CTX_new();
        /* Ed25519 hashes the message itself: no digest is given */
        if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
            EVP_DigestSign(ctx, sig, &siglen, data, len) != 1 || siglen != sizeof(sig)) {
                ERR_clear_error();
                serr_set(err, -1, "%s: OpenSSL could not sign the file", path);
                rc = -EINVAL;
                goto out;
        }
        char sp[4096];
        if ((rc = sig_path(path, sp, sizeof(sp), err)) < 0 ||
            (rc = write_atomic(sp, sig, sizeof(sig), err)) < 0)
                goto out;
        serialize_sha256_hex(data, len, sha256);
out:
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(key);
        free(data);
        return rc;
}
