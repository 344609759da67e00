/* models.c - which models one process serves: the --model files and a
 * model repository laid out as Triton's (DIR/NAME/VERSION/model.pkl or
 * model.joblib), or a directory holding one model file as KServe's
 * storage initializer leaves it (/mnt/models/model.joblib), gathered and
 * checked before anything is loaded, so that a clash of names or a
 * malformed repository stops start-up at once. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "server.h"

static int lfail(char *errbuf, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int lfail(char *errbuf, size_t errlen, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

void server_model_list_free(struct server_model_list *list)
{
        if (!list)
                return;
        for (size_t i = 0; i < list->n; i++) {
                free(list->v[i].name);
                free(list->v[i].version);
                free(list->v[i].path);
        }
        free(list->v);
        free(list);
}

static int list_add(struct server_model_list *list, const char *name,
                    const char *version, unsigned long long vnum, const char *path,
                    char *errbuf, size_t errlen)
{
        if (list->n >= CONFIG_MAX_MODELS)
                return lfail(errbuf, errlen, "more than %d models to serve", CONFIG_MAX_MODELS);
        struct server_model_spec *v = realloc(list->v, (list->n + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        list->v = v;
        struct server_model_spec *s = &v[list->n];
        s->name = strdup(name);
        s->version = strdup(version);
        s->path = strdup(path);
        s->vnum = vnum;
        list->n++; /* freed by list_free even when a strdup failed */
        if (!s->name || !s->version || !s->path)
                return -ENOMEM;
        return 0;
}

static bool is_dir(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A version directory's name: digits, not starting with 0 (Triton skips
 * the others), at most 18 of them so the number fits. */
static bool version_name(const char *s, unsigned long long *out)
{
        size_t n = strlen(s);
        if (n == 0 || n > 18 || s[0] == '0')
                return false;
        unsigned long long v = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned long long)(s[i] - '0');
        }
        *out = v;
        return true;
}

/* The versions of one model directory. */
static int scan_model(struct server_model_list *list, const char *dir, const char *name,
                      char *errbuf, size_t errlen)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        DIR *d = opendir(path);
        if (!d)
                return lfail(errbuf, errlen, "--model-dir: cannot read %s: %s", path,
                             strerror(errno));
        size_t before = list->n;
        int rc = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
                unsigned long long vnum;
                char vdir[4200], pkl[4300], jl[4300];
                if (!version_name(e->d_name, &vnum))
                        continue;
                if ((size_t)snprintf(vdir, sizeof(vdir), "%s/%.20s", path, e->d_name) >=
                    sizeof(vdir))
                        continue;
                if (!is_dir(vdir))
                        continue;
                snprintf(pkl, sizeof(pkl), "%s/model.pkl", vdir);
                snprintf(jl, sizeof(jl), "%s/model.joblib", vdir);
                bool has_pkl = is_file(pkl), has_jl = is_file(jl);
                if (has_pkl && has_jl) {
                        rc = lfail(errbuf, errlen,
                                   "--model-dir: model '%s' version %s has both model.pkl and "
                                   "model.joblib in %s; expected one",
                                   name, e->d_name, vdir);
                        break;
                }
                if (!has_pkl && !has_jl) {
                        rc = lfail(errbuf, errlen,
                                   "--model-dir: model '%s' version %s: expected %s/model.pkl or "
                                   "model.joblib, found neither",
                                   name, e->d_name, vdir);
                        break;
                }
                if ((rc = list_add(list, name, e->d_name, vnum, has_pkl ? pkl : jl, errbuf,
                                   errlen)) < 0)
                        break;
        }
        closedir(d);
        if (rc == 0 && list->n == before)
                rc = lfail(errbuf, errlen,
                           "--model-dir: model '%s' has no version: expected %s/N/model.pkl "
                           "(or model.joblib) with N a number such as 1",
                           name, path);
        return rc;
}

/* The file names KServe's sklearn server takes as a model. */
static bool model_file_name(const char *s)
{
        static const char *const ext[] = { ".pkl", ".joblib", ".pickle" };
        size_t n = strlen(s);
        if (s[0] == '.')
                return false;
        for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
                size_t e = strlen(ext[i]);
                if (n > e && strcmp(s + n - e, ext[i]) == 0)
                        return true;
        }
        return false;
}

/* A directory holding model files itself, as KServe leaves /mnt/models:
 * exactly one of them is served, as name (--model-name, else "model"),
 * version 1. Returns 1 when dir holds no such file (it may be a
 * repository), 0 when the model was added, or -EINVAL naming the files
 * when there are several, or when dir also has subdirectories: a model
 * file dropped at the top of a repository must not silently turn the
 * next reload into serving that one file instead of the repository. */
