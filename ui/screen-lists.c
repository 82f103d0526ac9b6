/* screen-lists.c: the table screens, sortable by every column: cycles,
 * types, and the object lists (instances of a type, garbage), each with
 * its own column-data function. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "fmt.h"
#include "heap-build.h"
#include "heap.h"
#include "screens-internal.h"
#include "view-index.h"
#include "view.h"

static const char *gen_short(uint8_t gen)
{
        switch (gen) {
        case HEAP_GEN_0: return "0";
        case HEAP_GEN_1: return "1";
        case HEAP_GEN_2: return "2";
        case HEAP_GEN_PERMANENT: return "perm";
        default: return "-";
        }
}

static const char *obj_flags(const struct heap *h, uint32_t i, char *buf)
{
        return ui_flags_text(h->objs[i].flags, buf);
}

/* ---- cycles ------------------------------------------------------------- */

enum { CC_RANK, CC_MEMBERS, CC_BYTES, CC_RETAINED, CC_STATE, CC_DELTA, CC_SIG };
static const struct column cycles_cols[] = {
        [CC_RANK] = {"#", 6, COL_RIGHT | COL_NUM},
        [CC_MEMBERS] = {"members", 8, COL_RIGHT | COL_NUM | COL_DESC},
        [CC_BYTES] = {"bytes", 10, COL_RIGHT | COL_NUM | COL_DESC},
        [CC_RETAINED] = {"retained", 10, COL_RIGHT | COL_NUM | COL_DESC},
        [CC_STATE] = {"state", 7, COL_NUM | COL_DESC},
        [CC_DELTA] = {"D", 6, COL_RIGHT | COL_NUM | COL_DESC | COL_DELTA},
        [CC_SIG] = {"type signature", 0, COL_SEARCH | COL_TYPE | COL_RANK},
};

static void cell_cycles(const struct view *v, const struct row *r, int col, char *buf,
                        size_t len, struct cell *out)
{
        const struct heap_cycles *c = ui_cycle_set(v->h, v->local);
        uint32_t i = r->a;

        out->text = buf;
        out->stable = false;
        out->num = 0;
        switch (col) {
        case CC_RANK:
                out->num = i + 1;
                if (buf)
                        snprintf(buf, len, "#%" PRIu32, i + 1);
                break;
        case CC_MEMBERS:
                out->num = ui_cycle_size(c, i);
                if (buf)
                        snprintf(buf, len, "%" PRId64, out->num);
                break;
        case CC_BYTES:
                out->num = (int64_t)c->bytes[i];
                if (buf)
                        fmt_bytes(c->bytes[i], buf, len);
                break;
        case CC_RETAINED:
                out->num = (int64_t)ui_cycle_retained(c, i);
                if (!buf)
                        break;
                if (c->retained)
                        fmt_bytes(c->retained[i], buf, len);
                else
                        snprintf(buf, len, "-");
                break;
        case CC_STATE:
                out->num = c->garbage[i];
                out->text = c->garbage[i] ? "GARBAGE" : "live";
                out->stable = true;
                break;
        case CC_DELTA:
                out->num = ui_index_sig_growth(v->ix, v->local, i);
                if (buf)
                        fmt_delta(out->num, buf, len);
                break;
        case CC_SIG:
                out->num = v->ix->sig_rank[v->local][v->ix->sig_id[v->local][i]];
                out->text = ui_index_sig(v->ix, v->local, i);
                out->stable = true;
                break;
        }
}

static void vrow_cycles(const struct view *v, uint32_t i, bool styled, struct row *out)
{
        const struct heap_cycles *c = ui_cycle_set(v->h, v->local);

        *out = (struct row){ .kind = ROW_CYCLE, .a = i, .b = v->local };
        if (styled)
                out->style = c->garbage[i] ? STYLE_GARBAGE :
                             ui_index_sig_growth(v->ix, v->local, i) > 0 ? STYLE_NEW :
                             STYLE_NORMAL;
}

