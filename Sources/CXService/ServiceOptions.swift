import ArgumentParser
import CXModel
import CXWire
import Foundation
import Logging
import NIOCore

/// The flags every service executable takes. Each falls back to an
/// environment variable, then to a default, so a service runs with no
/// flags at all and a deployment sets only what it changes.
public struct ServiceOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Address to listen on, host:port. Port 0 picks a free port.",
        discussion: "Default: $CX_<SERVICE>_ADDR, else 127.0.0.1 and the service's port (7101-7104).",
        valueName: "host:port"))
    public var listen: String?

    @Option(name: .long, help: ArgumentHelp(
        "Directory the service keeps its data in (one subdirectory per service).",
        discussion: "Default: $CX_DATA_DIR, else ./data.", valueName: "path"))
    public var dataDir: String?

    @Option(name: .long, help: ArgumentHelp(
        "Write the address actually listened on (host:port) to this file once listening.",
        valueName: "path"))
    public var addressFile: String?

    @Option(name: .long, help: ArgumentHelp(
        "trace, debug, info, notice, warning, error or critical. Default: $CX_LOG_LEVEL, else info.",
        valueName: "level"))
    public var logLevel: String?

    @Option(name: .long, help: ArgumentHelp(
        "Log line format: text (key=value) or json. Default: $CX_LOG_FORMAT, else text.", valueName: "format"))
    public var logFormat: String?

    @Option(name: .long, help: "Connections open at once; one more is refused. Default 1024.")
    public var maxConnections: Int?

    @Option(name: .long, help: "Calls in flight on one connection; one more is refused. Default 1024.")
    public var maxCallsPerConnection: Int?

    @Option(name: .long, help: "Largest message in bytes, before and after inflating. Default 4194304 (4 MiB).")
    public var maxMessageBytes: Int?

    @Option(name: .long, help: "Seconds a call may run when its request sets no deadline. Default 30.")
    public var defaultTimeout: Double?

    @Option(name: .long, help: "Seconds without calls or traffic before a connection is closed; 0 never. Default 300.")
    public var idleTimeout: Double?

    @Option(name: .long, help: "Seconds a graceful shutdown (SIGTERM, SIGINT) waits for accepted calls. Default 30.")
    public var shutdownGrace: Double?

    @Option(name: .long, help: ArgumentHelp(
        "File of bearer tokens, one per line: ROLE TOKEN (ROLE: admin, peer, service, read-only); # starts a comment.",
        discussion: """
            Default: $CX_TOKENS_FILE. $CX_ADMIN_TOKEN, $CX_PEER_TOKEN, $CX_SERVICE_TOKEN and $CX_READONLY_TOKEN \
            add one token each. Every call but health checks must carry one ("authorization: Bearer <token>"). \
            The CX services call each other with the peer role: the token this service sends its peers is \
            $CX_PEER_TOKEN, else the file's first peer token.
            """,
        valueName: "path"))
    public var tokensFile: String?

    @Flag(name: .long, help: "Serve every call to anyone, without tokens: for a test or a laptop, never a deployment.")
    public var noAuth = false

    public init() {}

    /// Everything the options and the environment say, checked.
    ///
    /// - Throws: `ValidationError` naming the flag (or variable) and the bad value.
    public func resolve(
        service: CXServiceName,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        version: String = CXVersion.current
    ) throws -> ResolvedServiceOptions {
        let listenSource = listen != nil ? "--listen" : service.addressVariable
        let address = listen ?? environment[service.addressVariable].flatMap { $0.isEmpty ? nil : $0 } ?? service.defaultAddress
        let host: String
        let port: Int
        if let parsed = try? RPCClient.parse(address: address) {
            (host, port) = parsed
        } else if address.hasSuffix(":0"), let colon = address.lastIndex(of: ":"), colon > address.startIndex {
            (host, port) = (String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), 0)
        } else {
            throw ValidationError("\(listenSource): \"\(address)\" is not host:port (for example 127.0.0.1:\(service.defaultPort))")
        }

        let levelName = logLevel ?? environment["CX_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelName.lowercased()) else {
            throw ValidationError("--log-level: \"\(levelName)\" is not one of trace, debug, info, notice, warning, error, critical")
        }
        let formatName = logFormat ?? environment["CX_LOG_FORMAT"] ?? "text"
        guard let format = LogFormat(rawValue: formatName.lowercased()) else {
            throw ValidationError("--log-format: \"\(formatName)\" is not text or json")
        }

        var configuration = RPCServerConfiguration(name: service.rawValue, version: version, host: host, port: port)
        if let maxConnections {
            guard maxConnections > 0 else { throw ValidationError("--max-connections: \(maxConnections) must be at least 1") }
            configuration.maxConnections = maxConnections
        }
        if let maxCallsPerConnection {
            guard maxCallsPerConnection > 0 else {
                throw ValidationError("--max-calls-per-connection: \(maxCallsPerConnection) must be at least 1")
            }
            configuration.maxConcurrentCallsPerConnection = maxCallsPerConnection
        }
        if let maxMessageBytes {
            guard (1_024...(256 << 20)).contains(maxMessageBytes) else {
                throw ValidationError("--max-message-bytes: \(maxMessageBytes) must be between 1024 and 268435456")
            }
            configuration.limits.maxMessageSize = maxMessageBytes
        }
        if let defaultTimeout {
            configuration.defaultTimeout = try Self.seconds(defaultTimeout, flag: "--default-timeout", allowZero: false)
        }
        if let idleTimeout {
            configuration.idleTimeout = idleTimeout == 0 ? nil : try Self.seconds(idleTimeout, flag: "--idle-timeout", allowZero: false)
        }
        if let shutdownGrace {
            configuration.shutdownGracePeriod = try Self.seconds(shutdownGrace, flag: "--shutdown-grace", allowZero: true)
        }
        let access = try accessControl(environment: environment)
        configuration.accessControl = access.control
        let dataRoot = dataDir ?? environment["CX_DATA_DIR"] ?? "data"
        let dataDirectory = URL(fileURLWithPath: dataRoot).appendingPathComponent(service.rawValue)
        return ResolvedServiceOptions(
            server: configuration,
            dataDirectory: dataDirectory,
            addressFile: addressFile.map { URL(fileURLWithPath: $0) },
            logLevel: level,
            logFormat: format,
            notices: access.notices)
    }

    /// The tokens from `--tokens-file` (or `$CX_TOKENS_FILE`) and the
    /// `$CX_*_TOKEN` variables, with what the service should say about them
    /// at startup.
    func accessControl(environment: [String: String]) throws -> (control: AccessControl?, notices: [String]) {
        let tokens = try configuredTokens(environment: environment)
        if noAuth {
            return (nil, ["access control is off (--no-auth): every call is served to anyone who can connect"])
        }
        guard !tokens.list.isEmpty else {
            throw ValidationError("""
                no tokens: give --tokens-file (or $CX_TOKENS_FILE) with lines "ROLE TOKEN", or set $CX_ADMIN_TOKEN, \
                $CX_PEER_TOKEN, $CX_SERVICE_TOKEN, $CX_READONLY_TOKEN; or pass --no-auth to serve without access control
                """)
        }
        let control: AccessControl
        do {
            control = try AccessControl(tokens: tokens.list)
        } catch {
            throw ValidationError("\(tokens.source): \(error)")
        }
        let counts = Role.allCases.map { "\(control.tokenCounts[$0] ?? 0) \($0)" }.joined(separator: ", ")
        return (control, ["access control on: \(counts) token(s) from \(tokens.source)"] + tokens.notices)
    }

    /// The token this service sends to its peers: `$CX_PEER_TOKEN`, else
    /// the tokens file's first peer token; nil when there is none.
    public func peerToken(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let token = environment["CX_PEER_TOKEN"], !token.isEmpty { return token }
        return try configuredTokens(environment: environment).list.first { $0.role == .peer }?.token
    }

    private func configuredTokens(
        environment: [String: String]
    ) throws -> (list: [(role: Role, token: String)], source: String, notices: [String]) {
        var list: [(role: Role, token: String)] = []
        var sources: [String] = []
        var notices: [String] = []
        let fileSource = tokensFile != nil ? "--tokens-file" : "$CX_TOKENS_FILE"
        if let path = tokensFile ?? environment["CX_TOKENS_FILE"], !path.isEmpty {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ValidationError("\(fileSource): cannot read \"\(path)\": \(error.localizedDescription)")
            }
            do {
                list += try AccessControl.parseTokens(text, source: path)
            } catch {
                throw ValidationError("\(fileSource): \(error)")
            }
            sources.append(path)
            // Group access is allowed: a Kubernetes Secret mounted with an
            // fsGroup is 0440, readable by the pod's group only.
            if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                let mode = attributes[.posixPermissions] as? Int, mode & 0o007 != 0
            {
                notices.append("tokens file \(path) can be read by any user (mode \(String(mode, radix: 8))); chmod o= it")
            }
        }
        for (variable, role) in [
            ("CX_ADMIN_TOKEN", Role.admin), ("CX_PEER_TOKEN", .peer), ("CX_SERVICE_TOKEN", .service), ("CX_READONLY_TOKEN", .readOnly),
        ] {
            if let token = environment[variable], !token.isEmpty {
                list.append((role, token))
                sources.append("$\(variable)")
            }
        }
        return (list, sources.joined(separator: ", "), notices)
    }

    private static func seconds(_ value: Double, flag: String, allowZero: Bool) throws -> TimeAmount {
        guard value.isFinite, allowZero ? value >= 0 : value > 0, value <= 86_400 else {
            throw ValidationError("\(flag): \(value) must be \(allowZero ? "0" : "more than 0") to 86400 seconds")
        }
        return .nanoseconds(Int64(value * 1e9))
    }
}

/// ``ServiceOptions`` with the environment and defaults applied.
public struct ResolvedServiceOptions: Sendable {
    public var server: RPCServerConfiguration
    /// `<data dir>/<service>`; created when the service starts.
    public var dataDirectory: URL
    public var addressFile: URL?
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    /// What the service says at startup about its options (access control on or off).
    public var notices: [String] = []
}

/// The build's version, reported by health checks and `--version`.
public enum CXVersion {
    public static let current = "0.1.0"
}
