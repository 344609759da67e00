/* build_search.c - hyper-parameter searches saved as they are
 * (GridSearchCV, RandomizedSearchCV and the successive-halving ones).
 * With refit on, a search predicts through best_estimator_, so that is
 * what is served. Everything else a search holds (scorer objects, the
 * metric functions they name, cv splitters, cv_results_ with its masked
 * arrays) is kept as inert data: accepted by exact name, never called. */
#include <errno.h>
#include <string.h>

#include "build_internal.h"

bool build_is_search(const struct pv *obj)
{
        if (!obj || obj->kind != PV_OBJECT || obj->u.obj.cls->role != ROLE_ESTIMATOR)
                return false;
        const struct build_entry *e = (const struct build_entry *)(const void *)obj->u.obj.cls;
        return e->fn == build_search_best;
}

int build_search_best(struct build_ctx *bc, const struct pv *obj, struct model **out)
{
        const struct pv *best = build_attr(bc, obj, "best_estimator_");
        if (!best || best->kind == PV_NONE) {
                const struct pv *refit = build_attr(bc, obj, "refit");
                if (refit && refit->kind == PV_BOOL && !refit->u.b)
                        return build_fail(bc, -EINVAL,
                                          "%s was saved with refit=False: it holds no "
                                          "best_estimator_ to predict with (refit the best "
                                          "parameters, or save the estimator itself)",
                                          build_cls_name(obj));
                return build_fail(bc, -EINVAL,
                                  "%s holds no best_estimator_ (expected a search fitted "
                                  "with refit on)", build_cls_name(obj));
        }
        return build_estimator(bc, best, out);
}

#define SEARCH(mod, name) { { mod, name, ROLE_ESTIMATOR, name }, build_search_best }
#define INERT(mod, name) { { mod, name, ROLE_INERT, NULL }, NULL }

const struct build_entry build_search_entries[] = {
        SEARCH("sklearn.model_selection._search", "GridSearchCV"),
        SEARCH("sklearn.model_selection._search", "RandomizedSearchCV"),
        SEARCH("sklearn.model_selection._search_successive_halving", "HalvingGridSearchCV"),
        SEARCH("sklearn.model_selection._search_successive_halving", "HalvingRandomSearchCV"),
        /* scorers (scorer_, scoring) and the metrics they name */
        INERT("sklearn.metrics._scorer", "_PredictScorer"),
        INERT("sklearn.metrics._scorer", "_ProbaScorer"),
        INERT("sklearn.metrics._scorer", "_ThresholdScorer"),
        INERT("sklearn.metrics._scorer", "_Scorer"),
        INERT("sklearn.metrics._scorer", "_PassthroughScorer"),
        INERT("sklearn.metrics._scorer", "_MultimetricScorer"),
        INERT("sklearn.metrics._scorer", "_passthrough_scorer"),
        INERT("sklearn.metrics._classification", "accuracy_score"),
        INERT("sklearn.metrics._classification", "balanced_accuracy_score"),
        INERT("sklearn.metrics._classification", "f1_score"),
        INERT("sklearn.metrics._classification", "fbeta_score"),
        INERT("sklearn.metrics._classification", "precision_score"),
        INERT("sklearn.metrics._classification", "recall_score"),
        INERT("sklearn.metrics._classification", "jaccard_score"),
        INERT("sklearn.metrics._classification", "log_loss"),
        INERT("sklearn.metrics._classification", "matthews_corrcoef"),
        INERT("sklearn.metrics._classification", "brier_score_loss"),
        INERT("sklearn.metrics._ranking", "roc_auc_score"),
        INERT("sklearn.metrics._ranking", "average_precision_score"),
        INERT("sklearn.metrics._regression", "r2_score"),
        INERT("sklearn.metrics._regression", "mean_squared_error"),
        INERT("sklearn.metrics._regression", "mean_absolute_error"),
        INERT("sklearn.metrics._regression", "root_mean_squared_error"),
        INERT("sklearn.metrics._regression", "mean_absolute_percentage_error"),
        INERT("sklearn.metrics._regression", "median_absolute_error"),
        INERT("sklearn.metrics._regression", "explained_variance_score"),
        INERT("sklearn.metrics._regression", "max_error"),
        /* cv splitters given as cv= */
        INERT("sklearn.model_selection._split", "KFold"),
        INERT("sklearn.model_selection._split", "StratifiedKFold"),
        INERT("sklearn.model_selection._split", "RepeatedKFold"),
        INERT("sklearn.model_selection._split", "RepeatedStratifiedKFold"),
        INERT("sklearn.model_selection._split", "ShuffleSplit"),
        INERT("sklearn.model_selection._split", "StratifiedShuffleSplit"),
        INERT("sklearn.model_selection._split", "TimeSeriesSplit"),
        /* parameter grids: range(...) */
        INERT("builtins", "range"),
        INERT("__builtin__", "xrange"),
        /* cv_results_ keeps each parameter's column as a masked array */
        INERT("numpy.ma.core", "_mareconstruct"),
        INERT("numpy.ma.core", "MaskedArray"),
        INERT("numpy.ma", "MaskedArray"), /* numpy 2.2 on names its public module */
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
