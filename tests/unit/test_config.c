/* test_config.c - settings merge in the documented order and every bad
 * value is refused with the name of the flag, variable or key. */
#include <errno.h>
#include <stdarg.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
        unsetenv("PREDICTD_MODEL_DIR");
        unsetenv("PREDICTD_DEFAULT_MODEL");
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
        EXPECT(c->n_models == 1 && strcmp(c->models[0].path, "flag.pkl") == 0);
        EXPECT(strcmp(c->models[0].name, "flag") == 0);
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

static bool config_models_named_and_repeated(void)
{
        struct config *c;
        struct config_error e;
        clear_env();
        EXPECT(parse(&c, &e, 9, "--model", "iris=/m/a.pkl", "--model", "/m/my model.v2.joblib",
                     "--model", "/m/x=y.pkl", "--default-model", "iris") == 0);
        EXPECT(c->n_models == 3);
        EXPECT(strcmp(c->models[0].name, "iris") == 0 && strcmp(c->models[0].path, "/m/a.pkl") == 0);
        EXPECT(strcmp(c->models[1].name, "my_model.v2") == 0);
        /* the part before '=' is not a name: the whole is a path */
        EXPECT(strcmp(c->models[2].name, "x_y") == 0 && strcmp(c->models[2].path, "/m/x=y.pkl") == 0);
        EXPECT(strcmp(c->default_model, "iris") == 0);
        config_free(c);
        EXPECT(parse(&c, &e, 5, "--model", "a=/x.pkl", "--model", "a=/y.pkl") == -EINVAL);
        EXPECT_CONTAINS(e.message, "two models are named 'a'");
        EXPECT(parse(&c, &e, 3, "--model", "a=") == -EINVAL);
        EXPECT_CONTAINS(e.message, "no PATH");
        EXPECT(parse(&c, &e, 5, "--model", "a.pkl", "--default-model", "a b") == -EINVAL);
        EXPECT_CONTAINS(e.message, "--default-model");
        EXPECT(parse(&c, &e, 3, "--model-dir", "/repo") == 0);
        EXPECT(c->n_models == 0 && strcmp(c->model_dir, "/repo") == 0);
        config_free(c);
        return true;
}

static bool config_models_sources_replace_each_other(void)
{
        char path[] = "/tmp/predictd-config-XXXXXX";
        int fd = mkstemp(path);
        EXPECT(fd >= 0);
        const char text[] = "{\"model\": [\"a=/f/a.pkl\", \"/f/b.pkl\"], "
                            "\"model_dir\": \"/f/repo\", \"default_model\": \"a\"}";
        EXPECT(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
        close(fd);
        struct config *c;
        struct config_error e;
        clear_env();
        int rc = parse(&c, &e, 3, "--config", path);
        EXPECT(rc == 0);
        EXPECT(c->n_models == 2 && strcmp(c->models[1].name, "b") == 0);
        EXPECT(strcmp(c->model_dir, "/f/repo") == 0 && strcmp(c->default_model, "a") == 0);
        config_free(c);
        /* the environment's list replaces the file's */
        setenv("PREDICTD_MODEL", "e1=/e/1.pkl,/e/2.pkl", 1);
        setenv("PREDICTD_DEFAULT_MODEL", "e1", 1);
        rc = parse(&c, &e, 3, "--config", path);
        EXPECT(rc == 0);
        EXPECT(c->n_models == 2 && strcmp(c->models[0].name, "e1") == 0 &&
               strcmp(c->models[1].name, "2") == 0);
        EXPECT(strcmp(c->default_model, "e1") == 0);
        config_free(c);
        /* a directory alone replaces the file's list too */
        setenv("PREDICTD_MODEL_DIR", "/e/repo", 1);
        unsetenv("PREDICTD_MODEL");
        rc = parse(&c, &e, 3, "--config", path);
        EXPECT(rc == 0);
        EXPECT(c->n_models == 0 && strcmp(c->model_dir, "/e/repo") == 0);
        config_free(c);
        /* --model-dir alone replaces the environment's models */
        setenv("PREDICTD_MODEL", "e1=/e/1.pkl", 1);
        rc = parse(&c, &e, 5, "--config", path, "--model-dir", "/flag/repo");
        EXPECT(rc == 0);
        EXPECT(c->n_models == 0 && strcmp(c->model_dir, "/flag/repo") == 0);
        config_free(c);
        /* and flags replace both */
        rc = parse(&c, &e, 7, "--config", path, "--model", "f=/f.pkl", "--model-dir", "/d");
        unlink(path);
        clear_env();
        EXPECT(rc == 0);
        EXPECT(c->n_models == 1 && strcmp(c->models[0].name, "f") == 0);
        EXPECT(strcmp(c->model_dir, "/d") == 0);
        config_free(c);
        return true;
}

static void write_file(const char *dir, const char *name, const char *text)
{
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "w");
        if (f) {
                fputs(text, f);
                fclose(f);
        }
}

