import CXModel
import Foundation

/// The config file of CX's command-line clients (`cxctl`, `cx-load`): where
/// the services are and the bearer token to send, so neither has to be typed
/// on every command.
///
/// `$CX_CONFIG`, else `$XDG_CONFIG_HOME/cx/cxctl.conf` (`~/.config/cx/cxctl.conf`).
/// Lines of `key = value`; `#` at the start of a line or after white space starts a comment:
///
///     token    = 3f9c...        # sent as "authorization: Bearer <token>"
///     profiles = 127.0.0.1:7101
///     loyalty  = 127.0.0.1:7102
///
/// A flag wins over the environment, which wins over the file, which wins
/// over the defaults. `deploy/run-local.sh` writes one for the platform it starts.
public struct ClientConfigFile: Sendable {
    public private(set) var values: [String: String] = [:]
    /// Where it was read from; nil when there is no file.
    public private(set) var path: String?

    /// `token` and the four service names.
    public static let keys: Set<String> = Set(["token"] + CXServiceName.allCases.map(\.rawValue))

    public init() {}

    /// The file's path: `$CX_CONFIG`, else the XDG default.
    public static func path(environment: [String: String]) -> String {
        if let path = environment["CX_CONFIG"], !path.isEmpty { return path }
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.config")
        return base + "/cx/cxctl.conf"
    }

    /// Reads the config; a missing file is an empty config, unless it was
    /// named by `$CX_CONFIG`.
    ///
    /// - Throws: ``ClientConfigError`` naming the file and line of anything it cannot use.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ClientConfigError) -> ClientConfigFile {
        let path = path(environment: environment)
        guard let data = FileManager.default.contents(atPath: path) else {
            if environment["CX_CONFIG"].map({ !$0.isEmpty }) ?? false {
                throw ClientConfigError("$CX_CONFIG: cannot read \"\(path)\"")
            }
            return ClientConfigFile()
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) throws(ClientConfigError) -> ClientConfigFile {
        var config = ClientConfigFile()
        config.path = path
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            // "#" starts a comment at the start of a line or after white space,
            // so a token may contain one.
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") { continue }
            if let comment = line.range(of: #"\s#"#, options: .regularExpression) { line = String(line[..<comment.lowerBound]) }
            if line.isEmpty { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ClientConfigError("\(path):\(number + 1): expected \"key = value\"")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard keys.contains(key) else {
                throw ClientConfigError("\(path):\(number + 1): unknown key \"\(key)\"; known: \(keys.sorted().joined(separator: ", "))")
            }
            config.values[key] = value
        }
        return config
    }

    /// The value of `key`; nil when absent or empty.
    public subscript(key: String) -> String? { values[key].flatMap { $0.isEmpty ? nil : $0 } }
}

/// A config file that cannot be used; the message names the file and line.
public struct ClientConfigError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
