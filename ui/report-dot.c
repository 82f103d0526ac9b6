/* The Graphviz writer: chosen cycles as clusters of labelled edges, so a
 * reference cycle can be looked at as a picture (`dot -Tsvg`).  Big
 * components (the one that instances -> class -> module globals make) are
 * drawn as their shortest cycle through the first member, with a note of
 * what was left out: a graph of 100 000 nodes helps nobody. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "heap.h"
#include "paths.h"
#include "utf8.h"

/* A quoted DOT string from hostile text: invalid UTF-8 becomes U+FFFD
 * (Graphviz rejects it), control characters a space. */
static void dot_str(FILE *f, const char *s)
{
        size_t n = strlen(s), i = 0;

        fputc('"', f);
        while (i < n) {
                unsigned char b = (unsigned char)s[i];
                char enc[UTF8_MAX_BYTES];
                uint32_t c;
                bool bad;
                size_t k;

                if (b == '"' || b == '\\') {
                        fprintf(f, "\\%c", b);
                        i++;
                        continue;
                }
                k = utf8_decode(s + i, n - i, &c, &bad);
                if (bad)
                        fwrite(enc, 1, utf8_encode(UTF8_REPLACEMENT, enc), f);
                else if (c < 0x20 || (c >= 0x7f && c < 0xa0))
                        fputc(' ', f);
                else
                        fwrite(s + i, 1, k, f);
                i += k;
        }
        fputc('"', f);
}

static bool is_member(const struct heap_cycles *c, uint32_t cyc, uint32_t obj, uint32_t limit)
{
        const uint32_t *m = c->members + c->start[cyc];
        uint32_t lo = 0, hi = c->start[cyc + 1] - c->start[cyc];

        /* members are ascending: binary search among the first `limit` */
        if (hi > limit)
                hi = limit;
        while (lo < hi) {
                uint32_t mid = (lo + hi) / 2;

                if (m[mid] == obj)
                        return true;
                if (m[mid] < obj)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return false;
}

static void node(FILE *f, const struct heap *h, uint32_t i)
{
        char label[512];

        snprintf(label, sizeof(label), "%s\n0x%" PRIx64 "\n%" PRIu64 " B",
                 report_type_name(h, i), (uint64_t)h->objs[i].addr, (uint64_t)h->objs[i].size);
        fprintf(f, "    o%" PRIx64 " [label=", (uint64_t)h->objs[i].addr);
        dot_str(f, label);
        if (h->objs[i].flags & HOBJ_GARBAGE)
                fputs(", color=red", f);
        fputs("];\n", f);
}

static void edge(FILE *f, const struct heap *h, uint32_t a, uint32_t b, uint32_t label)
{
        char lbl[256];

        fprintf(f, "    o%" PRIx64 " -> o%" PRIx64 " [label=", (uint64_t)h->objs[a].addr, (uint64_t)h->objs[b].addr);
        dot_str(f, heap_label_text(h, label, lbl, sizeof(lbl)));
        fputs("];\n", f);
}

static int dot_cycle(FILE *f, const struct heap *h, const struct heap_cycles *c, uint32_t cyc,
                     unsigned max_members)
{
        uint32_t n = c->start[cyc + 1] - c->start[cyc];
        char sig[512], title[768];

        heap_cycles_signature(h, c, cyc, sig, sizeof(sig));
        snprintf(title, sizeof(title), "#%" PRIu32 ": %" PRIu32 " object%s, %" PRIu64
                 " bytes, %s [%s]", cyc + 1, n, n == 1 ? "" : "s", c->bytes[cyc],
                 c->garbage[cyc] ? "GARBAGE" : "alive", sig);
        fprintf(f, "  subgraph cluster_%" PRIu32 " {\n    label=", cyc + 1);
        dot_str(f, title);
        fputs(";\n", f);
        if (n <= max_members) {
                for (uint32_t k = c->start[cyc]; k < c->start[cyc + 1]; k++)
                        node(f, h, c->members[k]);
                for (uint32_t k = c->start[cyc]; k < c->start[cyc + 1]; k++) {
                        uint32_t u = c->members[k];

                        for (uint64_t e = h->edge_start[u]; e < h->edge_start[u + 1]; e++)
                                if (is_member(c, cyc, h->edge_dst[e], n))
                                        edge(f, h, u, h->edge_dst[e], heap_edge_label(h, u, e));
                }
        } else {
                struct heap_path p = {0};
                uint32_t first = c->members[c->start[cyc]];
                int r;

                r = heap_cycles_shortest(h, c, cyc, first, &p);
                if (r == -ENOMEM)
                        return r;
                if (r == 0) {
                        for (uint32_t k = 0; k < p.n; k++)
                                node(f, h, p.objs[k]);
                        for (uint32_t k = 0; k < p.n; k++)
                                edge(f, h, p.objs[k], p.objs[k + 1], p.labels[k]);
                }
                fprintf(f, "    more%" PRIu32 " [shape=note, label=\"shortest cycle through the "
                        "first member; %" PRIu32 " members in all\"];\n", cyc + 1, n);
                heap_path_release(&p);
        }
        fputs("  }\n", f);
        return 0;
}

int report_dot(const struct heap *h, FILE *f, const struct dot_opts *o)
{
        const struct heap_cycles *c = o->local ? &h->cycles_local : &h->cycles;
        unsigned max_members = o->max_members ? o->max_members : 50;
        int r = 0;

        fputs("digraph pyleak {\n  graph [rankdir=LR, fontname=\"monospace\"];\n"
              "  node [shape=box, fontname=\"monospace\", fontsize=10];\n"
              "  edge [fontname=\"monospace\", fontsize=9];\n", f);
        if (o->ncycles) {
                for (uint32_t k = 0; k < o->ncycles && r == 0; k++)
                        if (o->cycles[k] >= 1 && o->cycles[k] <= c->n)
                                r = dot_cycle(f, h, c, o->cycles[k] - 1, max_members);
        } else {
                unsigned want = o->top ? o->top : 10, drawn = 0;

                /* the local view leaves the interpreter's structure out, as
                 * the text report folds it */
                for (uint32_t k = 0; k < c->n && drawn < want && r == 0; k++) {
                        if (o->local && report_cycle_is_structure(h, c, k))
                                continue;
                        r = dot_cycle(f, h, c, k, max_members);
                        drawn++;
                }
        }
        fputs("}\n", f);
        if (r < 0)
                return r;
        return ferror(f) ? -EIO : 0;
}
