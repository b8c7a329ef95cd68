#ifndef CCXSTORE_H
#define CCXSTORE_H

#include <stdint.h>

/// Which file a path or a descriptor names: its device and inode number.
typedef struct {
    uint64_t device;
    uint64_t inode;
} ccxstore_file_identity;

/// The identity of the file at `path` (following symbolic links): 0, or -1
/// with errno set.
///
/// On Linux it asks `statx` for the inode number alone. A `stat` or `fstat`
/// asks for the change and modification times too, and since Linux 6.13 a
/// file whose times were looked at gets a fine-grained time at its next
/// write: the inode changes at every write, and on ext4 without a journal
/// every `fdatasync` then writes the inode table block as well, one more
/// synchronous disk write per flush. Elsewhere, and where `statx` is not
/// allowed (older seccomp profiles), it is `stat`.
int ccxstore_path_identity(const char *path, ccxstore_file_identity *identity);

/// The identity of the file open as `descriptor`, asking for as little as
/// ``ccxstore_path_identity``: 0, or -1 with errno set.
int ccxstore_descriptor_identity(int descriptor, ccxstore_file_identity *identity);

#endif
