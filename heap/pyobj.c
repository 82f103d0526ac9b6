/* pyobj: reading CPython objects out of a memsrc (see pyobj.h). */
#include "pyobj.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memsrc.h"
#include "pyinterp.h"
#include "utf8.h"

/* Sanity caps for lengths read from the target: larger values are garbage
 * in practice and must not drive allocations. */
#define MAX_STR_LEN   ((uint64_t)1 << 31)
#define MAX_ARRAY     ((size_t)1 << 31)

void pyo_init(struct pyo *p, struct memsrc *m, const struct pyinterp *pi)
{
        memset(p, 0, sizeof(*p));
        p->m = m;
        p->spans = memsrc_has_spans(m);
        p->pi = pi;
        p->l = &pi->layout;
}

void pyo_release(struct pyo *p)
{
        for (int i = 0; i < PYO_NSLOTS; i++) {
                free(p->slot[i]);
                p->slot[i] = NULL;
                p->slotcap[i] = 0;
        }
}

/* [addr, addr+len) inside the last span or a new one, else NULL.  For a
 * live source the bytes must be copied out before the next read. */
static inline const void *in_span(struct pyo *p, uint64_t addr, size_t len)
{
        const uint8_t *s;
        const uint64_t *genp;
        uint64_t lo, hi;
        unsigned k;
        const void *v = pyo_in_span(p, addr, len);

        if (v)
                return v;
        /* long arrays are read once: a live cache keeps them out (they
         * would evict what the walk still uses), the others serve them
         * through memsrc_ptr as well */
        if (!p->spans || len > 4096)
                return NULL;
        /* addr is in the last span but the range runs past its end: a
         * source that never changes would give the same span again */
        if (!p->span_genp && addr - p->span_lo < p->span_hi - p->span_lo)
                return NULL;
        for (k = 0; k < PYO_NPREV; k++)
                if (addr - p->prev[k].lo < p->prev[k].hi - p->prev[k].lo)
                        break;
        if (k < PYO_NPREV) {
                /* an earlier span holds addr: it becomes the last one */
                s = p->prev[k].base;
                lo = p->prev[k].lo;
                hi = p->prev[k].hi;
                genp = NULL;
        } else {
                if (!(s = memsrc_span(p->m, addr, &lo, &hi, &genp)))
                        return NULL;        /* the last span stays: reads come back */
                k = PYO_NPREV - 1;
        }
        /* most recent first; a live span is not kept (it may change, and
         * the live cache keeps its own recency) */
        if (!p->span_genp) {
                memmove(&p->prev[1], &p->prev[0], k * sizeof(p->prev[0]));
                p->prev[0] = (struct pyo_span){ .base = p->span, .lo = p->span_lo,
                                                .hi = p->span_hi };
        }
        p->span = s;
        p->span_lo = lo;
        p->span_hi = hi;
        p->span_genp = genp;
        p->span_gen = genp ? *genp : 0;
        return len <= hi - addr ? s + (addr - lo) : NULL;
}

const void *pyo_view_slow(struct pyo *p, uint64_t addr, size_t len, void *buf)
{
        const void *v;

        if (!addr || addr + len < addr)
                return NULL;
        v = in_span(p, addr, len);
        if (v && p->span_genp) {
                memcpy(buf, v, len);    /* live: see memsrc_span */
                return buf;
        }
        if (v)
                return v;
        v = memsrc_ptr(p->m, addr, len);
        if (v)
                return v;
        if (memsrc_read(p->m, addr, buf, len) < 0)
                return NULL;
        return buf;
}

/* Whether [addr, addr + len) lies in the target's mappings (adjacent ones
 * included), for a source that lists them.  A count read from hostile
 * memory must not size a buffer before the bytes are known to exist: a
 * garbage ob_size once asked for 2 GiB (found by tests/fuzz). */
static bool range_mapped(struct memsrc *m, uint64_t addr, size_t len)
{
        const struct mem_region *regs;
        uint64_t end = addr + len;
        size_t n;

        if (memsrc_regions(m, &regs, &n) < 0 || n == 0)
                return true;    /* no list to check against: the read decides */
        for (int hops = 0; hops < 64; hops++) {
                const struct mem_region *r = memsrc_region_of(m, addr);

                if (!r)
                        return false;
                if (r->end >= end)
                        return true;
                addr = r->end;
        }
        return false;
}

