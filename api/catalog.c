/* catalog.c - built from the codec registry. */
#include "api/catalog.h"

static json_t *entry(const sv_codec *c)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", c->name, "family", c->family,
                     "summary", c->summary, "paper", c->paper, "doc", c->doc);
}

json_t *sv_catalog_list(void)
{
    json_t *arr = json_array();
    for (const sv_codec *const *c = sv_codecs(); *c; c++)
        json_array_append_new(arr, entry(*c));
    return json_pack("{s:o}", "solvers", arr);
}

json_t *sv_catalog_solver(const sv_codec *c)
{
    json_t *o = entry(c);
    json_object_set_new(o, "params", sv_codec_params_schema(c));
    json_object_set_new(o, "problem", c->problem_schema ? c->problem_schema() : json_object());
    json_object_set_new(o, "example", c->example());
    return o;
}
