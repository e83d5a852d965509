import Foundation
import Testing
@testable import Store

@Suite struct DurableRedisWriterTests {
    /// `timeout` is Redis's connect and I/O timeout; timing checks are made relative to it.
    static func writer(_ server: RedisServer, spoolDirectory: String, timeout: Duration = .milliseconds(200)) throws -> DurableRedisWriter {
        let endpoint = server.endpoint(connectTimeout: timeout, ioTimeout: timeout)
        return DurableRedisWriter(spool: try Spool(directory: spoolDirectory)) { RedisConnection(endpoint: endpoint) }
    }

    static func push(_ value: String) -> [RedisCommand] {
        [RedisCommand(redisArguments: ["RPUSH", "log", value])]
    }

    static func log(_ server: RedisServer) throws -> [String] {
        try server.client().command(["LRANGE", "log", "0", "-1"]).array?.compactMap(\.string) ?? []
    }

    @Test func writesDirectlyWhenRedisIsUp() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let directory = try TemporaryDirectory.make(prefix: "writer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try Self.writer(server, spoolDirectory: directory)

        let record = EnrichmentRecord(trackingID: "aa", sender: "s@x.test", recipients: ["r@y.test"], sentAt: 1, linksWrapped: 2)
        #expect(try writer.submit(record.commands(ttlSeconds: 60)) == .written([.integer(6), .integer(1)]))
        #expect(try server.client().command(["HGET", "mt:msg:aa", "recipient"]) == .bulk(Array("r@y.test".utf8)))
        #expect(writer.spool.isEmpty)
        #expect(try writer.submit([]) == .written([]))
    }

    @Test func redisDownSpoolsThenReplaysAllInOrder() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let directory = try TemporaryDirectory.make(prefix: "writer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try Self.writer(server, spoolDirectory: directory)
        #expect(try writer.submit(Self.push("before")) == .written([.integer(1)]))
        server.stop()

        var outcomes: [DurableRedisWriter.SubmitOutcome] = []
        let seconds = try elapsed {
            for index in 0..<200 { outcomes.append(try writer.submit(Self.push(String(index)))) }
        }
        #expect(outcomes.first == .spooled(reason: .connectRefused(endpoint: server.endpoint().description)))
        #expect(outcomes.dropFirst().allSatisfy { $0 == .spooled(reason: nil) })
        #expect(seconds < 5)  // no connect attempt per batch: 200 appends, not 200 refusals
        try writer.syncSpool()

        // Still down: replay stops at once and keeps everything.
        let failed = try writer.replayIfPossible()
        #expect(failed.delivered == 0)
        #expect(failed.stoppedBy == .connectRefused(endpoint: server.endpoint().description))
        #expect(!writer.spool.isEmpty)

        try server.start()
        // Redis answers again, but older batches wait in the spool: new ones queue behind them.
        #expect(try writer.submit(Self.push("200")) == .spooled(reason: nil))
        let report = try writer.replayIfPossible()
        #expect(report.delivered == 201)
        #expect(report.stoppedBy == nil)
        #expect(report.rejected == 0 && report.undecodable == 0 && report.skippedBytes == 0)
        #expect(try Self.log(server) == (0...200).map(String.init))  // "before" died with the server
        #expect(writer.spool.isEmpty)
        #expect(try writer.submit(Self.push("direct")) == .written([.integer(202)]))
    }

    @Test func pausedRedisCostsAtMostTheTimeoutAndNothingIsLost() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let directory = try TemporaryDirectory.make(prefix: "writer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try Self.writer(server, spoolDirectory: directory, timeout: .seconds(2))
        #expect(try writer.submit([RedisCommand(redisArguments: ["SET", "warm", "1"])]) == .written([.status("OK")]))

        server.pause()
        var outcome: DurableRedisWriter.SubmitOutcome?
        let seconds = try elapsed {
            outcome = try writer.submit([RedisCommand(redisArguments: ["SET", "k", "v"]), RedisCommand(redisArguments: ["SADD", "ids", "e1"])])
        }
        #expect(outcome == .spooled(reason: .timeout(endpoint: server.endpoint().description)))
        #expect(seconds >= 1.9 && seconds < 6)  // the 2 s timeout, not a blocking read
        let later = try elapsed { outcome = try writer.submit([RedisCommand(redisArguments: ["SADD", "ids", "e2"])]) }
        #expect(outcome == .spooled(reason: nil))
        #expect(later < 1.5)  // straight to the spool (one append): no second wait for the timeout

        server.resume()
        let report = try writer.replayIfPossible()
        #expect(report.delivered == 2)
        #expect(try server.client().command(["GET", "k"]) == .bulk(Array("v".utf8)))
        #expect(try server.client().command(["SCARD", "ids"]) == .integer(2))
    }

    @Test func invalidBatchIsRejectedNotSpooled() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let directory = try TemporaryDirectory.make(prefix: "writer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try Self.writer(server, spoolDirectory: directory)
        let outcome = try writer.submit([RedisCommand(redisArguments: ["SET", "a", "1"]), RedisCommand(redisArguments: ["NOSUCHCOMMAND", "x"])])
        guard case .rejected(let message) = outcome else {
            Issue.record("expected a rejection, got \(outcome)")
            return
        }
        #expect(message.hasPrefix("ERR unknown command 'NOSUCHCOMMAND'"))
        #expect(try server.client().command(["GET", "a"]) == .null)  // MULTI/EXEC: nothing ran
        #expect(writer.spool.isEmpty)
    }

