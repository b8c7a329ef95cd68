import ArgumentParser
import CXModel
import CXWire
import Foundation
import SwiftProtobuf

/// `cxctl profiles import FILE.csv`
struct ProfilesImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Create customers from a CSV file, in batches; safe to run again.",
        discussion: """
            The first row names the columns, in any order, each at most once: id, name, email, \
            phone, birth_date (YYYY-MM-DD; 0000-MM-DD when the year is not known), gender \
            (female, male, other, undisclosed), city, region, country (IR, DE, ...), occupation, \
            education, preferred_channels (email, sms, phone, app, web, social, store, post, \
            messenger; several separated by ;), marketing_consent (true or false; recorded \
            with method "import") and attributes.<key> for any attribute (attributes.goals, \
            attributes.needs, ...). An empty cell is "not known". The file is UTF-8 CSV \
            (RFC 4180; a spreadsheet's "CSV UTF-8" export will do). A column cxctl does not know, \
            or a file that is not CSV, is reported with its line before anything is sent \
            (exit 64). `cxctl profiles export --format csv` writes this format.

            The file is read twice, never held in memory: once to check it, count its rows \
            and fingerprint its content, then to send the rows in ImportCustomers calls of \
            --batch-size rows. Each call carries an idempotency key made of the file's \
            fingerprint, the batch size and the batch's number, so running the same command \
            again (after a network failure, say) does not create anyone twice: batches the \
            service already applied are answered from its record (it keeps keys at least 7 \
            days). An edited file is a new file; rows with an id are still never created \
            twice (ALREADY_EXISTS), so give rows ids if the file may be imported again.

            Each row stands alone: a bad row is rejected and the others are created. While \
            importing, a progress line (rows done of all rows, rows per second) is shown on \
            standard error when it is a terminal. At the end cxctl prints how many customers \
            were created and rejected and a table of the rejected rows (CSV line, field, \
            status code, message); --rejects FILE writes them all as CSV.

            Examples:
              cxctl profiles import customers.csv
              cxctl profiles import customers.csv --batch-size 1000 --rejects rejected.csv
              cxctl profiles import customers.csv --json > summary.json

            customers.csv:
              id,name,email,phone,birth_date,preferred_channels,marketing_consent,attributes.goals
              crm-1,سارا رضایی,sara@example.com,+989121234567,1992-06-15,sms;email,true,save for a house

            Exit status: 0 every row was created; 1 some rows were rejected, or a call failed \
            (what was done until then stays done; run the command again to go on); 64 the \
            command line or the file's header or CSV is wrong (nothing was sent).
            """)

    @Argument(help: ArgumentHelp("The CSV file; its first row names the columns.", valueName: "file.csv"))
    var file: String

    @Option(help: "Rows per ImportCustomers call, 1 to 1000.")
    var batchSize = 500

    @Option(help: ArgumentHelp("Write the rejected rows to this CSV file (line,field,code,message).", valueName: "file"))
    var rejects: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...1000).contains(batchSize) else {
            throw ValidationError("--batch-size: \(batchSize) must be 1 to 1000")
        }
    }

    func run() async throws {
        let format = output.format

        // First pass: the header, the number of rows and the fingerprint; a
        // file that is not CSV fails here, before anything is sent.
        var scan = try ProfilesCSVFile(path: file)
        var header: [ProfilesCSVColumn]?
        var rows = 0
        while let records = try scan.next() {
            for record in records {
                if header == nil {
                    header = try ProfilesCSVColumn.columns(header: record, file: file)
                } else {
                    rows += 1
                }
            }
        }
        guard let columns = header else {
            throw badInput(
                "\(file): the file is empty; its first row must name the columns (\(ProfilesCSVColumn.knownNames))")
        }

        let session = try ServiceSession(.profiles, connection, format: format)
        let rejectsFile = try rejects.map { try ProfilesTextSink(path: $0) }
        try rejectsFile?.write(CSVWriter.line(["line", "field", "code", "message"]))
        let importer = ProfilesImporter(
            file: file, columns: columns, totalRows: rows,
            keyPrefix: "cxctl-import-v1-\(scan.hasher.fingerprint())-\(batchSize)-",
            batchSize: batchSize, session: session, rejectsFile: rejectsFile,
            keepAllRejects: format == .json, showProgress: stderrIsTerminal)
        try await importer.importRows()
        await session.close()
        try rejectsFile?.close()

        let seconds = profilesSeconds(ContinuousClock.now - importer.started)
        let shown = importer.keptRejects.sorted { $0.line < $1.line }
        if format == .json {
            let summary: [String: Any] = [
                "file": file,
                "rows": rows,
                "created": importer.created,
                "rejected": importer.rejected,
                "batches": importer.batches,
                "seconds": (seconds * 1000).rounded() / 1000,
                "rejects": shown.map { reject -> [String: Any] in
                    ["line": reject.line, "field": reject.field, "code": reject.code, "message": reject.message]
                },
            ]
            printJSON(summary)
        } else {
            let rate = seconds > 0 ? Int(Double(rows) / seconds) : rows
            print(
                "\(file): \(importer.created) created, \(importer.rejected) rejected, of \(rows) rows "
                    + "(\(importer.batches) calls, \(String(format: "%.1f", seconds)) s, \(rate) rows/s)")
            if !shown.isEmpty {
                var table = Table("LINE", "FIELD", "CODE", "MESSAGE")
                for reject in shown {
                    table.append(["\(reject.line)", ProfilesFormat.text(reject.field), reject.code, ProfilesFormat.text(reject.message)])
                }
                print(table.render())
                if importer.rejected > shown.count {
                    let rest = importer.rejected - shown.count
                    print("... and \(rest) more" + (rejects.map { ", all in \($0)" } ?? "; --rejects FILE writes them all"))
                } else if let rejects {
                    print("(also written to \(rejects))")
                }
            }
        }
        if importer.rejected > 0 { throw ExitCode(1) }
    }
}

