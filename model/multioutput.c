/* multioutput.c - classifiers fitted on a 2-D y (one column per output).
 *
 * scikit-learn's trees, forests and nearest-neighbours classifiers fit
 * several outputs at once; every output has its own classes_ and its own
 * predict / predict_proba, computed exactly as a single-output model over
 * that output's slice of the fitted values would. serialize/ builds one
 * single-output classifier per output and this model holds them; it is
 * used an output at a time (model_predict_output). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "model_internal.h"

struct multi {
        struct model base;
        struct model **outs;
};

static int multi_classify_output(const struct model *m, size_t j, const double *X,
                                 size_t rows, size_t *class_idx, double *proba,
                                 struct model_error *err)
{
        const struct multi *mo = (const struct multi *)m;
        return model_predict(mo->outs[j], X, rows, class_idx, proba, err);
}

static void multi_describe(const struct model *m, char *buf, size_t len)
{
        const struct multi *mo = (const struct multi *)m;
        char inner[160];
        model_describe(mo->outs[0], inner, sizeof(inner));
        snprintf(buf, len, "%zu outputs of %s", m->n_class_outputs, inner);
}

static void multi_destroy(struct model *m)
{
        struct multi *mo = (struct multi *)m;
        for (size_t j = 0; mo->outs && j < m->n_class_outputs; j++)
                model_free(mo->outs[j]);
        free(mo->outs);
        model_base_release(m);
        free(mo);
}

static const struct model_ops multi_ops = {
        .name = "multi-output",
        .classify_output = multi_classify_output,
        .describe = multi_describe,
        .destroy = multi_destroy,
};

int model_multioutput_create(const char *name, struct model **outs, size_t k,
                             struct model **out, struct model_error *err)
{
        struct multi *mo = NULL;
        int rc = -EINVAL;
        for (size_t j = 0; j < k; j++) {
                const struct model *o = outs[j];
                if (!o || o->type != MODEL_TYPE_CLASSIFIER ||
                    o->n_features != outs[0]->n_features || o->has_proba != outs[0]->has_proba) {
                        model_set_error(err, "%s: output %zu is not a classifier of %zu "
                                        "features like the first", name, j,
                                        outs[0] ? outs[0]->n_features : 0);
                        goto fail;
                }
        }
        if (k < 2) {
                model_set_error(err, "%s: expected 2 outputs or more, found %zu", name, k);
                goto fail;
        }
        if (!(mo = calloc(1, sizeof(*mo))) || !(mo->outs = calloc(k, sizeof(*mo->outs)))) {
                free(mo);
                mo = NULL;
                rc = -ENOMEM;
                model_set_error(err, "%s: out of memory", name);
                goto fail;
        }
        if ((rc = model_base_init(&mo->base, &multi_ops, MODEL_TYPE_MULTI_CLASSIFIER,
                                  outs[0]->n_features, NULL, 0, err)) < 0)
                goto fail;
        mo->base.has_proba = outs[0]->has_proba;
        mo->base.n_class_outputs = k;
        for (size_t j = 0; j < k; j++) {
                mo->outs[j] = outs[j];
                outs[j] = NULL;
        }
        mo->base.class_outs = mo->outs;
        *out = &mo->base;
        return 0;
fail:
        for (size_t j = 0; j < k; j++)
                model_free(outs[j]);
        if (mo)
                multi_destroy(&mo->base);
        return rc;
}
