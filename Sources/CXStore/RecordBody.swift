import CXModel
import CompressNIO
import Foundation
import GRDB
import NIOCore
import SwiftProtobuf

/// A record's protobuf bytes as stored: one codec tag byte, then the
/// bytes, zlib-compressed when that makes them smaller.
///
/// | tag | rest |
/// |---|---|
/// | 0 | the message as it is |
/// | 1 | the message, zlib (RFC 1950) |
///
/// Stored in a BLOB column; reading checks the tag and bounds inflating, so
/// a damaged row gives ``StoreError/corruptBody(table:key:reason:)``, never
/// a crash.
public struct RecordBody: Sendable, Hashable, DatabaseValueConvertible {
    public enum Codec: UInt8, Sendable {
        case raw = 0
        case zlib = 1
    }

    /// Bodies smaller than this are never compressed: zlib's own header and
    /// the time it takes outweigh what it saves.
    public static let compressionThreshold = 128
    /// Inflating stops past this many bytes (a body is a single record).
    public static let maxInflatedSize = 16 << 20

    /// The tagged bytes, as in the column.
    public let stored: Data

    public init(stored: Data) { self.stored = stored }

    /// Encodes `message`, compressing it when that is smaller.
    public init(_ message: some SwiftProtobuf.Message) throws {
        let bytes: Data = try message.serializedBytes()
        self.init(encoding: bytes)
    }

    /// Tags `bytes` as they are, without trying to compress them: for
    /// short-lived rows (an outbox event, a stored answer) where trying costs
    /// more time than the bytes it might save are worth.
    public init(raw bytes: Data) {
        // One allocation and one copy: appending to a Data byte by byte and
        // then the rest cost three times as much on the loyalty writer.
        var stored = Data(count: bytes.count + 1)
        stored.withUnsafeMutableBytes { target in
            target[0] = Codec.raw.rawValue
            bytes.withUnsafeBytes { source in
                guard let base = source.baseAddress, !source.isEmpty else { return }
                target.baseAddress!.advanced(by: 1).copyMemory(from: base, byteCount: source.count)
            }
        }
        self.stored = stored
    }

    /// Like ``init(raw:)`` for a message, encoded straight after the tag.
    public init(raw message: some SwiftProtobuf.Message) throws {
        let tagged: RawTagged = try message.serializedBytes()
        self.stored = tagged.stored
    }

    /// Bytes that SwiftProtobuf encodes into after a leading raw tag, so a
    /// message becomes a stored body without a second copy.
    private struct RawTagged: SwiftProtobufContiguousBytes {
        var stored: Data

        init(repeating byte: UInt8, count: Int) {
            stored = Data(repeating: byte, count: count + 1)
            stored[0] = Codec.raw.rawValue
        }

        init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
            stored = Data([Codec.raw.rawValue])
            stored.append(contentsOf: sequence)
        }

        var count: Int { stored.count - 1 }

        func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try stored.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0.dropFirst())) }
        }

        mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
            try stored.withUnsafeMutableBytes { try body(UnsafeMutableRawBufferPointer(rebasing: $0.dropFirst())) }
        }
    }

    /// Tags `bytes`, compressing them when that is smaller.
    public init(encoding bytes: Data) {
        if bytes.count >= Self.compressionThreshold {
            var input = ByteBuffer(bytes: bytes)
            if let compressed = try? input.compress(with: .zlib(configuration: Self.zlibConfiguration(for: bytes.count))),
                compressed.readableBytes < bytes.count
            {
                var stored = Data([Codec.zlib.rawValue])
                stored.append(contentsOf: compressed.readableBytesView)
                self.stored = stored
                return
            }
        }
        var stored = Data([Codec.raw.rawValue])
        stored.append(bytes)
        self.stored = stored
    }

    /// zlib's window and hash sized to the body. The defaults (a 32 KiB window,
    /// 128 KiB of hash state) cost more to set up and clear than compressing a
    /// typical record of a few hundred bytes takes; a window of at least the
    /// body's size finds every match the default would, and level 6 still
    /// decides the ratio. Any zlib reader inflates it.
    static func zlibConfiguration(for count: Int) -> ZlibConfiguration {
        var windowBits: Int32 = 9
        while windowBits < 15 && (1 << windowBits) < count { windowBits += 1 }
        return ZlibConfiguration(windowSize: windowBits, compressionLevel: 6, memoryLevel: max(1, windowBits - 7))
    }

    public var codec: Codec? { stored.first.flatMap(Codec.init(rawValue:)) }

    /// The untagged, inflated bytes.
    ///
    /// - Parameters: `table` and `key` name the row in the error.
    /// - Throws: ``StoreError/corruptBody(table:key:reason:)``.
    public func bytes(table: String, key: String) throws -> Data {
        guard let tag = stored.first else {
            throw StoreError.corruptBody(table: table, key: key, reason: "empty body, no codec tag")
        }
        let rest = stored.dropFirst()
        switch Codec(rawValue: tag) {
        case .raw:
            return Data(rest)
        case .zlib:
            var input = ByteBuffer(bytes: rest)
            do {
                let inflated = try input.decompress(with: .zlib(), maxSize: Self.maxInflatedSize + 1)
                guard inflated.readableBytes <= Self.maxInflatedSize else {
                    throw StoreError.corruptBody(table: table, key: key, reason: "inflates past \(Self.maxInflatedSize) bytes")
                }
                // A stream cut short inflates "successfully" to a prefix: check its checksum.
                guard Adler32.matchesTrailer(of: rest, inflated: inflated.readableBytesView) else {
                    throw StoreError.corruptBody(table: table, key: key, reason: "zlib stream is truncated or damaged (checksum mismatch)")
                }
                return Data(inflated.readableBytesView)
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError.corruptBody(table: table, key: key, reason: "zlib stream is corrupt (\(error))")
            }
        case nil:
            throw StoreError.corruptBody(table: table, key: key, reason: "unknown codec tag \(tag)")
        }
    }

    /// Decodes the body as `type`.
    ///
    /// - Throws: ``StoreError/corruptBody(table:key:reason:)``.
    public func decode<M: SwiftProtobuf.Message>(_ type: M.Type, table: String, key: String) throws -> M {
        let bytes = try bytes(table: table, key: key)
        do {
            return try M(serializedBytes: bytes)
        } catch {
            throw StoreError.corruptBody(table: table, key: key, reason: "not a valid \(M.protoMessageName) (\(error))")
        }
    }

    // MARK: DatabaseValueConvertible

    public var databaseValue: DatabaseValue { stored.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> RecordBody? {
        Data.fromDatabaseValue(dbValue).map(RecordBody.init(stored:))
    }
}
