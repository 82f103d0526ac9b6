/* heap: the object graph of one snapshot, and everything known about it.
 *
 * A `struct heap` is built by heap_build() (heap/walk.c: GC-list walk and
 * reference decoding through a memsrc and a layout), analysed by
 * heap_analyse() (heap/analysis.h), and then only read: by ui/ (writers,
 * browser) and, later, the dump store.  ui/ sees this header and the analysis
 * headers, never a memsrc or a layout.
 *
 * Objects are numbered 0..nobjs-1.  Indices [0, ntracked) are the objects on
 * the GC lists, in walk order; [ntracked, nobjs) are objects that tracked
 * objects refer to but that are not on any GC list (str, int, untracked
 * tuples/dicts, static types, ...): their gen is HEAP_GEN_UNTRACKED and they
 * have no outgoing edges recorded, except a numpy view's edge to its base
 * (heap/native.c), which no tp_traverse reports.
 *
 * Edges are in CSR form: the referents of object i are
 * edge_dst[edge_start[i] .. edge_start[i+1]), in tp_traverse order, each with
 * a label (heap_label_text()).
 *
 * Ownership: the model (everything up to the analysis results) is owned by
 * the heap.  The analysis results (cycles, garbage, idom, retained, the
 * referrer index) are stored here so that every reader finds them in one
 * place, but they belong to the analyses (analysis.h), which allocate them
 * and free them: heap_analysis_release() on demand, and heap_free() through
 * the release function the analyses registered in analysis_free.  The model
 * library never links an analysis.  Read-only for everyone else.
 */
#ifndef PYLEAK_HEAP_H
#define PYLEAK_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct memsrc;
struct pyinterp;
struct diag;

enum heap_gen {
        HEAP_GEN_0 = 0,
        HEAP_GEN_1 = 1,
        HEAP_GEN_2 = 2,
        HEAP_GEN_PERMANENT = 3,
        HEAP_GEN_UNTRACKED = 4,
        HEAP_GEN__COUNT
};

/* heap_obj.flags */
enum {
        HOBJ_OPAQUE     = 1 << 0,  /* type has no decoder: edges unknown */
        HOBJ_IMMORTAL   = 1 << 1,  /* 3.12+ immortal refcount */
        HOBJ_HAS_GC     = 1 << 2,  /* type has Py_TPFLAGS_HAVE_GC */
        HOBJ_PARTIAL    = 1 << 3,  /* decoding hit unreadable/garbage memory */
        HOBJ_GARBAGE    = 1 << 4,  /* analysis: a full collection frees it */
        HOBJ_GC_GARBAGE = 1 << 5,  /* listed in gc.garbage */
        HOBJ_IN_CYCLE   = 1 << 6,  /* analysis: member of a reported cycle */
        HOBJ_IS_TYPE    = 1 << 7,  /* the object is a type object */
};

#define HEAP_MAX_EDGES ((uint64_t)UINT32_MAX - 1)

/* 24 bytes an object, the model's largest array (issue #15).  Addresses
 * and sizes take 48 bits: the user address space of x86-64 and arm64
 * without 5-level paging, and 256 TiB.  The reference count takes 48 bits
 * too, split around the type; heap_refcnt() reads it.  heap_add_object()
 * refuses an address past HEAP_ADDR_MAX and clamps the others (only
 * corrupt memory holds such a size or count). */
#define HEAP_ADDR_MAX   (((uint64_t)1 << 48) - 1)
#define HEAP_SIZE_MAX   (((uint64_t)1 << 48) - 1)
#define HEAP_REFCNT_MAX (((int64_t)1 << 47) - 1)
#define HEAP_REFCNT_MIN (-((int64_t)1 << 47))

struct heap_obj {
        uint64_t addr : 48;     /* == id() in the target */
        uint64_t gen : 8;       /* enum heap_gen */
        uint64_t flags : 8;     /* HOBJ_* */
        uint64_t size : 48;     /* sys.getsizeof() semantics */
        uint64_t refcnt_hi : 16;
        uint32_t type;          /* index into heap.types */
        uint32_t refcnt_lo;
};

/* As the interpreter counts it; immortal: large. */
static inline int64_t heap_refcnt(const struct heap_obj *o)
{
        uint64_t v = ((uint64_t)o->refcnt_hi << 32) | o->refcnt_lo;

        if (v & ((uint64_t)1 << 47))
                v |= ~(uint64_t)0 << 48;
        return (int64_t)v;
}

