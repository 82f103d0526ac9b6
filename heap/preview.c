/* preview: short value previews recorded while the walker reads objects
 * (decode.h: preview_record; the model side is heap_preview()).
 *
 * Each object is previewed from the bytes the walker is reading anyway, at
 * most a few small reads more: the first PV_STR_CHARS code points of a str,
 * PV_BYTES_MAX bytes of a bytes object, at most PV_INT_DIGITS digits of an
 * int, one word for container lengths.  Texts follow repr() where it is
 * cheap to (quotes, escapes, float digits), so what the browser shows and
 * what a search matches is what Python would print.  Target memory is
 * hostile: every length is bounded here or in pyobj.c, and anything odd
 * records no preview instead of a wrong one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "pyinterp.h"
#include "utf8.h"

#define PV_STR_CHARS  80      /* code points shown of a str */
#define PV_BYTES_MAX  40      /* bytes shown of a bytes object */
#define PV_INT_DIGITS 64      /* 30-bit digits converted to count decimals */
#define PV_MAX_LEN    ((uint64_t)1 << 40)  /* larger lengths are garbage */

enum pv_kind {
        PV_UNKNOWN = 0,
        PV_BY_TYPE = PV_UNKNOWN, /* decode-table.h: decided by the type */
        PV_NONE,         /* nothing to show (None is checked by address) */
        PV_STR,
        PV_BYTES,
        PV_INT,
        PV_BOOL,
        PV_FLOAT,
        PV_LEN_VAR,      /* list, tuple, deque: ob_size */
        PV_LEN_DICT,     /* ma_used */
        PV_LEN_SET,      /* used */
        PV_FUNC,
        PV_CODE,
        PV_MODULE,
        PV_TYPE,
};

/* Appends to a bounded output, always NUL-terminated; `full` remembers
 * that something did not fit. */
struct out {
        char *buf;
        size_t len, cap;
        bool full;
};

