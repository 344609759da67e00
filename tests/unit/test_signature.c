/* test_signature.c - pinned digests and Ed25519 signatures of model files
 * (serialize/signature.c): a file signed by serialize_sign_file loads with
 * its key and says so, and a flipped byte in the file or the signature,
 * another key, a missing or truncated signature, a digest other than the
 * pinned one and a key of another kind are each refused naming the file.
 * The keys are made here with OpenSSL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "model.h"
#include "serialize.h"
#include "tap.h"

static char dir[] = "/tmp/predictd-sig-XXXXXX";
static char model_path[160], sig_path[170], priv[160], pub[160], pub2[160], x25519[160];

static bool write_key(EVP_PKEY *k, const char *path, bool private_part)
{
        FILE *f = fopen(path, "w");
        if (!f)
                return false;
        int ok = private_part ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL)
                              : PEM_write_PUBKEY(f, k);
        fclose(f);
        return ok == 1;
}

static bool copy(const char *from, const char *to, long flip_at)
{
        FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
        bool ok = in && out;
        int c;
        for (long i = 0; ok && (c = fgetc(in)) != EOF; i++)
                ok = fputc(i == flip_at ? c ^ 1 : c, out) != EOF;
        if (in)
                fclose(in);
        if (out)
                fclose(out);
        return ok;
}

static int load(const char *const *pins, size_t n_pins, const char *keyfile,
                struct serialize_info **info, struct serialize_error *err)
{
        struct serialize_keys *keys = NULL;
        if (keyfile) {
                int rc = serialize_keys_load(&keyfile, 1, &keys, err);
                if (rc < 0)
                        return rc;
        }
        struct serialize_trust t = { .keys = keys, .sha256 = pins, .n_sha256 = n_pins };
        struct model *m = NULL;
        int rc = serialize_load_trusted(model_path, NULL, &t, &m, info, err);
        model_free(m);
        serialize_keys_free(keys);
        return rc;
}

static bool signature_setup(void)
{
        EXPECT(mkdtemp(dir) != NULL);
        snprintf(model_path, sizeof(model_path), "%s/m.pkl", dir);
        snprintf(sig_path, sizeof(sig_path), "%s/m.pkl.sig", dir);
        snprintf(priv, sizeof(priv), "%s/one.key", dir);
        snprintf(pub, sizeof(pub), "%s/one.pub", dir);
        snprintf(pub2, sizeof(pub2), "%s/two.pub", dir);
        snprintf(x25519, sizeof(x25519), "%s/x.pub", dir);
        EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        EVP_PKEY *b = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
        EXPECT(a && b && x);
        EXPECT(write_key(a, priv, true) && write_key(a, pub, false));
        EXPECT(write_key(b, pub2, false) && write_key(x, x25519, false));
        EVP_PKEY_free(a);
        EVP_PKEY_free(b);
        EVP_PKEY_free(x);
        EXPECT(copy(FIXTURES "/iris_logreg_p2.pkl", model_path, -1));
        return true;
}

static bool signature_signed_file_loads(void)
{
        struct serialize_error err;
        struct serialize_info *info = NULL;
        char sha[65];
        EXPECT(serialize_sign_file(model_path, priv, 1 << 20, sha, &err) == 0);
        EXPECT(load(NULL, 0, pub, &info, &err) == 0);
        EXPECT(strcmp(info->sha256, sha) == 0);
        EXPECT_CONTAINS(info->signature, "valid (");
        EXPECT_CONTAINS(info->signature, pub);
        serialize_info_free(info);
        const char *pins[] = { "00", sha };
        EXPECT(load(pins, 2, pub, &info, &err) == 0);
        serialize_info_free(info);
        EXPECT(load(NULL, 0, NULL, &info, &err) == 0);
        EXPECT_CONTAINS(info->signature, "not checked");
        serialize_info_free(info);
        return true;
}

static bool signature_tampering_refused(void)
{
        struct serialize_error err;
        struct serialize_info *info = NULL;
        char tmp[200];
        snprintf(tmp, sizeof(tmp), "%s/orig", dir);
        EXPECT(copy(model_path, tmp, -1));
        /* a flipped byte in the model */
        EXPECT(copy(tmp, model_path, 200));
        EXPECT(load(NULL, 0, pub, &info, &err) == -EPERM);
        EXPECT_CONTAINS(err.message, sig_path);
        EXPECT_CONTAINS(err.message, "does not match");
        EXPECT(copy(tmp, model_path, -1));
        /* another key */
        EXPECT(load(NULL, 0, pub2, &info, &err) == -EPERM);
        EXPECT_CONTAINS(err.message, "does not match");
        /* a flipped byte in the signature */
        char sig_orig[200];
        snprintf(sig_orig, sizeof(sig_orig), "%s/sig", dir);
        EXPECT(copy(sig_path, sig_orig, -1));
        EXPECT(copy(sig_orig, sig_path, 63));
        EXPECT(load(NULL, 0, pub, &info, &err) == -EPERM);
        EXPECT_CONTAINS(err.message, "does not match");
        /* a pinned digest that is not the file's */
        EXPECT(copy(sig_orig, sig_path, -1));
        const char *pins[] = { "0000000000000000000000000000000000000000000000000000000000000000" };
        EXPECT(load(pins, 1, pub, &info, &err) == -EPERM);
        EXPECT_CONTAINS(err.message, "SHA-256 is ");
        /* truncated, then missing */
        EXPECT(truncate(sig_path, 63) == 0);
        EXPECT(load(NULL, 0, pub, &info, &err) == -EPERM);
        EXPECT_CONTAINS(err.message, "64-byte Ed25519 signature");
        EXPECT(unlink(sig_path) == 0);
        EXPECT(load(NULL, 0, pub, &info, &err) == -EPERM);
        EXPECT_CONTAINS(err.message, "no such file");
        EXPECT(load(NULL, 0, NULL, &info, &err) == 0);
        EXPECT_CONTAINS(info->signature, "none (no ");
        serialize_info_free(info);
        /* keys of the wrong kind */
        EXPECT(load(NULL, 0, x25519, &info, &err) == -EINVAL);
        EXPECT_CONTAINS(err.message, "expected an Ed25519 key, found a X25519 key");
        EXPECT(load(NULL, 0, priv, &info, &err) == -EINVAL);
        EXPECT_CONTAINS(err.message, "expected an Ed25519 public key");
        char sha[65];
        EXPECT(serialize_sign_file(model_path, pub, 1 << 20, sha, &err) == -EINVAL);
        EXPECT_CONTAINS(err.message, "expected an Ed25519 private key");
        EXPECT(serialize_sign_file(model_path, priv, 16, sha, &err) == -EFBIG);
        EXPECT_CONTAINS(err.message, model_path);
        EXPECT(access(sig_path, F_OK) != 0);
        unlink(tmp);
        unlink(sig_orig);
        return true;
}

static bool signature_cleanup(void)
{
        const char *files[] = { model_path, sig_path, priv, pub, pub2, x25519 };
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
                unlink(files[i]);
        EXPECT(rmdir(dir) == 0);
        return true;
}

TAP_MAIN(CASE(signature_setup),
         CASE(signature_signed_file_loads),
         CASE(signature_tampering_refused),
         CASE(signature_cleanup))
