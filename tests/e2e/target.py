"""e2e target: a CPython process that builds a known object graph, says it is
ready, blocks until the harness has snapshotted it, then reports the
interpreter's own view of itself (the oracle) as JSON.

    python target.py SCENARIO --ready-fd R --cmd-fd C --out PATH

Protocol (both fds are pipes owned by the harness):
  target -> R   b"R"        graph built, gc state recorded, now blocked on C
  harness -> C  b"report"   compute the oracle, write PATH, then b"D" on R
  harness -> C  b"quit" / EOF   exit without reporting

Runs under every CPython 3.8-3.13: no syntax or library newer than 3.8.

Why the oracle can be compared exactly with a snapshot taken before it ran:
gc is disabled before readiness, so nothing is collected or moved between
the snapshot and the oracle.  New objects are appended to the tail of
generation 0, so the first thing done on wake is to allocate a marker: every
gen-0 object before it existed at snapshot time, except the one tuple that
gc.get_count() returned just before it (excluded by id).  Nothing that
existed at snapshot time is mutated or freed before its referents are read,
except the frame of serve() itself on <= 3.10 (its value stack and locals
change when it resumes), which is reported as "changed" and excluded from
the edge comparison.  The collection oracle runs in a forked child after
every reference the oracle held to snapshot objects has been dropped.
"""
import collections
import functools
import gc
import itertools
import json
import os
import sys
import threading
import time
import types
import weakref

KEEP = []                       # live graph: reachable from a module global
NAMES = {}                      # scenario label -> object in that cycle (ids only reported)
DESIGNATED = {}                 # label -> id: garbage the scenario built on purpose


def tname(t):
    """'module.qualname' of a type, bypassing any metaclass __getattribute__."""
    mod = type.__dict__['__module__'].__get__(t, type)
    qual = type.__dict__['__qualname__'].__get__(t, type)
    return '%s.%s' % (mod, qual)


class Marker:
    __slots__ = ('__weakref__',)


# ---------------------------------------------------------------------------
# Cycle builders.  Each returns one object that lies on the cycle.

class Node:
    def __init__(self, ref=None):
        self.ref = ref

    def method(self):
        return self


class Slotted:
    __slots__ = ('a', 'b', '__weakref__')


class WithDel:
    def __del__(self):
        pass


class ListSub(list):
    pass


class DictSub(dict):
    pass


class SetSub(set):
    pass


class FrozenSetSub(frozenset):
    pass


class TupleSub(tuple):
    pass


class ExcSub(Exception):
    pass


class BaseExcSub(BaseException):
    pass


class SeqLike:
    """Iterated by index: a seqiterobject ("iterator")."""
    def __init__(self, ref):
        self.ref = ref

    def __getitem__(self, i):
        raise IndexError(i)


class Awaitable:
    def __await__(self):
        yield self


def c_list_self():
    x = []
    x.append(x)
    return x


def c_list_pair():
    a = []
    b = [a]
    a.append(b)
    return a


def c_tuple():
    x = []
    t = (x, 1, 'two')
    x.append(t)
    return t


def c_dict_value():
    d = {}
    d['self'] = d
    return d


def c_dict_key():
    n = Node()
    d = {n: 'value'}
    n.ref = d
    return d


def c_set():
    n = Node()
    s = {n}
    n.ref = s
    return s


def c_frozenset():
    n = Node()
    fs = frozenset([n, 1])
    n.ref = fs
    return fs


def c_instance_pair():
    a = Node()
    b = Node(a)
    a.ref = b
    return a


def c_instance_self():
    n = Node()
    n.ref = n
    return n


def c_instance_many_attrs():
    n = Node()
    for i in range(40):
        setattr(n, 'attr%d' % i, n if i % 3 == 0 else i)
    return n


def c_instance_dict_materialized():
    n = Node()
    n.ref = n
    n.__dict__['other'] = [n]       # touching __dict__ materializes it (3.11+)
    return n


def c_instance_dict_replaced():
    n = Node()
    n.__dict__ = {'me': n, 'x': 1}
    return n


def c_slots():
    a = Slotted()
    b = Slotted()
    a.a = b
    b.a = a
    a.b = a
    return a


def c_class_instance():
    class Local:
        pass
    Local.inst = Local()
    return Local


def c_class_slots_descriptor():
    class LocalSlots:           # member descriptors <-> their type
        __slots__ = ('p', 'q')
    return LocalSlots


def c_closure():
    def outer():
        x = None

        def f():
            return x
        x = f
        return f
    return outer()


def c_cell():
    c = types.CellType() if hasattr(types, 'CellType') else None
    if c is None:
        return c_closure()
    c.cell_contents = [c]
    return c


def c_bound_method():
    n = Node()
    n.ref = n.method
    return n


def c_classmethod():
    x = []
    x.append(classmethod(x))
    return x


def c_staticmethod():
    x = []
    x.append(staticmethod(x))
    return x


def c_property():
    x = []
    x.append(property(x, x, x, None))
    return x


def c_module():
    m = types.ModuleType('e2e_module')
    m.me = m
    m.data = [m]
    return m


def c_frame():
    def f():
        fr = sys._getframe()
        return fr
    return f()


def c_generator():
    def gen(box):
        local = box
        yield 1
        yield local
    box = []
    g = gen(box)
    next(g)
    box.append(g)
    return g


def c_generator_unstarted():
    def gen(box):
        yield box
    box = []
    g = gen(box)
    box.append(g)
    return g


def c_coroutine():
    async def co(box):
        await Awaitable()
        return box
    box = []
    c = co(box)
    c.send(None)                # suspended inside Awaitable.__await__
    box.append(c)
    return c


def c_async_generator():
    async def agen(box):
        mine = box
        yield mine
        yield 2
    box = []
    a = agen(box)
    try:
        a.asend(None).send(None)
    except StopIteration:
        pass
    box.append(a)
    return a


