import ArgumentParser
import CXModel
import CXWire
import Foundation
import SwiftProtobuf

/// `cxctl journey import FILE`
struct JourneyImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Record the events of a CSV or JSON-lines file, in batches of up to 1000.",
        discussion: """
            A CSV file's first row names the columns, in any order: customer_id and type \
            (required), touchpoint_id, occurred_at (a day 2026-01-01 or a time \
            2026-01-01T09:30:00Z; empty: when the service records it), idempotency_key, and \
            attributes.<key> for any attribute (attributes.product, attributes.plan, ...). An \
            empty cell is "not given". The file is UTF-8 CSV (RFC 4180).

            A JSON-lines file (.jsonl, .ndjson or .json, or --format jsonl) holds one event per \
            line, in protobuf's JSON mapping of cx.journey.v1.Event: {"customer_id": "c-1042", \
            "type": "first_purchase", "touchpoint_id": "store", "occurred_at": \
            "2026-03-01T10:15:00Z", "attributes": {"product": "laptop"}}.

            Each event stands alone and is applied in file order: a bad one is reported with \
            its line and field and changes nothing; the others are recorded. A column cxctl \
            does not know, or a file that is not CSV, is reported before anything is sent \
            (exit 64). While importing, a progress line is shown on standard error when it is \
            a terminal; at the end, how many events were recorded and failed, and the first \
            20 failures (line, field, status code, reason, message).

            Safe to run again: an event with an idempotency_key is recorded once per key; an \
            event with an occurred_at and no key gets a key made from its content, so running \
            the same file again (or a corrected one) records only what was not recorded yet. \
            Two rows alike in every column are therefore one event. An event with neither is \
            recorded again by every run. The service remembers keys for at least 7 days.

            Examples:
              cxctl journey import events.csv
              cxctl journey import events.jsonl --json > summary.json

            events.csv:
              customer_id,type,touchpoint_id,occurred_at,attributes.product
              c-1042,first_purchase,store,2026-03-01T10:15:00Z,laptop
              c-2077,website_visit,website,2026-03-01,

            Exit status: 0 every event was recorded; 1 some failed, or a call failed (what \
            was done until then stays done); 64 the command line, the header or the CSV is \
            wrong (nothing was sent).
            """)

    @Argument(help: ArgumentHelp("The CSV or JSON-lines file; - reads standard input.", valueName: "file"))
    var file: String

    @Option(help: "csv or jsonl (default: jsonl for .jsonl, .ndjson and .json, else csv).")
    var format: JourneyImportFormat?

    @Option(help: "Events per RecordEvents call, 1 to 1000.")
    var batchSize = 1000

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...1000).contains(batchSize) else {
            throw ValidationError("--batch-size: \(batchSize) must be 1 to 1000")
        }
        if file == "-", format == nil {
            throw ValidationError("--format: needed when the file is standard input (csv or jsonl)")
        }
    }

    var fileFormat: JourneyImportFormat {
        if let format { return format }
        let suffix = (file as NSString).pathExtension.lowercased()
        return ["jsonl", "ndjson", "json"].contains(suffix) ? .jsonl : .csv
    }

    func run() async throws {
        let path = file == "-" ? "/dev/stdin" : file
        // Standard input can be read once: it is checked as it is sent, and
        // the progress line has no total.
        var total: Int?
        var columns: [JourneyImportColumn]?
        if file != "-" {
            (total, columns) = try JourneyEventFile.scan(path: path, name: file, format: fileFormat)
        }
        let session = try ServiceSession(.journey, connection, format: output.format)
        let importer = JourneyImporter(
            name: file, total: total, batchSize: batchSize, session: session, showProgress: stderrIsTerminal)
        var events = try JourneyEventFile(path: path, name: file, format: fileFormat, columns: columns)
        while let rows = try events.next() {
            for row in rows { try await importer.add(row) }
        }
        try await importer.finish()
        await session.close()
        importer.report(format: output.format)
        if importer.failed > 0 { throw ExitCode(1) }
    }
}

enum JourneyImportFormat: String, CaseIterable, ExpressibleByArgument {
    case csv, jsonl
}

