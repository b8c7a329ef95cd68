import ArgumentParser
import CXModel
import Foundation
import SwiftProtobuf

/// A column of the customer CSV files that `profiles import` reads and
/// `profiles export` writes.
enum ProfilesCSVColumn: CSVHeaderColumn, Sendable {
    case id, name, email, phone, birthDate, gender, city, region, country, occupation, education
    case preferredChannels, marketingConsent
    /// `attributes.<key>`
    case attribute(String)

    /// Every column but the attributes, in file order.
    static let fixed: [ProfilesCSVColumn] = [
        .id, .name, .email, .phone, .birthDate, .gender, .city, .region, .country, .occupation, .education,
        .preferredChannels, .marketingConsent,
    ]

    static func attributeKeyProblem(_ key: String) -> String? {
        ProfilesCSV.isAttributeKey(key)
            ? nil : "\"\(key)\" is not an attribute key (1 to 64 of a-z, 0-9 and _, starting with a letter)"
    }

    var header: String {
        switch self {
        case .id: "id"
        case .name: "name"
        case .email: "email"
        case .phone: "phone"
        case .birthDate: "birth_date"
        case .gender: "gender"
        case .city: "city"
        case .region: "region"
        case .country: "country"
        case .occupation: "occupation"
        case .education: "education"
        case .preferredChannels: "preferred_channels"
        case .marketingConsent: "marketing_consent"
        case .attribute(let key): "attributes.\(key)"
        }
    }
}

/// One CSV row made into a customer, or why it cannot be.
enum ProfilesImportRow {
    case customer(Cx_Profiles_V1_Customer)
    case rejected(field: String, message: String)
}

enum ProfilesCSV {
    /// 1 to 64 of a-z, 0-9 and "_", starting with a letter.
    static func isAttributeKey(_ key: String) -> Bool {
        let scalars = Array(key.unicodeScalars)
        guard let first = scalars.first, scalars.count <= 64, (97...122).contains(first.value) else { return false }
        return scalars.allSatisfy { (97...122).contains($0.value) || (48...57).contains($0.value) || $0 == "_" }
    }

