#include "pool.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "browser.h"
#include "fmt.h"
#include "growth.h"
#include "heap.h"
#include "proctree.h"
#include "progress.h"
#include "report.h"
#include "session.h"
#include "suspects.h"

#define POOL_TOP_SUSPECTS 3
#define DEFAULT_DUMP_NAME "pyleak-attach-%p.db"

enum metric { M_RSS, M_OBJECTS, M_GROWTH, M__COUNT };

static const char *const metric_name[M__COUNT] = {"rss", "objects", "growth_objects"};

struct worker_suspect {
        char owner[256], path[512];
        uint64_t retained, objects;
};

struct worker {
        pid_t pid;
        void *src;
        char version[32];
        int code;                       /* EXIT_* */
        char error[DIAG_MSG_MAX];       /* a failed worker's message */
        bool rss_known;
        uint64_t rss;
        uint32_t objects;
        uint64_t cycles, garbage;
        double pause_ms;
        uint64_t inconsistencies;
        bool have_growth;
        int64_t growth_objects, growth_retained;
        char baseline[4096];            /* the dump it was compared with */
        char grown_path[512];           /* the owner that grew most */
        int64_t grown_retained;
        struct worker_suspect top[POOL_TOP_SUSPECTS];
        unsigned ntop;
        char dump[4096];
        char *json, *text;              /* the worker's own reports */
        size_t json_len, text_len;
        struct heap *heap;              /* kept for the browser only */
        unsigned diverges;              /* 1 << enum metric */
};

struct pool {
        const struct options *o;
        const struct pool_ops *ops;
        struct worker *w;
        unsigned n;
        double median[M__COUNT];
        bool have_median[M__COUNT];
        struct heap *baseline;          /* --baseline without %p: one for all */
        const char *text_path;          /* --text, or stdout when no output is
                                           chosen (as for one process) */
        bool browse;
};

/* ---- names ------------------------------------------------------------ */

int pool_expand(const char *pattern, pid_t pid, char *buf, size_t len)
{
        size_t o = 0;

        for (const char *p = pattern; *p; p++) {
                char tmp[16];
                const char *add = tmp;

                if (p[0] == '%' && p[1] == 'p') {
                        snprintf(tmp, sizeof(tmp), "%d", (int)pid);
                        p++;
                } else if (p[0] == '%' && p[1] == '%') {
                        tmp[0] = '%', tmp[1] = 0;
                        p++;
                } else {
                        tmp[0] = *p, tmp[1] = 0;
                }
                size_t k = strlen(add);

                if (o + k >= len)
                        return -ENAMETOOLONG;
                memcpy(buf + o, add, k);
                o += k;
        }
        if (!len)
                return -ENAMETOOLONG;
        buf[o] = 0;
        return 0;
}

static bool has_pid_field(const char *s)
{
        for (; *s; s++) {
                if (s[0] == '%' && s[1] == 'p')
                        return true;
                if (s[0] == '%' && s[1] == '%')
                        s++;
        }
        return false;
}

const char *pool_dump_pattern(const char *opt, const char *path)
{
        static char dump[4096], base[4096];
        char *buf = !strcmp(opt, "--dump") ? dump : base;
        size_t n = strlen(path);
        struct stat st;

        if (has_pid_field(path))
                return path;
        if ((n && path[n - 1] == '/') || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
                if (n + sizeof(DEFAULT_DUMP_NAME) + 1 > sizeof(dump))
                        die_usage("%s: the directory name is too long: '%s'", opt, path);
                snprintf(buf, sizeof(dump), "%s%s%s", path, n && path[n - 1] == '/' ? "" : "/",
                         DEFAULT_DUMP_NAME);
                return buf;
        }
        if (buf == dump)
                die_usage("--dump %s names one file, and a pool writes one dump per worker\n"
                          "hint: put %%p (the pid) in the name, e.g. --dump 'pool-%%p.db', or "
                          "give a directory: --dump DIR/", path);
        return path;
}

/* ---- finding the workers ---------------------------------------------- */

static void comm_of(pid_t pid, char *buf, size_t len)
{
        char path[64];
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
        buf[0] = 0;
        f = fopen(path, "re");
        if (f) {
                if (!fgets(buf, (int)len, f))
                        buf[0] = 0;
                fclose(f);
        }
        buf[strcspn(buf, "\n")] = 0;
        if (!buf[0])
                snprintf(buf, len, "?");
}

