import Config
import Rewrite
import NIOCore
import Store

/// Everything the tracker needs at run time, resolved from ``Settings`` once at start-up.
public struct TrackerConfiguration: Sendable {
    /// Address and port to listen on (port 0 picks a free port, for tests).
    public var listenHost: String
    public var listenPort: Int
    /// Event-loop threads; at least 1.
    public var threads: Int
    public var keyRing: KeyRing
    /// Peers whose `X-Real-IP` / `X-Forwarded-For` are believed.
    public var trustedProxies: [NetworkRange]
    /// Clicks on links issued longer ago than this get 404; nil: links never expire.
    public var linkLifetime: Double?
    /// Idle keep-alive connections, and clients that stop reading, are closed after this.
    public var idleTimeout: Double
    /// A request head must arrive completely within this; otherwise 408.
    public var headerTimeout: Double
    /// Longest request line (method, target, version); longer gets 414.
    public var maxRequestLineLength: Int
    /// Largest header block after the request line; larger gets 431.
    public var maxHeaderBlockSize: Int
    /// Hits held in memory on their way to Redis.
    public var queueCapacity: Int
    /// Events per Redis transaction at most. Redis runs a transaction without serving anyone
    /// else, and it and the writer each spend it as one burst of CPU: 256 events keep that
    /// under a millisecond, so the milter's enrichment writes (which have `redis_timeout` on
    /// the mail path) never wait long behind one, and the event loops sharing the cores with
    /// Redis and the writer get them back soon. bench/tracker on 2 cores, same runs: the
    /// tracker's p99 was 6.8–7.5 ms with 1 024, 4.7–5.8 ms with 512, 3.8–5.2 ms with 256 and
    /// 3.4–5.3 ms with 128, at the same request rate. (With 4 096 it saw stalls of up to 56 ms
    /// inside one batch, and a batch past `tracker_redis_timeout` sent the tracker to the spool.)
    public var batchSize: Int
    public var redisEndpoint: RedisEndpoint
    public var keySchema: KeySchema
    /// The approximate cap of the event stream (`XTRIM … MAXLEN ~`, once per batch).
    public var eventsMaxLength: Int
    /// Lifetime given to an enrichment hash the tracker's counters create (seconds).
    public var messageTTL: Int
    /// The tracker's own spool directory.
    public var spoolDirectory: String
    /// The configured `spool_directory` it lies in (named in error messages).
    public var spoolParent: String

    /// The configuration the settings describe. Fails only for a `trusted_proxies` entry that
    /// `Settings` let through unparsed (it validates them, so this does not happen in practice).
    public init(settings: Settings, keyRing: KeyRing) throws(ConfigError) {
        listenHost = settings.trackerListen.host
        listenPort = settings.trackerListen.port
        threads = settings.trackerThreads > 0 ? settings.trackerThreads : System.coreCount
        self.keyRing = keyRing
        var proxies: [NetworkRange] = []
        for entry in settings.trustedProxies {
            do {
                proxies.append(try NetworkRange(parsing: entry))
            } catch {
                throw ConfigError(source: "configuration", key: "trusted_proxies", message: error.message)
            }
        }
        trustedProxies = proxies
        linkLifetime = settings.linkLifetime > 0 ? settings.linkLifetime : nil
        idleTimeout = settings.trackerIdleTimeout > 0 ? settings.trackerIdleTimeout : 30
        headerTimeout = settings.trackerHeaderTimeout
        maxRequestLineLength = settings.trackerMaxURILength
        maxHeaderBlockSize = settings.trackerMaxHeaderSize
        queueCapacity = settings.eventQueueSize
        batchSize = 256
        // Off the request path, a slow round trip only lets hits wait in the queue; spooling
        // after the milter's short `redis_timeout` would send them through the disk for
        // every Redis hiccup under load.
        redisEndpoint = settings.redisEndpoint(ioTimeout: settings.trackerRedisTimeout)
        keySchema = settings.keySchema
        eventsMaxLength = settings.eventsMaxLength
        messageTTL = max(1, Int(settings.messageTTL.rounded()))
        spoolDirectory = settings.spoolPath(for: "tracker")
        spoolParent = settings.spoolDirectory
    }
}
