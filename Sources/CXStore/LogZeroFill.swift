import Foundation
import GRDB
import GRDBSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps the WAL file written with zeros ahead of its last frame while the
/// log is still growing to its largest size, so that a commit's frames land
/// on blocks the file already has.
///
/// Flushing a write that grew a file costs a journal commit for its new size
/// and blocks; flushing the same write over blocks the file already has
/// costs only the data. Here (ext4 on the VM's disk), `fdatasync` after an
/// 8 KiB write took 146-149 µs appended and 88-98 µs overwritten. SQLite
/// starts the log over at its beginning once it is checkpointed whole, so a
/// running store overwrites anyway after its first lap; that first lap is
/// ``StoreOptions/logLimitBytes`` long (256 MiB by default: seconds of a
/// busy service, all of a benchmark) and this makes it behave like the
/// rest. PostgreSQL zero-fills new WAL segments for the same reason
/// (`wal_init_zero`).
///
/// It runs in SQLite's WAL hook on the writer connection, right after each
/// commit and on the writer's thread, so no frame is being written while it
/// extends the file, and it only ever writes past the file's end. The hook
/// replaces `wal_autocheckpoint` (SQLite allows one hook), so it also
/// checkpoints at the same threshold SQLite's own hook would. Zeros past the
/// last frame are what a WAL reader already ignores: recovery stops at the
/// first frame whose checksum fails. Zeroing is only a speed-up: if a write
/// of zeros fails (a full disk), it stops trying and the commit is unaffected.
final class LogZeroFill: @unchecked Sendable {
    // Everything below is touched only from the writer connection's commits
    // (serialized by GRDB's writer queue) and from `close()` after the
    // connection closed.
    private let walPath: String
    /// Bytes per frame: the page and its 24-byte header.
    private let frameSize: Int
    /// Frames at which the writer checkpoints, as `wal_autocheckpoint` would.
    private let checkpointFrames: Int32
    private let ahead: Int
    /// The log's largest size: past it, SQLite has started over at the beginning.
    private let limit: Int
    private var descriptor: Int32 = -1
    /// The file's size when last looked at (everything before it is
    /// written, frames or zeros); -1 before the first look.
    private var zeroedTo = -1
    private var gaveUp = false
    /// Zeros are written this much at a time, past what `ahead` needs.
    static let chunk = 1 << 20
    private static let zeros = [UInt8](repeating: 0, count: chunk)

    init(walPath: String, pageSize: Int, checkpointFrames: Int, ahead: Int) {
        self.walPath = walPath
        frameSize = pageSize + 24
        self.checkpointFrames = Int32(clamping: max(1, checkpointFrames))
        self.ahead = ahead
        limit = 32 + max(1, checkpointFrames) * (pageSize + 24) + ahead
    }

    deinit { close() }

    /// Installs the hook on the writer connection. The connection must not
    /// outlive `self`: the store's group commit keeps it.
    func install(on db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, Self.hook, Unmanaged.passUnretained(self).toOpaque())
    }

    private static let hook: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
        context, connection, name, frames in
        guard let context else { return SQLITE_OK }
        Unmanaged<LogZeroFill>.fromOpaque(context).takeUnretainedValue().committed(connection, name, frames: frames)
        return SQLITE_OK
    }

    private func committed(_ connection: OpaquePointer?, _ name: UnsafePointer<CChar>?, frames: Int32) {
        if frames >= checkpointFrames {
            // What SQLite's own hook does (sqlite3WalDefaultHook): a PASSIVE
            // checkpoint, whose outcome the commit does not depend on.
            _ = sqlite3_wal_checkpoint(connection, name)
            return
        }
        // A log holding less than `ahead` is left alone: a small store (a
        // test's, a quiet service's) never writes megabytes of zeros.
        let end = 32 + Int(frames) * frameSize
        guard end >= ahead else { return }
        zero(through: end + ahead)
    }

    /// Writes zeros from the file's end through at least `wanted`, a chunk at a time.
    private func zero(through wanted: Int) {
        guard !gaveUp, wanted > zeroedTo else { return }
        if descriptor < 0 { descriptor = open(walPath, O_WRONLY | O_CLOEXEC) }
        // The file's size, looked up before every write: a large commit may
        // have written frames past what was zeroed, and zeros go only past
        // the end, never over a frame.
        var status = stat()
        guard descriptor >= 0, fstat(descriptor, &status) == 0 else {
            gaveUp = true
            return
        }
        zeroedTo = Int(status.st_size)
        guard wanted > zeroedTo, zeroedTo < limit else { return }
        let target = min(limit, wanted + Self.chunk)
        while zeroedTo < target {
            let count = min(Self.chunk, target - zeroedTo)
            let written = Self.zeros.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, count, off_t(zeroedTo)) }
            guard written > 0 else {
                gaveUp = true
                return
            }
            zeroedTo += written
        }
    }

    func close() {
        if descriptor >= 0 { closeDescriptor(descriptor) }
        descriptor = -1
    }
}
