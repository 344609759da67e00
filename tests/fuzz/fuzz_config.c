/* fuzz_config.c - libFuzzer harness for the settings: the input is split
 * at its first NUL; the part before is a JSON config file (read through
 * --config), the part after is "NAME=VALUE" words set as environment
 * variables (any PREDICTD_* name, unset again before the next input) and
 * other words given as argv ("--flag value"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 16
#define MAX_ENV 16

/* the PREDICTD_* names the last input set, unset before the next */
static char *env_set[MAX_ENV];
static size_t n_env;

static void env_clear(void)
{
        for (size_t i = 0; i < n_env; i++) {
                unsetenv(env_set[i]);
                free(env_set[i]);
        }
        n_env = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* the file lives in memory: no disk write per input */
        static int fd = -1;
        static char path[32];
        const uint8_t *nul = memchr(data, '\0', size);
        size_t flen = nul ? (size_t)(nul - data) : size;
        if (fd < 0) {
                fd = memfd_create("fuzz_config", MFD_CLOEXEC);
                if (fd < 0)
                        abort();
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        }
        if (ftruncate(fd, 0) < 0 || pwrite(fd, data, flen, 0) != (ssize_t)flen)
                abort();
        char *rest = nul ? strndup((const char *)nul + 1, size - flen - 1) : strdup("");
        char *argv[MAX_ARGS + 4] = { "predictd", "--config", path };
        int argc = 3;
        env_clear();
        for (char *save = NULL, *w = rest ? strtok_r(rest, "\n ", &save) : NULL; w;
             w = strtok_r(NULL, "\n ", &save)) {
                char *eq = strchr(w, '=');
                if (eq && strncmp(w, "PREDICTD_", 9) == 0) {
                        *eq = '\0';
                        if (n_env < MAX_ENV && setenv(w, eq + 1, 1) == 0)
                                env_set[n_env++] = strdup(w);
                } else if (argc < MAX_ARGS) {
                        argv[argc++] = w;
                }
        }
        argv[argc] = NULL;
        struct config *cfg = NULL;
        struct config_error err;
        if (config_load(argc, argv, &cfg, &err) == 0)
                config_free(cfg);
        free(rest);
        return 0;
}
