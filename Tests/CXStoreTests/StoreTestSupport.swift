import CXModel
import Foundation
import GRDB
import XCTest

@testable import CXStore

/// A table the tests write to: a key, a value, and a compressed body.
let testMigrator: DatabaseMigrator = {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("test v1 notes") { db in
        try db.execute(sql: """
            CREATE TABLE note (
                id TEXT PRIMARY KEY NOT NULL,
                writer INTEGER NOT NULL,
                body BLOB NOT NULL
            )
            """)
    }
    return migrator
}()

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("cx-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func openTestStore(_ directory: URL, options: StoreOptions = StoreOptions()) throws -> Store {
    try Store(directory: directory, name: "test", migrator: testMigrator, options: options)
}

func note(_ text: String) -> Cx_Wire_V1_EchoRequest {
    var message = Cx_Wire_V1_EchoRequest()
    message.text = text
    return message
}

func insertNote(_ db: Database, id: String, writer: Int, text: String) throws {
    try db.execute(
        sql: "INSERT INTO note (id, writer, body) VALUES (?, ?, ?)",
        arguments: [id, writer, try RecordBody(note(text))])
}

func countNotes(_ store: Store) async throws -> Int {
    try await store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM note") ?? 0 }
}

struct Refused: Error, Equatable { let id: String }

/// Holds the store's writer, writing nothing, for `seconds` from about when
/// this returns: operations queued meanwhile find it busy and wait together.
func holdWriter(of store: Store, for seconds: TimeInterval) async -> Task<Void, any Error> {
    let started = DispatchSemaphore(value: 0)
    let held = Task {
        try await store.pool.writeWithoutTransaction { _ in
            started.signal()
            Thread.sleep(forTimeInterval: seconds)
        }
    }
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            started.wait()
            continuation.resume()
        }
    }
    return held
}
