import NIOCore

/// One connection's framing, kept inside its connection handler: splits
/// the bytes of each socket read into frame messages (inflated when
/// compressed), compresses large outbound frames, and decides when the
/// handler's flushes reach the socket.
///
/// Both connection handlers (``ServerConnectionHandler``,
/// ``ClientConnectionHandler``) sit alone in their pipelines and own one.
/// Framing, compression and flush coalescing used to be three channel
/// handlers of their own; each frame then crossed three more handler
/// contexts on its way in or out (boxed in `NIOAny` and unboxed at each),
/// about a twentieth of the CPU time of `cx-bench wire` at 16x8.
///
/// Reading, one socket read at a time:
/// ```swift
/// stream.receive(bytes)
/// while let message = try stream.nextMessage() { handle(message) }
/// ```
/// Messages are slices of the buffers NIO read into: no copy, except for a
/// frame split across reads, whose bytes are gathered.
///
/// Flushing: the handler asks for a flush after every frame it writes
/// (``flushRequested()``), and it happens
/// - during a socket read (the frames of one read are handled one after
///   another, and a synchronous method answers each at once), at the
///   read's `channelReadComplete`, as a pipelined NIO server flushes;
/// - at any other time (an async handler's answer coming back, a call
///   started from a task or another connection's read), once at the end of
///   the event loop's tick.
///
/// Flushing at the end of the read rather than the end of the tick sends a
/// read's answers while the loop still has other connections to serve, so
/// the peer can take them up meanwhile.
///
/// Writing: frames up to ``gatherLimit`` bytes are copied into one buffer
/// that the next flush writes (``gather(_:allocator:)``,
/// ``takeGathered()``), so NIO takes one write per flush instead of one per
/// frame (its bookkeeping per write, a `NIOAny` and a pending-write entry,
/// cost more than copying a small frame). The buffer is reused once NIO is
/// done with it. Larger frames are written as they are, after what was
/// gathered before them.
struct FrameStream {
    /// Frames up to this many bytes are gathered; larger ones are not copied.
    static let gatherLimit = 4_096
    /// A gather buffer that grew past this is let go after it is written,
    /// so an idle connection does not keep a burst's memory.
    static let gatherKeepLimit = 64 << 10

    private let parser: FrameParser
    private let compressionThreshold: Int?
    /// What has arrived and is not yet split off: the rest of the current
    /// read, or the start of a frame whose rest has not arrived. Nil when
    /// empty, so NIO can reuse its read buffer.
    private var unread: ByteBuffer?
    /// A bad frame was seen, or the connection ended: the stream is out of
    /// step (or over), and anything that arrives after is dropped.
    private(set) var stopped = false
    /// Inside a socket read: between its `channelRead` and its `channelReadComplete`.
    private var reading = false
    /// A flush was asked for during the read.
    private var flushAtReadComplete = false
    /// A flush is scheduled for the end of the tick.
    private var flushScheduled = false
    /// Small frames written since the last flush, and (once handed to NIO)
    /// the storage to reuse for the next ones.
    private var gathered: ByteBuffer?
    /// `gathered` was handed to NIO: cleared before it is written again,
    /// which reuses its storage once NIO let go of it, and copies nothing.
    private var gatheredHandedOut = false

    init(limits: WireLimits) {
        parser = FrameParser(maxMessageSize: limits.maxMessageSize)
        compressionThreshold = limits.compressionThreshold
    }

    // MARK: Reading

    /// The bytes of a socket read arrived (a `channelRead`).
    mutating func receive(_ bytes: ByteBuffer) {
        reading = true
        guard !stopped else { return }
        if var gathered = unread.take() {
            var bytes = bytes
            gathered.writeBuffer(&bytes)
            unread = gathered
        } else {
            unread = bytes
        }
    }

    /// The next whole frame's message of what has arrived, or nil until
    /// more arrives. After an error, and once the connection ended, always nil.
    mutating func nextMessage() throws(FrameError) -> ByteBuffer? {
        guard !stopped, var buffer = unread.take() else { return nil }
        let message: ByteBuffer?
        do {
            message = try parser.nextMessage(from: &buffer)
        } catch {
            stopped = true
            throw error
        }
        if buffer.readableBytes > 0 { unread = buffer }
        return message
    }

    /// The socket read is over (a `channelReadComplete`): whether the
    /// handler must flush now.
    mutating func readComplete() -> Bool {
        reading = false
        defer { flushAtReadComplete = false }
        return flushAtReadComplete
    }

    /// The connection ended (a `channelInactive`): the error for the frame
    /// it ended inside, if it did.
    mutating func end() -> FrameError? {
        defer {
            stopped = true
            unread = nil
            reading = false
            flushAtReadComplete = false
            gathered = nil
        }
        guard !stopped, let unread, unread.readableBytes > 0 else { return nil }
        let expected = unread.getInteger(at: unread.readerIndex + 1, as: UInt32.self)
            .map { Int($0) + FrameParser.headerSize } ?? FrameParser.headerSize
        return .truncatedFrame(received: unread.readableBytes, expected: expected)
    }

