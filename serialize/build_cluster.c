/* build_cluster.c - builders for the clusterers that predict: KMeans and
 * MiniBatchKMeans. At predict time both are their cluster_centers_ alone
 * (labels_, inertia_ and MiniBatchKMeans' running counts are training
 * state, never read). */
#include <errno.h>
#include <stdlib.h>

#include "build_internal.h"

static int build_kmeans(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        const char *who = build_cls_name(obj);
        const struct pv *c = NULL;
        double *centers = NULL;
        size_t k = 0, nf = 0;
        struct model_error me;
        int rc = build_need_attr(bc, obj, "cluster_centers_", &c);
        if (rc < 0)
                return rc;
        /* fitted on float32 rows: scikit-learn itself refuses float64
         * rows then ("Buffer dtype mismatch"), so nothing could agree */
        if (build_is_built_array(c) && c->u.arr->dtype->kind == 'f' &&
            c->u.arr->dtype->itemsize != 8)
                return build_fail(bc, -EINVAL,
                                  "%s.cluster_centers_: expected float64, found float%zu (a "
                                  "model fitted on float%zu rows, which scikit-learn cannot "
                                  "apply to float64 rows)", who, c->u.arr->dtype->itemsize * 8,
                                  c->u.arr->dtype->itemsize * 8);
        if ((rc = build_attr_f64(bc, obj, "cluster_centers_", 2, &centers, &k, &nf)) < 0)
                return rc;
        if ((rc = build_check_n_features(bc, obj, nf)) < 0 ||
            (rc = build_charge(bc, (k * nf + 2 * k) * sizeof(double), who)) < 0)
                goto out;
        rc = model_kmeans_create(who, nf, k, centers, out, &me);
        if (rc < 0)
                build_model_error(bc, rc, &me);
out:
        free(centers);
        return rc;
}

#define ENTRY(module, name, fn) { { module, name, ROLE_ESTIMATOR, name }, fn }

/* The module the pickles of 1.2, 1.4 and 1.9 name (0.22 on). */
const struct build_entry build_cluster_entries[] = {
        ENTRY("sklearn.cluster._kmeans", "KMeans", build_kmeans),
        ENTRY("sklearn.cluster._kmeans", "MiniBatchKMeans", build_kmeans),
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