    /// "YYYY-MM-DD" (Persian or Arabic-Indic digits too; year 0000 = not known).
    static func parseDate(_ text: String) -> Cx_Common_V1_Date? {
        let parts = CXText.normalize(text).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ part in part.unicodeScalars.allSatisfy { (48...57).contains($0.value) } }),
            let year = Int32(parts[0]), let month = Int32(parts[1]), let day = Int32(parts[2]),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var date = Cx_Common_V1_Date()
        date.year = year
        date.month = month
        date.day = day
        return date
    }

    /// A data row as a customer. Cells left empty are "not known"; fields past
    /// the header's are an error, fewer fields than the header read as empty.
    static func customer(from fields: [String], columns: [ProfilesCSVColumn]) -> ProfilesImportRow {
        guard fields.count <= columns.count else {
            return .rejected(field: "", message: "the row has \(fields.count) fields, the header names \(columns.count) columns")
        }
        var customer = Cx_Profiles_V1_Customer()
        for (index, value) in fields.enumerated() where !value.isEmpty {
            let column = columns[index]
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            switch column {
            case .id: customer.id = trimmed
            case .name: customer.name = value
            case .email: customer.email = trimmed
            case .phone: customer.phone = trimmed
            case .birthDate:
                if trimmed.isEmpty { continue }
                guard let date = parseDate(trimmed) else {
                    return .rejected(field: column.header, message: "\"\(value)\" is not a date YYYY-MM-DD (0000-MM-DD when the year is not known)")
                }
                customer.birthDate = date
            case .gender:
                guard let gender = ProfilesNames.gender(named: value) else {
                    return .rejected(field: column.header, message: "\"\(value)\" is not female, male, other or undisclosed")
                }
                customer.gender = gender
            case .city: customer.city = value
            case .region: customer.region = value
            case .country: customer.country = trimmed
            case .occupation: customer.occupation = value
            case .education: customer.education = value
            case .preferredChannels:
                var channels: [Cx_Profiles_V1_Channel] = []
                for piece in value.split(separator: ";") {
                    let name = piece.trimmingCharacters(in: .whitespaces)
                    if name.isEmpty { continue }
                    guard let channel = ProfilesNames.channel(named: name) else {
                        return .rejected(
                            field: column.header,
                            message: "\"\(name)\" is not a channel (\(ProfilesNames.channelList); separate several with ;)")
                    }
                    if !channels.contains(channel) { channels.append(channel) }
                }
                customer.preferredChannels = channels
            case .marketingConsent:
                let given: Bool
                switch CXText.normalize(value) {
                case "": continue
                case "true": given = true
                case "false": given = false
                default:
                    return .rejected(field: column.header, message: "\"\(value)\" is not true or false")
                }
                var consent = Cx_Profiles_V1_MarketingConsent()
                consent.given = given
                consent.method = "import"
                customer.marketingConsent = consent
            case .attribute(let key):
                customer.attributes[key] = value
            }
        }
        return .customer(customer)
    }

    /// A customer as a row of `columns`, as `customer(from:columns:)` reads it back.
    static func row(for customer: Cx_Profiles_V1_Customer, columns: [ProfilesCSVColumn]) -> [String] {
        columns.map { cell($0, of: customer) }
    }

    static func cell(_ column: ProfilesCSVColumn, of customer: Cx_Profiles_V1_Customer) -> String {
        switch column {
        case .id: return customer.id
        case .name: return customer.name
        case .email: return customer.email
        case .phone: return customer.phone
        case .birthDate: return customer.hasBirthDate ? ProfilesFormat.date(customer.birthDate) : ""
        case .gender: return ProfilesNames.gender(customer.gender)
        case .city: return customer.city
        case .region: return customer.region
        case .country: return customer.country
        case .occupation: return customer.occupation
        case .education: return customer.education
        case .preferredChannels: return customer.preferredChannels.map { ProfilesNames.channel($0) }.joined(separator: ";")
        case .marketingConsent:
            guard customer.hasMarketingConsent else { return "" }
            return customer.marketingConsent.given ? "true" : "false"
        case .attribute(let key): return customer.attributes[key] ?? ""
        }
    }
}

/// A fingerprint of a file's bytes, fed in chunks of any size: SHA-256 of the
/// SHA-256 digests of its 1 MiB blocks and its length, so that a large file is
/// never held in memory.
struct ProfilesContentHasher {
    private static let blockSize = 1 << 20
    private var block: [UInt8] = []
    private var digests: [UInt8] = []
    private var total = 0

    mutating func update(_ data: Data) {
        total += data.count
        var rest = data[...]
        while !rest.isEmpty {
            let part = rest.prefix(Self.blockSize - block.count)
            block.append(contentsOf: part)
            rest = rest.dropFirst(part.count)
            if block.count == Self.blockSize {
                digests.append(contentsOf: SHA256.hash(block))
                block.removeAll(keepingCapacity: true)
            }
        }
    }

    /// 32 hex digits (the first 128 bits of the digest).
    func fingerprint() -> String {
        var all = digests
        if !block.isEmpty { all.append(contentsOf: SHA256.hash(block)) }
        all.append(contentsOf: Array("length \(total)".utf8))
        let hex = Array("0123456789abcdef")
        return SHA256.hash(all).prefix(16).map { "\(hex[Int($0 >> 4)])\(hex[Int($0 & 0x0f)])" }.joined()
    }
}

/// Reads a CSV file in chunks through `CSVReader`, hashing what it reads. A
/// file that is not CSV (or not UTF-8) is reported with its line, exit 64.
struct ProfilesCSVFile {
    let path: String
    private let handle: FileHandle
    private var reader = CSVReader()
    private var finished = false
    private(set) var hasher = ProfilesContentHasher()

