/* registry.c - every solver codec solvd serves, from the one list in api/solvers.def. */
#include <stdlib.h>
#include <string.h>
#include "api/codec.h"
#include "api/params.h"

#define SV_SOLVER(family, stem) extern const sv_codec sv_codec_##stem;
#include "api/solvers.def"
#undef SV_SOLVER

static const sv_codec *const codecs[] = {
#define SV_SOLVER(family, stem) &sv_codec_##stem,
#include "api/solvers.def"
#undef SV_SOLVER
    NULL,
};

static const sv_solver_entry entries[] = {
#define SV_SOLVER(family, stem) {#family, #stem, #family "." #stem},
#include "api/solvers.def"
#undef SV_SOLVER
    {NULL, NULL, NULL},
};

const sv_codec *const *sv_codecs(void) { return codecs; }

const sv_solver_entry *sv_solver_entries(void) { return entries; }

const sv_codec *sv_codec_find(const char *name)
{
    for (const sv_codec *const *c = codecs; *c; c++)
        if (strcmp((*c)->name, name) == 0)
            return *c;
    return NULL;
}

json_t *sv_codec_params_schema(const sv_codec *c)
{
    void *defaults = calloc(1, c->settings_size ? c->settings_size : 1);
    if (!defaults)
        return NULL;
    c->settings_default(defaults);
    json_t *schema = sv_params_schema(c->params, defaults);
    free(defaults);
    return schema;
}
