/* registry.c - the models being served, and their reload without a
 * restart. The routes read an immutable snapshot (the model list and one
 * entry per version) that they take a reference on for the length of a
 * request; a reload builds a whole new snapshot off the request path, in
 * the loader thread, and swaps it in under a mutex. Served models are
 * reference-counted too, so a file that did not change is shared by the
 * old and new snapshot, a request in flight finishes on the model it
 * started with, and a replaced model is freed when its last request ends.
 *
 * A reload re-reads every model source (--model files and --model-dir):
 * a file whose size or mtime changed is loaded again (and kept as is if
 * its sha256 is the same), new models and versions appear, removed ones
 * go. A file that fails to load leaves its old version serving; the
 * failure is logged and kept as the entry's reason for the repository
 * index. Reloads come from SIGHUP, the --poll-interval timer and the
 * repository extension's load/unload.
 *
 * Every load, at start-up and on reload, goes through registry_load: the
 * file must have a digest --model-sha256 pins for its name (if any) and,
 * with --verify-key, a valid signature; a replacement that fails either
 * leaves the old version serving like any other failed load. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "model.h"
#include "serialize.h"
#include "server.h"
#include "obs_internal.h"
#include "server_internal.h"

/* A loaded model version, shared by every snapshot that serves it. */
struct registry_model {
        atomic_uint refs;
        struct served_model *sm;
        char *path;
        off_t size;
        struct timespec mtime;
};

struct registry {
        const struct config *cfg;
        struct serialize_keys *keys; /* --verify-key, or NULL */
        void (*on_reload)(void *);   /* run before each reload, or NULL */
        void *on_reload_arg;
        pthread_mutex_t lock; /* guards snap and the reference taken on it */
        struct registry_snap *snap;

        pthread_mutex_t req_lock; /* guards everything below */
        pthread_cond_t req_cond;  /* the loader waits on it */
        pthread_cond_t done_cond; /* load/unload callers wait on it */
        unsigned long long asked, done; /* reload generations */
        char **unloaded;          /* names unloaded by the repository API */
        size_t n_unloaded;
        bool ready, stopping;
        pthread_t loader;
        bool loader_started;
};

static void model_unref(struct registry_model *rm)
{
        if (!rm || atomic_fetch_sub_explicit(&rm->refs, 1, memory_order_acq_rel) != 1)
                return;
        served_model_free(rm->sm);
        free(rm->path);
        free(rm);
}

static void snap_free(struct registry_snap *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->set.n; i++) {
                model_unref(s->owner[i]);
                free(s->reason[i]);
        }
        free(s->owner);
        free(s->reason);
        free(s->set.e);
        server_model_list_free(s->list);
        free(s);
}

/* A snapshot of list with no model loaded yet. Takes list. */
static struct registry_snap *snap_new(struct server_model_list *list)
{
        struct registry_snap *s = calloc(1, sizeof(*s));
        size_t n = list->n ? list->n : 1;
        if (s) {
                s->e_alloc = n;
                s->set.e = calloc(n, sizeof(*s->set.e));
                s->owner = calloc(n, sizeof(*s->owner));
                s->reason = calloc(n, sizeof(*s->reason));
        }
        if (!s || !s->set.e || !s->owner || !s->reason) {
                if (s) {
                        free(s->set.e);
                        free(s->owner);
                        free(s->reason);
                        free(s);
                }
                server_model_list_free(list);
                return NULL;
        }
        atomic_init(&s->refs, 1);
        s->list = list;
        s->set.n = list->n;
        for (size_t i = 0; i < list->n; i++) {
                s->set.e[i].spec = &list->v[i];
                s->set.e[i].metrics = metrics_model_get(list->v[i].name, list->v[i].version);
                atomic_init(&s->set.e[i].sm, NULL);
        }
        return s;
}

struct registry_snap *registry_acquire(struct registry *reg)
{
        pthread_mutex_lock(&reg->lock);
        struct registry_snap *s = reg->snap;
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
        pthread_mutex_unlock(&reg->lock);
        return s;
}

void registry_release(struct registry_snap *s)
{
        if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
                snap_free(s);
}

static void set_identity(struct registry_model *rm, const struct stat *st)
{
        rm->size = st->st_size;
        rm->mtime = st->st_mtim;
}

