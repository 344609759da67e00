/* test_pool.c - the compute pool (server/pool.c): a shared batch runs
 * every call exactly once and idle workers take part; a small job is run
 * by a small-job thread while every worker is busy, waits for one while
 * a worker is idle, and runs its batch alone; a job queued while a
 * batch is shared gets a worker before the batch ends; the watchdog
 * expires queued jobs once each after a small one left the middle of the
 * queue; draining runs what is queued. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "server_internal.h"
#include "tap.h"

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
        struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

/* --- a shared batch ------------------------------------------------- */

#define CALLS 400

struct batch {
        atomic_int count[CALLS];
        pthread_t who[CALLS];
        int spin_us;
};

static void batch_call(void *ctx, size_t i)
{
        struct batch *b = ctx;
        atomic_fetch_add(&b->count[i], 1);
        b->who[i] = pthread_self();
        double until = now_s() + b->spin_us / 1e6;
        while (now_s() < until)
                ;
}

struct owner_job {
        struct pool *p;
        struct batch *b;
        atomic_bool done;
};

static void owner_run(void *arg)
{
        struct owner_job *o = arg;
        pool_share(o->p, CALLS, batch_call, o->b);
}

static void no_expire(void *arg, bool started)
{
        (void)arg;
        (void)started;
}

static void mark_done(void *arg)
{
        atomic_store(&((struct owner_job *)arg)->done, true);
}

/* Submits a job whose run shares a batch of CALLS calls of spin_us
 * each (marked small or not); its batch, or NULL. */
static struct batch *submit_owner(struct pool *p, int spin_us, bool small, struct owner_job *o)
{
        struct batch *b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        b->spin_us = spin_us;
        o->p = p;
        o->b = b;
        atomic_init(&o->done, false);
        if (pool_reserve(p) != 0) {
                free(b);
                return NULL;
        }
        pool_submit(p, &(struct pool_job){ owner_run, no_expire, mark_done, o, small });
        return b;
}

static bool wait_flag(atomic_bool *f, double secs)
{
        double until = now_s() + secs;
        while (!atomic_load(f) && now_s() < until)
                sleep_ms(1);
        return atomic_load(f);
}

static bool pool_share_runs_each_call_once_on_several_threads(void)
{
        struct pool *p = NULL;
        EXPECT(pool_create(3, 16, 0, 0, &p) == 0);
        EXPECT(pool_threads(p) == 3);
        struct owner_job o;
        struct batch *b = submit_owner(p, 200, false, &o);
        EXPECT(b != NULL);
        EXPECT(wait_flag(&o.done, 60));
        size_t threads = 0;
        pthread_t seen[8];
        for (size_t i = 0; i < CALLS; i++) {
                EXPECT(atomic_load(&b->count[i]) == 1);
                bool known = false;
                for (size_t k = 0; k < threads; k++)
                        known |= pthread_equal(seen[k], b->who[i]) != 0;
                if (!known && threads < 8)
                        seen[threads++] = b->who[i];
        }
        /* the owner and at least one idle worker took calls (80 ms of
         * work in 200 us pieces: the idle workers were woken at once) */
        EXPECT(threads >= 2);
        pool_free(p);
        free(b);
        return true;
}

static bool pool_share_without_pool_runs_inline(void)
{
        struct batch *b = calloc(1, sizeof(*b));
        EXPECT(b != NULL);
        pool_share(NULL, CALLS, batch_call, b);
        for (size_t i = 0; i < CALLS; i++) {
                EXPECT(atomic_load(&b->count[i]) == 1);
                EXPECT(pthread_equal(b->who[i], pthread_self()));
        }
        free(b);
        return true;
}

/* --- a small job while every worker is busy -------------------------- */

struct blocker {
        atomic_bool release, done;
};

static void block_run(void *arg)
{
        struct blocker *bl = arg;
        while (!atomic_load(&bl->release))
                sleep_ms(1);
}

static void block_done(void *arg)
{
        atomic_store(&((struct blocker *)arg)->done, true);
}

struct flag_job {
        atomic_bool ran, done;
};

static void flag_run(void *arg)
{
        atomic_store(&((struct flag_job *)arg)->ran, true);
}

static void flag_done(void *arg)
{
        atomic_store(&((struct flag_job *)arg)->done, true);
}

static bool pool_small_job_runs_while_workers_are_busy(void)
{
        struct pool *p = NULL;
        EXPECT(pool_create(2, 16, 0, 0, &p) == 0);
        struct blocker bl[2] = { 0 };
        for (int i = 0; i < 2; i++) {
                EXPECT(pool_reserve(p) == 0);
                pool_submit(p, &(struct pool_job){ block_run, no_expire, block_done, &bl[i],
                                                   false });
        }
        sleep_ms(50); /* both workers are in block_run */
        struct flag_job big = { 0 }, small = { 0 };
        EXPECT(pool_reserve(p) == 0);
        pool_submit(p, &(struct pool_job){ flag_run, no_expire, flag_done, &big, false });
        EXPECT(pool_reserve(p) == 0);
        pool_submit(p, &(struct pool_job){ flag_run, no_expire, flag_done, &small, true });
        /* the small one passes the large one queued before it */
        EXPECT(wait_flag(&small.done, 30));
        EXPECT(!atomic_load(&big.ran));
        for (int i = 0; i < 2; i++)
                atomic_store(&bl[i].release, true);
        EXPECT(wait_flag(&big.done, 30));
        pool_free(p);
        EXPECT(atomic_load(&bl[0].done) && atomic_load(&bl[1].done));
        return true;
}

