import Logging
import NIOCore

/// What a handler knows about the call it is serving.
public struct ServerContext: Sendable {
    /// The client's id for the call, unique on its connection.
    public let callID: UInt64
    /// `/cx.loyalty.v1.Loyalty/RecordPurchase`
    public let method: String
    /// The request's metadata; keys lowercase (`authorization`, `traceparent`, ...).
    public let metadata: [String: String]
    /// When the client stops waiting. The handler's task is cancelled then.
    public let deadline: NIODeadline
    /// The client's address, `127.0.0.1:53412`.
    public let peer: String
    private let serverLogger: Logger

    /// The server's logger with `call_id` and `method` on every line. Built
    /// when asked for, so calls that never log pay nothing for it.
    public var logger: Logger {
        var logger = serverLogger
        logger[metadataKey: "call_id"] = "\(callID)"
        logger[metadataKey: "method"] = "\(method)"
        return logger
    }

    public init(
        callID: UInt64,
        method: String,
        metadata: [String: String],
        deadline: NIODeadline,
        peer: String,
        logger: Logger
    ) {
        self.callID = callID
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.peer = peer
        self.serverLogger = logger
    }
}