static bool read_rss(pid_t pid, uint64_t *ret)
{
        char path[64], line[256];
        unsigned long long kb;
        bool ok = false;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return false;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %llu kB", &kb) == 1) {
                        *ret = (uint64_t)kb * 1024;
                        ok = true;
                        break;
                }
        fclose(f);
        return ok;
}

/* ---- comparing -------------------------------------------------------- */

bool pool_diverges(double value, double median, double floor)
{
        return value - median >= floor && (median <= 0 || value > median * POOL_DIVERGE_RATIO);
}

static int by_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

static bool metric_of(const struct worker *w, enum metric m, double *ret)
{
        if (w->code == EXIT_NOTHING)
                return false;
        switch (m) {
        case M_RSS: *ret = (double)w->rss; return w->rss_known;
        case M_OBJECTS: *ret = w->objects; return true;
        case M_GROWTH: *ret = (double)w->growth_objects; return w->have_growth;
        default: return false;
        }
}

static const double metric_floor[M__COUNT] = {
        [M_RSS] = (double)POOL_DIVERGE_RSS, [M_OBJECTS] = POOL_DIVERGE_OBJECTS,
        [M_GROWTH] = POOL_DIVERGE_OBJECTS,
};

static void compare(struct pool *p)
{
        double *v = calloc(p->n ? p->n : 1, sizeof(*v));

        if (!v)
                return;
        for (int m = 0; m < M__COUNT; m++) {
                unsigned k = 0;

                for (unsigned i = 0; i < p->n; i++)
                        if (metric_of(&p->w[i], m, &v[k]))
                                k++;
                /* one worker has nothing to stand out from */
                if (k < 2)
                        continue;
                qsort(v, k, sizeof(*v), by_double);
                p->median[m] = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
                p->have_median[m] = true;
                for (unsigned i = 0; i < p->n; i++) {
                        double x;

                        if (metric_of(&p->w[i], m, &x) &&
                            pool_diverges(x, p->median[m], metric_floor[m]))
                                p->w[i].diverges |= 1u << m;
                }
        }
        free(v);
}

static const char rule_text[] =
        "a worker diverges when its RSS, its tracked objects or its growth since the "
        "baseline exceeds the median of the pool by more than 25% and by at least "
        "16 MiB (RSS) or 10,000 objects";

/* ---- one worker ------------------------------------------------------- */

static void worker_fail(struct worker *w, const struct diag *d, int err, const char *what)
{
        progress_clear();
        w->code = EXIT_NOTHING;
        if (d && d->msg[0])
                snprintf(w->error, sizeof(w->error), "%s", d->msg);
        else
                snprintf(w->error, sizeof(w->error), "%s: %s", what, strerror(-err));
        fprintf(stderr, "pyleak-attach: worker %d: %s\n", (int)w->pid, w->error);
}

/* Renders a report into memory: the pool's writers place it. */
static int render(const struct heap *h, bool json, const struct report_opts *ro, char **buf,
                  size_t *len)
{
        FILE *f = open_memstream(buf, len);
        int r;

        if (!f)
                return -errno;
        r = json ? report_json(h, f, ro) : report_text(h, f, ro);
        if (fclose(f) != 0 && r == 0)
                r = -EIO;
        if (r < 0) {
                free(*buf);
                *buf = NULL;
        }
        return r;
}

/* The baseline of w: its own dump (%p), or the pool's one. */
static struct heap *worker_baseline(struct pool *p, struct worker *w, bool *owned)
{
        const char *pat = p->o->baseline;
        struct diag d = {0};
        struct heap *b = NULL;
        struct stat st;