static void out_put(struct out *o, const char *s, size_t n)
{
        if (o->len + n >= o->cap) {
                o->full = true;
                return;
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
        o->buf[o->len] = '\0';
}

static void out_str(struct out *o, const char *s)
{
        out_put(o, s, strlen(s));
}

/* A name read from the target (tp_name bytes, a str cut short): invalid
 * UTF-8 becomes U+FFFD so the preview is valid text whatever the bytes. */
static void out_name(struct out *o, const char *s)
{
        char clean[HEAP_PREVIEW_MAX + 1];

        if (utf8_valid(s, strlen(s))) {
                out_str(o, s);
                return;
        }
        utf8_sanitize(clean, sizeof(clean), s, NULL);
        out_str(o, clean);
}

/* Decimal digits without snprintf: ints and lengths are most previews,
 * and formatting them dominated the cost of recording. */
static void out_u64(struct out *o, const char *prefix, size_t pl, bool neg, uint64_t v)
{
        size_t nd = 1, n;
        char *p;

        for (uint64_t x = v; x >= 10; x /= 10)
                nd++;
        n = pl + neg + nd;
        if (o->len + n >= o->cap) {
                o->full = true;
                return;
        }
        p = o->buf + o->len;
        for (size_t i = 0; i < pl; i++)
                *p++ = prefix[i];
        if (neg)
                *p++ = '-';
        p += nd;
        *p = '\0';
        do {
                *--p = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        o->len += n;
}

/* str.isprintable() without the Unicode database: the control, format,
 * separator, surrogate and private-use ranges repr() escapes.  Unassigned
 * code points (Cn) are shown as they are. */
static bool uni_printable(uint32_t c)
{
        static const uint32_t np[][2] = {
                {0x0, 0x1f}, {0x7f, 0xa0}, {0xad, 0xad}, {0x600, 0x605}, {0x61c, 0x61c},
                {0x6dd, 0x6dd}, {0x70f, 0x70f}, {0x890, 0x891}, {0x8e2, 0x8e2},
                {0x1680, 0x1680}, {0x180e, 0x180e}, {0x2000, 0x200f}, {0x2028, 0x202f},
                {0x205f, 0x2064}, {0x2066, 0x206f}, {0x3000, 0x3000}, {0xd800, 0xf8ff},
                {0xfeff, 0xfeff}, {0xfff9, 0xfffb}, {0x110bd, 0x110bd}, {0x110cd, 0x110cd},
                {0x13430, 0x1343f}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a},
                {0xe0001, 0xe0001}, {0xe0020, 0xe007f}, {0xf0000, 0xffffffff},
                /* unassigned planes 4-13 and the tail of plane 14 */
                {0x40000, 0xdffff}, {0xe0080, 0xe00ff}, {0xe01f0, 0xeffff},
        };

        if (c >= 0x20 && c < 0x7f)
                return true;
        if ((c & 0xfffe) == 0xfffe)     /* noncharacters U+xFFFE/xFFFF */
                return false;
        for (size_t i = 0; i < sizeof(np) / sizeof(np[0]); i++)
                if (c >= np[i][0] && c <= np[i][1])
                        return false;
        return true;
}

/* One character of a str or bytes literal, escaped as repr() does. */
static void put_char(struct out *o, uint32_t c, char quote, bool bytes)
{
        char tmp[16];
        size_t n;

        if (c == (uint32_t)quote || c == '\\') {
                tmp[0] = '\\';
                tmp[1] = (char)c;
                n = 2;
        } else if (c == '\t' || c == '\n' || c == '\r') {
                tmp[0] = '\\';
                tmp[1] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
                n = 2;
        } else if (c < 0x20 || c == 0x7f || (bytes && c > 0x7f) ||
                   (!bytes && c > 0x7f && !uni_printable(c))) {
                n = (size_t)snprintf(tmp, sizeof(tmp), c <= 0xff ? "\\x%02x" :
                                     c <= 0xffff ? "\\u%04x" : "\\U%08x", c);
        } else {
                n = utf8_encode(c, tmp);
        }
        out_put(o, tmp, n);
}

/* repr()'s choice: single quotes unless the text has ' and no ". */
static char pick_quote(const uint32_t *s, size_t n)
{
        bool sq = false, dq = false;

        for (size_t i = 0; i < n; i++) {
                sq |= s[i] == '\'';
                dq |= s[i] == '"';
        }
        return sq && !dq ? '"' : '\'';
}

/* 'text' or, cut short, 'text'... (len N); the prefix keeps room for the
 * tail so a long escape cannot push it out. */
static void fmt_text(struct out *o, const uint32_t *s, size_t n, uint64_t total, bool bytes)
{
        char quote = pick_quote(s, n), tail[48];
        size_t room = o->cap > sizeof(tail) ? o->cap - sizeof(tail) : 0;
        struct out pre = { .buf = o->buf, .len = o->len, .cap = room };
        size_t i;

        if (bytes)
                out_put(&pre, "b", 1);
        out_put(&pre, &quote, 1);
        for (i = 0; i < n && !pre.full; i++) {
                size_t before = pre.len;

                put_char(&pre, s[i], quote, bytes);
                if (pre.full) {
                        pre.len = before;
                        pre.buf[before] = '\0';
                        break;
                }
        }
        o->len = pre.len;
        out_put(o, &quote, 1);
        if (i < total) {
                snprintf(tail, sizeof(tail), "... (len %" PRIu64 ")", total);
                out_str(o, tail);
        }
}

/* Decimal text of a magnitude given as 30-bit digits (least significant
 * first), CPython's long_to_decimal_string in base 10^9. */
static int digits_decimal(const uint32_t *dg, size_t nd, uint64_t *ret_ndec)
{
        uint32_t pout[PV_INT_DIGITS * 4 / 3 + 2];
        size_t size = 0;

        for (size_t i = nd; i-- > 0;) {
                uint64_t hi = dg[i];

                for (size_t j = 0; j < size; j++) {
                        uint64_t z = (uint64_t)pout[j] << 30 | hi;

                        hi = z / 1000000000u;
                        pout[j] = (uint32_t)(z - hi * 1000000000u);
                }
                while (hi) {
                        if (size >= sizeof(pout) / sizeof(pout[0]))
                                return -ERANGE;
                        pout[size++] = (uint32_t)(hi % 1000000000u);
                        hi /= 1000000000u;
                }
        }
        if (!size) {
                *ret_ndec = 1;
                return 0;
        }
        *ret_ndec = 9 * (size - 1);
        for (uint32_t top = pout[size - 1]; top; top /= 10)
                (*ret_ndec)++;
        return 0;
}

/* A word of the object's header copy, if it holds it. */
static bool head_word(const struct objhdr *oh, const struct layout *l, enum layout_field_id f,
                      uint64_t *ret)
{
        if (!lhas(l, f) || lo(l, f) + 8 > oh->nhead)
                return false;
        *ret = ld64(oh->head, lo(l, f));
        return true;
}

/* Small ints from the header copy: shape word and up to two digits are
 * there for most ints, which are the bulk of all previews. */
static bool int_from_head(const struct walker *w, const struct objhdr *oh, uint32_t *dg,
                          uint64_t *ret_nd, int *ret_sign)
{
        const struct layout *l = w->l;
        uint64_t word, nd;
        int sign;

        if (head_word(oh, l, LF_LONG_TAG, &word)) {
                nd = word >> 3;
                sign = (word & 3) == 2 ? -1 : (word & 3) == 1 ? 0 : 1;
        } else if (!lhas(l, LF_LONG_TAG) && head_word(oh, l, LF_VAROBJECT_SIZE, &word)) {
                int64_t sz = (int64_t)word;

                sign = sz < 0 ? -1 : sz > 0;
                nd = sz < 0 ? (uint64_t)-sz : (uint64_t)sz;
        } else {
                return false;
        }
        if (sign == 0)
                nd = 0;
        if (nd > 2 || !lhas(l, LF_LONG_DIGIT) || lo(l, LF_LONG_DIGIT) + 4 * nd > oh->nhead)
                return false;
        for (uint64_t i = 0; i < nd; i++)
                dg[i] = ld32(oh->head, lo(l, LF_LONG_DIGIT) + 4 * (uint32_t)i) & 0x3fffffff;
        *ret_nd = nd;
        *ret_sign = sign;
        return true;
}

static int fmt_int(struct walker *w, uint64_t obj, const struct objhdr *oh, bool is_bool,
                   struct out *o)
{
        uint32_t dg[PV_INT_DIGITS];
        uint64_t nd, v = 0, ndec;
        int sign, n;
        char tmp[64];

        if (!int_from_head(w, oh, dg, &nd, &sign)) {
                n = pyo_long_digits(&w->p, obj, dg, PV_INT_DIGITS, &nd, &sign);
                if (n < 0)
                        return n;
        }
        if (is_bool) {
                if (nd > 1 || sign < 0)
                        return -EBADMSG;
                out_str(o, nd && dg[0] ? "True" : "False");
                return 0;
        }
        /* up to 64 bits: at most three digits with the top one < 2^4 */
        if (nd <= 2 || (nd == 3 && dg[2] < 16)) {
                for (uint64_t i = nd; i-- > 0;)
                        v = v << 30 | dg[i];
                out_u64(o, "", 0, sign < 0, v);
                return 0;
        } else if (nd <= PV_INT_DIGITS && digits_decimal(dg, (size_t)nd, &ndec) == 0) {
                snprintf(tmp, sizeof(tmp), "int (%" PRIu64 " digits)", ndec);
        } else {
                /* too big to convert here: log10(2^30) = 9.03 per digit */
                snprintf(tmp, sizeof(tmp), "int (~%" PRIu64 " digits)", nd * 903 / 100);
        }
        out_str(o, tmp);
        return 0;
}

/* repr(float): the shortest digits that read back as the same double,
 * fixed notation for 1e-4 <= |x| < 1e16, else exponent (float_repr_style
 * 'short'). */
static void fmt_float(double x, struct out *o)
{
        char tmp[64], digits[32], res[64];
        int prec, exp, nd = 0;
        const char *e;

        if (x != x) {
                out_str(o, "nan");
                return;
        }
        if (x == __builtin_inf() || x == -__builtin_inf()) {
                out_str(o, x > 0 ? "inf" : "-inf");
                return;
        }
        for (prec = 1; prec <= 17; prec++) {
                snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, x);
                if (strtod(tmp, NULL) == x)
                        break;
        }
        /* tmp: [-]d[.ddd]e[+-]XX */
        e = strchr(tmp, 'e');
        if (!e) {
                out_str(o, tmp);
                return;
        }
        exp = atoi(e + 1);
        for (const char *c = tmp; c < e; c++)
                if (*c >= '0' && *c <= '9' && nd < (int)sizeof(digits) - 1)
                        digits[nd++] = *c;
        digits[nd] = '\0';
        while (nd > 1 && digits[nd - 1] == '0')
                digits[--nd] = '\0';
        size_t r = 0;
        if (tmp[0] == '-')
                res[r++] = '-';
        if (exp >= -4 && exp < 16) {
                int decpt = exp + 1;

                if (decpt <= 0) {
                        res[r++] = '0';
                        res[r++] = '.';
                        for (int i = 0; i < -decpt; i++)
                                res[r++] = '0';
                        for (int i = 0; i < nd; i++)
                                res[r++] = digits[i];
                } else {
                        for (int i = 0; i < decpt; i++)
                                res[r++] = i < nd ? digits[i] : '0';
                        res[r++] = '.';
                        if (decpt >= nd)
                                res[r++] = '0';
                        for (int i = decpt; i < nd; i++)
                                res[r++] = digits[i];
                }
                res[r] = '\0';
        } else {
                res[r++] = digits[0];
                if (nd > 1) {
                        res[r++] = '.';
                        for (int i = 1; i < nd; i++)
                                res[r++] = digits[i];
                }
                snprintf(res + r, sizeof(res) - r, "e%c%02d", exp < 0 ? '-' : '+',
                         exp < 0 ? -exp : exp);
        }
        out_str(o, res);
}

