/* screens: what each screen of the browser shows.  A screen is an ops
 * table for the list engine (view.h): a title, its columns, a build()
 * that adds the rows from the index and the heap, and the column-data
 * function that draws, searches and sorts them.
 *
 * Every screen is declared once, in UI_SCREENS below, with the request
 * that opens it from anywhere (keymap.h; REQ_NONE for a screen reached
 * from another one, such as an object or a cycle).  The enum, the table
 * of ops and the request -> screen map are generated from that list, so
 * the browser opens, keeps and restores a new screen without knowing it.
 * The screens themselves live in screen-*.c by family and share
 * screens-internal.h, which nothing else includes.
 *
 * view_new() returns a view the caller owns (view_free()); it borrows the
 * index, which must outlive it.  It returns 0, -ENOMEM, or -ENOENT when
 * the object, cycle or type to show does not exist.
 */
#ifndef PYLEAK_SCREENS_H
#define PYLEAK_SCREENS_H

#include <stdbool.h>
#include <stdint.h>

#include "keymap.h"

struct ui_index;
struct view;

/* kind (VIEW_<kind>), ops table (defined in its screen-*.c), the request
 * that opens it from any screen.  PATH has a request too (REQ_PATH), but
 * one that needs the selected object, so the browser handles it. */
#define UI_SCREENS(S) \
        S(OVERVIEW,  overview_ops,  REQ_OVERVIEW) \
        S(CYCLES,    cycles_ops,    REQ_CYCLES) \
        S(CYCLE,     cycle_ops,     REQ_NONE) \
        S(TYPES,     types_ops,     REQ_TYPES) \
        S(INSTANCES, instances_ops, REQ_NONE) \
        S(OBJECT,    object_ops,    REQ_NONE) \
        S(PATH,      path_ops,      REQ_NONE) \
        S(GARBAGE,   garbage_ops,   REQ_GARBAGE) \
        S(THREADS,   threads_ops,   REQ_THREADS) \
        S(WORKERS,   workers_ops,   REQ_WORKERS) \
        S(HELP,      help_ops,      REQ_HELP)

enum view_kind {
#define S_ENUM(kind, ops, req) VIEW_##kind,
        UI_SCREENS(S_ENUM)
#undef S_ENUM
        VIEW__COUNT
};

/* Builds the view of a screen; what it shows comes from the arguments
 * that apply: obj (OBJECT, PATH; CYCLE: the member the drawing starts
 * from), cycle + local (CYCLE), local (CYCLES), type (INSTANCES). */
int view_new(struct ui_index *ix, enum view_kind kind, uint32_t obj, uint32_t cycle,
             uint32_t type, bool local, struct view **ret);

/* An object's screen lists the first VIEW_OBJ_ROWS referents and as many
 * referrers, then a ROW_MORE row: a type's object has every instance of
 * the type as a referrer, 12 million rows that took 1.2 s to build on
 * every visit.  This one lists them all (Enter on that row). */
#define VIEW_OBJ_ROWS 10000
int view_new_object_all(struct ui_index *ix, uint32_t obj, struct view **ret);

/* The screen req opens, or VIEW__COUNT when req opens none. */
enum view_kind screens_for_request(enum ui_request req);

/* Is the screen reached by a key of its own (kept for the life of a
 * snapshot, restored after a re-snapshot)? */
bool screens_has_key(enum view_kind kind);

#endif