        *owned = false;
        if (!pat)
                return NULL;
        if (!has_pid_field(pat)) {
                snprintf(w->baseline, sizeof(w->baseline), "%s", pat);
                return p->baseline;
        }
        if (pool_expand(pat, w->pid, w->baseline, sizeof(w->baseline)) < 0)
                return NULL;
        if (stat(w->baseline, &st) < 0) {
                if (!p->o->quiet) {
                        progress_clear();
                        fprintf(stderr, "pyleak-attach: worker %d: no baseline %s (a worker "
                                "started since?): its growth is not known\n", (int)w->pid,
                                w->baseline);
                }
                w->baseline[0] = 0;
                return NULL;
        }
        if (p->ops->read_dump(w->baseline, &b, &d) < 0) {
                progress_clear();
                fprintf(stderr, "pyleak-attach: worker %d: cannot read its baseline %s: %s\n",
                        (int)w->pid, w->baseline, d.msg[0] ? d.msg : "unreadable");
                w->baseline[0] = 0;
                return NULL;
        }
        *owned = true;
        return b;
}

static void worker_facts(struct worker *w, const struct heap *h, const struct heap *base)
{
        struct heap_suspects s = {0};
        bool have_suspects;

        w->objects = h->ntracked;
        w->cycles = h->cycles.n;
        w->garbage = h->ngarbage;
        w->pause_ms = h->meta.pause_ms;
        w->inconsistencies = h->meta.inconsistencies;
        have_suspects = heap_suspects_compute(h, POOL_TOP_SUSPECTS, &s) == 0;
        for (uint32_t k = 0; have_suspects && k < s.n && k < POOL_TOP_SUSPECTS; k++) {
                struct worker_suspect *t = &w->top[w->ntop++];

                snprintf(t->owner, sizeof(t->owner), "%s", s.v[k].name.owner);
                snprintf(t->path, sizeof(t->path), "%s", s.v[k].name.path);
                t->retained = s.v[k].retained;
                t->objects = s.v[k].objects;
        }
        if (base) {
                struct heap_growth g = {0};

                w->have_growth = true;
                w->growth_objects = (int64_t)h->ntracked - (int64_t)base->ntracked;
                /* from the suspects above: no second pass over the objects */
                if (have_suspects && heap_growth_compute_with(base, h, &s, 1, &g) == 0) {
                        if (g.n) {
                                snprintf(w->grown_path, sizeof(w->grown_path), "%s",
                                         g.v[0].name.path);
                                w->grown_retained = g.v[0].dretained;
                        }
                        heap_growth_release(&g);
                }
        }
        heap_suspects_release(&s);
}

static void worker_run(struct pool *p, unsigned i)
{
        const struct options *o = p->o;
        struct worker *w = &p->w[i];
        struct report_opts ro = {.objects = o->objects, .top = o->top ? o->top : 20,
                                 .all_cycles = o->all_cycles};
        struct diag d = {0};
        struct heap *h = NULL, *base;
        bool owned;
        int r;

        progress_worker(i, p->n, w->pid);
        /* before the pause: what the system charges the worker for now */
        w->rss_known = read_rss(w->pid, &w->rss);
        r = p->ops->snapshot(w->src, &h, &d);
        /* the reader and interpreter of a worker done are not kept */
        p->ops->close(w->src);
        w->src = NULL;
        if (r < 0) {
                worker_fail(w, &d, r, "cannot take the snapshot");
                return;
        }
        w->code = h->meta.inconsistencies ? EXIT_PARTIAL : EXIT_COMPLETE;
        progress_clear();
        if (!o->quiet)
                fprintf(stderr, "pyleak-attach: worker %d (%u of %u): paused %.1f ms; %" PRIu32
                        " objects, %" PRIu32 " cycles, %" PRIu32 " garbage\n", (int)w->pid,
                        i + 1, p->n, h->meta.pause_ms, h->ntracked, h->cycles.n, h->ngarbage);
        if (h->meta.inconsistencies)
                fprintf(stderr, "pyleak-attach: worker %d: warning: %" PRIu64 " inconsistenc%s "
                        "in target memory; its result is partial (its JSON report's "
                        "\"problems\" names them)\n", (int)w->pid, h->meta.inconsistencies,
                        h->meta.inconsistencies == 1 ? "y" : "ies");
        base = worker_baseline(p, w, &owned);
        ro.baseline = base;
        ro.baseline_name = base ? w->baseline : NULL;
        worker_facts(w, h, base);
        if (o->dump_path) {
                diag_clear(&d);
                if (pool_expand(o->dump_path, w->pid, w->dump, sizeof(w->dump)) < 0 ||
                    (r = p->ops->write_dump(h, w->dump, o->force, &d)) < 0) {
                        worker_fail(w, &d, -ENAMETOOLONG, "cannot write its dump");
                        w->dump[0] = 0;
                } else if (!o->quiet) {
                        fprintf(stderr, "pyleak-attach: worker %d: wrote %s\n", (int)w->pid,
                                w->dump);
                }
        }
        progress_phase(PROGRESS_WRITE);
        if (o->json_path && render(h, true, &ro, &w->json, &w->json_len) < 0)
                worker_fail(w, NULL, -ENOMEM, "cannot write its JSON report");
        if (p->text_path && render(h, false, &ro, &w->text, &w->text_len) < 0)
                worker_fail(w, NULL, -ENOMEM, "cannot write its text report");
        progress_clear();
        if (owned)
                heap_free(base);
        if (p->browse)
                w->heap = h;
        else
                heap_free(h);
}