static int build_cycles(struct view *v)
{
        const struct heap_cycles *c = ui_cycle_set(v->h, v->local);
        uint32_t ngarb = 0;
        char b1[32];
        uint64_t bytes = 0;
        int r = ui_index_sigs(v->ix, v->local);

        if (r < 0)
                return r;
        for (uint32_t i = 0; i < c->n; i++) {
                ngarb += c->garbage[i];
                bytes += c->bytes[i];
        }
        snprintf(v->title, sizeof(v->title), "Cycles");
        view_add_head(v, "%" PRIu32 " cycles (%" PRIu32 " garbage), %s in all; grouping: %s", c->n,
                      ngarb, fmt_bytes(bytes, b1, sizeof(b1)),
                      v->local ? "local (references to classes, modules, globals ignored)"
                          : "strongly connected components");
        view_add_head(v, "Enter opens a cycle, l toggles the grouping");
        /* row i is cycle i (vrow_cycles) */
        v->nrows = c->n;
        v->virt = true;
        v->sort_col = CC_RETAINED;
        v->sort_desc = true;
        /* row i is cycle i: the index's default order is this sort's */
        if (c->n && v->ix->cycle_order[v->local]) {
                v->order[CC_RETAINED][1] = heap_big_malloc(sizeof(uint32_t) * c->n);
                if (v->order[CC_RETAINED][1])
                        memcpy(v->order[CC_RETAINED][1], v->ix->cycle_order[v->local],
                               sizeof(uint32_t) * c->n);
        }
        return 0;
}

const struct view_ops cycles_ops = {
        .name = "Cycles", .cols = cycles_cols, .ncols = 7,
        .build = build_cycles, .cell = cell_cycles, .vrow = vrow_cycles,
};

/* ---- types -------------------------------------------------------------- */

enum { TC_COUNT, TC_BYTES, TC_RETAINED, TC_DCOUNT, TC_DBYTES, TC_NAME };
static const struct column types_cols[] = {
        [TC_COUNT] = {"count", 10, COL_RIGHT | COL_NUM | COL_DESC},
        [TC_BYTES] = {"bytes", 10, COL_RIGHT | COL_NUM | COL_DESC},
        [TC_RETAINED] = {"retained", 10, COL_RIGHT | COL_NUM | COL_DESC},
        [TC_DCOUNT] = {"Dcount", 8, COL_RIGHT | COL_NUM | COL_DESC | COL_DELTA},
        [TC_DBYTES] = {"Dbytes", 10, COL_RIGHT | COL_NUM | COL_DESC | COL_DELTA},
        [TC_NAME] = {"type", 0, COL_SEARCH | COL_TYPE},
};

static void cell_types(const struct view *v, const struct row *r, int col, char *buf,
                       size_t len, struct cell *out)
{
        const struct heap_type *t = &v->h->types[r->a];

        out->text = buf;
        out->stable = false;
        out->num = 0;
        switch (col) {
        case TC_COUNT:
                out->num = (int64_t)t->count;
                if (buf)
                        snprintf(buf, len, "%" PRIu64, t->count);
                break;
        case TC_BYTES:
                out->num = (int64_t)t->bytes;
                if (buf)
                        fmt_bytes(t->bytes, buf, len);
                break;
        case TC_RETAINED:
                out->num = (int64_t)t->retained;
                if (!buf)
                        break;
                if (v->h->retained)
                        fmt_bytes(t->retained, buf, len);
                else
                        snprintf(buf, len, "-");
                break;
        case TC_DCOUNT:
                out->num = v->ix->type_dcount ? v->ix->type_dcount[r->a] : 0;
                if (buf)
                        fmt_delta(out->num, buf, len);
                break;
        case TC_DBYTES:
                out->num = v->ix->type_dbytes ? v->ix->type_dbytes[r->a] : 0;
                if (buf)
                        fmt_delta_bytes(out->num, buf, len);
                break;
        case TC_NAME:
                out->text = t->fullname ? t->fullname : "?";
                out->stable = true;
                if (t->opaque && t->tracked && buf) {
                        snprintf(buf, len, "%s (opaque)", out->text);
                        out->text = buf;
                        out->stable = false;
                }
                break;
        }
}

