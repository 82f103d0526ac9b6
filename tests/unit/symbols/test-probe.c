/* test-probe: probe_type and probe_module (probe.h) on hand-built address
 * spaces in a fake memsrc, with 3.14's table as the neighbour: a
 * PyTypeObject that grew by a word (appended, as 3.15 did, or inserted
 * before tp_base), modules laid out as 3.15 (md_token and the def's values
 * copied in) and as 3.14 (md_def); and hostile memory (a dict claiming 2^40
 * entries, two words that both look like md_dict, all-zero type objects)
 * bounded and refused, never guessed; Struct and cycle objects read with
 * the neighbour whose fields hold on them, and hostile ones (an it that
 * is the saved list, fields past tp_basicsize, two placements that both
 * hold) refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakemem.h"
#include "layout.h"
#include "memsrc.h"
#include "probe.h"
#include "pyinterp.h"
#include "tables.h"
#include "tap.h"

#define TYPES   0x10000000ULL   /* static type objects, 0x1000 apart */
#define STRS    0x20000000ULL   /* C strings */
#define OBJS    0x30000000ULL   /* tuples, dicts, str objects */
#define MODS    0x40000000ULL   /* module objects, 0x100 apart */
#define DEFS    0x50000000ULL   /* PyModuleDefs, 0x100 apart */
#define STATES  0x60000000ULL   /* module states */
#define CODE    0x7000000000ULL /* function pointers: not mapped, like text */

/* The blocks of the current space, to write into. */
static struct {
        uint64_t base;
        uint8_t *p;
        size_t len;
} blocks[8];
static size_t nblocks;

static uint8_t *at(uint64_t addr, size_t len)
{
        for (size_t i = 0; i < nblocks; i++)
                if (addr >= blocks[i].base && addr + len <= blocks[i].base + blocks[i].len)
                        return blocks[i].p + (addr - blocks[i].base);
        fprintf(stderr, "test-probe: 0x%llx not mapped\n", (unsigned long long)addr);
        abort();
}

static void add(struct memsrc *m, uint64_t base, size_t len)
{
        blocks[nblocks].base = base;
        blocks[nblocks].len = len;
        blocks[nblocks++].p = fakemem_add(m, base, len);
}

static void put64(struct memsrc *m, uint64_t addr, uint64_t v)
{
        (void)m;
        memcpy(at(addr, 8), &v, 8);
}

static struct layout nb14;        /* 3.14.10-debian, the neighbour */
static struct pyinterp pi;
static uint64_t obj_next;

static uint64_t tuple_new(struct memsrc *m, const uint64_t *items, size_t n)
{
        uint64_t t = obj_next;

        obj_next += 0x100;
        put64(m, t + 8, pi.sym[PYSYM_TUPLE_TYPE]);
        put64(m, t + lo(&nb14, LF_VAROBJECT_SIZE), n);
        for (size_t i = 0; i < n; i++)
                put64(m, t + lo(&nb14, LF_TUPLE_ITEM) + 8 * i, items[i]);
        return t;
}

/* A compact ASCII str. */
static uint64_t str_new(struct memsrc *m, const char *text)
{
        uint64_t s = obj_next;
        uint8_t *p;

        obj_next += 0x100;
        put64(m, s + 8, pi.sym[PYSYM_UNICODE_TYPE]);
        put64(m, s + lo(&nb14, LF_ASCII_LENGTH), strlen(text));
        put64(m, s + lo(&nb14, LF_ASCII_STATE), 0x64);     /* compact ascii, kind 1 */
        p = at(s + lsz(&nb14, LS_ASCII), strlen(text) + 1);
        memcpy(p, text, strlen(text) + 1);
        return s;
}

/* A one-entry unicode-keyed dict {"__name__": name}; nentries as given
 * (hostile when it lies). */
static uint64_t dict_new(struct memsrc *m, uint64_t name, uint64_t nentries)
{
        uint64_t d = obj_next, k = obj_next + 0x80;
        uint8_t log2_index = 3, kind = 1;

        obj_next += 0x200;
        put64(m, d + 8, pi.sym[PYSYM_DICT_TYPE]);
        put64(m, d + lo(&nb14, LF_DICT_KEYS), k);
        memcpy(at(k + lo(&nb14, LF_DICTKEYS_LOG2_INDEX_BYTES), 1), &log2_index, 1);
        memcpy(at(k + lo(&nb14, LF_DICTKEYS_KIND), 1), &kind, 1);
        put64(m, k + lo(&nb14, LF_DICTKEYS_NENTRIES), nentries);
        put64(m, k + lo(&nb14, LF_DICTKEYS_INDICES) + 8, str_new(m, "__name__"));
        put64(m, k + lo(&nb14, LF_DICTKEYS_INDICES) + 16, name);
        return d;
}

