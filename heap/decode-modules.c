/* decode-modules: the C types of stdlib modules that real owner chains run
 * through: asyncio futures and tasks, contextvars and the HAMT behind a
 * Context, thread locals, the _io wrappers, and itertools objects that
 * hold iterables.
 *
 * Each decoder emits what the type's tp_traverse visits.  Their structs are
 * private to the module's .c file (and _asyncio is a shared object of its
 * own): a layout without the struct leaves the object opaque (gap()).  A
 * member a version lacks is absent from the layout and skipped, so one
 * field list serves every version; 3.12+ made most of these heap types,
 * whose traverse visits the type first (emit_own_type()).
 */
#include "decode-internal.h"

/* The own type (when a heap type), then fields fd[0..n) of struct s. */
static int typed_fields(struct walker *w, uint64_t obj, struct tinfo *t, enum dkind k,
                        enum layout_struct_id s, const struct fdesc *fd, size_t n)
{
        int r;

        if (!lsz(w->l, s)) {
                gap(w);
                return 0;
        }
        r = emit_own_type(w, t, k);
        if (r < 0)
                return r;
        return emit_fields(w, obj, s, fd, n);
}

#define TYPED_DECODER(name, kind, st, ...) \
int name(struct walker *w, uint64_t obj, struct tinfo *t) \
{ \
        static const struct fdesc fd[] = { __VA_ARGS__ }; \
        return typed_fields(w, obj, t, kind, st, fd, sizeof(fd) / sizeof(fd[0])); \
}

/* FutureObj_traverse: the FutureObj_HEAD members; 3.9-3.11 keep the
 * cancellation as an exception state, 3.12+ as cancelled_exc.  Every
 * member a version has is visited, the weakref list excepted. */
