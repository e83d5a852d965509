/// Why a Redis call failed. Every case names the endpoint (`host:port/db`) it concerns.
///
/// `connectRefused`, `connectTimeout`, `connectFailed`, `timeout` and `io` mean Redis is
/// unreachable or stalled: the connection has been dropped and the next call reconnects;
/// callers spool and retry later. `authFailed`, `authRequired` and `selectFailed` are
/// configuration mistakes. `server` is an error reply to a command on a healthy connection.
public enum RedisError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing listens on the address (ECONNREFUSED): answered at once.
    case connectRefused(endpoint: String)
    /// The TCP connection was not established within `connectTimeout`.
    case connectTimeout(endpoint: String)
    /// Any other connect failure (name resolution, unreachable network, bad port, ...).
    case connectFailed(endpoint: String, detail: String)
    /// The server did not answer within `ioTimeout`.
    case timeout(endpoint: String)
    /// A read or write failed, or the server closed the connection.
    case io(endpoint: String, detail: String)
    /// The server sent bytes that are not RESP.
    case protocolError(endpoint: String, detail: String)
    /// `AUTH` was rejected: wrong password, or a password configured for a server without one.
    case authFailed(endpoint: String, serverMessage: String)
    /// The server wants a password and none is configured (`NOAUTH`).
    case authRequired(endpoint: String)
    /// `SELECT` was rejected (database index out of range).
    case selectFailed(endpoint: String, db: Int, serverMessage: String)
    /// The server answered the command with an error reply (e.g. `WRONGTYPE ...`).
    case server(endpoint: String, message: String)

    /// True when the failure is about reaching Redis (worth a retry later), not about the
    /// command or the configuration.
    public var isConnectivity: Bool {
        switch self {
        case .connectRefused, .connectTimeout, .connectFailed, .timeout, .io, .protocolError:
            return true
        case .authFailed, .authRequired, .selectFailed, .server:
            return false
        }
    }

    /// True for mistakes in the configuration (`redis_password`, `redis_db`) that no retry
    /// fixes: worth telling the operator loudly, even while writes wait in the spool.
    public var isConfiguration: Bool {
        switch self {
        case .authFailed, .authRequired, .selectFailed:
            return true
        default:
            return false
        }
    }

    public var description: String {
        switch self {
        case .connectRefused(let endpoint):
            return "Redis at \(endpoint): connection refused (is redis-server running?)"
        case .connectTimeout(let endpoint):
            return "Redis at \(endpoint): connect timed out"
        case .connectFailed(let endpoint, let detail):
            return "Redis at \(endpoint): cannot connect: \(detail)"
        case .timeout(let endpoint):
            return "Redis at \(endpoint): no answer within the I/O timeout"
        case .io(let endpoint, let detail):
            return "Redis at \(endpoint): I/O error: \(detail)"
        case .protocolError(let endpoint, let detail):
            return "Redis at \(endpoint): protocol error: \(detail)"
        case .authFailed(let endpoint, let serverMessage):
            if Self.serverHasNoPassword(serverMessage) {
                return "Redis at \(endpoint) has no password but redis_password is set (it said: \(serverMessage)):"
                    + " empty redis_password, or set requirepass on the server"
            }
            return "Redis at \(endpoint) rejected redis_password (it said: \(serverMessage)):"
                + " set redis_password to the server's requirepass"
        case .authRequired(let endpoint):
            return "Redis at \(endpoint) requires a password (NOAUTH): set redis_password to the server's requirepass"
        case .selectFailed(let endpoint, let db, let serverMessage):
            return "Redis at \(endpoint): cannot select database \(db) (it said: \(serverMessage)):"
                + " set redis_db below the server's databases setting"
        case .server(let endpoint, let message):
            return "Redis at \(endpoint) answered with an error: \(message)"
        }
    }

    /// Redis' answers to `AUTH` on a server without a password (6.x and later; 5.x).
    private static func serverHasNoPassword(_ message: String) -> Bool {
        message.contains("without any password configured") || message.contains("no password is set")
    }
}
