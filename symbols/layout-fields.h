/* The one list of every CPython struct and field pyleak-attach reads.
 *
 * Included only through layout.h, which expands it into the enums, the names
 * the DWARF provider looks up, and the diagnostics.  Add a field here and
 * every provider learns about it; never hard-code an offset elsewhere.
 *
 * LAYOUT_STRUCTS(S):  S(ID, "dwarf name|alternative|...")
 *   The DWARF names are typedef or struct/union tag names, tried in order.
 *
 * LAYOUT_FIELDS(F):   F(ID, STRUCT_ID, "member.path|alternative|...")
 *   A path may go through nested (also anonymous) structs/unions with '.'.
 *   Alternatives cover renames between versions of the *same* thing; fields
 *   whose meaning changed get their own entry (e.g. TSTATE_FRAME vs
 *   TSTATE_CURRENT_FRAME).  A field absent in a version is marked absent,
 *   never given offset 0.
 */

#define LAYOUT_STRUCTS(S) \
        S(RUNTIME,      "_PyRuntimeState|pyruntimestate") \
        S(INTERP,       "PyInterpreterState|_is") \
        S(TSTATE,       "PyThreadState|_ts") \
        S(CFRAME,       "_PyCFrame") \
        S(GCSTATE,      "_gc_runtime_state|GCState") \
        S(GCGEN,        "gc_generation") \
        S(GCHEAD,       "PyGC_Head") \
        S(OBJECT,       "PyObject|_object") \
        S(VAROBJECT,    "PyVarObject") \
        S(TYPE,         "PyTypeObject|_typeobject") \
        S(HEAPTYPE,     "PyHeapTypeObject|_heaptypeobject") \
        S(MEMBERDEF,    "PyMemberDef") \
        S(LIST,         "PyListObject") \
        S(TUPLE,        "PyTupleObject") \
        S(DICT,         "PyDictObject") \
        S(DICTKEYS,     "PyDictKeysObject|_dictkeysobject") \
        S(DICTKEYENTRY, "PyDictKeyEntry") \
        S(DICTUNIENTRY, "PyDictUnicodeEntry") \
        S(DICTVALUES,   "PyDictValues|_dictvalues") \
        S(SET,          "PySetObject") \
        S(SETENTRY,     "setentry") \
        S(FUNC,         "PyFunctionObject") \
        S(CELL,         "PyCellObject") \
        S(METHOD,       "PyMethodObject") \
        S(CLASSMETHOD,  "classmethod") \
        S(STATICMETHOD, "staticmethod") \
        S(PROPERTY,     "propertyobject") \
        S(MODULE,       "PyModuleObject") \
        S(MODULEDEF,    "PyModuleDef") \
        S(FRAMEOBJ,     "PyFrameObject|_frame") \
        S(IFRAME,       "_PyInterpreterFrame") \
        S(CODE,         "PyCodeObject") \
        S(GEN,          "PyGenObject") \
        S(ASYNCGEN,     "PyAsyncGenObject") \
        S(TRACEBACK,    "PyTracebackObject") \
        S(BASEEXC,      "PyBaseExceptionObject") \
        S(DEQUE,        "dequeobject") \
        S(DEQUEBLOCK,   "BLOCK|block") \
        S(DEFDICT,      "defdictobject") \
        S(ODICT,        "PyODictObject|_odictobject") \
        S(ODICTNODE,    "_odictnode") \
        S(WEAKREF,      "PyWeakReference|_PyWeakReference") \
        S(SLICE,        "PySliceObject") \
        S(MEMVIEW,      "PyMemoryViewObject") \
        S(MBUF,         "_PyManagedBufferObject") \
        S(CFUNC,        "PyCFunctionObject") \
        S(CMETHOD,      "PyCMethodObject") \
        S(DESCR,        "PyDescrObject") \
        S(ASCII,        "PyASCIIObject") \
        S(COMPACTUNI,   "PyCompactUnicodeObject") \
        S(UNICODE,      "PyUnicodeObject") \
        S(LONG,         "PyLongObject|_longobject") \
        S(BYTES,        "PyBytesObject") \
        S(FLOAT,        "PyFloatObject") \
        /* buffers outside the object (heap/native.c); arrayobject is \
         * private to the array module, found by DWARF only */ \
        S(BYTEARRAY,    "PyByteArrayObject") \
        S(ARRAYOBJ,     "arrayobject") \
        S(ARRAYDESCR,   "arraydescr") \
        S(ERRITEM,      "_PyErr_StackItem|_err_stackitem") \
        S(NAMESPACE,    "_PyNamespaceObject") \
        S(ABCDATA,      "_abc_data") \
        S(METHWRAPPER,  "wrapperobject") \
        S(TUPLEGETTER,  "_tuplegetterobject") \
        S(OSERR,        "PyOSErrorObject") \
        S(SYNTAXERR,    "PySyntaxErrorObject") \
        S(IMPORTERR,    "PyImportErrorObject") \
        S(STOPITER,     "PyStopIterationObject") \
        S(SYSEXIT,      "PySystemExitObject") \
        S(ATTRERR,      "PyAttributeErrorObject") \
        S(NAMEERR,      "PyNameErrorObject") \
        S(EXCGROUP,     "PyBaseExceptionGroupObject") \
        S(UNICODEERR,   "PyUnicodeErrorObject") \
        S(PARTIAL,      "partialobject") \
        S(LRUCACHE,     "lru_cache_object") \
        S(LRUELEM,      "lru_list_elem") \
        S(GENALIAS,     "gaobject") \
        S(UNION,        "unionobject") \
        /* private structs of extension and stdlib modules (_asyncio is a \
         * shared object of its own: its DWARF is read from that file) */ \
        S(FUTURE,       "FutureObj") \
        S(TASK,         "TaskObj") \
        S(TASKSTEP,     "TaskStepMethWrapper") \
        S(TASKWAKEUP,   "TaskWakeupMethWrapper") \
        S(FUTUREITER,   "futureiterobject") \
        S(CONTEXT,      "PyContext|_pycontextobject") \
        S(CONTEXTVAR,   "PyContextVar|_pycontextvarobject") \
        S(CTXTOKEN,     "PyContextToken|_pycontexttokenobject") \
        S(HAMT,         "PyHamtObject") \
        S(HAMTBITMAP,   "PyHamtNode_Bitmap") \
        S(HAMTARRAY,    "PyHamtNode_Array") \
        S(HAMTCOLL,     "PyHamtNode_Collision") \
        S(THLOCAL,      "localobject") \
        S(BUFFERED,     "buffered") \
        S(RWPAIR,       "rwpair") \
        S(TEXTIO,       "textio") \
        S(FILEIO,       "fileio") \
        S(BYTESIO,      "bytesio") \
        S(STRINGIO,     "stringio") \
        S(NLDECODER,    "nldecoder_object") \
        S(IT_CHAIN,     "chainobject") \
        S(IT_CYCLE,     "cycleobject") \
        S(IT_ISLICE,    "isliceobject") \
        S(IT_TEE,       "teeobject") \
        S(IT_TEEDATA,   "teedataobject") \
        S(IT_GROUPBY,   "groupbyobject") \
        S(IT_GROUPER,   "_grouperobject") \
        S(IT_STARMAP,   "starmapobject") \
        S(IT_DROPWHILE, "dropwhileobject") \
        S(IT_TAKEWHILE, "takewhileobject") \
        S(IT_FILTERFALSE, "filterfalseobject") \
        S(IT_COMPRESS,  "compressobject") \
        S(IT_ACCUMULATE, "accumulateobject") \
        S(IT_ZIPLONGEST, "ziplongestobject") \
        S(IT_PAIRWISE,  "pairwiseobject") \
        S(IT_REPEAT,    "repeatobject") \
        S(IT_COUNT,     "countobject") \
        S(SRE_PATTERN,  "PatternObject") \
        S(ITEMGETTER,   "itemgetterobject") \
        S(ATTRGETTER,   "attrgetterobject") \
        S(STRUCTOBJ,    "PyStructObject") \
        /* private structs of Objects/: iterators and mappingproxy */ \
        S(MAPPINGPROXY, "mappingproxyobject") \
        S(LISTITER,     "_PyListIterObject|listiterobject") \
        S(TUPLEITER,    "_PyTupleIterObject|tupleiterobject") \
        S(SEQITER,      "seqiterobject") \
        S(CALLITER,     "calliterobject") \
        S(DICTITER,     "dictiterobject") \
        S(SETITER,      "setiterobject") \
        S(AST,          "AST_object") \
        /* pymalloc's arena bookkeeping, for the accounting line \
         * (heap/obmalloc.c): private to obmalloc.c up to 3.11 (DWARF \
         * only), in pycore_obmalloc.h from 3.12 */ \
        S(OBMALLOC,     "_obmalloc_state") \
        S(ARENAOBJ,     "arena_object") \
        S(POOLHDR,      "pool_header")

