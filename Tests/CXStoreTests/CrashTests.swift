import CXModel
import Foundation
import GRDB
import XCTest

@testable import CXStore

/// A writer is killed with SIGKILL mid-way: every write it was told had
/// committed must be there after reopening, and the file must be sound.
final class CrashTests: XCTestCase {
    static let directoryVariable = "CX_STORE_CRASH_CHILD_DIR"

    func testEveryAcknowledgedWriteSurvivesSIGKILL() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }

        // The child is this same test binary, running only the writer below.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["CXStoreTests.CrashTests/testWriterChild"]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.directoryVariable: directory.path]) { _, new in new }
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()

        var acknowledged: [String] = []
        var pending = Data()
        let reader = output.fileHandleForReading
        let started = Date()
        while acknowledged.count < 2_000 && Date().timeIntervalSince(started) < 20 {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 0x0a) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if line.hasPrefix("ack ") { acknowledged.append(String(line.dropFirst(4))) }
            }
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)
        XCTAssertGreaterThan(acknowledged.count, 100, "the child wrote too little to prove anything")

        let reopened = try openTestStore(directory)
        let stored = Set(try reopened.pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM note") })
        let missing = acknowledged.filter { !stored.contains($0) }
        XCTAssertEqual(missing, [], "acknowledged but lost")
        XCTAssertEqual(try reopened.pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }, ["ok"])
    }

    /// Runs only as the child above: 16 writers, each printing `ack <id>`
    /// once its write has committed, until killed (or 30 s).
    func testWriterChild() async throws {
        guard let path = ProcessInfo.processInfo.environment[Self.directoryVariable] else { return }
        // Zeros kept 16 KiB ahead of the log's last frame, so that the kill
        // also lands while commits write over zeros (LogZeroFill).
        let store = try openTestStore(URL(fileURLWithPath: path), options: StoreOptions(logZeroedAheadBytes: 16 << 10))
        let deadline = Date().addingTimeInterval(30)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    var index = 0
                    while Date() < deadline {
                        let id = "w\(writer)-\(index)"
                        let text = "crash \(index)"
                        try await store.write { db in try insertNote(db, id: id, writer: writer, text: text) }
                        let line = Data("ack \(id)\n".utf8)
                        FileHandle.standardOutput.write(line)
                        index += 1
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