static uint64_t cstr_new(struct memsrc *m, const char *text)
{
        static uint64_t next;

        if (next < STRS || next >= STRS + 0xf000)
                next = STRS;
        uint64_t a = next + 3;          /* C strings need no alignment */

        (void)m;
        memcpy(at(a, strlen(text) + 1), text, strlen(text) + 1);
        next += 0x40;
        return a;
}

/* --- types ---------------------------------------------------------------- */

enum { T_LIST, T_DICT, T_TUPLE, T_FLOAT, T_BYTES, T_UNICODE, T_LONG, T_BOOL, T_OBJECT,
       T_TYPE, T_GEN, T_CORO, T_MODULE, NT };
static const enum pysym_id tsym[NT] = {
        PYSYM_LIST_TYPE, PYSYM_DICT_TYPE, PYSYM_TUPLE_TYPE, PYSYM_FLOAT_TYPE, PYSYM_BYTES_TYPE,
        PYSYM_UNICODE_TYPE, PYSYM_LONG_TYPE, PYSYM_BOOL_TYPE, PYSYM_OBJECT_TYPE,
        PYSYM_TYPE_TYPE, PYSYM_GEN_TYPE, PYSYM_CORO_TYPE, PYSYM_MODULE_TYPE,
};

static struct memsrc *space(void)
{
        struct memsrc *m = fakemem_new();

        nblocks = 0;
        add(m, TYPES, NT * 0x1000);
        add(m, STRS, 0x10000);
        add(m, OBJS, 0x40000);
        add(m, MODS, 0x10000);
        add(m, DEFS, 0x10000);
        add(m, STATES, 0x10000);
        memset(&pi, 0, sizeof(pi));
        pi.version_hex = 0x030f02f0;
        for (int t = 0; t < NT; t++)
                pi.sym[tsym[t]] = TYPES + 0x1000 * (uint64_t)t;
        obj_next = OBJS;
        return m;
}

static void tset(struct memsrc *m, const struct layout *truth, int t, enum layout_field_id f,
                 uint64_t v)
{
        put64(m, pi.sym[tsym[t]] + lo(truth, f), v);
}

/* The static types as the interpreter fills them, at truth's offsets. */
static void fill_types(struct memsrc *m, const struct layout *truth, uint64_t *heap)
{
        const uint64_t *s = pi.sym;
        uint64_t members = obj_next;

        obj_next += 0x100;
        put64(m, members, cstr_new(m, "__basicsize__"));
        tset(m, truth, T_LIST, LF_TYPE_NAME, cstr_new(m, "list"));
        tset(m, truth, T_DICT, LF_TYPE_NAME, cstr_new(m, "dict"));
        tset(m, truth, T_LIST, LF_TYPE_BASICSIZE, lsz(&nb14, LS_LIST));
        tset(m, truth, T_DICT, LF_TYPE_BASICSIZE, lsz(&nb14, LS_DICT));
        tset(m, truth, T_FLOAT, LF_TYPE_BASICSIZE, lsz(&nb14, LS_FLOAT));
        tset(m, truth, T_TUPLE, LF_TYPE_ITEMSIZE, 8);
        tset(m, truth, T_BYTES, LF_TYPE_ITEMSIZE, 1);
        tset(m, truth, T_LIST, LF_TYPE_FLAGS, 1ul << 25);
        tset(m, truth, T_TUPLE, LF_TYPE_FLAGS, 1ul << 26);
        tset(m, truth, T_DICT, LF_TYPE_FLAGS, 1ul << 29);
        tset(m, truth, T_TYPE, LF_TYPE_FLAGS, 1ul << 31);
        tset(m, truth, T_LIST, LF_TYPE_TRAVERSE, CODE + 0x10);
        tset(m, truth, T_DICT, LF_TYPE_TRAVERSE, CODE + 0x20);
        tset(m, truth, T_TUPLE, LF_TYPE_TRAVERSE, CODE + 0x30);
        tset(m, truth, T_TYPE, LF_TYPE_WEAKLISTOFFSET, 368);
        tset(m, truth, T_TYPE, LF_TYPE_DICTOFFSET, 264);
        tset(m, truth, T_TYPE, LF_TYPE_MEMBERS, members);
        tset(m, truth, T_BOOL, LF_TYPE_BASE, s[PYSYM_LONG_TYPE]);
        tset(m, truth, T_LONG, LF_TYPE_BASE, s[PYSYM_OBJECT_TYPE]);
        tset(m, truth, T_TYPE, LF_TYPE_BASE, s[PYSYM_OBJECT_TYPE]);
        tset(m, truth, T_TYPE, LF_TYPE_IS_GC, CODE + 0x40);
        tset(m, truth, T_BOOL, LF_TYPE_BASES, tuple_new(m, &s[PYSYM_LONG_TYPE], 1));
        tset(m, truth, T_OBJECT, LF_TYPE_BASES, tuple_new(m, NULL, 0));
        {
                uint64_t mro[3] = { s[PYSYM_BOOL_TYPE], s[PYSYM_LONG_TYPE], s[PYSYM_OBJECT_TYPE] };
                uint64_t lmro[2] = { s[PYSYM_LIST_TYPE], s[PYSYM_OBJECT_TYPE] };

                tset(m, truth, T_BOOL, LF_TYPE_MRO, tuple_new(m, mro, 3));
                tset(m, truth, T_LIST, LF_TYPE_MRO, tuple_new(m, lmro, 2));
        }
        tset(m, truth, T_OBJECT, LF_TYPE_SUBCLASSES, 1);
        tset(m, truth, T_LONG, LF_TYPE_SUBCLASSES, 2);
        tset(m, truth, T_GEN, LF_TYPE_FINALIZE, CODE + 0x50);
        tset(m, truth, T_CORO, LF_TYPE_FINALIZE, CODE + 0x60);
        /* two classes (heap types): tp_dict a dict */
        for (int i = 0; i < 2; i++) {
                heap[i] = obj_next;
                obj_next += 0x400;
                put64(m, heap[i] + lo(truth, LF_TYPE_DICT), dict_new(m, str_new(m, "C"), 1));
        }
}