/* --- small jobs are the small-job threads' alone --------------------- */

/* With the one small-job thread of --threads 1 busy, a second small job
 * waits for it though the worker is idle: a worker runs at SCHED_IDLE,
 * where a busy machine can hold a request off for a second. */
static bool pool_small_job_waits_for_a_small_job_thread(void)
{
        struct pool *p = NULL;
        EXPECT(pool_create(1, 16, 0, 0, &p) == 0);
        struct blocker bl = { 0 };
        EXPECT(pool_reserve(p) == 0);
        pool_submit(p, &(struct pool_job){ block_run, no_expire, block_done, &bl, true });
        sleep_ms(50); /* the small-job thread is in block_run */
        struct flag_job small = { 0 }, big = { 0 };
        EXPECT(pool_reserve(p) == 0);
        pool_submit(p, &(struct pool_job){ flag_run, no_expire, flag_done, &small, true });
        EXPECT(pool_reserve(p) == 0);
        pool_submit(p, &(struct pool_job){ flag_run, no_expire, flag_done, &big, false });
        EXPECT(wait_flag(&big.done, 30)); /* the worker runs the large one */
        sleep_ms(50);
        EXPECT(!atomic_load(&small.ran)); /* and leaves the small one */
        atomic_store(&bl.release, true);
        EXPECT(wait_flag(&small.done, 30));
        pool_free(p);
        return true;
}

/* A small job's batch runs on its own thread: a share's owner waits for
 * every helper, and the helpers are SCHED_IDLE workers. */
static bool pool_small_job_does_not_share(void)
{
        struct pool *p = NULL;
        EXPECT(pool_create(3, 16, 0, 0, &p) == 0);
        struct owner_job o;
        struct batch *b = submit_owner(p, 50, true, &o);
        EXPECT(b != NULL);
        EXPECT(wait_flag(&o.done, 60));
        for (size_t i = 0; i < CALLS; i++) {
                EXPECT(atomic_load(&b->count[i]) == 1);
                EXPECT(pthread_equal(b->who[i], b->who[0]));
        }
        pool_free(p);
        free(b);
        return true;
}

struct drainer {
        struct pool *p;
        atomic_bool returned;
};

static void *drain_main(void *arg)
{
        struct drainer *d = arg;
        pool_drain(d->p);
        atomic_store(&d->returned, true);
        return NULL;
}

/* A small job whose place was reserved before the drain began is still
 * run, and the drain waits for it. */
static bool pool_drain_runs_a_small_job_reserved_before(void)
{
        struct pool *p = NULL;
        EXPECT(pool_create(1, 16, 0, 0, &p) == 0);
        EXPECT(pool_reserve(p) == 0);
        struct drainer d = { p, false };
        pthread_t t;
        EXPECT(pthread_create(&t, NULL, drain_main, &d) == 0);
        sleep_ms(50); /* the drain waits for the reserved place */
        EXPECT(!atomic_load(&d.returned));
        struct flag_job small = { 0 };
        pool_submit(p, &(struct pool_job){ flag_run, no_expire, flag_done, &small, true });
        pthread_join(t, NULL);
        EXPECT(atomic_load(&small.done));
        pool_free(p);
        return true;
}

/* --- helpers give way to a queued job -------------------------------- */

static bool pool_queued_job_runs_before_a_shared_batch_ends(void)
{
        struct pool *p = NULL;
        EXPECT(pool_create(2, 16, 0, 0, &p) == 0);
        struct owner_job o; /* 400 calls of 5 ms: 2 s on one thread */
        struct batch *b = submit_owner(p, 5000, false, &o);
        EXPECT(b != NULL);
        sleep_ms(100); /* the owner shares; the other worker helps */
        struct flag_job j = { 0 };
        EXPECT(pool_reserve(p) == 0);
        pool_submit(p, &(struct pool_job){ flag_run, no_expire, flag_done, &j, false });
        /* the helper leaves after its current call (5 ms) and runs it */
        EXPECT(wait_flag(&j.done, 30));
        EXPECT(!atomic_load(&o.done));
        EXPECT(wait_flag(&o.done, 60));
        for (size_t i = 0; i < CALLS; i++)
                EXPECT(atomic_load(&b->count[i]) == 1);
        pool_free(p);
        free(b);
        return true;
}

/* --- the watchdog after a small job left the middle of the queue ----- */

struct counted {
        atomic_int runs, expires, dones;
};

