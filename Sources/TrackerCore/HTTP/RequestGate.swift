import NIOCore

/// Turns the bytes of a connection into request heads (``RequestHead``), one complete head
/// at a time, so that no client can make the tracker hold more than a bounded amount of
/// memory or a connection for long:
///
/// - **Framing.** Each byte is looked at once to find where a head ends (``HeadScanner``);
///   the complete head then goes to ``RequestHeadParser``. A head split across reads
///   waits here, and its lines already scanned are not scanned again. Empty lines between
///   requests are dropped.
/// - **Limits.** A request line longer than ``Limits/requestLine`` is answered 414, a
///   header block larger than ``Limits/headerBlock`` 431, as soon as the limit is passed; a
///   head the parser refuses 400.
/// - **Slow and idle clients.** A head not complete within ``Limits/headerTimeout`` of its
///   first byte is answered 408; a connection that sends nothing for ``Limits/idleTimeout``
///   is closed. One timer per connection serves both, re-armed only when it fires (or when a
///   head stays incomplete), not per request.
/// - **Clients that stop reading.** While the channel is not writable (its outbound buffer
///   is past the high-water mark) no further request is passed on and no further read is
///   issued: pipelined requests wait in the socket, not as queued responses.
///
/// Requests have no bodies here: a request announcing one is answered and the connection
/// closed (``ConnectionState/closing``), after which nothing more is read. Refusals are
/// written as raw bytes and close the connection.
final class RequestGate: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = RequestHead
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Limits {
        /// Bytes of the request line, without its CRLF.
        var requestLine: Int
        /// Bytes of the header lines after the request line, line ends and the final empty line included.
        var headerBlock: Int
        var headerTimeout: TimeAmount
        /// A connection that sends nothing for this long is closed.
        var idleTimeout: TimeAmount = .seconds(30)
    }

    private let limits: Limits
    private let state: ConnectionState
    private let onRefusal: (Int) -> Void

    /// Bytes received and not yet passed on as heads.
    private var pending: ByteBuffer?
    /// How many bytes of `pending` the scanner has seen (all of the current, incomplete head).
    private var scanned = 0
    private var scanner: HeadScanner
    private var readHeldBack = false
    private var lastReadAt = NIODeadline.distantPast
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture

    /// - Parameter onRefusal: called with the status of each 400/408/414/431 answer (for metrics).
    init(limits: Limits, state: ConnectionState, onRefusal: @escaping (Int) -> Void) {
        self.limits = limits
        self.state = state
        self.onRefusal = onRefusal
        scanner = HeadScanner(requestLineLimit: limits.requestLine, headerBlockLimit: limits.headerBlock)
    }

    // MARK: - Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startIdleTimer(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startIdleTimer(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        pending = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !state.closing else { return }
        lastReadAt = context.eventLoop.now
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
            if readHeldBack, !hasUnscannedBytes, !state.closing {
                readHeldBack = false
                context.read()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: - Outbound

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable, !hasUnscannedBytes {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    /// Whether received bytes wait that the scanner has not seen yet (held back while the
    /// channel was not writable). A partial head alone, all of it scanned, needs more bytes.
    private var hasUnscannedBytes: Bool {
        guard let pending else { return false }
        return pending.readableBytes > scanned
    }

    // MARK: - Admission

    /// Passes on complete heads while the channel is writable; keeps a trailing partial head.
    private func admit(context: ChannelHandlerContext) {
        while !state.closing, var buffer = pending {
            if scanned == 0 { Self.dropEmptyLines(&buffer) }
            guard buffer.readableBytes > 0 else {
                pending = nil
                break
            }
            guard context.channel.isWritable else {
                pending = buffer
                return
            }
            let readAt = lastReadAt
            let verdict = buffer.withUnsafeReadableBytes { [scanned] bytes in
                scanner.scan(UnsafeRawBufferPointer(rebasing: bytes[scanned...]), now: { readAt })
            }
            switch verdict {
            case .headEnd(let end):
                let head = buffer.readSlice(length: scanned + end)!
                pending = buffer.readableBytes > 0 ? buffer : nil
                scanned = 0
                do {
                    context.fireChannelRead(wrapInboundOut(try RequestHeadParser.parse(head)))
                } catch {
                    refuse(context: context, error)
                }
            case .exhausted:
                scanned = buffer.readableBytes
                pending = buffer
                if scanner.inHead { armTimer(context: context, at: scanner.headStartedAt + limits.headerTimeout) }
                return
            case .refuse(let error):
                refuse(context: context, error)
            }
        }
    }

    private func refuse(context: ChannelHandlerContext, _ error: RequestHeadError) {
        state.closing = true
        pending = nil
        cancelTimer()
        onRefusal(error.status)
        let response = TrackerResponses.closingResponse(status: error.status, reason: error.reason)
        context.writeAndFlush(wrapOutboundOut(response)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    // MARK: - Timer

    /// The timer's first deadline: the idle time after the connection opened.
    private func startIdleTimer(context: ChannelHandlerContext) {
        guard timer == nil else { return }
        lastReadAt = context.eventLoop.now
        armTimer(context: context, at: lastReadAt + limits.idleTimeout)
    }

    /// Makes the timer fire at `deadline` at the latest.
    private func armTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
        guard !state.closing, timer == nil || deadline < timerDeadline else { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            timerDeadline = .distantFuture
            check(context: context)
        }
    }

    /// When the timer fires: 408 for a head past its time, close a connection idle past its
    /// time, otherwise wait for the next of the two deadlines.
    private func check(context: ChannelHandlerContext) {
        guard !state.closing else { return }
        let now = context.eventLoop.now
        let idleDeadline = lastReadAt + limits.idleTimeout
        if scanner.inHead {
            let headDeadline = scanner.headStartedAt + limits.headerTimeout
            if now >= headDeadline {
                refuse(context: context, .timeout)
                return
            }
            if now < idleDeadline {
                armTimer(context: context, at: min(headDeadline, idleDeadline))
                return
            }
        } else if now < idleDeadline {
            armTimer(context: context, at: idleDeadline)
            return
        }
        state.closing = true  // idle: closed without a word
        pending = nil
        context.close(promise: nil)
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = .distantFuture
    }

    /// Drops CR and LF bytes before a request line (empty lines between requests).
    private static func dropEmptyLines(_ buffer: inout ByteBuffer) {
        let skip = buffer.withUnsafeReadableBytes { bytes in
            bytes.prefix { $0 == HeadScanner.cr || $0 == HeadScanner.lf }.count
        }
        buffer.moveReaderIndex(forwardBy: skip)
    }
}