/* nb14's TYPE fields, those at or after pivot moved by delta. */
static void shifted(struct layout *truth, uint32_t pivot, int delta)
{
        *truth = nb14;
        for (int f = 0; f < LF__COUNT; f++)
                if (layout_field_struct(f) == LS_TYPE && truth->f[f].present &&
                    truth->f[f].offset >= pivot)
                        truth->f[f].offset += delta;
}

/* What the debug offsets give: tp_name, tp_flags, tp_basicsize. */
static void debug_only(struct layout *l, const struct layout *truth)
{
        *l = nb14;
        for (int f = 0; f < LF__COUNT; f++)
                if (layout_field_struct(f) == LS_TYPE && f != LF_TYPE_NAME && f != LF_TYPE_FLAGS &&
                    f != LF_TYPE_BASICSIZE)
                        l->f[f].present = false;
        l->f[LF_TYPE_NAME] = truth->f[LF_TYPE_NAME];
        l->f[LF_TYPE_FLAGS] = truth->f[LF_TYPE_FLAGS];
        l->f[LF_TYPE_BASICSIZE] = truth->f[LF_TYPE_BASICSIZE];
}

static bool type_fields_are(const struct layout *out, const struct layout *truth)
{
        for (int f = 0; f < LF__COUNT; f++)
                if (layout_field_struct(f) == LS_TYPE && truth->f[f].present &&
                    (!out->f[f].present || out->f[f].offset != truth->f[f].offset)) {
                        tap_note("%s at %u, want %u", layout_field_name(f), out->f[f].offset,
                             truth->f[f].offset);
                        return false;
                }
        return true;
}

