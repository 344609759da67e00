/* kernel.c - SVMs and nearest neighbours (issue 3). */
#include "model_internal.h"
