import Foundation
import GRDB
import Synchronization

/// How a store keeps its data. Every limit has a default.
public struct StoreOptions: Sendable {
    /// SQLite's `synchronous`: `FULL` (the default) makes a write durable
    /// before it is acknowledged; `NORMAL` can lose the last writes on power
    /// loss (not on a process crash).
    public enum Durability: String, Sendable {
        case full = "FULL"
        case normal = "NORMAL"
    }

    public var durability: Durability
    /// How long a connection waits for a lock before failing. Default 5 s.
    public var busyTimeout: TimeInterval
    /// Most operations one group-commit transaction takes. Default 512.
    public var maxBatchSize: Int
    /// Longest a group-commit transaction stays open for callers whose
    /// previous write just committed to hand in their next one, so that
    /// concurrent writers share one transaction instead of splitting into
    /// ever smaller ones. It waits only while such callers exist; a lone
    /// writer never waits. Default 1 ms; zero turns the wait off.
    public var maxBatchWait: Duration
    /// Reader connections. Default 4.
    public var maxReaders: Int
    /// The writer connection's page cache, in KiB. Default 65536 (64 MiB):
    /// SQLite's own default (2 MiB) holds too few of a large table's pages,
    /// and every miss is a read system call on the single writer thread.
    ///
    /// A large cache has a price on every commit that split a page at a
    /// random place: SQLite (3.40 here) renumbers the split pages through
    /// the lock-byte page number (page 524,289 with 2 KiB pages), which
    /// leaves that number as the highest the cache has seen, and the commit
    /// then walks the cache's whole hash table to drop pages past the end
    /// of the file (`pcache1TruncateUnsafe`). With 64 MiB of 2 KiB pages
    /// that walk was about 15% of the loyalty writer's time; a store whose
    /// commits each insert at many random places weighs it against the
    /// reads a smaller cache misses (the loyalty service keeps 8 MiB).
    public var writerCacheKiB: Int
    /// The page size of a database created with these options, in bytes (a
    /// power of two, 512 to 65536); an existing file keeps its own. Default
    /// 4096. A store whose writes each touch a few rows at random places
    /// (a ledger over many accounts) writes a whole page per row touched,
    /// twice (WAL, then checkpoint): smaller pages write fewer bytes.
    public var pageSize: Int
    /// How WAL pages reach the database file. With a `.background` interval
    /// (the default, 20 ms) a connection of the store's own copies them on a
    /// thread of its own, so the writer never stops a commit to do it (about
    /// an eighth of a busy writer's time); `.inCommit(pages)` is SQLite's
    /// own way, a commit checkpointing once the WAL holds that many pages.
    public var checkpoint: Checkpoint
    /// Where a durable (``Durability/full``) commit waits for the disk.
    /// `.offWriter` (the default): group commit commits without flushing and a
    /// thread of the store's own flushes the log, so the writer runs the next
    /// batches meanwhile and one flush covers them all; a write is still
    /// acknowledged only after its flush (see ``WALSync``). A transaction
    /// that holds every caller able to write leaves the writer nothing to
    /// run meanwhile, and the writer flushes it itself. `.inCommit`:
    /// SQLite's own `synchronous=FULL`, the writer waiting in every commit.
    /// Off the writer pays when operations are heavy (the loyalty service:
    /// 18–29% more purchases/s, its flushes taking about a millisecond). For
    /// one-row writes, whose flush is most of the work in flight, in each
    /// commit measured 11–30% more rows/s while every flush went through the
    /// flush thread; with the writer flushing such transactions itself the
    /// two modes measure about the same (`cx-bench store`).
    public var flush: Flush

    public enum Flush: String, Sendable {
        case offWriter
        case inCommit
    }

    public enum Checkpoint: Sendable, Equatable {
        case background(interval: Duration)
        case inCommit(pages: Int)
    }
    /// With `.background` checkpoints: how large the log may grow before the
    /// writer checkpoints it itself, so that SQLite starts it over (the
    /// background pass cannot finish while commits keep coming). Default
    /// 256 MiB. The writer's checkpoint flushes the log and the database file
    /// on the writer thread, with every write waiting: at 16 MiB it cost the
    /// loyalty service a sixth of its purchases/s (cx-bench loyalty, 2 KiB
    /// pages: 16 MiB 7,957-8,156/s, 64 MiB 8,981-10,010, 128 MiB
    /// 9,465-9,688, 256 MiB 10,144-10,719). The log file stays at its largest
    /// size (it is rewritten in place, never shrunk), and a restart after a
    /// crash reads it whole.
    public var logLimitBytes: Int
    /// How far past its last frame the writer keeps the log file written
    /// with zeros while the log grows to its largest size, so that commits
    /// write over blocks the file already has: flushing them then costs no
    /// journal commit for a new size (see ``LogZeroFill``; the store
    /// benchmark's flushes went from about 200 µs to about 150). Default
    /// 4 MiB; 0 leaves the log to grow as SQLite grows it.
    public var logZeroedAheadBytes: Int
    /// How long a stored idempotent answer is kept: a client retrying later
    /// than this runs the write again. Default 7 days.
    public var idempotencyRetention: TimeInterval

