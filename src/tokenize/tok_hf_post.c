/* tokenizer.json post-processors. Part of the pipeline of tok_bpe.c. */
#include "tokenize/tok_hf_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- post-processors ---------------------------------------------------------------------- */

void bend_hf_postproc_free(postproc *p)
{
    for (size_t i = 0; i < p->n_kids; i++) bend_hf_postproc_free(&p->kids[i]);
    free(p->kids);
    for (size_t i = 0; i < p->n_pieces; i++) free(p->pieces[i].ids);
    free(p->pieces);
    memset(p, 0, sizeof *p);
}

static bool parse_tok_pair(json_t *a, int32_t *id)
{
    if (!json_is_array(a) || json_array_size(a) != 2) return false;
    long long x;
    if (!bend_json_int(json_array_get(a, 1), 0, BEND_TOK_MAX_ID, &x)) return false;
    *id = (int32_t)x;
    return true;
}

bend_status bend_hf_postproc_parse(postproc *p, json_t *j, const char *path, int depth,
                                   bend_error *err)
{
    memset(p, 0, sizeof *p);
    if (depth > 16) return bend_fail(err, BEND_ERR_PARSE, "%s: post-processors nested too deeply", path);
    const char *type = bend_hf_jstr(j, "type");
    if (!type) return bend_fail(err, BEND_ERR_PARSE, "%s: post_processor without a \"type\"", path);
    if (!strcmp(type, "Sequence")) {
        p->kind = PP_SEQ;
        json_t *a = json_object_get(j, "processors");
        if (!json_is_array(a))
            return bend_fail(err, BEND_ERR_PARSE, "%s: Sequence post_processor without a "
                             "\"processors\" list", path);
        p->kids = calloc(json_array_size(a) + 1, sizeof *p->kids);
        if (!p->kids) return NOMEM(err);
        for (size_t i = 0; i < json_array_size(a); i++) {
            bend_status st = bend_hf_postproc_parse(&p->kids[i], json_array_get(a, i), path, depth + 1, err);
            p->n_kids = i + 1;
            if (st) return st;
        }
        return BEND_OK;
    }
    if (!strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing")) {
        bool roberta = !strcmp(type, "RobertaProcessing");
        p->kind = roberta ? PP_ROBERTA : PP_BERT;
        if (!parse_tok_pair(json_object_get(j, "cls"), &p->cls) ||
            !parse_tok_pair(json_object_get(j, "sep"), &p->sep))
            return bend_fail(err, BEND_ERR_PARSE, "%s: %s needs \"cls\" and \"sep\" as [token, id]",
                             path, type);
        p->trim_offsets = roberta && bend_hf_jbool(j, "trim_offsets", true);
        p->add_prefix_space = roberta && bend_hf_jbool(j, "add_prefix_space", true);
        return BEND_OK;
    }
    if (!strcmp(type, "ByteLevel")) {
        p->kind = PP_BYTELEVEL;
        p->trim_offsets = bend_hf_jbool(j, "trim_offsets", true);
        p->add_prefix_space = bend_hf_jbool(j, "add_prefix_space", true);
        return BEND_OK;
    }
    if (!strcmp(type, "TemplateProcessing")) {
        p->kind = PP_TEMPLATE;
        json_t *single = json_object_get(j, "single"), *specials = json_object_get(j, "special_tokens");
        if (!json_is_array(single))
            return bend_fail(err, BEND_ERR_PARSE, "%s: TemplateProcessing without a \"single\" "
                             "template list", path);
        p->pieces = calloc(json_array_size(single) + 1, sizeof *p->pieces);
        if (!p->pieces) return NOMEM(err);
        for (size_t i = 0; i < json_array_size(single); i++) {
            json_t *e = json_array_get(single, i);
            json_t *sq = json_object_get(e, "Sequence"), *sp = json_object_get(e, "SpecialToken");
            tpiece *tp = &p->pieces[i];
            p->n_pieces = i + 1;
            if (json_is_object(sq)) {
                const char *sid = bend_hf_jstr(sq, "id");
                if (!sid || strcmp(sid, "A"))
                    return bend_fail(err, BEND_ERR_PARSE, "%s: the single template may only hold "
                                     "the sequence \"A\"", path);
                tp->is_seq = true;
                continue;
            }
            const char *name = bend_hf_jstr(sp, "id");
            json_t *def = name && json_is_object(specials) ? json_object_get(specials, name) : NULL;
            json_t *ids = json_object_get(def, "ids");
            if (!json_is_array(ids))
                return bend_fail(err, BEND_ERR_PARSE, "%s: template token \"%.40s\" has no entry in "
                                 "special_tokens", path, name ? name : "?");
            tp->ids = calloc(json_array_size(ids) + 1, sizeof *tp->ids);
            if (!tp->ids) return NOMEM(err);
            for (size_t k = 0; k < json_array_size(ids); k++) {
                long long x;
                if (!bend_json_int(json_array_get(ids, k), 0, BEND_TOK_MAX_ID, &x))
                    return bend_fail(err, BEND_ERR_PARSE, "%s: special token \"%.40s\" has a bad id",
                                     path, name);
                tp->ids[k] = (int32_t)x;
                tp->n_ids = k + 1;
            }
        }
        return BEND_OK;
    }
    return bend_fail(err, BEND_ERR_UNSUPPORTED, "%s: post_processor type \"%.60s\" is not "
                     "supported (supported: TemplateProcessing, BertProcessing, RobertaProcessing, "
                     "ByteLevel, Sequence)", path, type);
}