def c_exception_traceback():
    def f():
        try:
            raise ValueError('e2e')
        except ValueError as e:
            err = e
        return err
    return f()


def c_exception_subclass():
    e = ExcSub('x')
    e.args = (e,)
    e.attr = e
    e.__cause__ = e
    return e


def c_baseexception_subclass():
    e = BaseExcSub()
    e.__context__ = e
    return e


def c_deque():
    d = collections.deque()
    d.append(d)
    return d


def c_ordereddict():
    od = collections.OrderedDict()
    od['x'] = od
    return od


def c_defaultdict():
    dd = collections.defaultdict()
    dd['x'] = dd
    dd.default_factory = lambda: dd
    return dd


def c_weakref_callback():
    n = Node()
    n.wr = weakref.ref(n, lambda r, n=n: None)
    return n


def c_weakproxy_callback():
    n = Node()
    n.p = weakref.proxy(n, lambda r, n=n: None)
    return n


def c_slice():
    x = []
    x.append(slice(x, x, None))
    return x


class Exporter:
    """A buffer exporter written in Python (3.12+, PEP 688)."""
    def __init__(self):
        self.data = bytearray(b'exported')

    def __buffer__(self, flags):
        return memoryview(self.data)


def c_memoryview():
    """exporter -> memoryview -> managed buffer -> exporter (3.12+); older
    versions cannot export from Python, so the memoryview only hangs off a
    cycle there."""
    if sys.version_info >= (3, 12):
        e = Exporter()
        e.view = memoryview(e)
        return e
    holder = [memoryview(bytearray(b'abc'))]
    holder.append(holder)
    return holder


def c_builtin_method():
    x = []
    x.append(x.append)
    return x


def c_method_wrapper():
    x = []
    x.append(x.__len__)
    return x


def c_list_sub():
    x = ListSub()
    x.append(x)
    return x


def c_dict_sub():
    d = DictSub()
    d['x'] = d
    d.attr = d
    return d


def c_set_sub():
    s = SetSub()
    s.add(Node(s))
    return s


def c_frozenset_sub():
    n = Node()
    fs = FrozenSetSub([n])
    n.ref = fs
    return fs


def c_tuple_sub():
    x = []
    t = TupleSub((x, 2))
    x.append(t)
    return t


BASIC = [
    c_list_self, c_list_pair, c_tuple, c_dict_value, c_dict_key, c_set,
    c_frozenset, c_instance_pair, c_instance_self, c_instance_many_attrs,
    c_instance_dict_materialized, c_instance_dict_replaced, c_slots,
    c_class_instance, c_class_slots_descriptor, c_closure, c_cell,
    c_bound_method, c_classmethod, c_staticmethod, c_property, c_module,
    c_frame, c_generator, c_generator_unstarted, c_coroutine,
    c_async_generator, c_exception_traceback, c_exception_subclass,
    c_baseexception_subclass, c_deque, c_ordereddict, c_defaultdict,
    c_weakref_callback, c_weakproxy_callback, c_slice, c_memoryview,
    c_builtin_method, c_method_wrapper, c_list_sub, c_dict_sub, c_set_sub,
    c_frozenset_sub, c_tuple_sub,
]


# Types beyond the list: failures here are "not decoded yet".
def x_partial():
    x = []
    x.append(functools.partial(print, x, key=x))
    return x


def x_mappingproxy():
    d = {}
    d['proxy'] = types.MappingProxyType(d)
    return d


def x_namespace():
    ns = types.SimpleNamespace()
    ns.me = ns
    return ns


def x_list_iterator():
    x = []
    x.append(iter(x))
    return x


def x_zip_map_enumerate():
    x = []
    x.append(zip(x, x))
    x.append(map(len, x))
    x.append(enumerate(x))
    x.append(reversed(x))
    return x


def x_dict_views():
    d = {}
    d['k'] = d.keys()
    d['v'] = d.values()
    d['i'] = d.items()
    d['it'] = iter(d)
    return d


def x_itertools():
    x = []
    x.append(itertools.chain(x))
    x.append(itertools.cycle(x))
    x.append(itertools.islice(x, 2))
    return x


def x_lru_cache():
    f = functools.lru_cache(maxsize=None)(lambda v: v)
    f(f)                        # cache: (f,) -> f
    return f


def x_super():
    n = Node()
    n.s = super(Node, n)
    return n


def x_classmethod_in_class():
    class K:
        @classmethod
        def cm(cls):
            return K

        @staticmethod
        def sm():
            return K

        @property
        def p(self):
            return K
    K.inst = K()
    return K


def x_method_of_class():
    class K:
        def m(self):
            return self
    k = K()
    k.bound = k.m
    return k


def x_generic_alias_union():
    """3.14 gave Union hashable_args and unhashable_args (a GenericAlias of
    a list is unhashable): both hold the cycle."""
    x = []
    if sys.version_info >= (3, 9):
        ga = list[x]
        x.append(ga)
        if sys.version_info >= (3, 10):
            x.append(int | ga)
    return x


def x_ctypes_memoryview():
    """ctypes keeps what you store in arr._objects:
    arr -> dict -> memoryview -> managed buffer -> arr."""
    import ctypes
    arr = (ctypes.py_object * 2)()
    mv = memoryview(arr)
    arr[0] = mv
    return mv


# C types of stdlib modules that real owner chains run through (issue #14):
# asyncio tasks that keep exceptions, contextvars and their HAMT, thread
# locals, the io wrappers, itertools.  Each builder leaves a cycle through
# the C object so that its edges matter.
def m_asyncio_tasks():
    import asyncio
    loop = asyncio.new_event_loop()
    holder = []

    async def failing(n):
        holder.append(n)
        raise ValueError('task %d failed' % n)

    async def waiting(fut):
        return await fut

    tasks = [loop.create_task(failing(n)) for n in range(3)]
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    fut = loop.create_future()
    fut.add_done_callback(lambda f, h=holder: None)
    fut.add_done_callback(lambda f, h=holder: h)
    pending = loop.create_task(waiting(fut))    # waits on fut: fut_waiter
    loop.run_until_complete(asyncio.sleep(0))
    done = loop.create_future()
    done.set_result(holder)
    holder.extend([tasks, fut, pending, done, loop])
    return holder


