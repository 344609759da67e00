/* builders.c - the registry of builders and the entry point that sends
 * each estimator object to its builder. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "build_internal.h"

static const struct build_entry *const families[] = {
        build_linear_entries,
        build_tree_entries,
        build_preprocess_entries,
        build_compose_entries,
        build_kernel_entries,
        build_probabilistic_entries,
        build_ensemble_entries,
        build_hist_entries,
        build_search_entries,
        build_boosting_entries,
        build_cluster_entries,
        build_imblearn_entries,
        build_nonlinear_entries,
        build_scipy_stats_entries,
};

const struct build_entry *build_find(const char *module, size_t module_len,
                                     const char *name, size_t name_len)
{
        for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
                for (const struct build_entry *e = families[f]; e->cls.module; e++) {
                        if (strlen(e->cls.module) == module_len &&
                            memcmp(e->cls.module, module, module_len) == 0 &&
                            strlen(e->cls.name) == name_len &&
                            memcmp(e->cls.name, name, name_len) == 0)
                                return e;
                }
        }
        return NULL;
}

int build_estimator(struct build_ctx *bc, const struct pv *v, struct model **out)
{
        if (!v || v->kind != PV_OBJECT || v->u.obj.cls->role != ROLE_ESTIMATOR)
                return build_fail(bc, -EINVAL, "expected a scikit-learn estimator, found %s",
                                  pv_kind_name(v));
        if (!v->u.obj.state)
                return build_fail(bc, -EINVAL,
                                  "%s has no state: it was saved unfitted or incompletely",
                                  build_cls_name(v));
        if (bc->depth >= bc->lim->max_depth)
                return build_fail(bc, -EINVAL, "estimators nested deeper than the limit of %zu",
                                  bc->lim->max_depth);
        const struct pv *ver = build_attr(bc, v, "_sklearn_version");
        if (!bc->sklearn_version[0] && ver && ver->kind == PV_STR)
                snprintf(bc->sklearn_version, sizeof(bc->sklearn_version), "%s",
                         ver->u.s.data);
        /* the class pointer is the entry's own (see build_find) */
        const struct build_entry *e = (const struct build_entry *)(const void *)v->u.obj.cls;
        if (!e->fn)
                return build_fail(bc, -EINVAL, "%s cannot be served on its own",
                                  build_cls_name(v));
        bc->depth++;
        int rc = e->fn(bc, v, out);
        bc->depth--;
        return rc;
}
