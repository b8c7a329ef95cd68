import Foundation
import XCTest

@testable import CXModel

/// SHA-256 against FIPS 180-2 and HMAC-SHA256 against RFC 4231.
final class HMACTests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    private func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }

    // MARK: - SHA-256 (FIPS 180-2, appendix B)

    func testSHA256OfABC() {
        XCTAssertEqual(
            hex(SHA256.hash(bytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testSHA256OfEmptyInput() {
        XCTAssertEqual(
            hex(SHA256.hash([UInt8]())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testSHA256Of448BitMessage() {
        XCTAssertEqual(
            hex(SHA256.hash(bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testSHA256OfOneMillionA() {
        XCTAssertEqual(
            hex(SHA256.hash(repeatElement(UInt8(ascii: "a"), count: 1_000_000))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Lengths around the padding boundaries: 55 bytes is the most that fits the length in
    /// the same block, 56 needs an extra block, 64 is exactly one block.
    func testSHA256AtPaddingBoundaries() {
        let expected: [(Int, String)] = [
            (55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
            (56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
            (63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
            (64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
            (65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
            (119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"),
            (120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"),
            (128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"),
        ]
        for (count, digest) in expected {
            XCTAssertEqual(hex(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: count))), digest, "\(count) bytes")
        }
    }

    func testSHA256GivesTheSameDigestForAnySequenceType() {
        let message = bytes("The quick brown fox jumps over the lazy dog")
        let digest = SHA256.hash(message)
        XCTAssertEqual(hex(digest), "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592")
        XCTAssertEqual(SHA256.hash(Data(message)), digest)
        XCTAssertEqual(SHA256.hash(message[...]), digest)
        XCTAssertEqual(SHA256.hash(message.lazy.map { $0 }), digest)  // not contiguous
    }

    // MARK: - HMAC-SHA256 (RFC 4231)

    private let rfc4231: [(name: String, key: [UInt8], data: [UInt8], mac: String)] = [
        (
            "case 1", [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        (
            "case 2", Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ),
        (
            "case 3", [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        ),
        (
            "case 4", Array(1...25), [UInt8](repeating: 0xcd, count: 50),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        ),
        (
            "case 6", [UInt8](repeating: 0xaa, count: 131),
            Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        ),
        (
            "case 7", [UInt8](repeating: 0xaa, count: 131),
            Array(
                ("This is a test using a larger than block-size key and a larger than block-size data. "
                    + "The key needs to be hashed before being used by the HMAC algorithm.").utf8),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        ),
    ]

    func testHMACMatchesRFC4231() {
        for vector in rfc4231 {
            XCTAssertEqual(
                hex(HMACSHA256.authenticationCode(for: vector.data, key: vector.key)), vector.mac, vector.name)
        }
    }

    func testIsValidAcceptsTheRightCodeOnly() {
        for vector in rfc4231 {
            let code = HMACSHA256.authenticationCode(for: vector.data, key: vector.key)
            XCTAssertTrue(HMACSHA256.isValid(code, for: vector.data, key: vector.key), vector.name)

            var flipped = code
            flipped[31] ^= 0x01
            XCTAssertFalse(HMACSHA256.isValid(flipped, for: vector.data, key: vector.key), vector.name)
            XCTAssertFalse(HMACSHA256.isValid(code, for: vector.data + [0], key: vector.key), vector.name)
            var otherKey = vector.key
            otherKey[0] ^= 0x01
            XCTAssertFalse(HMACSHA256.isValid(code, for: vector.data, key: otherKey), vector.name)
        }
    }

    /// RFC 2104 pads short keys with zeros, so a key and the same key with zeros appended are
    /// one key. Secrets are random bytes of a fixed length, where this never matters.
    func testShortKeysAreZeroPadded() {
        let message = bytes("message")
        XCTAssertEqual(
            HMACSHA256.authenticationCode(for: message, key: [1, 2, 3]),
            HMACSHA256.authenticationCode(for: message, key: [1, 2, 3, 0, 0]))
    }

    func testIsValidRefusesTruncatedAndEmptyCodes() {
        let key = bytes("secret")
        let message = bytes("message")
        let code = HMACSHA256.authenticationCode(for: message, key: key)
        XCTAssertFalse(HMACSHA256.isValid(Array(code.prefix(16)), for: message, key: key))
        XCTAssertFalse(HMACSHA256.isValid([], for: message, key: key))
        XCTAssertFalse(HMACSHA256.isValid(code + [0], for: message, key: key))
    }

    func testConstantTimeEqual() {
        XCTAssertTrue(HMACSHA256.constantTimeEqual([UInt8](), [UInt8]()))
        XCTAssertTrue(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2]))
        XCTAssertTrue(HMACSHA256.constantTimeEqual([9, 1, 2, 3][1...], [1, 2, 3]))
    }
}