static void test_types(void)
{
        struct layout truth, l, out;
        uint64_t heap[2];
        char why[512];
        struct memsrc *m;
        int rc;

        /* 3.15: a word appended (_tp_iteritem), every field in place */
        m = space();
        shifted(&truth, UINT32_MAX, 0);
        fill_types(m, &truth, heap);
        debug_only(&l, &truth);
        out = l;
        rc = probe_type(m, &pi, &l, &nb14, lsz(&nb14, LS_TYPE) + 8, heap, 2, &out, why,
                        sizeof(why));
        ok(rc == 0 && type_fields_are(&out, &truth) &&
           lsz(&out, LS_TYPE) == lsz(&nb14, LS_TYPE) + 8,
           "a word appended: every field where the neighbour has it (rc %d: %s)", rc, why);
        ok(strstr(why, "tp_base") != NULL, "the note names the checks: %s", why);
        memsrc_free(m);

        /* a word inserted before tp_base: the fields from there moved */
        m = space();
        shifted(&truth, lo(&nb14, LF_TYPE_BASE), 8);
        fill_types(m, &truth, heap);
        debug_only(&l, &truth);
        out = l;
        rc = probe_type(m, &pi, &l, &nb14, lsz(&nb14, LS_TYPE) + 8, heap, 2, &out, why,
                        sizeof(why));
        ok(rc == 0 && type_fields_are(&out, &truth),
           "a word inserted before tp_base: found there (rc %d: %s)", rc, why);
        memsrc_free(m);

        /* hostile: all-zero type objects hold nothing */
        m = space();
        debug_only(&l, &nb14);
        out = l;
        rc = probe_type(m, &pi, &l, &nb14, lsz(&nb14, LS_TYPE) + 8, heap, 0, &out, why,
                        sizeof(why));
        ok(rc == -ENOENT && !lhas(&out, LF_TYPE_BASE), "zeroed types: nothing placed, -ENOENT "
           "(rc %d: %s)", rc, why);
        /* a size the neighbour cannot reach by a few words */
        rc = probe_type(m, &pi, &l, &nb14, lsz(&nb14, LS_TYPE) + 400, heap, 0, &out, why,
                        sizeof(why));
        ok(rc == -ENOENT, "a size 400 bytes off: not tried (rc %d)", rc);
        memsrc_free(m);
}

/* --- modules -------------------------------------------------------------- */

struct modspec {
        const char *name, *dict_name;    /* dict_name: its __name__ (NULL: name) */
        int64_t m_size;                  /* no def when INT64_MIN */
        uint64_t trav;
};

static const struct modspec mods_spec[] = {
        { "sys", NULL, -1, 0 },
        { "_abc", NULL, 32, CODE + 0x100 },
        { "_io", NULL, 16, CODE + 0x200 },
        { "_imp", NULL, 0, 0 },
        { "json", NULL, INT64_MIN, 0 },
        { "_collections_abc", "collections.abc", INT64_MIN, 0 },
};
#define NMODS (sizeof(mods_spec) / sizeof(mods_spec[0]))

/* Module offsets: 3.15 (v315) or 3.14. */
struct modlayout {
        uint32_t dict, state, name, def, size, trav, clear, free_, exec;
};
static const struct modlayout L315 = { 16, 24, 40, 88, 56, 64, 72, 80, 96 };
static const struct modlayout L314 = { 16, 32, 48, 24, 0, 0, 0, 0, 0 };

static void fill_modules(struct memsrc *m, const struct modlayout *ml, uint64_t *mods,
                         uint64_t hostile_entries, bool twin_dict)
{
        for (size_t i = 0; i < NMODS; i++) {
                const struct modspec *s = &mods_spec[i];
                uint64_t mod = MODS + 0x100 * i, def = DEFS + 0x100 * i;
                uint64_t name = str_new(m, s->name);
                uint64_t dn = s->dict_name ? str_new(m, s->dict_name) : name;
                uint64_t dict = dict_new(m, dn, i == 1 && hostile_entries ? hostile_entries : 1);

                mods[i] = mod;
                put64(m, mod + 8, pi.sym[PYSYM_MODULE_TYPE]);
                put64(m, mod + ml->dict, dict);
                put64(m, mod + ml->name, name);
                if (twin_dict)
                        put64(m, mod + 32, dict);
                if (s->m_size == INT64_MIN)
                        continue;
                put64(m, def + 40, cstr_new(m, s->name));
                put64(m, def + lo(&nb14, LF_MODULEDEF_SIZE), (uint64_t)s->m_size);
                put64(m, def + lo(&nb14, LF_MODULEDEF_TRAVERSE), s->trav);
                put64(m, def + 88, s->trav ? s->trav + 8 : 0);    /* m_clear */
                put64(m, def + ml->def, 0);
                put64(m, mod + ml->def, def);
                if (s->m_size > 0 || !strcmp(s->name, "_imp"))   /* 3.15 gives _imp one */
                        put64(m, mod + ml->state, STATES + 0x100 * i);
                if (!ml->size)
                        continue;
                put64(m, mod + 48, 1);                            /* md_token_is_def */
                put64(m, mod + ml->size, (uint64_t)s->m_size);
                put64(m, mod + ml->trav, s->trav);
                put64(m, mod + ml->clear, s->trav ? s->trav + 8 : 0);
                put64(m, mod + ml->exec, s->m_size > 0 ? CODE + 0x900 : 0);
        }
}

