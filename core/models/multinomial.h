/* multinomial.h - multinomial (softmax) logistic regression over K classes with sample weights
 * and ridge: its value, gradient and Hessian-vector product, all through the overflow-free
 * two-pass softmax of core/kernels/softmax.h, so no score, however large, gives an infinite or NaN loss.
 *
 *   f(W) = (1/m) sum_i w_i [ lse(z_i) - z_{i, y_i} ] + (lambda/2) |W|_F^2,   z_i = W' a_i
 *
 * W is d x K, row-major (W[j*K + c] is feature j's weight for class c); a_i is row i of A and
 * y_i in [0, K) its label. With p_i = softmax(z_i) and e_y the unit vector of class y:
 *   grad f = (1/m) sum_i w_i a_i (p_i - e_{y_i})' + lambda W
 *   H V    = (1/m) sum_i w_i a_i (p_i o u_i - p_i (p_i' u_i))' + lambda V,   u_i = V' a_i
 * Nothing here allocates: each call takes a work array of SV_MNL_WORK(K) doubles. */
#ifndef SV_MULTINOMIAL_H
#define SV_MULTINOMIAL_H

#include <stddef.h>
#include "core/linalg.h"

typedef struct {
    const sv_mat *A;   /* m x d data */
    const int *y;      /* m labels in [0, K) */
    const double *w;   /* m sample weights >= 0; NULL = all ones */
    int K;             /* classes, >= 2 */
    double lambda;     /* ridge weight >= 0 */
} sv_mnl;

/* Doubles of work every function below needs. */
#define SV_MNL_WORK(K) (3 * (size_t)(K))

/* Checks shapes, labels, weights and lambda (errors name "/problem/<field>"). */
int sv_mnl_check(const sv_mnl *p, sv_err *e);

/* f(W); grad (d*K, may be NULL) gets the gradient. */
double sv_mnl_value(const sv_mnl *p, const double *W, double *grad, double *work);
/* out = Hessian(W) V (d*K). */
void sv_mnl_hvp(const sv_mnl *p, const double *W, const double *V, double *out, double *work);
/* The same over the mini-batch idx[0..k): (1/k) sum_{i in batch} w_i l_i + ridge. */
double sv_mnl_batch_value(const sv_mnl *p, const int *idx, int k, const double *W, double *grad,
                          double *work);
/* Class probabilities of sample i (K values) and its log-sum-exp; returns the sample's loss
 * l_i = lse(z_i) - z_{i,y_i} (unweighted). */
double sv_mnl_sample(const sv_mnl *p, const double *W, int i, double *prob, double *work);

#endif