const void *pyo_array(struct pyo *p, int slot, uint64_t addr, size_t len)
{
        const void *v;

        if (!addr || len > MAX_ARRAY || addr + len < addr || slot < 0 ||
            slot >= PYO_NSLOTS)
                return NULL;
        if (len == 0)
                return "";
        v = in_span(p, addr, len);
        if (v && !p->span_genp)
                return v;
        if (!v && (v = memsrc_ptr(p->m, addr, len)))
                return v;
        if (p->slotcap[slot] < len) {
                size_t cap = p->slotcap[slot] ? p->slotcap[slot] : 4096;
                uint8_t *n;

                if (!v && !range_mapped(p->m, addr, len))
                        return NULL;

                while (cap < len)
                        cap *= 2;
                n = realloc(p->slot[slot], cap);
                if (!n)
                        return NULL;
                p->slot[slot] = n;
                p->slotcap[slot] = cap;
        }
        if (v) {
                memcpy(p->slot[slot], v, len);  /* live: see memsrc_span */
                return p->slot[slot];
        }
        if (memsrc_read(p->m, addr, p->slot[slot], len) < 0)
                return NULL;
        return p->slot[slot];
}

int pyo_u64_slow(struct pyo *p, uint64_t addr, uint64_t *ret)
{
        uint64_t b;
        const void *v = pyo_view_slow(p, addr, 8, &b);

        if (!v)
                return -EFAULT;
        *ret = ld64(v, 0);
        return 0;
}

int pyo_type_of(struct pyo *p, uint64_t obj, uint64_t *ret)
{
        return pyo_u64(p, obj + lo(p->l, LF_OBJECT_TYPE), ret);
}

int pyo_cstr(struct pyo *p, uint64_t addr, char *buf, size_t len)
{
        size_t n = 0;

        if (!len)
                return -EINVAL;
        /* Read in small chunks so a string near the end of a mapping still
         * reads; a chunk that fails falls back to byte reads. */
        while (n + 1 < len) {
                char chunk[64];
                size_t want = len - 1 - n < sizeof(chunk) ? len - 1 - n : sizeof(chunk);
                const char *v = pyo_view(p, addr + n, want, chunk);

                if (!v) {
                        if (want == 1)
                                break;
                        v = pyo_view(p, addr + n, 1, chunk);
                        if (!v)
                                break;
                        want = 1;
                }
                for (size_t i = 0; i < want; i++) {
                        if (!v[i]) {
                                buf[n] = '\0';
                                return 0;
                        }
                        buf[n++] = v[i];
                }
        }
        buf[n] = '\0';
        return n ? 0 : -EFAULT;
}

struct strinfo {
        uint64_t length;
        unsigned kind;
        bool compact, ascii;
        uint64_t data;          /* address of the characters */
        const void *hdr;        /* compact header view (PyCompactUnicodeObject size) */
        int bad;                /* on -EBADMSG: enum pyo_str_bad (0: a
                                   legacy string, not a broken one) */
};

static int str_info(struct pyo *p, uint64_t obj, void *buf, size_t buflen,
                    struct strinfo *si)
{
        const struct layout *l = p->l;
        uint32_t hsz = lsz(l, LS_COMPACTUNI);
        const void *v;
        uint8_t st;

        if (!lhas(l, LF_ASCII_LENGTH) || !lhas(l, LF_ASCII_STATE) || !hsz ||
            hsz > buflen)
                return -EOPNOTSUPP;
        v = pyo_view(p, obj, hsz, buf);
        if (!v) {
                /* An ASCII string near the end of a mapping may be shorter
                 * than the compact header. */
                hsz = lsz(l, LS_ASCII);
                v = pyo_view(p, obj, hsz, buf);
                if (!v)
                        return -EFAULT;
        }
        st = ld8(v, lo(l, LF_ASCII_STATE));   /* padding bytes hold garbage */
        si->length = ld64(v, lo(l, LF_ASCII_LENGTH));
        si->kind = (st >> 2) & 7;
        si->compact = (st >> 5) & 1;
        si->ascii = (st >> 6) & 1;
        si->hdr = v;
        si->bad = PYO_STR_OK;
        if (l->facts.str_ready_flag && !((st >> 7) & 1))
                return -EBADMSG;      /* not ready: wstr only, not worth it */
        if (si->kind != 1 && si->kind != 2 && si->kind != 4) {
                si->bad = PYO_STR_KIND;
                return -EBADMSG;
        }
        if (si->ascii && si->kind != 1) {
                si->bad = PYO_STR_KIND;
                return -EBADMSG;
        }
        if (si->length > MAX_STR_LEN) {
                si->bad = PYO_STR_LENGTH;
                return -EBADMSG;
        }
        if (si->compact && si->ascii)
                si->data = obj + lsz(l, LS_ASCII);
        else if (si->compact) {
                if (hsz < lsz(l, LS_COMPACTUNI))
                        return -EFAULT;
                si->data = obj + lsz(l, LS_COMPACTUNI);
        } else {
                uint64_t d;

                if (!lhas(l, LF_UNICODE_DATA) ||
                    pyo_u64(p, obj + lo(l, LF_UNICODE_DATA), &d) < 0)
                        return -EFAULT;
                si->data = d;
        }
        return 0;
}