    public init(
        durability: Durability = .full, busyTimeout: TimeInterval = 5, maxBatchSize: Int = 512, maxReaders: Int = 4,
        idempotencyRetention: TimeInterval = 7 * 86_400, maxBatchWait: Duration = .milliseconds(1), writerCacheKiB: Int = 65_536,
        pageSize: Int = 4_096, checkpoint: Checkpoint = .background(interval: .milliseconds(20)), flush: Flush = .offWriter,
        logLimitBytes: Int = 256 << 20, logZeroedAheadBytes: Int = 4 << 20
    ) {
        self.logZeroedAheadBytes = logZeroedAheadBytes
        self.flush = flush
        self.logLimitBytes = logLimitBytes
        self.pageSize = pageSize
        self.checkpoint = checkpoint
        self.writerCacheKiB = writerCacheKiB
        self.maxBatchWait = maxBatchWait
        self.durability = durability
        self.busyTimeout = busyTimeout
        self.maxBatchSize = maxBatchSize
        self.maxReaders = maxReaders
        self.idempotencyRetention = idempotencyRetention
    }
}

/// One service's database: a SQLite file in WAL mode with foreign keys on,
/// migrated at open, written through group commit.
///
/// ```swift
/// var migrator = DatabaseMigrator()
/// migrator.registerMigration("v1 customers") { db in ... }
/// let store = try Store(directory: dataDir, name: "profiles", migrator: migrator)
/// try await store.write { db in try db.execute(sql: "INSERT ...") }
/// ```
public final class Store: Sendable {
    /// The database file.
    public let path: String
    public let options: StoreOptions
    let pool: DatabasePool
    private let groupCommit: GroupCommit
    private let checkpointer: Checkpointer?
    /// Flushes the log for commits made without flushing (``StoreOptions/Flush/offWriter``).
    private let sync: WALSync?

