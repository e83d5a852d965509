import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 endpoint for a program with no HTTP server of its own (the milter):
/// `GET|HEAD /metrics` answers the Prometheus text exposition, `/healthz` answers `ok`, any
/// other path 404 and any other method 405. One request per connection (`Connection: close`);
/// a connection idle for ``idleTimeout`` is closed.
///
/// Opening and serving are separate steps: ``bind()`` takes the address without starting a
/// thread, so a daemon reports an address in use on the terminal, then detaches (a fork keeps
/// no threads), then calls ``start()``.
public final class MetricsServer: @unchecked Sendable {
    /// Why the address could not be taken.
    public struct BindError: Error, CustomStringConvertible, Sendable {
        /// The failed system call's errno (0 when the address itself is not usable).
        public var code: Int32
        public var reason: String
        public var addressInUse: Bool { code == EADDRINUSE }
        public var description: String { reason }
    }

    public let host: String
    public let port: Int
    /// Connections without a complete request for this long are closed.
    public var idleTimeout: TimeAmount = .seconds(10)
    private let exposition: @Sendable () -> [UInt8]
    private var descriptor: Int32 = -1
    private var group: MultiThreadedEventLoopGroup?
    private var channel: Channel?

    /// `exposition` renders the metrics; it is called on the server's thread for each scrape.
    public init(host: String, port: Int, exposition: @escaping @Sendable () -> [UInt8]) {
        self.host = host
        self.port = port
        self.exposition = exposition
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Binds the listening address (`SO_REUSEADDR`, close-on-exec); returns the port bound
    /// (the chosen one when `port` is 0). Starts no thread.
    @discardableResult
    public func bind() throws(BindError) -> Int {
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            throw BindError(code: 0, reason: "not an address: \(error)")
        }
        let fd = socket(Int32(address.protocol.rawValue), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Self.failure(errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockAddr { Glibc.bind(fd, $0, socklen_t($1)) }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw Self.failure(code)
        }
        descriptor = fd
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return port }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
        default:
            return port
        }
    }

    /// Starts serving on the bound socket (binding first if ``bind()`` was not called).
    public func start() throws {
        if descriptor < 0 { try bind() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let exposition = self.exposition
        let idle = idleTimeout
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(IdleStateHandler(allTimeout: idle))
                    try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
                    try pipeline.addHandler(MetricsRequestHandler(exposition: exposition))
                }
            }
        do {
            channel = try bootstrap.withBoundSocket(descriptor).wait()
            descriptor = -1  // the channel owns it now
            self.group = group
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    /// Stops accepting, closes the socket and the thread.
    public func stop() {
        try? channel?.close().wait()
        channel = nil
        try? group?.syncShutdownGracefully()
        group = nil
    }

    /// The answer to a request for `target` with `method` (`GET`, `HEAD`, …).
    public static func response(method: String, target: String, exposition: () -> [UInt8]) -> HTTPResponse {
        guard method == "GET" || method == "HEAD" else {
            return .text(status: "405 Method Not Allowed", "405 Method Not Allowed\n", extraHeaders: [("Allow", "GET, HEAD")])
        }
        switch target.prefix(while: { $0 != "?" }) {
        case "/metrics": return .metrics(exposition())
        case "/healthz": return .text(status: "200 OK", "ok\n")
        default: return .text(status: "404 Not Found", "404 Not Found\n")
        }
    }

    private static func failure(_ code: Int32) -> BindError {
        BindError(code: code, reason: String(cString: strerror(code)))
    }
}

/// Answers the one request of a connection, then closes it.
final class MetricsRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    private let exposition: @Sendable () -> [UInt8]
    private var answered = false

    init(exposition: @escaping @Sendable () -> [UInt8]) {
        self.exposition = exposition
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data), !answered else { return }
        answered = true
        let response = MetricsServer.response(method: request.method.rawValue, target: request.uri, exposition: exposition)
        let http10 = request.version.major == 1 && request.version.minor == 0
        respond(response.bytes(http10: http10, connection: .close, head: request.method == .HEAD), context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard error is HTTPParserError, !answered else {
            context.close(promise: nil)
            return
        }
        answered = true
        respond(HTTPResponse.text(status: "400 Bad Request", "400 Bad Request\n").bytes(connection: .close), context: context)
    }

    private func respond(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(bytes)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