static unsigned affinity(void)
{
        cpu_set_t set;
        return sched_getaffinity(0, sizeof(set), &set) == 0 ? (unsigned)CPU_COUNT(&set) : 0;
}

/* A quota of half a CPU gives 1 thread; "max" leaves the affinity mask;
 * cgroup v1's cfs files are read when there is no cpu.max. */
static bool config_cpu_count_follows_cgroup_quota(void)
{
        char root[] = "/tmp/predictd-cgroup-XXXXXX", how[160], sub[80];
        EXPECT(mkdtemp(root) != NULL);
        unsigned aff = affinity();
        EXPECT(aff >= 1);

        EXPECT(config_cpu_count(root, how, sizeof(how)) == aff); /* no files */
        EXPECT_CONTAINS(how, "affinity");
        write_file(root, "cpu.max", "50000 100000\n");
        EXPECT(config_cpu_count(root, how, sizeof(how)) == 1);
        EXPECT_CONTAINS(how, "cpu.max 50000/100000");
        write_file(root, "cpu.max", "max 100000\n");
        EXPECT(config_cpu_count(root, how, sizeof(how)) == aff);
        EXPECT_CONTAINS(how, "affinity");
        /* a quota above the affinity mask does not raise the count */
        write_file(root, "cpu.max", "100000000 100000\n");
        EXPECT(config_cpu_count(root, how, sizeof(how)) == aff);
        snprintf(sub, sizeof(sub), "%s/cpu.max", root);
        unlink(sub);

        snprintf(sub, sizeof(sub), "%s/cpu,cpuacct", root);
        EXPECT(mkdir(sub, 0700) == 0);
        write_file(sub, "cpu.cfs_quota_us", "-1\n");
        write_file(sub, "cpu.cfs_period_us", "100000\n");
        EXPECT(config_cpu_count(root, how, sizeof(how)) == aff);
        write_file(sub, "cpu.cfs_quota_us", "100000\n");
        EXPECT(config_cpu_count(root, how, sizeof(how)) == 1);
        EXPECT_CONTAINS(how, "cpu.cfs_quota_us 100000/100000");

        char path[700];
        snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", sub);
        unlink(path);
        snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", sub);
        unlink(path);
        rmdir(sub);
        rmdir(root);
        return true;
}

static bool config_lifecycle_settings(void)
{
        struct config *c;
        struct config_error e;
        clear_env();
        EXPECT(parse(&c, &e, 3, "--model", "m.pkl") == 0);
        EXPECT(c->drain_grace_s == 5 && c->drain_timeout_s == 30 && !c->reuse_port);
        EXPECT(c->max_connections == 4096 && c->max_conn_per_client == 0);
        EXPECT_CONTAINS(c->threads_how, "the default: ");
        config_free(c);
        setenv("PREDICTD_REUSE_PORT", "yes", 1);
        EXPECT(parse(&c, &e, 9, "--model", "m.pkl", "--drain-grace", "0", "--threads", "3",
                     "--max-connections-per-client", "8") == 0);
        EXPECT(c->reuse_port && c->drain_grace_s == 0 && c->max_conn_per_client == 8);
        EXPECT(strcmp(c->threads_how, "--threads") == 0);
        config_free(c);
        setenv("PREDICTD_REUSE_PORT", "maybe", 1);
        EXPECT(parse(&c, &e, 3, "--model", "m.pkl") == -EINVAL);
        EXPECT_CONTAINS(e.message, "PREDICTD_REUSE_PORT");
        unsetenv("PREDICTD_REUSE_PORT");
        EXPECT(parse(&c, &e, 5, "--model", "m.pkl", "--max-connections", "0") == -EINVAL);
        EXPECT_CONTAINS(e.message, "--max-connections");
        return true;
}

