import CXModel
import Foundation
import GRDB
import XCTest

@testable import CXStore

final class RecordBodyTests: XCTestCase {
    func testSmallBodiesStayRawAndLargeOnesAreCompressed() throws {
        let small = try RecordBody(note("سلام"))
        XCTAssertEqual(small.codec, .raw)
        XCTAssertEqual(try small.decode(Cx_Wire_V1_EchoRequest.self, table: "note", key: "a").text, "سلام")

        let text = String(repeating: "مشتری وفادار gold member ", count: 200)
        let large = try RecordBody(note(text))
        XCTAssertEqual(large.codec, .zlib)
        XCTAssertLessThan(large.stored.count, text.utf8.count / 4)
        XCTAssertEqual(try large.decode(Cx_Wire_V1_EchoRequest.self, table: "note", key: "b").text, text)

        // Bytes that do not compress are kept raw even when large.
        var noise = Cx_Wire_V1_EchoRequest()
        noise.payload = Data((0..<4_096).map { _ in UInt8.random(in: 0...255) })
        let raw = try RecordBody(noise)
        XCTAssertEqual(raw.codec, .raw)
        XCTAssertEqual(try raw.decode(Cx_Wire_V1_EchoRequest.self, table: "note", key: "c").payload, noise.payload)
    }

    func testRawBodiesAreTheTagThenTheMessageAsItIs() throws {
        let text = String(repeating: "مشتری وفادار gold member ", count: 200)
        for message in [note(""), note("سلام"), note(text)] {
            let encoded: Data = try message.serializedBytes()
            let fromMessage = try RecordBody(raw: message)
            let fromBytes = RecordBody(raw: encoded)
            XCTAssertEqual(fromMessage.stored, Data([RecordBody.Codec.raw.rawValue]) + encoded)
            XCTAssertEqual(fromBytes, fromMessage)
            XCTAssertEqual(fromMessage.codec, .raw)
            XCTAssertEqual(try fromMessage.decode(Cx_Wire_V1_EchoRequest.self, table: "note", key: "r").text, message.text)
        }
        XCTAssertEqual(RecordBody(raw: Data()).stored, Data([0]))
    }

    func testBodiesRoundTripThroughARealDatabaseFile() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try openTestStore(directory)
        let long = String(repeating: "x", count: 10_000)
        try await store.write { db in
            try insertNote(db, id: "short", writer: 0, text: "کوتاه")
            try insertNote(db, id: "long", writer: 0, text: long)
        }
        let bodies = try await store.read { db in
            try Row.fetchAll(db, sql: "SELECT id, body FROM note ORDER BY id").map { row in
                (row["id"] as String, row["body"] as RecordBody)
            }
        }
        XCTAssertEqual(try bodies[0].1.decode(Cx_Wire_V1_EchoRequest.self, table: "note", key: bodies[0].0).text, long)
        XCTAssertEqual(bodies[0].1.codec, .zlib)
        XCTAssertEqual(try bodies[1].1.decode(Cx_Wire_V1_EchoRequest.self, table: "note", key: bodies[1].0).text, "کوتاه")
    }

    func testCorruptBodiesGiveAnErrorNamingTableAndKey() throws {
        let unknownTag = RecordBody(stored: Data([9, 1, 2, 3]))
        XCTAssertThrowsError(try unknownTag.decode(Cx_Wire_V1_EchoRequest.self, table: "customer", key: "c-17")) { error in
            XCTAssertEqual(error as? StoreError, .corruptBody(table: "customer", key: "c-17", reason: "unknown codec tag 9"))
            XCTAssertTrue("\(error)".hasPrefix("customer c-17:"))
        }
        let badZlib = RecordBody(stored: Data([1, 0xde, 0xad, 0xbe, 0xef]))
        XCTAssertThrowsError(try badZlib.bytes(table: "customer", key: "c-18")) { error in
            guard case .corruptBody(let table, let key, let reason) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(table, "customer")
            XCTAssertEqual(key, "c-18")
            XCTAssertTrue(reason.contains("zlib"), reason)
        }
        XCTAssertThrowsError(try RecordBody(stored: Data()).bytes(table: "t", key: "k"))
        // A compressed body cut short (a torn write) must not read as a shorter record.
        let whole = try RecordBody(note(String(repeating: "points ", count: 500)))
        XCTAssertEqual(whole.codec, .zlib)
        for cut in [1, 4, 10] {
            let torn = RecordBody(stored: whole.stored.dropLast(cut))
            XCTAssertThrowsError(try torn.decode(Cx_Wire_V1_EchoRequest.self, table: "note", key: "torn"), "cut \(cut)") { error in
                guard case .corruptBody(_, let key, _) = error as? StoreError else { return XCTFail("\(error)") }
                XCTAssertEqual(key, "torn")
            }
        }
        let notAMessage = RecordBody(encoding: Data([0xff, 0xff, 0xff]))
        XCTAssertThrowsError(try notAMessage.decode(Cx_Wire_V1_EchoRequest.self, table: "t", key: "k")) { error in
            guard case .corruptBody(_, _, let reason) = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("cx.wire.v1.EchoRequest"), reason)
        }
    }
}