/* ---- the pool's reports ----------------------------------------------- */

static void json_metric(FILE *f, const struct pool *p, enum metric m)
{
        if (p->have_median[m])
                fprintf(f, "%.0f", p->median[m]);
        else
                fputs("null", f);
}

static void write_json(FILE *f, const struct pool *p)
{
        bool first = true;

        fputs("{\"pool\": {", f);
        if (p->o->children_of)
                fprintf(f, "\"master\": %d, ", (int)p->o->children_of);
        else
                fputs("\"master\": null, ", f);
        fprintf(f, "\"rule\": ");
        report_json_string(f, rule_text);
        fputs(",\n\"median\": {\"rss\": ", f);
        json_metric(f, p, M_RSS);
        fputs(", \"objects\": ", f);
        json_metric(f, p, M_OBJECTS);
        fputs(", \"growth_objects\": ", f);
        json_metric(f, p, M_GROWTH);
        fputs("},\n\"diverging\": [", f);
        for (unsigned i = 0; i < p->n; i++) {
                const struct worker *w = &p->w[i];
                bool mfirst = true;

                if (!w->diverges)
                        continue;
                fprintf(f, "%s{\"pid\": %d, \"metrics\": [", first ? "" : ", ", (int)w->pid);
                first = false;
                for (int m = 0; m < M__COUNT; m++) {
                        double v;

                        if (!(w->diverges & (1u << m)) || !metric_of(w, m, &v))
                                continue;
                        fprintf(f, "%s{\"metric\": \"%s\", \"value\": %.0f, \"median\": %.0f",
                                mfirst ? "" : ", ", metric_name[m], v, p->median[m]);
                        if (p->median[m] > 0)
                                fprintf(f, ", \"ratio\": %.2f", v / p->median[m]);
                        fputs("}", f);
                        mfirst = false;
                }
                fputs("]}", f);
        }
        fputs("],\n\"workers\": [", f);
        for (unsigned i = 0; i < p->n; i++) {
                const struct worker *w = &p->w[i];

                fprintf(f, "%s\n{\"pid\": %d, \"exit_code\": %d, \"error\": ", i ? "," : "",
                        (int)w->pid, w->code);
                if (w->code == EXIT_NOTHING)
                        report_json_string(f, w->error);
                else
                        fputs("null", f);
                fputs(", \"python\": ", f);
                report_json_string(f, w->version);
                if (w->rss_known)
                        fprintf(f, ", \"rss\": %" PRIu64, w->rss);
                else
                        fputs(", \"rss\": null", f);
                if (w->code == EXIT_NOTHING) {
                        fputs(", \"objects\": null", f);
                } else {
                        fprintf(f, ", \"objects\": %" PRIu32 ", \"cycles\": %" PRIu64
                                ", \"garbage\": %" PRIu64 ", \"pause_ms\": %.3f", w->objects,
                                w->cycles, w->garbage, w->pause_ms);
                }
                fprintf(f, ", \"diverges\": %s", w->diverges ? "true" : "false");
                fputs(", \"suspects\": [", f);
                for (unsigned k = 0; k < w->ntop; k++) {
                        fputs(k ? ", {\"owner\": " : "{\"owner\": ", f);
                        report_json_string(f, w->top[k].owner);
                        fputs(", \"path\": ", f);
                        report_json_string(f, w->top[k].path);
                        fprintf(f, ", \"retained\": %" PRIu64 ", \"objects\": %" PRIu64 "}",
                                w->top[k].retained, w->top[k].objects);
                }
                fputs("], \"growth\": ", f);
                if (w->have_growth) {
                        fputs("{\"baseline\": ", f);
                        report_json_string(f, w->baseline);
                        fprintf(f, ", \"objects\": %" PRId64 ", \"owner\": ", w->growth_objects);
                        if (w->grown_path[0])
                                report_json_string(f, w->grown_path);
                        else
                                fputs("null", f);
                        fprintf(f, ", \"owner_retained\": %" PRId64 "}", w->grown_retained);
                } else {
                        fputs("null", f);
                }
                fputs(", \"dump\": ", f);
                if (w->dump[0])
                        report_json_string(f, w->dump);
                else
                        fputs("null", f);
                fputs(",\n \"report\": ", f);
                if (w->json) {
                        size_t n = w->json_len;

                        while (n && (w->json[n - 1] == '\n' || w->json[n - 1] == ' '))
                                n--;
                        fwrite(w->json, 1, n, f);
                } else {
                        fputs("null", f);
                }
                fputs("}", f);
        }
        fputs("]}}\n", f);
}