/* ByteLevel's process_offsets */
static void trim_offsets(etoks *t, bool add_prefix_space)
{
    for (size_t i = 0; i < t->n; i++) {
        etok *k = &t->v[i];
        if (!k->str) continue;
        size_t lead = 0, trail = 0, p = 0;
        while (p < k->len) {
            uint32_t cp;
            size_t l = bend_utf8_next(k->str, k->len, p, &cp);
            if (cp != 0x120 && !bend_is_rust_space(cp)) break;
            lead++;
            p += l;
        }
        size_t e = k->len;
        while (e > 0) {
            size_t q = e - 1;
            while (q > 0 && ((unsigned char)k->str[q] & 0xC0) == 0x80) q--;
            uint32_t cp;
            bend_utf8_next(k->str, e, q, &cp);
            if (cp != 0x120 && !bend_is_rust_space(cp)) break;
            trail++;
            e = q;
        }
        if (lead > 0) {
            bool is_first = i == 0 || k->s == 0;
            if (is_first && add_prefix_space && lead == 1) lead = 0;
            k->s = k->s + (int64_t)lead < k->e ? k->s + (int64_t)lead : k->e;
        }
        if (trail > 0 && k->e >= (int64_t)trail)
            k->e = k->e - (int64_t)trail > k->s ? k->e - (int64_t)trail : k->s;
    }
}

int bend_hf_post_apply(const postproc *p, etoks *t, bool add_special)
{
    if (p->kind == PP_SEQ) {
        for (size_t i = 0; i < p->n_kids; i++)
            if (bend_hf_post_apply(&p->kids[i], t, add_special)) return -1;
        return 0;
    }
    if (p->kind == PP_BYTELEVEL || p->kind == PP_ROBERTA) {
        if (p->trim_offsets) trim_offsets(t, p->add_prefix_space);
        if (p->kind == PP_BYTELEVEL) return 0;
    }
    if (!add_special) return 0;
    etoks out = {0};
    int rc = 0;
    if (p->kind == PP_BERT || p->kind == PP_ROBERTA) {
        rc = bend_hf_etoks_push(&out, p->cls, 0, 0, NULL, 0);
        for (size_t i = 0; i < t->n && !rc; i++) rc = bend_hf_etoks_push(&out, t->v[i].id, t->v[i].s, t->v[i].e, t->v[i].str, t->v[i].len);
        if (!rc) rc = bend_hf_etoks_push(&out, p->sep, 0, 0, NULL, 0);
    } else {
        for (size_t k = 0; k < p->n_pieces && !rc; k++) {
            const tpiece *tp = &p->pieces[k];
            if (tp->is_seq) {
                for (size_t i = 0; i < t->n && !rc; i++)
                    rc = bend_hf_etoks_push(&out, t->v[i].id, t->v[i].s, t->v[i].e, t->v[i].str, t->v[i].len);
            } else {
                for (size_t i = 0; i < tp->n_ids && !rc; i++) rc = bend_hf_etoks_push(&out, tp->ids[i], 0, 0, NULL, 0);
            }
        }
    }
    if (rc) {
        free(out.v);
        return -1;
    }
    free(t->v);
    *t = out;
    return 0;
}
