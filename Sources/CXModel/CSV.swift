/// One CSV record and the 1-based line it starts on (a quoted field may carry it over
/// several lines, so the start is what an error report or an editor needs).
public struct CSVRecord: Sendable, Equatable {
    public var line: Int
    public var fields: [String]

    public init(line: Int, fields: [String]) {
        self.line = line
        self.fields = fields
    }
}

/// Bounds that keep a hostile or broken file from using unbounded memory: without them an
/// unterminated quote near the start would read the whole rest of the file into one field.
public struct CSVLimits: Sendable, Equatable {
    /// The most bytes (UTF-8) in one field.
    public var maxFieldBytes: Int
    /// The most fields in one record.
    public var maxFieldsPerRecord: Int

    public init(maxFieldBytes: Int = 65_536, maxFieldsPerRecord: Int = 256) {
        self.maxFieldBytes = maxFieldBytes
        self.maxFieldsPerRecord = maxFieldsPerRecord
    }
}

/// Why a CSV file could not be read. Lines and fields are 1-based.
public enum CSVError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A field is not valid UTF-8; `line` is the line of the first bad byte.
    case invalidUTF8(line: Int, field: Int)
    /// The input ended inside a quoted field that began on `line`.
    case unterminatedQuote(line: Int)
    /// Something other than a comma or line end follows a closing quote.
    case textAfterClosingQuote(line: Int, field: Int)
    /// A field is longer than `CSVLimits.maxFieldBytes`.
    case fieldTooLarge(line: Int, field: Int, limit: Int)
    /// A record has more fields than `CSVLimits.maxFieldsPerRecord`.
    case tooManyFields(line: Int, limit: Int)

    public var description: String {
        switch self {
        case .invalidUTF8(let line, let field):
            return "line \(line): field \(field) is not valid UTF-8 (save the file as UTF-8)"
        case .unterminatedQuote(let line):
            return "line \(line): a quoted field starts here and is never closed"
        case .textAfterClosingQuote(let line, let field):
            return "line \(line): field \(field) has text after its closing quote "
                + "(a quote inside a quoted field is written as two quotes)"
        case .fieldTooLarge(let line, let field, let limit):
            return "line \(line): field \(field) is longer than the limit of \(limit) bytes"
        case .tooManyFields(let line, let limit):
            return "line \(line): the record has more than the limit of \(limit) fields"
        }
    }
}

/// An incremental RFC 4180 CSV reader, for `cxctl profiles import`: `feed` it chunks of
/// bytes as they are read, take the records each call completes, and call `finish` once at
/// the end for the last record. A 100 MB import is never held as one `String`.
///
/// What it accepts beyond the RFC:
///
/// - Records may end with CRLF, LF or a lone CR, and the last one need not end at all.
/// - A UTF-8 byte order mark at the very start is skipped (spreadsheets write one).
/// - Empty lines are skipped; they carry no record. (A record of one empty field is
///   written `""`, which is not an empty line; `CSVWriter` does that.)
/// - A quote inside an unquoted field is kept as a character (`5" screen`), since that is
///   unambiguous; text after a closing quote (`"ab"c`) is an error, since it means the
///   quoting went wrong somewhere and guessing would import shifted columns.
///
/// Text must be UTF-8. Every error names the 1-based line it happened on; lines count CRLF,
/// LF and lone CR, inside quoted fields too, so the numbers match what an editor shows.
///
///     var reader = CSVReader()
///     while let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty {
///         for record in try reader.feed(chunk) { ... }
///     }
///     for record in try reader.finish() { ... }
///
/// Chunks may split anywhere, even inside a UTF-8 sequence or the BOM. After an error the
/// reader stays failed: every later call throws the same error. Records completed in the
/// call that fails are not returned (the error is what matters then).
public struct CSVReader: Sendable {
    private enum State {
        case recordStart, fieldStart, unquoted, quoted, quoteInQuoted
    }

    private static let quote = UInt8(ascii: "\"")
    private static let comma = UInt8(ascii: ",")
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")
    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    public let limits: CSVLimits

    private var state = State.recordStart
    private var field: [UInt8] = []
    private var fields: [String] = []
    private var output: [CSVRecord] = []
    private var line = 1
    private var recordLine = 1
    private var fieldLine = 1
    private var previousByte: UInt8 = 0
    /// How many BOM bytes matched so far at the start of input; nil once the start is past.
    private var bomMatched: Int? = 0
    private var failure: CSVError?

    public init(limits: CSVLimits = CSVLimits()) {
        self.limits = limits
    }

    /// All records of `data`, for input that is small or already in memory.
    public static func records(
        in data: some Sequence<UInt8>, limits: CSVLimits = CSVLimits()
    ) throws(CSVError) -> [CSVRecord] {
        var reader = CSVReader(limits: limits)
        var records = try reader.feed(data)
        records += try reader.finish()
        return records
    }

