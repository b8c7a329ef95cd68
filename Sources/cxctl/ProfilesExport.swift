import ArgumentParser
import CXModel
import CXWire
import Foundation

enum ProfilesExportFormat: String, CaseIterable, ExpressibleByArgument {
    case csv, jsonl
}

/// `cxctl profiles export`
struct ProfilesExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every customer as CSV or as JSON lines.",
        discussion: """
            Pages through ListCustomers (ordered by id) to the end.

            --format jsonl writes each customer as it arrives, one JSON object per line: the \
            whole profile in protobuf's JSON mapping (proto field names), traits and \
            timestamps included.

            --format csv (the default) writes the columns `cxctl profiles import` reads: id, \
            name, email, phone, birth_date, gender, city, region, country, occupation, \
            education, preferred_channels, marketing_consent, then one attributes.<key> column \
            per attribute key any customer has, sorted. Since the keys are known only at the \
            end, the customers are first parked in a temporary file (not in memory), then \
            written. The CSV holds what import can set: not traits, timestamps, versions or how \
            and when consent was recorded (use jsonl for those). Fields are written as they \
            are, so a spreadsheet may take a value starting with = + - or @ for a formula: \
            open the file as text.

            With --output the file appears only when the export is complete (it is written \
            as FILE.partial and renamed); without, the data goes to standard output. A \
            progress count is shown on standard error when it is a terminal. Customers added \
            or erased while the export runs may or may not be in it.

            Examples:
              cxctl profiles export --output customers.csv
              cxctl profiles export --format jsonl | jq -r 'select(.traits.tier == "gold") | .id'
            """)

    @Option(help: "csv or jsonl.")
    var format: ProfilesExportFormat = .csv

    @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        // Errors go to standard error only: standard output may be the export.
        let session = try ServiceSession(.profiles, connection, format: .table)
        let partial = output.map { $0 + ".partial" }
        let sink = try partial.map { try ProfilesTextSink(path: $0) } ?? ProfilesTextSink()
        var finished = false
        defer {
            // An export that stopped half way leaves no file behind.
            if !finished, let partial { try? FileManager.default.removeItem(atPath: partial) }
        }
        let progress = stderrIsTerminal
        var count = 0
        var request = Cx_Profiles_V1_ListCustomersRequest()
        request.pageSize = 1000

        switch format {
        case .jsonl:
            repeat {
                let page = try await session.call(Cx_Profiles_V1_Customers.listCustomers, request)
                for customer in page.customers {
                    try sink.write(messageJSONLine(customer) + "\n")
                }
                count += page.customers.count
                if progress { writeStderr("\r\u{1B}[K\(count) customers") }
                request.pageToken = page.nextPageToken
            } while !request.pageToken.isEmpty

        case .csv:
            let spool = try ProfilesSpool()
            defer { spool.remove() }
            var keys = Set<String>()
            repeat {
                let page = try await session.call(Cx_Profiles_V1_Customers.listCustomers, request)
                for customer in page.customers {
                    keys.formUnion(customer.attributes.keys)
                    try spool.append(customer)
                }
                count += page.customers.count
                if progress { writeStderr("\r\u{1B}[K\(count) customers") }
                request.pageToken = page.nextPageToken
            } while !request.pageToken.isEmpty
            let columns = ProfilesCSVColumn.fixed + keys.sorted().map { ProfilesCSVColumn.attribute($0) }
            try sink.write(CSVWriter.line(columns.map(\.header)))
            var reader = try spool.reader()
            while let customer = try reader.next() {
                try sink.write(CSVWriter.line(ProfilesCSV.row(for: customer, columns: columns)))
            }
        }
        await session.close()
        try sink.close()
        finished = true
        if progress { writeStderr("\r\u{1B}[K") }
        if let output, let partial {
            guard rename(partial, output) == 0 else {
                throw ProfilesFileError("\(output): cannot be replaced; the complete export is in \(partial)")
            }
            writeStderr("exported \(count) customers to \(output)\n")
        }
    }
}
