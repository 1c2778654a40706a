/* SPDX-License-Identifier: MIT */
/*
 * Regression runner for the fuzz harnesses: linked instead of libFuzzer (so it builds with gcc
 * and runs in the unit suite under ASan/UBSan), it feeds every file under each directory given
 * on the command line through the harness's LLVMFuzzerTestOneInput, each input in a buffer of
 * exactly its size (ASan sees any over-read). A subdirectory first selects the harness's
 * parameter through fz_subdir(name) (the venue id of tests/fuzz/corpus/venue/<id>/), then its
 * files run. A crash, a sanitizer report or a failed FZ_CHECK aborts: the test fails.
 *
 * usage: fuzz_<harness>_regress DIR... (missing or empty directories are errors)
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

__attribute__((weak)) int fz_subdir(const char *name)
{
    return 0;
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fprintf(stderr, "%s: read failed\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Run the files of dir (depth 0: subdirectories select a parameter first). Returns the count
 * of inputs run, or -1. */
static long run_dir(const char *dir, int depth)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, by_name);
    if (n < 0) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return -1;
    }
    long count = 0;
    for (int i = 0; i < n && count >= 0; i++) {
        char path[4096];
        if (ents[i]->d_name[0] == '.') /* also README-less dotfiles */
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
        struct stat st;
        if (stat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth == 0) {
            if (fz_subdir(ents[i]->d_name) < 0) {
                fprintf(stderr, "%s: not a parameter this harness knows\n", path);
                count = -1;
                break;
            }
            long k = run_dir(path, 1);
            printf("  %s: %ld inputs\n", path, k);
            count = k < 0 ? -1 : count + k;
        } else if (S_ISREG(st.st_mode)) {
            count = run_file(path) < 0 ? -1 : count + 1;
        }
    }
    for (int i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    return count;
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    int bad = 0;
    long total = 0;
    for (int i = 1; i < argc; i++) {
        long k = run_dir(argv[i], 0);
        printf("%s: %ld inputs\n", argv[i], k);
        if (k <= 0)
            bad++;
        else
            total += k;
    }
    printf("%d passed, %d failed (%ld inputs without a crash)\n", argc - 1 - bad, bad, total);
    return bad ? 1 : 0;
}
