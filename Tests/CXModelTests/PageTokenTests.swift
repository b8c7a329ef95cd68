import Foundation
import XCTest

@testable import CXModel

final class PageTokenTests: XCTestCase {
    private let secret = Array("0123456789abcdef0123456789abcdef".utf8)
    private let issued = Date(timeIntervalSince1970: 1_750_000_000)
    private var codec: PageTokenCodec { PageTokenCodec(secret: secret) }

    private func sample(scope: String = "profiles.ListCustomers") -> PageToken {
        PageToken(scope: scope, position: ["رضایی", "cust-000042"], issuedAt: issued)
    }

    /// The error `decode` throws, failing the test when it returns instead.
    private func decodeError(
        _ text: String, codec: PageTokenCodec? = nil, scope: String = "profiles.ListCustomers", now: Date? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) -> PageTokenError? {
        do {
            let token = try (codec ?? self.codec).decode(text, expectedScope: scope, now: now ?? issued)
            XCTFail("decoded \(token) from \(text.prefix(80))", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    private func isMalformed(_ error: PageTokenError?) -> Bool {
        if case .malformed = error { return true }
        return false
    }

    func testRoundTrip() throws {
        let text = codec.encode(sample())
        XCTAssertEqual(try codec.decode(text, expectedScope: "profiles.ListCustomers", now: issued), sample())
        let urlSafe = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        XCTAssertTrue(text.allSatisfy(urlSafe.contains), text)
    }

    func testRoundTripOfEmptyAndFullPositions() throws {
        for position in [[], ["only"], (1...8).map { "key-\($0)" }, ["", "", ""]] {
            let token = PageToken(scope: "segment:42", position: position, issuedAt: issued)
            XCTAssertEqual(try codec.decode(codec.encode(token), expectedScope: "segment:42", now: issued), token)
        }
    }

    func testIssuedAtIsKeptToTheWholeSecond() throws {
        let token = PageToken(scope: "s", position: ["1"], issuedAt: issued.addingTimeInterval(0.75))
        let decoded = try codec.decode(codec.encode(token), expectedScope: "s", now: issued)
        XCTAssertEqual(decoded.issuedAt, issued)
    }

    func testEverySingleBitFlipIsRejected() {
        let text = codec.encode(sample())
        let bytes = Array(text.utf8)
        for index in bytes.indices {
            for bit in 0..<8 {
                var flipped = bytes
                flipped[index] ^= UInt8(1) << UInt8(bit)
                let altered = String(decoding: flipped, as: UTF8.self)
                let error = decodeError(altered)
                XCTAssertTrue(
                    error == .tampered || isMalformed(error), "byte \(index) bit \(bit): \(String(describing: error))")
            }
        }
    }

    func testChangingAnyDecodedByteIsTampering() {
        // Re-encode altered payloads canonically, so only the MAC can catch them.
        let text = codec.encode(sample())
        guard let bytes = Base64URL.decode(text) else { return XCTFail("own token does not decode") }
        for index in bytes.indices.dropFirst() {  // byte 0 is the version, reported as malformed
            var altered = bytes
            altered[index] ^= 0x01
            XCTAssertEqual(decodeError(Base64URL.encode(altered)), .tampered, "byte \(index)")
        }
    }

    func testAnotherSecretIsTampering() {
        let other = PageTokenCodec(secret: Array("another secret, 32 bytes long...".utf8))
        XCTAssertEqual(decodeError(other.encode(sample())), .tampered)
    }

    func testWrongScope() {
        let text = codec.encode(sample(scope: "segment:42"))
        XCTAssertEqual(decodeError(text, scope: "segment:43"), .wrongScope(expected: "segment:43", found: "segment:42"))
        XCTAssertEqual(
            decodeError(text, scope: "profiles.ListCustomers"),
            .wrongScope(expected: "profiles.ListCustomers", found: "segment:42"))
    }

    func testExpiry() throws {
        let codec = PageTokenCodec(secret: secret, maxAge: .seconds(3_600))
        let text = codec.encode(sample())
        XCTAssertNoThrow(try codec.decode(text, expectedScope: "profiles.ListCustomers", now: issued + 3_600))
        XCTAssertEqual(
            decodeError(text, codec: codec, now: issued + 3_601), .expired(issuedAt: issued))
        // A token from a replica whose clock runs ahead is still authentic.
        XCTAssertNoThrow(try codec.decode(text, expectedScope: "profiles.ListCustomers", now: issued - 60))
    }

    func testDefaultMaxAgeIsADay() {
        let text = codec.encode(sample())
        XCTAssertNoThrow(try codec.decode(text, expectedScope: "profiles.ListCustomers", now: issued + 86_400))
        XCTAssertEqual(decodeError(text, now: issued + 86_401), .expired(issuedAt: issued))
    }

    func testGarbageIsMalformed() {
        let garbage = [
            "", "a", "!!!!", "====", "AAAA====", "abc=", "نشانه", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", " " + codec.encode(sample()), codec.encode(sample()) + "\n",
            "eyJzY29wZSI6InByb2ZpbGVzIn0",
        ]
        for text in garbage {
            let error = decodeError(text)
            XCTAssertTrue(isMalformed(error) || error == .tampered, "\(text): \(String(describing: error))")
        }
        XCTAssertTrue(isMalformed(decodeError("")))
        XCTAssertTrue(isMalformed(decodeError("a")))
    }

    func testRandomTextNeverDecodes() {
        var generator = SplitMix64(seed: 42)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...120, using: &generator)
            let text = String(
                decoding: (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] },
                as: UTF8.self)
            if text.isEmpty { continue }
            let error = decodeError(text)
            XCTAssertTrue(isMalformed(error) || error == .tampered, "\(text): \(String(describing: error))")
        }
    }