def m_contextvars():
    import contextvars
    box = []
    var = contextvars.ContextVar('pyleak_var', default=box)
    many = [contextvars.ContextVar('pyleak_v%d' % i) for i in range(40)]
    ctx = contextvars.copy_context()

    def fill():
        box.append(var.set(box))                # Token: ctx, var, old value
        for v in many:                          # > 16 keys: array nodes
            v.set(box)
    ctx.run(fill)
    box.extend([ctx, var, many])
    return box


class LocalSub(threading.local):
    def __init__(self, a, kw=None):
        self.a = a


def m_thread_local():
    loc = threading.local()
    loc.me = loc
    sub = LocalSub([loc], kw={'x': loc})
    sub.loc = loc
    loc.sub = sub
    return loc


def m_io():
    import io
    import tempfile
    fd, path = tempfile.mkstemp(prefix='pyleak-e2e-io-')
    os.close(fd)
    text = open(path, 'w+', encoding='utf-8')   # TextIOWrapper > BufferedRandom > FileIO
    text.write('x\n')
    text.flush()
    text.seek(0)
    text.readline()                             # decoder state, snapshot
    rb = open(path, 'rb')
    wb = open(path, 'ab')
    rb.raw.me = rb                              # FileIO's dict
    pair = io.BufferedRWPair(open(path, 'rb'), open(path, 'ab'))
    bio = io.BytesIO(b'abc')
    sio = io.StringIO('a\nb', newline=None)    # readnl, decoder
    wrap = io.TextIOWrapper(io.BytesIO(b'z'), encoding='utf-8')
    objs = [text, rb, wb, pair, bio, sio, wrap]
    for o in objs:
        o.me = objs
    os.unlink(path)
    return objs


def m_itertools():
    x = [1, 2, 2, 3]
    its = [itertools.chain(x, [x]), itertools.cycle(x), itertools.islice(x, 2),
           itertools.starmap(max, [(x, x)]), itertools.dropwhile(bool, x),
           itertools.takewhile(bool, x), itertools.filterfalse(None, x),
           itertools.compress(x, x), itertools.accumulate(x),
           itertools.zip_longest(x, x, fillvalue=x), itertools.repeat(x, 3)]
    cyc = itertools.cycle(x)
    next(cyc)                                   # saved holds the items seen
    its.append(cyc)
    ch = itertools.chain.from_iterable([x, x])
    next(ch)                                    # active iterator
    its.append(ch)
    gb = itertools.groupby(x, key=lambda v, x=x: v)
    key, grouper = next(gb)                     # tgtkey, currkey, currvalue
    its += [gb, grouper]
    t1, t2 = itertools.tee(iter(x))
    next(t1)                                    # tee data object with values
    its += [t1, t2]
    acc = itertools.accumulate(x, max)
    next(acc)                                   # binop, total
    its.append(acc)
    if sys.version_info >= (3, 10):
        pw = itertools.pairwise(x)
        next(pw)
        its.append(pw)
    x.append(its)
    return x


def m_misc():
    """What framework heaps hold most among the rest: compiled patterns,
    operator getters, counters, struct formats, locks."""
    import operator
    import re
    import struct
    x = []
    x += [re.compile('(?P<first>a)(b)%d' % id(x)), operator.itemgetter(x),
          operator.itemgetter(1, x), operator.attrgetter('a', 'b.c'),
          itertools.count(1 << 70, 2), struct.Struct('>i%dx' % (id(x) % 7)),
          threading.Lock(), threading.RLock()]
    d = {'x': x}
    it = iter(x)
    next(it)
    items = iter(d.items())
    x += [types.MappingProxyType(d), it, iter((x, 1)), iter(SeqLike(x)),
          iter(d), items, iter(set([1])), iter(x.__getitem__, x)]
    next(items)                 # di_result: the reused (key, value) tuple
    import socket
    a, b = socket.socketpair()
    a._io_refs = b              # socket.socket: Python slots over _socket.socket
    x += [a, b]
    import ast
    node = ast.parse('a = b').body[0]
    node.owner = x
    x.append(node)
    try:
        import sqlite3
    except ImportError:
        return x
    # a connection keeps its prepared statements in its cache
    con = sqlite3.connect(':memory:')
    con.execute('select %d' % id(x)).fetchall()
    x.append(con)
    return x


def sqlite_statement_type():
    """sqlite3.Statement where the tool decodes it (3.11+: 3.10's keeps its
    sql in a struct no layout describes); its type is not exported."""
    import gc
    if sys.version_info < (3, 11):
        return []
    for o in gc.get_objects():
        t = type(o)
        if t.__name__ == 'Statement' and t.__module__ == 'sqlite3':
            return [t]
    return []


# C modules whose state the tool decodes (modstate_rules in
# heap/decode-functions.c), with the minor versions it does so on: every
# kind of state it reads (types, exceptions, dicts, interned strs and ints
# the traverse leaves out, int.__abs__ cached by _random).  m_modstate
# imports them; classify() marks them 'cstate': never opaque, and their
# edges equal gc.get_referents(module) like every decoded object's.
MODSTATE_DECODED = {
    '_csv': (8, 14), '_pickle': (8, 14), '_elementtree': (8, 14), '_struct': (9, 14),
    'select': (9, 14), 'posix': (9, 14), '_random': (9, 14), '_signal': (10, 14),
    'array': (10, 14), '_ssl': (10, 14), '_functools': (10, 14), '_sre': (10, 14),
    'time': (11, 14),
}


