/* predict.c - POST /predict: JSON rows in, labels and probabilities out,
 * in the shape the seed's Flask app answers with:
 *   {"features": [..]}        -> {"prediction": x, "probabilities": [..]}
 *   {"instances": [[..], ..]} -> {"predictions": [..], "probabilities": [[..], ..]}
 * Every refusal says what was expected and what came. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "model.h"
#include "serialize.h"
#include "obs_internal.h"
#include "server_internal.h"

void reply_take(struct reply *r, struct out_buf *b)
{
        if (b->failed) {
                free(b->d);
                reply_error(r, 500, "out of memory writing the response");
                return;
        }
        r->status = 200;
        r->body = b->d;
        r->len = b->n;
}

void reply_error(struct reply *r, unsigned status, const char *fmt, ...)
{
        char msg[600];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        out_utf8_clean(msg);
        cJSON *o = cJSON_CreateObject();
        char *s = NULL;
        if (o && cJSON_AddStringToObject(o, "error", msg))
                s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        r->status = status;
        r->body = s;
        r->len = s ? strlen(s) : 0;
}

const char *json_type_name(const cJSON *v)
{
        if (cJSON_IsNull(v)) return "null";
        if (cJSON_IsBool(v)) return "a boolean";
        if (cJSON_IsNumber(v)) return "a number";
        if (cJSON_IsString(v)) return "a string";
        if (cJSON_IsArray(v)) return "an array";
        if (cJSON_IsObject(v)) return "an object";
        return "an invalid value";
}

void cell_at_text(const struct cell_at *at, char *out, size_t len)
{
        out[0] = '\0';
        if (at->where)
                snprintf(out, len, "%s", at->where);
        else if (at->input)
                snprintf(out, len, "input '%.100s'", at->input);
        size_t o = strlen(out);
        if (at->name)
                snprintf(out + o, len - o, "['%.100s']", at->name);
        else if (at->n == 2)
                snprintf(out + o, len - o, "[%zu][%zu]", at->i, at->j);
        else if (at->n == 1)
                snprintf(out + o, len - o, "[%zu]", at->i);
}

int predict_read_cell(const struct served_model *sm, size_t col, const cJSON *v,
                      double *x, const struct cell_at *at, struct reply *r)
{
        enum model_column_kind kind = model_column_kind(sm->model, col);
        if (cJSON_IsNumber(v) && kind != MODEL_COLUMN_STRING && isfinite(v->valuedouble)) {
                *x = v->valuedouble;
                return 0;
        }
        if (cJSON_IsString(v) && kind != MODEL_COLUMN_NUMBER) {
                *x = model_string_value(sm->model, v->valuestring, strlen(v->valuestring));
                return 0;
        }
        if (cJSON_IsNull(v) && (sm->accepts_nan || kind != MODEL_COLUMN_NUMBER)) {
                *x = NAN;
                return 0;
        }
        char cell[300];
        cell_at_text(at, cell, sizeof(cell));
        if (cJSON_IsNull(v))
                reply_error(r, 400,
                            "%s: null (a missing value) is not accepted by this model, "
                            "which was not fitted to handle missing values; expected a number",
                            cell);
        else if (kind == MODEL_COLUMN_STRING)
                reply_error(r, 400, "%s: expected a string (a category), got %s", cell,
                            json_type_name(v));
        else if (!cJSON_IsNumber(v))
                reply_error(r, 400, "%s: expected a number, got %s", cell, json_type_name(v));
        else
                reply_error(r, 400, "%s: number out of the range of a double", cell);
        return -EINVAL;
}

/* A model's refusal: 400 for input it refuses (naming the input column
 * when the model says which), 500 otherwise. */
void reply_model_error(const struct served_model *sm, int rc,
                       const struct model_error *me, struct reply *r)
{
        unsigned status = rc == -EINVAL ? 400 : 500;
        const struct serialize_info *info = sm->info;
        if (rc != -EINVAL || me->column >= sm->n_features)
                reply_error(r, status, "%s", me->message);
        else if (info->n_feature_names)
                reply_error(r, status, "column '%.100s': %s",
                            info->feature_names[me->column], me->message);
        else
                reply_error(r, status, "column %zu: %s", me->column, me->message);
}

