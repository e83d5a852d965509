/// Where and how to reach Redis: address, credentials, database and the two time limits.
///
/// Both timeouts default to 200 ms because every caller sits on a latency-sensitive path
/// (the milter holds an SMTP transaction open, the tracker answers a pixel): a slow or dead
/// Redis must cost at most that much before the caller falls back to its spool.
public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// Host name or IP address (a name is resolved by the system resolver, outside the timeout),
    /// or the path of Redis' Unix socket when it starts with `/` (`port` is then unused): a
    /// local Redis that only the users its socket's mode lets in can reach.
    public var host: String
    public var port: Int
    /// Sent with `AUTH` right after connecting when set (`redis_password` in the configuration).
    public var password: String?
    /// Database selected with `SELECT` right after connecting when not 0.
    public var db: Int
    /// Upper bound for establishing the connection.
    public var connectTimeout: Duration
    /// Upper bound for each socket read or write once connected (`SO_RCVTIMEO`/`SO_SNDTIMEO`).
    public var ioTimeout: Duration

    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        password: String? = nil,
        db: Int = 0,
        connectTimeout: Duration = .milliseconds(200),
        ioTimeout: Duration = .milliseconds(200)
    ) {
        self.host = host
        self.port = port
        self.password = password
        self.db = db
        self.connectTimeout = connectTimeout
        self.ioTimeout = ioTimeout
    }

    /// The socket's path when ``host`` names a Unix socket.
    public var unixSocketPath: String? { host.hasPrefix("/") ? host : nil }

    /// `host:port/db` (`unix:path db N` for a socket), for messages and logs; never includes
    /// the password.
    public var description: String {
        if let unixSocketPath { return "unix:\(unixSocketPath) db \(db)" }
        return "\(host):\(port)/\(db)"
    }
}