#define FUTURE_FIELDS(P) \
        { LF_##P##_LOOP, CL_FUT_LOOP }, { LF_##P##_CALLBACK0, CL_FUT_CALLBACK0 }, \
        { LF_##P##_CONTEXT0, CL_FUT_CONTEXT0 }, { LF_##P##_CALLBACKS, CL_FUT_CALLBACKS }, \
        { LF_##P##_RESULT, CL_FUT_RESULT }, { LF_##P##_EXCEPTION, CL_FUT_EXCEPTION }, \
        { LF_##P##_EXCEPTION_TB, CL_FUT_EXCEPTION_TB }, \
        { LF_##P##_SOURCE_TB, CL_FUT_SOURCE_TB }, { LF_##P##_CANCEL_MSG, CL_FUT_CANCEL_MSG }, \
        { LF_##P##_CEXC_EXC_TYPE, CL_EXC_TYPE }, { LF_##P##_CEXC_EXC_VALUE, CL_EXC_VALUE }, \
        { LF_##P##_CEXC_EXC_TB, CL_EXC_TB }, \
        { LF_##P##_CANCELLED_EXC, CL_FUT_CANCELLED_EXC }, \
        { LF_##P##_AWAITED_BY, CL_FUT_AWAITED_BY }, { LF_##P##_DICT, CL_DICT }

/* 3.14+ moved the future's dict to a managed dict. */
static int future_dict(struct walker *w, uint64_t obj, struct tinfo *t, enum dkind k,
                       enum layout_field_id dict)
{
        if (lhas(w->l, dict) || t->kind != k)
                return 0;
        return emit_instance_dict(w, obj, t);
}

int dec_future(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = { FUTURE_FIELDS(FUTURE) };
        int r = typed_fields(w, obj, t, DK_FUTURE, LS_FUTURE, fd, sizeof(fd) / sizeof(fd[0]));

        if (r < 0 || w->cur_gap)
                return r;
        return future_dict(w, obj, t, DK_FUTURE, LF_FUTURE_DICT);
}

/* TaskObj_traverse: its own members, then the future's. */
int dec_task(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = {
                { LF_TASK_CONTEXT, CL_TASK_CONTEXT }, { LF_TASK_CORO, CL_TASK_CORO },
                { LF_TASK_NAME, CL_TASK_NAME }, { LF_TASK_FUT_WAITER, CL_TASK_FUT_WAITER },
                FUTURE_FIELDS(TASK)
        };
        int r = typed_fields(w, obj, t, DK_TASK, LS_TASK, fd, sizeof(fd) / sizeof(fd[0]));

        if (r < 0 || w->cur_gap)
                return r;
        return future_dict(w, obj, t, DK_TASK, LF_TASK_DICT);
}

TYPED_DECODER(dec_taskstep, DK_TASKSTEP, LS_TASKSTEP,
              { LF_TASKSTEP_TASK, CL_TASK }, { LF_TASKSTEP_ARG, CL_ARG })
TYPED_DECODER(dec_taskwakeup, DK_TASKWAKEUP, LS_TASKWAKEUP, { LF_TASKWAKEUP_TASK, CL_TASK })
TYPED_DECODER(dec_futureiter, DK_FUTUREITER, LS_FUTUREITER,
              { LF_FUTUREITER_FUTURE, CL_FUTURE })

/* Python/context.c: contexts chain to the one they were entered from and
 * hold their variables in a HAMT (Python/hamt.c). */
TYPED_DECODER(dec_context, DK_CONTEXT, LS_CONTEXT,
              { LF_CONTEXT_PREV, CL_CTX_PREV }, { LF_CONTEXT_VARS, CL_CTX_VARS })
TYPED_DECODER(dec_contextvar, DK_CONTEXTVAR, LS_CONTEXTVAR,
              { LF_CONTEXTVAR_NAME, CL_NAME }, { LF_CONTEXTVAR_DEFAULT, CL_DEFAULT })
TYPED_DECODER(dec_ctxtoken, DK_CTXTOKEN, LS_CTXTOKEN,
              { LF_CTXTOKEN_CTX, CL_TOK_CTX }, { LF_CTXTOKEN_VAR, CL_TOK_VAR },
              { LF_CTXTOKEN_OLDVAL, CL_TOK_OLDVAL })
TYPED_DECODER(dec_hamt, DK_HAMT, LS_HAMT, { LF_HAMT_ROOT, CL_HAMT_ROOT })

/* n pointers at arr (NULL slots are no reference). */
static int emit_array(struct walker *w, uint64_t arr, uint64_t n, uint32_t label)
{
        uint64_t buf[64];
        const void *v;

        if (n > MAX_ITEMS) {
                partial(w);
                return 0;
        }
        for (uint64_t i = 0; i < n; i += 64) {
                uint64_t m = n - i < 64 ? n - i : 64;
                int r;

                v = pyo_view(&w->p, arr + i * 8, m * 8, buf);
                if (!v) {
                        partial(w);
                        return 0;
                }
                for (uint64_t j = 0; j < m; j++) {
                        r = emit(w, ld64(v, (uint32_t)(j * 8)), label);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Bitmap and collision nodes: keys and values interleaved, ob_size of
 * them (hamt_node_bitmap_traverse, hamt_node_collision_traverse). */
static int hamt_var_node(struct walker *w, uint64_t obj, enum layout_struct_id s,
                         enum layout_field_id arr)
{
        uint64_t n;

        if (!lsz(w->l, s) || !lhas(w->l, arr)) {
                gap(w);
                return 0;
        }
        if (pyo_u64(&w->p, obj + lo(w->l, LF_VAROBJECT_SIZE), &n) < 0) {
                partial(w);
                return 0;
        }
        return emit_array(w, obj + lo(w->l, arr), n, w->lab[CL_HAMT_ENTRY]);
}

int dec_hamtbitmap(struct walker *w, uint64_t obj, struct tinfo *t)
{
        (void)t;
        return hamt_var_node(w, obj, LS_HAMTBITMAP, LF_HAMTBITMAP_ARRAY);
}

int dec_hamtcoll(struct walker *w, uint64_t obj, struct tinfo *t)
{
        (void)t;
        return hamt_var_node(w, obj, LS_HAMTCOLL, LF_HAMTCOLL_ARRAY);
}

/* hamt_node_array_traverse: every slot of the fixed array. */
int dec_hamtarray(struct walker *w, uint64_t obj, struct tinfo *t)
{
        const struct layout *l = w->l;
        uint32_t sz, esz;

        (void)t;
        if (!lsz(l, LS_HAMTARRAY) || !lhas(l, LF_HAMTARRAY_ARRAY)) {
                gap(w);
                return 0;
        }
        sz = l->f[LF_HAMTARRAY_ARRAY].size;
        esz = l->f[LF_HAMTARRAY_ARRAY].elem_size;
        if (esz != 8 || sz % 8 || sz > 64 * 8) {
                partial(w);
                return 0;
        }
        return emit_array(w, obj + lo(l, LF_HAMTARRAY_ARRAY), sz / 8, w->lab[CL_HAMT_ENTRY]);
}

/* Modules/_threadmodule.c: up to 3.12 the per-thread dicts hang off
 * dummies, 3.13+ off localdicts and thread_watchdogs. */
TYPED_DECODER(dec_thlocal, DK_THLOCAL, LS_THLOCAL,
              { LF_THLOCAL_ARGS, CL_LOCAL_ARGS }, { LF_THLOCAL_KW, CL_LOCAL_KW },
              { LF_THLOCAL_DUMMIES, CL_LOCAL_DUMMIES }, { LF_THLOCAL_LOCALDICTS, CL_LOCAL_DICTS },
              { LF_THLOCAL_WATCHDOGS, CL_LOCAL_WATCHDOGS })

/* Modules/_io */
/* 3.15 buffers writes in a list of chunks and keeps raw.writev */
TYPED_DECODER(dec_buffered, DK_BUFFERED, LS_BUFFERED,
              { LF_BUFFERED_RAW, CL_RAW }, { LF_BUFFERED_CHUNKS, CL_BUF },
              { LF_BUFFERED_RAW_WRITEV, CL_RAW_WRITEV }, { LF_BUFFERED_DICT, CL_DICT })

/* Before 3.12 these visit only their dict (io_visits_all). */
static int io_fields(struct walker *w, uint64_t obj, struct tinfo *t, enum dkind k,
                     enum layout_struct_id s, const struct fdesc *fd, size_t n, size_t n_old)
{
        return typed_fields(w, obj, t, k, s, fd, w->l->facts.io_visits_all ? n : n_old);
}

int dec_rwpair(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = {
                { LF_RWPAIR_DICT, CL_DICT }, { LF_RWPAIR_READER, CL_READER },
                { LF_RWPAIR_WRITER, CL_WRITER },
        };
        return io_fields(w, obj, t, DK_RWPAIR, LS_RWPAIR, fd, 3, 1);
}
TYPED_DECODER(dec_textio, DK_TEXTIO, LS_TEXTIO,
              { LF_TEXTIO_BUFFER, CL_BUFFER }, { LF_TEXTIO_ENCODING, CL_ENCODING },
              { LF_TEXTIO_ENCODER, CL_ENCODER }, { LF_TEXTIO_DECODER, CL_DECODER },
              { LF_TEXTIO_READNL, CL_READNL }, { LF_TEXTIO_DECODED_CHARS, CL_DECODED_CHARS },
              { LF_TEXTIO_PENDING_BYTES, CL_PENDING_BYTES }, { LF_TEXTIO_SNAPSHOT, CL_SNAPSHOT },
              { LF_TEXTIO_ERRORS, CL_ERRORS }, { LF_TEXTIO_RAW, CL_RAW }, { LF_TEXTIO_DICT, CL_DICT })
TYPED_DECODER(dec_fileio, DK_FILEIO, LS_FILEIO, { LF_FILEIO_DICT, CL_DICT })

int dec_bytesio(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = { { LF_BYTESIO_DICT, CL_DICT }, { LF_BYTESIO_BUF, CL_BUF } };

        return io_fields(w, obj, t, DK_BYTESIO, LS_BYTESIO, fd, 2, 1);
}

int dec_stringio(struct walker *w, uint64_t obj, struct tinfo *t)
{
        static const struct fdesc fd[] = {
                { LF_STRINGIO_DICT, CL_DICT }, { LF_STRINGIO_READNL, CL_READNL },
                { LF_STRINGIO_WRITENL, CL_WRITENL }, { LF_STRINGIO_DECODER, CL_DECODER },
        };
        return io_fields(w, obj, t, DK_STRINGIO, LS_STRINGIO, fd, 4, 3);
}
TYPED_DECODER(dec_nldecoder, DK_NLDECODER, LS_NLDECODER,
              { LF_NLDECODER_DECODER, CL_DECODER }, { LF_NLDECODER_ERRORS, CL_ERRORS })

/* Modules/itertoolsmodule.c */
TYPED_DECODER(dec_it_chain, DK_IT_CHAIN, LS_IT_CHAIN,
              { LF_IT_CHAIN_SOURCE, CL_SOURCE }, { LF_IT_CHAIN_ACTIVE, CL_ACTIVE })
TYPED_DECODER(dec_it_cycle, DK_IT_CYCLE, LS_IT_CYCLE,
              { LF_IT_CYCLE_IT, CL_IT }, { LF_IT_CYCLE_SAVED, CL_SAVED })
TYPED_DECODER(dec_it_islice, DK_IT_ISLICE, LS_IT_ISLICE, { LF_IT_ISLICE_IT, CL_IT })
TYPED_DECODER(dec_it_tee, DK_IT_TEE, LS_IT_TEE, { LF_IT_TEE_DATAOBJ, CL_DATAOBJ })
TYPED_DECODER(dec_it_groupby, DK_IT_GROUPBY, LS_IT_GROUPBY,
              { LF_IT_GROUPBY_IT, CL_IT }, { LF_IT_GROUPBY_KEYFUNC, CL_KEYFUNC },
              { LF_IT_GROUPBY_TGTKEY, CL_TGTKEY }, { LF_IT_GROUPBY_CURRKEY, CL_CURRKEY },
              { LF_IT_GROUPBY_CURRVALUE, CL_CURRVALUE })
TYPED_DECODER(dec_it_grouper, DK_IT_GROUPER, LS_IT_GROUPER,
              { LF_IT_GROUPER_PARENT, CL_PARENT }, { LF_IT_GROUPER_TGTKEY, CL_TGTKEY })
TYPED_DECODER(dec_it_starmap, DK_IT_STARMAP, LS_IT_STARMAP,
              { LF_IT_STARMAP_FUNC, CL_PFUNC }, { LF_IT_STARMAP_IT, CL_IT })
TYPED_DECODER(dec_it_dropwhile, DK_IT_DROPWHILE, LS_IT_DROPWHILE,
              { LF_IT_DROPWHILE_FUNC, CL_PFUNC }, { LF_IT_DROPWHILE_IT, CL_IT })
TYPED_DECODER(dec_it_takewhile, DK_IT_TAKEWHILE, LS_IT_TAKEWHILE,
              { LF_IT_TAKEWHILE_FUNC, CL_PFUNC }, { LF_IT_TAKEWHILE_IT, CL_IT })
TYPED_DECODER(dec_it_filterfalse, DK_IT_FILTERFALSE, LS_IT_FILTERFALSE,
              { LF_IT_FILTERFALSE_FUNC, CL_PFUNC }, { LF_IT_FILTERFALSE_IT, CL_IT })
TYPED_DECODER(dec_it_compress, DK_IT_COMPRESS, LS_IT_COMPRESS,
              { LF_IT_COMPRESS_DATA, CL_DATA }, { LF_IT_COMPRESS_SELECTORS, CL_SELECTORS })
TYPED_DECODER(dec_it_accumulate, DK_IT_ACCUMULATE, LS_IT_ACCUMULATE,
              { LF_IT_ACCUMULATE_BINOP, CL_BINOP }, { LF_IT_ACCUMULATE_IT, CL_IT },
              { LF_IT_ACCUMULATE_TOTAL, CL_TOTAL }, { LF_IT_ACCUMULATE_INITIAL, CL_INITIAL })
TYPED_DECODER(dec_it_ziplongest, DK_IT_ZIPLONGEST, LS_IT_ZIPLONGEST,
              { LF_IT_ZIPLONGEST_ITTUPLE, CL_ITTUPLE }, { LF_IT_ZIPLONGEST_RESULT, CL_RESULT },
              { LF_IT_ZIPLONGEST_FILLVALUE, CL_FILLVALUE })
TYPED_DECODER(dec_it_pairwise, DK_IT_PAIRWISE, LS_IT_PAIRWISE,
              { LF_IT_PAIRWISE_IT, CL_IT }, { LF_IT_PAIRWISE_OLD, CL_OLD },
              { LF_IT_PAIRWISE_RESULT, CL_RESULT })
TYPED_DECODER(dec_it_repeat, DK_IT_REPEAT, LS_IT_REPEAT, { LF_IT_REPEAT_ELEMENT, CL_ELEMENT })

/* teedataobject_traverse: the source iterator, the numread values
 * buffered so far, then the next link of the chain. */
int dec_it_teedata(struct walker *w, uint64_t obj, struct tinfo *t)
{
        const struct layout *l = w->l;
        uint8_t nb[4];
        const void *v;
        uint64_t n;
        int r;

        if (!lsz(l, LS_IT_TEEDATA) || !lhas(l, LF_IT_TEEDATA_VALUES) ||
            !lhas(l, LF_IT_TEEDATA_NUMREAD)) {
                gap(w);
                return 0;
        }
        r = emit_own_type(w, t, DK_IT_TEEDATA);
        if (r < 0)
                return r;
        r = emit_field(w, NULL, obj, LF_IT_TEEDATA_IT, w->lab[CL_IT]);
        if (r < 0)
                return r;
        /* numread is an int */
        v = pyo_view(&w->p, obj + lo(l, LF_IT_TEEDATA_NUMREAD), 4, nb);
        if (!v) {
                partial(w);
                return 0;
        }
        n = ld32(v, 0);
        if (n * 8 > l->f[LF_IT_TEEDATA_VALUES].size) {
                partial(w);
                return 0;
        }
        r = emit_array(w, obj + lo(l, LF_IT_TEEDATA_VALUES), n, w->lab[CL_ITEM]);
        if (r < 0)
                return r;
        return emit_field(w, NULL, obj, LF_IT_TEEDATA_NEXTLINK, w->lab[CL_NEXTLINK]);
}

TYPED_DECODER(dec_it_count, DK_IT_COUNT, LS_IT_COUNT,
              { LF_IT_COUNT_LONG_CNT, CL_COUNT }, { LF_IT_COUNT_LONG_STEP, CL_STEP })

/* Modules/_sre: a compiled pattern keeps its groups and its source */
TYPED_DECODER(dec_sre_pattern, DK_SRE_PATTERN, LS_SRE_PATTERN,
              { LF_SRE_PATTERN_GROUPINDEX, CL_GROUPINDEX },
              { LF_SRE_PATTERN_INDEXGROUP, CL_INDEXGROUP }, { LF_SRE_PATTERN_PATTERN, CL_PATTERN })

/* Modules/_operator.c: the item or the tuple of attribute names */
TYPED_DECODER(dec_itemgetter, DK_ITEMGETTER, LS_ITEMGETTER, { LF_ITEMGETTER_ITEM, CL_ITEM })
TYPED_DECODER(dec_attrgetter, DK_ATTRGETTER, LS_ATTRGETTER, { LF_ATTRGETTER_ATTR, CL_ITEM })

TYPED_DECODER(dec_structobj, DK_STRUCTOBJ, LS_STRUCTOBJ, { LF_STRUCTOBJ_FORMAT, CL_FORMAT })

int dec_lock(struct walker *w, uint64_t obj, struct tinfo *t)
{
        (void)obj;
        return emit_own_type(w, t, DK_LOCK);
}

/* Modules/_sqlite/statement.c: from 3.11 on the statement keeps no object
 * (stmt_traverse visits its heap type alone); 3.10's also visits the sql
 * str, a member of a private struct no layout describes, so there it
 * stays opaque as before. */
int dec_sqlstmt(struct walker *w, uint64_t obj, struct tinfo *t)
{
        (void)obj;
        if (!py_at_least(w->l->version_hex, 3, 11)) {
                w->cur_opaque = true;
                return 0;
        }
        return emit_own_type(w, t, DK_SQLSTMT);
}

/* Objects/: iterators keep what they iterate (listiter_traverse, ...) */
TYPED_DECODER(dec_mappingproxy, DK_MAPPINGPROXY, LS_MAPPINGPROXY,
              { LF_MAPPINGPROXY_MAPPING, CL_MAPPING })
TYPED_DECODER(dec_listiter, DK_LISTITER, LS_LISTITER, { LF_LISTITER_SEQ, CL_SEQ })
TYPED_DECODER(dec_tupleiter, DK_TUPLEITER, LS_TUPLEITER, { LF_TUPLEITER_SEQ, CL_SEQ })
TYPED_DECODER(dec_seqiter, DK_SEQITER, LS_SEQITER, { LF_SEQITER_SEQ, CL_SEQ })
TYPED_DECODER(dec_calliter, DK_CALLITER, LS_CALLITER,
              { LF_CALLITER_CALLABLE, CL_PFUNC }, { LF_CALLITER_SENTINEL, CL_SENTINEL })
TYPED_DECODER(dec_dictiter, DK_DICTITER, LS_DICTITER,
              { LF_DICTITER_DICT, CL_SEQ }, { LF_DICTITER_RESULT, CL_RESULT })
TYPED_DECODER(dec_setiter, DK_SETITER, LS_SETITER, { LF_SETITER_SET, CL_SEQ })

/* Python/Python-ast.c: a node's attributes live in its dict */
TYPED_DECODER(dec_ast, DK_AST, LS_AST, { LF_AST_DICT, CL_DICT })