int pyo_str(struct pyo *p, uint64_t obj, char *buf, size_t len, bool *ret_full)
{
        uint8_t hb[128];
        struct strinfo si;
        uint64_t n, take;
        const uint8_t *d;
        size_t o = 0;
        int r;

        if (!len)
                return -EINVAL;
        r = str_info(p, obj, hb, sizeof(hb), &si);
        if (r < 0)
                return r;
        n = si.length;
        /* At most len-1 characters are ever needed (each is >= 1 byte). */
        take = n < len - 1 ? n : len - 1;
        d = pyo_array(p, PYO_SLOT_STR, si.data, take * si.kind);
        if (!d && take)
                return -EFAULT;
        for (uint64_t i = 0; i < take; i++) {
                uint32_t c;
                char tmp[4];
                size_t k;

                if (si.kind == 1)
                        c = d[i];
                else if (si.kind == 2)
                        c = (uint32_t)d[2 * i] | (uint32_t)d[2 * i + 1] << 8;
                else
                        c = ld32(d, (uint32_t)(4 * i));
                /* a NUL would end the C string early, a lone surrogate or a
                 * torn wide char is no UTF-8: U+FFFD for either */
                k = utf8_encode(c ? c : UTF8_REPLACEMENT, tmp);
                if (o + k > len - 1) {
                        take = i;
                        break;
                }
                memcpy(buf + o, tmp, k);
                o += k;
        }
        buf[o] = '\0';
        if (ret_full)
                *ret_full = take == n;
        return 0;
}

int pyo_str_sizeof_check(struct pyo *p, uint64_t obj, uint64_t *ret, int *ret_bad,
                         uint64_t *ret_val)
{
        const struct layout *l = p->l;
        uint8_t hb[128], nul[4];
        struct strinfo si;
        const uint8_t *t;
        uint64_t size;
        int r;

        *ret_bad = PYO_STR_OK;
        r = str_info(p, obj, hb, sizeof(hb), &si);
        if (r < 0) {
                *ret_bad = r == -EBADMSG ? si.bad : PYO_STR_OK;
                *ret_val = si.bad == PYO_STR_KIND ? si.kind : si.length;
                return r;
        }
        /* CPython keeps a NUL after the last character of every ready str
         * (PyUnicode_AsUTF8 hands out compact ASCII data as a C string):
         * a length that does not end there is not the object's.  Short
         * strings end inside the header's block, already at hand. */
        if (si.data) {
                t = pyo_view(p, si.data + si.length * si.kind, si.kind, nul);
                if (!t || (si.kind == 1 ? t[0] : si.kind == 2 ? (t[0] | t[1]) : ld32(t, 0))) {
                        *ret_bad = PYO_STR_LENGTH;
                        *ret_val = si.length;
                        return -EBADMSG;
                }
        }
        if (si.compact && si.ascii)
                size = lsz(l, LS_ASCII) + si.length + 1;
        else if (si.compact)
                size = lsz(l, LS_COMPACTUNI) + (si.length + 1) * si.kind;
        else
                size = lsz(l, LS_UNICODE) + (si.data ? (si.length + 1) * si.kind : 0);
        /* A separate UTF-8 buffer counts; compact ASCII shares its data. */
        if (!(si.compact && si.ascii) && lhas(l, LF_COMPACTUNI_UTF8) &&
            lhas(l, LF_COMPACTUNI_UTF8_LENGTH) &&
            lo(l, LF_COMPACTUNI_UTF8) + 8 <= lsz(l, LS_COMPACTUNI)) {
                uint64_t u8 = ld64(si.hdr, lo(l, LF_COMPACTUNI_UTF8));

                if (u8 && u8 != si.data)
                        size += ld64(si.hdr, lo(l, LF_COMPACTUNI_UTF8_LENGTH)) + 1;
        }
        /* <=3.11: a separate wchar_t buffer (4 bytes each on Linux). */
        if (lhas(l, LF_ASCII_WSTR)) {
                uint64_t w = ld64(si.hdr, lo(l, LF_ASCII_WSTR));

                if (w && w != si.data) {
                        uint64_t wl = si.length;

                        if (!si.ascii && lhas(l, LF_COMPACTUNI_WSTR_LENGTH) &&
                            lo(l, LF_COMPACTUNI_WSTR_LENGTH) + 8 <= lsz(l, LS_COMPACTUNI))
                                wl = ld64(si.hdr, lo(l, LF_COMPACTUNI_WSTR_LENGTH));
                        size += (wl + 1) * 4;
                }
        }
        *ret = size;
        return 0;
}

