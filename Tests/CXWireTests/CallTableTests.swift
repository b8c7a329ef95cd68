import CXModel
import XCTest

@testable import CXWire

final class CallTableTests: XCTestCase {
    /// Random inserts and removals, checked step by step against a
    /// Dictionary: ids in sequence as a connection hands them out, and ids
    /// that share their low bits (so they probe, wrap past the end of the
    /// slots and are shifted back on removal).
    func testAgreesWithADictionaryThroughInsertsRemovalsAndGrowth() {
        var random = SplitMix64(seed: 21)
        for pattern in 0..<3 {
            var table = CallTable<String>()
            var reference: [UInt64: String] = [:]
            var nextID: UInt64 = 1
            for step in 0..<20_000 {
                let inFlight = Array(reference.keys)
                if inFlight.isEmpty || (random.next() % 100 < 55 && reference.count < 700) {
                    let id: UInt64
                    switch pattern {
                    case 0: id = nextID  // a connection's ids
                    case 1: id = nextID * 16 + 15  // all share their low four bits: one home, long probes
                    default: id = (random.next() % 4_096) * 64 + 1 + random.next() % 3  // clusters
                    }
                    nextID += 1
                    guard reference[id] == nil else { continue }
                    table.insert("call \(id)", for: id)
                    reference[id] = "call \(id)"
                } else {
                    // Remove one in flight, or one that is not (answered twice, or never sent).
                    let id = random.next() % 5 == 0 ? nextID + 1_000 : inFlight[Int(random.next() % UInt64(inFlight.count))]
                    XCTAssertEqual(table.removeValue(for: id), reference.removeValue(forKey: id), "pattern \(pattern), step \(step), id \(id)")
                }
                XCTAssertEqual(table.count, reference.count)
                if step % 997 == 0 {
                    XCTAssertEqual(Dictionary(uniqueKeysWithValues: table.calls.map { ($0.id, $0.value) }), reference)
                    // Every call is still found where a lookup starts.
                    for (id, value) in reference {
                        XCTAssertEqual(table.removeValue(for: id), value)
                        table.insert(value, for: id)
                    }
                }
            }
            table.removeAll()
            XCTAssertTrue(table.isEmpty)
            XCTAssertTrue(table.calls.isEmpty)
            XCTAssertNil(table.removeValue(for: 1))
        }
    }

    func testIDZeroIsNeverFound() {
        var table = CallTable<Int>()
        table.insert(1, for: 16)  // home slot 0, where an id 0 would look
        XCTAssertNil(table.removeValue(for: 0))
        XCTAssertEqual(table.removeValue(for: 16), 1)
    }
}
