import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Admits request bytes into the HTTP decoder one request head at a time, so that no
/// client can make the tracker hold more than a bounded amount of memory or a connection
/// for long:
///
/// - **Limits.** A request line longer than ``Limits/requestLine`` is answered 414, a
///   header block larger than ``Limits/headerBlock`` 431, before the decoder buffers it.
/// - **Slow clients.** A head not complete within ``Limits/headerTimeout`` of its first byte
///   is answered 408 (idle keep-alive connections are the `IdleStateHandler`'s business).
/// - **Clients that stop reading.** While the channel is not writable (its outbound buffer
///   is past the high-water mark) no further request is passed on and no further read is
///   issued: pipelined requests wait in the socket, not as queued responses.
///
/// Requests have no bodies here: a request announcing one is answered and the connection
/// closed (``ConnectionState/closing``), after which nothing more is read. Refusals are
/// written as raw bytes (the HTTP encoder never saw the request) and close the connection.
final class RequestGate: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Limits {
        /// Bytes of the request line, without its CRLF.
        var requestLine: Int
        /// Bytes of the header lines after the request line, line ends and the final empty line included.
        var headerBlock: Int
        var headerTimeout: TimeAmount
    }

    enum Verdict: Equatable {
        /// A head ends `at` bytes into the scanned bytes.
        case headEnd(at: Int)
        /// All bytes scanned, no head ended.
        case exhausted
        /// The current head breaks a limit: answer with this status.
        case refuse(status: Int)
    }

    private enum Phase { case betweenRequests, requestLine, headers }

    private let limits: Limits
    private let state: ConnectionState
    private let onRefusal: (Int) -> Void

    private var pending: ByteBuffer?
    private var readHeldBack = false
    private var phase = Phase.betweenRequests
    private var requestLineLength = 0
    private var headerBytes = 0
    private var lineLength = 0
    private var lastByte: UInt8 = 0
    private var headStartedAt = NIODeadline.distantPast
    private var timer: Scheduled<Void>?

    /// - Parameter onRefusal: called with the status of each 408/414/431 answer (for metrics).
    init(limits: Limits, state: ConnectionState, onRefusal: @escaping (Int) -> Void) {
        self.limits = limits
        self.state = state
        self.onRefusal = onRefusal
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !state.closing else { return }
        var bytes = unwrapInboundIn(data)
        if pending == nil {
            pending = bytes
        } else {
            pending!.writeBuffer(&bytes)
        }
        admit(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            admit(context: context)
            context.fireChannelReadComplete()  // lets the HTTP handler flush what it answered
            if readHeldBack, pending == nil, !state.closing {
                readHeldBack = false
                context.read()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        pending = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    // MARK: - Outbound

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable, pending == nil {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    // MARK: - Admission

    /// Passes on complete heads (and a trailing partial head) while the channel is writable.
    private func admit(context: ChannelHandlerContext) {
        while !state.closing, var buffer = pending, buffer.readableBytes > 0 {
            guard context.channel.isWritable else { return }
            let verdict = buffer.withUnsafeReadableBytes { scan($0, now: { context.eventLoop.now }) }
            switch verdict {
            case .headEnd(let end):
                let head = buffer.readSlice(length: end)!
                pending = buffer.readableBytes > 0 ? buffer : nil
                context.fireChannelRead(wrapInboundOut(head))
            case .exhausted:
                pending = nil
                context.fireChannelRead(wrapInboundOut(buffer))
            case .refuse(let status):
                pending = nil
                refuse(context: context, status: status)
            }
        }
        if phase != .betweenRequests, timer == nil, !state.closing { scheduleCheck(context: context) }
    }

    /// Advances the head scanner over `bytes`; `now` is read when a head starts.
    func scan(_ bytes: UnsafeRawBufferPointer, now: () -> NIODeadline) -> Verdict {
        guard let base = bytes.baseAddress else { return .exhausted }
        let count = bytes.count
        var index = 0
        while index < count {
            switch phase {
            case .betweenRequests:
                let byte = bytes[index]
                if byte == Self.cr || byte == Self.lf {  // blank lines between requests are allowed
                    index += 1
                    continue
                }
                phase = .requestLine
                requestLineLength = 0
                headerBytes = 0
                lineLength = 0
                headStartedAt = now()
            case .requestLine:
                let lf = Self.find(Self.lf, in: base, from: index, count: count)
                let end = lf ?? count
                requestLineLength += end - index
                if end > index { lastByte = bytes[end - 1] }
                guard let lf else {
                    if requestLineLength > limits.requestLine + 1 { return .refuse(status: 414) }
                    return .exhausted
                }
                let length = requestLineLength - (lastByte == Self.cr ? 1 : 0)
                if length > limits.requestLine { return .refuse(status: 414) }
                index = lf + 1
                phase = .headers
                lineLength = 0
                lastByte = Self.lf
            case .headers:
                let lf = Self.find(Self.lf, in: base, from: index, count: count)
                let end = lf ?? count
                lineLength += end - index
                headerBytes += end - index + (lf == nil ? 0 : 1)
                if end > index { lastByte = bytes[end - 1] }
                if headerBytes > limits.headerBlock { return .refuse(status: 431) }
                guard let lf else { return .exhausted }
                index = lf + 1
                let blank = lineLength == 0 || (lineLength == 1 && lastByte == Self.cr)
                lineLength = 0
                lastByte = Self.lf
                if blank {
                    phase = .betweenRequests
                    return .headEnd(at: index)
                }
            }
        }
        return .exhausted
    }

    private func refuse(context: ChannelHandlerContext, status: Int) {
        state.closing = true
        timer?.cancel()
        timer = nil
        onRefusal(status)
        let reason: String
        switch status {
        case 408: reason = "Request Timeout"
        case 414: reason = "URI Too Long"
        default: reason = "Request Header Fields Too Large"
        }
        context.writeAndFlush(wrapOutboundOut(TrackerResponses.closingResponse(status: status, reason: reason))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Checks, when the current head's time is up, whether it has completed.
    private func scheduleCheck(context: ChannelHandlerContext) {
        let deadline = headStartedAt + limits.headerTimeout
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            guard !state.closing, phase != .betweenRequests else { return }
            if context.eventLoop.now >= headStartedAt + limits.headerTimeout {
                pending = nil
                refuse(context: context, status: 408)
            } else {
                scheduleCheck(context: context)
            }
        }
    }

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    private static func find(_ byte: UInt8, in base: UnsafeRawPointer, from index: Int, count: Int) -> Int? {
        guard index < count, let found = memchr(base + index, Int32(byte), count - index) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }
}