static bool config_trust_settings_merged_and_checked(void)
{
        struct config *c;
        struct config_error e;
        static const char hex[] =
                "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef";
        char pin[100];
        snprintf(pin, sizeof(pin), "m=%s", hex);
        clear_env();
        setenv("PREDICTD_VERIFY_KEY", "/env/a.pem,/env/b.pem", 1);
        setenv("PREDICTD_MODEL_SHA256", pin, 1);
        setenv("PREDICTD_API_KEY_FILE", "/env/keys", 1);
        EXPECT(parse(&c, &e, 5, "--model", "m.pkl", "--verify-key", "/flag/c.pem") == 0);
        /* the flag's list replaces the environment's; the pins stay */
        EXPECT(c->n_verify_keys == 1 && strcmp(c->verify_keys[0], "/flag/c.pem") == 0);
        EXPECT(c->n_pins == 1 && strcmp(c->pins[0].name, "m") == 0);
        EXPECT(strncmp(c->pins[0].sha256, "0123456789abcdef0123", 20) == 0);
        EXPECT(strcmp(c->api_key_file, "/env/keys") == 0 && !c->metrics_auth);
        config_free(c);
        EXPECT(parse(&c, &e, 4, "--model", "m.pkl", "--metrics-auth") == 0);
        EXPECT(c->metrics_auth && c->n_verify_keys == 2);
        config_free(c);
        unsetenv("PREDICTD_API_KEY_FILE");
        EXPECT(parse(&c, &e, 4, "--model", "m.pkl", "--metrics-auth") == -EINVAL);
        EXPECT_CONTAINS(e.message, "--api-key-file");
        setenv("PREDICTD_MODEL_SHA256", "m=12ab", 1);
        EXPECT(parse(&c, &e, 3, "--model", "m.pkl") == -EINVAL);
        EXPECT_CONTAINS(e.message, "PREDICTD_MODEL_SHA256: expected 64 hex digits");
        unsetenv("PREDICTD_MODEL_SHA256");
        unsetenv("PREDICTD_VERIFY_KEY");
        EXPECT(parse(&c, &e, 5, "--model", "m.pkl", "--model-sha256", hex) == -EINVAL);
        EXPECT_CONTAINS(e.message, "--model-sha256: expected NAME=SHA256");
        EXPECT(parse(&c, &e, 5, "--model", "m.pkl", "--api-key-file", "") == -EINVAL);
        EXPECT_CONTAINS(e.message, "--api-key-file: expected FILE");
        return true;
}

static bool config_unknown_environment_variable_refused(void)
{
        struct config *c;
        struct config_error e;
        clear_env();
        setenv("PREDICTD_MAX_BODY_BYTE", "100", 1);
        EXPECT(parse(&c, &e, 3, "--model", "m.pkl") == -EINVAL);
        EXPECT_CONTAINS(e.message, "unknown environment variable PREDICTD_MAX_BODY_BYTE");
        unsetenv("PREDICTD_MAX_BODY_BYTE");
        setenv("PREDICTD_MAX_BODY_BYTES", "100", 1);
        setenv("PREDICTD_METRICS_AUTH", "0", 1);
        EXPECT(parse(&c, &e, 3, "--model", "m.pkl") == 0);
        EXPECT(c->max_body_bytes == 100);
        config_free(c);
        unsetenv("PREDICTD_MAX_BODY_BYTES");
        unsetenv("PREDICTD_METRICS_AUTH");
        return true;
}

static bool config_sign_and_check_arguments(void)
{
        struct config *c;
        struct config_error e;
        clear_env();
        EXPECT(parse(&c, &e, 5, "sign", "--key", "k.pem", "m.pkl") == 0);
        EXPECT(c->command == CONFIG_SIGN && strcmp(c->sign_key, "k.pem") == 0 &&
               strcmp(c->model_path, "m.pkl") == 0);
        config_free(c);
        EXPECT(parse(&c, &e, 3, "sign", "m.pkl") == -EINVAL);
        EXPECT_CONTAINS(e.message, "--key PRIVATE.pem");
        EXPECT(parse(&c, &e, 6, "check", "--verify-key=a.pem", "--verify-key", "b.pem",
                     "m.pkl") == 0);
        EXPECT(c->command == CONFIG_CHECK && c->n_verify_keys == 2 &&
               strcmp(c->verify_keys[1], "b.pem") == 0);
        config_free(c);
        EXPECT(parse(&c, &e, 4, "check", "--key", "m.pkl") == -EINVAL);
        EXPECT_CONTAINS(e.message, "unknown argument '--key'");
        EXPECT(parse(&c, &e, 4, "eval", "a.pkl", "b.pkl") == -EINVAL);
        EXPECT_CONTAINS(e.message, "exactly one PATH, got 2");
        return true;
}

/* --receive-timeout (at least 1 s: 0 would cut every request) and
 * --request-timeout (0: no limit) from their defaults, the environment
 * and flags. */