def m_modstate():
    import importlib
    out = []
    for name in sorted(MODSTATE_DECODED):
        try:
            out.append(importlib.import_module(name))
        except ImportError:
            pass
    return out


def m_thirdparty():
    """Third-party C types the tool decodes by a candidate layout checked
    on each instance (heap/decode-thirdparty.c), where installed (Debian's
    python3-multidict, python3-frozenlist and python3-aiohttp for
    /usr/bin/python3.11): headers
    kept in (CI)MultiDicts with the embedded and the grown pair array, their
    proxies, aiohttp's reify, frozenlist's FrozenList and a Python subclass
    of it.  Each holds the list that holds it."""
    x = []
    try:
        import multidict
    except ImportError:
        multidict = None
    if multidict is not None:
        small = multidict.CIMultiDict([('Host', x), (multidict.istr('X-A'), 'b')])
        big = multidict.MultiDict(('k%d' % i, [i, x]) for i in range(40))
        big.add('k0', x)
        x += [small, big, multidict.CIMultiDictProxy(small), multidict.MultiDictProxy(big)]
    try:
        from aiohttp._helpers import reify
    except ImportError:
        reify = None
    if reify is not None and type(reify).__name__ == 'type' and reify.__module__ == 'aiohttp._helpers':
        class Holder:
            @reify
            def owner(self):
                return x
        x += [Holder.__dict__['owner'], Holder]
    try:
        from frozenlist import FrozenList
    except ImportError:
        FrozenList = None
    if FrozenList is not None and FrozenList.__module__ == 'frozenlist._frozenlist':
        class Callbacks(FrozenList):
            __slots__ = ('owner',)
        frozen = FrozenList([x])
        frozen.freeze()
        sub = Callbacks([x, 1])
        sub.owner = x
        x += [frozen, FrozenList(), sub]
    return x


def thirdparty_types():
    out = []
    try:
        import multidict
        out += [multidict.MultiDict, multidict.CIMultiDict, multidict.MultiDictProxy,
                multidict.CIMultiDictProxy]
    except ImportError:
        pass
    try:
        from aiohttp._helpers import reify
        if reify.__module__ == 'aiohttp._helpers':
            out.append(reify)
    except ImportError:
        pass
    try:
        from frozenlist import FrozenList
        out.append(FrozenList)
    except ImportError:
        pass
    return [t for t in out if t.__module__ in ('multidict._multidict', 'aiohttp._helpers',
                                               'frozenlist._frozenlist')]


MODULES = [m_asyncio_tasks, m_contextvars, m_thread_local, m_io, m_itertools, m_misc,
           m_modstate, m_thirdparty]


def module_types():
    """The types of MODULES whose references must be decoded, where the
    running version has them."""
    import asyncio
    import contextvars
    import io
    out = [asyncio.Task, asyncio.Future, contextvars.Context, contextvars.ContextVar,
           contextvars.Token, threading.local, io.BufferedReader, io.BufferedWriter,
           io.BufferedRandom, io.BufferedRWPair, io.TextIOWrapper, io.FileIO, io.BytesIO,
           io.StringIO, itertools.chain, itertools.cycle, itertools.islice,
           itertools.starmap, itertools.dropwhile, itertools.takewhile,
           itertools.filterfalse, itertools.compress, itertools.accumulate,
           itertools.zip_longest, itertools.repeat, itertools.groupby,
           type(itertools.tee([])[0])]
    if hasattr(itertools, 'pairwise'):
        out.append(itertools.pairwise)
    import operator
    import re
    import struct
    out += [type(re.compile('')), operator.itemgetter, operator.attrgetter,
            itertools.count, struct.Struct, type(threading.Lock()), type(threading.RLock()),
            types.MappingProxyType, type(iter([])), type(iter(())), type(iter(set())),
            type(iter({})), type(iter({}.items())), type(iter(int, 1))]
    import ast
    out += [ast.Assign, ast.Name, ast.Store, ast.Load]
    return out + sqlite_statement_type() + thirdparty_types()


EXTRA = [
    x_partial, x_mappingproxy, x_namespace, x_list_iterator,
    x_zip_map_enumerate, x_dict_views, x_itertools, x_lru_cache, x_super,
    x_classmethod_in_class, x_method_of_class, x_ctypes_memoryview,
    x_generic_alias_union,
]


def build(builders, prefix):
    """prefix 'garbage...:' marks what is built as garbage by design: its
    anchors are handed over as designated garbage (the harness keeps those
    whose unreachable part consists only of types the tool must decode)."""
    out = []
    for b in builders:
        obj = b()
        NAMES['%s%s' % (prefix, b.__name__)] = id(obj)
        if prefix.startswith('garbage'):
            DESIGNATED['%s%s' % (prefix, b.__name__)] = id(obj)
        out.append(obj)
    return out


def del_pair(label=None):
    """The classic pair of instances with __del__ (decoded types only)."""
    a = WithDel()
    b = WithDel()
    a.other = b
    b.other = a
    if label:
        NAMES[label] = id(a)
        DESIGNATED[label + '.a'] = id(a)
        DESIGNATED[label + '.b'] = id(b)
    return a


# ---------------------------------------------------------------------------
# Scenarios.  gc is already disabled; startup objects are in generation 2.

def s_types():
    third = len(BASIC) // 3
    KEEP.append(build(BASIC[:third], 'live:'))
    gc.collect(1)               # first third moves to generation 2
    KEEP.append(build(BASIC[third:2 * third], 'live:'))
    gc.collect(0)               # second third moves to generation 1
    KEEP.append(build(BASIC[2 * third:], 'live:'))


def s_types_extra():
    KEEP.append(build(EXTRA, 'live:'))


def s_modules():
    KEEP.append(build(MODULES, 'live:'))


