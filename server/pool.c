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
 * jobs whose clients were already answered.
 *
 * Two things keep large batches from starving small requests and idle
 * threads from idling: as many threads again as the workers take only
 * jobs marked small (the earliest queued), which the workers leave to
 * them (for_workers), and a worker's job with a large batch shares it
 * out (pool_share) to the workers that have nothing queued to run, which
 * leave it as soon as a job they may take is queued.
 *
 * Handing a request to a worker and back costs two thread wake-ups, tens
 * of microseconds on a VM, several times what one row of most models
 * costs. So a tiny request (a body of a few rows) runs where it arrived,
 * on the HTTP thread, while the tiny requests measured lately took under
 * the inline bound (--inline-compute-us) each; once they take longer (a
 * slow model), they are queued again like the rest, where a health check
 * cannot wait behind them. The measure is an exponential average over every tiny request,
 * queued or not, so it follows a change of model or load.
 *
 * The workers run below the connection threads (lower_priority), and a
 * worker running a job steps aside every POOL_STEP_ASIDE_US (a timer
 * signal whose handler calls sched_yield), so that the scheduler looks
 * again at who should run between its ticks (step_aside). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

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

/* A worker's step-aside timer (step_aside). */
struct step_timer {
        timer_t t;
        bool made; /* timer_create succeeded */
};

struct worker_arg {
        struct pool *p;
        size_t i;
        bool small_only; /* a small-job thread */
};

/* A batch shared out by pool_share: calls next, next + 1, ... < n, taken
 * by the owner and its helpers. Lives on the owner's stack; listed in
 * p->shares until its calls are all taken, and the owner returns only
 * once no helper is in it. */
struct share {
        void (*fn)(void *ctx, size_t i);
        void *ctx;
        size_t n;
        atomic_size_t next;
        size_t helpers; /* under p->lock */
        bool listed;    /* under p->lock */
        struct share *prev, *nextshare;
};

/* The workers' nice value where SCHED_IDLE is refused (the connection
 * threads and the small-job threads keep the process's). */
#define POOL_WORKER_NICE 10

/* A worker running a job gives up its CPU this often (microseconds of
 * wall time), with this signal (step_aside). */
#define POOL_STEP_ASIDE_US 1000
#define POOL_STEP_ASIDE_SIG SIGRTMIN

/* glibc 2.36 has the field but not its name */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

/* The average's weight for each new measure, and the most one measure
 * counts for, in bounds (--inline-compute-us). */
#define POOL_INLINE_WEIGHT 0.125
#define POOL_INLINE_CLAMP 2.0

