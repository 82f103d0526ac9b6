/* report-heapsnapshot: the heap as a Chrome DevTools heap snapshot
 * (.heapsnapshot), so that the DevTools Memory panel (Summary, Comparison,
 * Containment, Retainers, retained sizes) and any reader of the format
 * open a Python heap.
 *
 * The format is V8's: one JSON object whose "nodes" and "edges" are flat
 * arrays of numbers described by "snapshot.meta", and whose "strings"
 * hold every name once.  Node 0 is a synthetic root; under it one
 * synthetic node per kind of root (modules, threads' frames, the
 * interpreter, C code, immortal, frozen) holds the tool's roots, and one
 * more holds the objects no root reaches (garbage), as the tool's own
 * dominator tree does: the readers' retained sizes are then the tool's.
 * Node fields are 32-bit in the readers (DevTools keeps them in typed
 * arrays), so ids are node numbers, not addresses; the address is in the
 * name of non-string nodes ("__main__.Node @0x7f..." would defeat the
 * Summary's grouping by name), and in the README's mapping.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"

enum { NODE_FIELDS = 7 };

/* node_types[0] and edge_types[0] of the meta, in V8's order */
enum node_type { N_HIDDEN, N_ARRAY, N_STRING, N_OBJECT, N_CODE, N_CLOSURE, N_REGEXP,
                 N_NUMBER, N_NATIVE, N_SYNTHETIC };
enum edge_type { E_CONTEXT, E_ELEMENT, E_PROPERTY, E_INTERNAL, E_HIDDEN, E_SHORTCUT,
                 E_WEAK };

/* The synthetic nodes after the root: one per root kind, then garbage. */
#define KIND_NODES (HEAP_ROOT__COUNT + 1)
#define GARBAGE_NODE HEAP_ROOT__COUNT

static const char *const kind_names[KIND_NODES] = {
        [HEAP_ROOT_MODULE] = "(modules: sys.modules)",
        [HEAP_ROOT_THREAD] = "(threads: frames and their locals)",
        [HEAP_ROOT_INTERP] = "(interpreter: sys, builtins, ...)",
        [HEAP_ROOT_EXTERNAL] = "(held from outside the graph: C code)",
        [HEAP_ROOT_IMMORTAL] = "(immortal objects)",
        [HEAP_ROOT_PERMANENT] = "(frozen: gc.freeze())",
        [GARBAGE_NODE] = "(unreachable: garbage)",
};

struct hs {
        FILE *f;
        const struct heap *h;
        uint32_t *unreached_heads;   /* objects the garbage node points at */
        uint32_t nheads;
        uint32_t *per_kind;          /* roots per kind */
        /* strings: 0 "", 1 "(root)", 2.. kind names, then type names,
         * then label texts, then per-object names (str values) */
        uint32_t str_types, str_labels, str_objs;
};

static int json_string(FILE *f, const char *s)
{
        report_json_string(f, s);
        return ferror(f) ? -EIO : 0;
}

static bool is_str(const struct heap *h, uint32_t i)
{
        return !strcmp(report_type_name(h, i), "builtins.str");
}

/* Marks what start reaches; stack holds nobjs entries (each object is
 * pushed once). */
static void visit_from(const struct heap *h, uint8_t *seen, uint32_t *stack, uint32_t start)
{
        uint32_t sp = 0;

        seen[start] = 1;
        stack[sp++] = start;
        while (sp) {
                uint32_t v = stack[--sp];

                for (uint64_t e = h->edge_start[v]; e < h->edge_start[v + 1]; e++) {
                        uint32_t w = h->edge_dst[e];

                        if (!seen[w]) {
                                seen[w] = 1;
                                stack[sp++] = w;
                        }
                }
        }
}

/* The objects no root reaches, and among them those no other unreached
 * object refers to, then one of each unreached cycle left: the extra
 * children of the tool's virtual root (analysis.h, heap_dominators). */
