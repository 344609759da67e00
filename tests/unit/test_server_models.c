/* test_server_models.c - the model list a configuration makes: --model
 * entries and a Triton-style repository, sorted by name and version, the
 * default model resolved, and every malformed repository refused with a
 * message that names what was wrong. Nothing is loaded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "server.h"
#include "tap.h"

static char root[64];

static void touch(const char *rel)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", root, rel);
        FILE *f = fopen(path, "w");
        if (f)
                fclose(f);
}

static void mkdirs(const char *rel)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", root, rel);
        for (char *p = path + strlen(root) + 1; *p; p++) {
                if (*p == '/') {
                        *p = '\0';
                        mkdir(path, 0700);
                        *p = '/';
                }
        }
        mkdir(path, 0700);
}

static void fresh_root(void)
{
        char cmd[128];
        if (root[0]) {
                snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
                if (system(cmd) != 0)
                        return;
        }
        strcpy(root, "/tmp/predictd-models-XXXXXX");
        if (!mkdtemp(root))
                root[0] = '\0';
}

static int build(struct config *cfg, const char *dir, struct server_model_list **out,
                 char *err, size_t len)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", root, dir);
        cfg->model_dir = path;
        int rc = server_model_list_build(cfg, out, err, len);
        cfg->model_dir = NULL;
        return rc;
}

static bool models_repository_sorted_with_highest_default(void)
{
        fresh_root();
        mkdirs("repo/b/10");
        mkdirs("repo/b/9");
        mkdirs("repo/b/010");   /* starts with 0: skipped, as Triton does */
        mkdirs("repo/b/latest"); /* not a number: skipped */
        mkdirs("repo/a/1");
        touch("repo/b/10/model.pkl");
        touch("repo/b/9/model.joblib");
        touch("repo/a/1/model.pkl");
        touch("repo/README.md");
        struct config_model m = { .name = "c", .path = "/x/c.pkl" };
        struct config cfg = { .models = &m, .n_models = 1 };
        struct server_model_list *l;
        char err[512] = "";
        EXPECT(build(&cfg, "repo", &l, err, sizeof(err)) == 0);
        EXPECT(l->n == 4);
        EXPECT(strcmp(l->v[0].name, "a") == 0);
        EXPECT(strcmp(l->v[1].name, "b") == 0 && strcmp(l->v[1].version, "9") == 0);
        EXPECT(strstr(l->v[1].path, "b/9/model.joblib"));
        EXPECT(strcmp(l->v[2].version, "10") == 0 && l->v[2].vnum == 10);
        EXPECT(strcmp(l->v[3].name, "c") == 0 && strcmp(l->v[3].version, "1") == 0);
        EXPECT(!l->has_default); /* several names, none chosen */
        server_model_list_free(l);
        cfg.default_model = "b";
        EXPECT(build(&cfg, "repo", &l, err, sizeof(err)) == 0);
        EXPECT(l->has_default && l->default_idx == 2); /* b's highest version */
        server_model_list_free(l);
        cfg.default_model = "zz";
        EXPECT(build(&cfg, "repo", &l, err, sizeof(err)) == -EINVAL);
        EXPECT_CONTAINS(err, "no model is named 'zz'");
        return true;
}

static bool models_single_model_is_the_default(void)
{
        struct config_model m = { .name = "only", .path = "/x/only.pkl" };
        struct config cfg = { .models = &m, .n_models = 1 };
        struct server_model_list *l;
        char err[512] = "";
        EXPECT(server_model_list_build(&cfg, &l, err, sizeof(err)) == 0);
        EXPECT(l->n == 1 && l->has_default && l->default_idx == 0);
        server_model_list_free(l);
        return true;
}

static bool models_bad_repositories_refused_by_name(void)
{
        struct config cfg = { 0 };
        struct server_model_list *l;
        char err[512];
        fresh_root();
        mkdirs("empty");
        EXPECT(build(&cfg, "empty", &l, err, sizeof(err)) == -EINVAL);
        EXPECT_CONTAINS(err, "holds no model");
        mkdirs("nover/m/latest");
        EXPECT(build(&cfg, "nover", &l, err, sizeof(err)) == -EINVAL);
        EXPECT_CONTAINS(err, "model 'm' has no version");
        mkdirs("both/m/2");
        touch("both/m/2/model.pkl");
        touch("both/m/2/model.joblib");
        EXPECT(build(&cfg, "both", &l, err, sizeof(err)) == -EINVAL);
        EXPECT_CONTAINS(err, "both model.pkl and model.joblib");
        mkdirs("none/m/3");
        EXPECT(build(&cfg, "none", &l, err, sizeof(err)) == -EINVAL);
        EXPECT_CONTAINS(err, "model 'm' version 3");
        mkdirs("badname/a b/1");
        EXPECT(build(&cfg, "badname", &l, err, sizeof(err)) == -EINVAL);
        EXPECT_CONTAINS(err, "'a b'");
        EXPECT(build(&cfg, "missing", &l, err, sizeof(err)) == -EINVAL);
        EXPECT_CONTAINS(err, "cannot read");
        mkdirs("clash/m/1");
        touch("clash/m/1/model.pkl");
        struct config_model m = { .name = "m", .path = "/x/m.pkl" };
        cfg.models = &m;
        cfg.n_models = 1;
        EXPECT(build(&cfg, "clash", &l, err, sizeof(err)) == -EINVAL);
        EXPECT_CONTAINS(err, "'m' is given by --model");
        fresh_root();
        rmdir(root);
        return true;
}

TAP_MAIN(CASE(models_repository_sorted_with_highest_default),
         CASE(models_single_model_is_the_default),
         CASE(models_bad_repositories_refused_by_name))