struct pool {
        /* the tiny requests' average cost in seconds, as the bits of a
         * double (read and written without the lock; a lost update only
         * delays the average by one measure) */
        _Atomic uint64_t tiny_cost;
        _Atomic uint64_t inline_runs; /* pool_take_inline's trues */
        double inline_s; /* the bound; 0: never inline */
        pthread_mutex_t lock;
        pthread_cond_t cond;      /* workers wait for jobs */
        pthread_cond_t wd_cond;   /* the watchdog waits (monotonic clock) */
        pthread_cond_t unpin;     /* a worker waits for the watchdog */
        pthread_cond_t small_cond; /* the small-job threads wait */
        pthread_cond_t share_done; /* a share's owner waits for its helpers */
        struct job *q; /* ring of cap jobs, in submission order */
        size_t cap, head, n;
        size_t n_small;          /* queued jobs marked small */
        atomic_size_t queued;    /* for_workers, for helpers to read without the lock */
        struct share *shares;    /* batches that idle workers may help with */
        size_t reserved; /* slots promised by pool_reserve */
        bool stopping, wd_stopping;
        unsigned timeout_s;
        size_t running;  /* jobs being run, for /metrics */
        pthread_t *threads;
        struct slot *slots;
        struct worker_arg *args;
        size_t n_threads; /* threads started: the workers, then the small-job ones */
        size_t n_workers; /* of them, workers */
        pthread_t watchdog;
        bool wd_started;
};

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The queued jobs a worker may take: every one while the pool stops,
 * else those not marked small, which the small-job threads take. A
 * worker runs at SCHED_IDLE (lower_priority), below every other busy
 * thread of the machine; workers that took small jobs while the
 * connection threads kept both CPUs of the bench VM busy held those
 * requests back for 0.1 to 1.7 s (bench/run.sh, wrk's maximum). The
 * small-job threads, as many as the workers, run at the process's
 * priority. Under p->lock. */
static size_t for_workers(const struct pool *p)
{
        return p->stopping ? p->n : p->n - p->n_small;
}

static void publish_queued(struct pool *p)
{
        atomic_store_explicit(&p->queued, for_workers(p), memory_order_relaxed);
}

/* Takes the job at queue position k (0 = the head) out of the queue; the
 * rest keep their order (the watchdog relies on it). Under p->lock. */
static struct job take_job(struct pool *p, size_t k)
{
        struct job job = p->q[(p->head + k) % p->cap];
        if (k == 0) {
                p->head = (p->head + 1) % p->cap;
        } else {
                for (size_t i = k; i + 1 < p->n; i++)
                        p->q[(p->head + i) % p->cap] = p->q[(p->head + i + 1) % p->cap];
        }
        p->n--;
        if (job.j.small)
                p->n_small--;
        publish_queued(p);
        return job;
}

/* The position of the earliest job that is (small) or is not (!small)
 * marked small, or p->n. Under p->lock. */
static size_t first_of(const struct pool *p, bool small)
{
        size_t k = 0;
        while (k < p->n && p->q[(p->head + k) % p->cap].j.small != small)
                k++;
        return k;
}

static void unlist_share(struct pool *p, struct share *sh)
{
        if (!sh->listed)
                return;
        if (sh->prev)
                sh->prev->nextshare = sh->nextshare;
        else
                p->shares = sh->nextshare;
        if (sh->nextshare)
                sh->nextshare->prev = sh->prev;
        sh->listed = false;
}

/* Lowering the workers (lower_priority) is not enough on its own. When a connection
 * thread wakes while a worker runs, the scheduler may find it not yet
 * eligible (EEVDF) and let the worker go on; it decides again only at
 * its next tick, which is 4 ms at HZ=250, and a request waited that long
 * (traced with perf sched, README Benchmark). A worker that calls
 * sched_yield makes it decide now, with the worker's time counted; so
 * while a worker runs a job, a timer of its own signals it every
 * POOL_STEP_ASIDE_US and this handler yields. With nothing else waiting
 * for its CPU the call returns at once. The timer's interrupt and the
 * signal cost about 25 us each on the 2-CPU VM of bench/results (timed
 * with a compute loop, 0.1 ms timer against none), so a job longer than
 * a millisecond runs about 2.5% slower; every 0.5 ms gave about the same
 * p99 for twice the signals, every 2 ms let p99 reach 1.8 ms. Jobs
 * shorter than the interval are never signalled. The model code makes
 * no system calls that the signal could interrupt, and SA_RESTART
 * restarts the rest. */
static void step_aside(int sig)
{
        (void)sig;
        int saved = errno;
        (void)sched_yield();
        errno = saved;
}

static void install_step_aside(void)
{
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = step_aside;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        (void)sigaction(POOL_STEP_ASIDE_SIG, &sa, NULL);
}

/* The calling worker's timer, signalling this thread only. Without one
 * (timer_create refused) the worker runs its jobs to their end. */
static void make_step_timer(struct step_timer *st)
{
        struct sigevent sev;
        memset(&sev, 0, sizeof(sev));
        sev.sigev_notify = SIGEV_THREAD_ID;
        sev.sigev_signo = POOL_STEP_ASIDE_SIG;
        sev.sigev_notify_thread_id = gettid();
        st->made = timer_create(CLOCK_MONOTONIC, &sev, &st->t) == 0;
}

/* The timer of the worker this thread is, while it is armed; NULL on
 * any other thread. pool_share stops it while a batch's owner sleeps
 * until its helpers are done, which would otherwise wake it each
 * POOL_STEP_ASIDE_US for nothing. */
static _Thread_local struct step_timer *armed_timer;

/* Whether this thread is a worker. Only a worker shares a batch: the
 * owner waits for every helper to finish its range, and a small-job or
 * HTTP thread that waited for SCHED_IDLE helpers would wait as long as
 * a busy machine holds them off (for_workers). */
static _Thread_local bool on_worker;

/* Starts (on) or stops the calling worker's timer. */
static void arm_step_timer(struct step_timer *st, bool on)
{
        if (!st->made)
                return;
        armed_timer = on ? st : NULL;
        struct itimerspec its;
        memset(&its, 0, sizeof(its));
        if (on) {
                its.it_value.tv_nsec = POOL_STEP_ASIDE_US * 1000L;
                its.it_interval = its.it_value;
        }
        (void)timer_settime(st->t, 0, &its, NULL);
}

/* Runs a share's calls while there are calls left and no job a worker
 * may take is queued. */
static void share_calls(struct pool *p, struct share *sh, bool owner)
{
        for (;;) {
                if (!owner && atomic_load_explicit(&p->queued, memory_order_relaxed))
                        return;
                size_t i = atomic_fetch_add_explicit(&sh->next, 1, memory_order_relaxed);
                if (i >= sh->n)
                        return;
                sh->fn(sh->ctx, i);
        }
}

/* An idle worker helps the first listed share. Under p->lock, which it
 * drops while helping. */
static void help(struct pool *p, struct step_timer *st)
{
        struct share *sh = p->shares;
        if (atomic_load_explicit(&sh->next, memory_order_relaxed) >= sh->n) {
                unlist_share(p, sh); /* every call taken: nothing to help with */
                return;
        }
        sh->helpers++;
        pthread_mutex_unlock(&p->lock);
        arm_step_timer(st, true);
        share_calls(p, sh, false);
        arm_step_timer(st, false);
        pthread_mutex_lock(&p->lock);
        if (atomic_load_explicit(&sh->next, memory_order_relaxed) >= sh->n)
                unlist_share(p, sh);
        if (!--sh->helpers)
                pthread_cond_broadcast(&p->share_done);
}

/* Puts the calling worker below the connection threads and the
 * small-job threads, so that they get a CPU soon when a request comes in
 * while batches keep every CPU busy. A higher nice value did little for
 * that on Linux 6.6 and later (EEVDF): a running thread keeps its CPU to
 * the end of its slice, and a thread queued with credit from a long wait
 * holds back one that just woke, whatever their weights. A waking thread
 * preempts a SCHED_IDLE one as soon as the scheduler finds it eligible
 * (not always at once, for the same reason), which cut the 1-row p99 of
 * bench/tail_latency.py about in half (README, Benchmark). SCHED_IDLE
 * competes only inside its cgroup when the cgroup has the cpu controller
 * (a container); without one, every busy process comes first. Per thread
 * on Linux; an unprivileged thread may take it (not leave it). */
static void lower_priority(void)
{
#ifdef SCHED_IDLE
        struct sched_param sp = { .sched_priority = 0 };
        if (!pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp))
                return;
#endif
        (void)setpriority(PRIO_PROCESS, (id_t)gettid(), POOL_WORKER_NICE);
}