static void test_modules(void)
{
        struct layout out;
        uint64_t mods[NMODS];
        char why[768];
        struct memsrc *m;
        int rc;

        m = space();
        fill_modules(m, &L315, mods, 0, false);
        out = nb14;
        rc = probe_module(m, &pi, &nb14, mods, NMODS, 104, &out, why, sizeof(why));
        ok(rc == 0 && lo(&out, LF_MODULE_DICT) == 16 && lo(&out, LF_MODULE_NAME) == 40 &&
           lo(&out, LF_MODULE_STATE) == 24 && lo(&out, LF_MODULE_STATE_SIZE) == 56 &&
           lo(&out, LF_MODULE_STATE_TRAVERSE) == 64 && !lhas(&out, LF_MODULE_DEF) &&
           lsz(&out, LS_MODULE) == 104,
           "3.15 modules: md_dict, md_name, md_state and the def's copies placed, no md_def "
           "(rc %d: %s)", rc, why);
        memsrc_free(m);

        m = space();
        fill_modules(m, &L314, mods, 0, false);
        out = nb14;
        rc = probe_module(m, &pi, &nb14, mods, NMODS, 56, &out, why, sizeof(why));
        ok(rc == 0 && lo(&out, LF_MODULE_DICT) == 16 && lo(&out, LF_MODULE_DEF) == 24 &&
           lo(&out, LF_MODULE_STATE) == 32 && lo(&out, LF_MODULE_NAME) == 48 &&
           !lhas(&out, LF_MODULE_STATE_SIZE),
           "3.14 modules: md_def placed, no state copies (rc %d: %s)", rc, why);
        memsrc_free(m);

        /* hostile: one dict claims 2^40 entries (not read through: the
         * others still tell the name) */
        m = space();
        fill_modules(m, &L315, mods, 1ull << 40, false);
        out = nb14;
        rc = probe_module(m, &pi, &nb14, mods, NMODS, 104, &out, why, sizeof(why));
        ok(rc == 0 && lo(&out, LF_MODULE_NAME) == 40, "a dict of 2^40 entries: bounded, the "
           "others place md_name (rc %d: %s)", rc, why);
        memsrc_free(m);

        /* two words that both hold the dict: no telling */
        m = space();
        fill_modules(m, &L315, mods, 0, true);
        out = nb14;
        out.f[LF_MODULE_DICT].present = false;
        rc = probe_module(m, &pi, &nb14, mods, NMODS, 104, &out, why, sizeof(why));
        ok(rc == -EBADMSG && !lhas(&out, LF_MODULE_DICT), "two md_dict look-alikes: -EBADMSG, "
           "nothing placed (rc %d: %s)", rc, why);
        /* too few modules, an unreadable one among them */
        mods[1] = 0x7fff0000;
        rc = probe_module(m, &pi, &nb14, mods, 3, 104, &out, why, sizeof(why));
        ok(rc == -ENOENT, "two readable modules: too few to tell (rc %d)", rc);
        memsrc_free(m);
}

/* --- dict keys ------------------------------------------------------------ */

static struct layout nb39;        /* 3.9.18: dk_size and dk_lookup */

/* A one-entry dict {"__name__": name} with 3.9's keys: dk_size 8, one
 * byte per index, entries {hash, key, value} after the indices. */
static uint64_t dict39_new(struct memsrc *m, uint64_t name)
{
        uint64_t d = obj_next, k = obj_next + 0x80, e;

        obj_next += 0x200;
        put64(m, d + 8, pi.sym[PYSYM_DICT_TYPE]);
        put64(m, d + lo(&nb39, LF_DICT_KEYS), k);
        put64(m, k + lo(&nb39, LF_DICTKEYS_SIZE), 8);
        put64(m, k + lo(&nb39, LF_DICTKEYS_NENTRIES), 1);
        e = k + lo(&nb39, LF_DICTKEYS_INDICES) + 8;
        put64(m, e + 8, str_new(m, "__name__"));
        put64(m, e + 16, name);
        return d;
}