static int find_unreached(struct hs *s)
{
        const struct heap *h = s->h;
        uint8_t *seen = calloc(h->nobjs ? h->nobjs : 1, 1);
        uint32_t *stack = malloc(sizeof(*stack) * (h->nobjs ? h->nobjs : 1));
        uint32_t *indeg = calloc(h->nobjs ? h->nobjs : 1, sizeof(*indeg));

        s->unreached_heads = malloc(sizeof(uint32_t) * (h->nobjs ? h->nobjs : 1));
        if (!seen || !stack || !indeg || !s->unreached_heads) {
                free(seen);
                free(stack);
                free(indeg);
                return -ENOMEM;
        }
        for (uint32_t r = 0; r < h->nroots; r++)
                if (!seen[h->roots[r].obj])
                        visit_from(h, seen, stack, h->roots[r].obj);
        for (uint32_t v = 0; v < h->nobjs; v++)
                if (!seen[v])
                        for (uint64_t e = h->edge_start[v]; e < h->edge_start[v + 1]; e++)
                                indeg[h->edge_dst[e]] += !seen[h->edge_dst[e]];
        for (int pass = 0; pass < 2; pass++)
                for (uint32_t v = 0; v < h->nobjs; v++)
                        if (!seen[v] && (pass == 1 || !indeg[v])) {
                                s->unreached_heads[s->nheads++] = v;
                                visit_from(h, seen, stack, v);
                        }
        free(seen);
        free(stack);
        free(indeg);
        return 0;
}

static void edge_of_label(const struct hs *s, uint32_t label, int *type, uint64_t *name)
{
        char buf[256];

        if (label & HEAP_LABEL_INDEX_BIT) {
                *type = E_ELEMENT;
                *name = label & ~HEAP_LABEL_INDEX_BIT;
                return;
        }
        heap_label_text(s->h, label, buf, sizeof(buf));
        *type = buf[0] == '.' ? E_PROPERTY : E_INTERNAL;
        *name = s->str_labels + label;
}

static uint32_t node_of_obj(uint32_t i)
{
        return 1 + KIND_NODES + i;
}

static void write_meta(struct hs *s, uint64_t nnodes, uint64_t nedges)
{
        fprintf(s->f, "{\"snapshot\":{\"meta\":{"
                "\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\","
                "\"trace_node_id\",\"detachedness\"],"
                "\"node_types\":[[\"hidden\",\"array\",\"string\",\"object\",\"code\","
                "\"closure\",\"regexp\",\"number\",\"native\",\"synthetic\","
                "\"concatenated string\",\"sliced string\",\"symbol\",\"bigint\","
                "\"object shape\"],\"string\",\"number\",\"number\",\"number\",\"number\","
                "\"number\"],"
                "\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"
                "\"edge_types\":[[\"context\",\"element\",\"property\",\"internal\",\"hidden\","
                "\"shortcut\",\"weak\"],\"string_or_number\",\"node\"],"
                "\"trace_function_info_fields\":[\"function_id\",\"name\",\"script_name\","
                "\"script_id\",\"line\",\"column\"],"
                "\"trace_node_fields\":[\"id\",\"function_info_index\",\"count\",\"size\","
                "\"children\"],"
                "\"sample_fields\":[\"timestamp_us\",\"last_assigned_id\"],"
                "\"location_fields\":[\"object_index\",\"script_id\",\"line\",\"column\"]},"
                "\"node_count\":%" PRIu64 ",\"edge_count\":%" PRIu64
                ",\"trace_function_count\":0},\n", nnodes, nedges);
}

static void write_nodes(struct hs *s)
{
        const struct heap *h = s->h;

        fprintf(s->f, "\"nodes\":[%d,1,1,0,%d,0,0", N_SYNTHETIC, KIND_NODES);
        for (int k = 0; k < KIND_NODES; k++)
                fprintf(s->f, ",\n%d,%d,%u,0,%u,0,0", N_SYNTHETIC, 2 + k, 2 * (k + 1) + 1,
                        k == GARBAGE_NODE ? s->nheads : s->per_kind[k]);
        for (uint32_t i = 0; i < h->nobjs; i++) {
                const struct heap_obj *o = &h->objs[i];
                /* native bytes included, as in the tool's retained sizes
                 * (and sys.getsizeof of a bytearray or an owning array) */
                uint64_t w = heap_weight(h, i), size = w > UINT32_MAX ? UINT32_MAX : w;
                bool str = is_str(h, i);

                fprintf(s->f, ",\n%d,%" PRIu32 ",%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",0,0",
                        str ? N_STRING : N_OBJECT,
                        str ? s->str_objs + i : s->str_types + o->type,
                        2 * node_of_obj(i) + 1, size,
                        (uint64_t)(h->edge_start[i + 1] - h->edge_start[i]));
        }
        fputs("],\n", s->f);
}

