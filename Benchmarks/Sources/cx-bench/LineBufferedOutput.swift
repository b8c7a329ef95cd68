// Only the C library here: with Foundation imported too, its import of
// `stdout` (a C global) is the one Swift 6 checks, and refuses.
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// Prints a line at a time even into a file or pipe, where C's default is
/// a block at a time: what a long run printed survives it being stopped.
/// Call once, before anything is printed.
func lineBufferStandardOutput() {
    setvbuf(stdout, nil, _IOLBF, 0)
}
