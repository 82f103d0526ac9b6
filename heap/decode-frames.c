/* decode-frames: frames (<=3.10 frame objects, 3.11+ interpreter frames
 * inside frame objects and generators), generators, coroutines, async
 * generators and tracebacks.  Rows in decode-table.h.
 */
#include "decode-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_OWNED_BY_FRAME_OBJECT 2

SIMPLE_DECODER(dec_traceback, LS_TRACEBACK,
               { LF_TRACEBACK_NEXT, CL_TB_NEXT }, { LF_TRACEBACK_FRAME, CL_TB_FRAME })

/* Tuple item i of a names tuple, as a label of the given style. */
static int tuple_name_label(struct walker *w, uint64_t tup, uint64_t i, enum lstyle st,
                            uint32_t *ret)
{
        uint64_t s;

        if (pyo_u64(&w->p, tup + lo(w->l, LF_TUPLE_ITEM) + 8 * i, &s) < 0 || !s)
                return -EFAULT;
        return str_label(w, s, st, ret);
}

static int tuple_len(struct walker *w, uint64_t tup, uint64_t *ret)
{
        if (!tup) {
                *ret = 0;
                return 0;
        }
        if (pyo_u64(&w->p, tup + lo(w->l, LF_VAROBJECT_SIZE), ret) < 0 || *ret > MAX_FRAME_SLOTS)
                return -EBADMSG;
        return 0;
}

static int stack_label(struct walker *w, uint64_t i, uint32_t *ret)
{
        char text[40];

        snprintf(text, sizeof(text), "<stack[%llu]>", (unsigned long long)i);
        return text_label(w, text, ret);
}

/* Emits n frame slots at `slots`: locals named by `names` (a function from
 * index to label), the rest as value stack. */
struct slotnames {
        uint64_t tup[3];         /* name tuples in order */
        uint64_t len[3];
        uint64_t nlocals;        /* slots that are named */
};

static int slot_label(struct walker *w, const struct slotnames *sn, uint64_t i, uint32_t *ret)
{
        uint64_t j = i;

        if (i >= sn->nlocals)
                return stack_label(w, i - sn->nlocals, ret);
        for (int k = 0; k < 3; k++) {
                if (j < sn->len[k]) {
                        if (tuple_name_label(w, sn->tup[k], j, LS_LOCAL, ret) == 0)
                                return 0;
                        break;
                }
                j -= sn->len[k];
        }
        *ret = heap_label_index((uint32_t)i);
        return 0;
}