static int read_len(struct walker *w, uint64_t obj, const struct objhdr *oh,
                    enum layout_field_id f, struct out *o)
{
        uint64_t n;

        if (!lhas(w->l, f))
                return -EOPNOTSUPP;
        if (!head_word(oh, w->l, f, &n) && pyo_u64(&w->p, obj + lo(w->l, f), &n) < 0)
                return -EFAULT;
        if (n > PV_MAX_LEN)
                return -EBADMSG;
        out_u64(o, "len ", 4, false, n);
        return 0;
}

/* A str field as plain text (no quotes), for names and file names. */
static int str_field(struct walker *w, uint64_t obj, enum layout_field_id f, char *buf,
                     size_t len)
{
        uint64_t s;
        bool full;

        if (!lhas(w->l, f) || pyo_u64(&w->p, obj + lo(w->l, f), &s) < 0 || !s)
                return -ENOENT;
        return pyo_str(&w->p, s, buf, len, &full);
}

/* "name (file:line)" of a code object */
static int fmt_code(struct walker *w, uint64_t code, const char *name, struct out *o)
{
        char nm[128], file[160], tmp[48];
        uint8_t lb[4];
        const void *lv;

        if (!name) {
                if (str_field(w, code, LF_CODE_QUALNAME, nm, sizeof(nm)) < 0 &&
                    str_field(w, code, LF_CODE_NAME, nm, sizeof(nm)) < 0)
                        return -EBADMSG;
                name = nm;
        }
        out_name(o, name);
        if (str_field(w, code, LF_CODE_FILENAME, file, sizeof(file)) < 0)
                return 0;
        out_str(o, " (");
        out_name(o, file);
        if (lhas(w->l, LF_CODE_FIRSTLINENO) &&
            (lv = pyo_view(&w->p, code + lo(w->l, LF_CODE_FIRSTLINENO), 4, lb))) {
                snprintf(tmp, sizeof(tmp), ":%d", (int32_t)ld32(lv, 0));
                out_str(o, tmp);
        }
        out_str(o, ")");
        return 0;
}

