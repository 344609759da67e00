/* build_probabilistic.c - builders for naive Bayes and neural networks (issue 3). */
#include "build_internal.h"

const struct build_entry build_probabilistic_entries[] = {
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
