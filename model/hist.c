/* hist.c - histogram gradient boosting and isolation forests (issue 3). */
#include "model_internal.h"