    @Test func runtimeErrorsComeBackInPlace() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let directory = try TemporaryDirectory.make(prefix: "writer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try Self.writer(server, spoolDirectory: directory)
        _ = try server.client().command(["SET", "str", "x"])
        let outcome = try writer.submit([RedisCommand(redisArguments: ["LPUSH", "str", "y"]), RedisCommand(redisArguments: ["INCR", "n"])])
        #expect(outcome == .written([.error("WRONGTYPE Operation against a key holding the wrong kind of value"), .integer(1)]))
    }

    @Test func outOfMemoryIsTransientAndReplayedLater() throws {
        let server = try RedisServer(["--maxmemory-policy", "noeviction"])
        defer { server.shutdown() }
        let directory = try TemporaryDirectory.make(prefix: "writer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try Self.writer(server, spoolDirectory: directory)
        let admin = server.client()
        _ = try admin.command(["CONFIG", "SET", "maxmemory", "1"])

        let outcome = try writer.submit(Self.push("kept"))
        guard case .spooled(let reason?) = outcome, case .server(_, let message) = reason else {
            Issue.record("expected an OOM spool, got \(outcome)")
            return
        }
        #expect(message.hasPrefix("OOM "))
        let blocked = try writer.replayIfPossible()
        #expect(blocked.delivered == 0)
        #expect(blocked.stoppedBy == reason)

        _ = try admin.command(["CONFIG", "SET", "maxmemory", "0"])
        #expect(try writer.replayIfPossible().delivered == 1)
        #expect(try Self.log(server) == ["kept"])
    }

    @Test func startupReplayDeliversWhatAPreviousRunSpooled() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let directory = try TemporaryDirectory.make(prefix: "writer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        server.stop()
        do {
            let first = try Self.writer(server, spoolDirectory: directory)
            for index in 0..<5 { try first.submit(Self.push("run1-\(index)")) }
            try first.spool.close()
        }
        try server.start()
        let endpoint = server.endpoint()
        let second = DurableRedisWriter(spool: try Spool.reopen(directory)) { RedisConnection(endpoint: endpoint) }
        #expect(!second.spool.isEmpty)
        #expect(try second.replayIfPossible().delivered == 5)
        #expect(try Self.log(server) == (0..<5).map { "run1-\($0)" })
    }

    @Test func undecodableSpoolRecordsAreCountedAndDropped() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let directory = try TemporaryDirectory.make(prefix: "writer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try Self.writer(server, spoolDirectory: directory)
        try writer.spool.append([9, 9, 9])
        try writer.spool.append(RedisCommandBatch(Self.push("ok")).encoded())
        let report = try writer.replayIfPossible()
        #expect(report.undecodable == 1)
        #expect(report.delivered == 1)
        #expect(try Self.log(server) == ["ok"])
    }

    @Test func concurrentSubmittersAllLand() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let directory = try TemporaryDirectory.make(prefix: "writer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try Self.writer(server, spoolDirectory: directory)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for index in 0..<50 {
                _ = try? writer.submit([RedisCommand(redisArguments: ["SADD", "all", "\(worker)-\(index)"])])
            }
        }
        #expect(try server.client().command(["SCARD", "all"]) == .integer(400))
    }

    @Test func replayLoopDeliversOnceRedisIsBack() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let directory = try TemporaryDirectory.make(prefix: "writer")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try Self.writer(server, spoolDirectory: directory)
        server.stop()
        for index in 0..<10 { try writer.submit(Self.push(String(index))) }

        let ticks = LockedBox(0)
        let loop = SpoolReplayLoop(writer: writer, interval: .milliseconds(50)) { _ in ticks.mutate { $0 += 1 } }
        loop.start()
        defer { loop.stop() }
        // Several ticks with Redis down keep everything in the spool.
        let ticked = Date(timeIntervalSinceNow: 10)
        while ticks.value < 3 && Date() < ticked { usleep(20_000) }
        #expect(ticks.value >= 3)
        #expect(!writer.spool.isEmpty)
        try server.start()
        let deadline = Date(timeIntervalSinceNow: 10)
        while !writer.spool.isEmpty && Date() < deadline { usleep(20_000) }
        #expect(writer.spool.isEmpty)
        #expect(try Self.log(server) == (0..<10).map(String.init))
        loop.stop()
        let stoppedAt = ticks.value
        usleep(120_000)
        #expect(ticks.value == stoppedAt)
    }

    @Test(.enabled(if: TmpfsMount.isAvailable, "needs permission to mount tmpfs"))
    func redisDownAndDiskFullIsReported() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let mount = try TmpfsMount(options: "size=16k")
        defer { mount.unmount() }
        let writer = try Self.writer(server, spoolDirectory: mount.path)
        server.stop()
        let big = [RedisCommand(redisArguments: ["SET", "k", String(repeating: "x", count: 3000)])]
        var failure: SpoolError?
        for _ in 0..<20 {
            do { try writer.submit(big) } catch { failure = error; break }
        }
        #expect(failure == .diskFull(path: mount.path + "/00000000000000000001.seg"))
    }
}