#define LAYOUT_FIELDS(F) \
        /* runtime and interpreters */ \
        F(RUNTIME_INTERP_HEAD,   RUNTIME, "interpreters.head") \
        F(RUNTIME_INTERP_MAIN,   RUNTIME, "interpreters.main") \
        F(RUNTIME_GC,            RUNTIME, "gc") /* 3.8 only: one GC state */ \
        F(INTERP_NEXT,           INTERP,  "next") \
        F(INTERP_ID,             INTERP,  "id") \
        F(INTERP_THREADS_HEAD,   INTERP,  "threads.head|tstate_head") \
        F(INTERP_GC,             INTERP,  "gc") /* 3.9+ */ \
        F(INTERP_MODULES,        INTERP,  "imports.modules|modules") \
        F(INTERP_SYSDICT,        INTERP,  "sysdict") \
        F(INTERP_BUILTINS,       INTERP,  "builtins") \
        /* GC state */ \
        F(GC_ENABLED,            GCSTATE, "enabled") \
        F(GC_DEBUG,              GCSTATE, "debug") \
        F(GC_GENERATIONS,        GCSTATE, "generations") \
        F(GC_GENERATION0,        GCSTATE, "generation0") \
        F(GC_YOUNG,              GCSTATE, "young") /* incremental designs */ \
        F(GC_OLD,                GCSTATE, "old") \
        F(GC_PERMANENT,          GCSTATE, "permanent_generation") \
        F(GC_COLLECTING,         GCSTATE, "collecting") \
        F(GC_GARBAGE,            GCSTATE, "garbage") \
        F(GC_CALLBACKS,          GCSTATE, "callbacks") \
        F(GC_HEAP_SIZE,          GCSTATE, "heap_size") \
        F(GC_VISITED_SPACE,      GCSTATE, "visited_space") /* incremental designs */ \
        F(GC_GENERATION_STATS,   GCSTATE, "generation_stats") /* 3.15+: a pointer */ \
        F(GCGEN_HEAD,            GCGEN,   "head") \
        F(GCGEN_THRESHOLD,       GCGEN,   "threshold") \
        F(GCGEN_COUNT,           GCGEN,   "count") \
        F(GCHEAD_NEXT,           GCHEAD,  "_gc_next") \
        F(GCHEAD_PREV,           GCHEAD,  "_gc_prev") \
        /* threads and frames */ \
        F(TSTATE_NEXT,           TSTATE,  "next") \
        F(TSTATE_INTERP,         TSTATE,  "interp") \
        F(TSTATE_FRAME,          TSTATE,  "frame") /* <=3.10: PyFrameObject* */ \
        F(TSTATE_CFRAME,         TSTATE,  "cframe") /* 3.11-3.12 */ \
        F(TSTATE_CURRENT_FRAME,  TSTATE,  "current_frame") /* 3.13+ */ \
        F(TSTATE_THREAD_ID,      TSTATE,  "thread_id") \
        F(TSTATE_NATIVE_ID,      TSTATE,  "native_thread_id") \
        F(CFRAME_CURRENT_FRAME,  CFRAME,  "current_frame") \
        F(FRAMEOBJ_BACK,         FRAMEOBJ, "f_back") \
        F(FRAMEOBJ_CODE,         FRAMEOBJ, "f_code") \
        F(FRAMEOBJ_BUILTINS,     FRAMEOBJ, "f_builtins") \
        F(FRAMEOBJ_GLOBALS,      FRAMEOBJ, "f_globals") \
        F(FRAMEOBJ_LOCALS,       FRAMEOBJ, "f_locals") \
        F(FRAMEOBJ_TRACE,        FRAMEOBJ, "f_trace") \
        F(FRAMEOBJ_VALUESTACK,   FRAMEOBJ, "f_valuestack") \
        F(FRAMEOBJ_STACKTOP,     FRAMEOBJ, "f_stacktop") /* 3.8-3.9 */ \
        F(FRAMEOBJ_STACKDEPTH,   FRAMEOBJ, "f_stackdepth") /* 3.10 */ \
        F(FRAMEOBJ_LOCALSPLUS,   FRAMEOBJ, "f_localsplus") \
        F(FRAMEOBJ_LINENO,       FRAMEOBJ, "f_lineno") \
        F(FRAMEOBJ_LASTI,        FRAMEOBJ, "f_lasti") /* <=3.10 */ \
        F(FRAMEOBJ_FRAME,        FRAMEOBJ, "f_frame") /* 3.11+ */ \
        F(FRAMEOBJ_FRAME_DATA,   FRAMEOBJ, "_f_frame_data") \
        F(FRAMEOBJ_EXTRA_LOCALS, FRAMEOBJ, "f_extra_locals") \
        F(FRAMEOBJ_LOCALS_CACHE, FRAMEOBJ, "f_locals_cache") \
        F(IFRAME_PREVIOUS,       IFRAME,  "previous") \
        F(IFRAME_CODE,           IFRAME,  "f_executable|f_code") \
        F(IFRAME_FUNC,           IFRAME,  "f_funcobj|f_func") \
        F(IFRAME_GLOBALS,        IFRAME,  "f_globals") \
        F(IFRAME_BUILTINS,       IFRAME,  "f_builtins") \
        F(IFRAME_LOCALS,         IFRAME,  "f_locals") \
        F(IFRAME_FRAME_OBJ,      IFRAME,  "frame_obj") \
        F(IFRAME_INSTR,          IFRAME,  "instr_ptr|prev_instr") \
        F(IFRAME_STACKTOP,       IFRAME,  "stacktop") /* 3.11-3.13: int */ \
        F(IFRAME_STACKPOINTER,   IFRAME,  "stackpointer") /* 3.14+ */ \
        F(IFRAME_OWNER,          IFRAME,  "owner") \
        F(IFRAME_LOCALSPLUS,     IFRAME,  "localsplus") \
        F(CODE_NAME,             CODE,    "co_name") \
        F(CODE_QUALNAME,         CODE,    "co_qualname") \
        F(CODE_FILENAME,         CODE,    "co_filename") \
        F(CODE_FIRSTLINENO,      CODE,    "co_firstlineno") \
        F(CODE_NLOCALS,          CODE,    "co_nlocals") \
        F(CODE_STACKSIZE,        CODE,    "co_stacksize") \
        F(CODE_NLOCALSPLUS,      CODE,    "co_nlocalsplus") \
        F(CODE_VARNAMES,         CODE,    "co_varnames") \
        F(CODE_CELLVARS,         CODE,    "co_cellvars") \
        F(CODE_FREEVARS,         CODE,    "co_freevars") \
        F(CODE_LOCALSPLUSNAMES,  CODE,    "co_localsplusnames") \
        F(CODE_LOCALSPLUSKINDS,  CODE,    "co_localspluskinds") \
        F(CODE_CODE_ADAPTIVE,    CODE,    "co_code_adaptive") \
        F(CODE_LINETABLE,        CODE,    "co_linetable|co_lnotab") \
        /* object header */ \
        F(OBJECT_REFCNT,         OBJECT,  "ob_refcnt") \
        F(OBJECT_TYPE,           OBJECT,  "ob_type") \
        F(VAROBJECT_SIZE,        VAROBJECT, "ob_size") \
        /* types */ \
        F(TYPE_NAME,             TYPE,    "tp_name") \
        F(TYPE_BASICSIZE,        TYPE,    "tp_basicsize") \
        F(TYPE_ITEMSIZE,         TYPE,    "tp_itemsize") \
        F(TYPE_FLAGS,            TYPE,    "tp_flags") \
        F(TYPE_TRAVERSE,         TYPE,    "tp_traverse") \
        F(TYPE_WEAKLISTOFFSET,   TYPE,    "tp_weaklistoffset") \
        F(TYPE_MEMBERS,          TYPE,    "tp_members") \
        F(TYPE_BASE,             TYPE,    "tp_base") \
        F(TYPE_DICT,             TYPE,    "tp_dict") \
        F(TYPE_DICTOFFSET,       TYPE,    "tp_dictoffset") \
        F(TYPE_IS_GC,            TYPE,    "tp_is_gc") \
        F(TYPE_BASES,            TYPE,    "tp_bases") \
        F(TYPE_MRO,              TYPE,    "tp_mro") \
        F(TYPE_CACHE,            TYPE,    "tp_cache") \
        F(TYPE_SUBCLASSES,       TYPE,    "tp_subclasses") \
        F(TYPE_DEL,              TYPE,    "tp_del") \
        F(TYPE_FINALIZE,         TYPE,    "tp_finalize") \
        F(HEAPTYPE_NAME,         HEAPTYPE, "ht_name") \
        F(HEAPTYPE_SLOTS,        HEAPTYPE, "ht_slots") \
        F(HEAPTYPE_QUALNAME,     HEAPTYPE, "ht_qualname") \
        F(HEAPTYPE_CACHED_KEYS,  HEAPTYPE, "ht_cached_keys") \
        F(HEAPTYPE_MODULE,       HEAPTYPE, "ht_module") \
        F(MEMBERDEF_NAME,        MEMBERDEF, "name") \
        F(MEMBERDEF_TYPE,        MEMBERDEF, "type") \
        F(MEMBERDEF_OFFSET,      MEMBERDEF, "offset") \
        F(MEMBERDEF_FLAGS,       MEMBERDEF, "flags") \
        /* containers */ \
        F(LIST_ITEM,             LIST,    "ob_item") \
        F(LIST_ALLOCATED,        LIST,    "allocated") \
        F(TUPLE_ITEM,            TUPLE,   "ob_item") \
        F(DICT_USED,             DICT,    "ma_used") \
        F(DICT_KEYS,             DICT,    "ma_keys") \
        F(DICT_VALUES,           DICT,    "ma_values") \
        F(DICTKEYS_REFCNT,       DICTKEYS, "dk_refcnt") \
        F(DICTKEYS_SIZE,         DICTKEYS, "dk_size") /* <=3.10 */ \
        F(DICTKEYS_LOOKUP,       DICTKEYS, "dk_lookup") /* <=3.10: kind */ \
        F(DICTKEYS_LOG2_SIZE,    DICTKEYS, "dk_log2_size") /* 3.11+ */ \
        F(DICTKEYS_LOG2_INDEX_BYTES, DICTKEYS, "dk_log2_index_bytes") \
        F(DICTKEYS_KIND,         DICTKEYS, "dk_kind") \
        F(DICTKEYS_USABLE,       DICTKEYS, "dk_usable") \
        F(DICTKEYS_NENTRIES,     DICTKEYS, "dk_nentries") \
        F(DICTKEYS_INDICES,      DICTKEYS, "dk_indices") \
        F(DICTKEYENTRY_HASH,     DICTKEYENTRY, "me_hash") \
        F(DICTKEYENTRY_KEY,      DICTKEYENTRY, "me_key") \
        F(DICTKEYENTRY_VALUE,    DICTKEYENTRY, "me_value") \
        F(DICTUNIENTRY_KEY,      DICTUNIENTRY, "me_key") \
        F(DICTUNIENTRY_VALUE,    DICTUNIENTRY, "me_value") \
        F(DICTVALUES_CAPACITY,   DICTVALUES, "capacity") /* 3.13+ */ \
        F(DICTVALUES_SIZE,       DICTVALUES, "size") \
        F(DICTVALUES_EMBEDDED,   DICTVALUES, "embedded") \
        F(DICTVALUES_VALID,      DICTVALUES, "valid") \
        F(DICTVALUES_VALUES,     DICTVALUES, "values") \
        F(SET_FILL,              SET,     "fill") \
        F(SET_USED,              SET,     "used") \
        F(SET_MASK,              SET,     "mask") \
        F(SET_TABLE,             SET,     "table") \
        F(SET_SMALLTABLE,        SET,     "smalltable") \
        F(SETENTRY_KEY,          SETENTRY, "key") \
        /* functions, methods, descriptors */ \
        F(FUNC_CODE,             FUNC,    "func_code") \
        F(FUNC_GLOBALS,          FUNC,    "func_globals") \
        F(FUNC_BUILTINS,         FUNC,    "func_builtins") \
        F(FUNC_DEFAULTS,         FUNC,    "func_defaults") \
        F(FUNC_KWDEFAULTS,       FUNC,    "func_kwdefaults") \
        F(FUNC_CLOSURE,          FUNC,    "func_closure") \
        F(FUNC_DOC,              FUNC,    "func_doc") \
        F(FUNC_NAME,             FUNC,    "func_name") \
        F(FUNC_DICT,             FUNC,    "func_dict") \
        F(FUNC_MODULE,           FUNC,    "func_module") \
        F(FUNC_ANNOTATIONS,      FUNC,    "func_annotations") \
        F(FUNC_ANNOTATE,         FUNC,    "func_annotate") \
        F(FUNC_QUALNAME,         FUNC,    "func_qualname") \
        F(FUNC_TYPEPARAMS,       FUNC,    "func_typeparams") \
        F(CELL_REF,              CELL,    "ob_ref") \
        F(METHOD_FUNC,           METHOD,  "im_func") \
        F(METHOD_SELF,           METHOD,  "im_self") \
        F(CLASSMETHOD_CALLABLE,  CLASSMETHOD, "cm_callable") \
        F(CLASSMETHOD_DICT,      CLASSMETHOD, "cm_dict") \
        F(STATICMETHOD_CALLABLE, STATICMETHOD, "sm_callable") \
        F(STATICMETHOD_DICT,     STATICMETHOD, "sm_dict") \
        F(PROPERTY_GET,          PROPERTY, "prop_get") \
        F(PROPERTY_SET,          PROPERTY, "prop_set") \
        F(PROPERTY_DEL,          PROPERTY, "prop_del") \
        F(PROPERTY_DOC,          PROPERTY, "prop_doc") \
        F(PROPERTY_NAME,         PROPERTY, "prop_name") \
        F(MODULE_DICT,           MODULE,  "md_dict") \
        F(MODULE_NAME,           MODULE,  "md_name") \
        F(MODULE_DEF,            MODULE,  "md_def") /* <=3.14 */ \
        F(MODULE_STATE,          MODULE,  "md_state") \
        F(MODULE_STATE_SIZE,     MODULE,  "md_state_size") /* 3.15+ */ \
        F(MODULE_STATE_TRAVERSE, MODULE,  "md_state_traverse") /* 3.15+ */ \
        F(MODULEDEF_SIZE,        MODULEDEF, "m_size") \
        F(MODULEDEF_TRAVERSE,    MODULEDEF, "m_traverse") \
        F(CFUNC_SELF,            CFUNC,   "m_self") \
        F(CFUNC_MODULE,          CFUNC,   "m_module") \
        F(CFUNC_ML,              CFUNC,   "m_ml") \
        F(CMETHOD_CLASS,         CMETHOD, "mm_class") \
        F(DESCR_TYPE,            DESCR,   "d_type") \
        F(DESCR_NAME,            DESCR,   "d_name") \
        /* generators, frames, tracebacks, exceptions */ \
        F(GEN_FRAME,             GEN,     "gi_frame") /* <=3.10 */ \
        F(GEN_CODE,              GEN,     "gi_code") /* <=3.11 */ \
        F(GEN_NAME,              GEN,     "gi_name") \
        F(GEN_QUALNAME,          GEN,     "gi_qualname") \
        F(GEN_EXC_STATE,         GEN,     "gi_exc_state") \
        F(GEN_FRAME_STATE,       GEN,     "gi_frame_state") /* 3.11+ */ \
        F(GEN_IFRAME,            GEN,     "gi_iframe") /* 3.11+ */ \
        F(ASYNCGEN_FINALIZER,    ASYNCGEN, "ag_origin_or_finalizer|ag_finalizer") \
        F(ERRITEM_TYPE,          ERRITEM, "exc_type") /* <=3.10 */ \
        F(ERRITEM_VALUE,         ERRITEM, "exc_value") \
        F(ERRITEM_TRACEBACK,     ERRITEM, "exc_traceback") /* <=3.10 */ \
        F(TRACEBACK_NEXT,        TRACEBACK, "tb_next") \
        F(TRACEBACK_FRAME,       TRACEBACK, "tb_frame") \
        F(BASEEXC_DICT,          BASEEXC, "dict") \
        F(BASEEXC_ARGS,          BASEEXC, "args") \
        F(BASEEXC_NOTES,         BASEEXC, "notes") \
        F(BASEEXC_TRACEBACK,     BASEEXC, "traceback") \
        F(BASEEXC_CONTEXT,       BASEEXC, "context") \
        F(BASEEXC_CAUSE,         BASEEXC, "cause") \
        /* collections, weakrefs, misc */ \
        F(DEQUE_LEFTBLOCK,       DEQUE,   "leftblock") \
        F(DEQUE_RIGHTBLOCK,      DEQUE,   "rightblock") \
        F(DEQUE_LEFTINDEX,       DEQUE,   "leftindex") \
        F(DEQUE_RIGHTINDEX,      DEQUE,   "rightindex") \
        F(DEQUEBLOCK_LEFTLINK,   DEQUEBLOCK, "leftlink") \
        F(DEQUEBLOCK_DATA,       DEQUEBLOCK, "data") \
        F(DEQUEBLOCK_RIGHTLINK,  DEQUEBLOCK, "rightlink") \
        F(DEFDICT_FACTORY,       DEFDICT, "default_factory") \
        F(ODICT_FIRST,           ODICT,   "od_first") \
        F(ODICT_INST_DICT,       ODICT,   "od_inst_dict") \
        F(ODICT_FAST_NODES_SIZE, ODICT,   "od_fast_nodes_size") \
        F(ODICTNODE_KEY,         ODICTNODE, "key") \
        F(ODICTNODE_NEXT,        ODICTNODE, "next") \
        F(WEAKREF_OBJECT,        WEAKREF, "wr_object") \
        F(WEAKREF_CALLBACK,      WEAKREF, "wr_callback") \
        F(SLICE_START,           SLICE,   "start") \
        F(SLICE_STOP,            SLICE,   "stop") \
        F(SLICE_STEP,            SLICE,   "step") \
        F(MEMVIEW_MBUF,          MEMVIEW, "mbuf") \
        F(MBUF_OBJ,              MBUF,    "master.obj") \
        F(NAMESPACE_DICT,        NAMESPACE, "ns_dict") \
        F(ABCDATA_REGISTRY,      ABCDATA, "_abc_registry") \
        F(ABCDATA_CACHE,         ABCDATA, "_abc_cache") \
        F(ABCDATA_NEGCACHE,      ABCDATA, "_abc_negative_cache") \
        F(METHWRAPPER_DESCR,     METHWRAPPER, "descr") \
        F(METHWRAPPER_SELF,      METHWRAPPER, "self") \
        F(TUPLEGETTER_DOC,       TUPLEGETTER, "doc") \
        F(PARTIAL_FN,            PARTIAL, "fn") \
        F(PARTIAL_ARGS,          PARTIAL, "args") \
        F(PARTIAL_KW,            PARTIAL, "kw") \
        F(PARTIAL_DICT,          PARTIAL, "dict") \
        F(LRUCACHE_ROOT,         LRUCACHE, "root") \
        F(LRUCACHE_CACHE,        LRUCACHE, "cache") \
        F(LRUCACHE_FUNC,         LRUCACHE, "func") \
        F(LRUCACHE_KWD_MARK,     LRUCACHE, "kwd_mark") /* 3.10+ */ \
        F(LRUCACHE_ELEM_TYPE,    LRUCACHE, "lru_list_elem_type") /* 3.10+ */ \
        F(LRUCACHE_INFO_TYPE,    LRUCACHE, "cache_info_type") \
        F(LRUCACHE_DICT,         LRUCACHE, "dict") \
        F(LRUELEM_NEXT,          LRUELEM, "next") \
        F(LRUELEM_KEY,           LRUELEM, "key") \
        F(LRUELEM_RESULT,        LRUELEM, "result") \
        F(GENALIAS_ORIGIN,       GENALIAS, "origin") \
        F(GENALIAS_ARGS,         GENALIAS, "args") \
        F(GENALIAS_PARAMETERS,   GENALIAS, "parameters") \
        F(UNION_ARGS,            UNION,   "args") \
        F(UNION_PARAMETERS,      UNION,   "parameters") \
        F(UNION_HASHABLE_ARGS,   UNION,   "hashable_args")   /* 3.14+ */ \
        F(UNION_UNHASHABLE_ARGS, UNION,   "unhashable_args") /* 3.14+ */ \
        F(FUTURE_LOOP, FUTURE, "fut_loop") \
        F(FUTURE_CALLBACK0, FUTURE, "fut_callback0") \
        F(FUTURE_CONTEXT0, FUTURE, "fut_context0") \
        F(FUTURE_CALLBACKS, FUTURE, "fut_callbacks") \
        F(FUTURE_RESULT, FUTURE, "fut_result") \
        F(FUTURE_EXCEPTION, FUTURE, "fut_exception") \
        F(FUTURE_EXCEPTION_TB, FUTURE, "fut_exception_tb") \
        F(FUTURE_SOURCE_TB, FUTURE, "fut_source_tb") \
        F(FUTURE_CANCEL_MSG, FUTURE, "fut_cancel_msg") \
        F(FUTURE_CANCELLED_EXC, FUTURE, "fut_cancelled_exc") \
        F(FUTURE_AWAITED_BY, FUTURE, "fut_awaited_by") \
        F(FUTURE_CEXC_EXC_TYPE, FUTURE, "fut_cancelled_exc_state.exc_type") /* 3.9-3.11 */ \
        F(FUTURE_CEXC_EXC_VALUE, FUTURE, "fut_cancelled_exc_state.exc_value") /* 3.9-3.11 */ \
        F(FUTURE_CEXC_EXC_TB, FUTURE, "fut_cancelled_exc_state.exc_traceback") /* 3.9-3.11 */ \
        F(FUTURE_DICT, FUTURE, "dict") \
        F(TASK_LOOP, TASK, "task_loop") \
        F(TASK_CALLBACK0, TASK, "task_callback0") \
        F(TASK_CONTEXT0, TASK, "task_context0") \
        F(TASK_CALLBACKS, TASK, "task_callbacks") \
        F(TASK_RESULT, TASK, "task_result") \
        F(TASK_EXCEPTION, TASK, "task_exception") \
        F(TASK_EXCEPTION_TB, TASK, "task_exception_tb") \
        F(TASK_SOURCE_TB, TASK, "task_source_tb") \
        F(TASK_CANCEL_MSG, TASK, "task_cancel_msg") \
        F(TASK_CANCELLED_EXC, TASK, "task_cancelled_exc") \
        F(TASK_AWAITED_BY, TASK, "task_awaited_by") \
        F(TASK_CEXC_EXC_TYPE, TASK, "task_cancelled_exc_state.exc_type") /* 3.9-3.11 */ \
        F(TASK_CEXC_EXC_VALUE, TASK, "task_cancelled_exc_state.exc_value") /* 3.9-3.11 */ \
        F(TASK_CEXC_EXC_TB, TASK, "task_cancelled_exc_state.exc_traceback") /* 3.9-3.11 */ \
        F(TASK_DICT, TASK, "dict") \
        F(TASK_FUT_WAITER, TASK, "task_fut_waiter") \
        F(TASK_CORO, TASK, "task_coro") \
        F(TASK_NAME, TASK, "task_name") \
        F(TASK_CONTEXT, TASK, "task_context") \
        F(TASKSTEP_TASK, TASKSTEP, "sw_task") \
        F(TASKSTEP_ARG, TASKSTEP, "sw_arg") \
        F(TASKWAKEUP_TASK, TASKWAKEUP, "ww_task") \
        F(FUTUREITER_FUTURE, FUTUREITER, "future") \
        F(CONTEXT_PREV, CONTEXT, "ctx_prev") \
        F(CONTEXT_VARS, CONTEXT, "ctx_vars") \
        F(CONTEXTVAR_NAME, CONTEXTVAR, "var_name") \
        F(CONTEXTVAR_DEFAULT, CONTEXTVAR, "var_default") \
        F(CONTEXTVAR_CACHED, CONTEXTVAR, "var_cached") \
        F(CTXTOKEN_CTX, CTXTOKEN, "tok_ctx") \
        F(CTXTOKEN_VAR, CTXTOKEN, "tok_var") \
        F(CTXTOKEN_OLDVAL, CTXTOKEN, "tok_oldval") \
        F(HAMT_ROOT, HAMT, "h_root") \
        F(HAMTBITMAP_ARRAY, HAMTBITMAP, "b_array") \
        F(HAMTARRAY_ARRAY, HAMTARRAY, "a_array") \
        F(HAMTARRAY_COUNT, HAMTARRAY, "a_count") \
        F(HAMTCOLL_ARRAY, HAMTCOLL, "c_array") \
        F(THLOCAL_ARGS, THLOCAL, "args") \
        F(THLOCAL_KW, THLOCAL, "kw") \
        F(THLOCAL_DUMMIES, THLOCAL, "dummies") \
        F(THLOCAL_LOCALDICTS, THLOCAL, "localdicts") \
        F(THLOCAL_WATCHDOGS, THLOCAL, "thread_watchdogs") \
        F(BUFFERED_RAW, BUFFERED, "raw") \
        F(BUFFERED_CHUNKS, BUFFERED, "buf.chunks|chunks") /* 3.15 */ \
        F(BUFFERED_RAW_WRITEV, BUFFERED, "raw_writev") /* 3.15 */ \
        F(BUFFERED_DICT, BUFFERED, "dict") \
        F(RWPAIR_READER, RWPAIR, "reader") \
        F(RWPAIR_WRITER, RWPAIR, "writer") \
        F(RWPAIR_DICT, RWPAIR, "dict") \
        F(TEXTIO_BUFFER, TEXTIO, "buffer") \
        F(TEXTIO_ENCODING, TEXTIO, "encoding") \
        F(TEXTIO_ENCODER, TEXTIO, "encoder") \
        F(TEXTIO_DECODER, TEXTIO, "decoder") \
        F(TEXTIO_READNL, TEXTIO, "readnl") \
        F(TEXTIO_ERRORS, TEXTIO, "errors") \
        F(TEXTIO_DECODED_CHARS, TEXTIO, "decoded_chars") \
        F(TEXTIO_PENDING_BYTES, TEXTIO, "pending_bytes") \
        F(TEXTIO_SNAPSHOT, TEXTIO, "snapshot") \
        F(TEXTIO_RAW, TEXTIO, "raw") \
        F(TEXTIO_DICT, TEXTIO, "dict") \
        F(FILEIO_DICT, FILEIO, "dict") \
        F(BYTESIO_BUF, BYTESIO, "buf") \
        F(BYTESIO_DICT, BYTESIO, "dict") \
        F(STRINGIO_READNL, STRINGIO, "readnl") \
        F(STRINGIO_WRITENL, STRINGIO, "writenl") \
        F(STRINGIO_DECODER, STRINGIO, "decoder") \
        F(STRINGIO_DICT, STRINGIO, "dict") \
        F(NLDECODER_DECODER, NLDECODER, "decoder") \
        F(NLDECODER_ERRORS, NLDECODER, "errors") \
        F(IT_CHAIN_SOURCE, IT_CHAIN, "source") \
        F(IT_CHAIN_ACTIVE, IT_CHAIN, "active") \
        F(IT_CYCLE_IT, IT_CYCLE, "it") \
        F(IT_CYCLE_SAVED, IT_CYCLE, "saved") \
        F(IT_ISLICE_IT, IT_ISLICE, "it") \
        F(IT_TEE_DATAOBJ, IT_TEE, "dataobj") \
        F(IT_TEEDATA_IT, IT_TEEDATA, "it") \
        F(IT_TEEDATA_NUMREAD, IT_TEEDATA, "numread") \
        F(IT_TEEDATA_RUNNING, IT_TEEDATA, "running") \
        F(IT_TEEDATA_NEXTLINK, IT_TEEDATA, "nextlink") \
        F(IT_TEEDATA_VALUES, IT_TEEDATA, "values") \
        F(IT_GROUPBY_IT, IT_GROUPBY, "it") \
        F(IT_GROUPBY_KEYFUNC, IT_GROUPBY, "keyfunc") \
        F(IT_GROUPBY_TGTKEY, IT_GROUPBY, "tgtkey") \
        F(IT_GROUPBY_CURRKEY, IT_GROUPBY, "currkey") \
        F(IT_GROUPBY_CURRVALUE, IT_GROUPBY, "currvalue") \
        F(IT_GROUPER_PARENT, IT_GROUPER, "parent") \
        F(IT_GROUPER_TGTKEY, IT_GROUPER, "tgtkey") \
        F(IT_STARMAP_FUNC, IT_STARMAP, "func") \
        F(IT_STARMAP_IT, IT_STARMAP, "it") \
        F(IT_DROPWHILE_FUNC, IT_DROPWHILE, "func") \
        F(IT_DROPWHILE_IT, IT_DROPWHILE, "it") \
        F(IT_TAKEWHILE_FUNC, IT_TAKEWHILE, "func") \
        F(IT_TAKEWHILE_IT, IT_TAKEWHILE, "it") \
        F(IT_FILTERFALSE_FUNC, IT_FILTERFALSE, "func") \
        F(IT_FILTERFALSE_IT, IT_FILTERFALSE, "it") \
        F(IT_COMPRESS_DATA, IT_COMPRESS, "data") \
        F(IT_COMPRESS_SELECTORS, IT_COMPRESS, "selectors") \
        F(IT_ACCUMULATE_BINOP, IT_ACCUMULATE, "binop") \
        F(IT_ACCUMULATE_IT, IT_ACCUMULATE, "it") \
        F(IT_ACCUMULATE_TOTAL, IT_ACCUMULATE, "total") \
        F(IT_ACCUMULATE_INITIAL, IT_ACCUMULATE, "initial") \
        F(IT_ZIPLONGEST_ITTUPLE, IT_ZIPLONGEST, "ittuple") \
        F(IT_ZIPLONGEST_RESULT, IT_ZIPLONGEST, "result") \
        F(IT_ZIPLONGEST_FILLVALUE, IT_ZIPLONGEST, "fillvalue") \
        F(IT_PAIRWISE_IT, IT_PAIRWISE, "it") \
        F(IT_PAIRWISE_OLD, IT_PAIRWISE, "old") \
        F(IT_PAIRWISE_RESULT, IT_PAIRWISE, "result") \
        F(IT_REPEAT_ELEMENT, IT_REPEAT, "element") \
        F(IT_COUNT_LONG_CNT, IT_COUNT, "long_cnt") \
        F(IT_COUNT_LONG_STEP, IT_COUNT, "long_step") \
        F(SRE_PATTERN_GROUPINDEX, SRE_PATTERN, "groupindex") \
        F(SRE_PATTERN_INDEXGROUP, SRE_PATTERN, "indexgroup") \
        F(SRE_PATTERN_PATTERN, SRE_PATTERN, "pattern") \
        F(ITEMGETTER_ITEM, ITEMGETTER, "item") \
        F(ATTRGETTER_ATTR, ATTRGETTER, "attr") \
        F(STRUCTOBJ_FORMAT, STRUCTOBJ, "s_format") \
        F(MAPPINGPROXY_MAPPING, MAPPINGPROXY, "mapping") \
        F(LISTITER_SEQ, LISTITER, "it_seq") \
        F(TUPLEITER_SEQ, TUPLEITER, "it_seq") \
        F(SEQITER_SEQ, SEQITER, "it_seq") \
        F(CALLITER_CALLABLE, CALLITER, "it_callable") \
        F(CALLITER_SENTINEL, CALLITER, "it_sentinel") \
        F(DICTITER_DICT, DICTITER, "di_dict") \
        F(DICTITER_RESULT, DICTITER, "di_result") \
        F(SETITER_SET, SETITER, "si_set") \
        F(AST_DICT, AST, "dict") \
        /* C exception subclasses: own fields, in tp_traverse order */ \
        F(OSERR_MYERRNO,         OSERR,   "myerrno") \
        F(OSERR_STRERROR,        OSERR,   "strerror") \
        F(OSERR_FILENAME,        OSERR,   "filename") \
        F(OSERR_FILENAME2,       OSERR,   "filename2") \
        F(OSERR_WINERROR,        OSERR,   "winerror") /* Windows only */ \
        F(SYNTAXERR_MSG,         SYNTAXERR, "msg") \
        F(SYNTAXERR_FILENAME,    SYNTAXERR, "filename") \
        F(SYNTAXERR_LINENO,      SYNTAXERR, "lineno") \
        F(SYNTAXERR_OFFSET,      SYNTAXERR, "offset") \
        F(SYNTAXERR_END_LINENO,  SYNTAXERR, "end_lineno") /* 3.10+ */ \
        F(SYNTAXERR_END_OFFSET,  SYNTAXERR, "end_offset") /* 3.10+ */ \
        F(SYNTAXERR_TEXT,        SYNTAXERR, "text") \
        F(SYNTAXERR_PRINT_FILE_AND_LINE, SYNTAXERR, "print_file_and_line") \
        F(IMPORTERR_MSG,         IMPORTERR, "msg") \
        F(IMPORTERR_NAME,        IMPORTERR, "name") \
        F(IMPORTERR_PATH,        IMPORTERR, "path") \
        F(IMPORTERR_NAME_FROM,   IMPORTERR, "name_from") /* 3.12+ */ \
        F(STOPITER_VALUE,        STOPITER, "value") \
        F(SYSEXIT_CODE,          SYSEXIT, "code") \
        F(ATTRERR_OBJ,           ATTRERR, "obj") /* 3.10+ */ \
        F(ATTRERR_NAME,          ATTRERR, "name") \
        F(NAMEERR_NAME,          NAMEERR, "name") /* 3.10+ */ \
        F(EXCGROUP_MSG,          EXCGROUP, "msg") /* 3.11+ */ \
        F(EXCGROUP_EXCS,         EXCGROUP, "excs") \
        F(UNICODEERR_ENCODING,   UNICODEERR, "encoding") \
        F(UNICODEERR_OBJECT,     UNICODEERR, "object") \
        F(UNICODEERR_REASON,     UNICODEERR, "reason") \
        /* scalars (names, keys, previews, sizes) */ \
        F(ASCII_LENGTH,          ASCII,   "length") \
        F(ASCII_STATE,           ASCII,   "state") \
        F(ASCII_WSTR,            ASCII,   "wstr") /* <=3.11 */ \
        F(COMPACTUNI_UTF8_LENGTH, COMPACTUNI, "utf8_length") \
        F(COMPACTUNI_UTF8,       COMPACTUNI, "utf8") \
        F(COMPACTUNI_WSTR_LENGTH, COMPACTUNI, "wstr_length") /* <=3.11 */ \
        F(UNICODE_DATA,          UNICODE, "data") \
        F(LONG_DIGIT,            LONG,    "ob_digit|long_value.ob_digit") \
        F(LONG_TAG,              LONG,    "long_value.lv_tag") /* 3.12+ */ \
        F(BYTES_SVAL,            BYTES,   "ob_sval") \
        F(FLOAT_FVAL,            FLOAT,   "ob_fval") \
        F(BYTEARRAY_ALLOC,       BYTEARRAY, "ob_alloc") \
        F(BYTEARRAY_BYTES,       BYTEARRAY, "ob_bytes") \
        F(ARRAYOBJ_ITEM,         ARRAYOBJ, "ob_item") \
        F(ARRAYOBJ_ALLOCATED,    ARRAYOBJ, "allocated") \
        F(ARRAYOBJ_DESCR,        ARRAYOBJ, "ob_descr") \
        F(ARRAYDESCR_ITEMSIZE,   ARRAYDESCR, "itemsize") \
        /* pymalloc (heap/obmalloc.c).  INTERP_OBMALLOC is the state itself \
         * in 3.12 and a pointer to it from 3.13: its width (the struct's \
         * size or a pointer's) tells which */ \
        F(INTERP_OBMALLOC,       INTERP,  "obmalloc") /* 3.12+ */ \
        F(OBM_ARENAS,            OBMALLOC, "mgmt.arenas") \
        F(OBM_MAXARENAS,         OBMALLOC, "mgmt.maxarenas") \
        F(OBM_NARENAS,           OBMALLOC, "mgmt.narenas_currently_allocated") \
        F(ARENA_ADDRESS,         ARENAOBJ, "address") \
        F(ARENA_POOL_ADDRESS,    ARENAOBJ, "pool_address") \
        F(ARENA_NFREEPOOLS,      ARENAOBJ, "nfreepools") \
        F(ARENA_NTOTALPOOLS,     ARENAOBJ, "ntotalpools") \
        F(POOL_COUNT,            POOLHDR, "ref.count") \
        F(POOL_SZIDX,            POOLHDR, "szidx")