/* A key of a row object, and where it stands in the object. */
struct row_key {
        const char *name;
        const cJSON *v;
        size_t at;
        bool known; /* a column of the model */
};

static int cmp_key_name(const void *a, const void *b)
{
        const struct row_key *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        return c ? c : (x->at > y->at) - (x->at < y->at);
}

static int cmp_key_at(const void *a, const void *b)
{
        const struct row_key *x = a, *y = b;
        return (x->at > y->at) - (x->at < y->at);
}

/* A row object {"name": value, ...}: its keys are sorted once and each
 * column found by binary search, so that a model of n named columns costs
 * O(n log n) per row, not n lookups along cJSON's list of n keys. As
 * cJSON_GetObjectItemCaseSensitive would, a name given twice reads its
 * first value (and the row is then refused). */
static int read_named_row(const struct served_model *sm, const cJSON *row, double *x,
                          const char *where, struct reply *r)
{
        size_t nf = sm->n_features, got = 0;
        const struct serialize_info *info = sm->info;
        const cJSON *v;
        int rc = -EINVAL;
        cJSON_ArrayForEach(v, row)
                got++;
        struct row_key *keys = malloc((got ? got : 1) * sizeof(*keys));
        if (!keys) {
                reply_error(r, 500, "out of memory reading the request");
                return -ENOMEM;
        }
        got = 0;
        cJSON_ArrayForEach(v, row) {
                keys[got] = (struct row_key){ .name = v->string, .v = v, .at = got };
                got++;
        }
        qsort(keys, got, sizeof(*keys), cmp_key_name);
        for (size_t j = 0; j < nf; j++) {
                const char *name = info->feature_names[j];
                size_t lo = 0, hi = got;
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        if (strcmp(keys[mid].name, name) < 0)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                if (lo == got || strcmp(keys[lo].name, name) != 0) {
                        reply_error(r, 400, "%s: missing column '%.100s'", where, name);
                        goto out;
                }
                for (size_t k = lo; k < got && strcmp(keys[k].name, name) == 0; k++)
                        keys[k].known = true;
                const struct cell_at at = { .where = where, .name = name };
                if (predict_read_cell(sm, j, keys[lo].v, &x[j], &at, r) < 0)
                        goto out;
        }
        if (got != nf) {
                /* every expected name was found, so some key is extra:
                 * name the first one in the row */
                qsort(keys, got, sizeof(*keys), cmp_key_at);
                for (size_t k = 0; k < got; k++)
                        if (!keys[k].known) {
                                reply_error(r, 400, "%s: unknown column '%.100s' (the model "
                                            "takes %zu named columns)", where, keys[k].name, nf);
                                goto out;
                        }
                reply_error(r, 400, "%s: a column is given more than once", where);
                goto out;
        }
        rc = 0;
out:
        free(keys);
        return rc;
}

/* Reads one row into x: an array of numbers in column order, or, for a
 * model that knows its column names, an object {"name": number, ...}.
 * where names the row for messages. */
static int read_row(const struct served_model *sm, const cJSON *row, double *x,
                    const char *where, struct reply *r)
{
        size_t nf = sm->n_features;
        const struct serialize_info *info = sm->info;
        if (cJSON_IsObject(row)) {
                if (!info->n_feature_names) {
                        reply_error(r, 400,
                                    "%s: this model has no column names (it was not fitted on "
                                    "a DataFrame); expected an array of %zu numbers",
                                    where, nf);
                        return -EINVAL;
                }
                return read_named_row(sm, row, x, where, r);
        }
        if (!cJSON_IsArray(row)) {
                reply_error(r, 400, "%s: expected an array of %zu numbers%s, got %s", where, nf,
                            info->n_feature_names ? " or an object of named columns" : "",
                            json_type_name(row));
                return -EINVAL;
        }
        size_t got = (size_t)cJSON_GetArraySize(row);
        if (got != nf) {
                reply_error(r, 400, "%s: expected %zu features, got %zu", where, nf, got);
                return -EINVAL;
        }
        size_t j = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, row) {
                const struct cell_at at = { .where = where, .i = j, .n = 1 };
                if (predict_read_cell(sm, j, v, &x[j], &at, r) < 0)
                        return -EINVAL;
                j++;
        }
        return 0;
}

