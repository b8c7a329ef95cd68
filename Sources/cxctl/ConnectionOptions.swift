import ArgumentParser
import CXModel
import CXWire
import Foundation
import NIOCore

/// How cxctl reaches a service; shared by every command.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The service's address, overriding $CX_<SERVICE>_ADDR and the config file.", valueName: "host:port"))
    var addr: String?

    @Option(name: .long, help: "Seconds to wait for an answer. Default 10.")
    var timeout: Double = 10

    @Option(name: .long, help: ArgumentHelp(
        "Bearer token sent as `authorization` metadata.",
        discussion: "Default: $CX_TOKEN, else `token` in the config file ($CX_CONFIG, else ~/.config/cx/cxctl.conf).",
        valueName: "token"))
    var token: String?

    func validate() throws {
        guard timeout > 0, timeout <= 3_600 else {
            throw ValidationError("--timeout: \(timeout) must be more than 0 and at most 3600 seconds")
        }
    }

    /// The config file (``ClientConfigFile``), read once per process.
    private static let config = Result { () throws(ClientConfigError) in try ClientConfigFile.load() }

    private func config() throws -> ClientConfigFile {
        do {
            return try Self.config.get()
        } catch {
            throw ValidationError(error.description)
        }
    }

    var callOptions: CallOptions {
        var metadata: [String: String] = [:]
        let environment = ProcessInfo.processInfo.environment
        var fromFile: String?
        if token == nil, environment["CX_TOKEN"].map({ $0.isEmpty }) ?? true {
            do {
                fromFile = try config()["token"]
            } catch {
                // No token is sent then; say why, or the server's "needs a token" misleads.
                FileHandle.standardError.write(Data("cxctl: \(error); no token sent\n".utf8))
            }
        }
        if let token = token ?? environment["CX_TOKEN"].flatMap({ $0.isEmpty ? nil : $0 }) ?? fromFile, !token.isEmpty {
            metadata["authorization"] = "Bearer \(token)"
        }
        return CallOptions(timeout: .nanoseconds(Int64(timeout * 1e9)), metadata: metadata)
    }

    /// The service `name` names (a CX service, or a host:port), and where it is.
    func target(_ name: String) throws -> Target {
        if let service = CXServiceName(rawValue: name.lowercased()) {
            let fromEnvironment = ProcessInfo.processInfo.environment[service.addressVariable].flatMap { $0.isEmpty ? nil : $0 }
            let address = try addr ?? fromEnvironment ?? config()[service.rawValue]
                ?? service.defaultAddress
            return Target(name: service.rawValue, address: address)
        }
        if (try? RPCClient.parse(address: name)) != nil {
            return Target(name: name, address: name)
        }
        throw ValidationError(
            "SERVICE: \"\(name)\" is not one of \(CXServiceName.allCases.map(\.rawValue).joined(separator: ", ")), nor a host:port")
    }

    func client(for target: Target) throws -> RPCClient {
        do {
            return try RPCClient(
                address: target.address,
                configuration: RPCClientConfiguration(connections: 1, connectTimeout: .seconds(2)))
        } catch {
            throw ValidationError("address of \(target.name): \"\(target.address)\" is not host:port")
        }
    }
}

struct Target {
    var name: String
    var address: String
}

/// `--output table|json`: tables for people, JSON for scripts.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// `-o/--output` with `--json` as its shorthand, for commands whose
/// `--json` is not taken by a request body.
struct OutputOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "table or json.")
    var output: OutputFormat = .table

    @Flag(name: .long, help: "Same as --output json.")
    var json = false

    /// --calendar: the calendar tables show dates in (CalendarOption.swift).
    @OptionGroup var calendar: CalendarOptions

    var format: OutputFormat { json ? .json : output }
}

/// Reports a failed call on standard error, with its code, reason and
/// message ("FAILED_PRECONDITION (TASK_CLOSED): ..."), and as JSON on
/// standard output for `--output json`; exits 1.
func failCall(_ error: any Error, target: Target, what: String, output: OutputFormat) throws -> Never {
    let rpc = error as? RPCError ?? RPCError(code: .unknown, message: "\(error)")
    let reason = rpc.reason.isEmpty ? "" : " (\(rpc.reason))"
    var lines = ["cxctl: \(what) on \(target.name) (\(target.address)) failed: \(rpc.code.name)\(reason): \(rpc.message)"]
    for violation in rpc.fieldViolations where !rpc.message.contains(violation.description) {
        lines.append("  \(violation.field): \(violation.description)")
    }
    FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    if output == .json {
        let object: [String: Any] = [
            "code": rpc.code.name,
            "message": rpc.message,
            "reason": rpc.reason,
            "field_violations": rpc.fieldViolations.map { ["field": $0.field, "description": $0.description] },
        ]
        printJSON(object)
    }
    throw ExitCode(1)
}

func printJSON(_ object: Any) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
        print(String(decoding: data, as: UTF8.self))
    }
}
