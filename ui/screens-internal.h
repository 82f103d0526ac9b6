/* screens-internal: what the screen families (screen-*.c) share; only they
 * and screens.c include it.  The ops table of every screen in UI_SCREENS,
 * and the column-data function of the single-column screens, whose rows
 * (ROW_OBJ, ROW_REF, ROW_STEP, ...) read the same wherever they appear.
 */
#ifndef PYLEAK_SCREENS_INTERNAL_H
#define PYLEAK_SCREENS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "screens.h"
#include "view.h"

#define S_OPS(kind, ops, req) extern const struct view_ops ops;
UI_SCREENS(S_OPS)
#undef S_OPS

/* The one column of the single-column screens, and its column-data
 * function (every row kind of view.h). */
extern const struct column screens_line_cols[1];
void screens_cell_line(const struct view *v, const struct row *r, int col, char *buf,
                       size_t len, struct cell *out);

/* "__main__.Node @ 0x7f..." into buf; returns buf. */
const char *screens_obj_ref(const struct view *v, uint32_t obj, char *buf, size_t len);

#endif