static void put_proba_row(struct out_buf *b, const double *p, size_t n);

/* One row's label: the label, or for a model fitted on several outputs
 * an array of one label per output. */
static void put_labels_row(struct out_buf *b, const struct served_model *sm,
                           const size_t *idx)
{
        size_t k = sm->n_class_outputs;
        if (k == 1) {
                out_str(b, sm->label_json[idx[0]]);
                return;
        }
        out_str(b, "[");
        for (size_t j = 0; j < k; j++) {
                if (j)
                        out_str(b, ",");
                out_str(b, sm->label_json[idx[j]]);
        }
        out_str(b, "]");
}

/* One row's probabilities: an array, or one array per output. */
static void put_probas_row(struct out_buf *b, const struct served_model *sm, const double *p)
{
        size_t k = sm->n_class_outputs;
        if (k == 1) {
                put_proba_row(b, p, sm->n_classes);
                return;
        }
        out_str(b, "[");
        for (size_t j = 0; j < k; j++) {
                if (j)
                        out_str(b, ",");
                put_proba_row(b, p + sm->label_off[j], sm->label_off[j + 1] - sm->label_off[j]);
        }
        out_str(b, "]");
}

/* A JSON array of n numbers. */
static void put_proba_row(struct out_buf *b, const double *p, size_t n)
{
        out_str(b, "[");
        for (size_t k = 0; k < n; k++) {
                if (k)
                        out_str(b, ",");
                out_double(b, p[k]);
        }
        out_str(b, "]");
}

/* A regressor's answer: {"prediction": v} for one row ([v, ...] with
 * several targets or a y of shape (n, 1)), {"predictions": [...]} for a
 * batch. */
static void predict_regression(struct pool *pool, const struct served_model *sm,
                               const double *X, size_t rows, bool single, double *vals,
                               struct reply *r)
{
        struct model_error me = { .column = MODEL_NO_COLUMN };
        size_t no = sm->n_outputs;
        struct out_buf b = { 0 };
        int rc = rows_compute(pool, sm, ROWS_VALUES, X, rows, NULL, vals, &me);
        metrics_mark_computed(r);
        if (rc < 0) {
                reply_model_error(sm, rc, &me, r);
                return;
        }
        for (size_t i = 0; i < rows * no; i++) {
                if (!isfinite(vals[i])) {
                        reply_error(r, 400,
                                    "row %zu: the model's prediction overflows for this input "
                                    "(are the feature values on the scale the model was "
                                    "trained on?)",
                                    i / no);
                        return;
                }
        }
        out_str(&b, single ? "{\"prediction\":" : "{\"predictions\":[");
        for (size_t i = 0; i < rows; i++) {
                if (i)
                        out_str(&b, ",");
                if (sm->inlier_labels) {
                        out_str(&b, vals[i] < 0 ? "-1" : "1");
                        continue;
                }
                if (no == 1 && !sm->outputs_2d) {
                        out_double(&b, vals[i]);
                        continue;
                }
                put_proba_row(&b, vals + i * no, no);
        }
        out_str(&b, single ? "}" : "]}");
        reply_take(r, &b);
}

/* Whether a body that cJSON parsed holds a NUL character in a string:
 * escaped as \u0000, or a raw zero byte, which cJSON lets through. cJSON
 * strings end at their first NUL, so "a\u0000b" would be read as "a",
 * a category or column name it is not. In valid JSON a backslash only
 * starts an escape inside a string, so skipping each escaped character
 * finds every \u0000 and nothing else. */
static bool has_nul_character(const char *body, size_t len)
{
        if (memchr(body, '\0', len))
                return true;
        for (size_t i = 0; i + 1 < len; i++) {
                if (body[i] != '\\')
                        continue;
                if (body[i + 1] == 'u' && len - i >= 6 && memcmp(body + i + 2, "0000", 4) == 0)
                        return true;
                i++;
        }
        return false;
}

