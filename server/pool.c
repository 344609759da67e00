/* pool.c - a bounded pool of compute threads. Inference runs here, apart
 * from libmicrohttpd's connection threads, so that a health check is
 * answered at once even while every compute thread is busy with a large
 * batch; a full queue is refused at once (the caller answers 503 with
 * Retry-After) rather than growing without bound.
 *
 * With a timeout, a watchdog thread gives up on a job at its deadline
 * (timeout seconds after it was submitted): a job still queued is taken
 * out of the queue and never runs, a job running is told to answer now.
 * The model code has no cancellation points, so a computation that has
 * started runs to its end and its result is dropped; what it costs is
 * bounded by --max-batch-rows, and the queue behind it is not held up by
 * jobs whose clients were already answered. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "server_internal.h"

struct job {
        struct pool_job j;
        double deadline; /* monotonic seconds; 0: none */
};

/* What one worker is running. */
struct slot {
        struct job job;
        bool busy;
        bool expired; /* the watchdog told it to answer */
        bool pinned;  /* the watchdog is calling its expire */
};

struct worker_arg {
        struct pool *p;
        size_t i;
};

struct pool {
        pthread_mutex_t lock;
        pthread_cond_t cond;      /* workers wait for jobs */
        pthread_cond_t wd_cond;   /* the watchdog waits (monotonic clock) */
        pthread_cond_t unpin;     /* a worker waits for the watchdog */
        struct job *q; /* ring of cap jobs, in submission order */
        size_t cap, head, n;
        size_t reserved; /* slots promised by pool_reserve */
        bool stopping, wd_stopping;
        unsigned timeout_s;
        size_t running;  /* jobs being run, for /metrics */
        pthread_t *threads;
        struct slot *slots;
        struct worker_arg *args;
        size_t n_threads;
        pthread_t watchdog;
        bool wd_started;
};

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
        struct worker_arg *wa = arg;
        struct pool *p = wa->p;
        struct slot *s = &p->slots[wa->i];
        pthread_mutex_lock(&p->lock);
        for (;;) {
                while (!p->n && !p->stopping)
                        pthread_cond_wait(&p->cond, &p->lock);
                if (!p->n)
                        break; /* stopping, and every job done */
                struct job job = p->q[p->head];
                p->head = (p->head + 1) % p->cap;
                p->n--;
                if (job.deadline && job.deadline <= now_s()) {
                        /* its time ran out in the queue (the watchdog looks
                         * only every 10 ms): it never starts */
                        pthread_mutex_unlock(&p->lock);
                        job.j.expire(job.j.arg, false);
                        job.j.done(job.j.arg);
                        pthread_mutex_lock(&p->lock);
                        continue;
                }
                s->job = job;
                s->busy = true;
                s->expired = false;
                p->running++;
                pthread_mutex_unlock(&p->lock);
                s->job.j.run(s->job.j.arg);
                pthread_mutex_lock(&p->lock);
                while (s->pinned)
                        pthread_cond_wait(&p->unpin, &p->lock);
                s->busy = false;
                struct pool_job done = s->job.j;
                pthread_mutex_unlock(&p->lock);
                done.done(done.arg);
                pthread_mutex_lock(&p->lock);
                p->running--;
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

/* Most jobs expired in one look; the rest wait for the next (10 ms on). */
#define EXPIRE_BATCH 64

static void *watchdog_main(void *arg)
{
        struct pool *p = arg;
        pthread_mutex_lock(&p->lock);
        while (!p->wd_stopping) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += 10L * 1000 * 1000;
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&p->wd_cond, &p->lock, &ts);
                double now = now_s();
                struct pool_job queued[EXPIRE_BATCH];
                size_t nq = 0, running[EXPIRE_BATCH], nr = 0;
                /* one timeout for all: the queue's head expires first */
                while (p->n && nq < EXPIRE_BATCH && p->q[p->head].deadline <= now) {
                        queued[nq++] = p->q[p->head].j;
                        p->head = (p->head + 1) % p->cap;
                        p->n--;
                }
                for (size_t i = 0; i < p->n_threads && nr < EXPIRE_BATCH; i++) {
                        struct slot *s = &p->slots[i];
                        if (s->busy && !s->expired && s->job.deadline <= now) {
                                s->expired = s->pinned = true;
                                running[nr++] = i;
                        }
                }
                if (!nq && !nr)
                        continue;
                pthread_mutex_unlock(&p->lock);
                for (size_t k = 0; k < nq; k++) {
                        queued[k].expire(queued[k].arg, false);
                        queued[k].done(queued[k].arg);
                }
                for (size_t k = 0; k < nr; k++) {
                        /* pinned: its worker waits before calling done */
                        const struct pool_job *j = &p->slots[running[k]].job.j;
                        j->expire(j->arg, true);
                }
                pthread_mutex_lock(&p->lock);
                for (size_t k = 0; k < nr; k++)
                        p->slots[running[k]].pinned = false;
                pthread_cond_broadcast(&p->unpin);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

int pool_create(unsigned threads, size_t max_queue, unsigned timeout_s, struct pool **out)
{
        struct pool *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        pthread_cond_init(&p->unpin, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&p->wd_cond, &ca);
        pthread_condattr_destroy(&ca);
        p->timeout_s = timeout_s;
        p->cap = max_queue ? max_queue : 1;
        size_t nt = threads ? threads : 1;
        p->q = calloc(p->cap, sizeof(*p->q));
        p->threads = calloc(nt, sizeof(*p->threads));
        p->slots = calloc(nt, sizeof(*p->slots));
        p->args = calloc(nt, sizeof(*p->args));
        if (!p->q || !p->threads || !p->slots || !p->args) {
                pool_free(p);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < threads; i++) {
                p->args[i] = (struct worker_arg){ p, i };
                if (pthread_create(&p->threads[i], NULL, worker, &p->args[i]) != 0) {
                        pool_free(p);
                        return -EAGAIN;
                }
                p->n_threads++;
        }
        if (timeout_s) {
                if (pthread_create(&p->watchdog, NULL, watchdog_main, p) != 0) {
                        pool_free(p);
                        return -EAGAIN;
                }
                p->wd_started = true;
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

void pool_submit(struct pool *p, const struct pool_job *j)
{
        double deadline = p->timeout_s ? now_s() + p->timeout_s : 0;
        pthread_mutex_lock(&p->lock);
        p->reserved--;
        p->q[(p->head + p->n) % p->cap] = (struct job){ *j, deadline };
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
        /* the workers emptied the queue; nothing is left to expire */
        if (p->wd_started) {
                pthread_mutex_lock(&p->lock);
                p->wd_stopping = true;
                pthread_cond_signal(&p->wd_cond);
                pthread_mutex_unlock(&p->lock);
                pthread_join(p->watchdog, NULL);
                p->wd_started = false;
        }
}

void pool_free(struct pool *p)
{
        if (!p)
                return;
        pool_drain(p);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        pthread_cond_destroy(&p->wd_cond);
        pthread_cond_destroy(&p->unpin);
        free(p->q);
        free(p->threads);
        free(p->slots);
        free(p->args);
        free(p);
}
