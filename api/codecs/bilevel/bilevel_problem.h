/* bilevel_problem.h - the JSON form of a bilevel problem (core/models/bilevel.h), shared by every
 * bilevel.* codec: the decoder of the four classes in their three forms (explicit data,
 * {"generate": {...}}, {"dataset": {...}}), the problem schema, the starting points, and the
 * result fields every bilevel solver reports. The forms are sv_problem_form tables, one a class;
 * the "generate" objects are decoded by the parameter tables of core/models/bl_<class>.c. The
 * format is documented in docs/solvers/bilevel/problems.md.
 *
 * Use: sv_blp_read (checks the JSON, allocates nothing; enough for a codec's validate together
 * with sv_blp_validate), then sv_blp_build (generates, loads or copies the data and binds
 * d->prob), sv_blp_start (x0, y0), the solve, sv_blp_encode (result fields), sv_blp_free. */
#ifndef SV_BILEVEL_PROBLEM_H
#define SV_BILEVEL_PROBLEM_H

#include <jansson.h>

#include "api/codec.h"
#include "core/models/bilevel.h"

typedef enum { SV_BLP_EXPLICIT = 0, SV_BLP_GENERATE = 1, SV_BLP_DATASET = 2 } sv_blp_form;

typedef struct {
    /* ---- filled by sv_blp_read ---- */
    sv_blp_form form;
    sv_bl_class cls;
    int dx, dy;                        /* the dimensions the built problem will have */
    const json_t *json;                /* the "problem" object (borrowed) */
    const json_t *x0, *y0;             /* starting points or NULL (borrowed) */
    sv_bl_quadratic_spec gen_q;        /* generate: quadratic, constrained */
    sv_bl_constrained_spec gen_c;
    sv_bl_hyperclean_spec gen_hc;      /* generate and dataset: hyperclean */
    sv_bl_hyperparam_spec gen_hp;      /* generate and dataset: hyperparam */
    const char *ds_file;               /* dataset: file name inside env->data_dir */
    /* ---- filled by sv_blp_build (owned; sv_blp_free) ---- */
    sv_bl_quadratic quad;
    sv_bl_constrained con;
    sv_bl_hyperclean hc;
    sv_bl_hyperparam hp;
    sv_bl_problem prob;                /* bound to the class struct above */
    int built;
} sv_blp;

/* Reads and checks problem (JSON object) completely except for what needs numerics (the
 * positive definiteness of H, done by sv_blp_validate / sv_blp_build). Allocates nothing; d
 * borrows from problem. Returns SV_OK or SV_EINVAL with e->field a path under "/problem". */
int sv_blp_read(const json_t *problem, const sv_codec_env *env, sv_blp *d, sv_err *e);
/* What a codec's validate calls after sv_blp_read: for explicit quadratic and constrained data
 * with dy <= 500 it builds the problem and runs the class check (H symmetric positive definite,
 * constraint rows), then frees it; larger ones are checked when the job runs (a Cholesky
 * factorisation does not belong on the validating thread). Everything else is fully checked by
 * sv_blp_read already. */
int sv_blp_validate(sv_blp *d, const sv_codec_env *env, sv_err *e);
/* Builds the problem after a successful sv_blp_read and binds d->prob. SV_OK, SV_EINVAL (class
 * check or data-set file), SV_ENOMEM. On failure nothing stays allocated. */
int sv_blp_build(sv_blp *d, const sv_codec_env *env, sv_err *e);
/* Fills x0 (dx) and y0 (dy) from "x0"/"y0" or zeros, x0 projected onto the box of x. */
int sv_blp_start(const sv_blp *d, const sv_codec_env *env, double *x0, double *y0, sv_err *e);
/* Frees what sv_blp_build allocated; safe on a read-only or zeroed d. */
void sv_blp_free(sv_blp *d);

/* Adds the shared result fields to r for the final (x, y) of a solve: "x", "y",
 * "upper_objective" (F(x) = f(x, y*(x)), y* solved to 1e-10), "hypergrad_norm" (exact, at
 * y*(x)), "lower_residual" (of the returned y), "upper_at_y" (f(x, y) at the returned y),
 * and by class: quadratic "x_star" and "x_error" (|x - x*|); hyperclean "train_accuracy",
 * "validation_accuracy", "test_accuracy" (when there is a test set), "unweighted_validation_
 * accuracy" (the lower level solved with all weights 1/2, i.e. x = 0), "detection"
 * {"precision", "recall", "threshold": 0.5, "flagged"} when the flipped rows are known,
 * "weights" (sigmoid(x)); hyperparam "ridge" (exp(x)) and the accuracies (classification).
 * Returns SV_OK or SV_ENOMEM. */
int sv_blp_encode(const sv_blp *d, const double *x, const double *y, json_t *r);

/* The glue the bilevel codecs share. */

/* SV_OK unless the problem is of class cls, which the codec does not take: then SV_EINVAL at the
 * class member ("/problem/generate/class" in the generate form, else "/problem/class") with
 * why as the message. */
int sv_blp_refuse_class(const sv_blp *d, sv_bl_class cls, const char *why, sv_err *e);
/* After a successful sv_blp_read: sv_blp_build, then *x (dx) and *y (dy) allocated and filled
 * by sv_blp_start. On failure *x and *y are NULL; the caller still calls sv_blp_free(d). */
int sv_blp_prepare(sv_blp *d, const sv_codec_env *env, double **x, double **y, sv_err *e);
/* *out: a new result object that opens with "status", "iterations", "solve_time_s" of info,
 * then the fields of sv_blp_encode, then "objective": the exact upper objective F (a copy of
 * "upper_objective"), or info->obj (null when not finite) when F is unavailable. The codec adds
 * its own members after these. SV_OK or SV_ENOMEM (*out NULL). */
int sv_blp_result_new(const sv_blp *d, const sv_info *info, const double *x, const double *y,
                      json_t **out);

/* The JSON Schema of "problem" shared by the bilevel codecs: a "oneOf" of one alternative a
 * (class, form), from the forms tables (api/forms.h) and the generate tables beside the
 * generators (core/models/bl_<class>.c). New reference, NULL when out of memory. */
json_t *sv_blp_schema(void);

/* A small generated problem of the class for the codecs' examples ({"generate": {...}}). New
 * reference. */
json_t *sv_blp_example(sv_bl_class cls);

#endif
