// table.c: open-addressing hash table (FNV-1a, linear probing, doubling at 70% load).
#include "table.h"

#include <stdlib.h>
#include <string.h>

static unsigned long hash(const char *s) {
    unsigned long h = 1469598103934665603UL;
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211UL;
    }
    return h;
}

void table_init(struct table *t) {
    t->size = 64;
    t->used = 0;
    t->slots = calloc(t->size, sizeof *t->slots);
    if (!t->slots) abort();
}

static void insert(struct entry *slots, size_t size, char *word, unsigned long count) {
    size_t i = hash(word) & (size - 1);
    while (slots[i].word) i = (i + 1) & (size - 1);
    slots[i].word = word;
    slots[i].count = count;
}

static void grow(struct table *t) {
    size_t i, size = t->size * 2;
    struct entry *slots = calloc(size, sizeof *slots);
    if (!slots) abort();
    for (i = 0; i < t->size; i++)
        if (t->slots[i].word) insert(slots, size, t->slots[i].word, t->slots[i].count);
    free(t->slots);
    t->slots = slots;
    t->size = size;
}

void table_add(struct table *t, const char *word) {
    size_t i;
    if ((t->used + 1) * 10 > t->size * 7) grow(t);
    i = hash(word) & (t->size - 1);
    while (t->slots[i].word) {
        if (strcmp(t->slots[i].word, word) == 0) {
            t->slots[i].count++;
            return;
        }
        i = (i + 1) & (t->size - 1);
    }
    t->slots[i].word = strdup(word);
    t->slots[i].count = 1;
    t->used++;
}

static int by_count(const void *a, const void *b) {
    const struct entry *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return strcmp(x->word, y->word);
}

void table_print_top(const struct table *t, int top, FILE *out) {
    size_t i, n = 0;
    struct entry *all = malloc((t->used + 1) * sizeof *all);
    if (!all) abort();
    for (i = 0; i < t->size; i++)
        if (t->slots[i].word) all[n++] = t->slots[i];
    qsort(all, n, sizeof *all, by_count);
    for (i = 0; i < n && (int)i < top; i++) fprintf(out, "%7lu %s\n", all[i].count, all[i].word);
    free(all);
}

void table_free(struct table *t) {
    size_t i;
    for (i = 0; i < t->size; i++) free(t->slots[i].word);
    free(t->slots);
}
