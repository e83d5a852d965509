import Config
import Foundation
import NIOCore
import Rewrite

/// Answers each request as the ``RequestRouter`` decides, hands recorded hits to the event
/// pipeline (never waiting for it), and counts every answer.
///
/// Request heads come parsed from ``RequestGate``; answers are written as ready-made bytes
/// (``TrackerResponses``) the moment a head arrives, so pipelined requests are answered in
/// order without further bookkeeping, and flushed once per read. Keep-alive follows the
/// client. A request that announces a body or an upgrade, is a CONNECT, asks for
/// `Connection: close`, or is HTTP/1.0 without keep-alive gets `Connection: close`, and the
/// connection is closed once the answer is written.
final class TrackerHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = RequestHead
    typealias OutboundOut = ByteBuffer

    struct Services {
        let router: RequestRouter
        let clientAddress: ClientAddress
        let metrics: TrackerMetrics
        /// Takes a verified hit (``EventWriter/submit(_:)``).
        let submit: @Sendable (TrackedHit) -> Void
        /// The `/metrics` body.
        let exposition: @Sendable () -> [UInt8]
    }

    private let services: Services
    private let state: ConnectionState
    /// The event loop's inflater for link destinations (only its thread uses it).
    private let inflater: RawDeflate.Inflater
    /// The connection's peer, resolved once.
    private var peer: ClientAddress.Peer?

    init(services: Services, state: ConnectionState, inflater: RawDeflate.Inflater) {
        self.services = services
        self.state = state
        self.inflater = inflater
    }

    func handlerAdded(context: ChannelHandlerContext) {
        resolvePeer(context: context)
    }

    func channelActive(context: ChannelHandlerContext) {
        resolvePeer(context: context)
        context.fireChannelActive()
    }

    private func resolvePeer(context: ChannelHandlerContext) {
        guard peer == nil, let address = context.channel.remoteAddress else { return }
        peer = services.clientAddress.peer(IPAddress(socketAddress: address))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !state.closing else { return }
        answer(unwrapInboundIn(data), context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Every admitted request has been answered already: finish writing, then close.
            closeAfterWrites(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        state.closing = true
        context.close(promise: nil)
    }

    private func answer(_ request: RequestHead, context: ChannelHandlerContext) {
        let method: RequestRouter.Method
        switch request.method {
        case .get: method = .get
        case .head: method = .head
        case .connect, .other: method = .other
        }
        let services = self.services
        let peer = self.peer ?? services.clientAddress.peer(nil)
        let inflater = self.inflater
        let decision = request.withTarget { target in
            services.router.route(
                method: method, target: target, now: Date().timeIntervalSince1970,
                clientIP: {
                    services.clientAddress.resolve(peer: peer, realIP: request.realIP.map(request.text),
                                                   forwardedFor: request.forwardedFor.map(request.text))
                },
                userAgent: { request.userAgent.map(request.text) ?? "" },
                inflater: inflater)
        }
        if let hit = decision.hit { services.submit(hit) }

        // After a body, an upgrade or a CONNECT the bytes are no longer requests: close.
        let keepAlive = request.keepAlive && !request.endsStream
        let http10 = request.http10
        let connection: TrackerResponses.Connection = !keepAlive ? .close : (http10 ? .keepAlive : .unstated)
        services.metrics.countRequest(route: decision.route, status: TrackerResponses.status(of: decision.answer))
        let response = TrackerResponses.bytes(for: decision.answer, http10: http10, connection: connection,
                                              head: method == .head, metrics: services.exposition)
        if keepAlive {
            context.write(wrapOutboundOut(response), promise: nil)
        } else {
            state.closing = true
            context.writeAndFlush(wrapOutboundOut(response)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    private func closeAfterWrites(context: ChannelHandlerContext) {
        state.closing = true
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

extension IPAddress {
    /// The IP address of a socket address; nil for unix sockets.
    init?(socketAddress: SocketAddress) {
        switch socketAddress {
        case .v4(let address):
            self.init(bytes: withUnsafeBytes(of: address.address.sin_addr) { Array($0) })
        case .v6(let address):
            self.init(bytes: withUnsafeBytes(of: address.address.sin6_addr) { Array($0) })
        case .unixDomainSocket:
            return nil
        }
    }
}