    /// Reads `bytes` and returns the records they complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(CSVError) -> [CSVRecord] {
        if let failure { throw failure }
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in consume(buffer) }
        if done == nil {
            Array(bytes).withUnsafeBufferPointer { buffer in consume(buffer) }
        }
        return try takeOutput()
    }

    /// Ends the input and returns the last record, if the input did not end with a line end.
    public mutating func finish() throws(CSVError) -> [CSVRecord] {
        if let failure { throw failure }
        if let matched = bomMatched {  // the input was shorter than a BOM
            bomMatched = nil
            for byte in Self.bom.prefix(matched) where failure == nil { step(byte) }
        }
        if failure == nil {
            switch state {
            case .recordStart:
                break
            case .fieldStart, .unquoted, .quoteInQuoted:
                endField()
                endRecord()
            case .quoted:
                failure = .unterminatedQuote(line: fieldLine)
            }
        }
        return try takeOutput()
    }

    private mutating func takeOutput() throws(CSVError) -> [CSVRecord] {
        if let failure {
            output.removeAll()
            throw failure
        }
        defer { output.removeAll(keepingCapacity: true) }
        return output
    }

    private mutating func consume(_ buffer: UnsafeBufferPointer<UInt8>) {
        for byte in buffer {
            if let matched = bomMatched {
                if byte == Self.bom[matched] {
                    bomMatched = matched + 1 == Self.bom.count ? nil : matched + 1
                    continue
                }
                bomMatched = nil
                for bomByte in Self.bom.prefix(matched) where failure == nil { step(bomByte) }
            }
            guard failure == nil else { return }
            step(byte)
            guard failure == nil else { return }
        }
    }

    private mutating func step(_ byte: UInt8) {
        switch state {
        case .recordStart:
            if byte == Self.cr || byte == Self.lf { break }  // an empty line
            recordLine = line
            startField(with: byte)
        case .fieldStart:
            startField(with: byte)
        case .unquoted:
            switch byte {
            case Self.comma:
                endField()
                state = .fieldStart
            case Self.cr, Self.lf:
                endField()
                endRecord()
            default:
                append(byte)
            }
        case .quoted:
            if byte == Self.quote {
                state = .quoteInQuoted
            } else {
                append(byte)
            }
        case .quoteInQuoted:
            switch byte {
            case Self.quote:  // a doubled quote stands for one
                append(byte)
                state = .quoted
            case Self.comma:
                endField()
                state = .fieldStart
            case Self.cr, Self.lf:
                endField()
                endRecord()
            default:
                failure = .textAfterClosingQuote(line: line, field: fields.count + 1)
            }
        }
        // Count lines after the byte is handled: a line end belongs to the line it ends.
        if byte == Self.cr || (byte == Self.lf && previousByte != Self.cr) { line += 1 }
        previousByte = byte
    }

    /// The first byte of a field (in a record already started).
    private mutating func startField(with byte: UInt8) {
        fieldLine = line
        switch byte {
        case Self.quote:
            state = .quoted
        case Self.comma:
            endField()
            state = .fieldStart
        case Self.cr, Self.lf:
            endField()
            endRecord()
        default:
            state = .unquoted
            append(byte)
        }
    }

    private mutating func append(_ byte: UInt8) {
        guard field.count < limits.maxFieldBytes else {
            failure = .fieldTooLarge(line: fieldLine, field: fields.count + 1, limit: limits.maxFieldBytes)
            return
        }
        field.append(byte)
    }

    private mutating func endField() {
        guard failure == nil else { return }
        guard fields.count < limits.maxFieldsPerRecord else {
            failure = .tooManyFields(line: recordLine, limit: limits.maxFieldsPerRecord)
            return
        }
        guard let text = String(validating: field, as: UTF8.self) else {
            failure = .invalidUTF8(line: Self.lineOfFirstInvalidByte(field, from: fieldLine), field: fields.count + 1)
            return
        }
        fields.append(text)
        field.removeAll(keepingCapacity: true)
    }

    private mutating func endRecord() {
        guard failure == nil else { return }
        output.append(CSVRecord(line: recordLine, fields: fields))
        fields.removeAll(keepingCapacity: true)
        state = .recordStart
    }

    /// The line of the first byte in `bytes` that is not valid UTF-8, counting the line ends
    /// before it (a quoted field may span lines). Only runs when there is an error to report.
    private static func lineOfFirstInvalidByte(_ bytes: [UInt8], from startLine: Int) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var validCount = 0
        scan: while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): validCount += scalar.count
            case .error, .emptyInput: break scan
            }
        }
        var line = startLine
        var previous: UInt8 = 0
        for byte in bytes.prefix(validCount) {
            if byte == cr || (byte == lf && previous != cr) { line += 1 }
            previous = byte
        }
        return line
    }
}

/// Writes CSV records that `CSVReader` (and spreadsheets) read back as the same fields.
///
/// Fields that start with `=`, `+`, `-` or `@` are written as they are, although a
/// spreadsheet may run them as formulas ("CSV injection"). The usual guard, prefixing a `'`,
/// changes the data, and export exists for round trips (export, edit, import back): a phone
/// number "+98..." or a note "-10% off" must come back unchanged. Whoever opens an export in
/// a spreadsheet should import it as text.
public enum CSVWriter {
    /// One record as a CSV line, ending with CRLF (RFC 4180's line end).
    ///
    /// A field is quoted when it has a comma, quote, CR or LF, or starts or ends with
    /// whitespace (which some readers trim), or starts with a byte order mark (which a reader
    /// may skip at the start of a file). A record of one empty field is written `""`, so it is
    /// not mistaken for an empty line; a record with no fields cannot be told apart from an
    /// empty line and is written as one.
    public static func line(_ fields: [String]) -> String {
        if fields.count == 1, fields[0].isEmpty { return "\"\"\r\n" }
        var out = ""
        for (index, field) in fields.enumerated() {
            if index > 0 { out += "," }
            if needsQuotes(field) {
                out.unicodeScalars.append("\"")
                for scalar in field.unicodeScalars {
                    if scalar == "\"" { out.unicodeScalars.append("\"") }  // a quote is written twice
                    out.unicodeScalars.append(scalar)
                }
                out.unicodeScalars.append("\"")
            } else {
                out += field
            }
        }
        out += "\r\n"
        return out
    }

    private static func needsQuotes(_ field: String) -> Bool {
        let scalars = field.unicodeScalars
        guard let first = scalars.first, let last = scalars.last else { return false }
        if first.properties.isWhitespace || last.properties.isWhitespace || first == "\u{FEFF}" { return true }
        return scalars.contains { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }
    }
}