static int scan_single(struct server_model_list *list, const char *dir, const char *name,
                       char *errbuf, size_t errlen)
{
        DIR *d = opendir(dir);
        if (!d)
                return lfail(errbuf, errlen, "--model-dir: cannot read %s: %s", dir,
                             strerror(errno));
        char found[4096] = "", other[256] = "", subdir[256] = "";
        struct dirent *e;
        while ((e = readdir(d))) {
                char path[4096];
                if (e->d_name[0] != '.' && !subdir[0] &&
                    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) <
                    sizeof(path) && is_dir(path))
                        snprintf(subdir, sizeof(subdir), "%s", e->d_name);
                if (!model_file_name(e->d_name))
                        continue;
                if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
                    sizeof(path) || !is_file(path))
                        continue;
                if (!found[0])
                        snprintf(found, sizeof(found), "%s", path);
                else if (!other[0])
                        snprintf(other, sizeof(other), "%s", e->d_name);
        }
        closedir(d);
        if (!found[0])
                return 1;
        if (other[0])
                return lfail(errbuf, errlen,
                             "--model-dir: %s holds more than one model file (%.200s and "
                             "%.200s); expected one *.pkl, *.joblib or *.pickle file, or a "
                             "repository DIR/NAME/VERSION/model.pkl",
                             dir, strrchr(found, '/') + 1, other);
        if (subdir[0])
                return lfail(errbuf, errlen,
                             "--model-dir: %s holds both a model file (%.200s) and a "
                             "directory (%.200s); expected one *.pkl, *.joblib or *.pickle "
                             "file alone, or a repository DIR/NAME/VERSION/model.pkl",
                             dir, strrchr(found, '/') + 1, subdir);
        return list_add(list, name ? name : "model", "1", 1, found, errbuf, errlen);
}

static int scan_repository(struct server_model_list *list, const char *dir, char *errbuf,
                           size_t errlen)
{
        DIR *d = opendir(dir);
        if (!d)
                return lfail(errbuf, errlen, "--model-dir: cannot read %s: %s", dir,
                             strerror(errno));
        size_t before = list->n;
        int rc = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
                char path[4096];
                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                if (!is_dir(path))
                        continue; /* a README, a config file: not a model */
                if (!config_name_valid(e->d_name)) {
                        rc = lfail(errbuf, errlen,
                                   "--model-dir: '%.100s' in %s is not a model name (expected "
                                   "1 to %d characters of [A-Za-z0-9_.-])",
                                   e->d_name, dir, CONFIG_MAX_NAME);
                        break;
                }
                if ((rc = scan_model(list, dir, e->d_name, errbuf, errlen)) < 0)
                        break;
        }
        closedir(d);
        if (rc == 0 && list->n == before)
                rc = lfail(errbuf, errlen,
                           "--model-dir: %s holds no model: expected DIR/NAME/VERSION/model.pkl "
                           "(or model.joblib)",
                           dir);
        return rc;
}

static int spec_cmp(const void *a, const void *b)
{
        const struct server_model_spec *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        if (c)
                return c;
        return x->vnum < y->vnum ? -1 : x->vnum > y->vnum;
}

int server_model_list_build(const struct config *cfg, struct server_model_list **out,
                            char *errbuf, size_t errlen)
{
        struct server_model_list *list = calloc(1, sizeof(*list));
        int rc = 0;
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < cfg->n_models && rc == 0; i++)
                rc = list_add(list, cfg->models[i].name, "1", 1, cfg->models[i].path, errbuf,
                              errlen);
        size_t from_flags = list->n;
        if (rc == 0 && cfg->model_dir) {
                rc = scan_single(list, cfg->model_dir, cfg->model_name, errbuf, errlen);
                if (rc == 1 && cfg->model_name)
                        rc = lfail(errbuf, errlen,
                                   "--model-name %s: expected --model-dir %s to hold one model "
                                   "file (*.pkl, *.joblib or *.pickle), found none; a "
                                   "repository's models are named by their directories",
                                   cfg->model_name, cfg->model_dir);
                else if (rc == 1)
                        rc = scan_repository(list, cfg->model_dir, errbuf, errlen);
        } else if (rc == 0 && cfg->model_name) {
                rc = lfail(errbuf, errlen, "--model-name %s: names the one model file of "
                           "--model-dir, but no --model-dir is given", cfg->model_name);
        }
        if (rc < 0)
                goto fail;
        for (size_t i = from_flags; i < list->n; i++) {
                for (size_t j = 0; j < from_flags; j++) {
                        if (strcmp(list->v[i].name, list->v[j].name) == 0) {
                                rc = lfail(errbuf, errlen,
                                           "model '%s' is given by --model (%.150s) and found "
                                           "in --model-dir (%.150s); rename one",
                                           list->v[j].name, list->v[j].path, list->v[i].path);
                                goto fail;
                        }
                }
        }
        qsort(list->v, list->n, sizeof(list->v[0]), spec_cmp);
        if (cfg->default_model) {
                for (size_t i = 0; i < list->n; i++) {
                        if (strcmp(list->v[i].name, cfg->default_model) == 0) {
                                list->has_default = true;
                                list->default_idx = i; /* sorted: the last is the highest */
                        }
                }
                if (!list->has_default) {
                        rc = lfail(errbuf, errlen,
                                   "--default-model: no model is named '%s'",
                                   cfg->default_model);
                        goto fail;
                }
        } else if (list->n && strcmp(list->v[0].name, list->v[list->n - 1].name) == 0) {
                list->has_default = true;
                list->default_idx = list->n - 1;
        }
        *out = list;
        return 0;
fail:
        server_model_list_free(list);
        return rc;
}