static int key_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* cJSON keeps every member of an object, duplicates included, and its
 * lookups answer with the first; Python's json answers with the last.
 * Rather than pick one, a request with a key twice in one object is
 * refused, so that no proxy or validator in front of predictd can read a
 * different request from the one predicted. Sorting the keys keeps an
 * object of n keys at n log n. */
int predict_json_duplicate_key(const cJSON *v, const char **dup)
{
        if (cJSON_IsObject(v)) {
                size_t n = 0, i = 0;
                const cJSON *c;
                cJSON_ArrayForEach(c, v)
                        n++;
                if (n > 1) {
                        const char **keys = malloc(n * sizeof(*keys));
                        if (!keys)
                                return -ENOMEM;
                        cJSON_ArrayForEach(c, v)
                                keys[i++] = c->string ? c->string : "";
                        qsort(keys, n, sizeof(*keys), key_cmp);
                        for (i = 1; i < n; i++) {
                                if (strcmp(keys[i - 1], keys[i]) == 0) {
                                        *dup = keys[i];
                                        free(keys);
                                        return 1;
                                }
                        }
                        free(keys);
                }
        }
        if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
                const cJSON *c;
                /* depth is bounded by cJSON's nesting limit */
                cJSON_ArrayForEach(c, v) {
                        int rc = predict_json_duplicate_key(c, dup);
                        if (rc)
                                return rc;
                }
        }
        return 0;
}

cJSON *predict_parse_body(const char *body, size_t len, const char *what, struct reply *r)
{
        const char *end = NULL;
        cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
        if (!root) {
                /* cJSON reports where parsing stopped through end (its
                 * global error pointer is shared by all threads) */
                size_t off = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;
                reply_error(r, 400, "request body is not valid JSON (error near byte %zu)", off);
                return NULL;
        }
        /* cJSON stops after the first value; anything but space after it
         * means the body was not one JSON document. */
        while (end && end < body + len && strchr(" \t\r\n", *end) && *end)
                end++;
        if (end && end < body + len) {
                reply_error(r, 400,
                            "request body is not valid JSON: unexpected data at byte %zu after "
                            "the end of the document",
                            (size_t)(end - body));
                cJSON_Delete(root);
                return NULL;
        }
        if (has_nul_character(body, len)) {
                reply_error(r, 400, "request body has a NUL character (\\u0000) in a string, "
                            "which no category or column name holds");
                cJSON_Delete(root);
                return NULL;
        }
        const char *dup = NULL;
        int drc = predict_json_duplicate_key(root, &dup);
        if (drc) {
                if (drc < 0)
                        reply_error(r, 500, "out of memory checking the request's keys");
                else
                        reply_error(r, 400,
                                    "request body: the key \"%.200s\" is given more than once "
                                    "in one object; each key may appear once",
                                    dup);
                cJSON_Delete(root);
                return NULL;
        }
        if (!cJSON_IsObject(root)) {
                reply_error(r, 400, "expected %s, got %s", what, json_type_name(root));
                cJSON_Delete(root);
                return NULL;
        }
        return root;
}

/* Reads the rows of a batch (the array under key) into a new *X. */
static int read_rows(const struct served_model *sm, const struct config *cfg,
                     const cJSON *rows_json, const char *key, double **X, size_t *rows,
                     struct reply *r)
{
        char where[48];
        if (!cJSON_IsArray(rows_json)) {
                reply_error(r, 400, "\"%s\": expected an array of rows, got %s", key,
                            json_type_name(rows_json));
                return -EINVAL;
        }
        size_t n = (size_t)cJSON_GetArraySize(rows_json);
        if (n == 0) {
                reply_error(r, 400, "\"%s\": expected at least one row, got none", key);
                return -EINVAL;
        }
        if (n > cfg->max_batch_rows) {
                reply_error(r, 413, "\"%s\": at most %zu rows per request, got %zu", key,
                            cfg->max_batch_rows, n);
                return -E2BIG;
        }
        double *x = malloc(n * sm->n_features * sizeof(double));
        if (!x) {
                reply_error(r, 500, "out of memory for %zu rows", n);
                return -ENOMEM;
        }
        size_t i = 0;
        const cJSON *row;
        cJSON_ArrayForEach(row, rows_json) {
                snprintf(where, sizeof(where), "\"%s\"[%zu]", key, i);
                if (read_row(sm, row, x + i * sm->n_features, where, r) < 0) {
                        free(x);
                        return -EINVAL;
                }
                i++;
        }
        *X = x;
        *rows = n;
        return 0;
}