/* The table's lines: the text report's and the browser's Workers screen. */
static void title_line(FILE *f, const struct pool *p)
{
        fprintf(f, "Pool of %u worker%s", p->n, p->n == 1 ? "" : "s");
        if (p->o->children_of)
                fprintf(f, " (the CPython descendants of %d)", (int)p->o->children_of);
        fputs(", each snapshotted alone, one after another", f);
}

static void header_line(FILE *f, const struct pool *p)
{
        fprintf(f, "  %-8s %11s %11s %11s  %s", "worker", "RSS", "objects",
                p->o->baseline ? "growth" : "", "top suspect (retained)");
}

static void worker_line(FILE *f, const struct pool *p, unsigned i)
{
        const struct worker *w = &p->w[i];
        char b1[32], b2[32];

        if (w->code == EXIT_NOTHING) {
                fprintf(f, "  %-8d failed: %.*s", (int)w->pid, (int)strcspn(w->error, "\n"),
                        w->error);
                return;
        }
        fprintf(f, "  %-8d %11s %11" PRIu32 " %11s  ", (int)w->pid,
                w->rss_known ? fmt_bytes(w->rss, b1, sizeof(b1)) : "?", w->objects,
                w->have_growth ? (w->growth_objects ? fmt_delta(w->growth_objects, b2,
                                                                sizeof(b2)) : "0") : "");
        if (w->ntop)
                fprintf(f, "%s (%s)", w->top[0].path,
                        fmt_bytes(w->top[0].retained, b1, sizeof(b1)));
        else
                fputs("-", f);
        if (w->diverges)
                fputs("   <- diverges", f);
}

/* "Diverging: ..." lines and the rule. */
static void verdict_lines(FILE *f, const struct pool *p)
{
        char b1[32], b2[32];
        unsigned ndiv = 0;

        for (unsigned i = 0; i < p->n; i++) {
                const struct worker *w = &p->w[i];
                const char *sep = "";

                if (!w->diverges)
                        continue;
                ndiv++;
                fprintf(f, "Diverging: worker %d:", (int)w->pid);
                for (int m = 0; m < M__COUNT; m++) {
                        double v;

                        if (!(w->diverges & (1u << m)) || !metric_of(w, m, &v))
                                continue;
                        if (m == M_RSS)
                                fprintf(f, "%s RSS %s, the median is %s", sep,
                                        fmt_bytes((uint64_t)v, b1, sizeof(b1)),
                                        fmt_bytes((uint64_t)p->median[m], b2, sizeof(b2)));
                        else
                                fprintf(f, "%s %s %.0f, the median is %.0f", sep,
                                        m == M_OBJECTS ? "tracked objects" :
                                        "objects grown since the baseline", v, p->median[m]);
                        if (p->median[m] > 0)
                                fprintf(f, " (%.1fx)", v / p->median[m]);
                        sep = ";";
                }
                if (w->grown_path[0])
                        fprintf(f, "; grew most under %s (%s)", w->grown_path,
                                fmt_delta_bytes(w->grown_retained, b1, sizeof(b1)));
                else if (w->ntop)
                        fprintf(f, "; its top suspect: %s", w->top[0].path);
                fputc('\n', f);
        }
        if (!ndiv)
                fprintf(f, "Diverging: none%s\n", p->have_median[M_OBJECTS] ? "" :
                        " (fewer than 2 workers to compare)");
        fprintf(f, "(%s)\n", rule_text);
}