static void counted_run(void *arg)
{
        atomic_fetch_add(&((struct counted *)arg)->runs, 1);
}

static void counted_expire(void *arg, bool started)
{
        if (!started)
                atomic_fetch_add(&((struct counted *)arg)->expires, 1);
}

static void counted_done(void *arg)
{
        atomic_fetch_add(&((struct counted *)arg)->dones, 1);
}

static bool pool_timeout_expires_queued_jobs_around_a_small_one(void)
{
        struct pool *p = NULL;
        EXPECT(pool_create(1, 16, 1, 0, &p) == 0);
        struct blocker bl = { 0 };
        EXPECT(pool_reserve(p) == 0);
        pool_submit(p, &(struct pool_job){ block_run, no_expire, block_done, &bl, false });
        sleep_ms(50);
        struct counted c[3] = { 0 };
        for (int i = 0; i < 3; i++) {
                EXPECT(pool_reserve(p) == 0);
                pool_submit(p, &(struct pool_job){ counted_run, counted_expire, counted_done,
                                                   &c[i], i == 1 });
        }
        /* the small one (in the middle) runs now; the two others expire in
         * the queue after 1 s, each once, and never run */
        double until = now_s() + 30;
        while ((atomic_load(&c[0].dones) + atomic_load(&c[2].dones) < 2 ||
                !atomic_load(&c[1].dones)) && now_s() < until)
                sleep_ms(5);
        EXPECT(atomic_load(&c[1].runs) == 1 && atomic_load(&c[1].expires) == 0);
        for (int i = 0; i < 3; i += 2) {
                EXPECT(atomic_load(&c[i].runs) == 0);
                EXPECT(atomic_load(&c[i].expires) == 1);
                EXPECT(atomic_load(&c[i].dones) == 1);
        }
        atomic_store(&bl.release, true);
        pool_free(p);
        EXPECT(atomic_load(&c[1].dones) == 1);
        return true;
}

static bool pool_drain_runs_queued_jobs(void)
{
        struct pool *p = NULL;
        EXPECT(pool_create(1, 16, 0, 0, &p) == 0);
        struct flag_job j[6] = { 0 };
        for (int i = 0; i < 6; i++) {
                EXPECT(pool_reserve(p) == 0);
                pool_submit(p, &(struct pool_job){ flag_run, no_expire, flag_done, &j[i],
                                                   i % 2 == 0 });
        }
        pool_free(p);
        for (int i = 0; i < 6; i++)
                EXPECT(atomic_load(&j[i].ran) && atomic_load(&j[i].done));
        return true;
}

/* Tiny requests run inline only while their average stays under the
 * bound: not at first (the start is twice the bound), yes after cheap
 * ones, still after one slow one (a measure counts for at most twice the
 * bound: a request preempted while it computed), no more after five slow
 * ones in a row, never with a bound of 0; the stats count the inline
 * runs. */
static bool pool_inline_follows_the_tiny_requests_cost(void)
{
        struct pool *p = NULL;
        struct pool_stats st;
        EXPECT(pool_create(1, 16, 0, 50, &p) == 0);
        EXPECT(!pool_take_inline(p));
        for (int i = 0; i < 40; i++)
                pool_tiny_cost(p, 10e-6);
        EXPECT(pool_take_inline(p));
        EXPECT(pool_take_inline(p));
        pool_tiny_cost(p, 10e-3); /* counted as 100 us: the average is ~21 us */
        pool_stats(p, &st);
        EXPECT(st.tiny_cost > 20e-6 && st.tiny_cost < 23e-6);
        EXPECT(pool_take_inline(p));
        for (int i = 0; i < 3; i++)
                pool_tiny_cost(p, 10e-3);
        EXPECT(pool_take_inline(p)); /* four: ~47 us */
        pool_tiny_cost(p, 10e-3); /* five: ~54 us */
        EXPECT(!pool_take_inline(p));
        pool_stats(p, &st);
        EXPECT(st.inline_runs == 4);
        EXPECT(st.tiny_cost > 50e-6 && st.tiny_cost < 60e-6);
        pool_free(p);

        EXPECT(pool_create(1, 16, 0, 0, &p) == 0);
        for (int i = 0; i < 40; i++)
                pool_tiny_cost(p, 0.0);
        EXPECT(!pool_take_inline(p));
        pool_free(p);
        return true;
}

TAP_MAIN(CASE(pool_share_runs_each_call_once_on_several_threads),
         CASE(pool_share_without_pool_runs_inline),
         CASE(pool_small_job_runs_while_workers_are_busy),
         CASE(pool_small_job_waits_for_a_small_job_thread),
         CASE(pool_small_job_does_not_share),
         CASE(pool_drain_runs_a_small_job_reserved_before),
         CASE(pool_queued_job_runs_before_a_shared_batch_ends),
         CASE(pool_timeout_expires_queued_jobs_around_a_small_one),
         CASE(pool_drain_runs_queued_jobs),
         CASE(pool_inline_follows_the_tiny_requests_cost))
