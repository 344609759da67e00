/* fuzz_request.c - libFuzzer harness for the request paths: the body of
 * POST /predict, POST /v1/models/NAME:predict and POST /v2/.../infer, fed
 * to the server's handlers directly (no HTTP), against several loaded
 * models. The first byte picks the protocol and the model; the rest is
 * the body. Models: FUZZ_MODELS (colon-separated paths), else the unit
 * fixtures compiled in. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "model.h"
#include "serialize.h"
#include "server.h"
#include "server_internal.h"

#define MAX_MODELS 8

static struct served_model *models[MAX_MODELS];
static struct served_entry entries[MAX_MODELS];
static struct server_model_spec specs[MAX_MODELS];
static size_t n_models;
static struct config *cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load_one(const char *path)
{
        struct model *m = NULL;
        struct serialize_info *info = NULL;
        struct serialize_error err;
        if (n_models == MAX_MODELS)
                return;
        if (serialize_load_file(path, NULL, &m, &info, &err) < 0) {
                fprintf(stderr, "fuzz_request: cannot load %s: %s\n", path, err.message);
                return;
        }
        if (served_model_create(m, info, &models[n_models]) < 0) {
                model_free(m);
                serialize_info_free(info);
                return;
        }
        specs[n_models] = (struct server_model_spec){ .name = "m", .version = "1", .vnum = 1 };
        entries[n_models].spec = &specs[n_models];
        atomic_store(&entries[n_models].sm, models[n_models]);
        n_models++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        const char *list = getenv("FUZZ_MODELS");
        char *copy = strdup(list ? list : FUZZ_DEFAULT_MODELS);
        /* the settings a server with these models would have */
        char *first = strndup(copy, strcspn(copy, ":"));
        char *args[] = { "predictd", "--model", first, NULL };
        struct config_error cerr;
        if (config_load(3, args, &cfg, &cerr) < 0) {
                fprintf(stderr, "fuzz_request: %s\n", cerr.message);
                abort();
        }
        free(first);
        for (char *save = NULL, *p = strtok_r(copy, ":", &save); p;
             p = strtok_r(NULL, ":", &save))
                load_one(p);
        free(copy);
        if (!n_models) {
                fprintf(stderr, "fuzz_request: no model loaded\n");
                abort();
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        struct reply r = { 0 };
        size_t which = (size_t)(data[0] >> 2) % n_models;
        const char *body = (const char *)data + 1;
        size_t len = size - 1;
        switch (data[0] & 3) {
        case 0: predict_handle(NULL, models[which], cfg, body, len, &r); break;
        case 1: predict_handle_v1(NULL, models[which], cfg, body, len, &r); break;
        default: v2_infer(NULL, &entries[which], models[which], cfg, body, len, &r); break;
        }
        if (r.status < 200 || r.status >= 600 || !r.body) /* every answer is JSON */
                abort();
        free(r.body);
        return 0;
}
