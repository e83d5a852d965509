import Foundation
import Testing
@testable import Store
#if canImport(Glibc)
import Glibc
#endif

@Suite struct RedisConnectionTests {
    @Test func commandRoundTripsAndReplyKinds() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = RedisConnection(endpoint: server.endpoint())
        #expect(try redis.command(["PING"]) == .status("PONG"))
        #expect(try redis.command(["SET", "greeting", "hello"]) == .status("OK"))
        #expect(try redis.command(["GET", "greeting"]) == .bulk(Array("hello".utf8)))
        #expect(try redis.command(["GET", "missing"]) == .null)
        #expect(try redis.command(["INCRBY", "counter", "41"]) == .integer(41))
        #expect(try redis.command(["RPUSH", "list", "a", "", "c"]) == .integer(3))
        #expect(try redis.command(["LRANGE", "list", "0", "-1"])
                == .array([.bulk(Array("a".utf8)), .bulk([]), .bulk(Array("c".utf8))]))
        #expect(try redis.command(["HSET", "h", "f", "v"]) == .integer(1))
        #expect(try redis.command(["HGETALL", "h"]).fieldMap == ["f": Array("v".utf8)])
    }

    @Test func errorReplyIsThrownAndConnectionSurvives() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = RedisConnection(endpoint: server.endpoint())
        _ = try redis.command(["SET", "s", "x"])
        #expect(throws: RedisError.server(endpoint: server.endpoint().description,
                                          message: "WRONGTYPE Operation against a key holding the wrong kind of value")) {
            try redis.command(["LPUSH", "s", "y"])
        }
        #expect(redis.isConnected)
        #expect(try redis.command(["GET", "s"]) == .bulk(Array("x".utf8)))
    }

    @Test func pipelineReturnsRepliesInOrderWithErrorsInPlace() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = RedisConnection(endpoint: server.endpoint())
        let replies = try redis.pipeline([
            .init(redisArguments: ["SET", "a", "1"]),
            .init(redisArguments: ["INCR", "a"]),
            .init(redisArguments: ["GET", "a"]),
            .init(redisArguments: ["LPUSH", "a", "x"]),
            .init(redisArguments: ["GET", "nothing"]),
        ])
        #expect(replies == [
            .status("OK"),
            .integer(2),
            .bulk(Array("2".utf8)),
            .error("WRONGTYPE Operation against a key holding the wrong kind of value"),
            .null,
        ])
        #expect(try redis.pipeline([]) == [])
    }

    @Test func formattedPipelineGivesTheSameReplies() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = RedisConnection(endpoint: server.endpoint())
        var commands = RESPCommands()
        for command in [["SET", "a", "1"], ["INCR", "a"], ["GET", "a"], ["LPUSH", "a", "x"], ["GET", "nothing"]] {
            commands.command(RedisCommand(redisArguments: command))
        }
        commands.begin(3)
        commands.argument("SET")
        commands.argument([0x6B, 0x00, 0x0D, 0x0A])
        commands.argument((0...255).map { UInt8($0) })
        #expect(try redis.pipeline(commands) == [
            .status("OK"),
            .integer(2),
            .bulk(Array("2".utf8)),
            .error("WRONGTYPE Operation against a key holding the wrong kind of value"),
            .null,
            .status("OK"),
        ])
        #expect(try redis.command([Array("GET".utf8), [0x6B, 0x00, 0x0D, 0x0A]]) == .bulk((0...255).map { UInt8($0) }))
        #expect(try redis.pipeline(RESPCommands()) == [])
    }

    @Test func largePipelineIsOneBatch() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = RedisConnection(endpoint: server.endpoint())
        let commands = (0..<5_000).map { RedisCommand(redisArguments: ["RPUSH", "big", String($0)]) }
        let replies = try redis.pipeline(commands)
        #expect(replies.count == 5_000)
        #expect(replies.last == .integer(5_000))
        #expect(try redis.command(["LINDEX", "big", "4321"]) == .bulk(Array("4321".utf8)))
    }

    @Test func valuesAndKeysAreBinarySafe() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = RedisConnection(endpoint: server.endpoint())
        let key: [UInt8] = [0x6B, 0x00, 0x0D, 0x0A, 0xFF]
        let value = (0...255).map { UInt8($0) } + [0, 0, 13, 10, 36, 42]
        #expect(try redis.command([Array("SET".utf8), key, value]) == .status("OK"))
        #expect(try redis.command([Array("GET".utf8), key]) == .bulk(value))
        #expect(try redis.command([Array("STRLEN".utf8), key]) == .integer(262))
        #expect(try redis.command([Array("SET".utf8), Array("empty".utf8), []]) == .status("OK"))
        #expect(try redis.command(["GET", "empty"]) == .bulk([]))
    }

    @Test func selectsTheConfiguredDatabase() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let inThree = RedisConnection(endpoint: server.endpoint(db: 3))
        _ = try inThree.command(["SET", "where", "three"])
        #expect(try server.client(db: 0).command(["GET", "where"]) == .null)
        #expect(try server.client(db: 3).command(["GET", "where"]) == .bulk(Array("three".utf8)))

        let outOfRange = RedisConnection(endpoint: server.endpoint(db: 99))
        #expect(throws: RedisError.selectFailed(endpoint: "127.0.0.1:\(server.port)/99", db: 99,
                                                serverMessage: "ERR DB index is out of range")) {
            try outOfRange.command(["PING"])
        }
        #expect(!outOfRange.isConnected)
    }

    @Test func wrongPasswordGivesTheClearError() throws {
        let server = try RedisServer(["--requirepass", "s3cret"])
        defer { server.shutdown() }
        let wrong = RedisConnection(endpoint: server.endpoint(password: "nope"))
        do {
            _ = try wrong.command(["PING"])
            Issue.record("AUTH with a wrong password succeeded")
        } catch {
            #expect(error == .authFailed(endpoint: "127.0.0.1:\(server.port)/0",
                                         serverMessage: "WRONGPASS invalid username-password pair or user is disabled."))
            #expect(error.description == "Redis at 127.0.0.1:\(server.port)/0 rejected redis_password (it said: "
                    + "WRONGPASS invalid username-password pair or user is disabled.): "
                    + "set redis_password to the server's requirepass")
            #expect(!error.isConnectivity)
            #expect(error.isConfiguration)
        }

        let none = RedisConnection(endpoint: server.endpoint())
        #expect(throws: RedisError.authRequired(endpoint: "127.0.0.1:\(server.port)/0")) {
            try none.command(["PING"])
        }
        #expect(RedisError.authRequired(endpoint: "127.0.0.1:\(server.port)/0").description
                == "Redis at 127.0.0.1:\(server.port)/0 requires a password (NOAUTH): set redis_password to the server's requirepass")

        let right = RedisConnection(endpoint: server.endpoint(password: "s3cret", db: 2))
        #expect(try right.command(["SET", "k", "v"]) == .status("OK"))
        #expect(try server.client(db: 2, password: "s3cret").command(["GET", "k"]) == .bulk(Array("v".utf8)))
    }

    @Test func passwordForAServerWithoutOneIsAnAuthFailure() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = RedisConnection(endpoint: server.endpoint(password: "unexpected"))
        #expect {
            try redis.command(["PING"])
        } throws: { error in
            guard let error = error as? RedisError, case .authFailed(_, let message) = error else { return false }
            return message.hasPrefix("ERR AUTH <password> called without any password configured")
                && error.description.hasPrefix("Redis at 127.0.0.1:\(server.port)/0 has no password but redis_password is set (it said: ERR AUTH")
                && error.description.hasSuffix("): empty redis_password, or set requirepass on the server")
        }
    }

    @Test func stoppedServerIsRefusedFastThenReconnectsAfterRestart() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        // A long connect timeout: "refused fast" means not waiting for it, on any machine.
        let redis = RedisConnection(endpoint: server.endpoint(connectTimeout: .seconds(10)))
        _ = try redis.command(["SET", "before", "1"])
        server.stop()

        let (failure, seconds) = timedFailure { try redis.command(["PING"]) }
        #expect(failure == .connectRefused(endpoint: "127.0.0.1:\(server.port)/0"))
        #expect(failure?.isConnectivity == true)
        #expect(seconds < 5)
        #expect(!redis.isConnected)

        try server.start()
        #expect(try redis.command(["GET", "before"]) == .null)  // --save '': a restart starts empty
        #expect(try redis.command(["SET", "after", "2"]) == .status("OK"))
    }

    @Test func idleConnectionClosedByTheServerIsReplacedTransparently() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = RedisConnection(endpoint: server.endpoint())
        _ = try redis.command(["CLIENT", "SETNAME", "victim"])
        _ = try server.client().command(["CLIENT", "KILL", "SKIPME", "yes", "TYPE", "normal"])
        usleep(20_000)
        #expect(try redis.command(["PING"]) == .status("PONG"))

        server.stop()
        try server.start()
        #expect(try redis.command(["PING"]) == .status("PONG"))
    }

    @Test func pausedServerTimesOutWithinTheIOTimeout() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        // A 1 s timeout against the default 10 s of a blocking read: the bounds below hold on
        // a slow or busy machine and still tell the timeout was applied.
        let redis = RedisConnection(endpoint: server.endpoint(connectTimeout: .seconds(1), ioTimeout: .seconds(1)))
        _ = try redis.command(["PING"])
        server.pause()
        defer { server.resume() }

        let (failure, seconds) = timedFailure { try redis.command(["PING"]) }
        #expect(failure == .timeout(endpoint: "127.0.0.1:\(server.port)/0"))
        #expect(seconds >= 0.9 && seconds < 4)
        #expect(!redis.isConnected)

        // The fresh context made by the next call must have its I/O timeout applied too.
        let again = timedFailure { try redis.pipeline([RedisCommand(redisArguments: ["PING"])]) }
        #expect(again.error == .timeout(endpoint: "127.0.0.1:\(server.port)/0"))
        #expect(again.seconds < 4)

        server.resume()
        #expect(try redis.command(["PING"]) == .status("PONG"))
    }

    @Test func timeoutsStillApplyAfterAReconnect() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = RedisConnection(endpoint: server.endpoint(connectTimeout: .seconds(1), ioTimeout: .seconds(1)))
        _ = try redis.command(["PING"])
        server.stop()
        try server.start()
        _ = try redis.command(["PING"])  // a new context
        server.pause()
        defer { server.resume() }
        let (failure, seconds) = timedFailure { try redis.command(["PING"]) }
        #expect(failure == .timeout(endpoint: "127.0.0.1:\(server.port)/0"))
        #expect(seconds >= 0.9 && seconds < 4)
    }

    @Test func connectTimesOutAgainstAListenerThatNeverAccepts() throws {
        let listener = try BacklogFullListener()
        defer { listener.close() }
        let redis = RedisConnection(endpoint: RedisEndpoint(port: listener.port, connectTimeout: .seconds(1)))
        let (failure, seconds) = timedFailure { try redis.command(["PING"]) }
        #expect(failure == .connectTimeout(endpoint: "127.0.0.1:\(listener.port)/0"))
        #expect(seconds >= 0.9 && seconds < 4)
    }

    @Test func invalidPortIsAConnectFailure() {
        let redis = RedisConnection(endpoint: RedisEndpoint(port: 70_000))
        #expect(throws: RedisError.connectFailed(endpoint: "127.0.0.1:70000/0", detail: "port 70000 is out of range")) {
            try redis.command(["PING"])
        }
    }

    @Test func unixSocketCarriesCommandsPipelinesAndReconnects() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let endpoint = server.socketEndpoint(connectTimeout: .seconds(10))
        #expect(endpoint.unixSocketPath == server.socketPath)
        #expect(endpoint.description == "unix:\(server.socketPath) db 0")
        let redis = RedisConnection(endpoint: endpoint)
        #expect(try redis.command(["SET", "k", "v"]) == .status("OK"))
        #expect(try redis.pipeline([RedisCommand(redisArguments: ["GET", "k"]), RedisCommand(redisArguments: ["INCR", "n"])])
                == [.bulk(Array("v".utf8)), .integer(1)])
        // Over TCP the same server holds the same data.
        #expect(try server.client().command(["GET", "k"]) == .bulk(Array("v".utf8)))
        #expect(try redis.command(["CLIENT", "INFO"]).string?.contains("addr=\(server.socketPath)") == true)

        // Killed, the socket file stays behind: connecting is refused at once, not timed out.
        server.stop()
        let (failure, seconds) = timedFailure { try redis.command(["PING"]) }
        #expect(failure == .connectRefused(endpoint: endpoint.description))
        #expect(seconds < 5)
        try server.start()
        #expect(try redis.command(["PING"]) == .status("PONG"))
    }

    @Test func missingUnixSocketIsAConnectivityFailure() {
        let endpoint = RedisEndpoint(host: "/nonexistent/mailtrail-test/redis.sock")
        let (failure, seconds) = timedFailure { try RedisConnection(endpoint: endpoint).command(["PING"]) }
        #expect(failure == .connectFailed(endpoint: "unix:/nonexistent/mailtrail-test/redis.sock db 0", detail: "No such file or directory"))
        #expect(failure?.isConnectivity == true)  // writes go to the spool until the socket appears
        #expect(seconds < 1)
    }

    @Test func overlongUnixSocketPathIsRefusedNotCut() {
        #expect(RedisConnection.maxSocketPathLength == 108)
        let path = "/tmp/" + String(repeating: "s", count: 103)  // 108 bytes: no room for the NUL
        #expect(throws: RedisError.connectFailed(endpoint: "unix:\(path) db 0", detail: "the socket path is longer than 107 bytes")) {
            try RedisConnection(endpoint: RedisEndpoint(host: path)).command(["PING"])
        }
    }

    @Test func endpointDescriptionHidesThePassword() {
        let endpoint = RedisEndpoint(host: "10.0.0.5", port: 6380, password: "hunter2", db: 4)
        #expect(endpoint.description == "10.0.0.5:6380/4")
        #expect(RedisEndpoint() == RedisEndpoint(host: "127.0.0.1", port: 6379, password: nil, db: 0,
                                                  connectTimeout: .milliseconds(200), ioTimeout: .milliseconds(200)))
    }
}

/// A loopback listener whose accept queue is full, so further connects hang in SYN-SENT.
final class BacklogFullListener {
    let port: Int
    private var descriptors: [Int32] = []

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw FixtureError("socket: \(errno)") }
        descriptors.append(listener)
        var address = FreePort.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 0) == 0 else { throw FixtureError("bind/listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        // Fill the accept queue (backlog 0 admits one) with non-blocking connects.
        var target = FreePort.loopback(port: UInt16(port))
        for _ in 0..<3 {
            let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard client >= 0 else { throw FixtureError("socket: \(errno)") }
            descriptors.append(client)
            _ = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            usleep(20_000)
        }
    }

    func close() {
        for descriptor in descriptors { _ = Glibc.close(descriptor) }
        descriptors.removeAll()
    }
}