    init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw badInput("\(path): cannot be opened for reading")
        }
        self.path = path
        self.handle = handle
    }

    /// The records the next chunk completes (maybe none); nil after the last.
    mutating func next() throws -> [CSVRecord]? {
        if finished { return nil }
        let chunk: Data
        do {
            chunk = try handle.read(upToCount: 1 << 16) ?? Data()
        } catch {
            throw ProfilesFileError("\(path): cannot be read: \(error.localizedDescription)")
        }
        if chunk.isEmpty {
            finished = true
            try? handle.close()
            do {
                return try reader.finish()
            } catch {
                throw badInput("\(path): \(error)")
            }
        }
        hasher.update(chunk)
        do {
            return try reader.feed(chunk)
        } catch {
            throw badInput("\(path): \(error)")
        }
    }
}

/// Buffered writing to a file or to standard output.
final class ProfilesTextSink {
    private let handle: FileHandle
    private let closesHandle: Bool
    private var buffer = Data()

    /// Creates (or empties) the file at `path`.
    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw ProfilesFileError("\(path): cannot be created for writing")
        }
        self.handle = handle
        closesHandle = true
    }

    /// Standard output.
    init() {
        handle = FileHandle.standardOutput
        closesHandle = false
    }

    func write(_ text: String) throws {
        buffer.append(contentsOf: Array(text.utf8))
        if buffer.count >= 1 << 16 { try flush() }
    }

    func write(bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, and closes the file (never standard output).
    func close() throws {
        try flush()
        if closesHandle { try handle.close() }
    }
}

/// Customers parked in a temporary file, length-prefixed protobuf, so that an
/// export can learn every attribute key before it writes the CSV header
/// without holding every customer in memory.
final class ProfilesSpool {
    let path: String
    private let sink: ProfilesTextSink

    init() throws {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let file = (directory.hasSuffix("/") ? directory : directory + "/") + "cxctl-export-\(UUID().uuidString).spool"
        path = file
        sink = try ProfilesTextSink(path: file)
    }

    func append(_ customer: Cx_Profiles_V1_Customer) throws {
        let bytes: [UInt8] = try customer.serializedBytes()
        let count = UInt32(bytes.count)
        try sink.write(bytes: [
            UInt8(truncatingIfNeeded: count >> 24), UInt8(truncatingIfNeeded: count >> 16),
            UInt8(truncatingIfNeeded: count >> 8), UInt8(truncatingIfNeeded: count),
        ])
        try sink.write(bytes: bytes)
    }

    /// Ends writing; reads the customers back in the order they were appended.
    func reader() throws -> ProfilesSpoolReader {
        try sink.close()
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ProfilesFileError("\(path): the export's temporary file cannot be read back")
        }
        return ProfilesSpoolReader(handle: handle)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

struct ProfilesSpoolReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var offset = 0

    init(handle: FileHandle) {
        self.handle = handle
    }

    mutating func next() throws -> Cx_Profiles_V1_Customer? {
        guard try fill(4) else { return nil }
        let length = Int(buffer[offset]) << 24 | Int(buffer[offset + 1]) << 16 | Int(buffer[offset + 2]) << 8
            | Int(buffer[offset + 3])
        guard try fill(4 + length) else {
            throw ProfilesFileError("the export's temporary file ends in the middle of a customer")
        }
        let start = offset + 4
        let customer = try Cx_Profiles_V1_Customer(serializedBytes: Array(buffer[start..<(start + length)]))
        offset = start + length
        return customer
    }

    /// Makes `count` unread bytes available; false at the end of the file.
    private mutating func fill(_ count: Int) throws -> Bool {
        while buffer.count - offset < count {
            if offset > 0 {
                buffer.removeFirst(offset)
                offset = 0
            }
            guard let more = try handle.read(upToCount: max(1 << 20, count)), !more.isEmpty else { return false }
            buffer.append(contentsOf: more)
        }
        return true
    }
}
