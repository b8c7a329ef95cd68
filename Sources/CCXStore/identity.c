#if defined(__linux__)
#define _GNU_SOURCE
#endif
#include "CCXStore.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <sys/stat.h>
#if defined(__linux__)
#include <sys/sysmacros.h>
#endif

static int from_stat(int result, const struct stat *status, ccxstore_file_identity *identity) {
    if (result != 0) return -1;
    identity->device = (uint64_t)status->st_dev;
    identity->inode = (uint64_t)status->st_ino;
    return 0;
}

#if defined(__linux__) && defined(STATX_INO)
/// 1 once `statx` was refused (ENOSYS, or EPERM from a seccomp filter):
/// from then on `stat` answers.
static atomic_int statx_refused = 0;

static int with_statx(int directory, const char *path, int flags, ccxstore_file_identity *identity) {
    struct statx status;
    if (statx(directory, path, flags, STATX_INO, &status) != 0) {
        if (errno == ENOSYS || errno == EPERM) statx_refused = 1;
        return -1;
    }
    // The number `stat` gives as st_dev, so both answers compare equal.
    identity->device = (uint64_t)makedev(status.stx_dev_major, status.stx_dev_minor);
    identity->inode = status.stx_ino;
    return 0;
}
#endif

int ccxstore_path_identity(const char *path, ccxstore_file_identity *identity) {
#if defined(__linux__) && defined(STATX_INO)
    if (!statx_refused) {
        if (with_statx(AT_FDCWD, path, 0, identity) == 0) return 0;
        if (!statx_refused) return -1;
    }
#endif
    struct stat status;
    return from_stat(stat(path, &status), &status, identity);
}

int ccxstore_descriptor_identity(int descriptor, ccxstore_file_identity *identity) {
#if defined(__linux__) && defined(STATX_INO)
    if (!statx_refused) {
        if (with_statx(descriptor, "", AT_EMPTY_PATH, identity) == 0) return 0;
        if (!statx_refused) return -1;
    }
#endif
    struct stat status;
    return from_stat(fstat(descriptor, &status), &status, identity);
}
