/* test_auth.c - API key files and the check of a request's bearer key:
 * comments and blank lines skipped, a malformed file refused by name and
 * line without showing the line, missing and wrong keys told apart, the
 * admin right checked, and a broken file on reload keeping the keys in
 * use. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "server_internal.h"
#include "tap.h"

#define USER "user-key-0123456789abcdef"
#define ADMIN "admin-key-0123456789abcdef"

static char dir[] = "/tmp/predictd-auth-XXXXXX";
static char user_path[128], admin_path[128];

static void put(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");
        if (f) {
                fputs(text, f);
                fclose(f);
        }
}

static struct config cfg_of(bool user, bool admin)
{
        struct config c = { 0 };
        c.api_key_file = user ? user_path : NULL;
        c.admin_key_file = admin ? admin_path : NULL;
        return c;
}

static bool auth_keys_checked_by_need(void)
{
        put(user_path, "# keys\n\n   " USER "\t\r\nsecond-key-0000000000\n");
        put(admin_path, ADMIN "\n");
        struct config c = cfg_of(true, true);
        struct auth *a;
        char err[600];
        EXPECT(auth_create(&c, &a, err, sizeof(err)) == 0);
        EXPECT(auth_check(a, AUTH_NEED_NONE, NULL) == AUTH_OK);
        EXPECT(auth_check(a, AUTH_NEED_KEY, NULL) == AUTH_MISSING);
        EXPECT(auth_check(a, AUTH_NEED_KEY, "Basic dXNlcjpwYXNz") == AUTH_MISSING);
        EXPECT(auth_check(a, AUTH_NEED_KEY, "Bearer ") == AUTH_MISSING);
        EXPECT(auth_check(a, AUTH_NEED_KEY, "Bearer" USER) == AUTH_MISSING);
        EXPECT(auth_check(a, AUTH_NEED_KEY, "Bearer " USER) == AUTH_OK);
        EXPECT(auth_check(a, AUTH_NEED_KEY, "bEaReR  second-key-0000000000 ") == AUTH_OK);
        EXPECT(auth_check(a, AUTH_NEED_KEY, "Bearer " USER "x") == AUTH_WRONG);
        EXPECT(auth_check(a, AUTH_NEED_KEY, "Bearer user-key-0123456789abcde") == AUTH_WRONG);
        EXPECT(auth_check(a, AUTH_NEED_KEY, "Bearer " ADMIN) == AUTH_OK);
        EXPECT(auth_check(a, AUTH_NEED_ADMIN, "Bearer " USER) == AUTH_FORBIDDEN);
        EXPECT(auth_check(a, AUTH_NEED_ADMIN, "Bearer " ADMIN) == AUTH_OK);
        EXPECT(auth_check(a, AUTH_NEED_ADMIN, "Bearer nope-nope-nope-nope") == AUTH_WRONG);
        struct reply r = { 0 };
        auth_reply(a, AUTH_WRONG, &r);
        EXPECT(r.status == 401 && strstr(r.www_authenticate, "invalid_token"));
        EXPECT(!strstr(r.body, USER));
        free(r.body);
        auth_free(a);
        /* no admin file: the repository is closed to every key */
        c = cfg_of(true, false);
        EXPECT(auth_create(&c, &a, err, sizeof(err)) == 0);
        EXPECT(auth_check(a, AUTH_NEED_ADMIN, "Bearer " USER) == AUTH_FORBIDDEN);
        EXPECT(auth_check(a, AUTH_NEED_ADMIN, "Bearer " ADMIN) == AUTH_WRONG);
        auth_free(a);
        /* no files: everything open */
        c = cfg_of(false, false);
        EXPECT(auth_create(&c, &a, err, sizeof(err)) == 0);
        EXPECT(auth_check(a, AUTH_NEED_ADMIN, NULL) == AUTH_OK);
        EXPECT(!auth_keys_required(a) && !auth_metrics_required(a));
        auth_free(a);
        return true;
}

static bool auth_bad_files_refused_without_showing_lines(void)
{
        struct config c = cfg_of(true, false);
        struct auth *a = NULL;
        char err[600];
        put(user_path, USER "\nshort-secret\n");
        EXPECT(auth_create(&c, &a, err, sizeof(err)) == -EINVAL);
        EXPECT_CONTAINS(err, " line 2: expected a key of 16 to 1024");
        EXPECT(!strstr(err, "short-secret") && !strstr(err, USER));
        put(user_path, "a key with spaces inside it\n");
        EXPECT(auth_create(&c, &a, err, sizeof(err)) == -EINVAL);
        EXPECT(!strstr(err, "inside"));
        put(user_path, "# nothing\n\n");
        EXPECT(auth_create(&c, &a, err, sizeof(err)) == -EINVAL);
        EXPECT_CONTAINS(err, "holds no key");
        unlink(user_path);
        EXPECT(auth_create(&c, &a, err, sizeof(err)) == -ENOENT);
        EXPECT_CONTAINS(err, user_path);
        return true;
}

static bool auth_reload_swaps_or_keeps(void)
{
        put(user_path, USER "\n");
        struct config c = cfg_of(true, false);
        struct auth *a;
        char err[600];
        EXPECT(auth_create(&c, &a, err, sizeof(err)) == 0);
        put(user_path, "rotated-key-0123456789\n");
        auth_reload(a);
        EXPECT(auth_check(a, AUTH_NEED_KEY, "Bearer " USER) == AUTH_WRONG);
        EXPECT(auth_check(a, AUTH_NEED_KEY, "Bearer rotated-key-0123456789") == AUTH_OK);
        put(user_path, "broken\n");
        auth_reload(a);
        EXPECT(auth_check(a, AUTH_NEED_KEY, "Bearer rotated-key-0123456789") == AUTH_OK);
        auth_free(a);
        return true;
}

static bool auth_cleanup(void)
{
        unlink(user_path);
        unlink(admin_path);
        EXPECT(rmdir(dir) == 0);
        return true;
}

static bool auth_setup(void)
{
        EXPECT(mkdtemp(dir) != NULL);
        snprintf(user_path, sizeof(user_path), "%s/api-keys", dir);
        snprintf(admin_path, sizeof(admin_path), "%s/admin-keys", dir);
        return true;
}

TAP_MAIN(CASE(auth_setup),
         CASE(auth_keys_checked_by_need),
         CASE(auth_bad_files_refused_without_showing_lines),
         CASE(auth_reload_swaps_or_keeps),
         CASE(auth_cleanup))