def s_garbage():
    """gc disabled with unreachable cycles waiting in every generation,
    __del__ pairs included.  A collection only moves what is reachable, so
    each batch is held until it has been promoted, then dropped."""
    KEEP.append(build(BASIC[:5], 'live:'))
    hold = [build(BASIC, 'garbage2:'), del_pair('garbage2:del_pair')]
    gc.collect(1)               # -> generation 2
    hold.append(build(EXTRA, 'garbage1:'))
    hold.append(del_pair('garbage1:del_pair'))
    gc.collect(0)               # -> generation 1
    del hold[:]
    del_pair('garbage0:del_pair')
    build(BASIC, 'garbage0:')   # waits in generation 0


def s_freeze():
    KEEP.append(build(BASIC[:10], 'frozen_live:'))
    build(BASIC[10:20], 'frozen_garbage:')      # frozen: never collectable
    gc.freeze()
    KEEP.append(build(BASIC[20:30], 'live:'))
    build(BASIC[30:], 'garbage:')
    del_pair('garbage:del_pair')


def s_gc_garbage():
    gc.set_debug(gc.DEBUG_SAVEALL)
    build(BASIC[:15], 'saved:')
    NAMES['saved:del_pair'] = id(del_pair())      # in gc.garbage: alive
    gc.collect()
    gc.set_debug(0)
    KEEP.append(build(BASIC[15:20], 'live:'))


def s_chain():
    """A ring of 100,000 objects (one SCC) and an unreachable 100,000-deep
    linear chain hanging off a garbage self-cycle."""
    n = 100000
    first = Slotted()
    cur = first
    for _ in range(n - 1):
        nxt = Slotted()
        cur.a = nxt
        cur = nxt
    cur.a = first
    KEEP.append(first)
    NAMES['live:ring100k'] = id(first)
    head = []
    head.append(head)
    cur = head
    for _ in range(n):
        nxt = []
        cur.append(nxt)
        cur = nxt
    NAMES['garbage:chain100k'] = id(head)
    DESIGNATED['garbage:chain100k.head'] = id(head)
    DESIGNATED['garbage:chain100k.tail'] = id(cur)


def s_gcstate():
    """gc enabled with unusual thresholds; the huge threshold 0 keeps
    automatic collections from running while we wait."""
    KEEP.append(build(BASIC[:5], 'live:'))
    gc.set_threshold(100000000, 7, 9)
    gc.enable()


SCENARIOS = {
    'types': s_types,
    'types_extra': s_types_extra,
    'modules': s_modules,
    'garbage': s_garbage,
    'freeze': s_freeze,
    'gc_garbage': s_gc_garbage,
    'chain': s_chain,
    'gcstate': s_gcstate,
}


# ---------------------------------------------------------------------------
# The oracle.

def read_gen(gen, marker, artefacts, objs_out):
    """Ids of the snapshot objects in one generation, in list order."""
    objs = gc.get_objects(generation=gen)
    if marker is not None:
        for i, o in enumerate(objs):
            if o is marker:
                del objs[i:]
                break
        else:
            raise RuntimeError('marker not found in generation 0')
    ids = []
    for o in objs:
        if id(o) not in artefacts:
            ids.append(id(o))
            objs_out.append(o)
    return ids


def describe(objs, referents, types_of, kinds):
    """Referents and type names; `kinds` collects the distinct types
    (id -> type) and the module objects (id -> module) for classify()."""
    names = kinds.setdefault('names', {})
    typeobjs = kinds.setdefault('types', {})
    modules = kinds.setdefault('modules', {})
    modtype = types.ModuleType
    for o in objs:
        i = id(o)
        t = type(o)
        ti = id(t)
        n = names.get(ti)
        if n is None:
            n = names[ti] = tname(t)
            typeobjs[ti] = t
        types_of[i] = n
        if isinstance(o, modtype):
            modules[i] = o
        rs = gc.get_referents(o)
        referents[i] = [id(r) for r in rs]
        for r in rs:
            ri = id(r)
            if ri not in types_of:
                rt = type(r)
                rn = names.get(id(rt))
                if rn is None:
                    rn = tname(rt)
                types_of[ri] = rn


# The list of types whose references are decoded (never opaque):
# list, tuple, dict, set, frozenset, instances of Python classes, type,
# function, cell, method, classmethod, staticmethod, property, module
# without C state, frame, generator, coroutine, async_generator, traceback,
# BaseException and subclasses, deque, OrderedDict, defaultdict, weakref,
# slice, memoryview, builtin_function_or_method, method/member/getset/wrapper
# descriptors.
def must_decode_types():
    def f():
        pass
    cell = (lambda: f).__closure__[0]
    return [list, tuple, dict, set, frozenset, type, types.FunctionType,
            type(cell), types.MethodType, classmethod, staticmethod, property,
            types.FrameType, types.GeneratorType, types.CoroutineType,
            types.AsyncGeneratorType, types.TracebackType, collections.deque,
            collections.OrderedDict, collections.defaultdict, weakref.ref,
            weakref.ProxyType, weakref.CallableProxyType, slice, memoryview,
            types.BuiltinFunctionType, type(str.join), type(dict.__dict__['fromkeys']),
            types.MemberDescriptorType, types.GetSetDescriptorType,
            type(object.__init__)]