static void write_text(FILE *f, const struct pool *p)
{
        title_line(f, p);
        fputs("\n\n", f);
        header_line(f, p);
        fputc('\n', f);
        for (unsigned i = 0; i < p->n; i++) {
                worker_line(f, p, i);
                fputc('\n', f);
        }
        fputc('\n', f);
        verdict_lines(f, p);
        for (unsigned i = 0; i < p->n; i++) {
                const struct worker *w = &p->w[i];

                if (!w->text)
                        continue;
                fprintf(f, "\n==== worker %d (%u of %u) ====\n", (int)w->pid, i + 1, p->n);
                fwrite(w->text, 1, w->text_len, f);
        }
}

static int write_out(const struct pool *p, const char *path, bool json)
{
        FILE *f = strcmp(path, "-") ? fopen(path, "we") : stdout;
        int r = 0;

        if (!f) {
                fprintf(stderr, "pyleak-attach: cannot write %s: %s\n", path, strerror(errno));
                return -errno;
        }
        if (json)
                write_json(f, p);
        else
                write_text(f, p);
        if (ferror(f))
                r = -EIO;
        if (f != stdout ? fclose(f) != 0 : fflush(f) != 0)
                r = r ? r : -errno;
        if (r < 0)
                fprintf(stderr, "pyleak-attach: writing %s failed: %s\n", path, strerror(-r));
        return r;
}

/* ---- the browser ------------------------------------------------------ */

static int select_worker(struct session *s, unsigned i, char *msg, size_t len)
{
        struct pool *p = s->ctx;

        if (i >= p->n || !p->w[i].heap) {
                snprintf(msg, len, "worker %d has no snapshot (it failed)", (int)p->w[i].pid);
                return -ENOENT;
        }
        s->heap = p->w[i].heap;
        s->diff = NULL;
        s->diff_against = NULL;
        s->worker = i;
        s->generation++;
        return 0;
}

static int session_dump(struct session *s, const char *path, bool force, char *msg, size_t len)
{
        struct pool *p = s->ctx;
        struct diag d = {0};
        int r = p->ops->write_dump(s->heap, path, force, &d);

        if (r < 0)
                snprintf(msg, len, "%.*s", (int)strcspn(d.msg[0] ? d.msg : strerror(-r), "\n"),
                         d.msg[0] ? d.msg : strerror(-r));
        return r;
}

/* Lines of what fn writes, NULL-terminated; NULL when out of memory. */
static char **lines_of(const struct pool *p, void (*fn)(FILE *f, const struct pool *p))
{
        char *text = NULL, **v = NULL, *save = NULL, *tok;
        size_t len = 0, n = 0;
        FILE *f = open_memstream(&text, &len);

        if (!f)
                return NULL;
        fn(f, p);
        if (fclose(f) != 0)
                return NULL;
        v = calloc(len + 2, sizeof(*v));
        for (tok = v ? strtok_r(text, "\n", &save) : NULL; tok; tok = strtok_r(NULL, "\n", &save))
                if (!(v[n++] = strdup(tok)))
                        break;
        free(text);
        return v;
}

static void head_lines(FILE *f, const struct pool *p)
{
        title_line(f, p);
        fputc('\n', f);
        verdict_lines(f, p);
        fputs(" \n", f);
        header_line(f, p);
        fputc('\n', f);
}

