/* v2.c - the Open Inference Protocol (KServe V2) over REST: server and
 * model metadata, the repository index, and inference.
 *
 * An inference request carries either one tensor of shape [rows,
 * features] (FP64, FP32, integer types), or, for a model that knows its
 * column names, one tensor of shape [rows] per column (any of those
 * datatypes, or BYTES). Every element goes through predict_read_cell, the
 * one place that turns a JSON value into what the model reads. Outputs
 * are named after the scikit-learn methods, as MLServer's runtime names
 * them: predict, predict_proba, decision_function, score_samples,
 * transform. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "model.h"
#include "predictd_version.h"
#include "serialize.h"
#include "server.h"
#include "obs_internal.h"
#include "server_internal.h"

enum v2_output {
        OUT_PREDICT, OUT_PROBA, OUT_DECISION, OUT_SCORE, OUT_TRANSFORM, N_OUTPUTS
};

static const char *const output_names[N_OUTPUTS] = {
        "predict", "predict_proba", "decision_function", "score_samples", "transform",
};

/* Values per row of output k (0: the model has no such output), and
 * whether the tensor is 1-D ([rows]) rather than [rows, width]. */
static size_t output_width(const struct served_model *sm, enum v2_output k, bool *flat)
{
        *flat = false;
        switch (k) {
        case OUT_PREDICT:
                if (sm->transform_only)
                        return 0;
                if (sm->n_outputs) {
                        /* [rows, 1] for a regressor fitted on y of shape (n, 1) */
                        *flat = sm->n_outputs == 1 && !sm->outputs_2d;
                        return sm->n_outputs;
                }
                /* a label per output: [rows, outputs] for a multi-output
                 * classifier */
                *flat = sm->n_class_outputs <= 1;
                return sm->n_class_outputs ? sm->n_class_outputs : 1;
        case OUT_PROBA:
                return sm->has_proba ? sm->n_classes : 0;
        case OUT_DECISION: {
                size_t w = model_decision_width(sm->model);
                *flat = w == 1; /* as scikit-learn's binary decision_function */
                return w;
        }
        case OUT_SCORE:
                *flat = true;
                return model_has_score_samples(sm->model) ? 1 : 0;
        case OUT_TRANSFORM:
                return model_transform_width(sm->model);
        default:
                return 0;
        }
}

/* Label i of label_json: the outputs' labels one after another. */
static const struct model_label *label_of(const struct served_model *sm, size_t i)
{
        size_t j = 0;
        while (j + 1 < sm->n_class_outputs && i >= sm->label_off[j + 1])
                j++;
        const struct model *o = sm->n_class_outputs > 1 ? model_output_classes(sm->model, j)
                                                        : sm->model;
        return model_class_label(o, i - sm->label_off[j]);
}

/* True when the labels are not all of one type (a multi-output
 * classifier whose outputs differ): predict is BYTES, every label text. */
static bool labels_mixed(const struct served_model *sm)
{
        for (size_t i = 1; i < sm->n_classes; i++)
                if (label_of(sm, i)->type != label_of(sm, 0)->type)
                        return true;
        return false;
}

/* The datatype of predict: the class labels' type, FP64 for values. */
static const char *predict_datatype(const struct served_model *sm)
{
        if (sm->inlier_labels)
                return "INT64";
        if (sm->n_outputs || sm->n_classes == 0)
                return "FP64";
        if (labels_mixed(sm))
                return "BYTES";
        switch (label_of(sm, 0)->type) {
        case MODEL_LABEL_INT: return "INT64";
        case MODEL_LABEL_UINT: return "UINT64";
        case MODEL_LABEL_FLOAT: return "FP64";
        case MODEL_LABEL_BOOL: return "BOOL";
        case MODEL_LABEL_STR: return "BYTES";
        }
        return "BYTES";
}

static void reply_json(struct reply *r, cJSON *o)
{
        char *s = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!s) {
                reply_error(r, 500, "out of memory writing the response");
                return;
        }
        r->status = 200;
        r->body = s;
        r->len = strlen(s);
}

void v2_server_metadata(struct reply *r)
{
        cJSON *o = cJSON_CreateObject();
        if (o) {
                cJSON_AddStringToObject(o, "name", "predictd");
                cJSON_AddStringToObject(o, "version", PREDICTD_VERSION);
                cJSON_AddArrayToObject(o, "extensions");
        }
        reply_json(r, o);
}

void v2_index(const struct served_set *set, bool ready_only, struct reply *r)
{
        struct out_buf b = { 0 };
        bool first = true;
        out_str(&b, "[");
        for (size_t i = 0; i < set->n; i++) {
                const struct served_entry *e = &set->e[i];
                bool ready = atomic_load_explicit(&e->sm, memory_order_acquire) != NULL;
                if (ready_only && !ready)
                        continue;
                out_str(&b, first ? "{\"name\":" : ",{\"name\":");
                first = false;
                out_json_string(&b, e->spec->name);
                out_str(&b, ",\"version\":");
                out_json_string(&b, e->spec->version);
                /* a failed reload keeps the old file READY, with the reason */
                out_str(&b, ready ? ",\"state\":\"READY\",\"reason\":"
                            : e->reason ? ",\"state\":\"UNAVAILABLE\",\"reason\":"
                                        : ",\"state\":\"LOADING\",\"reason\":");
                out_json_string(&b, e->reason ? e->reason : ready ? "" : "loading");
                out_str(&b, "}");
        }
        out_str(&b, "]");
        reply_take(r, &b);
}

