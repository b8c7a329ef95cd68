import ArgumentParser
import CXModel
import CXWire
import Foundation
import SwiftProtobuf

/// `cxctl profiles ...`: the admin's side of the profiles service.
struct ProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "Work with the profiles service: customers, import and export, segments, personas, value.",
        discussion: """
            Every command talks to the profiles service at $CX_PROFILES_ADDR, else at \
            127.0.0.1:7101; --addr overrides that for one command.

            Output is a table for people. --json (or -o json) prints the method's response \
            in protobuf's JSON mapping with the field names of \
            proto-spec/cx/profiles/v1/profiles.proto, exactly as `cxctl call profiles METHOD \
            -o json` would; as in that mapping, fields at their default value (0, false, "") \
            are left out and 64-bit numbers are strings. Money is shown in major units with \
            its currency: 1234 minor units of USD is "12.34 USD".

            Examples:
              cxctl profiles customers create --name "سارا رضایی" --email sara@example.com --channel sms --consent
              cxctl profiles customers search سارا
              cxctl profiles import customers.csv --rejects rejected.csv
              cxctl profiles export --format jsonl --output customers.jsonl
              cxctl profiles segments define "Gold in Tehran" --rule 'traits.tier == "gold" and city == "تهران"'
              cxctl profiles personas define "Young saver" --criterion 'age < 30' --criterion 'attributes.goals contains saving weight 2'
              cxctl profiles value pareto --top-percent 20

            Exit status: 0 success; 1 a call failed (its status code and message are printed \
            on standard error) or as the command's own help says; 64 the command line is wrong.
            """,
        subcommands: [
            ProfilesCustomersCommand.self,
            ProfilesImportCommand.self,
            ProfilesExportCommand.self,
            ProfilesSegmentsCommand.self,
            ProfilesPersonasCommand.self,
            ProfilesValueCommand.self,
        ]
    )
}

/// One command's connection to the profiles service. A failed call reports
/// the status code and message the way every cxctl command does (`failCall`)
/// and exits 1.
struct ProfilesSession {
    let target: Target
    let client: RPCClient
    let options: CallOptions
    let format: OutputFormat

    init(_ connection: ConnectionOptions, format: OutputFormat) throws {
        target = try connection.target(CXServiceName.profiles.rawValue)
        client = try connection.client(for: target)
        options = connection.callOptions
        self.format = format
    }

    func call<Request, Response>(_ method: MethodDescriptor<Request, Response>, _ request: Request) async throws -> Response {
        do {
            return try await client.call(method, request, options: options)
        } catch {
            await client.close()
            try failCall(error, target: target, what: method.fullName, output: format)
        }
    }

    func close() async {
        await client.close()
    }
}

/// `--page-size`, `--page-token` and `--all`, for the methods that page.
struct ProfilesPageOptions: ParsableArguments {
    @Option(help: "Items per page, 1 to 1000. Default: the service's (50).")
    var pageSize: Int?

    @Option(help: ArgumentHelp("Go on from here: the next_page_token a previous page ended with.", valueName: "token"))
    var pageToken: String?

    @Flag(help: "Follow the pages to the end and show them all.")
    var all = false

    func validate() throws {
        if let pageSize, !(1...1000).contains(pageSize) {
            throw ValidationError("--page-size: \(pageSize) must be 1 to 1000")
        }
    }

    var size: Int32 { Int32(pageSize ?? 0) }
    var token: String { pageToken ?? "" }

    /// On standard error, how to get the next page, when there is one and the
    /// output is a table (JSON output carries next_page_token itself).
    func hint(next token: String, format: OutputFormat) {
        guard !token.isEmpty, format == .table else { return }
        profilesStderr("more: add --page-token \(token) for the next page, or --all for every page\n")
    }
}

/// A request of a method that pages.
protocol ProfilesPagedRequest {
    var pageSize: Int32 { get set }
    var pageToken: String { get set }
}

/// The answer of a method that pages: one page, or several joined.
protocol ProfilesPagedResponse {
    var nextPageToken: String { get set }
    /// Adds the items of `next`, the page after this one, and its token.
    mutating func append(page next: Self)
}

