/* preprocess.c - transformers beyond StandardScaler (issue 3). */
#include "model_internal.h"