static cJSON *metadata_tensor(const char *name, const char *datatype, size_t width, bool flat)
{
        cJSON *t = cJSON_CreateObject();
        cJSON *shape = cJSON_CreateArray();
        if (!t || !shape) {
                cJSON_Delete(t);
                cJSON_Delete(shape);
                return NULL;
        }
        cJSON_AddStringToObject(t, "name", name);
        cJSON_AddStringToObject(t, "datatype", datatype);
        cJSON_AddItemToArray(shape, cJSON_CreateNumber(-1)); /* the batch */
        if (!flat)
                cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)width));
        cJSON_AddItemToObject(t, "shape", shape);
        return t;
}

void v2_model_metadata(const struct served_set *set, const struct served_entry *e,
                       const struct served_model *sm, struct reply *r)
{
        const struct serialize_info *info = sm->info;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", e->spec->name);
        cJSON *versions = cJSON_AddArrayToObject(o, "versions");
        cJSON *inputs = cJSON_CreateArray(), *outputs = cJSON_CreateArray();
        cJSON *params = cJSON_CreateObject();
        if (!o || !versions || !inputs || !outputs || !params) {
                cJSON_Delete(inputs);
                cJSON_Delete(outputs);
                cJSON_Delete(params);
                cJSON_Delete(o);
                reply_error(r, 500, "out of memory writing the response");
                return;
        }
        for (size_t i = 0; i < set->n; i++)
                if (strcmp(set->e[i].spec->name, e->spec->name) == 0)
                        cJSON_AddItemToArray(versions, cJSON_CreateString(set->e[i].spec->version));
        cJSON_AddStringToObject(o, "platform", "sklearn");
        if (info->n_feature_names) {
                for (size_t j = 0; j < info->n_feature_names; j++)
                        cJSON_AddItemToArray(inputs, metadata_tensor(
                                info->feature_names[j],
                                model_column_kind(sm->model, j) == MODEL_COLUMN_STRING ? "BYTES"
                                                                                       : "FP64",
                                1, true));
        } else {
                /* one datatype for the whole tensor: BYTES when no column
                 * reads numbers */
                bool strings = model_takes_strings(sm->model);
                for (size_t j = 0; j < sm->n_features && strings; j++)
                        strings = model_column_kind(sm->model, j) != MODEL_COLUMN_NUMBER;
                cJSON_AddItemToArray(inputs, metadata_tensor("input-0", strings ? "BYTES" : "FP64",
                                                             sm->n_features, false));
        }
        cJSON_AddItemToObject(o, "inputs", inputs);
        for (int k = 0; k < N_OUTPUTS; k++) {
                bool flat;
                size_t w = output_width(sm, (enum v2_output)k, &flat);
                if (w)
                        cJSON_AddItemToArray(outputs, metadata_tensor(
                                output_names[k], k == OUT_PREDICT ? predict_datatype(sm) : "FP64",
                                w, flat));
        }
        cJSON_AddItemToObject(o, "outputs", outputs);

        /* what a caller needs besides the tensors: the file and the model */
        char desc[1024];
        model_describe(sm->model, desc, sizeof(desc));
        cJSON_AddStringToObject(params, "version", e->spec->version);
        cJSON_AddStringToObject(params, "estimator", desc);
        cJSON_AddStringToObject(params, "sklearn_version", info->sklearn_version);
        cJSON_AddStringToObject(params, "sha256", info->sha256);
        cJSON_AddStringToObject(params, "container", info->container);
        cJSON_AddNumberToObject(params, "n_features", (double)sm->n_features);
        if (info->n_feature_names) {
                cJSON *names = cJSON_AddArrayToObject(params, "feature_names");
                for (size_t j = 0; names && j < info->n_feature_names; j++)
                        cJSON_AddItemToArray(names, cJSON_CreateString(info->feature_names[j]));
        }
        if (sm->n_classes && !sm->n_outputs) {
                /* a multi-output classifier: one list per output */
                cJSON *classes = cJSON_AddArrayToObject(params, "classes"), *list = classes;
                for (size_t j = 0; classes && j < sm->n_class_outputs; j++) {
                        if (sm->n_class_outputs > 1) {
                                list = cJSON_CreateArray();
                                cJSON_AddItemToArray(classes, list);
                        }
                        for (size_t c = sm->label_off[j]; list && c < sm->label_off[j + 1]; c++)
                                cJSON_AddItemToArray(list, cJSON_CreateRaw(sm->label_json[c]));
                }
        }
        /* a metadata wrapper's other keys, and what a search chose: plain
         * values as they are, lists and dicts as their JSON text (the
         * protocol's parameters hold strings, numbers and booleans); a key
         * predictd already sets (the wrapper's own 'version' or
         * 'sklearn_version') is shown as "wrapper.KEY" beside predictd's */
        for (size_t j = 0; params && j < info->n_meta; j++) {
                const char *key = info->meta[j].key;
                char prefixed[160];
                if (cJSON_GetObjectItemCaseSensitive(params, key)) {
                        if ((size_t)snprintf(prefixed, sizeof(prefixed), "wrapper.%s", key) >=
                                    sizeof(prefixed) ||
                            cJSON_GetObjectItemCaseSensitive(params, prefixed))
                                continue;
                        key = prefixed;
                }
                cJSON *v = cJSON_Parse(info->meta[j].json);
                if (v && (cJSON_IsArray(v) || cJSON_IsObject(v) || cJSON_IsNull(v))) {
                        cJSON_Delete(v);
                        v = cJSON_CreateString(info->meta[j].json);
                }
                if (v)
                        cJSON_AddItemToObject(params, key, v);
        }
        cJSON_AddItemToObject(o, "parameters", params);
        reply_json(r, o);
}