/* A transformer's answer: {"prediction": [v, ...]} for one row (single),
 * {"predictions": [[v, ...], ...]} for a batch, the transformed rows as
 * scikit-learn's transform gives them (the shape of a regressor with
 * several targets, so a client reads both the same way). */
static void answer_transform(struct pool *pool, const struct served_model *sm,
                             const double *X, size_t rows, bool single, struct reply *r)
{
        struct model_error me = { .column = MODEL_NO_COLUMN };
        size_t w = model_transform_width(sm->model);
        struct out_buf b = { 0 };
        double *out = malloc((rows * w > 0 ? rows * w : 1) * sizeof(double));
        if (!out) {
                reply_error(r, 500, "out of memory for %zu rows", rows);
                return;
        }
        int rc = rows_compute(pool, sm, ROWS_TRANSFORM, X, rows, NULL, out, &me);
        metrics_mark_computed(r);
        if (rc < 0) {
                reply_model_error(sm, rc, &me, r);
                goto out;
        }
        for (size_t i = 0; i < rows * w; i++) {
                if (!isfinite(out[i])) {
                        reply_error(r, 400,
                                    "row %zu: the transformed value of column %zu is not finite "
                                    "(JSON has no NaN or infinity)", i / w, i % w);
                        goto out;
                }
        }
        out_str(&b, single ? "{\"prediction\":" : "{\"predictions\":[");
        for (size_t i = 0; i < rows; i++) {
                if (i)
                        out_str(&b, ",");
                put_proba_row(&b, out + i * w, w);
        }
        out_str(&b, single ? "}" : "]}");
        reply_take(r, &b);
out:
        free(out);
}

/* The answer for rows of X: {"prediction": .., "probabilities": ..} for
 * one row (single), {"predictions": [..], "probabilities": [..]} for a
 * batch; with_proba false leaves probabilities out (KServe V1). */
static void answer_rows(struct pool *pool, const struct served_model *sm, const double *X,
                        size_t rows, bool single, bool with_proba, struct reply *r)
{
        metrics_mark_compute(r, rows);
        if (sm->transform_only) {
                answer_transform(pool, sm, X, rows, single, r);
                return;
        }
        size_t nc = sm->n_classes;
        double *proba = NULL;
        size_t *idx = malloc(rows * (sm->n_class_outputs ? sm->n_class_outputs : 1) *
                             sizeof(size_t));
        struct out_buf b = { 0 };
        if (sm->n_outputs)
                proba = malloc(rows * sm->n_outputs * sizeof(double)); /* the values */
        else if (sm->has_proba)
                proba = malloc(rows * nc * sizeof(double));
        if (!idx || ((sm->has_proba || sm->n_outputs) && !proba)) {
                reply_error(r, 500, "out of memory for %zu rows", rows);
                goto out;
        }
        if (sm->n_outputs) {
                predict_regression(pool, sm, X, rows, single, proba, r);
                goto out;
        }
        struct model_error me = { .column = MODEL_NO_COLUMN };
        int rc = rows_compute(pool, sm, ROWS_CLASSIFY, X, rows, idx, proba, &me);
        metrics_mark_computed(r);
        if (rc < 0) {
                reply_model_error(sm, rc, &me, r);
                goto out;
        }
        /* Finite inputs can still overflow the math (exp of 1e308); JSON
         * has no NaN, and a silent null would read as an answer. */
        for (size_t i = 0; proba && i < rows * nc; i++) {
                if (!isfinite(proba[i])) {
                        reply_error(r, 400,
                                    "row %zu: the model's probabilities overflow for this input "
                                    "(are the feature values on the scale the model was "
                                    "trained on?)",
                                    i / nc);
                        goto out;
                }
        }
        if (!with_proba) {
                free(proba);
                proba = NULL;
        }
        if (single) {
                out_str(&b, "{\"prediction\":");
                put_labels_row(&b, sm, idx);
                if (proba) {
                        out_str(&b, ",\"probabilities\":");
                        put_probas_row(&b, sm, proba);
                }
        } else {
                size_t k = sm->n_class_outputs;
                out_str(&b, "{\"predictions\":[");
                for (size_t i = 0; i < rows; i++) {
                        if (i)
                                out_str(&b, ",");
                        put_labels_row(&b, sm, idx + i * k);
                }
                out_str(&b, "]");
                if (proba) {
                        out_str(&b, ",\"probabilities\":[");
                        for (size_t i = 0; i < rows; i++) {
                                if (i)
                                        out_str(&b, ",");
                                put_probas_row(&b, sm, proba + i * nc);
                        }
                        out_str(&b, "]");
                }
        }
        out_str(&b, "}");
        reply_take(r, &b);
out:
        free(idx);
        free(proba);
}