extension ProfilesSession {
    /// Calls `method` for the page `page` asks for, and with `--all` for
    /// every page after it, joined into one answer.
    func pages<Request: ProfilesPagedRequest, Response: ProfilesPagedResponse>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request, _ page: ProfilesPageOptions
    ) async throws -> Response {
        var request = request
        request.pageSize = page.size
        request.pageToken = page.token
        var result = try await call(method, request)
        while page.all, !result.nextPageToken.isEmpty {
            request.pageToken = result.nextPageToken
            result.append(page: try await call(method, request))
        }
        return result
    }
}

extension Cx_Profiles_V1_ListCustomersRequest: ProfilesPagedRequest {}
extension Cx_Profiles_V1_SearchCustomersRequest: ProfilesPagedRequest {}
extension Cx_Profiles_V1_ListSegmentsRequest: ProfilesPagedRequest {}
extension Cx_Profiles_V1_SegmentMembersRequest: ProfilesPagedRequest {}
extension Cx_Profiles_V1_ListPersonasRequest: ProfilesPagedRequest {}
extension Cx_Profiles_V1_ValueMoversRequest: ProfilesPagedRequest {}

extension Cx_Profiles_V1_ListCustomersResponse: ProfilesPagedResponse {
    mutating func append(page next: Self) {
        customers += next.customers
        nextPageToken = next.nextPageToken
    }
}

extension Cx_Profiles_V1_SearchCustomersResponse: ProfilesPagedResponse {
    mutating func append(page next: Self) {
        customers += next.customers
        nextPageToken = next.nextPageToken
    }
}

extension Cx_Profiles_V1_ListSegmentsResponse: ProfilesPagedResponse {
    mutating func append(page next: Self) {
        segments += next.segments
        nextPageToken = next.nextPageToken
    }
}

extension Cx_Profiles_V1_SegmentMembersResponse: ProfilesPagedResponse {
    mutating func append(page next: Self) {
        customerIds += next.customerIds
        customers += next.customers
        nextPageToken = next.nextPageToken
    }
}

extension Cx_Profiles_V1_ListPersonasResponse: ProfilesPagedResponse {
    mutating func append(page next: Self) {
        personas += next.personas
        nextPageToken = next.nextPageToken
    }
}

extension Cx_Profiles_V1_ValueMoversResponse: ProfilesPagedResponse {
    mutating func append(page next: Self) {
        customers += next.customers
        nextPageToken = next.nextPageToken
    }
}

/// Prints a message in protobuf's JSON mapping with proto field names, as
/// `cxctl call -o json` does.
func printProfilesJSON(_ message: some SwiftProtobuf.Message) throws {
    print(try profilesJSONLine(message))
}

/// One message as one line of JSON (the encoder escapes line ends in strings).
func profilesJSONLine(_ message: some SwiftProtobuf.Message) throws -> String {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    options.useDeterministicOrdering = true
    return try message.jsonString(options: options)
}

func profilesStderr(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

var profilesStderrIsTerminal: Bool {
    isatty(FileHandle.standardError.fileDescriptor) != 0
}

/// Reports input that cannot be used as it is (a CSV file's header, say) on
/// standard error, without the usage text a flag error gets, and gives the
/// exit code to throw: 64, as for any other wrong input.
func profilesBadInput(_ message: String) -> ExitCode {
    profilesStderr("Error: \(message)\n")
    return ExitCode(64)
}

/// A file that cannot be read or written: exit 1 with the message.
struct ProfilesFileError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Asks on standard error and reads the answer from standard input; anything
/// but "y" or "yes" (or the end of input) cancels with exit status 1.
func profilesConfirm(_ question: String) throws {
    profilesStderr("\(question) [y/N] ")
    let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
    guard answer == "y" || answer == "yes" else {
        profilesStderr("cxctl: cancelled; nothing was changed.\n")
        throw ExitCode(1)
    }
}

/// RULE as given, or standard input when it is "-" (for rules of several lines).
func profilesRuleText(_ rule: String) -> String {
    guard rule == "-" else { return rule }
    return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
}

func profilesSeconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