static void test_dictkeys(void)
{
        const struct layout_table *t[8];
        struct layout nb[2], l;
        uint64_t mods[NMODS];
        char why[256];
        struct memsrc *m;
        int rc, pick = -1;

        layout_init(&nb39, 0x030912f0);
        if (!layout_tables_of(3, 9, t, 8) || layout_table_fill(t[0], &nb39, NULL) < 0) {
                ok(0, "3.9's table loads");
                return;
        }
        nb[0] = nb39;
        nb[1] = nb14;
        l = nb14;
        m = space();
        for (size_t i = 0; i < NMODS; i++) {
                mods[i] = MODS + 0x100 * i;
                put64(m, mods[i] + 8, pi.sym[PYSYM_MODULE_TYPE]);
                put64(m, mods[i] + lo(&l, LF_MODULE_DICT),
                      dict39_new(m, str_new(m, mods_spec[i].name)));
        }
        rc = probe_dictkeys(m, &pi, &l, nb, 2, mods, NMODS, &pick, why, sizeof(why));
        ok(rc == 0 && pick == 0, "3.10-like dicts read with 3.9's keys, not 3.14's (rc %d, "
           "pick %d: %s)", rc, pick, why);
        /* both neighbours the same: each reads them, no telling */
        nb[1] = nb39;
        rc = probe_dictkeys(m, &pi, &l, nb, 2, mods, NMODS, &pick, why, sizeof(why));
        ok(rc == -ENOENT, "two neighbours that both read them: -ENOENT (rc %d: %s)", rc, why);
        /* hostile: every dict claims 2^40 entries */
        nb[1] = nb14;
        for (size_t i = 0; i < NMODS; i++) {
                uint64_t d, k;

                memcpy(&d, at(mods[i] + lo(&l, LF_MODULE_DICT), 8), 8);
                memcpy(&k, at(d + lo(&nb39, LF_DICT_KEYS), 8), 8);
                put64(m, k + lo(&nb39, LF_DICTKEYS_NENTRIES), 1ull << 40);
        }
        rc = probe_dictkeys(m, &pi, &l, nb, 2, mods, NMODS, &pick, why, sizeof(why));
        ok(rc == -ENOENT, "dicts of 2^40 entries: not read through, nothing picked (rc %d)", rc);
        memsrc_free(m);
}

/* --- the 3.10 frame's stack depth ----------------------------------------- */

static void test_stackdepth(void)
{
        struct layout l = nb39;
        struct frame_sample fs;
        struct memsrc *m = space();
        uint64_t code = obj_next, item = str_new(m, "x");
        int rc;

        obj_next += 0x100;
        /* 3.10's frame: 3.9's without f_stacktop (a word), f_trace at 72,
         * f_stackdepth (what is looked for) at 80, f_trace_lines 1 at 84 */
        l.f[LF_FRAMEOBJ_STACKTOP].present = false;
        l.f[LF_FRAMEOBJ_TRACE].offset = 72;
        l.f[LF_FRAMEOBJ_LASTI].present = l.f[LF_FRAMEOBJ_LINENO].present = false;
        l.f[LF_FRAMEOBJ_LOCALSPLUS].offset = 352;
        put64(m, code + lo(&l, LF_CODE_STACKSIZE), 4);
        memset(&fs, 0, sizeof(fs));
        for (int i = 0; i < 4; i++) {
                uint64_t f = obj_next;
                int32_t depth = i < 2 ? -1 : i - 1, flag = 1;

                obj_next += 0x400;
                put64(m, f + lo(&l, LF_FRAMEOBJ_CODE), code);
                put64(m, f + lo(&l, LF_FRAMEOBJ_VALUESTACK), f + 352);
                put64(m, f + 352, item);
                put64(m, f + 360, item);
                memcpy(at(f + 80, 4), &depth, 4);
                memcpy(at(f + 84, 4), &flag, 4);
                fs.f[fs.n] = f;
                fs.running[fs.n] = i < 2;       /* two running, two suspended */
                fs.suspended[fs.n++] = i >= 2;
        }
        rc = probe_stackdepth(m, &l, &fs);
        ok(rc == 80, "f_stackdepth: -1 on running frames, a count on suspended ones (rc %d)",
           rc);
        /* f_trace_lines reads 1 on the running frames: never taken, even
         * if the running ones were not sampled */
        fs.f[0] = fs.f[2];
        fs.running[0] = false;
        fs.suspended[0] = true;
        fs.n = 1;
        rc = probe_stackdepth(m, &l, &fs);
        ok(rc == -EBADMSG, "one suspended frame alone: two ints count its stack, no telling "
           "(rc %d)", rc);
        /* hostile: a depth past co_stacksize is no count */
        fs.n = 4;
        fs.f[0] = obj_next - 0x400;
        {
                int32_t big = 1 << 30;

                memcpy(at(fs.f[0] + 80, 4), &big, 4);
                memcpy(at(fs.f[0] + 84, 4), &big, 4);
        }
        rc = probe_stackdepth(m, &l, &fs);
        ok(rc == -ENOENT, "a frame claiming 2^30 stack slots: nothing taken, none read (rc %d)",
           rc);
        memsrc_free(m);
}

