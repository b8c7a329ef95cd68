import ArgumentParser
import CXModel
import CXWire
import Foundation
import SwiftProtobuf

/// One command's connection to a CX service (`ServiceSession(.loyalty, ...)`).
/// A failed call reports the status code and message the way every cxctl
/// command does (`failCall`) and exits 1.
struct ServiceSession {
    let target: Target
    let client: RPCClient
    let options: CallOptions
    let format: OutputFormat

    init(_ service: CXServiceName, _ connection: ConnectionOptions, format: OutputFormat) throws {
        target = try connection.target(service.rawValue)
        client = try connection.client(for: target)
        options = connection.callOptions
        self.format = format
    }

    /// Calls `method`. On failure, `report` runs first (to say what was done
    /// and how to go on), then the command fails.
    func call<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request, whenFailing report: () -> Void = {}
    ) async throws -> Response {
        do {
            return try await client.call(method, request, options: options)
        } catch {
            report()
            await client.close()
            try failCall(error, target: target, what: method.fullName, output: format)
        }
    }

    func close() async {
        await client.close()
    }

    /// Calls `method`, trying again (after 0.5, 1 and 2 s) while the service
    /// is unreachable or too slow; for requests that apply once however often
    /// they are sent (idempotency keys). Throws the last failure, as an
    /// `RPCError`, without reporting it: the caller says what was done.
    func callRetrying<Request, Response>(_ method: MethodDescriptor<Request, Response>, _ request: Request) async throws -> Response {
        var failure = RPCError(code: .unknown, message: "not sent")
        var attempts = 0
        repeat {
            if attempts > 0 { try await Task.sleep(for: .milliseconds(250 << attempts)) }
            attempts += 1
            do {
                return try await client.call(method, request, options: options)
            } catch {
                failure = error as? RPCError ?? RPCError(code: .unknown, message: "\(error)")
            }
        } while attempts < 4 && (failure.code == .unavailable || failure.code == .deadlineExceeded)
        throw failure
    }
}

/// `--page-size`, `--page-token` and `--all`, for the methods that page.
struct PageOptions: ParsableArguments {
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
        writeStderr("more: add --page-token \(token) for the next page, or --all for every page\n")
    }
}

/// `--expected-version`, when given, names a version: 1 or more (0 is what
/// the request sends for "any version").
func checkExpectedVersion(_ version: Int64?) throws {
    if let version, version < 1 {
        throw ValidationError("--expected-version: \(version) must be 1 or more")
    }
}

/// A request of a method that pages.
protocol PagedRequest {
    var pageSize: Int32 { get set }
    var pageToken: String { get set }
}

/// The answer of a method that pages: one page, or several joined.
protocol PagedResponse {
    var nextPageToken: String { get set }
    /// Adds the items of `next`, the page after this one, and its token.
    mutating func append(page next: Self)
}

/// A paged answer whose items are one list (`items`): joining pages joins the lists.
protocol PagedList: PagedResponse {
    associatedtype Item
    static var items: WritableKeyPath<Self, [Item]> { get }
}

extension PagedList {
    mutating func append(page next: Self) {
        self[keyPath: Self.items] += next[keyPath: Self.items]
        nextPageToken = next.nextPageToken
    }
}

extension ServiceSession {
    /// Calls `method` for the page `page` asks for, and with `--all` for
    /// every page after it, joined into one answer.
    func pages<Request: PagedRequest, Response: PagedResponse>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request, _ page: PageOptions
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

extension ServiceSession {
    /// The whole of most commands: connects to `service`, gets the answer
    /// with `calling`, closes, and prints the answer in protobuf JSON for
    /// --json, else as `text` words it. Returns the answer.
    @discardableResult
    static func printAnswer<Response: CXMessage>(
        of service: CXServiceName, _ connection: ConnectionOptions, _ output: OutputOptions,
        calling: (ServiceSession) async throws -> Response, as text: (Response) -> String
    ) async throws -> Response {
        let session = try ServiceSession(service, connection, format: output.format)
        let response = try await calling(session)
        await session.close()
        if output.format == .json {
            try printMessageJSON(response)
        } else {
            print(text(response))
        }
        return response
    }

    /// One call of `method`, its answer printed as `printAnswer` does.
    static func show<Request, Response>(
        _ service: CXServiceName, _ method: MethodDescriptor<Request, Response>, _ request: Request,
        _ connection: ConnectionOptions, _ output: OutputOptions, as text: (Response) -> String
    ) async throws {
        try await printAnswer(of: service, connection, output, calling: { try await $0.call(method, request) }, as: text)
    }

    /// The pages of `method` that `page` asks for, joined and printed as
    /// `printAnswer` does, then how to get the next page.
    static func showPages<Request: PagedRequest, Response: PagedResponse>(
        _ service: CXServiceName, _ method: MethodDescriptor<Request, Response>, _ request: Request, _ page: PageOptions,
        _ connection: ConnectionOptions, _ output: OutputOptions, as text: (Response) -> String
    ) async throws {
        let result = try await printAnswer(
            of: service, connection, output, calling: { try await $0.pages(method, request, page) }, as: text)
        page.hint(next: result.nextPageToken, format: output.format)
    }
}

/// Prints a message in protobuf's JSON mapping with proto field names, as
/// `cxctl call -o json` does.
func printMessageJSON(_ message: some SwiftProtobuf.Message) throws {
    print(try messageJSONLine(message))
}

/// One message as one line of JSON (the encoder escapes line ends in strings).
func messageJSONLine(_ message: some SwiftProtobuf.Message) throws -> String {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    options.useDeterministicOrdering = true
    return try message.jsonString(options: options)
}

/// The message a file holds in protobuf JSON: the message itself, or the
/// answer of the command that shows it (`Answer`, such as
/// {"program": {...}}, which `unwrap` opens). "-" reads standard input.
/// A file that cannot be read, or holds neither, exits 64 with `label`
/// and what was `expected`.
func readMessageFile<Wanted: SwiftProtobuf.Message, Answer: SwiftProtobuf.Message>(
    _ path: String, label: String, inside _: Answer.Type, expected: String, unwrap: (Answer) -> Wanted?
) throws -> Wanted {
    let data: Data
    if path == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw badInput("\(label): cannot be opened for reading")
        }
        data = contents
    }
    let text = String(decoding: data, as: UTF8.self)
    do {
        return try Wanted(jsonString: text)
    } catch {
        if let answer = try? Answer(jsonString: text), let wanted = unwrap(answer) {
            return wanted
        }
        throw badInput("\(label): not \(expected): \(error)")
    }
}

func writeStderr(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

var stderrIsTerminal: Bool {
    isatty(FileHandle.standardError.fileDescriptor) != 0
}

/// Reports input that cannot be used as it is (a CSV file's header, say) on
/// standard error, without the usage text a flag error gets, and gives the
/// exit code to throw: 64, as for any other wrong input.
func badInput(_ message: String) -> ExitCode {
    writeStderr("Error: \(message)\n")
    return ExitCode(64)
}
