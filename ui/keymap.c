/* keymap.c: see keymap.h.  One table binds keys to requests; the help screen
 * and the status line read it back, so a rebinding shows up everywhere. */
#include "keymap.h"

#include <stdio.h>
#include <string.h>

static const struct ui_request_info requests[] = {
#define R_INFO(group, name, help) {REQ_##name, RG_##group, #name, help},
        UI_REQUESTS(R_INFO)
#undef R_INFO
};

struct keybinding {
        int key;
        enum ui_request req;
};

static const struct keybinding keymap[] = {
        {UIK_UP, REQ_MOVE_UP},           {'k', REQ_MOVE_UP},
        {UIK_DOWN, REQ_MOVE_DOWN},       {'j', REQ_MOVE_DOWN},
        {UIK_PGUP, REQ_PAGE_UP},         {'b', REQ_PAGE_UP},
        {UIK_PGDN, REQ_PAGE_DOWN},       {' ', REQ_PAGE_DOWN},
        {UIK_HOME, REQ_FIRST},           {'<', REQ_FIRST},
        {UIK_END, REQ_LAST},             {'>', REQ_LAST},
        {UIK_ENTER, REQ_ENTER},          {UIK_RIGHT, REQ_ENTER},
        {UIK_BACKSPACE, REQ_BACK},       {UIK_LEFT, REQ_BACK},
        {'h', REQ_BACK},
        {'o', REQ_OVERVIEW},
        {'c', REQ_CYCLES},
        {'t', REQ_TYPES},
        {'g', REQ_GARBAGE},
        {'T', REQ_THREADS},
        {'W', REQ_WORKERS},
        {'p', REQ_PATH},
        {'?', REQ_HELP},
        {'/', REQ_SEARCH},
        {'n', REQ_SEARCH_NEXT},
        {'N', REQ_SEARCH_PREV},
        {'s', REQ_SORT},
        {'S', REQ_SORT_REVERSE},
        {'f', REQ_FILTER},
        {'l', REQ_GROUPING},
        {'m', REQ_MEMBER},
        {'r', REQ_RESNAPSHOT},
        {'w', REQ_WRITE_DUMP},
        {UIK_CTRL_L, REQ_REDRAW},
        {'q', REQ_QUIT},                 {UIK_CTRL_C, REQ_QUIT},
};

enum ui_request keymap_lookup(int key)
{
        for (size_t i = 0; i < sizeof(keymap) / sizeof(keymap[0]); i++)
                if (keymap[i].key == key)
                        return keymap[i].req;
        return REQ_NONE;
}

const struct ui_request_info *keymap_request(enum ui_request req)
{
        if (req <= REQ_NONE || req >= REQ__COUNT)
                return NULL;
        return &requests[req - 1];
}

static const char *key_name(int key, char *buf, size_t len)
{
        static const struct { int key; const char *name; } names[] = {
                {UIK_UP, "Up"}, {UIK_DOWN, "Down"}, {UIK_LEFT, "Left"},
                {UIK_RIGHT, "Right"}, {UIK_PGUP, "PgUp"}, {UIK_PGDN, "PgDn"},
                {UIK_HOME, "Home"}, {UIK_END, "End"}, {UIK_ENTER, "Enter"},
                {UIK_BACKSPACE, "Backspace"}, {UIK_ESC, "Esc"},
                {UIK_CTRL_L, "^L"}, {UIK_CTRL_C, "^C"}, {' ', "Space"},
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (names[i].key == key)
                        return names[i].name;
        snprintf(buf, len, "%c", key);
        return buf;
}

const char *keymap_keys(enum ui_request req, char *buf, size_t len)
{
        size_t pos = 0;
        char one[8];

        buf[0] = 0;
        for (size_t i = 0; i < sizeof(keymap) / sizeof(keymap[0]); i++) {
                if (keymap[i].req != req)
                        continue;
                pos += snprintf(buf + pos, pos < len ? len - pos : 0, "%s%s",
                                pos ? " " : "", key_name(keymap[i].key, one, sizeof(one)));
                if (pos >= len)
                        break;
        }
        return buf;
}

const char *keymap_group_name(enum ui_req_group g)
{
        static const char *names[] = {"Moving", "Screens", "Lists", "Session"};

        return g < RG__COUNT ? names[g] : "?";
}