def classify(kinds):
    """Runs after every snapshot object has been read (it imports ctypes).
    Returns ({type name: why it must be decoded, or ''}, {module id: 'py',
    'c', or 'cstate' (a C module whose state the tool decodes)}).  A Python class is a heap type whose tp_dealloc is
    subtype_dealloc; it must be decoded when its nearest C base is.  A module
    is Python-level when md_def is NULL (no C state)."""
    try:
        import ctypes
        vp = ctypes.c_void_p
        sz = ctypes.c_ssize_t
        if not (sz.from_address(id(int) + 32).value == int.__basicsize__ and
                sz.from_address(id(int) + 40).value == int.__itemsize__):
            raise ImportError('unexpected PyTypeObject layout')

        class P(object):
            pass
        sub = vp.from_address(id(P) + 48).value

        def is_py(t):
            return bool(t.__flags__ & (1 << 9)) and vp.from_address(id(t) + 48).value == sub

        def md_def(m):
            return vp.from_address(id(m) + 24).value
    except Exception:           # no ctypes: heuristics
        def is_py(t):
            return bool(t.__flags__ & (1 << 9)) and '__module__' in t.__dict__ and \
                not any(k in t.__dict__ for k in ('__new__',)) or '__slots__' in t.__dict__

        def md_def(m):
            spec = m.__dict__.get('__spec__')
            loader = getattr(spec, 'loader', None) or m.__dict__.get('__loader__')
            ln = loader.__name__ if isinstance(loader, type) else type(loader).__name__
            return 1 if ln in ('BuiltinImporter', 'ExtensionFileLoader') else 0
    must = must_decode_types() + module_types()
    must_ids = set(id(t) for t in must)

    def reason(t):
        if id(t) in must_ids:
            return 'builtin'
        if issubclass(t, BaseException):
            return 'exception'
        if is_py(t):
            for b in t.__mro__:
                if not is_py(b):
                    if b is object or id(b) in must_ids or issubclass(b, BaseException):
                        return 'python class'
                    return ''
        return ''
    why = {}
    for ti, t in kinds['types'].items():
        n = kinds['names'][ti]
        r = reason(t)
        why[n] = r if why.get(n, r) == r else ''
    mods = {}
    minor = sys.version_info[1]
    for i, m in kinds['modules'].items():
        kind = 'c' if md_def(m) else 'py'
        first, last = MODSTATE_DECODED.get(m.__dict__.get('__name__'), (0, -1))
        if kind == 'c' and first <= minor <= last:
            kind = 'cstate'
        mods[str(i)] = kind
    return why, mods


def tracked_view(marker, artefacts, referents, types_of, kinds):
    gens = {}
    objs = []
    for g in (0, 1, 2):
        gens[str(g)] = read_gen(g, marker if g == 0 else None, artefacts, objs)
    describe(objs, referents, types_of, kinds)
    del objs[:]
    return gens


def permanent_view(gens, referents, types_of, kinds):
    """gc.unfreeze() appends the permanent generation to generation 2."""
    before = set(gens['2'])
    gc.unfreeze()
    objs = [o for o in gc.get_objects(generation=2) if id(o) not in before]
    ids = [id(o) for o in objs]
    describe(objs, referents, types_of, kinds)
    del objs[:]
    return ids


def forked_collect(snapshot_ids, marker, kinds):
    """What a full collection would free now: collect in a forked child
    with DEBUG_SAVEALL.  Freed = what it saves in gc.garbage, plus snapshot
    objects that finalizers freed by refcount during the collection (a
    suspended generator's close() breaks its own cycle, so the cycle never
    reaches gc.garbage).  A vanished exact tuple/dict may instead have been
    untracked by the collection; it counts as alive if a live object still
    refers to it (searched through untracked tuples/dicts).  gc must stay
    disabled (or with a huge threshold) in the child.  `kinds` holds
    references to types and modules; the child drops them first."""
    old = len(gc.garbage)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            kinds.clear()
            # At-fork handlers (threading) free a few objects in the child
            # only; whatever is gone before we collect is not the
            # collection's doing.  Survivors keep their place in generation
            # 0 before the marker; anything allocated since comes after it.
            before = set()
            objs = gc.get_objects(generation=0)
            for o in objs:
                if o is marker:
                    break
                before.add(id(o))
            del objs[:]
            for g in (1, 2):
                before.update(id(o) for o in gc.get_objects(generation=g))
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.collect()
            gc.set_debug(0)
            saved = [id(o) for o in gc.garbage[old:]]
            # A full collection leaves every survivor in generation 2, so
            # whatever sits in 0/1 now was allocated since (possibly at the
            # address of a freed snapshot object): only generation 2 counts.
            gc.unfreeze()
            alive = set()
            referenced = set()
            todo = []
            for o in gc.get_objects(generation=2):
                alive.add(id(o))
                for x in gc.get_referents(o):
                    if id(x) not in referenced:
                        referenced.add(id(x))
                        if type(x) in (tuple, dict) and not gc.is_tracked(x):
                            todo.append(x)
            while todo:
                for x in gc.get_referents(todo.pop()):
                    if id(x) not in referenced:
                        referenced.add(id(x))
                        if type(x) in (tuple, dict) and not gc.is_tracked(x):
                            todo.append(x)
            vanished = [i for i in snapshot_ids if i in before and i not in alive]
            data = json.dumps({'saved': saved, 'vanished': vanished,
                               'referenced': [i for i in vanished if i in referenced],
                               'gone_at_fork': len(set(snapshot_ids) - before)}).encode()
            while data:
                data = data[os.write(w, data):]
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 1 << 16)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(b''.join(chunks).decode())


def classify_vanished(collected, referents, types_of):
    """Snapshot objects that left the tracked set during the collection
    were freed, except exact tuples/dicts, which a collection may merely
    untrack.  Such a container is alive if a live object still refers to
    it; otherwise it was freed if it had referrers and all of them were
    freed (a frame's tuple inside a garbage generator), and alive if only
    C code or a running frame referred to it."""
    garbage = set(collected['saved'])
    cascade = []
    maybe = []
    referenced = set(collected['referenced'])
    for i in collected['vanished']:
        if types_of.get(i) in ('builtins.tuple', 'builtins.dict'):
            if i not in referenced:
                maybe.append(i)
        else:
            cascade.append(i)
    garbage.update(cascade)
    if maybe:
        referrers = {i: [] for i in maybe}
        for src, refs in referents.items():
            for r in refs:
                if r in referrers:
                    referrers[r].append(src)
        changed = True
        while changed:
            changed = False
            for i in maybe:
                if i not in garbage and referrers[i] and all(s in garbage for s in referrers[i]):
                    garbage.add(i)
                    cascade.append(i)
                    changed = True
    untracked = [i for i in collected['vanished'] if i not in garbage]
    return cascade, untracked


