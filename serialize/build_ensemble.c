/* build_ensemble.c - builders for voting, stacking, bagging and calibration (issue 3). */
#include "build_internal.h"

const struct build_entry build_ensemble_entries[] = {
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
