import Store

extension Settings {
    /// The Redis server the settings name, with their timeouts (`redis_timeout` for I/O).
    public var redisEndpoint: RedisEndpoint { redisEndpoint(ioTimeout: redisTimeout) }

    /// The Redis server the settings name, with an I/O timeout of `seconds` (a program whose
    /// writes are off the mail path may allow longer than `redis_timeout`).
    public func redisEndpoint(ioTimeout seconds: Double) -> RedisEndpoint {
        RedisEndpoint(host: redisHost, port: redisPort, password: redisPassword.isEmpty ? nil : redisPassword,
                      db: redisDB,
                      connectTimeout: .milliseconds(Int64((redisConnectTimeout * 1000).rounded())),
                      ioTimeout: .milliseconds(Int64((seconds * 1000).rounded())))
    }

    public var keySchema: KeySchema { KeySchema(prefix: redisKeyPrefix) }

    /// A program's own spool under `spool_directory` (`milter`, `tracker`, `feed`): each
    /// program replays only what it wrote, so they can share one directory setting.
    public func spoolPath(for program: String) -> String {
        spoolDirectory + "/" + program
    }

    /// A program's own spool, created when missing; the error names the directory, the cause
    /// and the fix (see ``StartupError/spool(_:spoolDirectory:)``).
    public func openSpool(program: String) throws(StartupError) -> Spool {
        do {
            return try Spool(directory: spoolPath(for: program))
        } catch {
            throw .spool(error, spoolDirectory: spoolDirectory)
        }
    }

    /// The durable writer a program uses: Redis with the configured timeouts, backed by
    /// its own spool. Creates the spool directory when missing. `maxIdleConnections`: how many
    /// Redis connections stay open between writes; with one per concurrent writer, none is
    /// ever reconnected.
    public func durableWriter(program: String, maxIdleConnections: Int = 4) throws(StartupError) -> DurableRedisWriter {
        let spool = try openSpool(program: program)
        let endpoint = redisEndpoint
        return DurableRedisWriter(spool: spool, maxIdleConnections: maxIdleConnections) { RedisConnection(endpoint: endpoint) }
    }
}