    // MARK: Writing

    /// `frame` (header included, not compressed: ``FastFrames`` and
    /// `Cx_Wire_V1_Frame.framedBuffer()` write those) as it goes on the
    /// wire: compressed per ``WireLimits/compressionThreshold``, otherwise
    /// untouched.
    /// `allocator` is asked for only when compressing: a channel's
    /// allocator is an existential property, not free to read per frame.
    func outbound(_ frame: ByteBuffer, allocator: @autoclosure () -> ByteBufferAllocator) -> ByteBuffer {
        guard let threshold = compressionThreshold else { return frame }
        let length = frame.readableBytes - FrameParser.headerSize
        guard length >= threshold else { return frame }
        let message = frame.getSlice(at: frame.readerIndex + FrameParser.headerSize, length: length)!
        var out = allocator().buffer(capacity: length / 2 + FrameParser.headerSize)
        FrameParser.writeFrame(message: message, compressionThreshold: threshold, into: &out)
        return out
    }

    /// Copies `frame` (as ``outbound(_:allocator:)`` made it) into the
    /// buffer the next flush writes, and returns true; false, copying
    /// nothing, when it is over ``gatherLimit``: the handler then writes
    /// ``takeGathered()`` and the frame itself, in that order.
    mutating func gather(_ frame: ByteBuffer, allocator: @autoclosure () -> ByteBufferAllocator) -> Bool {
        guard frame.readableBytes <= Self.gatherLimit else { return false }
        if gatheredHandedOut {
            gatheredHandedOut = false
            gathered!.clear()  // new storage only if NIO still holds the last batch
        }
        if gathered == nil { gathered = allocator().buffer(capacity: 1_024) }
        gathered!.writeImmutableBuffer(frame)
        return true
    }

    /// The frames gathered since the last call, for the handler to write
    /// just before it flushes (or before a frame that was not gathered).
    mutating func takeGathered() -> ByteBuffer? {
        guard !gatheredHandedOut, let batch = gathered, batch.readableBytes > 0 else { return nil }
        if batch.capacity > Self.gatherKeepLimit {
            gathered = nil
        } else {
            gatheredHandedOut = true
        }
        return batch
    }

    /// The handler wrote and wants it sent: true when it must schedule a
    /// flush for the end of the tick (and call ``scheduledFlushIsDue()``
    /// there); false when the flush is taken care of (at the read's end,
    /// or already scheduled).
    mutating func flushRequested() -> Bool {
        if reading {
            flushAtReadComplete = true
            return false
        }
        guard !flushScheduled else { return false }
        flushScheduled = true
        return true
    }

    /// The flush scheduled by ``flushRequested()`` is running.
    mutating func scheduledFlushIsDue() {
        flushScheduled = false
    }
}

/// A connection handler that owns a ``FrameStream``: both
/// (``ServerConnectionHandler``, ``ClientConnectionHandler``) write their
/// frames, gather small ones and schedule flushes through this extension.
protocol FrameStreamOwner: AnyObject {
    var stream: FrameStream { get set }
    /// Nil once the handler left its pipeline.
    var context: ChannelHandlerContext? { get }
}

extension FrameStreamOwner {
    /// Writes a whole frame, compressed when large; a small one is gathered
    /// with the others the next flush sends. With a promise the frame is
    /// written on its own, so the promise means that frame alone.
    func write(_ frame: ByteBuffer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        let framed = stream.outbound(frame, allocator: context.channel.allocator)
        if promise == nil && stream.gather(framed, allocator: context.channel.allocator) {
            SerializationScratch.giveBack(framed)  // copied: its memory serializes the next message
            return
        }
        writeGathered(context: context)
        context.write(NIOAny(framed), promise: promise)
    }

    /// Writes the small frames gathered since the last flush, in one buffer.
    func writeGathered(context: ChannelHandlerContext) {
        if let gathered = stream.takeGathered() { context.write(NIOAny(gathered), promise: nil) }
    }

    /// Sends what was written: at the end of the socket read being handled,
    /// or else at the end of the event loop's tick (see ``FrameStream``).
    func flush(context: ChannelHandlerContext) {
        guard stream.flushRequested() else { return }
        // The strong capture is on purpose: a weak reference would give the
        // handler a side table, and every retain and release would go slow.
        context.eventLoop.assumeIsolated().execute {
            self.stream.scheduledFlushIsDue()
            guard let context = self.context else { return }
            self.writeGathered(context: context)
            context.flush()
        }
    }

    /// The socket read is over: sends what its frames' handling wrote.
    func flushAtReadComplete(context: ChannelHandlerContext) {
        guard stream.readComplete() else { return }
        writeGathered(context: context)
        context.flush()
    }
}