static bool config_deadlines(void)
{
        struct config *c;
        struct config_error e;
        clear_env();
        EXPECT(parse(&c, &e, 3, "--model", "m.pkl") == 0);
        EXPECT(c->receive_timeout_s == 30 && c->request_timeout_s == 60);
        config_free(c);
        setenv("PREDICTD_REQUEST_TIMEOUT", "0", 1);
        EXPECT(parse(&c, &e, 4, "--model", "m.pkl", "--receive-timeout=5") == 0);
        EXPECT(c->receive_timeout_s == 5 && c->request_timeout_s == 0);
        config_free(c);
        unsetenv("PREDICTD_REQUEST_TIMEOUT");
        EXPECT(parse(&c, &e, 5, "--model", "m.pkl", "--receive-timeout", "0") == -EINVAL);
        EXPECT_CONTAINS(e.message, "--receive-timeout: expected a whole number in [1, 86400]");
        setenv("PREDICTD_RECEIVE_TIMEOUT", "soon", 1);
        EXPECT(parse(&c, &e, 3, "--model", "m.pkl") == -EINVAL);
        EXPECT_CONTAINS(e.message, "PREDICTD_RECEIVE_TIMEOUT");
        unsetenv("PREDICTD_RECEIVE_TIMEOUT");
        return true;
}

static bool config_log_settings_from_every_source(void)
{
        struct config *c;
        struct config_error e;
        clear_env();
        EXPECT(parse(&c, &e, 3, "--model", "m.pkl") == 0);
        EXPECT(c->log_format == CONFIG_LOG_JSON && c->log_level == CONFIG_LOG_INFO);
        EXPECT(c->access_log == NULL);
        config_free(c);

        char path[] = "/tmp/predictd-config-XXXXXX";
        int fd = mkstemp(path);
        EXPECT(fd >= 0);
        const char text[] = "{\"log_format\": \"text\", \"log_level\": \"error\", "
                            "\"access_log\": \"/var/log/a.log\"}";
        EXPECT(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
        close(fd);
        setenv("PREDICTD_LOG_LEVEL", "warn", 1);
        int rc = parse(&c, &e, 5, "--config", path, "--model", "m.pkl");
        EXPECT(rc == 0);
        EXPECT(c->log_format == CONFIG_LOG_TEXT);   /* the file */
        EXPECT(c->log_level == CONFIG_LOG_WARN);    /* env over file */
        EXPECT(c->access_log && strcmp(c->access_log, "/var/log/a.log") == 0);
        config_free(c);
        /* a flag over both; "-" puts the access log back on stderr */
        rc = parse(&c, &e, 8, "--config", path, "--model", "m.pkl", "--log-level=debug",
                   "--access-log", "-");
        unlink(path);
        unsetenv("PREDICTD_LOG_LEVEL");
        EXPECT(rc == 0);
        EXPECT(c->log_level == CONFIG_LOG_DEBUG && c->access_log == NULL);
        config_free(c);

        EXPECT(parse(&c, &e, 5, "--model", "m", "--log-format", "xml") == -EINVAL);
        EXPECT_CONTAINS(e.message, "--log-format");
        EXPECT_CONTAINS(e.message, "json, text");
        EXPECT_CONTAINS(e.message, "'xml'");
        setenv("PREDICTD_LOG_LEVEL", "verbose", 1);
        EXPECT(parse(&c, &e, 3, "--model", "m") == -EINVAL);
        EXPECT_CONTAINS(e.message, "PREDICTD_LOG_LEVEL");
        unsetenv("PREDICTD_LOG_LEVEL");
        EXPECT(parse(&c, &e, 4, "--model", "m", "--access-log") == -EINVAL);
        EXPECT_CONTAINS(e.message, "--access-log");
        return true;
}

TAP_MAIN(CASE(config_cpu_count_follows_cgroup_quota),
         CASE(config_deadlines),
         CASE(config_log_settings_from_every_source),
         CASE(config_trust_settings_merged_and_checked),
         CASE(config_unknown_environment_variable_refused),
         CASE(config_sign_and_check_arguments),
         CASE(config_lifecycle_settings),
         CASE(config_models_named_and_repeated),
         CASE(config_models_sources_replace_each_other),
         CASE(config_defaults_applied),
         CASE(config_flags_override_env_override_file),
         CASE(config_bad_numbers_refused_with_name),
         CASE(config_unknown_flag_and_key_refused),
         CASE(config_check_and_missing_model))
