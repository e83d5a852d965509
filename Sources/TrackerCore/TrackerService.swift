import Config
import Logging
import NIOCore
import NIOPosix
import Store

/// The whole tracker: the HTTP server, the event writer behind it, and their metrics.
///
/// `start()` opens the spool (replaying what an earlier run left there), then listens.
/// `shutdown()` stops accepting, finishes open answers, drains the event queue to Redis
/// or the spool, fsyncs the spool and stops the threads. `mailtrail-tracker` calls it on
/// SIGTERM; tests run several services in one process.
public final class TrackerService: @unchecked Sendable {
    public let configuration: TrackerConfiguration
    public let metrics: TrackerMetrics
    public let writer: EventWriter
    private let group: MultiThreadedEventLoopGroup
    private let server: TrackerServer
    private let logger: Logger
    private var address: SocketAddress?

    /// Prepares the service; fails when the spool directory cannot be used.
    public init(configuration: TrackerConfiguration, logger: Logger) throws(StartupError) {
        self.configuration = configuration
        self.logger = logger
        let spool: Spool
        do {
            spool = try Spool(directory: configuration.spoolDirectory)
        } catch {
            throw .spool(error, spoolDirectory: configuration.spoolParent)
        }
        let metrics = TrackerMetrics()
        self.metrics = metrics
        let writer = EventWriter(configuration: configuration, spool: spool, metrics: metrics, logger: logger)
        self.writer = writer
        group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        let services = TrackerHTTPHandler.Services(
            router: RequestRouter(keyRing: configuration.keyRing, linkLifetime: configuration.linkLifetime),
            clientAddress: ClientAddress(trustedProxies: configuration.trustedProxies),
            metrics: metrics,
            submit: { writer.submit($0) },
            exposition: { metrics.exposition(queueDepth: writer.waitingHits, spoolBytes: writer.spoolPendingBytes) })
        server = TrackerServer(configuration: configuration, services: services, group: group)
    }

    /// Starts the listener, then the event writer (hits taken meanwhile wait in its queue),
    /// then checks Redis (a wrong `redis_password` is said at once); returns the port listened
    /// on. Fails, having started nothing, when the address cannot be listened on.
    @discardableResult
    public func start() throws(StartupError) -> Int {
        let bound: SocketAddress
        do {
            bound = try server.start()
        } catch {
            try? group.syncShutdownGracefully()
            let code = (error as? IOError)?.errnoCode
            throw .cannotListen(on: ConfigValue.hostPortText((configuration.listenHost, configuration.listenPort)),
                                parameter: "tracker_listen", program: "mailtrail-tracker",
                                reason: code.map { String(cString: strerror($0)) } ?? "\(error)",
                                addressInUse: code == EADDRINUSE)
        }
        address = bound
        writer.start()
        writer.checkRedis()
        logger.info("listening", metadata: [
            "address": "\(bound)", "threads": "\(configuration.threads)",
            "redis": "\(configuration.redisEndpoint)", "spool": "\(configuration.spoolDirectory)"])
        return bound.port ?? configuration.listenPort
    }

    /// The address listened on, once started.
    public var localAddress: SocketAddress? { address }

    /// Graceful stop (see the type's description). `gracePeriod`: seconds open connections get.
    public func shutdown(gracePeriod: Double = 5) {
        logger.info("stopping: no new connections, finishing open answers")
        server.stop(gracePeriod: gracePeriod)
        writer.stop()
        do {
            try group.syncShutdownGracefully()
        } catch {
            logger.error("event loops did not stop cleanly", metadata: ["error": "\(error)"])
        }
        logger.info("stopped")
    }
}