    /// Opens (creating when needed) `<directory>/<name>.sqlite` and runs the
    /// store's own migrations, then `migrator`'s. Migrations are named by
    /// string and never edited once shipped: add new ones.
    ///
    /// - Throws: GRDB's `DatabaseError` (file unreadable, a migration failed).
    public init(directory: URL, name: String, migrator: DatabaseMigrator = DatabaseMigrator(), options: StoreOptions = StoreOptions()) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("\(name).sqlite").path
        self.options = options
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(options.busyTimeout)
        configuration.maximumReaderCount = max(1, options.maxReaders)
        // Savepoint sub-journals and statement journals in memory, not in
        // temporary files: a batch of writes that each run in a savepoint
        // otherwise copies every page it touches into a file first (tens of
        // KiB of write syscalls per row). They never need to survive a crash:
        // the WAL is what makes a commit durable.
        let pageSize = options.pageSize
        precondition(pageSize.nonzeroBitCount == 1 && (512...65_536).contains(pageSize), "StoreOptions.pageSize \(pageSize)")
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            // Before GRDB turns WAL on: a new file takes it, an existing one ignores it.
            try db.execute(sql: "PRAGMA page_size = \(pageSize)")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        // Set on the writer after opening: GRDB's WAL setup sets NORMAL on
        // the writer connection after `prepareDatabase` has run, which would
        // quietly make an acknowledged write losable on power failure. With
        // the flush off the writer it stays NORMAL, and every write through
        // the store (migrations included) waits for `sync` instead.
        let offWriter = options.durability == .full && options.flush == .offWriter
        let synchronous = offWriter ? StoreOptions.Durability.normal.rawValue : options.durability.rawValue
        let cache = max(0, options.writerCacheKiB)
        let path = self.path
        let zeroFill: LogZeroFill? = try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            if cache > 0 { try db.execute(sql: "PRAGMA cache_size = -\(cache)") }
            // The file's own page size: an existing file keeps the one it was made with.
            let filePageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? pageSize
            let checkpointPages: Int
            switch options.checkpoint {
            case .inCommit(let pages): checkpointPages = max(1, pages)
            case .background:
                // The background pass never finishes while commits keep
                // coming (new frames arrive as it copies), and SQLite only
                // starts the WAL over after a finished checkpoint: without
                // this the WAL grows without end (650 MB in a minute of
                // purchases) and every frame extends the file. So the writer
                // still checkpoints now and then, and finds most pages
                // already copied (see ``StoreOptions/logLimitBytes``).
                checkpointPages = max(1_000, options.logLimitBytes / max(512, filePageSize))
            }
            guard options.logZeroedAheadBytes > 0 else {
                try db.execute(sql: "PRAGMA wal_autocheckpoint = \(checkpointPages)")
                return nil
            }
            // Its WAL hook checkpoints at the same number of pages.
            let zeroFill = LogZeroFill(
                walPath: path + "-wal", pageSize: filePageSize, checkpointFrames: checkpointPages, ahead: options.logZeroedAheadBytes)
            zeroFill.install(on: db)
            return zeroFill
        }
        try Self.storeMigrator.migrate(pool)
        try migrator.migrate(pool)
        sync = offWriter ? WALSync(databasePath: path) : nil
        try sync?.flushAndWait()
        groupCommit = GroupCommit(
            writer: pool, maxBatchSize: max(1, options.maxBatchSize), maxBatchWait: max(.zero, options.maxBatchWait), sync: sync,
            logZeroFill: zeroFill)
        if case .background(let interval) = options.checkpoint {
            var checkpointConfiguration = Configuration()
            checkpointConfiguration.busyMode = .timeout(options.busyTimeout)
            checkpointer = Checkpointer(connection: try DatabaseQueue(path: path, configuration: checkpointConfiguration), interval: interval)
        } else {
            checkpointer = nil
        }
    }

    /// The store's own tables, migrated before the service's.
    static let storeMigrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("cxstore v1 idempotency") { db in
            try db.execute(sql: """
                CREATE TABLE cx_idempotency (
                    scope TEXT NOT NULL CHECK (scope <> ''),
                    key TEXT NOT NULL CHECK (key <> ''),
                    request_fingerprint INTEGER NOT NULL,
                    response BLOB NOT NULL,
                    created_at REAL NOT NULL,
                    PRIMARY KEY (scope, key)
                ) WITHOUT ROWID
                """)
        }
        Outbox.migrate(&migrator)
        migrator.registerMigration("cxstore v2 idempotency by age") { db in
            try db.execute(sql: "CREATE INDEX cx_idempotency_by_age ON cx_idempotency (created_at)")
        }
        Outbox.migrateByDestination(&migrator)
        Outbox.migrateRefused(&migrator)
        Idempotency.migrateSubjects(&migrator)
        return migrator
    }()

    /// Runs `operation` in a transaction shared with concurrent writers and
    /// returns once it has committed durably. If `operation` throws, only its
    /// own changes are rolled back and only this call fails.
    ///
    /// `operation` may run more than once (when another operation in its
    /// batch throws, the batch is rolled back and run again); only the
    /// database effects of the run that commits remain. So it must do
    /// nothing but database work: no side effects elsewhere.
    public func write<T: Sendable>(_ operation: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await groupCommit.write(operation)
    }

    /// Group commit's work so far: transactions and the operations they
    /// carried (their ratio is the average batch).
    public var groupCommitStatistics: (transactions: Int, operations: Int) { groupCommit.statistics }

    /// How long the writer thread has worked for group commit since
    /// opening, waits for callers left out: its share of elapsed time is how
    /// near the store is to its limit. With ``StoreOptions/Flush/inCommit``
    /// it includes the flushes, which the writer waits for in its commits.
    public var writerBusy: Duration { groupCommit.busy }

    /// Log flushes done by the store so far (none with
    /// ``StoreOptions/Flush/inCommit``, where SQLite flushes in each commit),
    /// the time they took, and how many of them the writer did itself (a
    /// transaction that held every caller able to write: see `GroupCommit`).
    public var flushStatistics: (flushes: Int, time: Duration, byWriter: Int) {
        guard let statistics = sync?.statistics else { return (0, .zero, 0) }
        return (statistics.flushes, statistics.time, statistics.byCaller)
    }

    /// Runs `operation` in a transaction of its own, bypassing group commit
    /// (for migrations of data, long batch jobs, and the benchmark's reference).
    public func writeAlone<T: Sendable>(_ operation: @escaping @Sendable (Database) throws -> T) async throws -> T {
        guard let sync else { return try await pool.write(operation) }
        // Checked in the transaction: a flush that failed meanwhile stops it too.
        let result = try await pool.write { db in
            if let failure = sync.failure { throw failure }
            return try operation(db)
        }
        try await flushed()
        return result
    }

    /// Returns once everything committed so far is on disk (at once when
    /// commits flush for themselves).
    func flushed() async throws {
        guard let sync else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            sync.afterFlush { failure in
                if let failure { continuation.resume(throwing: failure) } else { continuation.resume() }
            }
        }
    }

    /// Reads from a consistent snapshot, concurrently with writes.
    public func read<T: Sendable>(_ operation: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read(operation)
    }

    /// Copies the database, consistent and online, to a new file at `path`
    /// (which must not exist). Writes go on meanwhile.
    public func backup(to destination: URL) async throws {
        guard !FileManager.default.fileExists(atPath: destination.path) else {
            throw CocoaError(.fileWriteFileExists, userInfo: [NSFilePathErrorKey: destination.path])
        }
        let pool = self.pool
        let target = destination.path
        // SQLite's online backup from a read snapshot: consistent, and writers
        // are not blocked. It is synchronous, so it runs off the caller's thread.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global(qos: .utility).async {
                do {
                    let copy = try DatabaseQueue(path: target)
                    try pool.backup(to: copy)
                    try copy.close()
                    continuation.resume()
                } catch {
                    try? FileManager.default.removeItem(atPath: target)
                    continuation.resume(throwing: error)
                }
            }
        }
        // The copy may hold a batch whose flush is still running: returns
        // once the original holds everything the copy does on disk.
        do {
            try await flushed()
        } catch {
            try? FileManager.default.removeItem(atPath: target)
            throw error
        }
    }

    /// Forgets idempotent answers older than ``StoreOptions/idempotencyRetention``,
    /// in transactions of at most 10,000 rows so writers are never held up
    /// for long. Returns how many were removed.
    @discardableResult
    public func pruneIdempotency(now: Date = Date()) async throws -> Int {
        let cutoff = now.timeIntervalSince1970 - options.idempotencyRetention
        var removed = 0
        while true {
            let batch = try await write { db in
                try db.execute(
                    sql: """
                        DELETE FROM cx_idempotency WHERE (scope, key) IN (
                            SELECT scope, key FROM cx_idempotency WHERE created_at < ? LIMIT 10000)
                        """,
                    arguments: [cutoff])
                return db.changesCount
            }
            removed += batch
            if batch < 10_000 { return removed }
        }
    }

    /// `PRAGMA integrity_check`'s verdict: `["ok"]` when the file is sound.
    public func integrityCheck() async throws -> [String] {
        try await pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    /// Closes the database; later calls fail.
    public func close() throws {
        // Every write already handed to group commit runs, commits and is
        // flushed before anything closes; writes handed in later fail with
        // `closed`. A writeAlone (or a read waiting for a flush) still in
        // flight learns its outcome once the database has closed: closing
        // checkpoints the log into the database file and flushes it. Nothing
        // here waits for a task to run: close may be called on the event
        // loop such a task needs.
        groupCommit.close()
        sync?.stop()
        var failure: (any Error)?
        do { try checkpointer?.stop() } catch { failure = error }
        do {
            try pool.close()
            groupCommit.logZeroFill?.close()
            sync?.finish(nil)
        } catch {
            sync?.finish(.closed)
            failure = failure ?? error
        }
        if let failure { throw failure }
    }
}