/* ------------------------------------------------------------ infer -- */

enum v2_dtype {
        DT_FP64, DT_FP32, DT_INT64, DT_INT32, DT_INT16, DT_INT8,
        DT_UINT64, DT_UINT32, DT_UINT16, DT_UINT8, DT_BYTES,
};

/* Integer ranges as decimal text: a JSON number is compared with them
 * digit by digit, since a double cannot tell 2^63 - 1 from 2^63. */
static const struct {
        const char *name;
        enum v2_dtype dt;
        const char *lo, *hi; /* integer types: the range */
} dtypes[] = {
        { "FP64", DT_FP64, NULL, NULL },
        { "FP32", DT_FP32, NULL, NULL },
        { "INT64", DT_INT64, "-9223372036854775808", "9223372036854775807" },
        { "INT32", DT_INT32, "-2147483648", "2147483647" },
        { "INT16", DT_INT16, "-32768", "32767" },
        { "INT8", DT_INT8, "-128", "127" },
        { "UINT64", DT_UINT64, "0", "18446744073709551615" },
        { "UINT32", DT_UINT32, "0", "4294967295" },
        { "UINT16", DT_UINT16, "0", "65535" },
        { "UINT8", DT_UINT8, "0", "255" },
        { "BYTES", DT_BYTES, NULL, NULL },
};

#define DTYPE_LIST "FP64, FP32, INT64, INT32, INT16, INT8, UINT64, UINT32, UINT16, UINT8 or BYTES"
#define MAX_DIMS 8

/* One input tensor of the request, its elements in row-major order. */
struct tensor {
        const char *name;
        int dt; /* index in dtypes */
        size_t shape[MAX_DIMS];
        size_t ndim;
        size_t count; /* product of shape */
        const cJSON **cells;
};

/* "[2, 4]" */
static void shape_text(const struct tensor *t, char *buf, size_t len)
{
        size_t o = (size_t)snprintf(buf, len, "[");
        for (size_t i = 0; i < t->ndim && o < len; i++)
                o += (size_t)snprintf(buf + o, len - o, "%s%zu", i ? ", " : "", t->shape[i]);
        if (o < len)
                snprintf(buf + o, len - o, "]");
}

/* Walks nested data that must follow shape exactly. */
static bool collect_nested(const cJSON *a, const struct tensor *t, size_t depth,
                           const cJSON **out, size_t *n)
{
        if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != t->shape[depth])
                return false;
        const cJSON *v;
        cJSON_ArrayForEach(v, a) {
                if (depth + 1 < t->ndim) {
                        if (!collect_nested(v, t, depth + 1, out, n))
                                return false;
                } else {
                        if (cJSON_IsArray(v))
                                return false;
                        out[(*n)++] = v;
                }
        }
        return true;
}

/* Reads one entry of "inputs": name, datatype, shape and data, flat or
 * nested. max bounds the element count. */
