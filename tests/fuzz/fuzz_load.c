/* fuzz_load.c - libFuzzer harness for the whole file loader: container
 * detection (plain pickle, joblib, zlib, gzip, bz2, lz4, xz, lzma), the
 * pickle machine, numpy decoding, every builder, then every method of
 * whatever loads, on a few rows of ordinary, extreme and missing values
 * (string cells where the model takes strings).
 * Limits are small so that one input costs milliseconds. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "model.h"
#include "serialize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROWS 4

/* Row r, column c: ordinary numbers, huge ones, NaN; a known or unknown
 * category in a string column. */
static double cell(const struct model *m, size_t r, size_t c)
{
        if (model_column_kind(m, c) == MODEL_COLUMN_STRING)
                return r == 3 ? NAN : model_string_value(m, r == 1 ? "zz" : "a", r == 1 ? 2 : 1);
        switch (r) {
        case 0: return 0.5 * (double)c - 1.0;
        case 1: return c % 2 ? -1e300 : 1e300;
        case 2: return (double)(c % 5);
        default: return c % 2 ? NAN : 0.0;
        }
}

static void exercise(const struct model *m)
{
        size_t nf = model_n_features(m);
        size_t nc = model_n_classes(m);
        size_t w = nc + model_n_outputs(m) + model_decision_width(m) + model_transform_width(m) + 8;
        for (size_t j = 0; j < model_n_class_outputs(m); j++)
                w += model_n_classes(model_output_classes(m, j));
        if (nf > 4096 || w > 1u << 16)
                return;
        double *X = calloc(ROWS * (nf ? nf : 1), sizeof(double));
        double *buf = calloc(ROWS * w, sizeof(double));
        size_t *idx = calloc(ROWS, sizeof(size_t));
        char desc[256];
        model_describe(m, desc, sizeof(desc));
        for (size_t i = 0; i < nc; i++)
                (void)model_class_label(m, i);
        if (!X || !buf || !idx)
                goto out;
        for (size_t r = 0; r < ROWS; r++)
                for (size_t c = 0; c < nf; c++)
                        X[r * nf + c] = cell(m, r, c);
        struct model_error me;
        /* every row alone (one refused row does not hide the others), then all */
        for (size_t r = 0; r <= ROWS; r++) {
                const double *x = r < ROWS ? X + r * nf : X;
                size_t n = r < ROWS ? 1 : ROWS;
                enum model_type t = model_get_type(m);
                if (t == MODEL_TYPE_CLASSIFIER) {
                        model_predict(m, x, n, idx, model_has_proba(m) ? buf : NULL, &me);
                } else if (t == MODEL_TYPE_MULTI_CLASSIFIER) {
                        for (size_t j = 0; j < model_n_class_outputs(m); j++)
                                model_predict_output(m, j, x, n, idx,
                                                     model_has_proba(m) ? buf : NULL, &me);
                } else if (t == MODEL_TYPE_REGRESSOR) {
                        model_predict_values(m, x, n, buf, &me);
                }
                if (model_decision_width(m))
                        model_decision_function(m, x, n, buf, &me);
                if (model_has_score_samples(m))
                        model_score_samples(m, x, n, buf, &me);
                if (model_transform_width(m))
                        model_transform(m, x, n, buf, &me);
        }
out:
        free(X);
        free(buf);
        free(idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct serialize_limits lim;
        struct serialize_error err;
        struct model *m = NULL;
        struct serialize_info *info = NULL;
        serialize_limits_default(&lim);
        lim.max_stream_bytes = 16u << 20;
        lim.max_alloc_bytes = 64u << 20;
        lim.max_model_bytes = 64u << 20;
        if (serialize_load_buffer(data, size, &lim, &m, &info, &err) < 0)
                return 0;
        exercise(m);
        model_free(m);
        serialize_info_free(info);
        return 0;
}
