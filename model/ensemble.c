/* ensemble.c - voting, stacking, bagging and calibration (issue 3). */
#include "model_internal.h"
