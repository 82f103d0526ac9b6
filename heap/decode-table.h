/* decode-table: every kind of object the walker decodes, one row each
 * (private to heap/).
 *
 *   K(ID, DECODER, SIZE, PREVIEW, SYMBOLS, NAMES, EXC)
 *
 * ID       the kind: enum dkind DK_ID (decode.h).
 * DECODER  its decoder, int DECODER(struct walker *, uint64_t obj,
 *          struct tinfo *) in one of the decode-*.c families: emits what
 *          the type's tp_traverse visits, in the same order.
 * SIZE     how sys.getsizeof() sizes an instance: enum skind SK_SIZE
 *          (objsize.c).  GENERIC is basicsize + itemsize * |ob_size|.
 * PREVIEW  the value preview (preview.c): LEN_VAR (ob_size), LEN_DICT
 *          (ma_used), LEN_SET (used), FUNC, MODULE, or BY_TYPE: the type
 *          alone decides (str, int, bytes, float, code, None, or none).
 * SYMBOLS  (PYSYM_..., ...): the exported type objects of this kind.
 * NAMES    ("tp_name", ...): how a type without a usable symbol is
 *          recognised (private types, Debian builds that export fewer).
 * EXC      a C exception type, as its PyExc_* pointer symbol, whose
 *          tp_traverse identifies the instance struct of it and of its C
 *          subclasses (PermissionError, ModuleNotFoundError, ...); NO_EXC
 *          for the rest.
 *
 * Recognition (typecache.c) tries the symbols of every row, then the names
 * of every row, then the fast-subclass flags (list, tuple, dict, type,
 * BaseException: a C subclass decodes as its base only if it traverses as
 * it), then EXC by tp_traverse.  INSTANCE is recognised by
 * subtype_traverse.  DK_NONE (no references) and DK_OPAQUE (a GC type
 * without a decoder) have no row.
 *
 * A new kind of object is one row here, its decoder, its layout fields in
 * symbols/layout-fields.h (and its labels in decode.h's CONST_LABELS).
 */
#ifndef PYLEAK_DECODE_TABLE_H
#define PYLEAK_DECODE_TABLE_H

#define NO_EXC (-1)

