import Foundation
import NIOCore

/// How an ``RPCClient`` connects to its peer.
public struct RPCClientConfiguration: Sendable {
    /// Connections kept to the peer; calls are spread over them round-robin,
    /// many in flight on each. Default 2.
    public var connections: Int
    /// How long a connection attempt may take. Default 3 s.
    public var connectTimeout: TimeAmount
    /// Deadline of a call whose options set none. Default 30 s.
    public var defaultTimeout: TimeAmount
    public var limits: WireLimits
    /// After a failed connection attempt, calls fail at once with
    /// UNAVAILABLE until the backoff has passed; the delay grows from
    /// `initial` by `multiplier` per failed attempt up to `maximum`, with
    /// ±20% jitter.
    public var backoff: Backoff
    /// Metadata sent with every call (an `authorization` token, say); a
    /// call's own metadata wins on the same key.
    public var metadata: [String: String]

    public struct Backoff: Sendable, Hashable {
        public var initial: TimeAmount
        public var maximum: TimeAmount
        public var multiplier: Double

        public init(initial: TimeAmount = .milliseconds(100), maximum: TimeAmount = .seconds(10), multiplier: Double = 2) {
            self.initial = initial
            self.maximum = maximum
            self.multiplier = multiplier
        }

        /// The delay before attempt `attempt + 1`, given `attempt` failures so far (1-based).
        func delay(afterFailures attempt: Int) -> TimeAmount {
            let base = Double(initial.nanoseconds) * pow(multiplier, Double(max(0, attempt - 1)))
            let capped = min(base, Double(maximum.nanoseconds))
            return .nanoseconds(Int64(capped * Double.random(in: 0.8...1.2)))
        }
    }

    public init(
        connections: Int = 2,
        connectTimeout: TimeAmount = .seconds(3),
        defaultTimeout: TimeAmount = .seconds(30),
        limits: WireLimits = .default,
        backoff: Backoff = Backoff(),
        metadata: [String: String] = [:]
    ) {
        self.connections = connections
        self.connectTimeout = connectTimeout
        self.defaultTimeout = defaultTimeout
        self.limits = limits
        self.backoff = backoff
        self.metadata = metadata
    }
}

/// Per-call settings.
public struct CallOptions: Sendable {
    /// How long to wait for the answer; nil uses the client's default.
    public var timeout: TimeAmount?
    /// Metadata for this call, on top of the client's.
    public var metadata: [String: String]

    public init(timeout: TimeAmount? = nil, metadata: [String: String] = [:]) {
        self.timeout = timeout
        self.metadata = metadata
    }
}