def tarjan(nodes, referents):
    """Nontrivial strongly connected components (size > 1 or a self-loop)
    of the referent graph restricted to `nodes`.  Iterative."""
    index = {}
    low = {}
    onstack = set()
    stack = []
    out = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, pi = work.pop()
            if pi == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                onstack.add(v)
            succ = referents.get(v, ())
            recurse = False
            while pi < len(succ):
                w = succ[pi]
                pi += 1
                if w not in nodes:
                    continue
                if w not in index:
                    work.append((v, pi))
                    work.append((w, 0))
                    recurse = True
                    break
                if w in onstack and index[w] < low[v]:
                    low[v] = index[w]
            if recurse:
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    onstack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in referents.get(v, ()):
                    out.append(comp)
            if work:
                u = work[-1][0]
                if low[v] < low[u]:
                    low[u] = low[v]
    return out


def interned_tables():
    """ids of the interpreter's interned-string table: a dict whose every
    value is its own key, held only by C.  3.14+ tracks every dict, so it is
    on the GC lists; the oracle's own work after the snapshot adds and frees
    interned strings in it, so its entries are not comparable with the
    snapshot (like the oracle's running frame)."""
    found = []
    for o in gc.get_objects():
        if type(o) is dict and len(o) >= 1000 and all(k is v for k, v in o.items()):
            found.append(id(o))
    return found


def serve(ready_fd, cmd_fd, out_path):
    # Everything from here to os.read() is part of the snapshot; keep it to
    # objects that do not change once we resume.
    changed = id(sys._getframe()) if sys.version_info < (3, 11) else 0
    enabled = gc.isenabled()
    threshold = gc.get_threshold()
    freeze_count = gc.get_freeze_count()
    ready_count = gc.get_count()
    os.write(ready_fd, b'R')
    cmd = os.read(cmd_fd, 64)
    wake_count = gc.get_count()         # read before its own tuple exists
    marker = Marker()
    if not cmd.startswith(b'report'):
        return
    t0 = time.monotonic()
    artefacts = {id(wake_count), id(marker)}
    referents = {}
    types_of = {}
    kinds = {}
    gens = tracked_view(marker, artefacts, referents, types_of, kinds)
    gc_garbage = [id(o) for o in gc.garbage]
    interned = interned_tables()
    collected = forked_collect([i for ids in gens.values() for i in ids], marker, kinds)
    cascade, untracked = classify_vanished(collected, referents, types_of)
    gens['permanent'] = permanent_view(gens, referents, types_of, kinds)
    must, modules = classify(kinds)     # nothing of the snapshot is read after this
    kinds.clear()
    nodes = set()
    for ids in gens.values():
        nodes.update(ids)
    sccs = tarjan(nodes, referents)
    report = {
        'pid': os.getpid(),
        'version': '%d.%d.%d' % sys.version_info[:3],
        'version_full': sys.version,
        'scenario': SCENARIO,
        'executable': sys.executable,
        'enabled': enabled,
        'threshold': list(threshold),
        'count_ready': list(ready_count),
        'count': list(wake_count),
        'freeze_count': freeze_count,
        'threads': len(os.listdir('/proc/self/task')),
        'gens': gens,
        'changed': ([changed] if changed else []) + interned,
        'referents': {str(k): v for k, v in referents.items()},
        'types': {str(k): v for k, v in types_of.items()},
        'garbage': collected['saved'] + cascade,
        'garbage_saved': collected['saved'],
        'garbage_cascade': cascade,
        'untracked_by_collect': untracked,
        'gone_at_fork': collected['gone_at_fork'],
        'gc_garbage': gc_garbage,
        'sccs': sccs,
        'names': NAMES,
        'designated_garbage': DESIGNATED,
        'must_decode': must,
        'modules': modules,
        'oracle_seconds': time.monotonic() - t0,
    }
    tmp = out_path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(json.dumps(report))     # one shot: the C encoder
    os.rename(tmp, out_path)
    os.write(ready_fd, b'D')


# ---------------------------------------------------------------------------
# Robustness target: threads that notice a misbehaving tracer.

def robust(ready_fd, cmd_fd, out_path):
    state = {'beats': 0, 'max_gap': 0.0, 'errors': [], 'pipe_data': None,
             'cond_woke': False, 'cond_wait_s': None}
    stop = threading.Event()
    pr, pw = os.pipe()
    cond = threading.Condition()
    flag = []

    def heartbeat():
        last = time.monotonic()
        while not stop.is_set():
            try:
                time.sleep(0.002)
            except Exception as e:          # EINTR must never surface
                state['errors'].append('heartbeat: %r' % (e,))
            now = time.monotonic()
            state['max_gap'] = max(state['max_gap'], now - last)
            state['beats'] += 1
            last = now

    def pipe_reader():
        try:
            buf = b''
            while len(buf) < 4096:
                b = os.read(pr, 4096 - len(buf))
                if not b:
                    break
                buf += b
            state['pipe_data'] = buf
        except Exception as e:
            state['errors'].append('pipe reader: %r' % (e,))

    def cond_waiter():
        try:
            with cond:
                t = time.monotonic()
                while not flag:
                    cond.wait()
                state['cond_wait_s'] = time.monotonic() - t
                state['cond_woke'] = True
        except Exception as e:
            state['errors'].append('condition: %r' % (e,))

    threads = [threading.Thread(target=f, daemon=True)
               for f in (heartbeat, pipe_reader, cond_waiter)]
    for t in threads:
        t.start()
    os.write(ready_fd, b'R')
    try:
        cmd = os.read(cmd_fd, 64)
    except Exception as e:
        state['errors'].append('main read: %r' % (e,))
        cmd = b''
    payload = bytes(range(256)) * 16
    os.write(pw, payload)
    with cond:
        flag.append(1)
        cond.notify_all()
    for t in threads[1:]:
        t.join(10)
    beats = state['beats']
    # a tick is 2 ms; a loaded machine may take far longer to schedule it
    end = time.monotonic() + 30
    while state['beats'] <= beats and time.monotonic() < end:
        time.sleep(0.001)
    state['heartbeat_alive'] = state['beats'] > beats
    stop.set()
    threads[0].join(10)
    state['main_cmd'] = cmd.decode('latin-1')
    state['pipe_ok'] = state['pipe_data'] == payload
    state['pipe_data'] = len(state['pipe_data'] or b'')
    state['threads_alive'] = [t.is_alive() for t in threads]
    with open(out_path, 'w') as f:
        json.dump(state, f)
    os.write(ready_fd, b'D')


