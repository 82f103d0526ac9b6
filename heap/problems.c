/* problems: the consistency problems a walk names (heap.h): their check
 * names and the one sentence each becomes.  Part of the model, so the
 * writers and a reopened dump describe them without the walker (the
 * walker's checks that find them are in check.c). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "heap-build.h"

static const char *const check_names[HEAP_CHECK__COUNT] = {
        [HEAP_CHECK_GC_NEXT] = "gc_next",
        [HEAP_CHECK_GC_PREV] = "gc_prev",
        [HEAP_CHECK_LIST_HEAD] = "list_head",
        [HEAP_CHECK_DUPLICATE] = "duplicate",
        [HEAP_CHECK_HEADER] = "header",
        [HEAP_CHECK_DICT_USED] = "dict_used",
        [HEAP_CHECK_STR_KIND] = "str_kind",
        [HEAP_CHECK_STR_LENGTH] = "str_length",
        [HEAP_CHECK_REFERENT] = "referent",
};

const char *heap_check_name(enum heap_check c)
{
        return (unsigned)c < HEAP_CHECK__COUNT ? check_names[c] : "?";
}

void heap_add_problem(struct heap *h, const struct heap_problem *p)
{
        if (h->nproblems < HEAP_PROBLEMS_MAX)
                h->problems[h->nproblems++] = *p;
}

/* "0x7f.. (builtins.dict)", or the address alone when the type is unknown */
static void obj_text(const struct heap *h, uint64_t obj, uint32_t type, char *buf, size_t len)
{
        if (type < h->ntypes && h->types[type].fullname)
                snprintf(buf, len, "0x%" PRIx64 " (%s)", obj, h->types[type].fullname);
        else
                snprintf(buf, len, "0x%" PRIx64, obj);
}

const char *heap_problem_text(const struct heap *h, const struct heap_problem *p, char *buf,
                              size_t len)
{
        const char *gen = heap_gen_name((enum heap_gen)p->gen);
        char o[300];
        int n = 0;

        obj_text(h, p->obj, p->type, o, sizeof(o));
        switch (p->check) {
        case HEAP_CHECK_GC_NEXT:
                /* the pointer without CPython's flag bits */
                if (p->obj)
                        n = snprintf(buf, len, "GC list of generation %s is broken: node 0x%"
                                     PRIx64 " (object %s) has _gc_next 0x%" PRIx64, gen,
                                     p->node, o, p->value & ~(uint64_t)3);
                else
                        n = snprintf(buf, len, "GC list of generation %s is broken: its head "
                                     "0x%" PRIx64 " has _gc_next 0x%" PRIx64, gen, p->node,
                                     p->value & ~(uint64_t)3);
                if (n >= 0 && (size_t)n < len)
                        n += snprintf(buf + n, len - (size_t)n, ", which %s",
                                      !(p->value & ~(uint64_t)3) || (p->value & 4) ?
                                      "is not a valid address" : "leads to unreadable memory");
                break;
        case HEAP_CHECK_GC_PREV:
                n = snprintf(buf, len, "GC list of generation %s is broken: node 0x%" PRIx64
                             " (object %s) has _gc_prev 0x%" PRIx64 ", not the node before it "
                             "(0x%" PRIx64 ")", gen, p->node, o, p->value, p->expect);
                break;
        case HEAP_CHECK_LIST_HEAD:
                if (p->obj)
                        n = snprintf(buf, len, "GC list of generation %s is broken: after node "
                                     "0x%" PRIx64 " (object %s) it runs into another list's "
                                     "head (0x%" PRIx64 ")", gen, p->node, o, p->value);
                else
                        n = snprintf(buf, len, "GC list of generation %s is broken: its head "
                                     "0x%" PRIx64 " has _gc_prev 0x%" PRIx64 ", not its last "
                                     "node (0x%" PRIx64 ")", gen, p->node, p->value, p->expect);
                break;
        case HEAP_CHECK_DUPLICATE:
                n = snprintf(buf, len, "GC lists are inconsistent: object %s appears twice "
                             "(generation %s)", o, gen);
                break;
        case HEAP_CHECK_HEADER:
                n = snprintf(buf, len, "GC list of generation %s: object 0x%" PRIx64 " (node "
                             "0x%" PRIx64 ") has an unreadable or implausible header", gen,
                             p->obj, p->node);
                break;
        case HEAP_CHECK_DICT_USED:
                n = snprintf(buf, len, "dict %s: ma_used is %" PRId64 ", outside 0..%" PRIu64
                             ", what its keys object can hold", o, (int64_t)p->value,
                             p->expect);
                break;
        case HEAP_CHECK_STR_KIND:
                n = snprintf(buf, len, "str %s: kind %" PRIu64 " is not 1, 2 or 4 (1 for an "
                             "ASCII str)", o, p->value);
                break;
        case HEAP_CHECK_STR_LENGTH:
                n = snprintf(buf, len, "str %s: length %" PRIu64 " runs past its characters "
                             "(no NUL after the last one)", o, p->value);
                break;
        case HEAP_CHECK_REFERENT:
                n = snprintf(buf, len, "object %s: a reference leads to unreadable or "
                             "implausible memory", o);
                break;
        default:
                n = snprintf(buf, len, "object %s: check %u failed", o, p->check);
                break;
        }
        if (n >= 0 && (size_t)n < len)
                snprintf(buf + n, len - (size_t)n, "%s [check %s]",
                         p->recovered ? "; the list was walked again from its head's other "
                         "side and nothing is missing" : "", heap_check_name(p->check));
        return buf;
}