/* --- private structs on their live instances ------------------------------- */

/* An object of type t at a fresh address (the type of a type is type). */
static uint64_t obj_of(struct memsrc *m, uint64_t t)
{
        uint64_t o = obj_next;

        obj_next += 0x100;
        put64(m, o + 8, t);
        return o;
}

/* l with struct s's field f at off (absent when off is 0) and size size. */
static struct layout placed(const struct layout *l, int s, uint32_t size,
                            enum layout_field_id f, uint32_t off)
{
        struct layout c = *l;

        c.s[s].size = size;
        c.f[f].present = off != 0;
        c.f[f].offset = off;
        return c;
}

static void test_cycles(void)
{
        struct memsrc *m = space();
        uint64_t cyc_t = obj_of(m, pi.sym[PYSYM_TYPE_TYPE]), iter_t =
                 obj_of(m, pi.sym[PYSYM_TYPE_TYPE]), objs[4], bad[1];
        struct layout nb[2];
        char why[384];
        int rc, pick = -1;

        /* the static types are objects of type type, as in a real
         * interpreter: a list is an object, only the check tells it from
         * an iterator */
        for (int t = 0; t < NT; t++)
                put64(m, pi.sym[tsym[t]] + 8, pi.sym[PYSYM_TYPE_TYPE]);
        /* 3.14's cycle: it +16 (NULL once exhausted), saved +24, 40 bytes */
        for (int i = 0; i < 4; i++) {
                objs[i] = obj_of(m, cyc_t);
                put64(m, objs[i] + 16, i == 3 ? 0 : obj_of(m, iter_t));
                put64(m, objs[i] + 24, obj_of(m, pi.sym[PYSYM_LIST_TYPE]));
        }
        /* a neighbour with the two swapped, then 3.14's */
        nb[0] = placed(&nb14, LS_IT_CYCLE, 40, LF_IT_CYCLE_IT, 24);
        nb[0].f[LF_IT_CYCLE_SAVED].offset = 16;
        nb[1] = nb14;
        rc = probe_instances(m, &pi, &nb14, nb, 2, LS_IT_CYCLE, cyc_t, objs, 4, 40, &pick, why,
                             sizeof(why));
        ok(rc == 0 && pick == 1 && strstr(why, "all 4 live instances: ") && strstr(why, "saved a list +24"),
           "cycle: the neighbour whose saved reads a list on every instance (rc %d, pick %d: "
           "%s)", rc, pick, why);
        /* 3.13's (48 bytes, the same fields) and 3.15's: alike, one */
        nb[0] = nb14;
        nb[0].s[LS_IT_CYCLE].size = 48;
        rc = probe_instances(m, &pi, &nb14, nb, 2, LS_IT_CYCLE, cyc_t, objs, 4, 40, &pick, why,
                             sizeof(why));
        ok(rc == 0 && pick == 0, "cycle: two neighbours that place the fields alike are one "
           "(rc %d, pick %d)", rc, pick);
        /* hostile: it placed on saved reads a list, no iterator */
        nb[0] = placed(&nb14, LS_IT_CYCLE, 40, LF_IT_CYCLE_IT, 24);
        rc = probe_instances(m, &pi, &nb14, nb, 1, LS_IT_CYCLE, cyc_t, objs, 4, 40, &pick, why,
                             sizeof(why));
        ok(rc == -ENOENT, "cycle: an it that reads the saved list is refused (rc %d: %s)", rc,
           why);
        /* hostile: fields past the type's tp_basicsize */
        rc = probe_instances(m, &pi, &nb14, &nb14, 1, LS_IT_CYCLE, cyc_t, objs, 4, 24, &pick,
                             why, sizeof(why));
        ok(rc == -ENOENT, "cycle: saved +24 outside a 24-byte tp_basicsize: refused (rc %d)", rc);
        /* hostile: one instance's saved a tuple, another's it unmapped */
        put64(m, objs[2] + 24, obj_of(m, pi.sym[PYSYM_TUPLE_TYPE]));
        rc = probe_instances(m, &pi, &nb14, &nb14, 1, LS_IT_CYCLE, cyc_t, objs, 4, 40, &pick,
                             why, sizeof(why));
        ok(rc == -ENOENT, "cycle: one instance whose saved is a tuple fails it (rc %d)", rc);
        put64(m, objs[2] + 24, obj_of(m, pi.sym[PYSYM_LIST_TYPE]));
        put64(m, objs[1] + 16, 0x7777000);
        rc = probe_instances(m, &pi, &nb14, &nb14, 1, LS_IT_CYCLE, cyc_t, objs, 4, 40, &pick,
                             why, sizeof(why));
        ok(rc == -ENOENT, "cycle: an it pointing at unmapped memory fails it (rc %d)", rc);
        /* hostile: no instance, or one of another type */
        rc = probe_instances(m, &pi, &nb14, &nb14, 1, LS_IT_CYCLE, cyc_t, objs, 0, 40, &pick,
                             why, sizeof(why));
        ok(rc == -ENOENT, "cycle: no live instance, nothing taken (rc %d)", rc);
        bad[0] = obj_of(m, iter_t);
        rc = probe_instances(m, &pi, &nb14, &nb14, 1, LS_IT_CYCLE, cyc_t, bad, 1, 40, &pick,
                             why, sizeof(why));
        ok(rc == -ENOENT, "cycle: an object of another type is no evidence (rc %d)", rc);
        memsrc_free(m);
}

