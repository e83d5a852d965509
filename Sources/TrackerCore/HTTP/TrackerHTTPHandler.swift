import Config
import Foundation
import NIOCore
import NIOHTTP1

/// Answers each request as the ``RequestRouter`` decides, hands recorded hits to the event
/// pipeline (never waiting for it), and counts every answer.
///
/// Requests are answered as soon as their head arrives; keep-alive and pipelining follow
/// the client (`HTTPServerPipelineHandler` keeps answers in order). A request that
/// announces a body, asks for `Connection: close` or is HTTP/1.0 without keep-alive gets
/// `Connection: close`, and the connection is closed once the answer is written.
final class TrackerHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

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
        if event is IdleStateHandler.IdleStateEvent {
            state.closing = true
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is HTTPParserError {
            // HTTPServerProtocolErrorHandler has answered 400 (unless an answer was under way).
            services.metrics.countRequest(route: .other, status: 400)
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

        var response = TrackerResponses.response(for: decision.answer, metrics: services.exposition)
        let announcesBody = headers.contains(name: "Transfer-Encoding")
            || headers["Content-Length"].contains { $0.trimmingCharacters(in: .whitespaces) != "0" }
        let keepAlive = request.isKeepAlive && !announcesBody
        if !keepAlive {
            response.headers.replaceOrAdd(name: "Connection", value: "close")
        } else if request.version.minor == 0 {
            response.headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        services.metrics.countRequest(route: decision.route, status: Int(response.status.code))

        let version = request.version.major == 1 ? request.version : .http1_1
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: response.headers))), promise: nil)
        if method != .head, response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        if keepAlive {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            state.closing = true
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
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