def busy(ready_fd, cmd_fd, out_path):
    """A service that allocates all the time: a thread links objects into
    and out of the young GC list every few microseconds while pyleak-attach
    reads (freed by reference counting: the collector itself runs rarely,
    as in most services).  Reports how many objects it made."""
    stop = threading.Event()
    made = [0]
    keep = [Node() for _ in range(20000)]

    def churn():
        while not stop.is_set():
            batch = [Node() for _ in range(500)]
            made[0] += len(batch)

    t = threading.Thread(target=churn, daemon=True)
    t.start()
    os.write(ready_fd, b'R')
    cmd = os.read(cmd_fd, 64)
    stop.set()
    t.join(10)
    with open(out_path, 'w') as f:
        json.dump({'made': made[0], 'kept': len(keep), 'cmd': cmd.decode('latin-1'),
                   'churn_alive': t.is_alive()}, f)
    os.write(ready_fd, b'D')


def bigdump(ready_fd, cmd_fd, out_path):
    """Enough objects (PYLEAK_E2E_BIG nodes, each with a dict and a list)
    that writing their dump takes a while: a signal can be sent while the
    dump's temporary file exists.  Stays alive until told to report."""
    n = int(os.environ.get('PYLEAK_E2E_BIG', '50000'))
    keep = []
    for i in range(n):
        x = Node()
        x.items = [i, str(i)]
        keep.append(x)
    os.write(ready_fd, b'R')
    cmd = os.read(cmd_fd, 64)
    with open(out_path, 'w') as f:
        json.dump({'kept': len(keep), 'cmd': cmd.decode('latin-1')}, f)
    os.write(ready_fd, b'D')


def corrupt(kind, ready_fd, cmd_fd, out_path):
    """A process that overwrites its own interpreter memory with ctypes,
    the way a buggy C extension would, then waits to be read.  `kind`:
    prev    one _gc_prev in the middle of generation 2
    strdict a str's length (no NUL after its new last character) and a
            dict's ma_used
    list    one _gc_next in generation 2; on the command "more", also a
            _gc_prev further on (the list can no longer be read whole)
    The collector is off, so nothing follows the broken links; the process
    leaves with os._exit and never tears its heap down."""
    import ctypes
    gc.disable()
    keep = [[i] for i in range(400)]
    s = ''.join(['abcdefgh'] * 4)
    d = {'a': 1, 'b': 2}
    holder = [s, d]
    gc.collect()                # everything -> generation 2
    tracked = len(gc.get_objects())
    word = ctypes.c_uint64
    info = {'tracked': tracked}
    if kind == 'prev':
        victim, other = keep[200], keep[10]
        node = id(victim) - 16
        old = word.from_address(node + 8).value
        word.from_address(node + 8).value = (id(other) - 16) | (old & 3)
        info.update(obj=id(victim), node=node)
    elif kind == 'strdict':
        ctypes.c_ssize_t.from_address(id(s) + 16).value = 16
        ctypes.c_ssize_t.from_address(id(d) + 16).value = 1000000
        info.update(str=id(s), dict=id(d))
    elif kind == 'list':
        node = id(keep[200]) - 16
        word.from_address(node).value = 0x1000
        info.update(obj=id(keep[200]), node=node, node2=id(keep[300]) - 16)
    with open(out_path, 'w') as f:
        json.dump(info, f)
    os.write(ready_fd, b'R')
    while True:
        cmd = os.read(cmd_fd, 64)
        if cmd == b'more' and kind == 'list':
            node2 = info['node2']
            word.from_address(node2 + 8).value = id(keep[250]) - 16
            os.write(ready_fd, b'K')
            continue
        break
    holder.append(keep)
    os._exit(0)


SCENARIO = None


def main(argv):
    global SCENARIO
    name = argv[1]
    SCENARIO = name
    opts = dict(zip(argv[2::2], argv[3::2]))
    ready_fd = int(opts['--ready-fd'])
    cmd_fd = int(opts['--cmd-fd'])
    out = opts.get('--out', os.devnull)
    if name == 'robust':
        robust(ready_fd, cmd_fd, out)
        return 0
    if name == 'busy':
        busy(ready_fd, cmd_fd, out)
        return 0
    if name == 'bigdump':
        bigdump(ready_fd, cmd_fd, out)
        return 0
    if name.startswith('corrupt_'):
        corrupt(name[len('corrupt_'):], ready_fd, cmd_fd, out)
        return 0
    if name not in SCENARIOS:
        sys.stderr.write('target.py: unknown scenario %r\n' % name)
        return 2
    gc.disable()
    gc.collect()                # start-up objects -> generation 2
    SCENARIOS[name]()
    if name != 'gcstate':
        gc.disable()
    serve(ready_fd, cmd_fd, out)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
