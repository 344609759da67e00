/* build_boosting.c - builders for AdaBoostClassifier and
 * AdaBoostRegressor: estimators_ (any estimator predictd builds, each
 * through build_estimator, so a member it cannot serve is refused naming
 * it), estimator_weights_ and, for the classifier, classes_ and the
 * algorithm: 'SAMME.R' (the default before 1.6, deprecated in 1.4,
 * gone in 1.6), 'SAMME', 'deprecated' (1.6-1.7: SAMME) or no attribute
 * at all (1.8+: SAMME). How SAMME weighs a member's vote changed in 1.4;
 * the file's _sklearn_version decides which rule it gets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

/* Members of one booster; more is no model but a way to multiply work. */
#define MAX_BOOST_MEMBERS 65536

#define ENTRY(mod, cls, fn) { { mod, cls, ROLE_ESTIMATOR, cls }, fn }

static int read_kind(struct build_ctx *bc, const struct pv *obj, bool classifier,
                     enum model_adaboost_kind *kind)
{
        if (!classifier) {
                *kind = MODEL_ADABOOST_R2;
                return 0;
        }
        const struct pv *a = build_attr(bc, obj, "algorithm");
        if (a && pv_is_str(a, "SAMME.R")) {
                *kind = MODEL_ADABOOST_SAMME_R;
                return 0;
        }
        if (a && !pv_is_str(a, "SAMME") && !pv_is_str(a, "deprecated"))
                return build_fail(bc, -ENOTSUP,
                                  "AdaBoostClassifier.algorithm: expected 'SAMME' or "
                                  "'SAMME.R', found %s",
                                  a->kind == PV_STR ? a->u.s.data : pv_kind_name(a));
        *kind = build_saved_before(bc, obj, 1, 4) ? MODEL_ADABOOST_SAMME_LEGACY
                                                  : MODEL_ADABOOST_SAMME;
        return 0;
}

static int build_adaboost(struct build_ctx *bc, const struct pv *obj, struct model **out,
                          bool classifier)
{
        struct model_adaboost_params p = { 0 };
        struct build_labels labels = { 0 };
        struct model **members = NULL;
        const struct pv *list = NULL;
        double *weights = NULL;
        size_t n = 0, s1 = 1;
        struct model_error me;
        int rc;

        if ((rc = read_kind(bc, obj, classifier, &p.kind)) < 0 ||
            (classifier && (rc = build_read_labels(bc, obj, &labels)) < 0) ||
            (rc = build_attr_f64(bc, obj, "estimator_weights_", 1, &weights, &p.n_weights,
                                 &s1)) < 0 ||
            (rc = build_need_attr(bc, obj, "estimators_", &list)) < 0)
                goto out;
        rc = -EINVAL;
        if ((list->kind != PV_LIST && list->kind != PV_TUPLE) || list->u.seq.len == 0 ||
            list->u.seq.len > p.n_weights || list->u.seq.len > MAX_BOOST_MEMBERS) {
                build_fail(bc, rc,
                           "%s.estimators_: expected 1 to %zu fitted members (at most %d), "
                           "found %s of %zu",
                           build_cls_name(obj), p.n_weights, MAX_BOOST_MEMBERS,
                           pv_kind_name(list),
                           list->kind == PV_LIST || list->kind == PV_TUPLE ? list->u.seq.len
                                                                            : 0);
                goto out;
        }
        n = list->u.seq.len;
        if ((rc = build_charge(bc, n * (sizeof(struct model *) + sizeof(double)),
                               "estimators_")) < 0)
                goto out;
        if (!(members = calloc(n, sizeof(*members)))) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu members", n);
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                if ((rc = build_estimator(bc, list->u.seq.items[i], &members[i])) < 0) {
                        char inner[sizeof(bc->err->message)];
                        memcpy(inner, bc->err->message, sizeof(inner));
                        build_fail(bc, rc, "%s.estimators_[%zu]: %s", build_cls_name(obj), i,
                                   inner);
                        goto out;
                }
        }
        p.weights = weights;
        rc = model_adaboost_create(&p, members, n, labels.v, labels.n, out, &me);
        free(members); /* the model took (or freed) the members */
        members = NULL;
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        for (size_t i = 0; members && i < n; i++)
                model_free(members[i]);
        free(members);
        free(weights);
        build_labels_free(&labels);
        return rc;
}

static int build_adaboost_clf(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        return build_adaboost(bc, obj, out, true);
}

static int build_adaboost_reg(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        return build_adaboost(bc, obj, out, false);
}

const struct build_entry build_boosting_entries[] = {
        ENTRY("sklearn.ensemble._weight_boosting", "AdaBoostClassifier", build_adaboost_clf),
        ENTRY("sklearn.ensemble._weight_boosting", "AdaBoostRegressor", build_adaboost_reg),
        /* before 0.22 the module was public */
        ENTRY("sklearn.ensemble.weight_boosting", "AdaBoostClassifier", build_adaboost_clf),
        ENTRY("sklearn.ensemble.weight_boosting", "AdaBoostRegressor", build_adaboost_reg),
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