/// A column of the event CSV files.
enum JourneyImportColumn: CSVHeaderColumn {
    case customerID, type, touchpointID, occurredAt, idempotencyKey
    /// `attributes.<key>`
    case attribute(String)

    static let fixed: [JourneyImportColumn] = [.customerID, .type, .touchpointID, .occurredAt, .idempotencyKey]

    static func attributeKeyProblem(_ key: String) -> String? {
        (1...64).contains(key.count) ? nil : "an attribute key is 1 to 64 characters"
    }

    var header: String {
        switch self {
        case .customerID: "customer_id"
        case .type: "type"
        case .touchpointID: "touchpoint_id"
        case .occurredAt: "occurred_at"
        case .idempotencyKey: "idempotency_key"
        case .attribute(let key): "attributes.\(key)"
        }
    }

    /// The columns a header row names; a column that is unknown, repeated
    /// or missing is reported (exit 64) before anything is sent.
    static func checkedColumns(header: CSVRecord, file: String) throws -> [JourneyImportColumn] {
        let columns = try Self.columns(header: header, file: file)
        for required in [JourneyImportColumn.customerID, .type] where !columns.contains(required) {
            throw badInput("\(file): the header (line \(header.line)) has no \(required.header) column; it is required. Nothing was imported.")
        }
        return columns
    }
}

/// One event of the file, or why it cannot be one; `line` is where it starts.
struct JourneyImportRow {
    enum Content {
        case event(Cx_Journey_V1_Event)
        case rejected(field: String, message: String)
    }

    var line: Int
    var content: Content
}

/// The events of a CSV or JSON-lines file, read in chunks, never whole.
struct JourneyEventFile {
    /// The longest JSON line read: an event is far smaller.
    static let maxLineBytes = 1 << 20

    private let name: String
    private let format: JourneyImportFormat
    private var columns: [JourneyImportColumn]?
    private var headerSeen = false
    private var csv: ProfilesCSVFile?
    private var handle: FileHandle?
    private var pending = Data()
    private var line = 0
    private var finished = false