static int read_tensor(const cJSON *in, size_t idx, size_t max, struct tensor *t,
                       struct reply *r)
{
        char where[160], num[24];
        /* "inputs"[idx], then input 'NAME' (cut at 100 bytes): written by
         * hand, as every request has them and few messages use them */
        size_t k = out_fmt_uint(idx, num);
        memcpy(where, "\"inputs\"[", 9);
        memcpy(where + 9, num, k);
        memcpy(where + 9 + k, "]", 2);
        if (!cJSON_IsObject(in)) {
                reply_error(r, 400, "%s: expected a tensor object {\"name\", \"shape\", "
                            "\"datatype\", \"data\"}, got %s", where, json_type_name(in));
                return -EINVAL;
        }
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(in, "name");
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(in, "shape");
        const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(in, "datatype");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(in, "data");
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(in, "parameters");
        if (!cJSON_IsString(name)) {
                reply_error(r, 400, "%s: \"name\": expected a string, got %s", where,
                            name ? json_type_name(name) : "nothing");
                return -EINVAL;
        }
        t->name = name->valuestring;
        k = strnlen(t->name, 100);
        memcpy(where, "input '", 7);
        memcpy(where + 7, t->name, k);
        memcpy(where + 7 + k, "'", 2);
        if (!cJSON_IsString(dtype)) {
                reply_error(r, 400, "%s: \"datatype\": expected a string (" DTYPE_LIST "), got %s",
                            where, dtype ? json_type_name(dtype) : "nothing");
                return -EINVAL;
        }
        t->dt = -1;
        for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
                if (strcmp(dtype->valuestring, dtypes[i].name) == 0)
                        t->dt = (int)i;
        if (t->dt < 0) {
                reply_error(r, 400, "%s: datatype '%.40s' is not accepted (expected " DTYPE_LIST ")",
                            where, dtype->valuestring);
                return -EINVAL;
        }
        if (params && !cJSON_IsObject(params)) {
                reply_error(r, 400, "%s: \"parameters\": expected an object, got %s", where,
                            json_type_name(params));
                return -EINVAL;
        }
        if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) < 1 ||
            cJSON_GetArraySize(shape) > MAX_DIMS) {
                reply_error(r, 400, "%s: \"shape\": expected an array of 1 to %d sizes, got %s",
                            where, MAX_DIMS, shape ? json_type_name(shape) : "nothing");
                return -EINVAL;
        }
        t->ndim = 0;
        double count = 1;
        const cJSON *d;
        cJSON_ArrayForEach(d, shape) {
                double v = cJSON_IsNumber(d) ? d->valuedouble : -1;
                if (v < 0 || v != floor(v) || v > 9007199254740992.0) {
                        reply_error(r, 400, "%s: \"shape\"[%zu]: expected a size (a whole number "
                                    ">= 0), got %s", where, t->ndim,
                                    cJSON_IsNumber(d) ? "a negative or fractional number"
                                                      : json_type_name(d));
                        return -EINVAL;
                }
                t->shape[t->ndim++] = (size_t)v;
                count *= v;
        }
        if (!data) {
                reply_error(r, 400, "%s: no \"data\" (binary tensor data is not supported: send "
                            "the elements as a JSON array)", where);
                return -EINVAL;
        }
        if (!cJSON_IsArray(data)) {
                reply_error(r, 400, "%s: \"data\": expected an array of elements (flat or "
                            "nested), got %s", where, json_type_name(data));
                return -EINVAL;
        }
        if (count > (double)max) {
                char s[200];
                shape_text(t, s, sizeof(s));
                reply_error(r, 413, "%s: shape %s holds %.0f elements, over the limit of %zu "
                            "(--max-batch-rows rows of every feature)", where, s, count, max);
                return -E2BIG;
        }
        t->count = (size_t)count;
        t->cells = malloc((t->count ? t->count : 1) * sizeof(*t->cells));
        if (!t->cells) {
                reply_error(r, 500, "out of memory for %s", where);
                return -ENOMEM;
        }
        size_t n = 0;
        const cJSON *first = data->child;
        bool ok;
        if (first && cJSON_IsArray(first)) {
                ok = collect_nested(data, t, 0, t->cells, &n) && n == t->count;
        } else {
                ok = (size_t)cJSON_GetArraySize(data) == t->count;
                cJSON_ArrayForEach(d, data) {
                        if (!ok || cJSON_IsArray(d)) {
                                ok = false;
                                break;
                        }
                        t->cells[n++] = d;
                }
        }
        if (!ok) {
                char s[200];
                shape_text(t, s, sizeof(s));
                reply_error(r, 400, "%s: \"data\" does not match shape %s: expected %zu "
                            "elements, flat or nested as the shape says", where, s, t->count);
                return -EINVAL;
        }
        return 0;
}

/* --- exact integers ----------------------------------------------- */

/* The longest integer text worth comparing: more digits than any range. */
#define INT_TEXT_MAX 24

/* The JSON number text tok (valid JSON number syntax) as a canonical
 * integer: sign and digits without leading zeros ("0" for zero). False
 * when the number is not a whole number or has more than INT_TEXT_MAX
 * digits (out of every range then). */
static bool integer_text(const char *tok, size_t n, bool *neg, char *digits)
{
        size_t i = 0, nd = 0;
        char mant[INT_TEXT_MAX * 2 + 2];
        long long point = 0, exp = 0; /* digits before the point; exponent */
        *neg = false;
        if (i < n && tok[i] == '-') {
                *neg = true;
                i++;
        }
        bool lead = true;
        for (; i < n && tok[i] >= '0' && tok[i] <= '9'; i++) {
                if (lead && tok[i] == '0')
                        continue;
                lead = false;
                if (nd >= sizeof(mant) - 1)
                        return false;
                mant[nd++] = tok[i];
                point++;
        }
        if (i < n && tok[i] == '.') {
                for (i++; i < n && tok[i] >= '0' && tok[i] <= '9'; i++) {
                        if (lead && tok[i] == '0') {
                                point--;
                                continue;
                        }
                        lead = false;
                        if (nd >= sizeof(mant) - 1) {
                                if (tok[i] != '0')
                                        return false; /* a fraction or too long */
                                continue;
                        }
                        mant[nd++] = tok[i];
                }
        }
        if (i < n && (tok[i] == 'e' || tok[i] == 'E')) {
                bool eneg = false;
                i++;
                if (i < n && (tok[i] == '+' || tok[i] == '-'))
                        eneg = tok[i++] == '-';
                for (; i < n && tok[i] >= '0' && tok[i] <= '9'; i++)
                        if (exp < 100000)
                                exp = exp * 10 + (tok[i] - '0');
                exp = eneg ? -exp : exp;
        }
        while (nd && mant[nd - 1] == '0') /* trailing zeros are a power of ten */
                nd--;
        if (nd == 0) {
                memcpy(digits, "0", 2);
                *neg = false;
                return true;
        }
        long long len = point + exp; /* digits of the integer part */
        if (len < (long long)nd || len > INT_TEXT_MAX)
                return false; /* a fraction remains, or too large */
        memcpy(digits, mant, nd);
        memset(digits + nd, '0', (size_t)len - nd);
        digits[len] = '\0';
        return true;
}