static int model_wrap(const char *path, const struct stat *st, struct model *model,
                      struct serialize_info *info, struct registry_model **out)
{
        struct registry_model *rm = calloc(1, sizeof(*rm));
        char *p = strdup(path);
        struct served_model *sm = NULL;
        if (!rm || !p || served_model_create(model, info, &sm) < 0) {
                free(rm);
                free(p);
                return -ENOMEM; /* model and info still the caller's */
        }
        atomic_init(&rm->refs, 1);
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        sm->loaded_at = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
        rm->sm = sm;
        rm->path = p;
        if (st)
                set_identity(rm, st);
        *out = rm;
        return 0;
}

int registry_publish(struct registry *reg, size_t i, struct model *model,
                     struct serialize_info *info)
{
        struct registry_snap *s = reg->snap; /* start-up: no reload runs yet */
        const char *path = s->list->v[i].path;
        struct stat st;
        bool have = stat(path, &st) == 0;
        struct registry_model *rm;
        int rc = model_wrap(path, have ? &st : NULL, model, info, &rm);
        if (rc < 0)
                return rc;
        s->owner[i] = rm;
        atomic_store_explicit(&s->set.e[i].sm, rm->sm, memory_order_release);
        metrics_count_load(s->list->v[i].name, METRICS_LOADED);
        return 0;
}

int registry_load(struct registry *reg, const char *name, const char *path,
                  struct model **model, struct serialize_info **info, char *err,
                  size_t errlen)
{
        const struct config *cfg = reg->cfg;
        struct serialize_limits lim;
        struct serialize_error se;
        serialize_limits_default(&lim);
        lim.max_file_bytes = cfg->max_model_bytes;
        /* and what stays in memory after the load: model, names, metadata */
        lim.max_model_bytes = cfg->max_model_bytes;
        const char *pins[CONFIG_MAX_PINS];
        struct serialize_trust trust = { .keys = reg->keys, .sha256 = pins };
        for (size_t i = 0; i < cfg->n_pins; i++)
                if (strcmp(cfg->pins[i].name, name) == 0)
                        pins[trust.n_sha256++] = cfg->pins[i].sha256;
        int rc = serialize_load_trusted(path, &lim, &trust, model, info, &se);
        if (rc < 0) {
                snprintf(err, errlen, "%s", se.message);
                return rc;
        }
        return 0;
}

/* The old snapshot's model for spec (same name, version and file). */
static struct registry_model *old_model(const struct registry_snap *old,
                                        const struct server_model_spec *sp, size_t *at)
{
        for (size_t i = 0; i < old->set.n; i++) {
                const struct server_model_spec *o = &old->list->v[i];
                if (strcmp(o->name, sp->name) == 0 && strcmp(o->version, sp->version) == 0 &&
                    strcmp(o->path, sp->path) == 0) {
                        *at = i;
                        return old->owner[i];
                }
        }
        return NULL;
}

/* Entry i of s from its file, reusing old's model when it is the same. */
static void fill_entry(struct registry *reg, struct registry_snap *s, size_t i,
                       const struct registry_snap *old)
{
        const struct server_model_spec *sp = &s->list->v[i];
        size_t at = 0;
        struct registry_model *prev = old_model(old, sp, &at);
        struct registry_model *use = NULL;
        struct stat st;
        char err[600] = "";
        bool have = stat(sp->path, &st) == 0;
        if (prev && have && prev->size == st.st_size &&
            prev->mtime.tv_sec == st.st_mtim.tv_sec && prev->mtime.tv_nsec == st.st_mtim.tv_nsec) {
                use = prev; /* unchanged */
                atomic_fetch_add_explicit(&prev->refs, 1, memory_order_relaxed);
        } else {
                struct model *model;
                struct serialize_info *info;
                if (!have) {
                        snprintf(err, sizeof(err), "%s", strerror(errno));
                } else if (registry_load(reg, sp->name, sp->path, &model, &info, err,
                                         sizeof(err)) == 0) {
                        if (prev && strcmp(prev->sm->info->sha256, info->sha256) == 0) {
                                /* touched, not changed: keep the one serving */
                                model_free(model);
                                serialize_info_free(info);
                                set_identity(prev, &st);
                                use = prev;
                                atomic_fetch_add_explicit(&prev->refs, 1, memory_order_relaxed);
                        } else if (model_wrap(sp->path, &st, model, info, &use) < 0) {
                                model_free(model);
                                serialize_info_free(info);
                                snprintf(err, sizeof(err), "out of memory");
                        } else {
                                log_msg(LOG_LEVEL_INFO, "reload: %s model '%s' version %s "
                                        "from %s (sha256 %.12s)", prev ? "replaced" : "added",
                                        sp->name, sp->version, sp->path, info->sha256);
                                metrics_count_load(sp->name, METRICS_LOADED);
                                if (prev)
                                        metrics_count_load(sp->name, METRICS_RELOADED);
                        }
                }
                if (!use) {
                        log_msg(LOG_LEVEL_ERROR, "reload: cannot load %s: %s; %s", sp->path,
                                err, prev ? "the old version goes on serving"
                                          : "the model is unavailable");
                        metrics_count_load(sp->name, METRICS_LOAD_FAILED);
                        if (prev) {
                                use = prev;
                                atomic_fetch_add_explicit(&prev->refs, 1,
                                                          memory_order_relaxed);
                        }
                        char r[700];
                        snprintf(r, sizeof(r), "%s%s", prev ? "reload failed, serving the "
                                 "previous file: " : "", err);
                        s->reason[i] = strdup(r);
                }
        }
        s->owner[i] = use;
        s->set.e[i].reason = s->reason[i];
        atomic_store_explicit(&s->set.e[i].sm, use ? use->sm : NULL, memory_order_release);
}

