/* test_config.c - settings merge in the documented order and every bad
 * value is refused with the name of the flag, variable or key. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static int parse(struct config **cfg, struct config_error *e, int argc, ...)
{
        char *argv[16];
        va_list ap;
        va_start(ap, argc);
        argv[0] = "predictd";
        for (int i = 1; i < argc; i++)
                argv[i] = va_arg(ap, char *);
        va_end(ap);
        *cfg = NULL;
        return config_load(argc, argv, cfg, e);
}

static void clear_env(void)
{
        unsetenv("PREDICTD_PORT");
        unsetenv("PREDICTD_MODEL");
        unsetenv("PREDICTD_THREADS");
}

static bool config_defaults_applied(void)
{
        struct config *c;
        struct config_error e;
        clear_env();
        EXPECT(parse(&c, &e, 3, "--model", "m.pkl") == 0);
        EXPECT(c->command == CONFIG_SERVE && c->port == 8080 && c->threads >= 1);
        EXPECT(strcmp(c->host, "0.0.0.0") == 0 && c->max_body_bytes == 1 << 20);
        config_free(c);
        return true;
}

static bool config_flags_override_env_override_file(void)
{
        char path[] = "/tmp/predictd-config-XXXXXX";
        int fd = mkstemp(path);
        EXPECT(fd >= 0);
        const char text[] = "{\"port\": 7000, \"threads\": 3, \"model\": \"file.pkl\"}";
        EXPECT(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
        close(fd);
        struct config *c;
        struct config_error e;
        clear_env();
        setenv("PREDICTD_PORT", "7001", 1);
        int rc = parse(&c, &e, 5, "--config", path, "--threads=5", "--model=flag.pkl");
        unlink(path);
        clear_env();
        EXPECT(rc == 0);
        EXPECT(c->port == 7001);     /* env over file */
        EXPECT(c->threads == 5);     /* flag over file */
        EXPECT(strcmp(c->model_path, "flag.pkl") == 0);
        config_free(c);
        return true;
}

static bool config_bad_numbers_refused_with_name(void)
{
        struct config *c;
        struct config_error e;
        clear_env();
        EXPECT(parse(&c, &e, 5, "--model", "m", "--port", "70000") == -EINVAL);
        EXPECT_CONTAINS(e.message, "--port");
        EXPECT(parse(&c, &e, 5, "--model", "m", "--threads", "2x") == -EINVAL);
        EXPECT_CONTAINS(e.message, "--threads");
        EXPECT(parse(&c, &e, 5, "--model", "m", "--max-body-bytes", "-5") == -EINVAL);
        EXPECT_CONTAINS(e.message, "--max-body-bytes");
        setenv("PREDICTD_THREADS", "0", 1);
        EXPECT(parse(&c, &e, 3, "--model", "m") == -EINVAL);
        EXPECT_CONTAINS(e.message, "PREDICTD_THREADS");
        clear_env();
        return true;
}

static bool config_unknown_flag_and_key_refused(void)
{
        struct config *c;
        struct config_error e;
        clear_env();
        EXPECT(parse(&c, &e, 4, "--model", "m", "--prot") == -EINVAL);
        EXPECT_CONTAINS(e.message, "--prot");
        char path[] = "/tmp/predictd-config-XXXXXX";
        int fd = mkstemp(path);
        EXPECT(fd >= 0);
        const char text[] = "{\"prot\": 1}";
        EXPECT(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
        close(fd);
        int rc = parse(&c, &e, 5, "--config", path, "--model", "m");
        unlink(path);
        EXPECT(rc == -EINVAL);
        EXPECT_CONTAINS(e.message, "unknown key \"prot\"");
        EXPECT(parse(&c, &e, 3, "--config", "/nonexistent/predictd.json") == -EINVAL);
        EXPECT_CONTAINS(e.message, "/nonexistent/predictd.json");
        return true;
}

static bool config_check_and_missing_model(void)
{
        struct config *c;
        struct config_error e;
        clear_env();
        EXPECT(parse(&c, &e, 3, "check", "x.pkl") == 0);
        EXPECT(c->command == CONFIG_CHECK && strcmp(c->model_path, "x.pkl") == 0);
        config_free(c);
        EXPECT(parse(&c, &e, 2, "check") == -EINVAL);
        EXPECT(parse(&c, &e, 1) == -EINVAL);
        EXPECT_CONTAINS(e.message, "--model");
        EXPECT(parse(&c, &e, 2, "--version") == 0 && c->command == CONFIG_VERSION);
        config_free(c);
        return true;
}

TAP_MAIN(CASE(config_defaults_applied),
         CASE(config_flags_override_env_override_file),
         CASE(config_bad_numbers_refused_with_name),
         CASE(config_unknown_flag_and_key_refused),
         CASE(config_check_and_missing_model))
