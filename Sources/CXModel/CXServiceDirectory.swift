/// The four CX services: their names, default ports and the environment
/// variables that hold their addresses. Shared by the service executables,
/// `cxctl` and `cx-load`, so a port is written down once.
public enum CXServiceName: String, CaseIterable, Sendable, Hashable {
    case profiles, loyalty, journey, feedback

    /// 7101 to 7104, in the order above.
    public var defaultPort: Int {
        switch self {
        case .profiles: 7101
        case .loyalty: 7102
        case .journey: 7103
        case .feedback: 7104
        }
    }

    /// `127.0.0.1:7101`
    public var defaultAddress: String { "127.0.0.1:\(defaultPort)" }

    /// `CX_PROFILES_ADDR`: where clients find the service and where it listens.
    public var addressVariable: String { "CX_\(rawValue.uppercased())_ADDR" }

    /// The executable's name: `cx-profiles`.
    public var executableName: String { "cx-\(rawValue)" }
}