void predict_handle(struct pool *pool, const struct served_model *sm,
                    const struct config *cfg, const char *body, size_t len, struct reply *r)
{
        double *X = NULL;
        size_t rows = 1;
        cJSON *root = predict_parse_body(
                body, len, "a JSON object with \"features\" or \"instances\"", r);
        if (!root)
                return;
        const cJSON *features = cJSON_GetObjectItemCaseSensitive(root, "features");
        const cJSON *instances = cJSON_GetObjectItemCaseSensitive(root, "instances");
        if (!!features == !!instances) {
                reply_error(r, 400,
                            "expected exactly one of \"features\" (one row of %zu numbers) or "
                            "\"instances\" (a list of rows), got %s",
                            sm->n_features, features ? "both" : "neither");
                goto out;
        }
        if (instances) {
                if (read_rows(sm, cfg, instances, "instances", &X, &rows, r) < 0)
                        goto out;
        } else {
                if (!(X = malloc(sm->n_features * sizeof(double)))) {
                        reply_error(r, 500, "out of memory for 1 row");
                        goto out;
                }
                if (read_row(sm, features, X, "\"features\"", r) < 0)
                        goto out;
        }
        answer_rows(pool, sm, X, rows, features != NULL, true, r);
out:
        cJSON_Delete(root);
        free(X);
}

void predict_handle_v1(struct pool *pool, const struct served_model *sm,
                       const struct config *cfg, const char *body, size_t len,
                       struct reply *r)
{
        double *X = NULL;
        size_t rows;
        cJSON *root = predict_parse_body(
                body, len, "a JSON object with \"instances\" (or \"inputs\")", r);
        if (!root)
                return;
        const cJSON *instances = cJSON_GetObjectItemCaseSensitive(root, "instances");
        const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "inputs");
        if (!!instances == !!inputs) {
                reply_error(r, 400,
                            "expected exactly one of \"instances\" or \"inputs\" (a list of rows), "
                            "got %s",
                            instances ? "both" : "neither");
                goto out;
        }
        if (read_rows(sm, cfg, instances ? instances : inputs,
                      instances ? "instances" : "inputs", &X, &rows, r) < 0)
                goto out;
        answer_rows(pool, sm, X, rows, false, false, r);
out:
        cJSON_Delete(root);
        free(X);
}

/* Each class label as JSON, rendered once per model. */
static char *label_to_json(const struct model_label *l)
{
        struct out_buf b = { 0 };
        char num[40];
        switch (l->type) {
        case MODEL_LABEL_INT:
                snprintf(num, sizeof(num), "%lld", (long long)l->v.i);
                out_str(&b, num);
                break;
        case MODEL_LABEL_UINT:
                snprintf(num, sizeof(num), "%llu", (unsigned long long)l->v.u);
                out_str(&b, num);
                break;
        case MODEL_LABEL_FLOAT:
                if (!isfinite(l->v.f)) {
                        out_str(&b, "null");
                } else {
                        out_double(&b, l->v.f);
                }
                break;
        case MODEL_LABEL_BOOL:
                out_str(&b, l->v.b ? "true" : "false");
                break;
        case MODEL_LABEL_STR: {
                cJSON *s = cJSON_CreateString(l->v.s);
                char *p = s ? cJSON_PrintUnformatted(s) : NULL;
                cJSON_Delete(s);
                return p;
        }
        }
        if (b.failed) {
                free(b.d);
                return NULL;
        }
        return b.d;
}

