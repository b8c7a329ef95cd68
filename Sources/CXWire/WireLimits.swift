/// Frame-level limits and compression, shared by servers and clients.
public struct WireLimits: Sendable, Hashable {
    /// The largest message a frame may carry, before and after inflating.
    /// A frame announcing more is refused before a byte of it is buffered.
    /// Default 4 MiB.
    public var maxMessageSize: Int
    /// Messages this size or larger are zlib-compressed when that makes them
    /// smaller. `nil` never compresses. Default 8 KiB: below that, zlib costs
    /// more time than the bytes it saves on a LAN.
    public var compressionThreshold: Int?

    public init(maxMessageSize: Int = 4 << 20, compressionThreshold: Int? = 8 << 10) {
        self.maxMessageSize = maxMessageSize
        self.compressionThreshold = compressionThreshold
    }

    public static let `default` = WireLimits()
}
