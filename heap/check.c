/* check: the walker's consistency checks and the problems they name (see
 * check.h, and heap.h for the model's side). */
#include "check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "heap-build.h"
#include "memsrc.h"


void check_report(struct walker *w, const struct heap_problem *p)
{
        heap_add_problem(w->h, p);
        w->inconsistencies++;
}

void check_header(struct walker *w, uint64_t node, uint64_t obj, enum heap_gen gen)
{
        struct heap_problem p = { .obj = obj, .node = node, .type = UINT32_MAX, .gen = gen,
                                  .check = HEAP_CHECK_HEADER };

        check_report(w, &p);
}

void check_referent(struct walker *w, uint32_t idx)
{
        const struct heap_obj *o = &w->h->objs[idx];
        struct heap_problem p = { .obj = o->addr, .type = o->type, .gen = HEAP_GEN_UNTRACKED,
                                  .check = HEAP_CHECK_REFERENT };

        check_report(w, &p);
}

int check_str_sizeof(struct walker *w, uint64_t obj, const struct tinfo *t, uint64_t *ret)
{
        uint64_t val;
        int bad, r;

        r = pyo_str_sizeof_check(&w->p, obj, ret, &bad, &val);
        if (r >= 0 || bad == PYO_STR_OK)
                return r;
        if (w->live) {
                /* a string freed and reused while we read it */
                memsrc_forget(w->p.m, obj, 128);
                r = pyo_str_sizeof_check(&w->p, obj, ret, &bad, &val);
                if (r >= 0 || bad == PYO_STR_OK)
                        return r;
        }
        struct heap_problem p = { .obj = obj, .value = val, .type = t->hidx,
                                  .gen = HEAP_GEN_UNTRACKED,
                                  .check = bad == PYO_STR_KIND ? HEAP_CHECK_STR_KIND :
                                                                 HEAP_CHECK_STR_LENGTH };

        check_report(w, &p);
        return r;
}

void check_dict_used(struct walker *w, uint64_t obj, const struct tinfo *t, const void *v,
                     const struct pyo_keys *k)
{
        const struct layout *l = w->l;
        /* USABLE_FRACTION (the same in 3.8-3.15) */
        uint64_t usable = (2 * k->size) / 3, used;

        if (!lhas(l, LF_DICT_USED) || lo(l, LF_DICT_USED) + 8 > lsz(l, LS_DICT))
                return;
        used = ld64(v, lo(l, LF_DICT_USED));
        if (used <= usable)
                return;
        if (w->live) {
                /* a resize replaces the keys while we read the dict: the
                 * two must come from one moment */
                struct pyo_keys k2;
                uint64_t u2;

                memsrc_forget(w->p.m, obj, lsz(l, LS_DICT));
                memsrc_forget(w->p.m, k->addr, 64);
                if (pyo_u64(&w->p, obj + lo(l, LF_DICT_USED), &u2) < 0 ||
                    pyo_u64(&w->p, obj + lo(l, LF_DICT_KEYS), &k2.addr) < 0 ||
                    pyo_keys(&w->p, k2.addr, &k2) < 0 || u2 <= (2 * k2.size) / 3)
                        return;
                used = u2;
                usable = (2 * k2.size) / 3;
        }
        struct heap_problem p = { .obj = obj, .value = used, .expect = usable, .type = t->hidx,
                                  .gen = HEAP_GEN_UNTRACKED, .check = HEAP_CHECK_DICT_USED };

        check_report(w, &p);
}
