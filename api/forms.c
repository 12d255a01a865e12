/* forms.c - choosing, checking and describing a problem's form (see forms.h). */
#include "api/forms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/jsonval.h"
#include "api/params.h"

/* The forms' keys as "a, b<last>c" with last " and " or " or ". */
static void key_list(const sv_problem_form *forms, const char *last, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; forms[i].key && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s",
                                i == 0 ? "" : forms[i + 1].key ? ", " : last, forms[i].key);
}

int sv_forms_pick(const sv_problem_form *forms, const json_t *problem, int *which, sv_err *e)
{
    if (sv_json_object(problem, "/problem", e) != SV_OK)
        return SV_EINVAL;
    int found = -1, count = 0;
    for (int i = 0; forms[i].key; i++)
        if (json_object_get(problem, forms[i].key)) {
            if (found < 0)
                found = i;
            count++;
        }
    if (count != 1) {
        char list[256];
        key_list(forms, count ? " and " : " or ", list, sizeof list);
        return sv_fail(e, "/problem", count ? "give only one of %s" : "needs one of %s", list);
    }
    if (sv_json_no_unknown(problem, "/problem", forms[found].members, e) != SV_OK)
        return SV_EINVAL;
    *which = found;
    return SV_OK;
}

int sv_forms_decode_key(const sv_problem_form *f, const json_t *problem, void *out, sv_err *e)
{
    char path[sizeof e->field];
    snprintf(path, sizeof path, "/problem/%s", f->key);
    return sv_params_decode_at(f->fields, json_object_get(problem, f->key), path, out, e);
}

json_t *sv_forms_schema(const sv_problem_form *forms)
{
    json_t *one_of = json_array();
    json_t *schema = json_pack("{s:o}", "oneOf", one_of);
    if (!schema)
        return NULL;
    for (int i = 0; forms[i].key; i++) {
        const sv_problem_form *f = &forms[i];
        json_t *props = NULL;
        if (f->properties) {
            json_error_t jerr;
            props = json_loads(f->properties, 0, &jerr);
            if (!json_is_object(props)) {
                json_decref(props);
                json_decref(schema);
                return NULL;
            }
        } else {
            props = json_object();
        }
        if (f->fields) {
            void *defaults = calloc(1, f->fields_size ? f->fields_size : 1);
            if (!defaults) {
                json_decref(props);
                json_decref(schema);
                return NULL;
            }
            sv_params_defaults(f->fields, defaults);
            json_object_set_new(props, f->key, sv_params_schema(f->fields, defaults));
            free(defaults);
        }
        /* Members the form accepts but neither text nor table describes: any value. */
        for (const char *const *m = f->members; m && *m; m++)
            if (!json_object_get(props, *m))
                json_object_set_new(props, *m, json_object());
        json_t *form = json_pack("{s:s, s:[s], s:o, s:b}", "type", "object", "required", f->key,
                                 "properties", props, "additionalProperties", 0);
        if (form && f->summary)
            json_object_set_new(form, "description", json_string(f->summary));
        if (!form || json_array_append_new(one_of, form) != 0) {
            json_decref(schema);
            return NULL;
        }
    }
    return schema;
}
