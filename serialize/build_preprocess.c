/* build_preprocess.c - builders for transformers: StandardScaler. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

static int build_scaler(struct build_ctx *bc, const struct pv *obj,
                        struct model **out)
{
        double *mean = NULL, *scale = NULL;
        size_t nm = 0, ns = 0, one;
        struct model_error me;
        int rc = 0;
        bool with_mean = build_attr_bool(bc, obj, "with_mean", true);
        bool with_std = build_attr_bool(bc, obj, "with_std", true);
        if (with_mean && (rc = build_attr_f64(bc, obj, "mean_", 1, &mean, &nm, &one)) < 0)
                goto out;
        if (with_std && (rc = build_attr_f64(bc, obj, "scale_", 1, &scale, &ns, &one)) < 0)
                goto out;
        size_t nf = with_mean ? nm : ns;
        if (!with_mean && !with_std) {
                int64_t n = 0;
                if ((rc = build_attr_int(bc, obj, "n_features_in_", &n)) < 0)
                        goto out;
                nf = n > 0 ? (size_t)n : 0;
        }
        if (with_mean && with_std && nm != ns) {
                rc = build_fail(bc, -EINVAL, "StandardScaler: mean_ has %zu values, scale_ %zu",
                           nm, ns);
                goto out;
        }
        if ((rc = build_check_n_features(bc, obj, nf)) < 0 ||
            (rc = build_charge(bc, 2 * nf * sizeof(double), "StandardScaler")) < 0)
                goto out;
        for (size_t j = 0; scale && j < nf; j++) {
                /* fit() replaces zero scales by 1; a zero here is not a fit */
                if (scale[j] == 0.0) {
                        rc = build_fail(bc, -EINVAL, "StandardScaler.scale_[%zu] is 0", j);
                        goto out;
                }
        }
        rc = model_scaler_create(nf, mean, scale, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        free(mean);
        free(scale);
        return rc;
}


const struct build_entry build_preprocess_entries[] = {
        { { "sklearn.preprocessing._data", "StandardScaler", ROLE_ESTIMATOR,
            "StandardScaler" }, build_scaler },
        { { "sklearn.preprocessing.data", "StandardScaler", ROLE_ESTIMATOR,
            "StandardScaler" }, build_scaler },
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
