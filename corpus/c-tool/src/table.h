// table.h: a small open-addressing hash table counting strings.
#ifndef WORDFREQ_TABLE_H
#define WORDFREQ_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct entry {
    char *word;
    unsigned long count;
};

struct table {
    struct entry *slots;
    size_t size;
    size_t used;
};

void table_init(struct table *t);
void table_add(struct table *t, const char *word);
void table_print_top(const struct table *t, int top, FILE *out);
void table_free(struct table *t);

#endif