static int fmt_func(struct walker *w, uint64_t obj, struct out *o)
{
        char nm[128];
        uint64_t code = 0;

        if (str_field(w, obj, LF_FUNC_QUALNAME, nm, sizeof(nm)) < 0 &&
            str_field(w, obj, LF_FUNC_NAME, nm, sizeof(nm)) < 0)
                return -EBADMSG;
        if (!lhas(w->l, LF_FUNC_CODE) || pyo_u64(&w->p, obj + lo(w->l, LF_FUNC_CODE), &code) < 0 ||
            !code) {
                out_name(o, nm);
                return 0;
        }
        return fmt_code(w, code, nm, o);
}

static int fmt_module(struct walker *w, uint64_t obj, struct out *o)
{
        char nm[160];
        uint64_t dict = 0, s = 0;
        bool full;

        /* repr() names the module by __dict__['__name__'], which code may
         * reassign (collections.abc); it is the dict's first entry, so the
         * linear lookup is short.  md_name is the fallback. */
        if (!lhas(w->l, LF_MODULE_DICT) ||
            pyo_u64(&w->p, obj + lo(w->l, LF_MODULE_DICT), &dict) < 0 || !dict ||
            pyo_dict_get_str(&w->p, dict, "__name__", &s) < 0 || !s ||
            pyo_str(&w->p, s, nm, sizeof(nm), &full) < 0) {
                if (str_field(w, obj, LF_MODULE_NAME, nm, sizeof(nm)) < 0)
                        return -EBADMSG;
        }
        out_str(o, "module '");
        out_name(o, nm);
        out_str(o, "'");
        return 0;
}

/* The PREVIEW column of decode-table.h (0 for the kinds without a row). */
static const uint8_t pv_kinds[DK__COUNT] = {
#define PV_OF(id, dec, size, pv, ...) [DK_##id] = PV_##pv,
        DECODE_KINDS(PV_OF)
#undef PV_OF
};

static enum pv_kind kind_of(struct walker *w, const struct tinfo *t)
{
        const uint64_t *sym = w->pi->sym;
        enum dkind k = (enum dkind)t->kind;
        enum pv_kind pv;

