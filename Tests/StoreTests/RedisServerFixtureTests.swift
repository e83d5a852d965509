import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The throwaway `redis-server` of the Swift tests behaves like one started from a shell: it
/// stops on SIGTERM, so one left over by an interrupted run is stopped the usual way.
@Suite struct RedisServerFixtureTests {
    /// The signals a process blocks (`SigBlk`) or ignores (`SigIgn`), from /proc.
    static func signalSet(_ field: String, of pid: Int32) throws -> UInt64 {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix(field + ":") })
        return try #require(UInt64(line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces), radix: 16))
    }

    /// One-letter process state from /proc/PID/stat ("Z" once it has exited and is unreaped).
    static func state(of pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: end)...].split(separator: " ").first.map(String.init)
    }

    @Test func theServerStartsWithNoSignalBlockedAndStopsOnSIGTERM() throws {
        let server = try RedisServer()
        defer { server.shutdown() }
        let pid = try #require(server.pid)
        let term = UInt64(1) << (SIGTERM - 1)
        #expect(try Self.signalSet("SigBlk", of: pid) & term == 0)
        #expect(try Self.signalSet("SigIgn", of: pid) & term == 0)

        kill(pid, SIGTERM)
        let deadline = Date(timeIntervalSinceNow: 10)
        while Self.state(of: pid) != "Z", Date() < deadline { usleep(10_000) }
        #expect(Self.state(of: pid) == "Z")
    }
}