/// Copies WAL pages into the database file on a thread of its own, with a
/// connection of its own, every `interval`: SQLite's PASSIVE checkpoint,
/// which never blocks the writer or readers and copies what no reader still
/// needs. The writer then seldom checkpoints inside a commit (see
/// ``StoreOptions/checkpoint``), and finds most pages copied. The thread ends
/// at ``stop()``, or when the checkpointer is released.
final class Checkpointer: Sendable {
    /// What the thread holds: not the checkpointer itself, so that releasing
    /// a store that was never closed still ends the thread.
    private final class Loop: Sendable {
        let connection: DatabaseQueue
        let stopped = Mutex(false)
        let finished = DispatchSemaphore(value: 0)
        init(connection: DatabaseQueue) { self.connection = connection }
    }

    private let loop: Loop

    init(connection: DatabaseQueue, interval: Duration) {
        let loop = Loop(connection: connection)
        self.loop = loop
        let (seconds, attoseconds) = interval.components
        let pause = max(0.001, Double(seconds) + Double(attoseconds) / 1e18)
        let thread = Thread {
            while !loop.stopped.withLock({ $0 }) {
                // A failed pass (the disk) is tried again next time; the WAL
                // only grows meanwhile, nothing is lost.
                try? loop.connection.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
                Thread.sleep(forTimeInterval: pause)
            }
            loop.finished.signal()
        }
        thread.name = "cx-store-checkpoint"
        thread.start()
    }

    deinit {
        loop.stopped.withLock { $0 = true }
    }

    /// Stops the thread after its current pass, checkpoints what is left,
    /// and closes the connection.
    func stop() throws {
        let first = loop.stopped.withLock { stopped -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        loop.finished.wait()
        try loop.connection.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        try loop.connection.close()
    }
}