        if (t->is_metatype)
                return PV_TYPE;
        if (k == DK_INSTANCE)
                k = (enum dkind)t->base_kind;
        pv = (unsigned)k < DK__COUNT ? (enum pv_kind)pv_kinds[k] : PV_BY_TYPE;
        /* an instance of a Python subclass shows its C base's length, not
         * what only the exact type has (a function's or module's name) */
        if ((pv == PV_FUNC || pv == PV_MODULE) && t->kind != k)
                return PV_NONE;
        if (pv != PV_BY_TYPE)
                return pv;
        if (sym[PYSYM_CODE_TYPE] && t->addr == sym[PYSYM_CODE_TYPE])
                return PV_CODE;
        if (sym[PYSYM_BOOL_TYPE] && t->addr == sym[PYSYM_BOOL_TYPE])
                return PV_BOOL;
        if (t->size_kind == SK_STR)
                return PV_STR;
        if (t->size_kind == SK_INT)
                return PV_INT;
        if ((t->flags & TPF_BYTES_SUBCLASS) ||
            (sym[PYSYM_BYTES_TYPE] && t->addr == sym[PYSYM_BYTES_TYPE]))
                return PV_BYTES;
        if (sym[PYSYM_FLOAT_TYPE] && t->addr == sym[PYSYM_FLOAT_TYPE])
                return PV_FLOAT;
        return PV_NONE;
}

int preview_record(struct walker *w, uint32_t idx, uint64_t obj, const struct objhdr *oh)
{
        struct tinfo *t = oh->t;
        char buf[HEAP_PREVIEW_MAX + 1];
        struct out o = { .buf = buf, .cap = sizeof(buf) };
        int r = -EBADMSG;

        if (!t || w->no_previews)
                return 0;
        if (!t->pv_kind)
                t->pv_kind = (uint8_t)kind_of(w, t);
        if (w->str_previews_only && t->pv_kind != PV_STR)
                return 0;
        /* None's type has no symbol of its own: None is known by address */
        if (t->pv_kind == PV_NONE && (!obj || obj != w->pi->sym[PYSYM_NONE]))
                return 0;
        buf[0] = '\0';
        switch ((enum pv_kind)t->pv_kind) {
        case PV_NONE:
                out_str(&o, "None");
                r = 0;
                break;
        case PV_STR: {
                uint32_t cp[PV_STR_CHARS];
                uint64_t total;
                int n = pyo_str_chars(&w->p, obj, cp, PV_STR_CHARS, &total);

                if (n >= 0) {
                        fmt_text(&o, cp, (size_t)n, total, false);
                        r = 0;
                }
                break;
        }
        case PV_BYTES: {
                uint8_t b[PV_BYTES_MAX];
                uint32_t cp[PV_BYTES_MAX];
                uint64_t total;
                int n = pyo_bytes(&w->p, obj, b, PV_BYTES_MAX, &total);

                for (int i = 0; i < n; i++)
                        cp[i] = b[i];
                if (n >= 0) {
                        fmt_text(&o, cp, (size_t)n, total, true);
                        r = 0;
                }
                break;
        }
        case PV_INT:
        case PV_BOOL:
                r = fmt_int(w, obj, oh, t->pv_kind == PV_BOOL, &o);
                break;
        case PV_FLOAT: {
                double x;

                r = pyo_float(&w->p, obj, &x);
                if (r == 0)
                        fmt_float(x, &o);
                break;
        }
        case PV_LEN_VAR:
                r = read_len(w, obj, oh, LF_VAROBJECT_SIZE, &o);
                break;
        case PV_LEN_DICT:
                r = read_len(w, obj, oh, LF_DICT_USED, &o);
                break;
        case PV_LEN_SET:
                r = read_len(w, obj, oh, LF_SET_USED, &o);
                break;
        case PV_FUNC:
                r = fmt_func(w, obj, &o);
                break;
        case PV_CODE:
                r = fmt_code(w, obj, NULL, &o);
                break;
        case PV_MODULE:
                r = fmt_module(w, obj, &o);
                break;
        case PV_TYPE: {
                char nm[HEAP_PREVIEW_MAX - 16];

                r = type_display_name(w, obj, nm, sizeof(nm));
                if (r == 0) {
                        out_str(&o, "class '");
                        out_name(&o, nm);
                        out_str(&o, "'");
                }
                break;
        }
        default:
                return 0;
        }
        if (r < 0 || !o.len)
                return 0;
        r = heap_set_preview_n(w->h, idx, buf, o.len);
        return r == -ENOMEM ? r : 0;
}
