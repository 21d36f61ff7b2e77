/* jsonkeys: prints the keys of a JSON object read from standard input (libjansson). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int print_keys(json_t *root) {
    const char *key;
    json_t *value;
    int n = 0;
    if (!json_is_object(root)) {
        fprintf(stderr, "not a JSON object\n");
        return -1;
    }
    json_object_foreach(root, key, value) {
        printf("%s\t%s\n", key, json_is_object(value) ? "object" : json_is_array(value) ? "array" : "value");
        n++;
    }
    return n;
}

int main(int argc, char **argv) {
    json_error_t err;
    json_t *root;
    int n;
    if (argc > 1 && strcmp(argv[1], "--selftest") == 0) {
        root = json_loads("{\"name\": \"x\", \"tags\": [1, 2], \"meta\": {}}", 0, &err);
    } else {
        root = json_loadf(stdin, 0, &err);
    }
    if (!root) {
        fprintf(stderr, "line %d: %s\n", err.line, err.text);
        return 1;
    }
    n = print_keys(root);
    json_decref(root);
    if (n < 0) return 1;
    if (argc > 1) printf("selftest ok: %d keys (jansson %s)\n", n, JANSSON_VERSION);
    return 0;
}
