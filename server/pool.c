/* pool.c - a bounded pool of compute threads. Inference runs here, apart
 * from libmicrohttpd's connection threads, so that a health check is
 * answered at once even while every compute thread is busy with a large
 * batch; a full queue is refused at once (the caller answers 503 with
 * Retry-After) rather than growing without bound. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "server_internal.h"

struct job {
        void (*fn)(void *);
        void *arg;
};

struct pool {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct job *q; /* ring of cap jobs */
        size_t cap, head, n;
        size_t reserved; /* slots promised by pool_reserve */
        size_t running;  /* jobs being run */
        bool stopping;
        pthread_t *threads;
        size_t n_threads;
};

static void *worker(void *arg)
{
        struct pool *p = arg;
        pthread_mutex_lock(&p->lock);
        for (;;) {
                while (!p->n && !p->stopping)
                        pthread_cond_wait(&p->cond, &p->lock);
                if (!p->n)
                        break; /* stopping, and every job done */
                struct job j = p->q[p->head];
                p->head = (p->head + 1) % p->cap;
                p->n--;
                p->running++;
                pthread_mutex_unlock(&p->lock);
                j.fn(j.arg);
                pthread_mutex_lock(&p->lock);
                p->running--;
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

int pool_create(unsigned threads, size_t max_queue, struct pool **out)
{
        struct pool *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        p->cap = max_queue ? max_queue : 1;
        p->q = calloc(p->cap, sizeof(*p->q));
        p->threads = calloc(threads ? threads : 1, sizeof(*p->threads));
        if (!p->q || !p->threads) {
                pool_free(p);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < threads; i++) {
                if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
                        pool_free(p);
                        return -EAGAIN;
                }
                p->n_threads++;
        }
        *out = p;
        return 0;
}

int pool_reserve(struct pool *p)
{
        pthread_mutex_lock(&p->lock);
        int rc = p->n + p->reserved >= p->cap || p->stopping ? -EAGAIN : 0;
        if (!rc)
                p->reserved++;
        pthread_mutex_unlock(&p->lock);
        return rc;
}

void pool_submit(struct pool *p, void (*fn)(void *), void *arg)
{
        pthread_mutex_lock(&p->lock);
        p->reserved--;
        p->q[(p->head + p->n) % p->cap] = (struct job){ fn, arg };
        p->n++;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
}

void pool_stats(struct pool *p, size_t *queued, size_t *busy, size_t *threads, size_t *cap)
{
        pthread_mutex_lock(&p->lock);
        *queued = p->n;
        *busy = p->running;
        *threads = p->n_threads;
        *cap = p->cap;
        pthread_mutex_unlock(&p->lock);
}

void pool_drain(struct pool *p)
{
        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        /* a slot reserved is submitted soon after; wait for it */
        while (p->reserved) {
                pthread_mutex_unlock(&p->lock);
                sched_yield();
                pthread_mutex_lock(&p->lock);
        }
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        for (size_t i = 0; i < p->n_threads; i++)
                pthread_join(p->threads[i], NULL);
        p->n_threads = 0;
}

void pool_free(struct pool *p)
{
        if (!p)
                return;
        pool_drain(p);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p->q);
        free(p->threads);
        free(p);
}
