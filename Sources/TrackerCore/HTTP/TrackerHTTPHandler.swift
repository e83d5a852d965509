import Config
import Foundation
import NIOCore
import NIOHTTP1

/// Answers each request as the ``RequestRouter`` decides, hands recorded hits to the event
/// pipeline (never waiting for it), and counts every answer.
///
/// Requests are parsed by NIO's HTTP decoder (llhttp); answers are written as ready-made
/// bytes (``TrackerResponses``) the moment a request head arrives, so pipelined requests are
/// answered in order without further bookkeeping. Keep-alive follows the client. A request
/// that announces a body or an upgrade, asks for `Connection: close`, or is HTTP/1.0
/// without keep-alive gets `Connection: close`, and the connection is closed once the answer
/// is written; a request the decoder cannot parse gets 400 and the same.
final class TrackerHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
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
    private var peer: IPAddress?

    init(services: Services, state: ConnectionState) {
        self.services = services
        self.state = state
    }

    func handlerAdded(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress.flatMap(IPAddress.init(socketAddress:))
    }

    func channelActive(context: ChannelHandlerContext) {
        if peer == nil { peer = context.channel.remoteAddress.flatMap(IPAddress.init(socketAddress:)) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data), !state.closing else { return }
        answer(request, context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is IdleStateHandler.IdleStateEvent:
            state.closing = true
            context.close(promise: nil)
        case is ChannelShouldQuiesceEvent:
            // Every admitted request has been answered already: finish writing, then close.
            closeAfterWrites(context: context)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is HTTPParserError, !state.closing {
            services.metrics.countRequest(route: .other, status: 400)
            state.closing = true
            context.writeAndFlush(wrapOutboundOut(TrackerResponses.closingResponse(status: 400, reason: "Bad Request")))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            return
        }
        state.closing = true
        context.close(promise: nil)
    }

    private func answer(_ request: HTTPRequestHead, context: ChannelHandlerContext) {
        let method: RequestRouter.Method
        switch request.method {
        case .GET: method = .get
        case .HEAD: method = .head
        default: method = .other
        }
        let headers = request.headers
        let peer = self.peer
        let services = self.services
        let decision = services.router.route(
            method: method, target: request.uri, now: Date().timeIntervalSince1970,
            clientIP: services.clientAddress.resolve(peer: peer, realIP: headers.first(name: "X-Real-IP"),
                                                     forwardedFor: headers["X-Forwarded-For"]),
            userAgent: headers.first(name: "User-Agent") ?? "")
        if let hit = decision.hit { services.submit(hit) }

        // After a body or an upgrade the decoder no longer frames requests: close.
        let endsStream = headers.contains(name: "Transfer-Encoding") || headers.contains(name: "Upgrade")
            || request.method == .CONNECT
            || headers["Content-Length"].contains { $0.trimmingCharacters(in: .whitespaces) != "0" }
        let keepAlive = request.isKeepAlive && !endsStream
        let http10 = request.version.major == 1 && request.version.minor == 0
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