struct heap_type {
        uint64_t addr;       /* the type object's address */
        char *module;        /* "builtins", "__main__", "collections" */
        char *qualname;      /* "dict", "Node", "Outer.Inner" */
        char *fullname;      /* "builtins.dict", "__main__.Node" */
        uint64_t count;      /* objects of this type (tracked + untracked) */
        uint64_t bytes;      /* sum of their sizes */
        uint64_t tracked;    /* of which on GC lists */
        bool opaque;         /* no decoder for this type */
        uint64_t retained;   /* analysis: bytes freed if every instance went
                                away (heap_dominators) */
        uint64_t native;     /* sum of their native bytes (heap.native) */
};

struct heap_gcstate {
        bool enabled;
        bool unknown;        /* enabled and debug unread: the layout places
                                neither (an experimental layout whose
                                neighbours disagree on them) */
        bool collecting;     /* a collection was running at snapshot time */
        int debug;           /* gc.get_debug() flags */
        int thresholds[3];
        int counts[3];
        uint64_t frozen;     /* objects in the permanent generation */
};

/* What the target's memory holds beside the objects of the graph: the
 * accounting line of the reports.  A figure the snapshot could not know is
 * flagged unknown, never guessed. */
struct heap_memory {
        bool rss_known;
        uint64_t rss;              /* VmRSS of the target at snapshot time */
        bool arenas_known;
        uint64_t arenas_used;      /* pymalloc: bytes of the arenas it holds
                                      (allocated arenas x ARENA_SIZE) ... */
        uint64_t arenas_free;      /* ... and of them, the bytes holding no
                                      block: free pools and the free blocks
                                      of pools in use (heap/obmalloc.h) */
        char arenas_why[256];      /* why the arenas are unknown ("" known) */
};

struct heap_meta {
        int pid;                   /* 0 for core files / dumps of cores */
        char python_version[32];   /* "3.12.1" */
        uint32_t python_hex;       /* PY_VERSION_HEX */
        char layout_source[96];    /* "dwarf", "family:3.13 (table:...)" */
        char interp_path[512];     /* ELF that holds the interpreter */
        double pause_ms;
        double stop_ms;
        double fork_ms;            /* fork mode: the injected clone call (the
                                      kernel copying page tables), inside
                                      pause_ms; 0 in other modes */
        int threads;
        uint64_t bytes_copied;
        double walk_ms;            /* time to build the graph */
        double analyse_ms;
        int interpreters;          /* interpreters walked */
        uint64_t inconsistencies;  /* bad links/headers seen (0 = clean) */
        bool approximate;          /* built from a running process (live
                                      mode): lists and objects changed while
                                      they were read; `inconsistencies` says
                                      how much was torn, dropped or skipped */
        uint32_t live_retries;     /* live mode: torn GC lists walked again */
        uint64_t layout_gaps;      /* tracked objects left OPAQUE because the
                                      layout lacks the struct their decoder
                                      needs (private structs of stripped
                                      builds): edges unknown, not wrong */
        int pid_in_namespace;      /* the target's pid inside its own PID
                                      namespace (== pid when not namespaced;
                                      0 when unknown, e.g. core files) */
        char snapshot_mode[16];    /* "copy", "fork", "live", "core" */
        double symbols_ms;         /* finding the interpreter and validating
                                      its layout (before any stop) */
        char layout_disagreements[512]; /* providers that disagreed on a
                                      field ("" when all agree) */
        /* How sure the layout is (symbols/pyinterp.h): the checks against
         * memory that held ("; "-separated names), the candidates a family
         * or neighbours layout tried, what was placed from memory, the
         * structs left out, and whether it is experimental.  "" / false
         * for dumps before format 5. */
        char layout_checks[640];
        char layout_candidates[2048];
        char layout_inferred[8192];
        char layout_gapped[512];
        bool layout_experimental;
        uint64_t previews_dropped; /* value previews not recorded because
                                      their pool reached its cap
                                      (HEAP_PREVIEW_POOL_MAX) */
        struct heap_memory memory;
};

/* Cycles: strongly connected components with more than one object, or a
 * single object with an edge to itself.  Sorted by bytes, biggest first. */
struct heap_cycles {
        uint32_t n;
        uint32_t *start;     /* n + 1 offsets into members */
        uint32_t *members;   /* object indices */
        uint64_t *bytes;     /* per cycle: sum of member sizes */
        bool *garbage;       /* per cycle: all members are garbage */
        uint64_t *retained;  /* per cycle: bytes freed if the whole cycle went
                                away (heap_dominators; NULL until then) */
};

