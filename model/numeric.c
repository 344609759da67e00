/* numeric.c - the handful of numpy/scipy reductions whose rounding decides
 * whether predictd agrees with scikit-learn bit for bit: numpy's pairwise
 * float64 sum, argmax's tie rule, sklearn's softmax and scipy's expit and
 * logsumexp. */
#include <math.h>

#include "model_internal.h"

/* numpy reduces float64 sums with an 8-accumulator pairwise scheme
 * (blocks of 128, halved recursively above). A plain loop rounds
 * differently from 8 values on, which can break ties in argmax. */
static double pairwise_sum(const double *a, size_t n)
{
        if (n < 8) {
                double res = 0.0;
                for (size_t i = 0; i < n; i++)
                        res += a[i];
                return res;
        }
        if (n <= 128) {
                double r[8];
                size_t i;
                for (int j = 0; j < 8; j++)
                        r[j] = a[j];
                for (i = 8; i < n - (n % 8); i += 8)
                        for (int j = 0; j < 8; j++)
                                r[j] += a[i + j];
                double res = ((r[0] + r[1]) + (r[2] + r[3])) +
                             ((r[4] + r[5]) + (r[6] + r[7]));
                for (; i < n; i++)
                        res += a[i];
                return res;
        }
        size_t n2 = n / 2;
        n2 -= n2 % 8;
        return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

double model_np_sum(const double *a, size_t n)
{
        /* The reduction starts from the identity 0.0. */
        return 0.0 + pairwise_sum(a, n);
}

size_t model_np_argmax(const double *a, size_t n)
{
        size_t best = 0;
        for (size_t i = 1; i < n; i++) {
                /* numpy treats NaN as the maximum (first NaN wins). */
                if (isnan(a[best]))
                        return best;
                if (isnan(a[i]) || a[i] > a[best])
                        best = i;
        }
        return best;
}

/* out[i] = exp(a[i] - max(a)); returns the max. out may be a. */
static double exp_shifted(const double *a, size_t n, double *out)
{
        double max = a[0];
        for (size_t i = 1; i < n; i++)
                if (a[i] > max)
                        max = a[i];
        /* exp(max - max) is exp(0.0), exactly 1: one call fewer (a
         * finite max only: inf - inf is NaN) */
        bool finite = isfinite(max);
        for (size_t i = 0; i < n; i++)
                out[i] = finite && a[i] == max ? 1.0 : exp(a[i] - max);
        return max;
}

void model_softmax_row(double *row, size_t n)
{
        exp_shifted(row, n, row);
        double sum = model_np_sum(row, n);
        for (size_t i = 0; i < n; i++)
                row[i] /= sum;
}

double model_logsumexp(const double *a, size_t n, double *scratch)
{
        double max = exp_shifted(a, n, scratch);
        return log(model_np_sum(scratch, n)) + max;
}

double model_expit(double x)
{
        return 1.0 / (1.0 + exp(-x));
}

/* numpy's x86-64 baseline kernel for a contiguous float64 einsum reduction
 * (sum_of_products_contig_contig_outstride0_two): two SSE2 lanes, lane l
 * taking elements l, l+2, ...; per block of eight it adds the block's
 * four products of each lane last-first, then one per lane for the rest,
 * then lane 0 + lane 1. Multiply and add are separate roundings. Checked
 * bit for bit against np.einsum of numpy 1.24, 2.2 and 2.4. */
double model_einsum_sumsq(const double *x, size_t n)
{
        double lane[2] = { 0.0, 0.0 };
        size_t i = 0;
        for (; n - i >= 8; i += 8)
                for (size_t k = 4; k-- > 0;)
                        for (size_t l = 0; l < 2; l++)
                                lane[l] = x[i + 2 * k + l] * x[i + 2 * k + l] + lane[l];
        for (; i < n; i += 2)
                for (size_t l = 0; l < 2 && i + l < n; l++)
                        lane[l] = x[i + l] * x[i + l] + lane[l];
        return lane[0] + lane[1];
}
