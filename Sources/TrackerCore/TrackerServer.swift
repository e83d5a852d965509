import Foundation
import NIOCore
import NIOPosix
import Rewrite

/// The HTTP/1.1 listener: one channel pipeline per connection,
///
/// ``RequestGate`` (framing, limits, timeouts, parsing) → ``TrackerHTTPHandler`` (which
/// writes its answers as bytes),
///
/// and a graceful stop: no new connections, idle ones closed, in-flight answers finished.
public final class TrackerServer: @unchecked Sendable {
    private let configuration: TrackerConfiguration
    private let services: TrackerHTTPHandler.Services
    private let group: EventLoopGroup
    private var serverChannel: Channel?

    private let channelsLock = NSLock()
    private var channels: [ObjectIdentifier: Channel] = [:]

    init(configuration: TrackerConfiguration, services: TrackerHTTPHandler.Services, group: EventLoopGroup) {
        self.configuration = configuration
        self.services = services
        self.group = group
    }

    /// Binds and starts accepting; returns the bound address.
    func start() throws -> SocketAddress {
        let limits = RequestGate.Limits(
            requestLine: configuration.maxRequestLineLength,
            headerBlock: configuration.maxHeaderBlockSize,
            headerTimeout: Self.amount(configuration.headerTimeout),
            idleTimeout: Self.amount(configuration.idleTimeout))
        let services = self.services
        let inflaters = LoopInflaters(group: group)

        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 16 * 1024, high: 64 * 1024))
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 4096, maximum: 32 * 1024))
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let state = ConnectionState()
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(RequestGate(limits: limits, state: state) { status in
                        services.metrics.countRequest(route: .other, status: status)
                    })
                    try pipeline.addHandler(TrackerHTTPHandler(services: services, state: state,
                                                               inflater: inflaters.inflater(for: channel.eventLoop)))
                    self?.register(channel)
                }
            }
        let channel = try bootstrap.bind(host: configuration.listenHost, port: configuration.listenPort).wait()
        serverChannel = channel
        guard let address = channel.localAddress else { throw TrackerServerError.noLocalAddress }
        return address
    }

    /// Stops accepting, lets open connections finish their current answer (idle ones close at
    /// once), and closes whatever is still open after `gracePeriod` seconds.
    func stop(gracePeriod: Double) {
        try? serverChannel?.close().wait()
        let open = openChannels()
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let deadline = Date(timeIntervalSinceNow: gracePeriod)
        while !openChannels().isEmpty, Date() < deadline {
            usleep(10_000)
        }
        for channel in openChannels() {
            channel.close(promise: nil)
        }
    }

    private func register(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        channelsLock.lock()
        channels[id] = channel
        channelsLock.unlock()
        channel.closeFuture.whenComplete { [weak self] _ in
            guard let self else { return }
            self.channelsLock.lock()
            self.channels[id] = nil
            self.channelsLock.unlock()
        }
    }

    private func openChannels() -> [Channel] {
        channelsLock.lock()
        defer { channelsLock.unlock() }
        return Array(channels.values)
    }

    static func amount(_ seconds: Double) -> TimeAmount {
        .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}

/// One link-destination inflater per event loop, made when the server starts; each is used
/// only by the connections of its loop, hence only by the loop's thread.
struct LoopInflaters: @unchecked Sendable {
    private let inflaters: [ObjectIdentifier: RawDeflate.Inflater]

    init(group: EventLoopGroup) {
        var inflaters: [ObjectIdentifier: RawDeflate.Inflater] = [:]
        for loop in group.makeIterator() {
            inflaters[ObjectIdentifier(loop)] = TrackingToken.makeInflater()
        }
        self.inflaters = inflaters
    }

    /// `loop`'s inflater; a loop outside the group (none in practice) gets one of its own.
    func inflater(for loop: EventLoop) -> RawDeflate.Inflater {
        inflaters[ObjectIdentifier(loop)] ?? TrackingToken.makeInflater()
    }
}

enum TrackerServerError: Error, CustomStringConvertible {
    case noLocalAddress

    var description: String { "the listening socket has no local address" }
}