static int build_types(struct view *v)
{
        const struct heap *h = v->h;
        uint32_t n = 0;
        int r;

        snprintf(v->title, sizeof(v->title), "Types");
        for (uint32_t t = 0; t < h->ntypes; t++) {
                if (!h->types[t].count)
                        continue;
                n++;
                if ((r = view_add_row(v, ROW_TYPE, v->ix->type_dcount && v->ix->type_dcount[t] > 0 ?
                                      STYLE_NEW : STYLE_NORMAL, t, 0)) < 0)
                        return r;
        }
        view_add_head(v, "%" PRIu32 " types, %" PRIu32 " objects; Enter lists a type's instances",
                      n, h->nobjs);
        v->sort_col = h->retained ? TC_RETAINED : TC_BYTES;
        v->sort_desc = true;
        return 0;
}

const struct view_ops types_ops = {
        .name = "Types", .cols = types_cols, .ncols = 6,
        .build = build_types, .cell = cell_types,
};

/* ---- object lists: instances of a type, garbage ------------------------- */

enum { OC_ID, OC_SIZE, OC_RETAINED, OC_REFCNT, OC_GEN, OC_FLAGS, OC_NEW, OC_TYPE, OC_VALUE,
       OC__COUNT };
static const struct column objs_cols[] = {
        [OC_ID] = {"id", 14, COL_NUM | COL_SEARCH | COL_HEX},
        [OC_SIZE] = {"size", 9, COL_RIGHT | COL_NUM | COL_DESC},
        [OC_RETAINED] = {"retained", 10, COL_RIGHT | COL_NUM | COL_DESC},
        [OC_REFCNT] = {"refcnt", 7, COL_RIGHT | COL_NUM | COL_DESC},
        [OC_GEN] = {"gen", 4, COL_NUM},
        [OC_FLAGS] = {"flags", 5, COL_RANK},
        [OC_NEW] = {"new", 3, COL_NUM | COL_DESC | COL_DELTA},
        [OC_TYPE] = {"type", 20, COL_SEARCH | COL_TYPE | COL_RANK},
        /* what the walker recorded of the value: searching "text in a str"
         * finds the str; not sortable (there is no order worth the cost) */
        [OC_VALUE] = {"value", 0, COL_SEARCH | COL_NOSORT},
};

static void cell_objs(const struct view *v, const struct row *r, int col, char *buf,
                      size_t len, struct cell *out)
{
        const struct heap *h = v->h;
        const struct heap_obj *o = &h->objs[r->a];
        char fl[8];

        out->text = buf;
        out->stable = false;
        out->num = 0;
        switch (col) {
        case OC_ID:
                out->num = (int64_t)o->addr;
                if (buf)
                        snprintf(buf, len, "0x%" PRIx64, (uint64_t)o->addr);
                break;
        case OC_SIZE:
                out->num = (int64_t)o->size;
                if (buf)
                        fmt_bytes(o->size, buf, len);
                break;
        case OC_RETAINED:
                out->num = (int64_t)ui_obj_retained(h, r->a);
                if (!buf)
                        break;
                if (h->retained)
                        fmt_bytes(h->retained[r->a], buf, len);
                else
                        snprintf(buf, len, "-");
                break;
        case OC_REFCNT:
                out->num = heap_refcnt(o);
                if (!buf)
                        break;
                if (o->flags & HOBJ_IMMORTAL)
                        snprintf(buf, len, "immort");
                else
                        snprintf(buf, len, "%" PRId64, heap_refcnt(o));
                break;
        case OC_GEN:
                out->num = o->gen;
                out->text = gen_short(o->gen);
                out->stable = true;
                break;
        case OC_FLAGS:
                out->num = ui_index_flags_rank(v->ix, o->flags);
                if (buf)
                        snprintf(buf, len, "%s", obj_flags(h, r->a, fl));
                break;
        case OC_NEW:
                out->num = ui_index_is_new(v->ix, r->a);
                out->text = out->num ? "+" : "";
                out->stable = true;
                break;
        case OC_TYPE:
                out->num = o->type < h->ntypes && v->ix->type_rank ? v->ix->type_rank[o->type] :
                           0;
                out->text = ui_type_name(h, r->a);
                out->stable = true;
                break;
        case OC_VALUE:
                out->text = ui_index_preview(v->ix, r->a);
                if (!out->text)
                        out->text = "";
                out->stable = true;
                break;
        }
}