/* Why something is alive: references from outside the tracked graph. */
enum heap_root_kind {
        HEAP_ROOT_MODULE = 0,  /* a module in sys.modules (label: its name) */
        HEAP_ROOT_THREAD,      /* held by a thread's frame (label: the local) */
        HEAP_ROOT_INTERP,      /* the interpreter's own: sys, builtins, ... */
        HEAP_ROOT_EXTERNAL,    /* refcount exceeds the known referrers: C code,
                                  untracked containers, the C stack */
        HEAP_ROOT_IMMORTAL,
        HEAP_ROOT_PERMANENT,   /* frozen by gc.freeze() */
        HEAP_ROOT__COUNT
};

/* heap_root.label of the computed kinds (EXTERNAL, IMMORTAL, PERMANENT) */
#define HEAP_ROOT_NO_LABEL UINT32_MAX

struct heap_root {
        uint32_t obj;
        uint8_t kind;          /* enum heap_root_kind */
        uint32_t label;        /* label id (heap_label_text), e.g. "json";
                                  HEAP_ROOT_NO_LABEL for computed roots */
        uint32_t frame;        /* HEAP_ROOT_THREAD: index into frames, else
                                  UINT32_MAX */
};

struct heap_thread {
        uint64_t thread_id;    /* threading.get_ident() */
        int64_t native_id;     /* the kernel's tid, 0 if unknown */
        uint32_t first_frame;  /* innermost first, into heap.frames */
        uint32_t nframes;
};

struct heap_frame {
        uint32_t thread;
        char *function;        /* co_qualname (or co_name) */
        char *filename;
        int line;              /* current line, or first line if unknown */
        uint32_t code;         /* object index of the code object or UINT32_MAX */
};

/* Named failures of the walker's consistency checks: which object (and
 * list) broke which invariant of the interpreter's own structures.  Each
 * is also counted in meta.inconsistencies; the counts without a name
 * (torn frame chains, live-mode races) stay counts. */
enum heap_check {
        HEAP_CHECK_GC_NEXT = 0,  /* _gc_next leads to no readable node */
        HEAP_CHECK_GC_PREV,      /* a node's _gc_prev does not point back at
                                    the node whose _gc_next led to it */
        HEAP_CHECK_LIST_HEAD,    /* the list runs into another list's head,
                                    or its head's _gc_prev is not its last
                                    node */
        HEAP_CHECK_DUPLICATE,    /* an object on the GC lists twice */
        HEAP_CHECK_HEADER,       /* a list member's header is unreadable or
                                    implausible (type, refcount) */
        HEAP_CHECK_DICT_USED,    /* ma_used above what the keys can hold */
        HEAP_CHECK_STR_KIND,     /* str kind not 1, 2 or 4 (or the ascii
                                    flag with another kind) */
        HEAP_CHECK_STR_LENGTH,   /* str length past its characters' end:
                                    no NUL at data[length], or unreadable */
        HEAP_CHECK_REFERENT,     /* a reference leads to unreadable or
                                    implausible memory */
        HEAP_CHECK__COUNT
};

struct heap_problem {
        uint64_t obj;        /* the object that failed (0: none known) */
        uint64_t node;       /* GC checks: the list node (obj - GC head) */
        uint64_t value;      /* what was found (a pointer, a count) */
        uint64_t expect;     /* what the check wanted: the node before,
                                the bound; 0 when none */
        uint32_t type;       /* index into heap.types; UINT32_MAX unknown */
        uint8_t gen;         /* enum heap_gen of the list walked;
                                HEAP_GEN_UNTRACKED when not a list check */
        uint8_t check;       /* enum heap_check */
        bool recovered;      /* live mode: the list was walked from both
                                ends and nothing is missing */
};

/* The first problems are kept (nproblems of them); the rest only counted. */
#define HEAP_PROBLEMS_MAX 32

/* What the model and each analysis cost in this process, so that the next
 * bottleneck is visible (the JSON's "costs", tests/bench/scale): wall ms
 * on the thread that ran it, and the bytes of what it keeps for the rest
 * of the run.  The dominator tree's steps (referrers, roots, dominators)
 * run beside the cycle searches, so the ms add up to more than
 * analyse_ms.  Scratch freed before the step ends is not in `kept`.  All
 * zero (costs_known false) for a heap loaded from a dump, whose analyses
 * were not run again. */
