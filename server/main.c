/* main.c - predictd's entry point: parse settings, then either check a
 * model file (`predictd check PATH`), sign one (`predictd sign --key
 * PRIVATE.pem PATH`), probe a server (`predictd probe URL`, a health check
 * for images without a shell) or serve models. The server binds its
 * port before loading, so /healthz answers and /readyz says 503 while
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
#include "obs_internal.h"
#include "predictd_version.h"
#include "serialize.h"
#include "server.h"

/* check: the file as a server would load it, its signature checked
 * against the --verify-key keys given. */
static int load_checked(const struct config *cfg, const char *path, struct model **model,
                        struct serialize_info **info)
{
        struct serialize_limits lim;
        struct serialize_error err;
        struct serialize_trust trust = { 0 };
        struct serialize_keys *keys = NULL;
        serialize_limits_default(&lim);
        lim.max_file_bytes = cfg->max_model_bytes;
        /* and what stays in memory after the load: model, names, metadata */
        lim.max_model_bytes = cfg->max_model_bytes;
        if (cfg->n_verify_keys) {
                if (serialize_keys_load((const char *const *)cfg->verify_keys,
                                        cfg->n_verify_keys, &keys, &err) < 0) {
                        fprintf(stderr, "predictd: --verify-key %s\n", err.message);
                        return -EINVAL;
                }
                trust.keys = keys;
        }
        int rc = serialize_load_trusted(path, &lim, &trust, model, info, &err);
        serialize_keys_free(keys);
        if (rc < 0) {
                fprintf(stderr, "predictd: cannot load %s: %s\n", path, err.message);
                return rc;
        }
        return 0;
}

static int run_sign(const struct config *cfg)
{
        struct serialize_error err;
        char sha256[65];
        if (serialize_sign_file(cfg->model_path, cfg->sign_key, cfg->max_model_bytes, sha256,
                                &err) < 0) {
                fprintf(stderr, "predictd: sign: %s\n", err.message);
                return 1;
        }
        printf("signed %s (sha256 %s) into %s%s\n", cfg->model_path, sha256, cfg->model_path,
               SERIALIZE_SIG_SUFFIX);
        return 0;
}

/* Every --model-sha256 names a model being served: a pin for a name
 * nothing serves is a typo that would protect nothing. */
static int check_pins(const struct config *cfg, const struct server_model_list *models)
{
        for (size_t i = 0; i < cfg->n_pins; i++) {
                bool found = false;
                for (size_t j = 0; j < models->n && !found; j++)
                        found = strcmp(models->v[j].name, cfg->pins[i].name) == 0;
                if (!found) {
                        log_msg(LOG_LEVEL_ERROR, "--model-sha256: no model is named '%s'",
                                cfg->pins[i].name);
                        return -EINVAL;
                }
        }
        return 0;
}

static void print_label(const struct model_label *l)
{
        switch (l->type) {
        case MODEL_LABEL_INT: printf("%lld", (long long)l->v.i); break;
        case MODEL_LABEL_UINT: printf("%llu", (unsigned long long)l->v.u); break;
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
        if (load_checked(cfg, cfg->model_path, &model, &info) < 0)
                return 1;
        char desc[2048];
        model_describe(model, desc, sizeof(desc));
        printf("file:            %s\n", cfg->model_path);
        printf("sha256:          %s\n", info->sha256);
        printf("signature:       %s\n", info->signature);
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
                printf("outputs:         prediction (class label)%s%s",
                       model_has_proba(model) ? ", probabilities (one per class)" : "",
                       model_decision_width(model) ? ", decision_function" : "");
                /* KMeans: its distances to the centres, asked for by name */
                if (model_transform_width(model))
                        printf(", transform (V2, %zu columns)", model_transform_width(model));
                printf("\n");
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
        metrics_init();

        char errbuf[512] = "";
        if (log_setup(cfg, errbuf, sizeof(errbuf)) < 0) {
                log_msg(LOG_LEVEL_ERROR, "%s", errbuf);
                return 1;
        }

        struct server *srv;
        struct server_model_list *list;
        if (server_model_list_build(cfg, &list, errbuf, sizeof(errbuf)) < 0) {
                log_msg(LOG_LEVEL_ERROR, "%s", errbuf[0] ? errbuf : "out of memory");
                return 1;
        }
        if (server_start(cfg, list, &srv, errbuf, sizeof(errbuf)) < 0) {
                log_msg(LOG_LEVEL_ERROR, "%s", errbuf);
                return 1;
        }
        const struct server_model_list *models = server_models(srv);
        if (check_pins(cfg, models) < 0) {
                server_stop(srv);
                return 2;
        }
        log_msg(LOG_LEVEL_INFO, "listening on http://%s:%u (%u threads [%s], %zu model%s)",
                cfg->host, server_port(srv), cfg->threads, cfg->threads_how, models->n,
                models->n == 1 ? "" : "s");

        for (size_t i = 0; i < models->n; i++) {
                const struct server_model_spec *sp = &models->v[i];
                struct model *model;
                struct serialize_info *info;
                if (server_load_model(srv, sp->name, sp->path, &model, &info, errbuf,
                                      sizeof(errbuf)) < 0) {
                        metrics_count_load(sp->name, METRICS_LOAD_FAILED);
                        log_msg(LOG_LEVEL_ERROR, "cannot load %s: %s", sp->path, errbuf);
                        log_msg(LOG_LEVEL_ERROR,
                                "model '%s' version %s did not load; not starting",
                                sp->name, sp->version);
                        server_stop(srv);
                        return 1;
                }
                char desc[2048];
                model_describe(model, desc, sizeof(desc));
                if (server_publish_model(srv, i, model, info) < 0) {
                        log_msg(LOG_LEVEL_ERROR, "out of memory publishing model '%s'",
                                sp->name);
                        model_free(model);
                        serialize_info_free(info);
                        server_stop(srv);
                        return 1;
                }
                log_msg(LOG_LEVEL_INFO, "serving %s as '%s' version %s%s (%s)%s%s", sp->path,
                        sp->name, sp->version,
                        models->has_default && models->default_idx == i ? ", the default" : "",
                        desc, cfg->n_verify_keys ? "; signature " : "",
                        cfg->n_verify_keys ? info->signature : "");
        }
        server_set_ready(srv);
        log_msg(LOG_LEVEL_INFO, "ready");
        char status[160];
        snprintf(status, sizeof(status), "serving %zu model%s on %s:%u", models->n,
                 models->n == 1 ? "" : "s", cfg->host, server_port(srv));
        server_notify_ready(status);

        return server_run(srv, cfg, &sigs);
}

int main(int argc, char **argv)
{
        /* bench has flags of its own that the server's config does not know. */
        if (argc > 1 && strcmp(argv[1], "bench") == 0)
                return server_bench(argc, argv);
        struct config *cfg;
        struct config_error cerr;
        if (config_load(argc, argv, &cfg, &cerr) < 0) {
                fprintf(stderr, "predictd: %s\n", cerr.message);
                return 2;
        }
        int rc = 0;
        switch (cfg->command) {
        case CONFIG_HELP:
                config_usage_write(stdout);
                break;
        case CONFIG_VERSION:
                printf("predictd %s\n", PREDICTD_VERSION);
                break;
        case CONFIG_CHECK:
                rc = run_check(cfg);
                break;
        case CONFIG_SIGN:
                rc = run_sign(cfg);
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
