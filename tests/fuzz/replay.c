/* replay.c - runs a libFuzzer harness's entry point over files and
 * directories of inputs, without libFuzzer: the seed corpus and every
 * input a fuzzer once stopped on (tests/fuzz/regressions/NAME/) become a
 * unit test of any build (gcc, valgrind, the sanitizer build). Prints
 * TAP, one case per directory. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define REPLAY_MAX_BYTES (64u << 20)

/* libFuzzer hands over a buffer of exactly the input's size: so does
 * this, so that a read past the end is seen by the sanitizers. */
static int run_file(const char *path, size_t size)
{
        if (size > REPLAY_MAX_BYTES)
                return -1;
        FILE *f = fopen(path, "rb");
        if (!f)
                return -1;
        uint8_t *buf = malloc(size ? size : 1);
        size_t n = buf ? fread(buf, 1, size, f) : 0;
        fclose(f);
        if (!buf || n != size) {
                free(buf);
                return -1;
        }
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
        return 0;
}

static int cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in dir, in name order; the count, or -1. */
static long run_dir(const char *dir)
{
        DIR *d = opendir(dir);
        if (!d)
                return -1;
        char **names = NULL;
        size_t n = 0;
        long done = 0;
        for (struct dirent *e; (e = readdir(d));) {
                if (e->d_name[0] == '.')
                        continue;
                char **nn = realloc(names, (n + 1) * sizeof(*nn));
                if (!nn)
                        break;
                names = nn;
                names[n++] = strdup(e->d_name);
        }
        closedir(d);
        if (n)
                qsort(names, n, sizeof(*names), cmp);
        for (size_t i = 0; i < n; i++) {
                char path[4096];
                struct stat st;
                snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                if (names[i] && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                        if (run_file(path, (size_t)st.st_size) < 0)
                                done = -1;
                        else if (done >= 0)
                                done++;
                }
                free(names[i]);
        }
        free(names);
        return done;
}

int main(int argc, char **argv)
{
        if (LLVMFuzzerInitialize)
                LLVMFuzzerInitialize(&argc, &argv);
        printf("1..%d\n", argc - 1);
        int failed = 0;
        for (int i = 1; i < argc; i++) {
                long n = run_dir(argv[i]);
                /* an input that makes the harness crash never returns here */
                printf("%s %d - %ld inputs from %s\n", n >= 0 ? "ok" : "not ok", i, n, argv[i]);
                failed |= n < 0;
        }
        return failed;
}