    init(path: String, name: String, format: JourneyImportFormat, columns: [JourneyImportColumn]?) throws {
        self.name = name
        self.format = format
        self.columns = columns
        switch format {
        case .csv:
            csv = try ProfilesCSVFile(path: path)
        case .jsonl:
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw badInput("\(name): cannot be opened for reading")
            }
            self.handle = handle
        }
    }

    /// The number of events in the file and its CSV columns: the first
    /// pass, which finds a bad header or a file that is not CSV before
    /// anything is sent.
    static func scan(path: String, name: String, format: JourneyImportFormat) throws -> (Int, [JourneyImportColumn]?) {
        var file = try JourneyEventFile(path: path, name: name, format: format, columns: nil)
        var count = 0
        switch format {
        case .csv:
            while let records = try file.csv?.next() {
                for record in records {
                    if file.columns == nil {
                        file.columns = try JourneyImportColumn.checkedColumns(header: record, file: name)
                    } else {
                        count += 1
                    }
                }
            }
            guard file.columns != nil else {
                throw badInput("\(name): the file is empty; its first row must name the columns (\(JourneyImportColumn.knownNames))")
            }
        case .jsonl:
            while let lines = try file.nextLines() { count += lines.count }
        }
        return (count, file.columns)
    }

    /// The rows the next chunk completes (maybe none); nil after the last.
    mutating func next() throws -> [JourneyImportRow]? {
        switch format {
        case .csv:
            guard let records = try csv?.next() else { return nil }
            var rows: [JourneyImportRow] = []
            for record in records {
                guard headerSeen, let columns else {
                    // The header: checked here too when standard input is read once.
                    headerSeen = true
                    if columns == nil { columns = try JourneyImportColumn.checkedColumns(header: record, file: name) }
                    continue
                }
                rows.append(JourneyImportRow(line: record.line, content: Self.event(csv: record.fields, columns: columns)))
            }
            return rows
        case .jsonl:
            guard let lines = try nextLines() else { return nil }
            return lines.map { JourneyImportRow(line: $0.line, content: Self.event(json: $0.text)) }
        }
    }

    /// The non-blank lines the next chunk completes; nil after the last.
    private mutating func nextLines() throws -> [(line: Int, text: Data)]? {
        guard !finished, let handle else { return nil }
        let chunk: Data
        do {
            chunk = try handle.read(upToCount: 1 << 16) ?? Data()
        } catch {
            throw ProfilesFileError("\(name): cannot be read: \(error.localizedDescription)")
        }
        if chunk.isEmpty {
            finished = true
            try? handle.close()
        } else {
            pending.append(chunk)
        }
        var lines: [(line: Int, text: Data)] = []
        while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
            line += 1
            lines.append((line, pending[pending.startIndex..<end]))
            pending = pending[(end + 1)...]
        }
        guard pending.count <= Self.maxLineBytes else {
            throw badInput("\(name): line \(line + 1) is longer than \(Self.maxLineBytes) bytes; one event per line")
        }
        if finished, !pending.isEmpty {
            line += 1
            lines.append((line, pending))
            pending = Data()
        }
        pending = Data(pending)
        return lines.compactMap { entry in
            let text = entry.text.last == UInt8(ascii: "\r") ? entry.text.dropLast() : entry.text
            return text.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) ? nil : (entry.line, Data(text))
        }
    }

    /// A CSV data row as an event. Empty cells are not given; more fields
    /// than the header's are an error, fewer read as empty.
    static func event(csv fields: [String], columns: [JourneyImportColumn]) -> JourneyImportRow.Content {
        guard fields.count <= columns.count else {
            return .rejected(field: "", message: "the row has \(fields.count) fields, the header names \(columns.count) columns")
        }
        var event = Cx_Journey_V1_Event()
        for (index, value) in fields.enumerated() where !value.isEmpty {
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            switch columns[index] {
            case .customerID: event.customerID = trimmed
            case .type: event.type = trimmed
            case .touchpointID: event.touchpointID = trimmed
            case .occurredAt:
                if trimmed.isEmpty { continue }
                guard let time = TimeFlag.time(trimmed) else {
                    return .rejected(field: "occurred_at", message: TimeFlag.problem(value))
                }
                event.occurredAt = time
            case .idempotencyKey: event.idempotencyKey = trimmed
            case .attribute(let key): event.attributes[key] = value
            }
        }
        return check(event)
    }

    /// A JSON line as an event: an object with the fields of
    /// cx.journey.v1.Event, by their proto or JSON names.
    static func event(json line: Data) -> JourneyImportRow.Content {
        guard let text = String(data: line, encoding: .utf8) else {
            return .rejected(field: "", message: "the line is not valid UTF-8 (save the file as UTF-8)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return .rejected(field: "", message: "the line is not a JSON object like {\"customer_id\": \"c-1\", \"type\": \"first_purchase\"}")
        }
        var event = Cx_Journey_V1_Event()
        for (name, value) in object.sorted(by: { $0.key < $1.key }) {
            let field = ["customerId": "customer_id", "touchpointId": "touchpoint_id", "occurredAt": "occurred_at",
                         "idempotencyKey": "idempotency_key"][name] ?? name
            if field == "attributes" {
                guard let attributes = value as? [String: Any] else {
                    return .rejected(field: "attributes", message: "must be an object of strings, such as {\"product\": \"laptop\"}")
                }
                for (key, value) in attributes {
                    guard let value = value as? String else {
                        return .rejected(field: "attributes.\(key)", message: "must be a string")
                    }
                    event.attributes[key] = value
                }
                continue
            }
            guard ["customer_id", "type", "touchpoint_id", "occurred_at", "idempotency_key"].contains(field) else {
                return .rejected(field: name, message: "is not a field of an event (\(JourneyImportColumn.fixed.map(\.header).joined(separator: ", ")), attributes)")
            }
            guard let string = value as? String else {
                return .rejected(field: field, message: "must be a string")
            }
            switch field {
            case "customer_id": event.customerID = string
            case "type": event.type = string
            case "touchpoint_id": event.touchpointID = string
            case "idempotency_key": event.idempotencyKey = string
            default:
                guard let time = TimeFlag.time(string) else {
                    return .rejected(field: "occurred_at", message: TimeFlag.problem(string))
                }
                event.occurredAt = time
            }
        }
        return check(event)
    }

    /// What cxctl checks of an event before sending it: the fields it needs.
    /// The service checks the rest and names the field.
    static func check(_ event: Cx_Journey_V1_Event) -> JourneyImportRow.Content {
        if event.customerID.isEmpty { return .rejected(field: "customer_id", message: "is required") }
        if event.type.isEmpty { return .rejected(field: "type", message: "is required") }
        guard JourneyCheck.isEventType(event.type) else {
            return .rejected(field: "type", message: "\"\(event.type)\" is not an event type (1 to 64 of a-z, 0-9 and _, such as first_purchase)")
        }
        return .event(event)
    }
}

