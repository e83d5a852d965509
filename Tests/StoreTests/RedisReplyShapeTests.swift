import Foundation
import Testing
@testable import Store
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Replies read as shapes (``RedisConnection/pipelineShapes(_:)``): the same kinds, errors and
/// arrays as the full replies, and a connection that reads full replies again afterwards.
@Suite struct RedisReplyShapeTests {
    /// Every kind of reply, nested arrays and a transaction with an error at run time.
    static let commands: [[String]] = [
        ["PING"],
        ["SET", "s", "value"],
        ["GET", "s"],
        ["GET", "missing"],
        ["INCRBY", "n", "41"],
        ["LPUSH", "s", "x"],
        ["NOSUCHCOMMAND"],
        ["RPUSH", "l", "a", "", "c"],
        ["LRANGE", "l", "0", "-1"],
        ["LRANGE", "empty", "0", "-1"],
        ["XADD", "x", "1-1", "id", "e1", "json", "{}"],
        ["XADD", "x", "1-2", "id", "e2", "json", "{}"],
        ["XRANGE", "x", "-", "+"],
        ["MULTI"],
        ["XADD", "x", "*", "id", "e3", "json", "{}"],
        ["INCR", "s"],
        ["HSET", "h", "f", "v"],
        ["EXEC"],
    ]

    /// What `pipelineShapes` should give for a full reply.
    static func shape(of reply: RedisReply) -> RedisReplyShape {
        switch reply {
        case .status: return .status
        case .bulk: return .string
        case .integer: return .integer
        case .null: return .null
        case .error(let message): return .error(message)
        case .array(let elements): return .array(elements.map(shape(of:)))
        }
    }

    static func formatted(_ commands: [[String]]) -> RESPCommands {
        var formatted = RESPCommands()
        for command in commands { formatted.command(RedisCommand(redisArguments: command)) }
        return formatted
    }

    @Test func shapesAreTheFullRepliesWithoutTheirValues() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = RedisConnection(endpoint: server.endpoint())
        let full = try redis.pipeline(Self.formatted(Self.commands))
        _ = try redis.command(["FLUSHALL"])
        let shapes = try redis.pipelineShapes(Self.formatted(Self.commands))
        #expect(shapes == full.map(Self.shape(of:)))
        // Spot checks, so that the comparison cannot pass on two empty lists.
        #expect(shapes.count == Self.commands.count)
        #expect(shapes[6].errorMessage?.hasPrefix("ERR unknown command") == true)
        #expect(shapes[12] == .array([.array([.string, .array([.string, .string, .string, .string])]),
                                      .array([.string, .array([.string, .string, .string, .string])])]))
        #expect(shapes.last == .array([.string, .error("ERR value is not an integer or out of range"), .integer]))
        #expect(try redis.pipelineShapes(RESPCommands()) == [])
    }

    @Test func anExecAbortedByWatchIsNull() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = RedisConnection(endpoint: server.endpoint())
        let other = RedisConnection(endpoint: server.endpoint())
        _ = try redis.command(["WATCH", "k"])
        _ = try other.command(["SET", "k", "changed"])
        let shapes = try redis.pipelineShapes(Self.formatted([["MULTI"], ["SET", "k", "mine"], ["EXEC"]]))
        #expect(shapes == [.status, .status, .null])
        #expect(try redis.command(["GET", "k"]) == .bulk(Array("changed".utf8)))
    }

    @Test func theConnectionReadsFullRepliesAfterwards() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let redis = RedisConnection(endpoint: server.endpoint())
        _ = try redis.pipelineShapes(Self.formatted([["SET", "a", "1"], ["INCR", "a"]]))
        #expect(try redis.command(["GET", "a"]) == .bulk(Array("2".utf8)))
        #expect(try redis.pipeline(Self.formatted([["GET", "a"], ["LPUSH", "a", "x"]]))
                == [.bulk(Array("2".utf8)), .error("WRONGTYPE Operation against a key holding the wrong kind of value")])
        #expect(try redis.pipelineShapes(Self.formatted([["GET", "a"]])) == [.string])
    }

    /// A server that stops in the middle of an array: the partial shape is freed with the dead
    /// context (checked for leaks and bad frees by `make sanitize`), and the next call works.
    @Test func aReplyCutInTheMiddleOfAnArrayFailsCleanly() throws {
        let server = try ScriptedServer(answers: [
            Array("*3\r\n+QUEUED\r\n-ERR boom\r\n".utf8),                    // then closes
            Array("*2\r\n:1\r\n*2\r\n$3\r\nabc\r\n$-1\r\n".utf8),             // a whole reply
            Array("*2\r\n:1\r\n$3\r\nabc\r\n".utf8),
        ])
        defer { server.close() }
        let redis = RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: server.port,
                                                            connectTimeout: .seconds(5), ioTimeout: .seconds(5)))
        #expect(throws: RedisError.self) { try redis.pipelineShapes(Self.formatted([["EXEC"]])) }
        #expect(!redis.isConnected)
        #expect(try redis.pipelineShapes(Self.formatted([["EXEC"]])) == [.array([.integer, .array([.string, .null])])])
        redis.disconnect()
        #expect(try redis.pipeline(Self.formatted([["EXEC"]])) == [.array([.integer(1), .bulk(Array("abc".utf8))])])
    }
}

/// A loopback TCP server that answers its connections in turn, one scripted answer each: it
/// reads the request, writes the answer and closes the connection.
final class ScriptedServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)

    init(answers: [[UInt8]]) throws {
        port = try FreePort.next()
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw FixtureError("socket: \(errno)") }
        var address = FreePort.loopback(port: UInt16(port))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 4) == 0 else { throw FixtureError("bind/listen: \(errno)") }
        let listening = listener
        let done = self.done
        Thread {
            for answer in answers {
                let connection = accept(listening, nil, nil)
                guard connection >= 0 else { break }
                var request = [UInt8](repeating: 0, count: 4096)
                _ = read(connection, &request, request.count)
                _ = answer.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
                // Wait for the client to close; a reply cut short is followed by a close here.
                shutdown(connection, Int32(SHUT_WR))
                _ = read(connection, &request, request.count)
                Glibc.close(connection)
            }
            done.signal()
        }.start()
    }

    func close() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        _ = done.wait(timeout: .now() + 5)
    }
}