enum heap_cost_step {
        HEAP_COST_MODEL = 0,       /* the walk: ms = walk_ms, kept = the graph */
        HEAP_COST_CYCLES,          /* strongly connected components */
        HEAP_COST_LOCAL_CYCLES,    /* the same, structure edges ignored */
        HEAP_COST_GARBAGE,         /* what a full collection would free */
        HEAP_COST_REFERRERS,       /* the referrer index */
        HEAP_COST_ROOTS,           /* the computed roots */
        HEAP_COST_DOMINATORS,      /* dominator tree and retained sizes */
        HEAP_COST_CYCLE_RETAINED,  /* retained size of each cycle */
        HEAP_COST__COUNT
};

struct heap_cost {
        double ms;
        uint64_t kept;             /* bytes */
};

const char *heap_cost_name(enum heap_cost_step s);  /* "model", "cycles", ... */

struct heap {
        struct heap_meta meta;
        struct heap_gcstate gc;
        uint32_t nproblems;
        struct heap_problem problems[HEAP_PROBLEMS_MAX];

        bool costs_known;
        struct heap_cost costs[HEAP_COST__COUNT];

        uint32_t nobjs, ntracked, cap_objs;
        struct heap_obj *objs;

        uint32_t ntypes, cap_types;
        struct heap_type *types;

        /* Edge offsets are 32-bit, 4 bytes an object less than 64-bit ones
         * (issue #15): HEAP_MAX_EDGES references at most, more than the
         * 2^31 objects heap_add_object takes are ever likely to hold. */
        uint64_t nedges, cap_edges;
        uint32_t *edge_start;      /* nobjs + 1 entries once finished */
        uint32_t *edge_dst;
        /* Labels take 2 bytes an edge, not 4 (issue #15): read them with
         * heap_edge_label().  An index label "[k]" is a code of its own,
         * or none where k follows from the edge's position (HEAP_LAB_POS,
         * HEAP_LAB_RPOS: a list of a million items); the rare label that
         * fits in no code is HEAP_LAB_ESC, kept with its edge in
         * lab_esc_edge / lab_esc (ascending by edge: edges come in
         * order). */
        uint16_t *edge_lab;
        uint64_t nlab_esc, cap_lab_esc;
        uint32_t *lab_esc_edge;
        uint32_t *lab_esc;

        uint32_t nlabels, cap_labels;
        char **labels;             /* interned label texts */

        uint32_t ngen_counts[HEAP_GEN__COUNT];  /* objects per generation */
        uint32_t ndecoded;         /* tracked objects with a decoder */

        uint32_t ngc_garbage;
        uint32_t *gc_garbage;      /* object indices in gc.garbage order */

        /* explicit roots recorded by the walker (sys.modules, frames, the
         * interpreter: kinds MODULE, THREAD, INTERP) first, then the computed
         * ones (EXTERNAL, IMMORTAL, PERMANENT) appended by
         * heap_roots_compute() (analysis.h) */
        uint32_t nroots, cap_roots;
        struct heap_root *roots;
        uint32_t nthreads;
        struct heap_thread *threads;
        uint32_t nframes;
        struct heap_frame *frames;

        /* analysis results (heap_analyse): owned by the analyses, which set
         * analysis_free when they store one; heap_free() calls it */
        void (*analysis_free)(struct heap *h);
        bool analysed;
        struct heap_cycles cycles;
        struct heap_cycles cycles_local;  /* same, ignoring references to
                                             types, modules and function
                                             globals (analysis.h) */
        uint32_t ngarbage;
        uint32_t *garbage;         /* what a full collection would free */

        /* dominators (heap_analyse, see analysis.h): NULL until computed */
        uint32_t *idom;            /* immediate dominator; UINT32_MAX = the
                                      virtual root */
        uint64_t *retained;        /* bytes freed if the object went away */

        /* referrers (heap_preds_build, analysis.h): the objects referring to
         * i are pred_src[pred_start[i] .. pred_start[i+1]), ascending, one
         * entry per edge; NULL until built */
        uint32_t *pred_start;
        uint32_t *pred_src;

        /* value previews (heap_preview): preview_obj[k] is an object
         * index, ascending, and preview_pool + preview_off[k] its
         * NUL-terminated text; objects without a preview cost nothing.
         * Read-only for ui/ (a search scans these arrays in order). */
        uint32_t npreviews, cap_previews;
        uint32_t *preview_obj;
        uint32_t *preview_off;
        char *preview_pool;
        uint64_t preview_pool_len, preview_pool_cap;