#define DECODE_KINDS(K) \
        K(INSTANCE,     dec_instance,     GENERIC, BY_TYPE,     (), (), NO_EXC) \
        K(TYPE,         dec_type,         TYPE,    BY_TYPE,     (PYSYM_TYPE_TYPE), (), NO_EXC) \
        K(LIST,         dec_list,         LIST,    LEN_VAR,  (PYSYM_LIST_TYPE), (), NO_EXC) \
        K(TUPLE,        dec_tuple,        GENERIC, LEN_VAR,  (PYSYM_TUPLE_TYPE), (), NO_EXC) \
        /* 3.15's frozendict: a dict with a cached hash after it, without \
         * the dict flag bit */ \
        K(DICT,         dec_dict,         DICT,    LEN_DICT, (PYSYM_DICT_TYPE), ("frozendict"), NO_EXC) \
        K(SET,          dec_set,          SET,     LEN_SET, \
          (PYSYM_SET_TYPE, PYSYM_FROZENSET_TYPE), (), NO_EXC) \
        K(FUNC,         dec_func,         GENERIC, FUNC,     (PYSYM_FUNCTION_TYPE), (), NO_EXC) \
        K(CELL,         dec_cell,         GENERIC, BY_TYPE,     (PYSYM_CELL_TYPE), (), NO_EXC) \
        K(METHOD,       dec_method,       GENERIC, BY_TYPE,     (PYSYM_METHOD_TYPE), (), NO_EXC) \
        K(CLASSMETHOD,  dec_classmethod,  GENERIC, BY_TYPE,     (PYSYM_CLASSMETHOD_TYPE), (), NO_EXC) \
        K(STATICMETHOD, dec_staticmethod, GENERIC, BY_TYPE,     (PYSYM_STATICMETHOD_TYPE), (), NO_EXC) \
        K(PROPERTY,     dec_property,     GENERIC, BY_TYPE,     (PYSYM_PROPERTY_TYPE), (), NO_EXC) \
        K(MODULE,       dec_module,       GENERIC, MODULE,   (PYSYM_MODULE_TYPE), (), NO_EXC) \
        K(FRAME,        dec_frame,        FRAME,   BY_TYPE,     (PYSYM_FRAME_TYPE), (), NO_EXC) \
        K(GEN,          dec_gen,          GEN,     BY_TYPE, \
          (PYSYM_GEN_TYPE, PYSYM_CORO_TYPE), (), NO_EXC) \
        K(ASYNCGEN,     dec_asyncgen,     GEN,     BY_TYPE,     (PYSYM_ASYNCGEN_TYPE), (), NO_EXC) \
        K(TRACEBACK,    dec_traceback,    GENERIC, BY_TYPE,     (PYSYM_TRACEBACK_TYPE), (), NO_EXC) \
        K(BASEEXC,      dec_baseexc,      GENERIC, BY_TYPE,     (), (), NO_EXC) \
        /* by name before the flags: defaultdict and OrderedDict carry the \
         * dict fast-subclass bit but have their own traverse */ \
        K(DEQUE,        dec_deque,        DEQUE,   LEN_VAR,  (), ("collections.deque"), NO_EXC) \
        K(ODICT,        dec_odict,        ODICT,   LEN_DICT, \
          (PYSYM_ODICT_TYPE), ("collections.OrderedDict"), NO_EXC) \
        K(DEFDICT,      dec_defdict,      DICT,    LEN_DICT, (), ("collections.defaultdict"), NO_EXC) \
        K(WEAKREF,      dec_weakref,      GENERIC, BY_TYPE, \
          (PYSYM_WEAKREF_TYPE, PYSYM_WEAKPROXY_TYPE, PYSYM_WEAKCALLPROXY_TYPE), (), NO_EXC) \
        K(SLICE,        dec_slice,        GENERIC, BY_TYPE,     (PYSYM_SLICE_TYPE), (), NO_EXC) \
        K(MEMVIEW,      dec_memview,      GENERIC, BY_TYPE,     (PYSYM_MEMVIEW_TYPE), (), NO_EXC) \
        /* _PyManagedBuffer_Type is not exported by every build (Debian's \
         * 3.13+) */ \
        K(MBUF,         dec_mbuf,         GENERIC, BY_TYPE,     (PYSYM_MBUF_TYPE), ("managedbuffer"), NO_EXC) \
        K(CFUNC,        dec_cfunc,        GENERIC, BY_TYPE, \
          (PYSYM_CFUNCTION_TYPE, PYSYM_CMETHOD_TYPE), (), NO_EXC) \
        K(DESCR,        dec_descr,        GENERIC, BY_TYPE, \
          (PYSYM_METHODDESCR_TYPE, PYSYM_CLASSMETHODDESCR_TYPE, PYSYM_MEMBERDESCR_TYPE, \
           PYSYM_GETSETDESCR_TYPE, PYSYM_WRAPPERDESCR_TYPE), (), NO_EXC) \
        K(NAMESPACE,    dec_namespace,    GENERIC, BY_TYPE,     (), ("types.SimpleNamespace"), NO_EXC) \
        /* one per ABC class: its registry and caches (sets of weakrefs) */ \
        K(ABCDATA,      dec_abcdata,      GENERIC, BY_TYPE,     (), ("_abc._abc_data"), NO_EXC) \
        K(METHWRAPPER,  dec_methwrapper,  GENERIC, BY_TYPE,     (), ("method-wrapper"), NO_EXC) \
        K(TUPLEGETTER,  dec_tuplegetter,  GENERIC, BY_TYPE, \
          (), ("_collections._tuplegetter", "collections._tuplegetter"), NO_EXC) \
        K(OSERR,        dec_oserr,        GENERIC, BY_TYPE,     (), (), PYSYM_OSERR_PTR) \
        K(SYNTAXERR,    dec_syntaxerr,    GENERIC, BY_TYPE,     (), (), PYSYM_SYNTAXERR_PTR) \
        K(IMPORTERR,    dec_importerr,    GENERIC, BY_TYPE,     (), (), PYSYM_IMPORTERR_PTR) \
        K(STOPITER,     dec_stopiter,     GENERIC, BY_TYPE,     (), (), PYSYM_STOPITER_PTR) \
        K(SYSEXIT,      dec_sysexit,      GENERIC, BY_TYPE,     (), (), PYSYM_SYSEXIT_PTR) \
        K(ATTRERR,      dec_attrerr,      GENERIC, BY_TYPE,     (), (), PYSYM_ATTRERR_PTR) \
        K(NAMEERR,      dec_nameerr,      GENERIC, BY_TYPE,     (), (), PYSYM_NAMEERR_PTR) \
        K(EXCGROUP,     dec_excgroup,     GENERIC, BY_TYPE,     (), (), PYSYM_EXCGROUP_PTR) \
        K(UNICODEERR,   dec_unicodeerr,   GENERIC, BY_TYPE,     (), (), PYSYM_UNICODEERR_PTR) \
        K(PARTIAL,      dec_partial,      GENERIC, BY_TYPE,     (), ("functools.partial"), NO_EXC) \
        K(LRUCACHE,     dec_lrucache,     GENERIC, BY_TYPE, \
          (), ("functools._lru_cache_wrapper"), NO_EXC) \
        K(GENALIAS,     dec_genalias,     GENERIC, BY_TYPE,     (), ("types.GenericAlias"), NO_EXC) \
        /* 3.14 turned types.UnionType into typing.Union, which added \
         * hashable_args and unhashable_args; no version has both names */ \
        K(UNION,        dec_union,        GENERIC, BY_TYPE, \
          (), ("types.UnionType", "typing.Union"), NO_EXC) \
        /* C types of stdlib modules, matched by tp_name (their type objects \
         * are private; 3.12+ made most of them heap types) */ \
        K(FUTURE, dec_future, GENERIC, BY_TYPE, (), ("_asyncio.Future"), NO_EXC) \
        K(TASK, dec_task, GENERIC, BY_TYPE, (), ("_asyncio.Task"), NO_EXC) \
        K(TASKSTEP, dec_taskstep, GENERIC, BY_TYPE, (), ("TaskStepMethWrapper"), NO_EXC) \
        K(TASKWAKEUP, dec_taskwakeup, GENERIC, BY_TYPE, (), ("TaskWakeupMethWrapper"), NO_EXC) \
        K(FUTUREITER, dec_futureiter, GENERIC, BY_TYPE, (), ("_asyncio.FutureIter"), NO_EXC) \
        K(CONTEXT, dec_context, GENERIC, BY_TYPE, (PYSYM_CONTEXT_TYPE), ("_contextvars.Context"), NO_EXC) \
        K(CONTEXTVAR, dec_contextvar, GENERIC, BY_TYPE, (PYSYM_CONTEXTVAR_TYPE), ("_contextvars.ContextVar"), NO_EXC) \
        K(CTXTOKEN, dec_ctxtoken, GENERIC, BY_TYPE, (PYSYM_CTXTOKEN_TYPE), ("_contextvars.Token"), NO_EXC) \
        K(HAMT, dec_hamt, GENERIC, BY_TYPE, (), ("hamt"), NO_EXC) \
        K(HAMTBITMAP, dec_hamtbitmap, GENERIC, BY_TYPE, (), ("hamt_bitmap_node"), NO_EXC) \
        K(HAMTARRAY, dec_hamtarray, GENERIC, BY_TYPE, (), ("hamt_array_node"), NO_EXC) \
        K(HAMTCOLL, dec_hamtcoll, GENERIC, BY_TYPE, (), ("hamt_collision_node"), NO_EXC) \
        K(THLOCAL, dec_thlocal, GENERIC, BY_TYPE, (), ("_thread._local"), NO_EXC) \
        K(BUFFERED, dec_buffered, GENERIC, BY_TYPE, (), ("_io.BufferedReader", "_io.BufferedWriter", "_io.BufferedRandom"), NO_EXC) \
        K(RWPAIR, dec_rwpair, GENERIC, BY_TYPE, (), ("_io.BufferedRWPair"), NO_EXC) \
        K(TEXTIO, dec_textio, GENERIC, BY_TYPE, (), ("_io.TextIOWrapper"), NO_EXC) \
        K(FILEIO, dec_fileio, GENERIC, BY_TYPE, (), ("_io.FileIO"), NO_EXC) \
        K(BYTESIO, dec_bytesio, GENERIC, BY_TYPE, (), ("_io.BytesIO"), NO_EXC) \
        K(STRINGIO, dec_stringio, GENERIC, BY_TYPE, (), ("_io.StringIO"), NO_EXC) \
        K(NLDECODER, dec_nldecoder, GENERIC, BY_TYPE, (), ("_io.IncrementalNewlineDecoder"), NO_EXC) \
        K(IT_CHAIN, dec_it_chain, GENERIC, BY_TYPE, (), ("itertools.chain"), NO_EXC) \
        K(IT_CYCLE, dec_it_cycle, GENERIC, BY_TYPE, (), ("itertools.cycle"), NO_EXC) \
        K(IT_ISLICE, dec_it_islice, GENERIC, BY_TYPE, (), ("itertools.islice"), NO_EXC) \
        K(IT_TEE, dec_it_tee, GENERIC, BY_TYPE, (), ("itertools._tee"), NO_EXC) \
        K(IT_TEEDATA, dec_it_teedata, GENERIC, BY_TYPE, (), ("itertools._tee_dataobject"), NO_EXC) \
        K(IT_GROUPBY, dec_it_groupby, GENERIC, BY_TYPE, (), ("itertools.groupby"), NO_EXC) \
        K(IT_GROUPER, dec_it_grouper, GENERIC, BY_TYPE, (), ("itertools._grouper"), NO_EXC) \
        K(IT_STARMAP, dec_it_starmap, GENERIC, BY_TYPE, (), ("itertools.starmap"), NO_EXC) \
        K(IT_DROPWHILE, dec_it_dropwhile, GENERIC, BY_TYPE, (), ("itertools.dropwhile"), NO_EXC) \
        K(IT_TAKEWHILE, dec_it_takewhile, GENERIC, BY_TYPE, (), ("itertools.takewhile"), NO_EXC) \
        K(IT_FILTERFALSE, dec_it_filterfalse, GENERIC, BY_TYPE, (), ("itertools.filterfalse"), NO_EXC) \
        K(IT_COMPRESS, dec_it_compress, GENERIC, BY_TYPE, (), ("itertools.compress"), NO_EXC) \
        K(IT_ACCUMULATE, dec_it_accumulate, GENERIC, BY_TYPE, (), ("itertools.accumulate"), NO_EXC) \
        K(IT_ZIPLONGEST, dec_it_ziplongest, GENERIC, BY_TYPE, (), ("itertools.zip_longest"), NO_EXC) \
        K(IT_PAIRWISE, dec_it_pairwise, GENERIC, BY_TYPE, (), ("itertools.pairwise"), NO_EXC) \
        K(IT_REPEAT, dec_it_repeat, GENERIC, BY_TYPE, (), ("itertools.repeat"), NO_EXC) \
        K(IT_COUNT, dec_it_count, GENERIC, BY_TYPE, (), ("itertools.count"), NO_EXC) \
        K(SRE_PATTERN, dec_sre_pattern, GENERIC, BY_TYPE, (), ("re.Pattern"), NO_EXC) \
        K(ITEMGETTER, dec_itemgetter, GENERIC, BY_TYPE, (), ("operator.itemgetter"), NO_EXC) \
        K(ATTRGETTER, dec_attrgetter, GENERIC, BY_TYPE, (), ("operator.attrgetter"), NO_EXC) \
        K(STRUCTOBJ, dec_structobj, GENERIC, BY_TYPE, (), ("_struct.Struct"), NO_EXC) \
        /* locks and sockets hold no object; as heap types (3.12+) they \
         * visit their type */ \
        K(LOCK, dec_lock, GENERIC, BY_TYPE, (), ("_thread.lock", "_thread.RLock", \
          "_socket.socket"), NO_EXC) \
        /* a GC type from 3.10 on; 3.11+ visit only the type */ \
        K(SQLSTMT, dec_sqlstmt, GENERIC, BY_TYPE, (), ("sqlite3.Statement"), NO_EXC) \
        K(MAPPINGPROXY, dec_mappingproxy, GENERIC, BY_TYPE, (), ("mappingproxy"), NO_EXC) \
        K(LISTITER, dec_listiter, GENERIC, BY_TYPE, (), ("list_iterator"), NO_EXC) \
        K(TUPLEITER, dec_tupleiter, GENERIC, BY_TYPE, (), ("tuple_iterator"), NO_EXC) \
        K(SEQITER, dec_seqiter, GENERIC, BY_TYPE, (), ("iterator"), NO_EXC) \
        K(CALLITER, dec_calliter, GENERIC, BY_TYPE, (), ("callable_iterator"), NO_EXC) \
        K(DICTITER, dec_dictiter, GENERIC, BY_TYPE, (), ("dict_keyiterator", "dict_valueiterator", \
          "dict_itemiterator", "dict_reversekeyiterator", "dict_reversevalueiterator", \
          "dict_reverseitemiterator"), NO_EXC) \
        K(SETITER, dec_setiter, GENERIC, BY_TYPE, (), ("set_iterator"), NO_EXC) \
        /* the C base of every ast node class (3.8 names it _ast.AST) */ \
        K(AST, dec_ast, GENERIC, BY_TYPE, (), ("ast.AST", "_ast.AST"), NO_EXC) \
        /* third-party C types (decode-thirdparty.c): candidate layouts \
         * checked on each instance */ \
        K(MULTIDICT, dec_multidict, GENERIC, BY_TYPE, (), ("multidict._multidict.MultiDict", \
          "multidict._multidict.CIMultiDict"), NO_EXC) \
        K(MDPROXY, dec_mdproxy, GENERIC, BY_TYPE, (), ("multidict._multidict.MultiDictProxy", \
          "multidict._multidict.CIMultiDictProxy"), NO_EXC) \
        K(REIFY, dec_reify, GENERIC, BY_TYPE, (), ("aiohttp._helpers.reify"), NO_EXC) \
        K(FROZENLIST, dec_frozenlist, GENERIC, BY_TYPE, (), ("frozenlist._frozenlist.FrozenList"), \
          NO_EXC)

/* Unwraps a parenthesised SYMBOLS or NAMES list. */
#define DECODE_LIST(...) __VA_ARGS__

#endif