/// A row that was not created.
struct ProfilesImportReject {
    /// The CSV line the row starts on.
    var line: Int
    /// The column or field at fault; empty when the row as a whole is.
    var field: String
    /// The status code CreateCustomer would have answered: INVALID_ARGUMENT, ALREADY_EXISTS, ...
    var code: String
    var message: String
}

/// The second pass of an import: reads the rows, sends them in batches and
/// keeps the score.
final class ProfilesImporter {
    /// Rejected rows shown in the table (all of them go to --rejects and --json).
    static let rejectsShown = 100

    let file: String
    let columns: [ProfilesCSVColumn]
    let totalRows: Int
    let keyPrefix: String
    let session: ServiceSession
    let rejectsFile: ProfilesTextSink?
    let keepAllRejects: Bool
    let showProgress: Bool
    let started = ContinuousClock.now

    private(set) var created = 0
    private(set) var rejected = 0
    private(set) var batches = 0
    private(set) var keptRejects: [ProfilesImportReject] = []
    private var rowsRead = 0
    private var pending: ImportBatch<Cx_Profiles_V1_Customer>

    init(
        file: String, columns: [ProfilesCSVColumn], totalRows: Int, keyPrefix: String, batchSize: Int,
        session: ServiceSession, rejectsFile: ProfilesTextSink?, keepAllRejects: Bool, showProgress: Bool
    ) {
        self.file = file
        self.columns = columns
        self.totalRows = totalRows
        self.keyPrefix = keyPrefix
        pending = ImportBatch(limit: batchSize)
        self.session = session
        self.rejectsFile = rejectsFile
        self.keepAllRejects = keepAllRejects
        self.showProgress = showProgress
    }

    func importRows() async throws {
        var csv = try ProfilesCSVFile(path: file)
        var headerSeen = false
        while let records = try csv.next() {
            for record in records {
                if headerSeen {
                    try await add(record)
                } else {
                    headerSeen = true
                }
            }
        }
        try await flush()
        clearProgress()
    }

    private func add(_ record: CSVRecord) async throws {
        switch ProfilesCSV.customer(from: record.fields, columns: columns) {
        case .rejected(let field, let message):
            rowsRead += 1
            try reject(ProfilesImportReject(line: record.line, field: field, code: "INVALID_ARGUMENT", message: message))
        case .customer(let customer):
            let size = try ImportItemSize(of: customer)
            guard size.fits else {
                rowsRead += 1
                try reject(ProfilesImportReject(
                    line: record.line, field: "", code: "RESOURCE_EXHAUSTED",
                    message: "the row is \(size.message) bytes as a message, more than one call may carry"))
                return
            }
            if pending.isFull(adding: size) {
                try await flush()
            }
            rowsRead += 1
            pending.append(customer, line: record.line, size: size)
        }
    }