static void test_structs(void)
{
        struct memsrc *m = space();
        uint64_t st_t = obj_of(m, pi.sym[PYSYM_TYPE_TYPE]), objs[3];
        struct layout nb[2];
        char why[384];
        int rc, pick = -1;

        /* 3.14's Struct: s_format +40 (a bytes, or a str), 56 bytes */
        for (int i = 0; i < 3; i++) {
                objs[i] = obj_of(m, st_t);
                put64(m, objs[i] + 40, i ? obj_of(m, pi.sym[PYSYM_BYTES_TYPE]) :
                      str_new(m, "<i"));
        }
        nb[0] = placed(&nb14, LS_STRUCTOBJ, 64, LF_STRUCTOBJ_FORMAT, 56);
        nb[1] = nb14;
        rc = probe_instances(m, &pi, &nb14, nb, 2, LS_STRUCTOBJ, st_t, objs, 3, 56, &pick, why,
                             sizeof(why));
        ok(rc == 0 && pick == 1 && strstr(why, "s_format a bytes or str +40"),
           "Struct: the neighbour whose s_format reads bytes or str (rc %d, pick %d: %s)", rc,
           pick, why);
        /* hostile: the word after it a bytes too: two placements hold */
        for (int i = 0; i < 3; i++)
                put64(m, objs[i] + 56, obj_of(m, pi.sym[PYSYM_BYTES_TYPE]));
        rc = probe_instances(m, &pi, &nb14, nb, 2, LS_STRUCTOBJ, st_t, objs, 3, 56, &pick, why,
                             sizeof(why));
        ok(rc == 0 && pick == 1, "Struct: +56 past a 56-byte tp_basicsize is not tried (rc %d)",
           rc);
        rc = probe_instances(m, &pi, &nb14, nb, 2, LS_STRUCTOBJ, st_t, objs, 3, 64, &pick, why,
                             sizeof(why));
        ok(rc == -EBADMSG, "Struct: two placements that both hold: -EBADMSG (rc %d: %s)", rc,
           why);
        /* hostile: s_format NULL or an int */
        put64(m, objs[2] + 40, 0);
        rc = probe_instances(m, &pi, &nb14, &nb14, 1, LS_STRUCTOBJ, st_t, objs, 3, 56, &pick, why,
                             sizeof(why));
        ok(rc == -ENOENT, "Struct: an instance whose s_format is NULL fails it (rc %d)", rc);
        put64(m, objs[2] + 40, obj_of(m, pi.sym[PYSYM_LONG_TYPE]));
        rc = probe_instances(m, &pi, &nb14, &nb14, 1, LS_STRUCTOBJ, st_t, objs, 3, 56, &pick, why,
                             sizeof(why));
        ok(rc == -ENOENT, "Struct: an instance whose s_format is an int fails it (rc %d)", rc);
        memsrc_free(m);
}

int main(void)
{
        const struct layout_table *t[8];
        size_t k = layout_tables_of(3, 14, t, 8);

        layout_init(&nb14, 0x030e0af0);
        if (!k || layout_table_fill(t[0], &nb14, NULL) < 0) {
                tap_skip_all("no 3.14 table in this build");
                return 77;
        }
        test_types();
        test_modules();
        test_dictkeys();
        test_stackdepth();
        test_cycles();
        test_structs();
        return tap_done();
}
