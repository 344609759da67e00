/* eval.c - `predictd eval PATH`: every method of a model over rows read as
 * JSON from stdin, printed as JSON. It is how the tests compare methods the
 * HTTP API does not expose yet (decision_function, transform,
 * score_samples) with scikit-learn, through the same loader and model core
 * the server uses. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model.h"
#include "serialize.h"
#include "server.h"
#include "server_internal.h"

#define EVAL_MAX_INPUT (256u << 20)

static char *read_stdin(size_t *len)
{
        size_t cap = 1 << 16, n = 0;
        char *buf = malloc(cap);
        while (buf) {
                if (n == cap) {
                        if (cap >= EVAL_MAX_INPUT) {
                                free(buf);
                                return NULL;
                        }
                        char *nb = realloc(buf, cap * 2);
                        if (!nb) {
                                free(buf);
                                return NULL;
                        }
                        buf = nb;
                        cap *= 2;
                }
                size_t r = fread(buf + n, 1, cap - n, stdin);
                n += r;
                if (r == 0)
                        break;
        }
        *len = n;
        return buf;
}

/* rows x width numbers: a flat list when width is 1 and not two_d, else
 * nested, as scikit-learn shapes the method's answer. */
static void put_matrix(struct out_buf *b, const double *v, size_t rows,
                       size_t width, bool two_d)
{
        out_str(b, "[");
        for (size_t i = 0; i < rows; i++) {
                if (i)
                        out_str(b, ",");
                if (width == 1 && !two_d) {
                        if (isfinite(v[i]))
                                out_double(b, v[i]);
                        else
                                out_str(b, "null");
                        continue;
                }
                out_str(b, "[");
                for (size_t k = 0; k < width; k++) {
                        if (k)
                                out_str(b, ",");
                        double x = v[i * width + k];
                        if (isfinite(x))
                                out_double(b, x);
                        else
                                out_str(b, "null");
                }
                out_str(b, "]");
        }
        out_str(b, "]");
}

/* A multi-output classifier's predict and predict_proba members as
 * scikit-learn shapes them: labels rows x outputs, and a list with one
 * rows x classes matrix per output. */
static int put_multi(struct out_buf *b, const struct served_model *sm, const double *X,
                     size_t rows, struct model_error *me)
{
        size_t k = sm->n_class_outputs, nc = sm->n_classes;
        bool proba = model_has_proba(sm->model);
        size_t *idx = malloc((rows ? rows : 1) * k * sizeof(size_t));
        double *p = malloc((rows ? rows : 1) * nc * sizeof(double));
        int rc = -ENOMEM;
        if (!idx || !p) {
                snprintf(me->message, sizeof(me->message), "out of memory");
                goto out;
        }
        if ((rc = predict_classify(sm, X, rows, idx, proba ? p : NULL, me)) < 0)
                goto out;
        out_str(b, "\"predict\":[");
        for (size_t i = 0; i < rows; i++) {
                out_str(b, i ? ",[" : "[");
                for (size_t j = 0; j < k; j++) {
                        if (j)
                                out_str(b, ",");
                        out_str(b, sm->label_json[idx[i * k + j]]);
                }
                out_str(b, "]");
        }
        out_str(b, "]");
        for (size_t j = 0; proba && j < k; j++) {
                size_t off = sm->label_off[j], cj = sm->label_off[j + 1] - off;
                out_str(b, j ? "," : ",\"predict_proba\":[");
                out_str(b, "[");
                for (size_t i = 0; i < rows; i++) {
                        out_str(b, i ? ",[" : "[");
                        for (size_t c = 0; c < cj; c++) {
                                if (c)
                                        out_str(b, ",");
                                out_double(b, p[i * nc + off + c]);
                        }
                        out_str(b, "]");
                }
                out_str(b, "]");
                if (j + 1 == k)
                        out_str(b, "]");
        }
out:
        free(idx);
        free(p);
        return rc;
}