/// An event that was not recorded.
struct JourneyImportFailure {
    var line: Int
    /// The field at fault ("touchpoint_id"); empty when the event as a whole is.
    var field: String
    /// The status code RecordEvent would have answered.
    var code: String
    var reason: String
    var message: String
}

/// Sends a file's events in RecordEvents batches and keeps the score.
final class JourneyImporter {
    /// Failures shown in the table; --json shows up to `failuresKept`.
    static let failuresShown = 20
    static let failuresKept = 1000

    let name: String
    let total: Int?
    let session: ServiceSession
    let showProgress: Bool
    let started = ContinuousClock.now

    private(set) var recorded = 0
    private(set) var failed = 0
    private(set) var moved = 0
    private(set) var wonBack = 0
    private(set) var tasksCreated = 0
    private(set) var calls = 0
    private(set) var failures: [JourneyImportFailure] = []
    private var read = 0
    private var pending: ImportBatch<Cx_Journey_V1_Event>

    init(name: String, total: Int?, batchSize: Int, session: ServiceSession, showProgress: Bool) {
        self.name = name
        self.total = total
        pending = ImportBatch(limit: batchSize)
        self.session = session
        self.showProgress = showProgress
    }

    func add(_ row: JourneyImportRow) async throws {
        guard case .event(var event) = row.content else {
            read += 1
            if case .rejected(let field, let message) = row.content {
                fail(JourneyImportFailure(line: row.line, field: field, code: "INVALID_ARGUMENT", reason: "", message: message))
            }
            return
        }
        if event.idempotencyKey.isEmpty, event.hasOccurredAt { event.idempotencyKey = Self.key(for: event) }
        let size = try ImportItemSize(of: event)
        guard size.fits else {
            read += 1
            fail(JourneyImportFailure(
                line: row.line, field: "", code: "RESOURCE_EXHAUSTED", reason: "",
                message: "the event is \(size.sent) bytes as a message, more than one call may carry"))
            return
        }
        if pending.isFull(adding: size) { try await flush() }
        read += 1
        pending.append(event, line: row.line, size: size)
    }

    func finish() async throws {
        try await flush()
        if showProgress { writeStderr("\r\u{1B}[K") }
    }

    /// "cxctl-import-" and 32 hex digits of the SHA-256 of the event
    /// (without a key), encoded deterministically: the same event, the same key.
    static func key(for event: Cx_Journey_V1_Event) -> String {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        let bytes: [UInt8] = (try? event.serializedBytes(options: options)) ?? []
        let hex = Array("0123456789abcdef")
        return "cxctl-import-" + SHA256.hash(bytes).prefix(16).map { "\(hex[Int($0 >> 4)])\(hex[Int($0 & 0x0f)])" }.joined()
    }

