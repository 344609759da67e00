/* auth.c - API keys: who may run models, read their metadata, and use
 * the repository endpoints. The keys are read from --api-key-file and
 * --admin-key-file (one a line) at start-up and again on every reload;
 * only their SHA-256 digests are kept. A request's bearer key is hashed
 * and compared with every stored digest by CRYPTO_memcmp, all of them
 * every time, so neither the comparison nor the position of a match shows
 * in the time an answer takes. No key, nor any part of one, is ever
 * logged or sent back: messages about a key file name the file and the
 * line only. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "config.h"
#include "server_internal.h"
#include "obs_internal.h"

/* Bounds on a key file and on one key. */
#define KEY_FILE_MAX_BYTES ((size_t)1 << 20)
#define KEYS_MAX 10000
#define KEY_MIN_CHARS 16
#define KEY_MAX_CHARS 1024

struct keyset {
        unsigned char (*d)[32]; /* SHA-256 of each key */
        size_t n;
};

struct auth {
        const struct config *cfg;
        pthread_rwlock_t lock; /* guards the two sets: reload swaps them */
        struct keyset user, admin;
};

static void keyset_clear(struct keyset *k)
{
        if (k->d)
                OPENSSL_cleanse(k->d, k->n * sizeof(*k->d));
        free(k->d);
        k->d = NULL;
        k->n = 0;
}