int pyo_str_sizeof(struct pyo *p, uint64_t obj, uint64_t *ret)
{
        uint64_t val;
        int bad;

        return pyo_str_sizeof_check(p, obj, ret, &bad, &val);
}

/* Digit count and sign of an int: <=3.11 from the signed ob_size, 3.12+
 * from lv_tag (ndigits << 3 | sign, sign 0 +, 1 zero, 2 -). */
static int long_shape(struct pyo *p, uint64_t obj, uint64_t *ndigits, int *sign)
{
        const struct layout *l = p->l;
        uint64_t w;

        if (lhas(l, LF_LONG_TAG)) {
                if (pyo_u64(p, obj + lo(l, LF_LONG_TAG), &w) < 0)
                        return -EFAULT;
                *ndigits = w >> 3;
                *sign = (w & 3) == 2 ? -1 : (w & 3) == 1 ? 0 : 1;
        } else {
                int64_t s;

                if (!lhas(l, LF_VAROBJECT_SIZE) ||
                    pyo_u64(p, obj + lo(l, LF_VAROBJECT_SIZE), &w) < 0)
                        return -EFAULT;
                s = (int64_t)w;
                *sign = s < 0 ? -1 : s > 0;
                *ndigits = s < 0 ? (uint64_t)-s : (uint64_t)s;
        }
        if (*ndigits > ((uint64_t)1 << 40))
                return -EBADMSG;
        return 0;
}

int pyo_long(struct pyo *p, uint64_t obj, int64_t *ret)
{
        uint64_t nd, v = 0;
        uint32_t dg[3];
        const void *d;
        int sign, r;

        r = long_shape(p, obj, &nd, &sign);
        if (r < 0)
                return r;
        if (sign == 0 || nd == 0) {
                *ret = 0;
                return 0;
        }
        if (nd > 3 || !lhas(p->l, LF_LONG_DIGIT))
                return -ERANGE;
        d = pyo_view(p, obj + lo(p->l, LF_LONG_DIGIT), nd * 4, dg);
        if (!d)
                return -EFAULT;
        for (uint64_t i = nd; i-- > 0;) {
                uint32_t digit = ld32(d, (uint32_t)(4 * i)) & 0x3fffffff;

                if (v >> 33)
                        return -ERANGE;
                v = (v << 30) | digit;
        }
        if (v > (uint64_t)INT64_MAX)
                return -ERANGE;
        *ret = sign < 0 ? -(int64_t)v : (int64_t)v;
        return 0;
}

int pyo_long_sizeof(struct pyo *p, uint64_t obj, uint64_t basicsize, uint64_t *ret)
{
        uint64_t nd;
        int sign, r;

        r = long_shape(p, obj, &nd, &sign);
        if (r < 0)
                return r;
        /* 3.11+ count at least one digit even for zero. */
        if (p->l->facts.long_zero_has_digit && nd < 1)
                nd = 1;
        *ret = basicsize + 4 * nd;
        return 0;
}

