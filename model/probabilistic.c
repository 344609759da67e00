/* probabilistic.c - naive Bayes and neural networks (issue 3). */
#include "model_internal.h"
