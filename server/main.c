/* main.c - predictd's entry point: parse settings, then either check a
 * model file (`predictd check PATH`), probe a server (`predictd probe
 * URL`, a health check for images without a shell) or serve models. The
 * server binds its port before loading, so /healthz answers and /readyz says 503 while
 * large models load; it is ready once every model has loaded, and a model
 * that cannot be loaded ends the process with its name, the reason and
 * exit status 1. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "model.h"
#include "predictd_version.h"
#include "serialize.h"
#include "server.h"

static int load(const struct config *cfg, const char *path, struct model **model,
                struct serialize_info **info)
{
        struct serialize_limits lim;
        struct serialize_error err;
        serialize_limits_default(&lim);
        lim.max_file_bytes = cfg->max_model_bytes;
        int rc = serialize_load_file(path, &lim, model, info, &err);
        if (rc < 0) {
                fprintf(stderr, "predictd: cannot load %s: %s\n", path, err.message);
                return rc;
        }
        return 0;
}

static void print_label(const struct model_label *l)
{
        switch (l->type) {
        case MODEL_LABEL_INT: printf("%lld", (long long)l->v.i); break;
        case MODEL_LABEL_FLOAT: printf("%.17g", l->v.f); break;
        case MODEL_LABEL_BOOL: printf("%s", l->v.b ? "True" : "False"); break;
        case MODEL_LABEL_STR: printf("'%s'", l->v.s); break;
        }
}

/* A classifier's labels, comma-separated. */
static void print_labels(const struct model *m)
{
        for (size_t i = 0; i < model_n_classes(m); i++) {
                if (i)
                        printf(", ");
                print_label(model_class_label(m, i));
        }
}

static int run_check(const struct config *cfg)
{
        struct model *model;
        struct serialize_info *info;
        if (load(cfg, cfg->model_path, &model, &info) < 0)
                return 1;
        char desc[2048];
        model_describe(model, desc, sizeof(desc));
        printf("file:            %s\n", cfg->model_path);
        printf("sha256:          %s\n", info->sha256);
        printf("container:       %s\n", info->container);
        printf("sklearn_version: %s\n",
               info->sklearn_version[0] ? info->sklearn_version : "(not recorded)");
        printf("estimator:       %s\n", desc);
        printf("n_features:      %zu\n", model_n_features(model));
        if (info->n_feature_names) {
                printf("features:        ");
                for (size_t i = 0; i < info->n_feature_names; i++)
                        printf("%s%s", i ? ", " : "", info->feature_names[i]);
                printf("\n");
        }
        if (model_get_type(model) == MODEL_TYPE_TRANSFORMER) {
                printf("outputs:         transform (%zu columns; /predict and V1 answer the "
                       "transformed rows)\n", model_transform_width(model));
        } else if (model_get_type(model) == MODEL_TYPE_REGRESSOR) {
                size_t no = model_n_outputs(model);
                if (no == 1 && model_outputs_2d(model))
                        printf("outputs:         prediction (1 number in a list: fitted on y "
                               "of shape (n, 1))\n");
                else if (no == 1)
                        printf("outputs:         prediction (a number)\n");
                else
                        printf("outputs:         prediction (%zu numbers)\n", no);
        } else if (model_get_type(model) == MODEL_TYPE_MULTI_CLASSIFIER) {
                size_t k = model_n_class_outputs(model);
                for (size_t j = 0; j < k; j++) {
                        printf(j ? "                 [" : "classes:         [");
                        print_labels(model_output_classes(model, j));
                        printf("]\n");
                }
                printf("outputs:         prediction (%zu class labels, one per output)%s\n", k,
                       model_has_proba(model) ? ", probabilities (one list per output)" : "");
        } else {
                printf("classes:         [");
                print_labels(model);
                printf("]\n");
                printf("outputs:         prediction (class label)%s%s\n",
                       model_has_proba(model) ? ", probabilities (one per class)" : "",
                       model_decision_width(model) ? ", decision_function" : "");
        }
        for (size_t i = 0; i < info->n_meta; i++)
                printf("%s%s = %s\n", i ? "                 " : "metadata:        ",
                       info->meta[i].key, info->meta[i].json);
        model_free(model);
        serialize_info_free(info);
        return 0;
}

static int run_server(const struct config *cfg)
{
        sigset_t sigs;
        /* Block before any thread starts, so only server_run sees them. */
        server_signals_block(&sigs);

        struct server *srv;
        struct server_model_list *list;
        char errbuf[512] = "";
        if (server_model_list_build(cfg, &list, errbuf, sizeof(errbuf)) < 0) {
                fprintf(stderr, "predictd: %s\n", errbuf[0] ? errbuf : "out of memory");
                return 1;
        }
        if (server_start(cfg, list, &srv, errbuf, sizeof(errbuf)) < 0) {
                fprintf(stderr, "predictd: %s\n", errbuf);
                return 1;
        }
        const struct server_model_list *models = server_models(srv);
        fprintf(stderr, "predictd: listening on http://%s:%u (%u threads [%s], %zu model%s)\n",
                cfg->host, server_port(srv), cfg->threads, cfg->threads_how, models->n,
                models->n == 1 ? "" : "s");

        for (size_t i = 0; i < models->n; i++) {
                const struct server_model_spec *sp = &models->v[i];
                struct model *model;
                struct serialize_info *info;
                if (load(cfg, sp->path, &model, &info) < 0) {
                        fprintf(stderr,
                                "predictd: model '%s' version %s did not load; not starting\n",
                                sp->name, sp->version);
                        server_stop(srv);
                        return 1;
                }
                char desc[2048];
                model_describe(model, desc, sizeof(desc));
                if (server_publish_model(srv, i, model, info) < 0) {
                        fprintf(stderr, "predictd: out of memory publishing model '%s'\n",
                                sp->name);
                        model_free(model);
                        serialize_info_free(info);
                        server_stop(srv);
                        return 1;
                }
                fprintf(stderr, "predictd: serving %s as '%s' version %s%s (%s)\n", sp->path,
                        sp->name, sp->version,
                        models->has_default && models->default_idx == i ? ", the default" : "",
                        desc);
        }
        server_set_ready(srv);
        fprintf(stderr, "predictd: ready\n");
        char status[160];
        snprintf(status, sizeof(status), "serving %zu model%s on %s:%u", models->n,
                 models->n == 1 ? "" : "s", cfg->host, server_port(srv));
        server_notify_ready(status);

        return server_run(srv, cfg, &sigs);
}

int main(int argc, char **argv)
{
        struct config *cfg;
        struct config_error cerr;
        if (config_load(argc, argv, &cfg, &cerr) < 0) {
                fprintf(stderr, "predictd: %s\n", cerr.message);
                return 2;
        }
        int rc = 0;
        switch (cfg->command) {
        case CONFIG_HELP:
                fputs(config_usage(), stdout);
                break;
        case CONFIG_VERSION:
                printf("predictd %s\n", PREDICTD_VERSION);
                break;
        case CONFIG_CHECK:
                rc = run_check(cfg);
                break;
        case CONFIG_EVAL:
                rc = server_eval(cfg->model_path);
                break;
        case CONFIG_SERVE:
                rc = run_server(cfg);
                break;
        case CONFIG_PROBE:
                rc = server_probe(cfg->model_path, cfg->port);
                break;
        }
        config_free(cfg);
        return rc;
}
