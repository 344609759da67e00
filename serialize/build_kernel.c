/* build_kernel.c - builders for SVMs and nearest neighbours (issue 3). */
#include "build_internal.h"

const struct build_entry build_kernel_entries[] = {
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};