/* a <= b for canonical non-negative digit strings */
static bool digits_le(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        return la != lb ? la < lb : strcmp(a, b) <= 0;
}

/* Whether the number text is a whole number within [lo, hi] (decimal). */
static bool integer_in_range(const char *tok, size_t n, const char *lo, const char *hi)
{
        bool neg;
        char d[INT_TEXT_MAX + 1];
        if (!integer_text(tok, n, &neg, d))
                return false;
        if (!neg)
                return hi[0] != '-' && digits_le(d, hi);
        return lo[0] == '-' && digits_le(d, lo + 1);
}

/* The number tokens of a JSON text, in document order, which is the
 * order of cJSON's number nodes in a pre-order walk: numbers occur only
 * as values, outside strings, and start with '-' or a digit. */
struct num_cursor {
        const char *p, *end;
};

static bool next_number(struct num_cursor *c, const char **tok, size_t *n)
{
        while (c->p < c->end) {
                char ch = *c->p;
                if (ch == '"') {
                        for (c->p++; c->p < c->end && *c->p != '"'; c->p++)
                                if (*c->p == '\\')
                                        c->p++;
                        c->p++;
                        continue;
                }
                if (ch == '-' || (ch >= '0' && ch <= '9')) {
                        const char *s0 = c->p;
                        while (c->p < c->end && strchr("+-.eE0123456789", *c->p) && *c->p)
                                c->p++;
                        *tok = s0;
                        *n = (size_t)(c->p - s0);
                        return true;
                }
                c->p++;
        }
        return false;
}

/* Keeps the text of every number a double may misstate as an integer
 * (beyond 2^53, or written with a point or an exponent) in its node's
 * valuestring, which cJSON_Delete frees. -ENOMEM, or -EINVAL when the
 * text and the tree disagree (they cannot for a text cJSON parsed). */
