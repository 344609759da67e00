/* build_linear.c - builders for linear models: LogisticRegression. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

static int build_logreg(struct build_ctx *bc, const struct pv *obj,
                        struct model **out)
{
        double *coef = NULL, *icpt = NULL;
        size_t rows = 0, nf = 0, ni = 0, one = 0;
        struct build_labels labels = { 0 };
        struct model_error me;
        int rc;
        if ((rc = build_attr_f64(bc, obj, "coef_", 2, &coef, &rows, &nf)) < 0 ||
            (rc = build_attr_f64(bc, obj, "intercept_", 1, &icpt, &ni, &one)) < 0 ||
            (rc = build_read_labels(bc, obj, &labels)) < 0 ||
            (rc = build_check_n_features(bc, obj, nf)) < 0 ||
            (rc = build_charge(bc, (rows * nf + ni) * sizeof(double), "LogisticRegression")) < 0)
                goto out;
        if (ni != rows) {
                rc = build_fail(bc, -EINVAL,
                           "LogisticRegression: intercept_ has %zu values for %zu coef_ rows",
                           ni, rows);
                goto out;
        }
        /* scikit-learn's rule (1.2-1.7): one-vs-rest unless multinomial was
         * asked for, or 'auto' chose it (more than 2 classes, solver neither
         * liblinear nor newton-cholesky). 1.8+ has no multi_class and fits
         * newton-cholesky as multinomial. */
        const struct pv *mc = build_attr(bc, obj, "multi_class");
        const struct pv *solver = build_attr(bc, obj, "solver");
        bool ovr;
        if (pv_is_str(mc, "ovr") || pv_is_str(mc, "warn"))
                ovr = true;
        else if (pv_is_str(mc, "multinomial"))
                ovr = false;
        else if (!mc || pv_is_str(mc, "auto") || pv_is_str(mc, "deprecated"))
                ovr = labels.n <= 2 || pv_is_str(solver, "liblinear") ||
                      (pv_is_str(solver, "newton-cholesky") && build_saved_before(bc, obj, 1, 9));
        else {
                rc = build_fail(bc, -EINVAL,
                           "LogisticRegression.multi_class: expected 'auto', 'ovr' or "
                           "'multinomial', found %s", pv_kind_name(mc));
                goto out;
        }
        rc = model_logreg_create(nf, rows, coef, icpt,
                                 ovr ? MODEL_LOGREG_OVR : MODEL_LOGREG_MULTINOMIAL,
                                 labels.v, labels.n, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        free(coef);
        free(icpt);
        build_labels_free(&labels);
        return rc;
}


const struct build_entry build_linear_entries[] = {
        { { "sklearn.linear_model._logistic", "LogisticRegression", ROLE_ESTIMATOR,
            "LogisticRegression" }, build_logreg },
        { { "sklearn.linear_model.logistic", "LogisticRegression", ROLE_ESTIMATOR,
            "LogisticRegression" }, build_logreg },
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
