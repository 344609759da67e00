/* build_imblearn.c - imbalanced-learn's Pipeline. Its sampler steps
 * (SMOTE, RandomUnderSampler, ...) resample the training rows at fit time
 * and are skipped at predict and transform time, as imbalanced-learn skips
 * them (Pipeline._iter(filter_resample=True)); the other steps are served
 * as in a scikit-learn Pipeline. A sampler's fitted state (random states,
 * nearest-neighbour estimators, sampling_strategy_ dicts) is in the file:
 * it is read as inert data under these exact names and never used. */
#include <string.h>

#include "build_internal.h"

/* The samplers, as imbalanced-learn 0.10, 0.12 and 0.14 name them (the
 * modules are the same in all three), and 0.7. FunctionSampler is not here: it runs
 * the user's function. */
#define SAMPLER(module, name) { { module, name, ROLE_ESTIMATOR, name }, NULL }
#define OVER "imblearn.over_sampling."
#define UNDER "imblearn.under_sampling._prototype_selection."

static int build_imblearn_pipeline(struct build_ctx *bc, const struct pv *obj,
                                   struct model **out)
{
        return build_pipeline_steps(bc, obj, true, out);
}

const struct build_entry build_imblearn_entries[] = {
        { { "imblearn.pipeline", "Pipeline", ROLE_ESTIMATOR, "Pipeline" },
          build_imblearn_pipeline },
        SAMPLER(OVER "_random_over_sampler", "RandomOverSampler"),
        SAMPLER(OVER "_smote.base", "SMOTE"),
        SAMPLER(OVER "_smote.base", "SMOTEN"),
        SAMPLER(OVER "_smote.base", "SMOTENC"),
        SAMPLER(OVER "_smote.cluster", "KMeansSMOTE"),
        SAMPLER(OVER "_smote.filter", "BorderlineSMOTE"),
        SAMPLER(OVER "_smote.filter", "SVMSMOTE"),
        SAMPLER(OVER "_adasyn", "ADASYN"),
        SAMPLER(UNDER "_random_under_sampler", "RandomUnderSampler"),
        SAMPLER(UNDER "_nearmiss", "NearMiss"),
        SAMPLER(UNDER "_tomek_links", "TomekLinks"),
        SAMPLER(UNDER "_edited_nearest_neighbours", "EditedNearestNeighbours"),
        SAMPLER(UNDER "_edited_nearest_neighbours", "RepeatedEditedNearestNeighbours"),
        SAMPLER(UNDER "_edited_nearest_neighbours", "AllKNN"),
        SAMPLER(UNDER "_condensed_nearest_neighbour", "CondensedNearestNeighbour"),
        SAMPLER(UNDER "_one_sided_selection", "OneSidedSelection"),
        SAMPLER(UNDER "_neighbourhood_cleaning_rule", "NeighbourhoodCleaningRule"),
        SAMPLER(UNDER "_instance_hardness_threshold", "InstanceHardnessThreshold"),
        SAMPLER("imblearn.under_sampling._prototype_generation._cluster_centroids",
                "ClusterCentroids"),
        SAMPLER("imblearn.combine._smote_enn", "SMOTEENN"),
        SAMPLER("imblearn.combine._smote_tomek", "SMOTETomek"),
        /* imbalanced-learn 0.7 (bullseye, with scikit-learn 0.23) kept
         * the SMOTE variants in one module */
        SAMPLER(OVER "_smote", "SMOTE"),
        SAMPLER(OVER "_smote", "SMOTENC"),
        SAMPLER(OVER "_smote", "KMeansSMOTE"),
        SAMPLER(OVER "_smote", "BorderlineSMOTE"),
        SAMPLER(OVER "_smote", "SVMSMOTE"),
        /* the samplers' parts: the NearestNeighbors of SMOTE, ADASYN,
         * NearMiss and the cleaning rules (its search tree and metric are
         * build_kernel.c's inert parts); sampling_strategy_ is an
         * OrderedDict, read as the plain dict it holds (never as a class:
         * NEWOBJ or BUILD of it is refused) */
        { { "sklearn.neighbors._unsupervised", "NearestNeighbors", ROLE_ESTIMATOR,
            "NearestNeighbors" }, NULL },
        { { "collections", "OrderedDict", ROLE_ORDERED_DICT, NULL }, NULL },
        /* SMOTEN's OrdinalEncoder (imbalanced-learn 0.12 on) is made with
         * dtype=numpy.int32: a type named as data, never called */
        { { "numpy", "int32", ROLE_INERT, NULL }, NULL },
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};

/* Every imbalanced-learn class listed here without a builder is a
 * sampler. */
bool build_is_sampler(const struct pv *v)
{
        if (!v || v->kind != PV_OBJECT || v->u.obj.cls->role != ROLE_ESTIMATOR)
                return false;
        /* the class pointer is the entry's own (build_find) */
        const struct build_entry *e = (const struct build_entry *)(const void *)v->u.obj.cls;
        return !e->fn && strncmp(e->cls.module, "imblearn.", 9) == 0;
}
