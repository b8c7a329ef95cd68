import ArgumentParser
import CXModel
import CXStore
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

struct StoreBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Durable writes/s: CXStore's group commit vs one transaction per write vs raw SQLite batches.",
        discussion: """
            All four write the same rows (an id, a number, a ~60-byte body) to a fresh WAL database \
            in a temporary directory, every row on disk before it is acknowledged, in the same run, \
            with the same keys (see --keys): the SQLite C API inserting 100 rows per transaction \
            from one thread with synchronous=FULL (the reference); 64 concurrent writers through \
            Store.write (group commit) with the store flushing the log (the default: its flush thread, \
            or the writer when a transaction holds every writer), then \
            flushed in each commit (StoreOptions.flush = .inCommit, synchronous=FULL); and 64 \
            concurrent writers through Store.writeAlone with synchronous=FULL (a transaction and a \
            flush each).
            """)

    @Option(help: "Seconds measured per run.")
    var duration: Double = 5

    @Option(help: "Concurrent writers for the CXStore runs.")
    var writers: Int = 64

    enum Keys: String, ExpressibleByArgument, CaseIterable {
        /// Each row's key is the next number of one counter, so every
        /// transaction appends at the right edge of the primary-key index.
        case sequential
        /// Each row's key is a hash of that number, so a transaction of n
        /// rows dirties up to n index pages (customer ids generated as UUIDs).
        case random
    }

    @Option(help: "Primary keys of the rows written: sequential (appended) or random (spread over the index), the same for all four runs.")
    var keys: Keys = .sequential

    @Option(help: "Group commit's longest wait for writers on their way back, in microseconds (default: StoreOptions' own).")
    var batchWait: Int?

    @Option(help: "How far ahead of its last frame the log is kept written with zeros, in KiB (default: StoreOptions' own; 0: off).")
    var zeroAheadKib: Int?

    @Option(help: "Rounds of the four runs, one after another. With more than one, each figure is the median over the rounds of its ratio to the same round's raw run: this machine's speed drifts by a fifth between runs, and a ratio taken within a round follows it.")
    var rounds: Int = 1

    @Option(help: "Directory for the databases (default: a new temporary directory).")
    var directory: String?

    func validate() throws {
        guard duration > 0, duration <= 600 else { throw ValidationError("--duration: \(duration) must be in (0, 600]") }
        guard (1...4_096).contains(writers) else { throw ValidationError("--writers: \(writers) must be 1 to 4096") }
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds: \(rounds) must be 1 to 100") }
        if let zeroAheadKib, !(0...(1 << 20)).contains(zeroAheadKib) {
            throw ValidationError("--zero-ahead-kib: \(zeroAheadKib) must be 0 to 1048576")
        }
    }

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("bench v1") { db in
            try db.execute(sql: "CREATE TABLE row (id TEXT PRIMARY KEY NOT NULL, writer INTEGER NOT NULL, body BLOB NOT NULL)")
        }
        return migrator
    }()

    /// Durable rows/s of the runs, as `run` prints them (with several
    /// rounds: the medians, and the ratios the medians of each round's).
    struct Figures {
        var raw: Double
        var groupCommit: Double
        var inCommit: Double
        var alone: Double
        var writers: Int
        /// Group commit (the log flushed off the writer) / raw.
        var groupCommitOfRaw: Double
        /// Group commit flushing in each commit / raw.
        var inCommitOfRaw: Double
        /// Group commit (off the writer) / one transaction per write.
        var groupCommitOfAlone: Double
    }

    func run() async throws {
        _ = try await measure()
    }

    /// Runs the three, printing each line as it is measured (also used by `cx-bench compare`).
    func measure() async throws -> Figures {
        let root = URL(fileURLWithPath: directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("cx-bench-store-\(UUID().uuidString)").path)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(at: root) } }
        var message = Cx_Wire_V1_EchoRequest()
        message.text = "customer 12345 bought 3 items for 129000 IRR at store تهران"
        let body = try RecordBody(message)

        print("CXStore durable writes (each row on disk before it is acknowledged), WAL, \(keys) keys, \(duration)s per run, \(rounds) round\(rounds == 1 ? "" : "s"), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(root.path)")
        var measured: [Figures] = []
        for round in 1...self.rounds {
            if self.rounds > 1 { print("round \(round) of \(self.rounds)") }
            let directory = root.appendingPathComponent("round-\(round)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let raw = try rawSQLite(path: directory.appendingPathComponent("raw.sqlite").path, body: body.stored)
            report("raw SQLite, 100 rows/transaction", raw, reference: raw)
            let grouped = try await throughStore(root: directory, name: "grouped", body: body, alone: false, flush: .offWriter)
            report("CXStore group commit, \(writers) writers", grouped, reference: raw)
            let inCommit = try await throughStore(root: directory, name: "grouped-in-commit", body: body, alone: false, flush: .inCommit)
            report("  the same, flushing in each commit", inCommit, reference: raw)
            let alone = try await throughStore(root: directory, name: "alone", body: body, alone: true, flush: .inCommit)
            report("CXStore 1 transaction/write, \(writers) writers", alone, reference: raw)
            print(String(format: "group commit / one transaction per write: %.1fx", grouped / max(alone, 1)))
            measured.append(
                Figures(
                    raw: raw, groupCommit: grouped, inCommit: inCommit, alone: alone, writers: writers,
                    groupCommitOfRaw: grouped / raw, inCommitOfRaw: inCommit / raw, groupCommitOfAlone: grouped / max(alone, 1)))
            // Rounds would otherwise pile up hundreds of MB each in the temporary directory.
            if self.directory == nil { try? FileManager.default.removeItem(at: directory) }
        }
        guard measured.count > 1 else { return measured[0] }
        func median(_ value: (Figures) -> Double) -> Double {
            cxMedian(measured.map(value))
        }
        func range(_ value: (Figures) -> Double) -> String {
            String(format: "%.2f-%.2f", measured.map(value).min()!, measured.map(value).max()!)
        }
        let figures = Figures(
            raw: median(\.raw), groupCommit: median(\.groupCommit), inCommit: median(\.inCommit), alone: median(\.alone), writers: writers,
            groupCommitOfRaw: median(\.groupCommitOfRaw), inCommitOfRaw: median(\.inCommitOfRaw), groupCommitOfAlone: median(\.groupCommitOfAlone))
        print("median of \(measured.count) rounds, each ratio to its own round's raw run (lowest-highest in parentheses):")
        print(String(format: "  raw SQLite %.0f rows/s", figures.raw))
        print(String(format: "  group commit %.2f of raw (%@), flushing in each commit %.2f (%@); group commit / one transaction per write %.1fx",
            figures.groupCommitOfRaw, range(\.groupCommitOfRaw) as NSString, figures.inCommitOfRaw, range(\.inCommitOfRaw) as NSString,
            figures.groupCommitOfAlone))
        return figures
    }

    private func report(_ name: String, _ rowsPerSecond: Double, reference: Double) {
        print(String(format: "%-48@ %10.0f rows/s  %.2f of raw", name as NSString, rowsPerSecond, rowsPerSecond / reference))
    }

    private func options(flush: StoreOptions.Flush) -> StoreOptions {
        var options = StoreOptions(flush: flush)
        if let batchWait { options.maxBatchWait = .microseconds(batchWait) }
        if let zeroAheadKib { options.logZeroedAheadBytes = zeroAheadKib << 10 }
        return options
    }

    /// Rows/s written by `writers` concurrent writers. `alone` is the
    /// reference of one durable transaction per write: SQLite flushing in each
    /// commit, as `synchronous=FULL` does.
    private func throughStore(root: URL, name: String, body: RecordBody, alone: Bool, flush: StoreOptions.Flush) async throws -> Double {
        let store = try Store(directory: root, name: name, migrator: Self.migrator, options: options(flush: flush))
        let end = Date().addingTimeInterval(duration)
        let started = Date()
        let sequence = KeyCounter()
        let keys = self.keys
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var count = 0
                    while Date() < end {
                        let id = Self.key(sequence.next(), keys)
                        let insert: @Sendable (Database) throws -> Void = { db in
                            // A prepared statement, as the raw run uses.
                            try db.cachedStatement(sql: "INSERT INTO row (id, writer, body) VALUES (?, ?, ?)")
                                .run(.text(id), .integer(writer), .body(body))
                        }
                        if alone { try await store.writeAlone(insert) } else { try await store.write(insert) }
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = Date().timeIntervalSince(started)
        if !alone {
            let (transactions, operations) = store.groupCommitStatistics
            let (flushes, flushTime, byWriter) = store.flushStatistics
            let microseconds = flushTime / .microseconds(1)
            print(
                String(format: "  group commit: %d transactions, %.1f writes each on average", transactions, Double(operations) / Double(max(transactions, 1)))
                    + (flushes > 0
                        ? String(
                            format: "; %d log flushes (%d by the writer itself), %.1f writes and %.0f µs each", flushes, byWriter,
                            Double(operations) / Double(flushes), microseconds / Double(flushes))
                        : ""))
        }
        try store.close()
        return Double(total) / elapsed
    }

    /// The n-th row's key: zero-padded so that text order is number order,
    /// or, for random keys, a 64-bit mix of n (splitmix64's finaliser).
    static func key(_ n: Int, _ keys: Keys) -> String {
        switch keys {
        case .sequential:
            let digits = String(n)
            return String(repeating: "0", count: max(0, 12 - digits.count)) + digits
        case .random:
            var z = UInt64(n) &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return String(z ^ (z >> 31), radix: 16)
        }
    }

    private func rawSQLite(path: String, body: Data) throws -> Double {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK else { throw ValidationError("cannot open \(path)") }
        defer { sqlite3_close(db) }
        func exec(_ sql: String) throws {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
                throw ValidationError("\(sql): \(String(cString: sqlite3_errmsg(db)))")
            }
        }
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=FULL")
        try exec("CREATE TABLE row (id TEXT PRIMARY KEY NOT NULL, writer INTEGER NOT NULL, body BLOB NOT NULL)")
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, "INSERT INTO row (id, writer, body) VALUES (?, ?, ?)", -1, &statement, nil) == SQLITE_OK else {
            throw ValidationError("prepare: \(String(cString: sqlite3_errmsg(db)))")
        }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        let end = Date().addingTimeInterval(duration)
        let started = Date()
        var count = 0
        while Date() < end {
            try exec("BEGIN")
            for _ in 0..<100 {
                let id = Self.key(count, keys)
                sqlite3_bind_text(statement, 1, id, -1, transient)
                sqlite3_bind_int64(statement, 2, 0)
                _ = body.withUnsafeBytes { sqlite3_bind_blob(statement, 3, $0.baseAddress, Int32($0.count), transient) }
                guard sqlite3_step(statement) == SQLITE_DONE else {
                    throw ValidationError("insert: \(String(cString: sqlite3_errmsg(db)))")
                }
                sqlite3_reset(statement)
                count += 1
            }
            try exec("COMMIT")
        }
        return Double(count) / Date().timeIntervalSince(started)
    }
}

/// Hands out row numbers to the concurrent writers of one run.
final class KeyCounter: Sendable {
    private let value = Atomic<Int>(0)
    func next() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}