int predict_classify(const struct served_model *sm, const double *X, size_t rows,
                     size_t *idx, double *proba, struct model_error *me)
{
        size_t k = sm->n_class_outputs, nc = sm->n_classes;
        if (k <= 1)
                return model_predict(sm->model, X, rows, idx, proba, me);
        size_t *oi = malloc((rows ? rows : 1) * sizeof(size_t));
        double *op = proba ? malloc((rows ? rows : 1) * nc * sizeof(double)) : NULL;
        int rc = -ENOMEM;
        if (!oi || (proba && !op)) {
                snprintf(me->message, sizeof(me->message), "out of memory for %zu rows", rows);
                goto out;
        }
        for (size_t j = 0; j < k; j++) {
                size_t off = sm->label_off[j], cj = sm->label_off[j + 1] - off;
                if ((rc = model_predict_output(sm->model, j, X, rows, oi, op, me)) < 0)
                        goto out;
                for (size_t i = 0; i < rows; i++) {
                        idx[i * k + j] = off + oi[i];
                        for (size_t c = 0; proba && c < cj; c++)
                                proba[i * nc + off + c] = op[i * cj + c];
                }
        }
        rc = 0;
out:
        free(oi);
        free(op);
        return rc;
}

int served_model_create(struct model *model, struct serialize_info *info,
                        struct served_model **out)
{
        struct served_model *sm = calloc(1, sizeof(*sm));
        if (!sm)
                return -ENOMEM;
        size_t k = model_n_class_outputs(model);
        sm->n_class_outputs = k ? k : model_get_type(model) == MODEL_TYPE_CLASSIFIER;
        sm->label_off = calloc(sm->n_class_outputs + 1, sizeof(size_t));
        if (!sm->label_off)
                goto fail;
        for (size_t j = 0; j < sm->n_class_outputs; j++)
                sm->label_off[j + 1] = sm->label_off[j] +
                                       model_n_classes(k ? model_output_classes(model, j)
                                                         : model);
        sm->n_classes = sm->label_off[sm->n_class_outputs];
        sm->n_features = model_n_features(model);
        sm->n_outputs = model_n_outputs(model);
        sm->outputs_2d = model_outputs_2d(model);
        sm->accepts_nan = model_accepts_nan(model);
        sm->has_proba = model_has_proba(model);
        sm->inlier_labels = sm->n_outputs == 1 && model_has_score_samples(model);
        sm->transform_only = model_get_type(model) == MODEL_TYPE_TRANSFORMER;
        sm->label_json = calloc(sm->n_classes ? sm->n_classes : 1, sizeof(char *));
        if (!sm->label_json)
                goto fail;
        for (size_t j = 0; j < sm->n_class_outputs; j++) {
                const struct model *o = k ? model_output_classes(model, j) : model;
                for (size_t i = sm->label_off[j]; i < sm->label_off[j + 1]; i++)
                        if (!(sm->label_json[i] =
                                      label_to_json(model_class_label(o, i - sm->label_off[j]))))
                                goto fail;
        }
        sm->model = model;
        sm->info = info;
        *out = sm;
        return 0;
fail:
        served_model_free(sm);
        return -ENOMEM;
}

void served_model_free(struct served_model *sm)
{
        if (!sm)
                return;
        if (sm->label_json)
                for (size_t i = 0; i < sm->n_classes; i++)
                        free(sm->label_json[i]);
        free(sm->label_json);
        free(sm->label_off);
        model_free(sm->model);
        serialize_info_free(sm->info);
        free(sm);
}