static int keep_number_texts(cJSON *v, struct num_cursor *c)
{
        if (cJSON_IsNumber(v)) {
                const char *tok;
                size_t n;
                if (!next_number(c, &tok, &n))
                        return -EINVAL;
                double d = v->valuedouble;
                if (v->valuestring || !(fabs(d) >= 9007199254740992.0 ||
                                        memchr(tok, '.', n) || memchr(tok, 'e', n) ||
                                        memchr(tok, 'E', n)))
                        return 0;
                if (!(v->valuestring = strndup(tok, n)))
                        return -ENOMEM;
                return 0;
        }
        cJSON *ch;
        cJSON_ArrayForEach(ch, v) {
                int rc = keep_number_texts(ch, c);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

/* Whether number v is a whole number in dtype dt's range: by its text
 * where keep_number_texts kept it, else exactly by its double (which
 * then holds an integer below 2^53, or a value that is none). */
static bool whole_in_range(const cJSON *v, int dt)
{
        if (v->valuestring)
                return integer_in_range(v->valuestring, strlen(v->valuestring), dtypes[dt].lo,
                                        dtypes[dt].hi);
        double d = v->valuedouble;
        char text[40];
        if (!isfinite(d) || d != floor(d))
                return false;
        snprintf(text, sizeof(text), "%.0f", d);
        return integer_in_range(text, strlen(text), dtypes[dt].lo, dtypes[dt].hi);
}

/* Element v of tensor t into *x, for model column col. */
static int read_element(const struct served_model *sm, const struct tensor *t, size_t col,
                        const cJSON *v, double *x, const struct cell_at *at, struct reply *r)
{
        char cell[300];
        enum v2_dtype dt = dtypes[t->dt].dt;
        if (dt == DT_BYTES) {
                if (!cJSON_IsString(v) && !cJSON_IsNull(v)) {
                        cell_at_text(at, cell, sizeof(cell));
                        reply_error(r, 400, "%s: expected a string or null (datatype BYTES), "
                                    "got %s", cell, json_type_name(v));
                        return -EINVAL;
                }
        } else if (dt == DT_FP64 || dt == DT_FP32) {
                if (!cJSON_IsNumber(v) && !cJSON_IsNull(v)) {
                        cell_at_text(at, cell, sizeof(cell));
                        reply_error(r, 400, "%s: expected a number or null (datatype %s), "
                                    "got %s", cell, dtypes[t->dt].name, json_type_name(v));
                        return -EINVAL;
                }
                if (dt == DT_FP32 && cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
                    fabs(v->valuedouble) > FLT_MAX) {
                        cell_at_text(at, cell, sizeof(cell));
                        reply_error(r, 400, "%s: number out of the range of FP32", cell);
                        return -EINVAL;
                }
        } else {
                if (!cJSON_IsNumber(v) || !whole_in_range(v, t->dt)) {
                        char got[64];
                        /* the text where a double would misstate it */
                        if (cJSON_IsNumber(v) && v->valuestring &&
                            !(fabs(v->valuedouble) < 9007199254740992.0))
                                snprintf(got, sizeof(got), "%.40s", v->valuestring);
                        else if (cJSON_IsNumber(v))
                                snprintf(got, sizeof(got), "%.17g", v->valuedouble);
                        else
                                snprintf(got, sizeof(got), "%s", json_type_name(v));
                        cell_at_text(at, cell, sizeof(cell));
                        reply_error(r, 400, "%s: expected a whole number in [%s, %s] "
                                    "(datatype %s), got %s", cell, dtypes[t->dt].lo,
                                    dtypes[t->dt].hi, dtypes[t->dt].name, got);
                        return -EINVAL;
                }
        }
        if (predict_read_cell(sm, col, v, x, at, r) < 0)
                return -EINVAL;
        /* what a float32 array would hold, as MLServer's numpy decoding
         * gives the model */
        if (dt == DT_FP32 && isfinite(*x))
                *x = (double)(float)*x;
        return 0;
}

/* The column index of a tensor named name, or SIZE_MAX. */
static size_t column_of(const struct serialize_info *info, const char *name)
{
        for (size_t j = 0; j < info->n_feature_names; j++)
                if (strcmp(info->feature_names[j], name) == 0)
                        return j;
        return SIZE_MAX;
}

/* The model's inputs, for messages: "one tensor [rows, 4]" or columns. */
static void inputs_text(const struct served_model *sm, char *buf, size_t len)
{
        const struct serialize_info *info = sm->info;
        size_t o = (size_t)snprintf(buf, len, "one tensor of shape [rows, %zu]", sm->n_features);
        if (!info->n_feature_names)
                return;
        o += (size_t)snprintf(buf + o, o < len ? len - o : 0, ", or one tensor of shape "
                              "[rows] per column: ");
        for (size_t j = 0; j < info->n_feature_names && o < len; j++)
                o += (size_t)snprintf(buf + o, len - o, "%s'%.60s'", j ? ", " : "",
                                      info->feature_names[j]);
        if (o >= len && len > 4)
                memcpy(buf + len - 4, "...", 4);
}

/* Fills X (rows x n_features) from the inputs. */
static int read_inputs(const struct served_model *sm, const struct config *cfg,
                       const cJSON *inputs, double **Xout, size_t *rows_out, struct reply *r)
{
        const struct serialize_info *info = sm->info;
        size_t nf = sm->n_features, n = (size_t)cJSON_GetArraySize(inputs), rows = 0;
        size_t max = cfg->max_batch_rows * nf;
        struct tensor *t = calloc(n ? n : 1, sizeof(*t));
        double *X = NULL;
        char expect[600], s[200];
        int rc = -EINVAL;
        if (!t) {
                reply_error(r, 500, "out of memory");
                return -ENOMEM;
        }
        size_t i = 0;
        const cJSON *in;
        cJSON_ArrayForEach(in, inputs) {
                if ((rc = read_tensor(in, i, max, &t[i], r)) < 0)
                        goto out;
                i++;
        }
        rc = -EINVAL;
        bool columns = info->n_feature_names > 0;
        for (i = 0; i < n && columns; i++)
                columns = column_of(info, t[i].name) != SIZE_MAX;
        if (!columns && n != 1) {
                for (i = 0; i < n && info->n_feature_names; i++) {
                        if (column_of(info, t[i].name) == SIZE_MAX) {
                                inputs_text(sm, expect, sizeof(expect));
                                reply_error(r, 400, "input '%.100s' is not a column of this "
                                            "model (expected %s)", t[i].name, expect);
                                goto out;
                        }
                }
                inputs_text(sm, expect, sizeof(expect));
                reply_error(r, 400, "expected %s, got %zu input tensors", expect, n);
                goto out;
        }
        if (!columns) {
                /* one [rows, features] tensor, any name */
                if (t[0].ndim != 2 || t[0].shape[1] != nf || t[0].shape[0] == 0) {
                        inputs_text(sm, expect, sizeof(expect));
                        shape_text(&t[0], s, sizeof(s));
                        reply_error(r, 400, "input '%.100s': expected %s, got shape %s",
                                    t[0].name, expect, s);
                        goto out;
                }
                rows = t[0].shape[0];
        } else {
                bool *seen = calloc(nf, sizeof(bool));
                if (!seen) {
                        reply_error(r, 500, "out of memory");
                        goto out;
                }
                for (i = 0; i < n; i++) {
                        size_t j = column_of(info, t[i].name);
                        bool column_shape = t[i].ndim == 1 ||
                                            (t[i].ndim == 2 && t[i].shape[1] == 1);
                        if (seen[j]) {
                                reply_error(r, 400, "input '%.100s' is given twice", t[i].name);
                        } else if (!column_shape || t[i].shape[0] == 0) {
                                shape_text(&t[i], s, sizeof(s));
                                reply_error(r, 400, "input '%.100s': a column tensor has shape "
                                            "[rows] or [rows, 1] with rows >= 1, got %s",
                                            t[i].name, s);
                        } else if (i > 0 && t[i].shape[0] != rows) {
                                reply_error(r, 400, "input '%.100s' has %zu rows, but input "
                                            "'%.100s' has %zu; every column needs the same rows",
                                            t[i].name, t[i].shape[0], t[0].name, rows);
                        } else {
                                seen[j] = true;
                                rows = t[i].shape[0];
                                continue;
                        }
                        free(seen);
                        goto out;
                }
                for (size_t j = 0; j < nf; j++) {
                        if (!seen[j]) {
                                inputs_text(sm, expect, sizeof(expect));
                                reply_error(r, 400, "missing input '%.100s' (expected %s)",
                                            info->feature_names[j], expect);
                                free(seen);
                                goto out;
                        }
                }
                free(seen);
        }
        if (rows > cfg->max_batch_rows) {
                reply_error(r, 413, "at most %zu rows per request, got %zu", cfg->max_batch_rows,
                            rows);
                goto out;
        }
        if (!(X = malloc(rows * nf * sizeof(double)))) {
                reply_error(r, 500, "out of memory for %zu rows", rows);
                goto out;
        }
        for (i = 0; i < n; i++) {
                for (size_t k = 0; k < t[i].count; k++) {
                        size_t row = columns ? k : k / nf;
                        size_t col = columns ? column_of(info, t[i].name) : k % nf;
                        const struct cell_at at = { .input = t[i].name, .i = row, .j = col,
                                                    .n = columns ? 1 : 2 };
                        if (read_element(sm, &t[i], col, t[i].cells[k], &X[row * nf + col], &at,
                                         r) < 0)
                                goto out;
                }
        }
        *Xout = X;
        X = NULL;
        *rows_out = rows;
        rc = 0;
out:
        for (i = 0; i < n; i++)
                free(t[i].cells);
        free(t);
        free(X);
        return rc;
}

/* The outputs this model has, for a message: "predict, predict_proba". */
static void outputs_text(const struct served_model *sm, char *buf, size_t len)
{
        size_t o = 0;
        bool flat;
        buf[0] = '\0';
        for (int k = 0; k < N_OUTPUTS; k++)
                if (output_width(sm, (enum v2_output)k, &flat))
                        o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
                                              output_names[k]);
}

/* The outputs asked for, in order; without "outputs", predict and
 * predict_proba where the model has it. */
static int read_outputs(const struct served_model *sm, const cJSON *outputs,
                        enum v2_output *want, size_t *n_want, struct reply *r)
{
        char have[200];
        bool flat;
        *n_want = 0;
        if (!outputs && sm->transform_only) {
                want[(*n_want)++] = OUT_TRANSFORM;
                return 0;
        }
        if (!outputs) {
                want[(*n_want)++] = OUT_PREDICT;
                if (sm->has_proba)
                        want[(*n_want)++] = OUT_PROBA;
                return 0;
        }
        if (!cJSON_IsArray(outputs) || cJSON_GetArraySize(outputs) == 0) {
                outputs_text(sm, have, sizeof(have));
                reply_error(r, 400, "\"outputs\": expected a non-empty array of {\"name\": ...} "
                            "(this model has %s), got %s", have,
                            cJSON_IsArray(outputs) ? "an empty one" : json_type_name(outputs));
                return -EINVAL;
        }
        const cJSON *item;
        size_t i = 0;
        cJSON_ArrayForEach(item, outputs) {
                const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
                if (!cJSON_IsObject(item) || !cJSON_IsString(name)) {
                        outputs_text(sm, have, sizeof(have));
                        reply_error(r, 400, "\"outputs\"[%zu]: expected {\"name\": \"...\"} naming "
                                    "one of %s", i, have);
                        return -EINVAL;
                }
                int k = 0;
                while (k < N_OUTPUTS && strcmp(name->valuestring, output_names[k]) != 0)
                        k++;
                if (k == N_OUTPUTS || !output_width(sm, (enum v2_output)k, &flat)) {
                        outputs_text(sm, have, sizeof(have));
                        reply_error(r, 400, "unknown output '%.100s' (this model has %s)",
                                    name->valuestring, have);
                        return -EINVAL;
                }
                for (size_t j = 0; j < *n_want; j++) {
                        if (want[j] == (enum v2_output)k) {
                                reply_error(r, 400, "output '%s' is asked for twice",
                                            output_names[k]);
                                return -EINVAL;
                        }
                }
                want[(*n_want)++] = (enum v2_output)k;
                i++;
        }
        return 0;
}

static void put_shape(struct out_buf *b, size_t rows, size_t width, bool flat)
{
        out_put(b, "[", 1);
        out_uint(b, rows);
        if (!flat) {
                out_put(b, ",", 1);
                out_uint(b, width);
        }
        out_put(b, "]", 1);
}

void v2_infer(struct pool *pool, const struct served_entry *e, const struct served_model *sm,
              const struct config *cfg, const char *body, size_t len, struct reply *r)
{
        double *X = NULL, *vals[N_OUTPUTS] = { 0 };
        size_t *idx = NULL, rows = 0, n_want = 0;
        enum v2_output want[N_OUTPUTS];
        struct out_buf b = { 0 };
        struct model_error me = { .column = MODEL_NO_COLUMN };
        cJSON *root = predict_parse_body(
                body, len, "an inference request object {\"inputs\": [...]}", r);
        if (!root)
                return;
        struct num_cursor nc = { body, body + len };
        int krc = keep_number_texts(root, &nc);
        if (krc < 0) {
                reply_error(r, krc == -ENOMEM ? 500 : 400,
                            krc == -ENOMEM ? "out of memory reading the request's numbers"
                                           : "request body: numbers do not match the document");
                goto out;
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "parameters");
        const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "inputs");
        if (id && !cJSON_IsString(id)) {
                reply_error(r, 400, "\"id\": expected a string, got %s", json_type_name(id));
                goto out;
        }
        if (params && !cJSON_IsObject(params)) {
                reply_error(r, 400, "\"parameters\": expected an object, got %s",
                            json_type_name(params));
                goto out;
        }
        if (!cJSON_IsArray(inputs) || cJSON_GetArraySize(inputs) == 0) {
                reply_error(r, 400, "\"inputs\": expected a non-empty array of tensors, got %s",
                            !inputs ? "nothing" : cJSON_IsArray(inputs) ? "an empty one"
                                                                         : json_type_name(inputs));
                goto out;
        }
        if (read_outputs(sm, cJSON_GetObjectItemCaseSensitive(root, "outputs"), want, &n_want,
                         r) < 0)
                goto out;
        if (read_inputs(sm, cfg, inputs, &X, &rows, r) < 0)
                goto out;
        metrics_mark_compute(r, rows);

        bool need_classes = false;
        for (size_t i = 0; i < n_want; i++) {
                bool flat;
                size_t w = output_width(sm, want[i], &flat);
                if (!(vals[want[i]] = malloc(rows * w * sizeof(double)))) {
                        reply_error(r, 500, "out of memory for %zu rows", rows);
                        goto out;
                }
                need_classes |= !sm->n_outputs && (want[i] == OUT_PREDICT || want[i] == OUT_PROBA);
        }
        int rc = 0;
        if (need_classes) {
                if (!(idx = malloc(rows * sm->n_class_outputs * sizeof(size_t)))) {
                        reply_error(r, 500, "out of memory for %zu rows", rows);
                        goto out;
                }
                rc = rows_compute(pool, sm, ROWS_CLASSIFY, X, rows, idx, vals[OUT_PROBA], &me);
        } else if (vals[OUT_PREDICT]) {
                rc = rows_compute(pool, sm, ROWS_VALUES, X, rows, NULL, vals[OUT_PREDICT], &me);
        }
        if (rc == 0 && vals[OUT_DECISION])
                rc = rows_compute(pool, sm, ROWS_DECISION, X, rows, NULL, vals[OUT_DECISION],
                                  &me);
        if (rc == 0 && vals[OUT_SCORE])
                rc = rows_compute(pool, sm, ROWS_SCORE, X, rows, NULL, vals[OUT_SCORE], &me);
        if (rc == 0 && vals[OUT_TRANSFORM])
                rc = rows_compute(pool, sm, ROWS_TRANSFORM, X, rows, NULL, vals[OUT_TRANSFORM],
                                  &me);
        metrics_mark_computed(r);
        if (rc < 0) {
                reply_model_error(sm, rc, &me, r);
                goto out;
        }

        out_str(&b, "{\"model_name\":");
        out_json_string(&b, e->spec->name);
        out_str(&b, ",\"model_version\":");
        out_json_string(&b, e->spec->version);
        if (id) {
                out_str(&b, ",\"id\":");
                out_json_string(&b, id->valuestring);
        }
        bool mixed = need_classes && labels_mixed(sm);
        out_str(&b, ",\"outputs\":[");
        for (size_t i = 0; i < n_want; i++) {
                enum v2_output k = want[i];
                bool flat, labels = k == OUT_PREDICT && need_classes;
                size_t w = output_width(sm, k, &flat);
                const double *v = vals[k];
                for (size_t c = 0; !labels && c < rows * w; c++) {
                        if (!isfinite(v[c])) {
                                free(b.d);
                                reply_error(r, 400, "row %zu: the model's %s is not a finite "
                                            "number for this input (are the feature values on "
                                            "the scale the model was trained on?)",
                                            c / w, output_names[k]);
                                goto out;
                        }
                }
                out_str(&b, i ? ",{\"name\":\"" : "{\"name\":\"");
                out_str(&b, output_names[k]);
                out_str(&b, "\",\"datatype\":\"");
                out_str(&b, k == OUT_PREDICT ? predict_datatype(sm) : "FP64");
                out_str(&b, "\",\"shape\":");
                put_shape(&b, rows, w, flat);
                out_str(&b, ",\"data\":[");
                for (size_t c = 0; c < rows * w; c++) {
                        if (c)
                                out_str(&b, ",");
                        if (labels && mixed && label_of(sm, idx[c])->type != MODEL_LABEL_STR) {
                                out_json_string(&b, sm->label_json[idx[c]]);
                        } else if (labels) {
                                out_str(&b, sm->label_json[idx[c]]);
                        } else if (k == OUT_PREDICT && sm->inlier_labels) {
                                char num[24];
                                snprintf(num, sizeof(num), "%lld", (long long)v[c]);
                                out_str(&b, num);
                        } else {
                                out_double(&b, v[c]);
                        }
                }
                out_str(&b, "]}");
        }
        out_str(&b, "]}");
        reply_take(r, &b);
out:
        cJSON_Delete(root);
        free(X);
        free(idx);
        for (int k = 0; k < N_OUTPUTS; k++)
                free(vals[k]);
}
