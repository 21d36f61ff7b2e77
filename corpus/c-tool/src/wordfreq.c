// wordfreq: print the most frequent words of a text (stdin or files).
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

#define VERSION "1.1.0"

static const char *SAMPLE =
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs.\n"
    "A fox, a dog and the quick brown cat.\n";

static void count_stream(struct table *t, FILE *in) {
    char word[128];
    size_t len = 0;
    int c;
    while ((c = fgetc(in)) != EOF) {
        if (isalnum(c) || c == '\'') {
            if (len < sizeof(word) - 1) word[len++] = (char)tolower(c);
        } else if (len > 0) {
            word[len] = '\0';
            table_add(t, word);
            len = 0;
        }
    }
    if (len > 0) {
        word[len] = '\0';
        table_add(t, word);
    }
}

static void usage(void) {
    fprintf(stderr, "usage: wordfreq [-n TOP] [FILE...] | --selftest | --version\n");
}

int main(int argc, char **argv) {
    int top = 10, i, nfiles = 0;
    struct table t;
    table_init(&t);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("wordfreq %s\n", VERSION);
            return 0;
        } else if (strcmp(argv[i], "--selftest") == 0) {
            FILE *in = fmemopen((void *)SAMPLE, strlen(SAMPLE), "r");
            if (!in) return 1;
            count_stream(&t, in);
            fclose(in);
            nfiles++;
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            top = atoi(argv[++i]);
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            usage();
            return 2;
        } else {
            FILE *in = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "r");
            if (!in) {
                perror(argv[i]);
                return 1;
            }
            count_stream(&t, in);
            if (in != stdin) fclose(in);
            nfiles++;
        }
    }
    if (nfiles == 0) count_stream(&t, stdin);
    table_print_top(&t, top, stdout);
    printf("distinct words: %zu\n", t.used);
    table_free(&t);
    return 0;
}
