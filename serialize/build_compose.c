/* build_compose.c - builders for estimators made of estimators: Pipeline. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_internal.h"

static int build_pipeline(struct build_ctx *bc, const struct pv *obj,
                          struct model **out)
{
        const struct pv *steps = NULL;
        int rc = build_need_attr(bc, obj, "steps", &steps);
        if (rc < 0)
                return rc;
        if (steps->kind != PV_LIST || steps->u.seq.len == 0)
                return build_fail(bc, -EINVAL, "Pipeline.steps: expected a non-empty list, found %s",
                             pv_kind_name(steps));
        size_t n = steps->u.seq.len;
        struct model **built = calloc(n, sizeof(*built));
        const char **names = calloc(n, sizeof(*names));
        struct model_error me;
        size_t i = 0;
        if (!built || !names) {
                rc = build_fail(bc, -ENOMEM, "out of memory for %zu pipeline steps", n);
                goto out;
        }
        for (; i < n; i++) {
                const struct pv *st = steps->u.seq.items[i];
                if (st->kind != PV_TUPLE || st->u.seq.len != 2 ||
                    st->u.seq.items[0]->kind != PV_STR) {
                        rc = build_fail(bc, -EINVAL,
                                   "Pipeline.steps[%zu]: expected a (name, estimator) tuple", i);
                        goto out;
                }
                if (st->u.seq.items[0]->u.s.len > MAX_NAME_BYTES) {
                        rc = build_fail(bc, -EINVAL,
                                   "Pipeline.steps[%zu]: a step name of %zu bytes (at most %d)", i,
                                   st->u.seq.items[0]->u.s.len, MAX_NAME_BYTES);
                        goto out;
                }
                names[i] = st->u.seq.items[0]->u.s.data;
                const struct pv *e = st->u.seq.items[1];
                if (e->kind == PV_NONE || pv_is_str(e, "passthrough"))
                        continue;
                if ((rc = build_estimator(bc, e, &built[i])) < 0) {
                        char inner[sizeof(bc->err->message)];
                        memcpy(inner, bc->err->message, sizeof(inner));
                        build_fail(bc, rc, "Pipeline step '%.60s': %s", names[i], inner);
                        goto out;
                }
        }
        rc = model_pipeline_create(built, names, n, out, &me);
        i = 0; /* the pipeline took the steps */
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        for (size_t k = 0; k < i && built; k++)
                model_free(built[k]);
        free(built);
        free(names);
        return rc;
}


const struct build_entry build_compose_entries[] = {
        { { "sklearn.pipeline", "Pipeline", ROLE_ESTIMATOR, "Pipeline" }, build_pipeline },
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
