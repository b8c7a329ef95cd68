import ArgumentParser
import CXModel
import CXWire
import Foundation
import SwiftProtobuf

struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call any method with a JSON request; print the response.",
        discussion: """
            METHOD is a full name (/cx.wire.v1.Echo/Echo), Service/Method (Echo/Echo), or just \
            the method's name when that is unique. The request is protobuf's JSON mapping of the \
            method's request message (field names as in proto-spec/, or their lowerCamelCase \
            JSON names); it comes from --json, else from standard input, else is empty.

            Examples:
              cxctl call profiles Echo --json '{"text": "سلام"}'
              cxctl call 127.0.0.1:7101 /cx.wire.v1.Health/Check --output json
            """)

    @Argument(help: "profiles, loyalty, journey, feedback, or host:port.")
    var service: String

    @Argument(help: "The method: /package.Service/Method, Service/Method or Method.")
    var method: String

    @Option(name: .long, help: ArgumentHelp("The request as JSON.", valueName: "json"))
    var json: String?

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .shortAndLong, help: "table (field paths and values) or json.")
    var output: OutputFormat = .table

    func run() async throws {
        let target = try connection.target(service)
        guard let descriptor = CXMethods.lookup(method) else {
            let known = CXMethods.all.map(\.fullName).joined(separator: "\n  ")
            throw ValidationError("METHOD: \"\(method)\" is not a method cxctl knows (or is ambiguous). Known methods:\n  \(known)")
        }
        let text = json ?? Self.readStandardInput()
        let request: any CXMessage
        do {
            request = try descriptor.requestType.init(
                jsonString: text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? "{}" : text)
        } catch {
            throw ValidationError("request JSON for \(descriptor.requestTypeName): \(error)")
        }
        let client = try connection.client(for: target)
        let payload: Data
        do {
            payload = try await client.call(
                method: descriptor.fullName, payload: try request.serializedBytes(), options: connection.callOptions)
        } catch {
            await client.close()
            try failCall(error, target: target, what: descriptor.fullName, output: output)
        }
        await client.close()
        let response = try descriptor.responseType.init(serializedBytes: payload)
        var jsonOptions = JSONEncodingOptions()
        jsonOptions.preserveProtoFieldNames = true
        let responseJSON = try response.jsonString(options: jsonOptions)
        if output == .json {
            print(responseJSON)
            return
        }
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(responseJSON.utf8))
        var table = Table("FIELD", "VALUE")
        value.flatten(path: "", into: &table)
        if table.rows.isEmpty {
            print("(empty \(descriptor.responseTypeName))")
        } else {
            print(table.render())
        }
    }

    /// Standard input when it is piped in, else "".
    static func readStandardInput() -> String {
        guard isatty(FileHandle.standardInput.fileDescriptor) == 0 else { return "" }
        return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    }
}

/// Any JSON value, to print a response as rows of field paths and values.
enum JSONValue: Decodable {
    case null, bool(Bool), integer(Int64), number(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Swift.Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    /// Rows of `field.path[index]  value`.
    func flatten(path: String, into table: inout Table) {
        switch self {
        case .object(let object):
            for key in object.keys.sorted() {
                object[key]!.flatten(path: path.isEmpty ? key : "\(path).\(key)", into: &table)
            }
        case .array(let array):
            for (index, element) in array.enumerated() { element.flatten(path: "\(path)[\(index)]", into: &table) }
        case .null: table.append([path, "null"])
        case .bool(let value): table.append([path, "\(value)"])
        case .integer(let value): table.append([path, "\(value)"])
        case .number(let value): table.append([path, "\(value)"])
        case .string(let value): table.append([path, value])
        }
    }
}