static int emit_slots(struct walker *w, uint64_t slots, uint64_t n,
                      const struct slotnames *sn, bool tagged)
{
        int r;

        if (n > MAX_FRAME_SLOTS) {
                partial(w);
                return 0;
        }
        for (uint64_t i = 0; i < n; i++) {
                const uint8_t *a = pyo_array(&w->p, 1, slots, n * 8);
                uint64_t v;
                uint32_t lab;

                if (!a) {
                        partial(w);
                        return 0;
                }
                v = ld64(a, (uint32_t)(i * 8));
                if (tagged) {
                        /* 3.14+ _PyStackRef: 1 is NULL, low bits 11 a tagged
                         * int, other tags mark borrowed references. */
                        if (v == 1 || (v & 3) == 3)
                                continue;
                        v &= ~(uint64_t)3;
                }
                if (!v)
                        continue;
                r = slot_label(w, sn, i, &lab);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        lab = heap_label_index((uint32_t)i);
                r = emit(w, v, lab);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* _PyFrame_Traverse for 3.11+ interpreter frames (inside frame objects and
 * generators). */
static int iframe_traverse(struct walker *w, uint64_t fr)
{
        const struct layout *l = w->l;
        bool tagged = l->facts.tagged_stackrefs;
        uint8_t b[256];
        const void *v = view_struct(w, fr, LS_IFRAME, b, sizeof(b));
        struct slotnames sn;
        uint64_t code, func, n = 0, ct;
        int r;

        if (!v) {
                partial(w);
                return 0;
        }
        r = emit_field(w, v, fr, LF_IFRAME_FRAME_OBJ, w->lab[CL_FRAME_OBJ]);
        if (r >= 0)
                r = emit_field(w, v, fr, LF_IFRAME_LOCALS, w->lab[CL_F_LOCALS]);
        if (r < 0)
                return r;
        func = lhas(l, LF_IFRAME_FUNC) ? ld64(v, lo(l, LF_IFRAME_FUNC)) : 0;
        code = lhas(l, LF_IFRAME_CODE) ? ld64(v, lo(l, LF_IFRAME_CODE)) : 0;
        if (tagged) {
                func = (func == 1 || (func & 3) == 3) ? 0 : func & ~(uint64_t)3;
                code = (code == 1 || (code & 3) == 3) ? 0 : code & ~(uint64_t)3;
        }
        r = emit(w, func, w->lab[CL_F_FUNCOBJ]);
        if (r >= 0)
                r = emit(w, code, w->lab[CL_F_CODE]);
        if (r < 0)
                return r;
        if (!lhas(l, LF_IFRAME_LOCALSPLUS))
                return 0;
        if (lhas(l, LF_IFRAME_STACKPOINTER)) {
                uint64_t sp = ld64(v, lo(l, LF_IFRAME_STACKPOINTER));
                uint64_t base = fr + lo(l, LF_IFRAME_LOCALSPLUS);

                if (sp && (sp < base || ((sp - base) & 7))) {
                        partial(w);
                        return 0;
                }
                n = sp ? (sp - base) / 8 : 0;
        } else if (lhas(l, LF_IFRAME_STACKTOP)) {
                int32_t st = (int32_t)ld32(v, lo(l, LF_IFRAME_STACKTOP));

                if (st < 0) {
                        partial(w);
                        return 0;
                }
                n = (uint64_t)st;
        }
        memset(&sn, 0, sizeof(sn));
        if (code && pyo_type_of(&w->p, code, &ct) == 0 && is_sym(w, PYSYM_CODE_TYPE, ct) &&
            lhas(l, LF_CODE_LOCALSPLUSNAMES) && lhas(l, LF_CODE_NLOCALSPLUS)) {
                uint64_t nlp;

                if (pyo_u64(&w->p, code + lo(l, LF_CODE_NLOCALSPLUS), &nlp) == 0 &&
                    pyo_u64(&w->p, code + lo(l, LF_CODE_LOCALSPLUSNAMES), &sn.tup[0]) == 0 &&
                    tuple_len(w, sn.tup[0], &sn.len[0]) == 0) {
                        sn.nlocals = (uint32_t)nlp;
                        if (sn.len[0] < sn.nlocals)
                                sn.nlocals = sn.len[0];
                }
        }
        return emit_slots(w, fr + lo(l, LF_IFRAME_LOCALSPLUS), n, &sn, tagged);
}

/* 3.11+: a frame object points to the interpreter frame, which it owns
 * once the frame has finished. */
static int frame_obj_traverse(struct walker *w, uint64_t obj)
{
        static const struct fdesc fd[] = {
                { LF_FRAMEOBJ_BACK, CL_F_BACK }, { LF_FRAMEOBJ_TRACE, CL_F_TRACE },
                { LF_FRAMEOBJ_EXTRA_LOCALS, CL_F_EXTRA_LOCALS },
                { LF_FRAMEOBJ_LOCALS_CACHE, CL_F_LOCALS_CACHE },
        };
        const struct layout *l = w->l;
        uint64_t fr;
        const uint8_t *ov;
        uint8_t ob;
        int r;

        r = emit_fields(w, obj, LS_FRAMEOBJ, fd, sizeof(fd) / sizeof(fd[0]));
        if (r < 0)
                return r;
        if (pyo_u64(&w->p, obj + lo(l, LF_FRAMEOBJ_FRAME), &fr) < 0 || !fr ||
            !lhas(l, LF_IFRAME_OWNER)) {
                partial(w);
                return 0;
        }
        ov = pyo_view(&w->p, fr + lo(l, LF_IFRAME_OWNER), 1, &ob);
        if (!ov) {
                partial(w);
                return 0;
        }
        if (ov[0] != FRAME_OWNED_BY_FRAME_OBJECT)
                return 0;
        return iframe_traverse(w, fr);
}

int dec_frame(struct walker *w, uint64_t obj, struct tinfo *t)
{
        const struct layout *l = w->l;
        int r;

        (void)t;
        if (lhas(l, LF_FRAMEOBJ_FRAME))
                return frame_obj_traverse(w, obj);

        /* <=3.10: the frame object is the frame. */
        static const struct fdesc fd[] = {
                { LF_FRAMEOBJ_BACK, CL_F_BACK }, { LF_FRAMEOBJ_CODE, CL_F_CODE },
                { LF_FRAMEOBJ_BUILTINS, CL_F_BUILTINS }, { LF_FRAMEOBJ_GLOBALS, CL_F_GLOBALS },
                { LF_FRAMEOBJ_LOCALS, CL_F_LOCALS }, { LF_FRAMEOBJ_TRACE, CL_F_TRACE },
        };
        struct slotnames sn;
        uint64_t code, nslots, vs, nstack = 0;
        uint32_t nl;

        r = emit_fields(w, obj, LS_FRAMEOBJ, fd, sizeof(fd) / sizeof(fd[0]));
        if (r < 0)
                return r;
        memset(&sn, 0, sizeof(sn));
        if (pyo_u64(&w->p, obj + lo(l, LF_FRAMEOBJ_CODE), &code) < 0 || !code ||
            !lhas(l, LF_CODE_NLOCALS) || !lhas(l, LF_FRAMEOBJ_LOCALSPLUS)) {
                partial(w);
                return 0;
        }
        {
                uint8_t nb[4];
                const uint8_t *nv = pyo_view(&w->p, code + lo(l, LF_CODE_NLOCALS), 4, nb);

                if (!nv) {
                        partial(w);
                        return 0;
                }
                nl = ld32(nv, 0);
        }
        if ((int32_t)nl < 0 ||
            pyo_u64(&w->p, code + lo(l, LF_CODE_VARNAMES), &sn.tup[0]) < 0 ||
            pyo_u64(&w->p, code + lo(l, LF_CODE_CELLVARS), &sn.tup[1]) < 0 ||
            pyo_u64(&w->p, code + lo(l, LF_CODE_FREEVARS), &sn.tup[2]) < 0 ||
            tuple_len(w, sn.tup[1], &sn.len[1]) < 0 || tuple_len(w, sn.tup[2], &sn.len[2]) < 0 ||
            tuple_len(w, sn.tup[0], &sn.len[0]) < 0) {
                partial(w);
                return 0;
        }
        if (sn.len[0] > nl)
                sn.len[0] = nl;
        nslots = nl + sn.len[1] + sn.len[2];
        sn.nlocals = nslots;
        /* Stack: 3.8/3.9 up to f_stacktop (NULL while running), 3.10
         * f_stackdepth entries of f_valuestack. */
        if (pyo_u64(&w->p, obj + lo(l, LF_FRAMEOBJ_VALUESTACK), &vs) < 0) {
                partial(w);
                return 0;
        }
        if (lhas(l, LF_FRAMEOBJ_STACKTOP)) {
                uint64_t top;

                if (pyo_u64(&w->p, obj + lo(l, LF_FRAMEOBJ_STACKTOP), &top) < 0) {
                        partial(w);
                        return 0;
                }
                if (top && (top < vs || ((top - vs) & 7))) {
                        partial(w);
                        return 0;
                }
                nstack = top ? (top - vs) / 8 : 0;
        } else if (lhas(l, LF_FRAMEOBJ_STACKDEPTH)) {
                uint32_t sd;
                uint8_t sb[4];
                const uint8_t *sv = pyo_view(&w->p, obj + lo(l, LF_FRAMEOBJ_STACKDEPTH), 4, sb);

                if (!sv || (int32_t)(sd = ld32(sv, 0)) < 0) {
                        partial(w);
                        return 0;
                }
                nstack = sd;
        }
        r = emit_slots(w, obj + lo(l, LF_FRAMEOBJ_LOCALSPLUS), nslots, &sn, false);
        if (r < 0 || !nstack)
                return r;
        /* The value stack directly follows the slots in all of 3.8-3.10,
         * but f_valuestack says where it is. */
        {
                struct slotnames none;

                memset(&none, 0, sizeof(none));
                return emit_slots(w, vs, nstack, &none, false);
        }
}

int dec_gen(struct walker *w, uint64_t obj, struct tinfo *t)
{
        const struct layout *l = w->l;
        uint64_t exc;
        int r;

        (void)t;
        r = emit_field(w, NULL, obj, LF_GEN_FRAME, w->lab[CL_GI_FRAME]);
        if (r >= 0)
                r = emit_field(w, NULL, obj, LF_GEN_CODE, w->lab[CL_GI_CODE]);
        if (r >= 0)
                r = emit_field(w, NULL, obj, LF_GEN_NAME, w->lab[CL_NAME]);
        if (r >= 0)
                r = emit_field(w, NULL, obj, LF_GEN_QUALNAME, w->lab[CL_QUALNAME]);
        if (r < 0)
                return r;
        if (lhas(l, LF_GEN_IFRAME) && lhas(l, LF_GEN_FRAME_STATE)) {
                uint8_t sb;
                const uint8_t *sv = pyo_view(&w->p, obj + lo(l, LF_GEN_FRAME_STATE), 1, &sb);

                if (!sv) {
                        partial(w);
                } else if ((int8_t)sv[0] != l->facts.frame_state_cleared) {
                        r = iframe_traverse(w, obj + lo(l, LF_GEN_IFRAME));
                        if (r < 0)
                                return r;
                } else if (l->facts.tagged_stackrefs && lhas(l, LF_IFRAME_CODE)) {
                        /* 3.14+: a cleared frame still holds its code as a
                         * (possibly deferred) stack ref, and gen_traverse
                         * visits it to keep it alive. */
                        uint64_t code;

                        if (pyo_u64(&w->p, obj + lo(l, LF_GEN_IFRAME) + lo(l, LF_IFRAME_CODE),
                                    &code) < 0) {
                                partial(w);
                        } else {
                                r = emit(w, untag_ref(w, code), w->lab[CL_F_CODE]);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        if (!lhas(l, LF_GEN_EXC_STATE))
                return 0;
        exc = obj + lo(l, LF_GEN_EXC_STATE);
        r = emit_field(w, NULL, exc, LF_ERRITEM_TYPE, w->lab[CL_EXC_TYPE]);
        if (r >= 0)
                r = emit_field(w, NULL, exc, LF_ERRITEM_VALUE, w->lab[CL_EXC_VALUE]);
        if (r >= 0)
                r = emit_field(w, NULL, exc, LF_ERRITEM_TRACEBACK, w->lab[CL_EXC_TB]);
        return r;
}

int dec_asyncgen(struct walker *w, uint64_t obj, struct tinfo *t)
{
        int r = emit_field(w, NULL, obj, LF_ASYNCGEN_FINALIZER, w->lab[CL_AG_FINALIZER]);

        if (r < 0)
                return r;
        return dec_gen(w, obj, t);
}
