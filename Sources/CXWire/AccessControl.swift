import CXModel

/// Who a bearer token speaks for. Each role may call the methods of its
/// own ``MethodAccess`` and below (see `proto-spec/cx/common/v1/access.proto`).
public enum Role: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Reads only: dashboards, reports, support staff looking things up.
    case readOnly = "read-only"
    /// A business's own services: records purchases, events, responses.
    case service
    /// The CX services calling each other (their outboxes): also the
    /// methods only a peer may call, a customer's traits, loyalty's events.
    case peer
    /// People who run the platform: programs, rules, segments, erasure.
    case admin

    /// The highest access this role reaches.
    public var reach: MethodAccess {
        switch self {
        case .readOnly: .read
        case .service: .write
        case .peer: .peer
        case .admin: .admin
        }
    }

    public var description: String { rawValue }

    /// The roles that may call a method of `access`, in words: "the service and admin roles".
    static func allowed(for access: MethodAccess) -> String {
        let names = allCases.filter { $0.reach >= access }.map(\.rawValue)
        return names.count == 1 ? "the \(names[0]) role" : "the \(names.dropLast().joined(separator: ", ")) and \(names.last!) roles"
    }
}

/// The server side of access control: maps the bearer token of each call
/// to a ``Role`` and refuses calls the role may not make.
///
/// Tokens are kept only as SHA-256 digests, and a presented token is
/// compared with every configured one in constant time, so neither memory
/// nor timing gives a token away. Tokens are never logged.
public struct AccessControl: Sendable {
    /// Shortest token accepted: a shorter one is guessable.
    public static let minimumTokenLength = 16

    private struct Entry: Sendable {
        var digest: [UInt8]
        var role: Role
    }

    private let entries: [Entry]

    /// - Throws: ``AccessControlError`` for a token shorter than
    ///   ``minimumTokenLength`` or with spaces, and for a token given to two roles.
    public init(tokens: [(role: Role, token: String)]) throws {
        var entries: [Entry] = []
        for (index, (role, token)) in tokens.enumerated() {
            guard token.count >= Self.minimumTokenLength else {
                throw AccessControlError("token \(index + 1) (\(role)): \(token.count) characters; at least \(Self.minimumTokenLength) are needed")
            }
            guard !token.contains(where: \.isWhitespace) else {
                throw AccessControlError("token \(index + 1) (\(role)): contains white space")
            }
            let digest = SHA256.hash(token.utf8)
            if let other = entries.first(where: { $0.digest == digest }) {
                if other.role != role {
                    throw AccessControlError("token \(index + 1) is given to both the \(other.role) and the \(role) role")
                }
                continue
            }
            entries.append(Entry(digest: digest, role: role))
        }
        self.entries = entries
    }

    /// How many distinct tokens are configured per role (for the startup log line).
    public var tokenCounts: [Role: Int] {
        entries.reduce(into: [:]) { $0[$1.role, default: 0] += 1 }
    }

    /// The role of `token`, or nil when it is not known. Looks at every
    /// configured token whatever matches, and compares digests without
    /// stopping at the first differing byte.
    public func role(of token: String) -> Role? {
        let digest = SHA256.hash(token.utf8)
        var found: Role?
        for entry in entries {
            var difference: UInt8 = 0
            for index in 0..<SHA256.digestByteCount {
                difference |= entry.digest[index] ^ digest[index]
            }
            if difference == 0 { found = entry.role }
        }
        return found
    }

    /// Nil when a call of `method` (whose access is `access`) with this
    /// `metadata` may run; otherwise the error to answer with:
    /// UNAUTHENTICATED for a missing, malformed or unknown token,
    /// PERMISSION_DENIED for a role below the method's access.
    public func check(method: String, access: MethodAccess, metadata: [String: String], server: String) -> RPCError? {
        if access == .public { return nil }
        guard let header = metadata["authorization"], !header.isEmpty else {
            return RPCError(
                code: .unauthenticated,
                message: "\(method) needs a token: send the metadata \"authorization: Bearer <token>\" (cxctl: --token, $CX_TOKEN or its config file)",
                reason: "TOKEN_MISSING")
        }
        guard let token = Self.bearerToken(header) else {
            return RPCError(
                code: .unauthenticated,
                message: "authorization: expected \"Bearer <token>\"",
                reason: "TOKEN_MALFORMED")
        }
        guard let role = role(of: token) else {
            return RPCError(
                code: .unauthenticated,
                message: "the token sent is not one \(server) knows",
                reason: "TOKEN_UNKNOWN")
        }
        guard role.reach >= access else {
            return RPCError(
                code: .permissionDenied,
                message: "\(method) is for \(Role.allowed(for: access)); this token's role is \(role)",
                reason: "ROLE_NOT_ALLOWED")
        }
        return nil
    }

    /// The token of an `authorization` value, "Bearer <token>" (the scheme
    /// in any case), or nil.
    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// Reads a tokens file: one token per line, `ROLE TOKEN`, where ROLE is
    /// `admin`, `service` or `read-only`; blank lines are ignored, and so is
    /// a line's rest from a field starting with `#`.
    ///
    /// - Parameter source: the file's name, for errors ("tokens:3: ...").
    /// - Throws: ``AccessControlError`` naming the line; the message never
    ///   contains a token.
    public static func parseTokens(_ text: String, source: String) throws -> [(role: Role, token: String)] {
        var tokens: [(role: Role, token: String)] = []
        for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            // A comment starts with a field that starts with "#", so a "#"
            // inside a token is part of it.
            var fields = line.split(whereSeparator: \.isWhitespace)
            if let comment = fields.firstIndex(where: { $0.hasPrefix("#") }) { fields.removeSubrange(comment...) }
            if fields.isEmpty { continue }
            guard fields.count == 2 else {
                throw AccessControlError("\(source):\(number + 1): expected \"ROLE TOKEN\" (2 fields), found \(fields.count)")
            }
            guard let role = Role(rawValue: String(fields[0]).lowercased()) else {
                // Never quoted: a file written TOKEN ROLE would put the token in the log.
                throw AccessControlError(
                    "\(source):\(number + 1): the first field must be a role, one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            tokens.append((role, String(fields[1])))
        }
        return tokens
    }
}

/// A tokens file or variable that cannot be used; the message names where.
public struct AccessControlError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