static void write_edges(struct hs *s)
{
        const struct heap *h = s->h;
        const char *sep = "";

        fputs("\"edges\":[", s->f);
        for (int k = 0; k < KIND_NODES; k++) {
                fprintf(s->f, "%s%d,%d,%d", sep, E_INTERNAL, 2 + k, (1 + k) * NODE_FIELDS);
                sep = ",";
        }
        for (int k = 0; k < HEAP_ROOT__COUNT; k++)
                for (uint32_t r = 0, n = 0; r < h->nroots; r++) {
                        const struct heap_root *rt = &h->roots[r];
                        bool named = rt->label != HEAP_ROOT_NO_LABEL;

                        if (rt->kind != k)
                                continue;
                        fprintf(s->f, ",\n%d,%" PRIu64 ",%" PRIu32, named ? E_PROPERTY : E_ELEMENT,
                                named ? (uint64_t)s->str_labels + rt->label : (uint64_t)n,
                                node_of_obj(rt->obj) * NODE_FIELDS);
                        n++;
                }
        for (uint32_t g = 0; g < s->nheads; g++)
                fprintf(s->f, ",\n%d,%" PRIu32 ",%" PRIu32, E_ELEMENT, g,
                        node_of_obj(s->unreached_heads[g]) * NODE_FIELDS);
        for (uint32_t i = 0; i < h->nobjs; i++)
                for (uint64_t e = h->edge_start[i]; e < h->edge_start[i + 1]; e++) {
                        int type;
                        uint64_t name;

                        edge_of_label(s, heap_edge_label(h, i, e), &type, &name);
                        fprintf(s->f, ",\n%d,%" PRIu64 ",%" PRIu32, type, name,
                                node_of_obj(h->edge_dst[e]) * NODE_FIELDS);
                }
        fputs("],\n", s->f);
}

static int write_strings(struct hs *s)
{
        const struct heap *h = s->h;
        char buf[HEAP_PREVIEW_MAX + 64];
        int r = 0;

        fputs("\"trace_function_infos\":[],\"trace_tree\":[],\"samples\":[],\"locations\":[],\n"
              "\"strings\":[\"\",\"(root)\"", s->f);
        for (int k = 0; k < KIND_NODES; k++) {
                fputc(',', s->f);
                r |= json_string(s->f, kind_names[k]);
        }
        for (uint32_t t = 0; t < h->ntypes; t++) {
                fputs(",\n", s->f);
                r |= json_string(s->f, h->types[t].fullname ? h->types[t].fullname : "?");
        }
        for (uint32_t l = 0; l < h->nlabels; l++) {
                const char *text = heap_label_text(h, l, buf, sizeof(buf));

                fputs(",\n", s->f);
                r |= json_string(s->f, text[0] == '.' ? text + 1 : text);
        }
        /* a string node's name is its value, as DevTools shows strings */
        for (uint32_t i = 0; i < h->nobjs; i++) {
                fputs(",\n", s->f);
                if (is_str(h, i) && heap_preview(h, i, buf, sizeof(buf)) == 0)
                        r |= json_string(s->f, buf);
                else
                        fputs("\"\"", s->f);
        }
        fputs("]}\n", s->f);
        return r;
}

int report_heapsnapshot(const struct heap *h, FILE *f)
{
        struct hs s = { .f = f, .h = h };
        uint64_t nroots = 0;
        int r;

        s.per_kind = calloc(HEAP_ROOT__COUNT, sizeof(*s.per_kind));
        if (!s.per_kind)
                return -ENOMEM;
        r = find_unreached(&s);
        if (r < 0) {
                free(s.per_kind);
                return r;
        }
        for (uint32_t i = 0; i < h->nroots; i++)
                if (h->roots[i].kind < HEAP_ROOT__COUNT) {
                        s.per_kind[h->roots[i].kind]++;
                        nroots++;
                }
        s.str_types = 2 + KIND_NODES;
        s.str_labels = s.str_types + h->ntypes;
        s.str_objs = s.str_labels + h->nlabels;
        write_meta(&s, 1 + KIND_NODES + (uint64_t)h->nobjs,
                   KIND_NODES + nroots + s.nheads + h->nedges);
        write_nodes(&s);
        write_edges(&s);
        r = write_strings(&s);
        free(s.per_kind);
        free(s.unreached_heads);
        if (r < 0 || ferror(f))
                return -EIO;
        return 0;
}