static void *worker(void *arg)
{
        struct worker_arg *wa = arg;
        struct pool *p = wa->p;
        struct slot *s = &p->slots[wa->i];
        struct step_timer st = { .made = false };
        if (!wa->small_only) {
                on_worker = true;
                lower_priority();
                make_step_timer(&st);
        }
        pthread_mutex_lock(&p->lock);
        for (;;) {
                size_t k;
                if (wa->small_only) {
                        /* stopping, it still waits for the small jobs of
                         * places reserved before (pool_submit signals) */
                        while (!p->n_small && !(p->stopping && !p->reserved))
                                pthread_cond_wait(&p->small_cond, &p->lock);
                        if (!p->n_small)
                                break; /* stopping: the workers run what is left */
                        k = first_of(p, true);
                } else {
                        /* stopping, a worker still waits for the jobs of
                         * places reserved before (pool_submit signals) */
                        while (!for_workers(p) && !p->shares &&
                               !(p->stopping && !p->reserved))
                                pthread_cond_wait(&p->cond, &p->lock);
                        if (!for_workers(p) && p->shares) {
                                help(p, &st);
                                continue;
                        }
                        if (!for_workers(p))
                                break; /* stopping, and every job done */
                        k = p->stopping ? 0 : first_of(p, false);
                }
                struct job job = take_job(p, k);
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
                arm_step_timer(&st, true);
                s->job.j.run(s->job.j.arg);
                arm_step_timer(&st, false);
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
        if (st.made)
                (void)timer_delete(st.t);
        return NULL;
}

void pool_share(struct pool *p, size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
        struct share sh = { .fn = fn, .ctx = ctx, .n = n };
        atomic_init(&sh.next, 0);
        bool shared = pool_can_share(p) && n > 1;
        if (shared) {
                pthread_mutex_lock(&p->lock);
                if (!p->stopping) {
                        sh.nextshare = p->shares;
                        if (p->shares)
                                p->shares->prev = &sh;
                        p->shares = &sh;
                        sh.listed = true;
                        pthread_cond_broadcast(&p->cond);
                }
                pthread_mutex_unlock(&p->lock);
        }
        share_calls(p, &sh, true);
        if (!shared)
                return;
        pthread_mutex_lock(&p->lock);
        unlist_share(p, &sh);
        struct step_timer *st = sh.helpers ? armed_timer : NULL;
        if (st) { /* no helper joins once unlisted */
                pthread_mutex_unlock(&p->lock);
                arm_step_timer(st, false);
                pthread_mutex_lock(&p->lock);
        }
        while (sh.helpers)
                pthread_cond_wait(&p->share_done, &p->lock);
        pthread_mutex_unlock(&p->lock);
        if (st)
                arm_step_timer(st, true);
}

bool pool_can_share(const struct pool *p)
{
        return p && on_worker && p->n_workers > 1;
}

size_t pool_threads(const struct pool *p)
{
        return p ? p->n_workers : 1;
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
                while (p->n && nq < EXPIRE_BATCH && p->q[p->head].deadline <= now)
                        queued[nq++] = take_job(p, 0).j;
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

static double tiny_cost_of(struct pool *p)
{
        uint64_t bits = atomic_load_explicit(&p->tiny_cost, memory_order_relaxed);
        double c;
        memcpy(&c, &bits, sizeof(c));
        return c;
}

static void set_tiny_cost(struct pool *p, double c)
{
        uint64_t bits;
        memcpy(&bits, &c, sizeof(bits));
        atomic_store_explicit(&p->tiny_cost, bits, memory_order_relaxed);
}

int pool_create(unsigned threads, size_t max_queue, unsigned timeout_s, unsigned inline_us,
                struct pool **out)
{
        struct pool *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        pthread_cond_init(&p->unpin, NULL);
        pthread_cond_init(&p->small_cond, NULL);
        pthread_cond_init(&p->share_done, NULL);
        atomic_init(&p->queued, 0);
        /* twice the bound to start: the first few are queued and measured */
        p->inline_s = inline_us / 1e6;
        set_tiny_cost(p, 2 * p->inline_s);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&p->wd_cond, &ca);
        pthread_condattr_destroy(&ca);
        p->timeout_s = timeout_s;
        install_step_aside();
        p->cap = max_queue ? max_queue : 1;
        size_t nw = threads ? threads : 1, nt = 2 * nw; /* and as many small-job threads */
        p->q = calloc(p->cap, sizeof(*p->q));
        p->threads = calloc(nt, sizeof(*p->threads));
        p->slots = calloc(nt, sizeof(*p->slots));
        p->args = calloc(nt, sizeof(*p->args));
        if (!p->q || !p->threads || !p->slots || !p->args) {
                pool_free(p);
                return -ENOMEM;
        }
        for (size_t i = 0; i < nt; i++) {
                p->args[i] = (struct worker_arg){ p, i, i >= nw };
                if (pthread_create(&p->threads[i], NULL, worker, &p->args[i]) != 0) {
                        pool_free(p);
                        return -EAGAIN;
                }
                p->n_threads++;
                if (i < nw)
                        p->n_workers++;
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

bool pool_take_inline(struct pool *p)
{
        if (tiny_cost_of(p) >= p->inline_s)
                return false;
        atomic_fetch_add_explicit(&p->inline_runs, 1, memory_order_relaxed);
        return true;
}

void pool_tiny_cost(struct pool *p, double seconds)
{
        /* A tiny request preempted while it computed measures the wait
         * too (wall time: the thread's CPU time would cost a system call
         * each). Unclamped, one such measure of a few milliseconds sent
         * the next dozens of 1-row requests to the queue under a wrk
         * load; clamped, it takes five in a row to (from 10 us), and
         * five of a model truly slower than the bound still do. */
        if (p->inline_s > 0 && seconds > POOL_INLINE_CLAMP * p->inline_s)
                seconds = POOL_INLINE_CLAMP * p->inline_s;
        double c = tiny_cost_of(p);
        set_tiny_cost(p, c + POOL_INLINE_WEIGHT * (seconds - c));
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
        if (j->small) {
                p->n_small++;
                pthread_cond_signal(&p->small_cond);
        }
        publish_queued(p);
        if (!j->small || p->stopping) /* stopping, the workers run what is left */
                pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
}

void pool_stats(struct pool *p, struct pool_stats *st)
{
        pthread_mutex_lock(&p->lock);
        st->queued = p->n;
        st->busy = p->running;
        st->threads = p->n_threads; /* busy counts the small-job threads too */
        st->capacity = p->cap;
        pthread_mutex_unlock(&p->lock);
        st->inline_runs = atomic_load_explicit(&p->inline_runs, memory_order_relaxed);
        st->tiny_cost = tiny_cost_of(p);
}

void pool_drain(struct pool *p)
{
        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        publish_queued(p); /* the workers may take small jobs too now */
        /* a slot reserved is submitted soon after; wait for it */
        while (p->reserved) {
                pthread_mutex_unlock(&p->lock);
                sched_yield();
                pthread_mutex_lock(&p->lock);
        }
        pthread_cond_broadcast(&p->cond);
        pthread_cond_broadcast(&p->small_cond);
        pthread_mutex_unlock(&p->lock);
        for (size_t i = 0; i < p->n_threads; i++)
                pthread_join(p->threads[i], NULL);
        /* n_workers stays: pool_share reads it unlocked, and shares no
         * more once stopping */
        pthread_mutex_lock(&p->lock);
        p->n_threads = 0; /* the watchdog and pool_stats read it */
        pthread_mutex_unlock(&p->lock);
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
        pthread_cond_destroy(&p->small_cond);
        pthread_cond_destroy(&p->share_done);
        free(p->q);
        free(p->threads);
        free(p->slots);
        free(p->args);
        free(p);
}
