/* digest.c - a file's SHA-256: of bytes in hand, or computed on a thread
 * of its own while the file is read and loaded.
 *
 * SHA-256 runs at about 1.5 GB/s on one core (SHA-NI), about as long as
 * building the model from a large forest's file, and it cannot be split.
 * Hashed after the read, it ends the load later than the build does; so
 * the reader hands each piece to this thread as soon as it is in memory
 * (digest_feed_publish), and the thread follows the reader, then the
 * pickle machine reads the same bytes beside it. Used only when nothing
 * waits for the digest before the load (no pinned digest, no signature);
 * serialize.c decides.
 *
 * The reader owns the buffer: bytes it has published are never written
 * again, and before it moves the buffer (realloc) or frees it, it waits
 * for the thread to catch up (digest_feed_idle, digest_feed_finish). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "serialize_internal.h"

struct digest_feed {
        pthread_t thread;
        pthread_mutex_t mu;
        pthread_cond_t cv; /* published, hashed or ended changed */
        const uint8_t *buf;
        size_t published; /* buf[0, published) may be hashed */
        size_t hashed;    /* buf[0, hashed) has been */
        bool ended;       /* no more will be published */
        bool failed;      /* OpenSSL refused */
        EVP_MD_CTX *md;
};

/* The 64 hex digits of md's digest into hex, or "" when ok is false or
 * OpenSSL fails. */
static void finish_hex(EVP_MD_CTX *md, bool ok, char hex[65])
{
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        hex[0] = '\0';
        if (!ok || EVP_DigestFinal_ex(md, d, &n) != 1 || n != 32)
                return;
        for (unsigned i = 0; i < n; i++)
                snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

void serialize_sha256_hex(const uint8_t *data, size_t len, char out[65])
{
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        finish_hex(md, md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
                               EVP_DigestUpdate(md, data, len) == 1,
                   out);
        EVP_MD_CTX_free(md);
}

static void *digest_thread(void *arg)
{
        struct digest_feed *f = arg;
        pthread_mutex_lock(&f->mu);
        for (;;) {
                while (f->hashed == f->published && !f->ended)
                        pthread_cond_wait(&f->cv, &f->mu);
                if (f->hashed == f->published)
                        break;
                const uint8_t *p = f->buf + f->hashed;
                size_t n = f->published - f->hashed;
                pthread_mutex_unlock(&f->mu);
                bool ok = EVP_DigestUpdate(f->md, p, n) == 1;
                pthread_mutex_lock(&f->mu);
                f->failed |= !ok;
                f->hashed += n;
                pthread_cond_broadcast(&f->cv);
        }
        pthread_mutex_unlock(&f->mu);
        return NULL;
}

int digest_feed_start(struct digest_feed **out)
{
        struct digest_feed *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        int rc = -ENOMEM;
        if (!(f->md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(f->md, EVP_sha256(), NULL) != 1)
                goto fail;
        pthread_mutex_init(&f->mu, NULL);
        pthread_cond_init(&f->cv, NULL);
        if ((rc = -pthread_create(&f->thread, NULL, digest_thread, f)) != 0) {
                pthread_cond_destroy(&f->cv);
                pthread_mutex_destroy(&f->mu);
                goto fail;
        }
        *out = f;
        return 0;
fail:
        EVP_MD_CTX_free(f->md);
        free(f);
        return rc;
}

void digest_feed_publish(struct digest_feed *f, const uint8_t *buf, size_t n)
{
        pthread_mutex_lock(&f->mu);
        f->buf = buf;
        f->published = n;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
}

void digest_feed_idle(struct digest_feed *f)
{
        pthread_mutex_lock(&f->mu);
        while (f->hashed != f->published)
                pthread_cond_wait(&f->cv, &f->mu);
        pthread_mutex_unlock(&f->mu);
}

void digest_feed_finish(struct digest_feed *f, char hex[65])
{
        pthread_mutex_lock(&f->mu);
        f->ended = true;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->thread, NULL);
        if (hex)
                finish_hex(f->md, !f->failed, hex);
        EVP_MD_CTX_free(f->md);
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
        free(f);
}