    /// Sends the pending rows as one batch and records each row's outcome.
    private func flush() async throws {
        guard !pending.isEmpty else { return }
        var request = Cx_Profiles_V1_ImportCustomersRequest()
        request.customers = pending.items
        request.idempotencyKey = keyPrefix + String(batches)
        let response = try await send(request)
        var answered = [Bool](repeating: false, count: pending.count)
        for result in response.results {
            let index = Int(result.index)
            guard index >= 0, index < pending.count, !answered[index] else { continue }
            answered[index] = true
            switch result.outcome {
            case .customerID?:
                created += 1
            case .error(let error)?:
                try reject(ProfilesImportReject(
                    line: pending.lines[index], field: Self.rowField(error.field), code: RPCCode(wireValue: error.code).name,
                    message: Self.rowMessage(error)))
            case nil:
                try reject(ProfilesImportReject(
                    line: pending.lines[index], field: "", code: "UNKNOWN", message: "the service gave no outcome for this row"))
            }
        }
        for (index, done) in answered.enumerated() where !done {
            try reject(ProfilesImportReject(
                line: pending.lines[index], field: "", code: "UNKNOWN",
                message: "the service's answer left this row out; it may or may not have been created"))
        }
        batches += 1
        pending.removeAll()
        showProgressLine()
    }

    /// One ImportCustomers call, tried again (same key, so applied once) while
    /// the service is unreachable or slow; any other failure ends the import.
    private func send(_ request: Cx_Profiles_V1_ImportCustomersRequest) async throws -> Cx_Profiles_V1_ImportCustomersResponse {
        let method = Cx_Profiles_V1_Customers.importCustomers
        let failure: any Error
        do {
            return try await session.callRetrying(method, request)
        } catch {
            failure = error
        }
        clearProgress()
        let done = rowsRead - pending.count
        writeStderr(
            "cxctl: the import of \(file) stopped after \(done) of \(totalRows) rows: \(created) created, "
                + "\(rejected) rejected so far. Running the same command again is safe: the batches already applied "
                + "are answered from the service's record, not applied twice.\n")
        try? rejectsFile?.close()
        await session.close()
        try failCall(failure, target: session.target, what: "\(method.fullName) (batch \(batches + 1))", output: session.format)
    }

    /// The field's path within the row ("email"), as the contract has it; a
    /// path within the request ("customers[3].email") is read the same way.
    static func rowField(_ field: String) -> String {
        guard field.hasPrefix("customers["), let close = field.firstIndex(of: "]") else { return field }
        let rest = field[field.index(after: close)...]
        return String(rest.hasPrefix(".") ? rest.dropFirst() : rest)
    }

    /// The error's message without a leading "<field>: " the FIELD column already shows.
    static func rowMessage(_ error: Cx_Profiles_V1_ImportRowError) -> String {
        if error.message.isEmpty { return error.reason }
        let prefix = error.field + ": "
        guard !error.field.isEmpty, error.message.hasPrefix(prefix), error.message.count > prefix.count else {
            return error.message
        }
        return String(error.message.dropFirst(prefix.count))
    }

    private func reject(_ row: ProfilesImportReject) throws {
        rejected += 1
        if keepAllRejects || keptRejects.count < Self.rejectsShown { keptRejects.append(row) }
        try rejectsFile?.write(CSVWriter.line([String(row.line), row.field, row.code, row.message]))
    }

    private func showProgressLine() {
        guard showProgress else { return }
        let done = rowsRead - pending.count
        let seconds = profilesSeconds(ContinuousClock.now - started)
        let rate = seconds > 0 ? Int(Double(done) / seconds) : 0
        let percent = totalRows > 0 ? min(100, done * 100 / totalRows) : 100
        writeStderr("\r\u{1B}[K\(done) / \(totalRows) rows (\(percent)%), \(rate) rows/s")
    }

    private func clearProgress() {
        if showProgress { writeStderr("\r\u{1B}[K") }
    }
}
