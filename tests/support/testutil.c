#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef PRD_DEFAULT_VECTORS_DIR
#define PRD_DEFAULT_VECTORS_DIR ""
#endif

const char *tu_vectors_dir(void)
{
    const char *env = getenv("PRD_VECTORS_DIR");
    const char *dir = env && *env ? env : PRD_DEFAULT_VECTORS_DIR;
    struct stat sb;
    if (!*dir || stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        fail_msg("OFFICIAL TEST VECTORS NOT FOUND at '%s': set PRD_VECTORS_DIR to shared/vectors", dir);
    return dir;
}

char *tu_read_vector(const char *relpath, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", tu_vectors_dir(), relpath);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open vector file %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    assert_true(n >= 0);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = (size_t)n;
    return buf;
}

unsigned char *tu_unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    unsigned char *out = malloc(n / 2 + 1);
    assert_non_null(out);
    size_t got = 0;
    if (prd_hex_decode(out, n / 2 + 1, &got, hex, n) != PRD_OK)
        fail_msg("bad hex in test data: %.60s", hex);
    *len = got;
    return out;
}

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/prdtest.XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

void tu_rmtree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
}