static bool is_unloaded(const struct registry *reg, const char *name)
{
        for (size_t i = 0; i < reg->n_unloaded; i++)
                if (strcmp(reg->unloaded[i], name) == 0)
                        return true;
        return false;
}

/* Drops the models unloaded through the API from list (in place). */
static void drop_unloaded(const struct registry *reg, struct server_model_list *list)
{
        size_t o = 0;
        bool had_default = list->has_default;
        size_t def = list->default_idx;
        list->has_default = false;
        for (size_t i = 0; i < list->n; i++) {
                if (is_unloaded(reg, list->v[i].name)) {
                        free(list->v[i].name);
                        free(list->v[i].version);
                        free(list->v[i].path);
                        continue;
                }
                if (had_default && i == def) {
                        list->has_default = true;
                        list->default_idx = o;
                }
                list->v[o++] = list->v[i];
        }
        list->n = o;
}

/* One reload: a new snapshot from every source, swapped in. */
static void reload_once(struct registry *reg)
{
        if (reg->on_reload)
                reg->on_reload(reg->on_reload_arg);
        char errbuf[512] = "";
        struct server_model_list *list;
        if (server_model_list_build(reg->cfg, &list, errbuf, sizeof(errbuf)) < 0) {
                log_msg(LOG_LEVEL_ERROR, "reload: %s; the models served are unchanged",
                        errbuf[0] ? errbuf : "out of memory");
                return;
        }
        pthread_mutex_lock(&reg->req_lock);
        drop_unloaded(reg, list);
        pthread_mutex_unlock(&reg->req_lock);
        struct registry_snap *s = snap_new(list);
        if (!s) {
                log_msg(LOG_LEVEL_ERROR, "reload: out of memory; the models served are "
                        "unchanged");
                return;
        }
        struct registry_snap *old = registry_acquire(reg);
        for (size_t i = 0; i < s->set.n; i++)
                fill_entry(reg, s, i, old);
        for (size_t i = 0; i < old->set.n; i++) {
                size_t at;
                if (!old_model(s, &old->list->v[i], &at))
                        log_msg(LOG_LEVEL_INFO, "reload: removed model '%s' version %s",
                                old->list->v[i].name, old->list->v[i].version);
        }
        pthread_mutex_lock(&reg->lock);
        struct registry_snap *prev = reg->snap;
        reg->snap = s;
        pthread_mutex_unlock(&reg->lock);
        registry_release(old);
        registry_release(prev); /* freed once the last request on it ends */
}

static void *loader_main(void *arg)
{
        struct registry *reg = arg;
        unsigned poll = reg->cfg->poll_interval_s;
        pthread_mutex_lock(&reg->req_lock);
        for (;;) {
                while (!reg->stopping && (reg->asked == reg->done || !reg->ready)) {
                        if (poll && reg->ready) {
                                struct timespec ts;
                                clock_gettime(CLOCK_REALTIME, &ts);
                                ts.tv_sec += poll;
                                if (pthread_cond_timedwait(&reg->req_cond, &reg->req_lock,
                                                           &ts) == ETIMEDOUT)
                                        reg->asked++;
                        } else {
                                pthread_cond_wait(&reg->req_cond, &reg->req_lock);
                        }
                }
                if (reg->stopping)
                        break;
                unsigned long long gen = reg->asked;
                pthread_mutex_unlock(&reg->req_lock);
                server_notify_reloading();
                reload_once(reg);
                server_notify_ready("serving; reload done");
                pthread_mutex_lock(&reg->req_lock);
                reg->done = gen;
                pthread_cond_broadcast(&reg->done_cond);
        }
        pthread_mutex_unlock(&reg->req_lock);
        return NULL;
}