int pyo_keys(struct pyo *p, uint64_t keys, struct pyo_keys *k)
{
        const struct layout *l = p->l;
        uint8_t b[64];
        const void *v;
        uint32_t hsz = lsz(l, LS_DICTKEYS);

        memset(k, 0, sizeof(*k));
        k->addr = keys;
        if (!hsz || hsz > sizeof(b) || !lhas(l, LF_DICTKEYS_NENTRIES) ||
            !lhas(l, LF_DICTKEYS_USABLE) || !lhas(l, LF_DICTKEYS_INDICES))
                return -EOPNOTSUPP;
        v = pyo_view(p, keys, hsz, b);
        if (!v)
                return -EFAULT;
        k->refcnt = (int64_t)ld64(v, lo(l, LF_DICTKEYS_REFCNT));
        k->usable = ld64(v, lo(l, LF_DICTKEYS_USABLE));
        k->nentries = ld64(v, lo(l, LF_DICTKEYS_NENTRIES));
        if (lhas(l, LF_DICTKEYS_SIZE)) {
                /* <=3.10: index width follows dk_size; entries are always
                 * the 24-byte PyDictKeyEntry. */
                uint64_t w;

                k->size = ld64(v, lo(l, LF_DICTKEYS_SIZE));
                if (!k->size || (k->size & (k->size - 1)) || k->size > ((uint64_t)1 << 32))
                        return -EBADMSG;
                w = k->size <= 0xff ? 1 : k->size <= 0xffff ? 2 : 4;
                k->entries = keys + lo(l, LF_DICTKEYS_INDICES) + k->size * w;
                k->entry_size = lsz(l, LS_DICTKEYENTRY);
                k->kind = -1;
                if (lhas(l, LF_DICTKEYS_LOOKUP))
                        k->lookup = ld64(v, lo(l, LF_DICTKEYS_LOOKUP));
                k->bytes = hsz + w * k->size + k->entry_size * ((2 * k->size) / 3);
        } else if (lhas(l, LF_DICTKEYS_LOG2_SIZE) && lhas(l, LF_DICTKEYS_LOG2_INDEX_BYTES) &&
                   lhas(l, LF_DICTKEYS_KIND)) {
                unsigned ls = ld8(v, lo(l, LF_DICTKEYS_LOG2_SIZE));
                unsigned lib = ld8(v, lo(l, LF_DICTKEYS_LOG2_INDEX_BYTES));

                if (ls > 32 || lib > 35 || lib < ls)
                        return -EBADMSG;
                k->size = (uint64_t)1 << ls;
                k->kind = ld8(v, lo(l, LF_DICTKEYS_KIND));
                if (k->kind > 2)
                        return -EBADMSG;
                k->entry_size = k->kind == 0 ? lsz(l, LS_DICTKEYENTRY) : lsz(l, LS_DICTUNIENTRY);
                k->entries = keys + lo(l, LF_DICTKEYS_INDICES) + ((uint64_t)1 << lib);
                k->bytes = hsz + ((uint64_t)1 << lib) + k->entry_size * ((2 * k->size) / 3);
        } else {
                return -EOPNOTSUPP;
        }
        if (!k->entry_size || k->nentries > k->size || k->usable > k->size)
                return -EBADMSG;
        return 0;
}

int pyo_dict_get_str(struct pyo *p, uint64_t dict, const char *key, uint64_t *ret)
{
        const struct layout *l = p->l;
        struct pyo_keys k;
        uint64_t kaddr, values, b[8];
        const uint8_t *ents;
        const void *dv;
        uint32_t koff, voff;
        size_t klen = strlen(key);
        int r;

        *ret = 0;
        if (lsz(l, LS_DICT) > sizeof(b) || !lhas(l, LF_DICT_KEYS) || !lhas(l, LF_DICT_VALUES))
                return -EOPNOTSUPP;
        dv = pyo_view(p, dict, lsz(l, LS_DICT), b);
        if (!dv)
                return -EFAULT;
        kaddr = ld64(dv, lo(l, LF_DICT_KEYS));
        values = ld64(dv, lo(l, LF_DICT_VALUES));
        r = pyo_keys(p, kaddr, &k);
        if (r < 0)
                return r;
        if (k.nentries > 4096)
                return -E2BIG;
        if (k.entry_size == lsz(l, LS_DICTUNIENTRY) && k.kind > 0) {
                koff = lo(l, LF_DICTUNIENTRY_KEY);
                voff = lo(l, LF_DICTUNIENTRY_VALUE);
        } else {
                koff = lo(l, LF_DICTKEYENTRY_KEY);
                voff = lo(l, LF_DICTKEYENTRY_VALUE);
        }
        /* not slot 0: a decoder holding its items there is what calls
         * this, through the type of a referent (pyobj.h) */
        ents = pyo_array(p, PYO_SLOT_DICT_GET, k.entries, k.nentries * k.entry_size);
        if (!ents)
                return -EFAULT;
        for (uint64_t i = 0; i < k.nentries; i++) {
                uint64_t ko = ld64(ents, (uint32_t)(i * k.entry_size + koff));
                char buf[64];
                bool full;

                if (!ko || pyo_str(p, ko, buf, klen + 2 < sizeof(buf) ? klen + 2 : sizeof(buf), &full) < 0)
                        continue;
                if (!full || strcmp(buf, key))
                        continue;
                if (values) {
                        uint32_t vo = lhas(l, LF_DICTVALUES_VALUES) ? lo(l, LF_DICTVALUES_VALUES) : 0;

                        return pyo_u64(p, values + vo + 8 * i, ret);
                }
                *ret = ld64(ents, (uint32_t)(i * k.entry_size + voff));
                return 0;
        }
        return 0;
}