static int read_rows(const struct model *m, const char *text, size_t len, size_t nf,
                     double **X, size_t *rows)
{
        cJSON *root = cJSON_ParseWithLength(text, len);
        const cJSON *inst = cJSON_GetObjectItemCaseSensitive(root, "instances");
        const char *dup = NULL;
        int rc = -EINVAL;
        if (predict_json_duplicate_key(root, &dup)) {
                fprintf(stderr, "predictd eval: the key \"%s\" appears twice in one object\n",
                        dup ? dup : "");
                goto out;
        }
        if (!cJSON_IsArray(inst)) {
                fprintf(stderr, "predictd eval: expected {\"instances\": [[...], ...]} on stdin\n");
                goto out;
        }
        size_t n = (size_t)cJSON_GetArraySize(inst), i = 0;
        double *x = malloc((n ? n : 1) * nf * sizeof(double));
        if (!x)
                goto out;
        const cJSON *row;
        cJSON_ArrayForEach(row, inst) {
                if (!cJSON_IsArray(row) || (size_t)cJSON_GetArraySize(row) != nf) {
                        fprintf(stderr, "predictd eval: row %zu: expected %zu numbers\n", i, nf);
                        free(x);
                        goto out;
                }
                size_t j = 0;
                const cJSON *v;
                cJSON_ArrayForEach(v, row) {
                        /* null is NaN here, so models that take missing
                         * values can be exercised; strings are cells */
                        x[i * nf + j++] = cJSON_IsNumber(v) ? v->valuedouble
                                          : cJSON_IsString(v)
                                                  ? model_string_value(m, v->valuestring,
                                                                       strlen(v->valuestring))
                                                  : NAN;
                }
                i++;
        }
        *X = x;
        *rows = n;
        rc = 0;
out:
        cJSON_Delete(root);
        return rc;
}

int server_eval(const char *path)
{
        struct model *model = NULL;
        struct serialize_info *info = NULL;
        struct served_model *sm = NULL;
        struct serialize_error err;
        struct model_error me;
        struct out_buf b = { 0 };
        double *X = NULL, *buf = NULL;
        size_t *idx = NULL, rows = 0, len = 0;
        char *text = NULL;
        int status = 1;

        if (serialize_load_file(path, NULL, &model, &info, &err) < 0) {
                fprintf(stderr, "predictd: cannot load %s: %s\n", path, err.message);
                return 1;
        }
        if (served_model_create(model, info, &sm) < 0) {
                model_free(model);
                serialize_info_free(info);
                return 1;
        }
        size_t nf = model_n_features(model), nc = model_n_classes(model);
        size_t no = model_n_outputs(model), dw = model_decision_width(model);
        size_t tw = model_transform_width(model);
        size_t widest = nc > no ? nc : no;
        widest = widest > dw ? widest : dw;
        widest = widest > tw ? widest : tw;
        if (!(text = read_stdin(&len)) || read_rows(model, text, len, nf, &X, &rows) < 0)
                goto out;
        buf = malloc((rows ? rows : 1) * (widest ? widest : 1) * sizeof(double));
        idx = malloc((rows ? rows : 1) * sizeof(size_t));
        if (!buf || !idx)
                goto out;

        out_str(&b, "{");
        bool first = true;
#define FIELD(name)                                  \
        do {                                         \
                out_str(&b, first ? "\"" : ",\"");   \
                out_str(&b, name);                   \
                out_str(&b, "\":");                  \
                first = false;                       \
        } while (0)
        if (model_get_type(model) == MODEL_TYPE_CLASSIFIER) {
                if (model_predict(model, X, rows, idx, model_has_proba(model) ? buf : NULL, &me) < 0)
                        goto model_error;
                FIELD("predict");
                out_str(&b, "[");
                for (size_t i = 0; i < rows; i++) {
                        if (i)
                                out_str(&b, ",");
                        out_str(&b, sm->label_json[idx[i]]);
                }
                out_str(&b, "]");
                if (model_has_proba(model)) {
                        FIELD("predict_proba");
                        /* one column per class, as scikit-learn: a
                         * classifier fitted on one class has one */
                        put_matrix(&b, buf, rows, nc, true);
                }
        } else if (model_get_type(model) == MODEL_TYPE_MULTI_CLASSIFIER) {
                if (put_multi(&b, sm, X, rows, &me) < 0)
                        goto model_error;
                first = false;
        } else if (model_get_type(model) == MODEL_TYPE_REGRESSOR) {
                if (model_predict_values(model, X, rows, buf, &me) < 0)
                        goto model_error;
                FIELD("predict");
                put_matrix(&b, buf, rows, no, model_outputs_2d(model));
        }
        if (dw) {
                if (model_decision_function(model, X, rows, buf, &me) < 0)
                        goto model_error;
                FIELD("decision_function");
                put_matrix(&b, buf, rows, dw, false);
        }
        if (model_has_score_samples(model)) {
                if (model_score_samples(model, X, rows, buf, &me) < 0)
                        goto model_error;
                FIELD("score_samples");
                put_matrix(&b, buf, rows, 1, false);
        }
        if (tw) {
                if (model_transform(model, X, rows, buf, &me) < 0)
                        goto model_error;
                FIELD("transform");
                put_matrix(&b, buf, rows, tw, true); /* transform is always 2-D */
        }
#undef FIELD
        out_str(&b, "}\n");
        if (!b.failed) {
                fputs(b.d, stdout);
                status = 0;
        }
        goto out;
model_error:
        fprintf(stderr, "predictd eval: %s\n", me.message);
out:
        free(b.d);
        free(text);
        free(X);
        free(buf);
        free(idx);
        served_model_free(sm);
        return status;
}