        /* native bytes (heap_native()): per object, the bytes of the
         * buffer outside the object that it owns and that its size
         * (sys.getsizeof) leaves out or that nothing in the graph would
         * count otherwise: a bytearray's ob_alloc, an array.array's items,
         * a numpy array's own data (and the data of a base array no object
         * of the graph holds, on the first view that pins it).  Added to
         * the size for retained sizes.  NULL when no object has any;
         * native_total is their sum. */
        uint64_t *native;
        uint64_t native_total;

        void *priv;                /* the builder's internals (heap.c) */
};

static inline uint64_t heap_native(const struct heap *h, uint32_t i)
{
        return h->native ? h->native[i] : 0;
}

/* The bytes an object counts for retained sizes: its own and its native
 * buffer's. */
static inline uint64_t heap_weight(const struct heap *h, uint32_t i)
{
        return h->objs[i].size + heap_native(h, i);
}

/* Longest preview text stored (bytes, NUL excluded), and the cap of all
 * preview texts together: past it the walker stops recording and counts
 * meta.previews_dropped. */
#define HEAP_PREVIEW_MAX 255
#define HEAP_PREVIEW_POOL_MAX ((uint64_t)64 << 20)

/* Labels: an edge label is either an index ("[n]", high bit set) or an id of
 * an interned text (".name", "['key']", "<key>", "__class__", ...). */
#define HEAP_LABEL_INDEX_BIT 0x80000000u
static inline uint32_t heap_label_index(uint32_t n)
{
        return HEAP_LABEL_INDEX_BIT | (n & ~HEAP_LABEL_INDEX_BIT);
}
/* edge_lab codes: below HEAP_LAB_INDEX0 an interned id; from it to
 * HEAP_LAB_RPOS an index label; HEAP_LAB_POS the index of the edge among
 * its source's edges, HEAP_LAB_RPOS the same counted from the last (a
 * list's and a tuple's tp_traverse visit their items backwards);
 * HEAP_LAB_ESC in the escape table. */
#define HEAP_LAB_INDEX0 0x8000u
#define HEAP_LAB_RPOS   0xfffdu
#define HEAP_LAB_ESC    0xfffeu
#define HEAP_LAB_POS    0xffffu
uint32_t heap_edge_label_escaped(const struct heap *h, uint64_t e);
/* The label of edge e, one of src's: a finished heap only. */
static inline uint32_t heap_edge_label(const struct heap *h, uint32_t src, uint64_t e)
{
        uint32_t c = h->edge_lab[e];

        if (c < HEAP_LAB_INDEX0)
                return c;
        if (c == HEAP_LAB_POS)
                return heap_label_index((uint32_t)(e - h->edge_start[src]));
        if (c == HEAP_LAB_RPOS)
                return heap_label_index((uint32_t)(h->edge_start[src + 1] - 1 - e));
        if (c == HEAP_LAB_ESC)
                return heap_edge_label_escaped(h, e);
        return heap_label_index(c - HEAP_LAB_INDEX0);
}
/* Writes the label text into buf (always NUL-terminated); returns buf. */
const char *heap_label_text(const struct heap *h, uint32_t label,
                            char *buf, size_t len);

/* The bound on a walk's objects for a target of rss resident bytes: no
 * object is smaller than 16 bytes, and twice what that allows leaves room
 * for swapped-out pages; never under the default (100 million), never
 * past what the model can index. */
uint64_t heap_object_cap(uint64_t rss);

struct heap_build_opts {
        uint64_t max_objects;      /* the walk's bound on objects: 0 = the
                                      default (100 million); heap_object_cap()
                                      for a target's resident size */
        int collecting_retries;    /* unused by heap_build itself */
        bool live;                 /* the memsrc reads the running process
                                      (snapshot mode "live"): every list link
                                      and object header is validated, a torn
                                      list is walked again (live_retries
                                      times) and then cut short, duplicates
                                      and bad referents are skipped; all of
                                      it is counted in meta.inconsistencies
                                      and meta.approximate is set */
        int live_retries;          /* live: re-walks per torn list (0 = 5) */
        bool accept_collections;   /* live: a collection running during the
                                      walk makes the result partial (counted
                                      in meta.inconsistencies, gc.collecting
                                      set) instead of -EAGAIN; for the last
                                      of the caller's retries, on a target
                                      that collects all the time */
        bool no_previews;          /* record no value previews (heap_preview):
                                      only the browser and dumps show them,
                                      and they cost ~5% of a walk */
        bool str_previews_only;    /* record the previews of str objects
                                      only: all that the reports read (the
                                      names of threads, a heap snapshot's
                                      strings), for a run that writes no
                                      dump and opens no browser; the others
                                      cost ~10 bytes per object of the
                                      tool's peak */
        /* Optional: called from the walking thread every few thousand
         * objects, first as the GC lists are walked (done: objects listed,
         * total 0: not known yet), then as their references are decoded
         * (done of total); it must be cheap and must not print from here:
         * the caller (ui/progress.c) only stores the numbers. */
        void (*progress)(void *ctx, uint32_t done, uint32_t total);
        void *progress_ctx;
};