static bool sha256(const void *data, size_t len, unsigned char out[32])
{
        unsigned int n = 0;
        return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

/* One line of a key file, without its end: blank and '#' lines are not
 * keys; a key is KEY_MIN_CHARS..KEY_MAX_CHARS visible ASCII characters,
 * spaces around it ignored. Returns 1 for a key (in *key, *klen), 0 for
 * no key, -1 for a line that is neither. */
static int key_of_line(char *line, size_t len, const char **key, size_t *klen)
{
        while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
                len--;
        size_t s = 0;
        while (s < len && (line[s] == ' ' || line[s] == '\t'))
                s++;
        if (s == len || line[s] == '#')
                return 0;
        if (len - s < KEY_MIN_CHARS || len - s > KEY_MAX_CHARS)
                return -1;
        for (size_t i = s; i < len; i++)
                if (line[i] < 0x21 || line[i] > 0x7e)
                        return -1;
        *key = line + s;
        *klen = len - s;
        return 1;
}

/* Reads the keys of path into *out (replaced only on success). */
static int keyset_read(const char *path, struct keyset *out, char *err, size_t errlen)
{
        FILE *f = fopen(path, "re");
        if (!f) {
                int e = errno;
                snprintf(err, errlen, "%s: cannot open the key file: %s", path, strerror(e));
                return -e;
        }
        struct keyset k = { 0 };
        char *line = NULL;
        size_t cap = 0, total = 0, lineno = 0;
        ssize_t n;
        int rc = 0;
        while ((n = getline(&line, &cap, f)) >= 0) {
                lineno++;
                total += (size_t)n;
                if (total > KEY_FILE_MAX_BYTES) {
                        snprintf(err, errlen, "%s: over %zu bytes; a key file holds one key a "
                                 "line", path, KEY_FILE_MAX_BYTES);
                        rc = -EFBIG;
                        goto out;
                }
                size_t len = (size_t)n;
                if (len && line[len - 1] == '\n')
                        len--;
                const char *key;
                size_t klen;
                int kind = key_of_line(line, len, &key, &klen);
                if (kind < 0) {
                        /* the line is not shown: it may be a key */
                        snprintf(err, errlen, "%s line %zu: expected a key of %d to %d visible "
                                 "ASCII characters without spaces (or a blank or '#' line); "
                                 "found another line", path, lineno, KEY_MIN_CHARS, KEY_MAX_CHARS);
                        rc = -EINVAL;
                        goto out;
                }
                if (kind == 0)
                        continue;
                if (k.n == KEYS_MAX) {
                        snprintf(err, errlen, "%s: more than %d keys", path, KEYS_MAX);
                        rc = -EFBIG;
                        goto out;
                }
                unsigned char (*d)[32] = realloc(k.d, (k.n + 1) * sizeof(*d));
                if (!d) {
                        snprintf(err, errlen, "out of memory reading %s", path);
                        rc = -ENOMEM;
                        goto out;
                }
                k.d = d;
                if (!sha256(key, klen, k.d[k.n])) {
                        snprintf(err, errlen, "%s: OpenSSL could not hash a key", path);
                        rc = -EIO;
                        goto out;
                }
                k.n++;
        }
        if (ferror(f)) {
                snprintf(err, errlen, "%s: cannot read the key file", path);
                rc = -EIO;
        } else if (k.n == 0) {
                snprintf(err, errlen, "%s: holds no key (expected one key a line)", path);
                rc = -EINVAL;
        }
out:
        if (line) {
                OPENSSL_cleanse(line, cap);
                free(line);
        }
        fclose(f);
        if (rc < 0) {
                keyset_clear(&k);
                return rc;
        }
        keyset_clear(out);
        *out = k;
        return 0;
}

/* Both files into new sets; the old ones are kept unless both read. */
static int read_all_keys(struct auth *a, struct keyset *user, struct keyset *admin, char *err,
                         size_t errlen)
{
        int rc = 0;
        if (a->cfg->api_key_file)
                rc = keyset_read(a->cfg->api_key_file, user, err, errlen);
        if (rc == 0 && a->cfg->admin_key_file)
                rc = keyset_read(a->cfg->admin_key_file, admin, err, errlen);
        return rc;
}

int auth_create(const struct config *cfg, struct auth **out, char *err, size_t errlen)
{
        struct auth *a = calloc(1, sizeof(*a));
        if (!a) {
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        a->cfg = cfg;
        pthread_rwlock_init(&a->lock, NULL);
        int rc = read_all_keys(a, &a->user, &a->admin, err, errlen);
        if (rc < 0) {
                auth_free(a);
                return rc;
        }
        *out = a;
        return 0;
}

void auth_reload(struct auth *a)
{
        if (!a->cfg->api_key_file && !a->cfg->admin_key_file)
                return;
        struct keyset user = { 0 }, admin = { 0 };
        char err[600];
        if (read_all_keys(a, &user, &admin, err, sizeof(err)) < 0) {
                keyset_clear(&user);
                keyset_clear(&admin);
                log_msg(LOG_LEVEL_ERROR, "reload: %s; the API keys in use are unchanged", err);
                return;
        }
        pthread_rwlock_wrlock(&a->lock);
        struct keyset ou = a->user, oa = a->admin;
        a->user = user;
        a->admin = admin;
        pthread_rwlock_unlock(&a->lock);
        keyset_clear(&ou);
        keyset_clear(&oa);
        log_msg(LOG_LEVEL_INFO, "reload: %zu API key%s, %zu admin key%s", user.n,
                user.n == 1 ? "" : "s", admin.n, admin.n == 1 ? "" : "s");
}

bool auth_metrics_required(const struct auth *a)
{
        return a->cfg->metrics_auth; /* config_load: only with --api-key-file */
}

bool auth_keys_required(const struct auth *a)
{
        return a->cfg->api_key_file != NULL;
}

/* Whether digest d is in k; every entry is compared, match or not. */
static unsigned in_set(const struct keyset *k, const unsigned char d[32])
{
        unsigned found = 0;
        for (size_t i = 0; i < k->n; i++)
                found |= (unsigned)(CRYPTO_memcmp(d, k->d[i], 32) == 0);
        return found;
}

enum auth_result auth_check(struct auth *a, enum auth_need need, const char *authorization)
{
        const struct config *cfg = a->cfg;
        if (need == AUTH_NEED_NONE || (need == AUTH_NEED_KEY && !cfg->api_key_file) ||
            (need == AUTH_NEED_ADMIN && !cfg->api_key_file && !cfg->admin_key_file))
                return AUTH_OK;
        /* "Bearer" (any case), spaces, the key, nothing else */
        const char *h = authorization;
        if (!h || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
                return AUTH_MISSING;
        h += 6;
        while (*h == ' ' || *h == '\t')
                h++;
        size_t len = strlen(h);
        while (len && (h[len - 1] == ' ' || h[len - 1] == '\t'))
                len--;
        if (len == 0)
                return AUTH_MISSING;
        unsigned char d[32];
        if (len > KEY_MAX_CHARS || !sha256(h, len, d))
                return AUTH_WRONG;
        pthread_rwlock_rdlock(&a->lock);
        unsigned user = in_set(&a->user, d);
        unsigned admin = in_set(&a->admin, d);
        pthread_rwlock_unlock(&a->lock);
        OPENSSL_cleanse(d, sizeof(d));
        if (admin)
                return AUTH_OK; /* an admin key may do everything */
        if (!user)
                return AUTH_WRONG;
        return need == AUTH_NEED_ADMIN ? AUTH_FORBIDDEN : AUTH_OK;
}

void auth_reply(const struct auth *a, enum auth_result res, struct reply *r)
{
        switch (res) {
        case AUTH_OK:
                return;
        case AUTH_MISSING:
                reply_error(r, 401, "this endpoint needs an API key: send the header "
                            "Authorization: Bearer KEY");
                r->www_authenticate = "Bearer realm=\"predictd\"";
                return;
        case AUTH_WRONG:
                reply_error(r, 401, "the API key sent is not valid");
                r->www_authenticate = "Bearer realm=\"predictd\", error=\"invalid_token\"";
                return;
        case AUTH_FORBIDDEN:
                if (a->cfg->admin_key_file)
                        reply_error(r, 403, "this key may not use the repository endpoints: "
                                    "they need a key from the admin key file");
                else
                        reply_error(r, 403, "the repository endpoints need an admin key, and "
                                    "none is configured (--admin-key-file)");
                return;
        }
}

void auth_free(struct auth *a)
{
        if (!a)
                return;
        keyset_clear(&a->user);
        keyset_clear(&a->admin);
        pthread_rwlock_destroy(&a->lock);
        free(a);
}
