import NIOCore

/// How an ``RPCServer`` listens and the limits it keeps. Every limit has a
/// default meant for a production service on one machine.
public struct RPCServerConfiguration: Sendable {
    /// The server's name in health checks, reflection and logs: `profiles`.
    public var name: String
    /// The build version health checks report.
    public var version: String
    /// Address to listen on. Default `127.0.0.1`.
    public var host: String
    /// Port to listen on; 0 picks a free one (see ``RPCServer/localAddress``).
    public var port: Int
    public var limits: WireLimits
    /// Connections open at once; one more is sent GoAway RESOURCE_EXHAUSTED
    /// and closed. Default 1,024.
    public var maxConnections: Int
    /// Calls in flight on one connection; one more is answered
    /// RESOURCE_EXHAUSTED without being run. Default 1,024.
    public var maxConcurrentCallsPerConnection: Int
    /// Deadline of a call whose request carries none. Default 30 s.
    public var defaultTimeout: TimeAmount
    /// Longest deadline a client may ask for. Default 10 min.
    public var maxTimeout: TimeAmount
    /// A connection with no calls and no traffic this long is closed (GoAway
    /// UNAVAILABLE first). nil keeps idle connections. Default 5 min.
    public var idleTimeout: TimeAmount?
    /// How long a graceful shutdown waits for accepted calls before closing
    /// what remains. Default 30 s.
    public var shutdownGracePeriod: TimeAmount
    /// Who may call what, by the bearer token in each call's
    /// `authorization` metadata. nil serves every call to anyone: for
    /// tests and benchmarks in one process, never for a deployment.
    public var accessControl: AccessControl?

    public init(
        name: String,
        version: String = "dev",
        host: String = "127.0.0.1",
        port: Int = 0,
        limits: WireLimits = .default,
        maxConnections: Int = 1_024,
        maxConcurrentCallsPerConnection: Int = 1_024,
        defaultTimeout: TimeAmount = .seconds(30),
        maxTimeout: TimeAmount = .minutes(10),
        idleTimeout: TimeAmount? = .minutes(5),
        shutdownGracePeriod: TimeAmount = .seconds(30),
        accessControl: AccessControl? = nil
    ) {
        self.name = name
        self.version = version
        self.host = host
        self.port = port
        self.limits = limits
        self.maxConnections = maxConnections
        self.maxConcurrentCallsPerConnection = maxConcurrentCallsPerConnection
        self.defaultTimeout = defaultTimeout
        self.maxTimeout = maxTimeout
        self.idleTimeout = idleTimeout
        self.shutdownGracePeriod = shutdownGracePeriod
        self.accessControl = accessControl
    }
}