/* Walks every interpreter's GC lists (all generations + permanent) and
 * decodes references.  -EAGAIN if a collection was running (gc.collecting;
 * in live mode also if one started during the walk); -EBADMSG on
 * inconsistent lists (with a diag), never in live mode. */
int heap_build(struct memsrc *m, const struct pyinterp *pi,
               const struct heap_build_opts *opts, struct heap **ret,
               struct diag *d);

/* Runs every analysis (cycles, local cycles, garbage, referrer index,
 * computed roots, dominators and retained sizes: analysis.h). Idempotent. */
int heap_analyse(struct heap *h);

/* A short, printable preview of an object's value, recorded by the walker
 * while the target's bytes are at hand: str text (truncated, quoted like
 * repr), bytes, int and float values, bool/None, container lengths
 * ("len 3"), function and code names with file:line.  Writes at most len
 * bytes (NUL-terminated) and returns 0, or -ENOENT when nothing was recorded
 * for the object. */
int heap_preview(const struct heap *h, uint32_t obj, char *buf, size_t len);

/* The check's short name ("gc_prev", "dict_used", ...): stable, for
 * scripts (the JSON report's "problems"). */
const char *heap_check_name(enum heap_check c);

/* One sentence naming the object, its type, the list and what failed,
 * e.g. "GC list of generation 2: node 0x... (object 0x..., builtins.dict):
 * _gc_prev is 0x..., not the node before it (0x...)".  Always
 * NUL-terminated; returns buf. */
const char *heap_problem_text(const struct heap *h, const struct heap_problem *p,
                              char *buf, size_t len);

/* Object index for an address, or -1.  The index behind it is dropped
 * when the heap is finished (the analyses and reports never look an
 * address up): the first call after that rebuilds it, in about the time
 * the walk took to add the objects (tens of ms per million), and -1 is
 * also the answer when there is no memory to rebuild it. */
int64_t heap_find(const struct heap *h, uint64_t addr);

static inline uint64_t heap_nref(const struct heap *h, uint32_t i)
{
        return h->edge_start[i + 1] - h->edge_start[i];
}

/* The accounting line: the target's RSS against what the graph explains.
 * python_objects is the sum of the graph's object sizes, buffers its
 * native bytes (heap.native); unexplained is the RSS neither covers
 * (0 when they cover it all), known only when the RSS is. */
struct heap_accounting {
        uint64_t python_objects;
        uint64_t buffers;
        bool unexplained_known;
        uint64_t unexplained;
};
void heap_accounting(const struct heap *h, struct heap_accounting *ret);

const char *heap_gen_name(enum heap_gen g);  /* "0","1","2","permanent","untracked" */

/* The memory budget of the big arrays (heap-build.h: heap_big_malloc()):
 * bytes (0: none, nothing spills; the default) and the directory of the
 * spill files (NULL: /var/tmp).  Process-wide; set before the walk. */
void heap_big_budget(uint64_t bytes, const char *dir);

struct heap_big_stats {
        uint64_t budget;
        uint64_t in_memory;        /* bytes of the big blocks in memory now */
        uint64_t spilled;          /* ... and in spill files now */
        uint64_t spilled_peak;     /* the most that was ever in spill files */
        uint64_t peak;             /* the most of both together */
        char dir[4096];
        char why[4096 + 256];      /* why a block that should have spilled
                                      could not ("" when none failed) */
};
void heap_big_stats(struct heap_big_stats *ret);

/* The bytes the finished graph holds (heap.costs[HEAP_COST_MODEL].kept). */
uint64_t heap_model_bytes(const struct heap *h);

void heap_free(struct heap *h);

#endif