static void vrow_instances(const struct view *v, uint32_t i, bool styled, struct row *out)
{
        uint32_t obj = v->ix->type_objs[v->ix->type_start[v->type] + i];

        *out = (struct row){ .kind = ROW_OBJ, .a = obj };
        if (styled)
                out->style = view_obj_style(v, obj);
}

static int build_instances(struct view *v)
{
        const struct heap *h = v->h;
        const struct heap_type *t;
        char b1[32], b2[32];
        int r;

        if (v->type >= h->ntypes)
                return -ENOENT;
        t = &h->types[v->type];
        r = ui_index_by_type(v->ix);
        if (r < 0)
                return r;
        snprintf(v->title, sizeof(v->title), "Instances of %s", t->fullname);
        view_add_head(v, "%" PRIu64 " instance%s of %s, %s, retained %s", t->count,
                      t->count == 1 ? "" : "s", t->fullname, fmt_bytes(t->bytes, b1, sizeof(b1)),
                      h->retained ? fmt_bytes(t->retained, b2, sizeof(b2)) : "-");
        /* row i is the type's i-th object in the index (vrow_instances),
         * which holds them biggest retained first: the order this list
         * opens in, so opening it sorts nothing */
        v->nrows = v->ix->type_start[v->type + 1] - v->ix->type_start[v->type];
        v->virt = true;
        v->sort_col = v->built_col = OC_RETAINED;
        v->sort_desc = v->built_desc = true;
        return 0;
}

static void vrow_garbage(const struct view *v, uint32_t i, bool styled, struct row *out)
{
        const struct heap *h = v->h;
        uint32_t obj = i < h->ngc_garbage ? h->gc_garbage[i] : h->garbage[i - h->ngc_garbage];

        *out = (struct row){ .kind = ROW_OBJ, .a = obj };
        if (styled)
                out->style = view_obj_style(v, obj);
}

static int build_garbage(struct view *v)
{
        const struct heap *h = v->h;
        char b1[32];

        snprintf(v->title, sizeof(v->title), "Garbage");
        view_add_head(v, "A full collection would free %" PRIu32 " object%s, %s", h->ngarbage,
                      h->ngarbage == 1 ? "" : "s",
                      fmt_bytes(heap_garbage_bytes(h), b1, sizeof(b1)));
        view_add_head(v, "gc.garbage holds %" PRIu32 " object%s (listed first, flag L): found by "
                      "the collector but not freed", h->ngc_garbage,
                      h->ngc_garbage == 1 ? "" : "s");
        /* gc.garbage in list order, then the garbage ascending
         * (vrow_garbage); that build order is the one it opens in */
        v->nrows = h->ngc_garbage + h->ngarbage;
        v->virt = true;
        v->sort_col = -1;
        return 0;
}

const struct view_ops instances_ops = {
        .name = "Instances", .cols = objs_cols, .ncols = OC__COUNT,
        .build = build_instances, .cell = cell_objs, .vrow = vrow_instances,
};
const struct view_ops garbage_ops = {
        .name = "Garbage", .cols = objs_cols, .ncols = OC__COUNT,
        .build = build_garbage, .cell = cell_objs, .vrow = vrow_garbage,
};

