import Foundation

/// Where a listing stopped: what a list RPC puts in `next_page_token` and reads back from
/// `page_token`.
///
/// The client only holds the token and hands it back, so the server needs no per-listing
/// state, and a listing can be continued on another replica.
public struct PageToken: Sendable, Equatable {
    /// Which listing the token continues, e.g. "profiles.ListCustomers" or "segment:42", so
    /// a token from one listing cannot be replayed on another. Put everything that shapes the
    /// listing (filter, sort order) in here or in the position.
    public var scope: String
    /// Where the next page starts: typically the last row's sort key and id. Keep it short:
    /// at most `PageTokenCodec.maxPositionCount` entries, and a token whose text would be
    /// longer than `PageTokenCodec.maxTextLength` is refused by `decode`.
    public var position: [String]
    /// When the token was issued. Kept to the whole second (rounded down) by the codec.
    public var issuedAt: Date

    public init(scope: String, position: [String], issuedAt: Date) {
        self.scope = scope
        self.position = position
        self.issuedAt = issuedAt
    }
}

/// Turns page tokens into opaque, tamper-evident text and back.
///
/// Text: base64url without padding of
///
///     version (1 byte, = 1)
///     issuedAt (8 bytes, big-endian signed seconds since 1970)
///     scope (LEB128 byte count + UTF-8)
///     position count (LEB128), then each entry (LEB128 byte count + UTF-8)
///     HMAC-SHA256 of all the bytes above under the server secret, first 16 bytes
///
/// The MAC is checked before anything inside is believed, so an altered token is reported as
/// `tampered` (or `malformed` when it no longer decodes at all), never misread. 16 bytes of
/// MAC is 128 bits: forging one by guessing is out of reach, and tokens stay short.
///
/// All replicas of a service must share the secret, or a token issued by one is `tampered`
/// on the next. Changing the secret invalidates every outstanding token, which costs clients
/// no more than restarting their listing.
public struct PageTokenCodec: Sendable, CustomStringConvertible {
    /// The longest token text `decode` looks at.
    public static let maxTextLength = 2048
    /// The most position entries a token may carry.
    public static let maxPositionCount = 8

    static let version: UInt8 = 1
    static let macByteCount = 16

    private let secret: [UInt8]
    /// How long a token stays usable after it is issued.
    public let maxAge: Duration

    /// - Parameters:
    ///   - secret: the server's signing key; 32 random bytes, shared by all replicas.
    ///   - maxAge: how long a token stays usable. Listings are meant to be walked in one
    ///     sitting; a day is generous, and it bounds how long a leaked token is useful.
    public init(secret: [UInt8], maxAge: Duration = .seconds(86_400)) {
        self.secret = secret
        self.maxAge = maxAge
    }

    /// Says what the codec is without showing the secret (which `print` would otherwise do).
    public var description: String { "PageTokenCodec(maxAge: \(maxAge))" }

    /// The token as URL-safe text.
    ///
    /// The caller keeps the token within the limits: a token with more than `maxPositionCount`
    /// entries, or whose text is longer than `maxTextLength`, encodes fine but is refused by
    /// `decode` as malformed (there is no failing here, so a listing never breaks when it is
    /// issued, only when a client presents an unusable token).
    public func encode(_ token: PageToken) -> String {
        var bytes: [UInt8] = [Self.version]
        let seconds = Self.wholeSeconds(token.issuedAt)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: seconds >> Int64(shift)))
        }
        Self.appendString(token.scope, to: &bytes)
        Self.appendLength(token.position.count, to: &bytes)
        for entry in token.position { Self.appendString(entry, to: &bytes) }
        bytes.append(contentsOf: HMACSHA256.authenticationCode(for: bytes, key: secret).prefix(Self.macByteCount))
        return Base64URL.encode(bytes)
    }

    /// The token `text` stands for, if this server issued it for `expectedScope` no longer
    /// than `maxAge` before `now`.
    ///
    /// An empty `page_token` conventionally means "the first page"; callers handle that
    /// before calling this (here it is `malformed`).
    public func decode(_ text: String, expectedScope: String, now: Date) throws(PageTokenError) -> PageToken {
        guard !text.isEmpty else { throw .malformed("it is empty") }
        guard text.utf8.count <= Self.maxTextLength else {
            throw .malformed("it is longer than \(Self.maxTextLength) characters")
        }
        guard let bytes = Base64URL.decode(text) else { throw .malformed("it is not base64url text") }
        // version + issuedAt + scope length + position count + MAC
        guard bytes.count >= 1 + 8 + 1 + 1 + Self.macByteCount else { throw .malformed("it is too short") }
        guard bytes[0] == Self.version else { throw .malformed("unknown token version \(bytes[0])") }

        let signed = bytes[..<(bytes.count - Self.macByteCount)]
        let mac = bytes[(bytes.count - Self.macByteCount)...]
        let expected = HMACSHA256.authenticationCode(for: Array(signed), key: secret).prefix(Self.macByteCount)
        guard HMACSHA256.constantTimeEqual(mac, expected) else { throw .tampered }

        // Authentic from here on: only a bug in encode (or a limit the issuer ignored) fails below.
        var reader = ByteReader(bytes: signed.dropFirst())
        guard let seconds = reader.readInt64() else { throw .malformed("it is truncated") }
        guard let scope = reader.readString() else { throw .malformed("its scope is unreadable") }
        guard let count = reader.readLength() else { throw .malformed("its position is unreadable") }
        guard count <= Self.maxPositionCount else {
            throw .malformed("its position has more than \(Self.maxPositionCount) entries")
        }
        var position: [String] = []
        for _ in 0..<count {
            guard let entry = reader.readString() else { throw .malformed("its position is unreadable") }
            position.append(entry)
        }
        guard reader.isAtEnd else { throw .malformed("it has trailing bytes") }

        let issuedAt = Date(timeIntervalSince1970: TimeInterval(seconds))
        guard scope == expectedScope else { throw .wrongScope(expected: expectedScope, found: scope) }
        // A token from the future (a replica whose clock runs ahead) is accepted: it is
        // authentic, and refusing it would break listings across replicas.
        guard now.timeIntervalSince(issuedAt) <= Self.seconds(maxAge) else { throw .expired(issuedAt: issuedAt) }
        return PageToken(scope: scope, position: position, issuedAt: issuedAt)
    }

    // MARK: - Pieces

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// `date` in whole seconds since 1970, rounded down, clamped to what Int64 holds.
    private static func wholeSeconds(_ date: Date) -> Int64 {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds.isFinite else { return seconds > 0 ? .max : .min }
        // 2^63 as a Double; anything at or beyond it does not fit.
        if seconds >= 9_223_372_036_854_775_808.0 { return .max }
        if seconds < -9_223_372_036_854_775_808.0 { return .min }
        return Int64(seconds)
    }

    private static func appendLength(_ length: Int, to bytes: inout [UInt8]) {
        var value = UInt64(max(length, 0))
        repeat {
            let low = UInt8(value & 0x7F)
            value >>= 7
            bytes.append(value == 0 ? low : low | 0x80)
        } while value != 0
    }

    private static func appendString(_ string: String, to bytes: inout [UInt8]) {
        appendLength(string.utf8.count, to: &bytes)
        bytes.append(contentsOf: string.utf8)
    }

    /// Reads the signed bytes; every read is bounds-checked and returns nil past the end.
    private struct ByteReader {
        var bytes: ArraySlice<UInt8>

        var isAtEnd: Bool { bytes.isEmpty }

        mutating func readInt64() -> Int64? {
            guard bytes.count >= 8 else { return nil }
            var value: UInt64 = 0
            for byte in bytes.prefix(8) { value = value << 8 | UInt64(byte) }
            bytes = bytes.dropFirst(8)
            return Int64(bitPattern: value)
        }

        /// A LEB128 length; at most 3 bytes, which covers anything a 2048-character token holds.
        mutating func readLength() -> Int? {
            var value = 0
            for shift in stride(from: 0, to: 21, by: 7) {
                guard let byte = bytes.first else { return nil }
                bytes = bytes.dropFirst()
                value |= Int(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
            }
            return nil
        }

        mutating func readString() -> String? {
            guard let length = readLength(), length <= bytes.count else { return nil }
            let string = String(validating: bytes.prefix(length), as: UTF8.self)
            bytes = bytes.dropFirst(length)
            return string
        }
    }
}

