/* build_hist.c - builders for histogram gradient boosting and isolation forests (issue 3). */
#include "build_internal.h"

const struct build_entry build_hist_entries[] = {
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
