/* decode-exceptions: BaseException and the C exception types with
 * fields of their own.  Rows in decode-table.h.
 */
#include "decode-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SIMPLE_DECODER(dec_baseexc, LS_BASEEXC,
               { LF_BASEEXC_DICT, CL_DICT }, { LF_BASEEXC_ARGS, CL_ARGS },
               { LF_BASEEXC_NOTES, CL_NOTES }, { LF_BASEEXC_TRACEBACK, CL_TRACEBACK },
               { LF_BASEEXC_CAUSE, CL_CAUSE }, { LF_BASEEXC_CONTEXT, CL_CONTEXT })

/* Exceptions implemented in C with fields of their own: those fields in
 * struct order (which is their tp_traverse order in 3.8-3.13), then
 * BaseException's.  Without the struct in the layout only the base fields
 * are known. */
#define EXC_DECODER(name, st, ...) \
int name(struct walker *w, uint64_t obj, struct tinfo *t) \
{ \
        static const struct fdesc fd[] = { __VA_ARGS__ }; \
        int r; \
        if (!lsz(w->l, st)) \
                gap(w); \
        r = emit_fields(w, obj, st, fd, sizeof(fd) / sizeof(fd[0])); \
        if (r < 0) \
                return r; \
        return dec_baseexc(w, obj, t); \
}

EXC_DECODER(dec_oserr, LS_OSERR,
            { LF_OSERR_MYERRNO, CL_ERRNO }, { LF_OSERR_STRERROR, CL_STRERROR },
            { LF_OSERR_FILENAME, CL_FILENAME }, { LF_OSERR_FILENAME2, CL_FILENAME2 },
            { LF_OSERR_WINERROR, CL_WINERROR })
EXC_DECODER(dec_syntaxerr, LS_SYNTAXERR,
            { LF_SYNTAXERR_MSG, CL_MSG }, { LF_SYNTAXERR_FILENAME, CL_FILENAME },
            { LF_SYNTAXERR_LINENO, CL_LINENO }, { LF_SYNTAXERR_OFFSET, CL_OFFSET },
            { LF_SYNTAXERR_END_LINENO, CL_END_LINENO },
            { LF_SYNTAXERR_END_OFFSET, CL_END_OFFSET }, { LF_SYNTAXERR_TEXT, CL_TEXT },
            { LF_SYNTAXERR_PRINT_FILE_AND_LINE, CL_PRINT_FILE_AND_LINE })
EXC_DECODER(dec_importerr, LS_IMPORTERR,
            { LF_IMPORTERR_MSG, CL_MSG }, { LF_IMPORTERR_NAME, CL_ENAME },
            { LF_IMPORTERR_PATH, CL_PATH }, { LF_IMPORTERR_NAME_FROM, CL_NAME_FROM })
EXC_DECODER(dec_stopiter, LS_STOPITER, { LF_STOPITER_VALUE, CL_VALUE })

EXC_DECODER(dec_sysexit, LS_SYSEXIT, { LF_SYSEXIT_CODE, CL_ECODE })

EXC_DECODER(dec_attrerr, LS_ATTRERR, { LF_ATTRERR_OBJ, CL_OBJ }, { LF_ATTRERR_NAME, CL_ENAME })

EXC_DECODER(dec_nameerr, LS_NAMEERR, { LF_NAMEERR_NAME, CL_ENAME })

EXC_DECODER(dec_excgroup, LS_EXCGROUP,
            { LF_EXCGROUP_MSG, CL_MESSAGE }, { LF_EXCGROUP_EXCS, CL_EXCEPTIONS })

EXC_DECODER(dec_unicodeerr, LS_UNICODEERR,
            { LF_UNICODEERR_ENCODING, CL_ENCODING }, { LF_UNICODEERR_OBJECT, CL_OBJECT },
            { LF_UNICODEERR_REASON, CL_REASON })