    /// Sends the pending events as one call and records each one's outcome.
    private func flush() async throws {
        guard !pending.isEmpty else { return }
        var request = Cx_Journey_V1_RecordEventsRequest()
        request.events = pending.items
        let response: Cx_Journey_V1_RecordEventsResponse
        do {
            response = try await session.callRetrying(Cx_Journey_V1_Journey.recordEvents, request)
        } catch {
            if showProgress { writeStderr("\r\u{1B}[K") }
            let done = JourneyFormat.count(read - pending.count) + (total.map { " of \(JourneyFormat.count($0))" } ?? "")
            writeStderr(
                "cxctl: the import of \(name) stopped after \(done) events: \(recorded) recorded, \(failed) failed so far. "
                    + "Running the same command again is safe for the events with an idempotency_key or an occurred_at; "
                    + "those with neither would be recorded twice.\n")
            await session.close()
            try failCall(error, target: session.target, what: "\(Cx_Journey_V1_Journey.recordEvents.fullName) (call \(calls + 1))", output: session.format)
        }
        calls += 1
        for (index, line) in pending.lines.enumerated() {
            guard index < response.results.count else {
                fail(JourneyImportFailure(
                    line: line, field: "", code: "UNKNOWN", reason: "",
                    message: "the service's answer left this event out; it may or may not have been recorded"))
                continue
            }
            let result = response.results[index]
            guard result.code == 0 else {
                let (field, message) = Self.split(result.message)
                fail(JourneyImportFailure(
                    line: line, field: field, code: RPCCode(rawValue: Int(result.code))?.name ?? "code \(result.code)",
                    reason: result.reason, message: message))
                continue
            }
            recorded += 1
            if result.response.moved { moved += 1 }
            if result.response.wonBack { wonBack += 1 }
            tasksCreated += Int(result.response.tasksCreated)
        }
        pending.removeAll()
        showProgressLine()
    }

    /// A batch error's field within the event and the rest of its message:
    /// "events[3].touchpoint_id: ..." is touchpoint_id and "...".
    static func split(_ message: String) -> (field: String, message: String) {
        var rest = Substring(message)
        if rest.hasPrefix("events["), let close = rest.firstIndex(of: "]") {
            rest = rest[rest.index(after: close)...]
            if rest.hasPrefix(".") { rest = rest.dropFirst() }
        } else if rest.hasPrefix("event.") {
            rest = rest.dropFirst("event.".count)
        } else {
            return ("", message)
        }
        guard let colon = rest.range(of: ": ") else { return ("", message) }
        let field = rest[..<colon.lowerBound]
        guard !field.contains(" ") else { return ("", message) }
        return (String(field), String(rest[colon.upperBound...]))
    }

    private func fail(_ failure: JourneyImportFailure) {
        failed += 1
        if failures.count < Self.failuresKept { failures.append(failure) }
    }

    private func showProgressLine() {
        guard showProgress else { return }
        let done = read - pending.count
        let seconds = profilesSeconds(ContinuousClock.now - started)
        let rate = seconds > 0 ? Int(Double(done) / seconds) : 0
        let of = total.map { " of \(JourneyFormat.count($0)) events (\($0 > 0 ? min(100, done * 100 / $0) : 100)%)" } ?? " events"
        writeStderr("\r\u{1B}[K\(JourneyFormat.count(done))\(of), \(JourneyFormat.count(rate)) events/s")
    }

    /// The summary: counts, then the first failures.
    func report(format: OutputFormat) {
        let seconds = profilesSeconds(ContinuousClock.now - started)
        let shown = failures.sorted { $0.line < $1.line }
        if format == .json {
            printJSON([
                "file": name, "events": read, "recorded": recorded, "failed": failed, "calls": calls,
                "moved": moved, "won_back": wonBack, "tasks_created": tasksCreated,
                "seconds": (seconds * 1000).rounded() / 1000,
                "failures": shown.map { failure -> [String: Any] in
                    ["line": failure.line, "field": failure.field, "code": failure.code, "reason": failure.reason, "message": failure.message]
                },
            ] as [String: Any])
            return
        }
        print(
            "\(name): \(JourneyFormat.count(recorded)) recorded, \(JourneyFormat.count(failed)) failed, of \(JourneyFormat.count(read)) events "
                + "(\(calls) calls, \(String(format: "%.1f", seconds)) s); \(JourneyFormat.count(moved)) moved a customer on, "
                + "\(JourneyFormat.count(wonBack)) won back a lost one, \(JourneyFormat.count(tasksCreated)) tasks created")
        guard !shown.isEmpty else { return }
        var table = Table("LINE", "FIELD", "CODE", "REASON", "MESSAGE")
        for failure in shown.prefix(Self.failuresShown) {
            table.append([
                "\(failure.line)", ProfilesFormat.text(failure.field), failure.code, ProfilesFormat.text(failure.reason),
                ProfilesFormat.text(failure.message),
            ])
        }
        print(table.render())
        if failed > Self.failuresShown { print("... and \(failed - Self.failuresShown) more (--json lists up to \(Self.failuresKept))") }
    }
}