static void free_lines(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

/* The browser opens on the Workers screen; Enter browses a worker. */
static int browse(struct pool *p)
{
        struct session s = {0};
        char **head = lines_of(p, head_lines), **rows = calloc(p->n, sizeof(*rows));
        bool *ok = calloc(p->n, sizeof(*ok));
        int code = EXIT_NOTHING, r = -ENOMEM;
        unsigned first = p->n;

        for (unsigned i = 0; rows && i < p->n; i++) {
                size_t len;
                FILE *f = open_memstream(&rows[i], &len);

                if (!f)
                        break;
                worker_line(f, p, i);
                fclose(f);
                ok[i] = p->w[i].heap != NULL;
                if (ok[i] && first == p->n)
                        first = i;
        }
        if (first == p->n) {
                fprintf(stderr, "pyleak-attach: no worker of the pool could be read: nothing "
                        "to browse\n");
                goto out;
        }
        if (head && rows && ok) {
                s.heap = p->w[first].heap;
                s.worker = first;
                s.nworkers = p->n;
                s.pool_head = (const char *const *)head;
                s.worker_rows = (const char *const *)rows;
                s.worker_browsable = ok;
                s.select_worker = select_worker;
                s.write_dump = session_dump;
                s.ctx = p;
                progress_finish();
                r = tui_run(&s);
        }
        if (r < 0)
                fprintf(stderr, "pyleak-attach: cannot open the browser: %s\nhint: use --text - "
                        "or --json - for a report\n", strerror(-r));
        else
                code = EXIT_COMPLETE;
out:
        for (unsigned i = 0; rows && i < p->n; i++)
                free(rows[i]);
        free(rows);
        free(ok);
        free_lines(head);
        return code;
}

/* ---- the run ---------------------------------------------------------- */

/* Exit code 2 is said on stderr, as exit code 1 is: which workers. */
static void explain_failed(const struct pool *p)
{
        unsigned nfailed = 0;

        for (unsigned i = 0; i < p->n; i++)
                nfailed += p->w[i].code == EXIT_NOTHING;
        if (!nfailed)
                return;
        fprintf(stderr, "pyleak-attach: exit code 2: %s", nfailed == p->n ? "no worker of the "
                "pool could be read:" : nfailed == 1 ? "worker" : "workers");
        for (unsigned i = 0; i < p->n; i++)
                if (p->w[i].code == EXIT_NOTHING)
                        fprintf(stderr, " %d", (int)p->w[i].pid);
        fprintf(stderr, "%s\n", nfailed == p->n ? " failed (above)" :
                " could not be read (above); the other workers are in the report");
}

/* Cheap refusals before any worker is touched (exit 64). */
static void check_names(const struct pool *p, pid_t *pids, unsigned n)
{
        const struct options *o = p->o;
        char path[4096];
        struct stat st;

        if (o->baseline && !has_pid_field(o->baseline) &&
            (stat(o->baseline, &st) < 0 || !S_ISREG(st.st_mode)))
                die_usage("--baseline takes a dump file written by --dump, or a name with %%p "
                          "for one dump per worker, not '%s'", o->baseline);
        if (!o->dump_path || o->force)
                return;
        for (unsigned i = 0; i < n; i++) {
                if (pool_expand(o->dump_path, pids[i], path, sizeof(path)) < 0)
                        die_usage("--dump %s: the name is too long", o->dump_path);
                if (lstat(path, &st) == 0) {
                        fprintf(stderr, "pyleak-attach: --dump %s: %s already exists (worker "
                                "%d)\nhint: --force replaces it, or choose another name\n",
                                o->dump_path, path, (int)pids[i]);
                        exit(EXIT_USAGE);
                }
        }
}

static unsigned open_workers(struct pool *p, const pid_t *pids, unsigned n)
{
        const struct options *o = p->o;
        unsigned k = 0;

        for (unsigned i = 0; i < n; i++) {
                struct worker *w = &p->w[k];
                struct diag d = {0};
                char comm[64];
                int r;

                memset(w, 0, sizeof(*w));
                w->pid = pids[i];
                r = p->ops->open(o, w->pid, &w->src, w->version, sizeof(w->version), &d);
                /* a master's other children: helpers, shells, a worker
                 * that exited since it was listed */
                if (r < 0 && o->children_of && (r == -EOPNOTSUPP || r == -ESRCH)) {
                        comm_of(w->pid, comm, sizeof(comm));
                        if (!o->quiet)
                                fprintf(stderr, "pyleak-attach: process %d (%s), a descendant "
                                        "of %d, is left out: %s\n", (int)w->pid, comm,
                                        (int)o->children_of, r == -ESRCH ? "it has exited" :
                                        "not a CPython this tool recognises");
                        continue;
                }
                if (r < 0)
                        worker_fail(w, &d, r, "cannot open the process");
                k++;
        }
        return k;
}

int pool_run(const struct options *o, const struct pool_ops *ops)
{
        static pid_t found[POOL_MAX_WORKERS];
        struct pool p = {.o = o, .ops = ops};
        const pid_t *pids = o->pids;
        unsigned n = o->npids;
        int code = EXIT_COMPLETE, r;

        if (o->children_of) {
                r = proctree_descendants(o->children_of, PROCTREE_AUTO, found, POOL_MAX_WORKERS,
                                         &n);
                if (r < 0) {
                        fprintf(stderr, "pyleak-attach: cannot list the children of process %d: "
                                "%s\nhint: give the pool master's PID (pgrep -a -o gunicorn, "
                                "pstree -p), or the workers' PIDs themselves\n",
                                (int)o->children_of, r == -ESRCH ? "no such process" :
                                strerror(-r));
                        return EXIT_NOTHING;
                }
                pids = found;
        }
        check_names(&p, (pid_t *)pids, n);
        /* as for one process: the browser on a terminal, when no output
         * is asked for */
        p.browse = !o->json_path && !o->text_path && !o->dump_path && !o->no_browser &&
                   isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        if (p.browse)
                cli_check_terminal();
        p.text_path = o->text_path ? o->text_path :
                      !o->json_path && !o->dump_path && !p.browse ? "-" : NULL;
        p.w = calloc(n ? n : 1, sizeof(*p.w));
        if (!p.w) {
                fprintf(stderr, "pyleak-attach: out of memory\n");
                return EXIT_NOTHING;
        }
        p.n = open_workers(&p, pids, n);
        if (!p.n) {
                fprintf(stderr, "pyleak-attach: process %d has no CPython descendant that this "
                        "tool recognises (%u descendant%s)\nhint: give the pool master's PID "
                        "(the parent of the workers: pstree -p %d), or the workers' PIDs\n",
                        (int)o->children_of, n, n == 1 ? "" : "s", (int)o->children_of);
                free(p.w);
                return EXIT_NOTHING;
        }
        if (!o->quiet) {
                unsigned k = 0;

                for (unsigned i = 0; i < p.n; i++)
                        k += p.w[i].src != NULL;
                if (k) {
                        fprintf(stderr, "pyleak-attach: pool of %u worker%s:", k,
                                k == 1 ? "" : "s");
                        for (unsigned i = 0; i < p.n; i++)
                                if (p.w[i].src)
                                        fprintf(stderr, " %d", (int)p.w[i].pid);
                        fprintf(stderr, "; each is stopped alone, one after another\n");
                }
        }
        if (o->baseline && !has_pid_field(o->baseline)) {
                struct diag d = {0};

                if (ops->read_dump(o->baseline, &p.baseline, &d) < 0) {
                        fprintf(stderr, "pyleak-attach: cannot read the baseline dump %s: %s\n",
                                o->baseline, d.msg[0] ? d.msg : "unreadable");
                        code = EXIT_NOTHING;
                        goto out;
                }
        }
        for (unsigned i = 0; i < p.n; i++)
                if (p.w[i].src)
                        worker_run(&p, i);
        compare(&p);
        if (o->json_path && write_out(&p, o->json_path, true) < 0)
                code = EXIT_NOTHING;
        if (p.text_path && write_out(&p, p.text_path, false) < 0)
                code = EXIT_NOTHING;
        if (p.browse && browse(&p) != EXIT_COMPLETE)
                code = EXIT_NOTHING;
        /* the worst of the workers' */
        for (unsigned i = 0; i < p.n; i++)
                if (p.w[i].code > code)
                        code = p.w[i].code;
        if (code == EXIT_PARTIAL)
                fprintf(stderr, "pyleak-attach: exit code 1: the result is partial: the memory "
                        "of a worker was inconsistent somewhere (its report's \"problems\" "
                        "lists it); what was written is usable\n");
        else if (code == EXIT_NOTHING)
                explain_failed(&p);
out:
        for (unsigned i = 0; i < p.n; i++) {
                if (p.w[i].src)
                        ops->close(p.w[i].src);
                free(p.w[i].json);
                free(p.w[i].text);
                heap_free(p.w[i].heap);
        }
        heap_free(p.baseline);
        free(p.w);
        return code;
}
