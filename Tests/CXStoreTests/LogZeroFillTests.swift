import Foundation
import GRDB
import XCTest

@testable import CXStore

/// The log is kept written with zeros ahead of its last frame, never over a
/// frame, and still checkpoints and starts over at its limit.
final class LogZeroFillTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// 200 notes of about 2 KB each, in `batches` writes.
    func writeNotes(_ store: Store, from first: Int = 0, count: Int = 200) async throws {
        let text = String(repeating: "مشتری ", count: 200)
        for start in stride(from: first, to: first + count, by: 10) {
            try await store.write { db in
                for id in start..<(start + 10) {
                    try db.execute(
                        sql: "INSERT INTO note (id, writer, body) VALUES (?, ?, ?)", arguments: ["n\(id)", id, RecordBody(raw: Data("\(id) \(text)".utf8))])
                }
            }
        }
    }

    /// The log's frames (from a PASSIVE checkpoint's count) and the file's bytes.
    func log(_ store: Store) async throws -> (frameEnd: Int, bytes: Data) {
        // A connection of the test's own: a checkpoint cannot run inside the store's transactions.
        let (frames, pageSize) = try DatabaseQueue(path: store.path).inDatabase { db in
            let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")!
            return (row[1] as Int, try Int.fetchOne(db, sql: "PRAGMA page_size")!)
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: store.path + "-wal"))
        return (32 + frames * (pageSize + 24), bytes)
    }

    /// How many frames from the start of a WAL file are intact, checked as
    /// SQLite's recovery checks them: each frame's salts match the header's
    /// and its checksum continues the one before (sqlite.org/fileformat2.html#walformat).
    func intactFrames(_ wal: Data) -> Int {
        let bytes = [UInt8](wal)
        guard bytes.count >= 32 else { return 0 }
        func bigEndian(_ offset: Int) -> UInt32 { bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) } }
        let magic = bigEndian(0)
        guard magic == 0x377f_0682 || magic == 0x377f_0683 else { return 0 }
        let pageSize = Int(bigEndian(8))
        /// SQLite's checksum: pairs of 32-bit words in the order the magic names.
        func checksum(_ range: Range<Int>, _ start: (UInt32, UInt32)) -> (UInt32, UInt32) {
            var (s1, s2) = start
            for offset in stride(from: range.lowerBound, to: range.upperBound, by: 8) {
                let words = magic & 1 == 1
                    ? (bigEndian(offset), bigEndian(offset + 4))
                    : (UInt32(littleEndian: bytes[offset..<(offset + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }),
                        UInt32(littleEndian: bytes[(offset + 4)..<(offset + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
                s1 = s1 &+ words.0 &+ s2
                s2 = s2 &+ words.1 &+ s1
            }
            return (s1, s2)
        }
        var sum = checksum(0..<24, (0, 0))
        guard sum == (bigEndian(24), bigEndian(28)) else { return 0 }
        var frames = 0
        var offset = 32
        while offset + 24 + pageSize <= bytes.count {
            guard bigEndian(offset + 8) == bigEndian(16), bigEndian(offset + 12) == bigEndian(20) else { break }
            sum = checksum(offset..<(offset + 8), sum)
            sum = checksum((offset + 24)..<(offset + 24 + pageSize), sum)
            guard sum == (bigEndian(offset + 16), bigEndian(offset + 20)) else { break }
            frames += 1
            offset += 24 + pageSize
        }
        return frames
    }

    func testZerosRunAheadOfTheLastFrameAndTheDataReadsBackAfterReopening() async throws {
        let ahead = 64 << 10
        let options = StoreOptions(checkpoint: .inCommit(pages: 10_000), logZeroedAheadBytes: ahead)
        var store: Store? = try openTestStore(directory, options: options)
        try await writeNotes(store!)
        let (frameEnd, bytes) = try await log(store!)
        XCTAssertGreaterThan(frameEnd, ahead, "the log holds more than `ahead`, so zeroing has begun")
        XCTAssertGreaterThanOrEqual(bytes.count, frameEnd + ahead, "the file is written at least `ahead` past the last frame")
        XCTAssertTrue(bytes[frameEnd...].allSatisfy { $0 == 0 }, "past the last frame there are only zeros")
        XCTAssertEqual(32 + intactFrames(bytes) * (4_096 + 24), frameEnd, "every frame is intact, and none follows")

        // More commits write over the zeros, and every note is there after reopening.
        try await writeNotes(store!, from: 200, count: 100)
        let (laterEnd, laterBytes) = try await log(store!)
        XCTAssertEqual(32 + intactFrames(laterBytes) * (4_096 + 24), laterEnd)
        try store!.close()
        store = nil
        let reopened = try openTestStore(directory, options: options)
        addTeardownBlock { try? reopened.close() }
        let (count, integrity) = (try await countNotes(reopened), try await reopened.integrityCheck())
        XCTAssertEqual(count, 300)
        XCTAssertEqual(integrity, ["ok"])
    }

    func testTheLogStillStartsOverAtItsCheckpointLimit() async throws {
        // 300 pages of 4 KiB: the log starts over at about 1.2 MB.
        let ahead = 64 << 10
        let store = try openTestStore(directory, options: StoreOptions(checkpoint: .inCommit(pages: 300), logZeroedAheadBytes: ahead))
        addTeardownBlock { try? store.close() }
        try await writeNotes(store, count: 2_000)
        let size = try FileManager.default.attributesOfItem(atPath: store.path + "-wal")[.size] as! Int
        // Its limit, what is zeroed ahead of it and a chunk, and one commit's frames past the limit.
        XCTAssertLessThan(size, 32 + 300 * (4_096 + 24) + ahead + LogZeroFill.chunk + 64 * (4_096 + 24), "the log grew past its limit")
        let (count, integrity) = (try await countNotes(store), try await store.integrityCheck())
        XCTAssertEqual(count, 2_000)
        XCTAssertEqual(integrity, ["ok"])
    }

    func testOffLeavesTheLogAsSQLiteGrowsIt() async throws {
        let store = try openTestStore(directory, options: StoreOptions(checkpoint: .inCommit(pages: 10_000), logZeroedAheadBytes: 0))
        addTeardownBlock { try? store.close() }
        try await writeNotes(store)
        let (frameEnd, bytes) = try await log(store)
        XCTAssertEqual(bytes.count, frameEnd)
        XCTAssertEqual(32 + intactFrames(bytes) * (4_096 + 24), frameEnd)
    }
}
