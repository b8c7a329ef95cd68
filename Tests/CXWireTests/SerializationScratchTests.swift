import NIOCore
import XCTest

@testable import CXWire

final class SerializationScratchTests: XCTestCase {
    private func address(_ buffer: ByteBuffer) -> UInt {
        buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
    }

    func testAGivenBackBufferIsReusedAndOneStillHeldIsNeverWrittenOver() {
        var first = SerializationScratch.take(capacity: 100)
        first.writeString("اول")
        let held = first  // as a frame NIO has not written yet
        SerializationScratch.giveBack(first)
        first = ByteBuffer()
        var second = SerializationScratch.take(capacity: 100)
        XCTAssertEqual(second.readableBytes, 0)
        second.writeString("second")
        XCTAssertEqual(String(buffer: held), "اول", "a buffer still held got new storage, not the old bytes overwritten")
        XCTAssertNotEqual(address(second), address(held))

        // Given back with nothing else holding it: the next message reuses its memory.
        let memory = address(second)
        SerializationScratch.giveBack(second)
        second = ByteBuffer()
        var third = SerializationScratch.take(capacity: 100)
        XCTAssertEqual(third.readableBytes, 0)
        third.writeString("x")
        XCTAssertEqual(address(third), memory)
        XCTAssertEqual(String(buffer: third), "x")
    }

    func testLargeBuffersAreNotKeptAndSmallSparesAreNotStretched() {
        let large = SerializationScratch.take(capacity: SerializationScratch.keepLimit + 1)
        SerializationScratch.giveBack(large)
        XCTAssertLessThanOrEqual(SerializationScratch.take(capacity: 10).capacity, SerializationScratch.keepLimit)
        // A spare too small for the message is not used for it.
        var small = SerializationScratch.take(capacity: 10)
        small.writeString("small")
        SerializationScratch.giveBack(small)
        let bigger = SerializationScratch.take(capacity: 4_000)
        XCTAssertGreaterThanOrEqual(bigger.capacity, 4_000)
        XCTAssertEqual(bigger.readableBytes, 0)
    }
}