/// Why a page token was refused. The descriptions are written for the person who sent the
/// request: they go out as the message of an INVALID_ARGUMENT status and name the field.
public enum PageTokenError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text is not a page token at all (or one from an incompatible version).
    case malformed(String)
    /// The text decodes, but its signature does not match: it was altered, or issued by a
    /// server with a different secret.
    case tampered
    /// An authentic token for a different listing.
    case wrongScope(expected: String, found: String)
    /// An authentic token older than the codec's `maxAge`.
    case expired(issuedAt: Date)

    public var description: String {
        switch self {
        case .malformed(let reason):
            return "page_token is not a valid page token: \(reason)"
        case .tampered:
            return "page_token was altered or was not issued by this service"
        case .wrongScope(let expected, let found):
            return "page_token belongs to listing \"\(found)\", not \"\(expected)\"; "
                + "pass page_token only with the request that returned it"
        case .expired(let issuedAt):
            return "page_token expired (issued \(issuedAt.formatted(.iso8601))); "
                + "start the listing again from the first page"
        }
    }
}

/// base64url (RFC 4648 §5) without padding, strict when decoding: only the alphabet, no
/// `=`, and the unused low bits of the last character must be zero. Strictness matters for
/// page tokens: a lenient decoder maps several texts to the same bytes, so changing one
/// character's unused bits would yield a different text that is still accepted.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let remaining = bytes.count - index
            let b0 = UInt32(bytes[index])
            let b1 = remaining > 1 ? UInt32(bytes[index + 1]) : 0
            let b2 = remaining > 2 ? UInt32(bytes[index + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            let characters = min(remaining, 3) + 1  // 1 byte → 2 characters, 2 → 3, 3 → 4
            for position in 0..<characters {
                out.append(alphabet[Int((group >> UInt32(18 - 6 * position)) & 0x3F)])
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count % 4 != 1 else { return nil }  // no byte count encodes to that
        var out: [UInt8] = []
        out.reserveCapacity(characters.count * 3 / 4)
        var index = 0
        while index < characters.count {
            let chunk = characters[index..<min(index + 4, characters.count)]
            var group: UInt32 = 0
            for character in chunk {
                guard let value = sextet(character) else { return nil }
                group = group << 6 | value
            }
            group <<= UInt32(6 * (4 - chunk.count))
            let byteCount = chunk.count - 1
            // The bits below the last whole byte must be zero, or the text is not canonical.
            guard group & ((1 << UInt32(8 * (3 - byteCount))) - 1) == 0 else { return nil }
            for position in 0..<byteCount {
                out.append(UInt8(truncatingIfNeeded: group >> UInt32(16 - 8 * position)))
            }
            index += 4
        }
        return out
    }

    private static func sextet(_ character: UInt8) -> UInt32? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(character - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(character - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(character - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "-"): return 62
        case UInt8(ascii: "_"): return 63
        default: return nil
        }
    }
}