    func testOversizedInputIsMalformedWithoutDecoding() {
        let huge = String(repeating: "A", count: PageTokenCodec.maxTextLength + 1)
        XCTAssertEqual(decodeError(huge), .malformed("it is longer than 2048 characters"))
        let enormous = String(repeating: "A", count: 10_000_000)
        XCTAssertTrue(isMalformed(decodeError(enormous)))
    }

    func testTokensOverTheLimitsAreRefusedWhenPresented() {
        let tooMany = PageToken(scope: "s", position: (1...9).map(String.init), issuedAt: issued)
        XCTAssertTrue(isMalformed(decodeError(codec.encode(tooMany), scope: "s")))

        let tooLong = PageToken(scope: "s", position: [String(repeating: "x", count: 3_000)], issuedAt: issued)
        XCTAssertTrue(isMalformed(decodeError(codec.encode(tooLong), scope: "s")))
    }

    func testExtremeDatesDoNotCrash() throws {
        for date in [Date.distantPast, Date.distantFuture, Date(timeIntervalSince1970: -1.5)] {
            let token = PageToken(scope: "s", position: [], issuedAt: date)
            let decoded = try codec.decode(codec.encode(token), expectedScope: "s", now: date)
            XCTAssertEqual(decoded.issuedAt.timeIntervalSince1970, date.timeIntervalSince1970.rounded(.down))
        }
        let token = PageToken(scope: "s", position: [], issuedAt: Date(timeIntervalSince1970: 1e300))
        XCTAssertNoThrow(try codec.decode(codec.encode(token), expectedScope: "s", now: issued))
    }

    func testDescriptionsNameTheFieldForUsers() {
        let errors: [PageTokenError] = [
            .malformed("it is empty"), .tampered, .wrongScope(expected: "a", found: "b"), .expired(issuedAt: issued),
        ]
        for error in errors {
            XCTAssertTrue(error.description.hasPrefix("page_token "), error.description)
        }
        XCTAssertTrue(PageTokenError.expired(issuedAt: issued).description.contains("2025-06-15T15:06:40Z"))
    }

    func testCodecDescriptionHidesTheSecret() {
        XCTAssertFalse(String(describing: codec).contains("0123456789"))
    }

    func testBase64URLIsStrict() {
        for count in 0...10 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 250) }
            XCTAssertEqual(Base64URL.decode(Base64URL.encode(bytes)), bytes, "\(count) bytes")
        }
        XCTAssertEqual(Base64URL.encode([0xFB, 0xFF]), "-_8")
        XCTAssertEqual(Base64URL.decode("-_8"), [0xFB, 0xFF])
        XCTAssertNil(Base64URL.decode("-_9"))  // unused low bits set
        XCTAssertNil(Base64URL.decode("QR"))  // "QQ" is canonical for "A"
        XCTAssertEqual(Base64URL.decode("QQ"), [0x41])
        XCTAssertNil(Base64URL.decode("QQ=="))
        XCTAssertNil(Base64URL.decode("Q"))
        XCTAssertNil(Base64URL.decode("+/8"))  // standard base64, not base64url
    }
}