int pyo_str_chars(struct pyo *p, uint64_t obj, uint32_t *out, size_t max, uint64_t *ret_len)
{
        uint8_t hb[128];
        struct strinfo si;
        uint64_t take;
        const uint8_t *d;
        int r;

        r = str_info(p, obj, hb, sizeof(hb), &si);
        if (r < 0)
                return r;
        take = si.length < max ? si.length : max;
        d = pyo_array(p, PYO_SLOT_STR, si.data, take * si.kind);
        if (!d && take)
                return -EFAULT;
        for (uint64_t i = 0; i < take; i++) {
                if (si.kind == 1)
                        out[i] = d[i];
                else if (si.kind == 2)
                        out[i] = (uint32_t)d[2 * i] | (uint32_t)d[2 * i + 1] << 8;
                else
                        out[i] = ld32(d, (uint32_t)(4 * i));
                /* an "ASCII" string holding a high byte is garbage */
                if (si.ascii && out[i] > 0x7f)
                        return -EBADMSG;
        }
        *ret_len = si.length;
        return (int)take;
}

int pyo_bytes(struct pyo *p, uint64_t obj, uint8_t *buf, size_t max, uint64_t *ret_len)
{
        const struct layout *l = p->l;
        uint64_t n;
        const void *d;
        size_t take;

        if (!lhas(l, LF_BYTES_SVAL) || !lhas(l, LF_VAROBJECT_SIZE))
                return -EOPNOTSUPP;
        if (pyo_u64(p, obj + lo(l, LF_VAROBJECT_SIZE), &n) < 0)
                return -EFAULT;
        if (n > MAX_STR_LEN)
                return -EBADMSG;
        take = n < max ? (size_t)n : max;
        d = pyo_view(p, obj + lo(l, LF_BYTES_SVAL), take, buf);
        if (!d && take)
                return -EFAULT;
        if (d != buf && take)
                memcpy(buf, d, take);
        *ret_len = n;
        return (int)take;
}

int pyo_float(struct pyo *p, uint64_t obj, double *ret)
{
        uint64_t u;

        if (!lhas(p->l, LF_FLOAT_FVAL))
                return -EOPNOTSUPP;
        if (pyo_u64(p, obj + lo(p->l, LF_FLOAT_FVAL), &u) < 0)
                return -EFAULT;
        memcpy(ret, &u, sizeof(*ret));
        return 0;
}

int pyo_long_digits(struct pyo *p, uint64_t obj, uint32_t *digits, size_t max,
                    uint64_t *ret_nd, int *ret_sign)
{
        uint64_t nd;
        size_t take;
        const void *d;
        int sign, r;

        r = long_shape(p, obj, &nd, &sign);
        if (r < 0)
                return r;
        if (sign == 0)
                nd = 0;
        *ret_nd = nd;
        *ret_sign = sign;
        take = nd < max ? (size_t)nd : max;
        if (!take)
                return 0;
        if (!lhas(p->l, LF_LONG_DIGIT))
                return -EOPNOTSUPP;
        d = pyo_view(p, obj + lo(p->l, LF_LONG_DIGIT), take * 4, digits);
        if (!d)
                return -EFAULT;
        for (size_t i = 0; i < take; i++)
                digits[i] = ld32(d, (uint32_t)(4 * i)) & 0x3fffffff;
        return (int)take;
}