int registry_create(const struct config *cfg, struct server_model_list *list,
                    struct registry **out, char *err, size_t errlen)
{
        struct registry *reg = calloc(1, sizeof(*reg));
        if (!reg) {
                server_model_list_free(list);
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        reg->cfg = cfg;
        if (cfg->n_verify_keys) {
                struct serialize_error se;
                int rc = serialize_keys_load((const char *const *)cfg->verify_keys,
                                             cfg->n_verify_keys, &reg->keys, &se);
                if (rc < 0) {
                        snprintf(err, errlen, "--verify-key %s", se.message);
                        server_model_list_free(list);
                        free(reg);
                        return rc;
                }
        }
        pthread_mutex_init(&reg->lock, NULL);
        pthread_mutex_init(&reg->req_lock, NULL);
        pthread_cond_init(&reg->req_cond, NULL);
        pthread_cond_init(&reg->done_cond, NULL);
        reg->snap = snap_new(list);
        if (!reg->snap) {
                registry_free(reg);
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        if (pthread_create(&reg->loader, NULL, loader_main, reg) != 0) {
                registry_free(reg);
                snprintf(err, errlen, "cannot start the model loader thread");
                return -EAGAIN;
        }
        reg->loader_started = true;
        *out = reg;
        return 0;
}

struct registry_snap *registry_initial(struct registry *reg)
{
        return reg->snap;
}

void registry_on_reload(struct registry *reg, void (*fn)(void *), void *arg)
{
        pthread_mutex_lock(&reg->req_lock);
        reg->on_reload = fn;
        reg->on_reload_arg = arg;
        pthread_mutex_unlock(&reg->req_lock);
}

void registry_set_ready(struct registry *reg)
{
        pthread_mutex_lock(&reg->req_lock);
        reg->ready = true;
        pthread_cond_signal(&reg->req_cond);
        pthread_mutex_unlock(&reg->req_lock);
}

/* Asks for a reload; name, when given, is loaded (load) or unloaded
 * first. Returns the generation to wait for. */
static unsigned long long ask(struct registry *reg, const char *name, bool load, int *rc)
{
        *rc = 0;
        pthread_mutex_lock(&reg->req_lock);
        if (name) {
                size_t o = 0;
                for (size_t i = 0; i < reg->n_unloaded; i++) {
                        if (strcmp(reg->unloaded[i], name) == 0)
                                free(reg->unloaded[i]);
                        else
                                reg->unloaded[o++] = reg->unloaded[i];
                }
                reg->n_unloaded = o;
                if (!load) {
                        char **v = realloc(reg->unloaded, (o + 1) * sizeof(*v));
                        char *d = strdup(name);
                        if (v)
                                reg->unloaded = v;
                        if (!v || !d || o >= CONFIG_MAX_MODELS) {
                                free(d);
                                *rc = -ENOMEM;
                        } else {
                                v[reg->n_unloaded++] = d;
                        }
                }
        }
        unsigned long long gen = ++reg->asked;
        pthread_cond_signal(&reg->req_cond);
        pthread_mutex_unlock(&reg->req_lock);
        return gen;
}

void registry_reload(struct registry *reg)
{
        int rc;
        ask(reg, NULL, false, &rc);
}

int registry_load_unload(struct registry *reg, const char *name, bool load,
                         unsigned timeout_s)
{
        int rc;
        unsigned long long gen = ask(reg, name, load, &rc);
        if (rc < 0)
                return rc;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += timeout_s;
        pthread_mutex_lock(&reg->req_lock);
        while (reg->done < gen && rc == 0)
                rc = -pthread_cond_timedwait(&reg->done_cond, &reg->req_lock, &ts);
        pthread_mutex_unlock(&reg->req_lock);
        return rc == -ETIMEDOUT ? -ETIMEDOUT : 0;
}

void registry_free(struct registry *reg)
{
        if (!reg)
                return;
        if (reg->loader_started) {
                pthread_mutex_lock(&reg->req_lock);
                reg->stopping = true;
                pthread_cond_signal(&reg->req_cond);
                pthread_mutex_unlock(&reg->req_lock);
                pthread_join(reg->loader, NULL);
        }
        registry_release(reg->snap);
        serialize_keys_free(reg->keys);
        for (size_t i = 0; i < reg->n_unloaded; i++)
                free(reg->unloaded[i]);
        free(reg->unloaded);
        pthread_mutex_destroy(&reg->lock);
        pthread_mutex_destroy(&reg->req_lock);
        pthread_cond_destroy(&reg->req_cond);
        pthread_cond_destroy(&reg->done_cond);
        free(reg);
}
