import Foundation
import Store
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway `redis-server` child process on a free loopback port, for tests against a
/// real server: `--save '' --appendonly no`, its own temporary `--dir`. It can be stopped
/// and started again on the same port, and paused with SIGSTOP, for fault tests.
public final class RedisServer {
    public let port: Int
    public let directory: String
    private let extraArguments: [String]
    private var process: SpawnedProcess?

    /// Starts a server; `extraArguments` are appended to the command line (e.g. `--requirepass x`).
    public init(_ extraArguments: [String] = []) throws {
        self.extraArguments = extraArguments
        directory = try TemporaryDirectory.make(prefix: "redis")
        port = try FreePort.next()
        try start()
    }

    deinit {
        shutdown()
    }

    /// An endpoint for this server with short test timeouts.
    public func endpoint(password: String? = nil, db: Int = 0, connectTimeout: Duration = .milliseconds(200),
                  ioTimeout: Duration = .milliseconds(200)) -> RedisEndpoint {
        RedisEndpoint(host: "127.0.0.1", port: port, password: password, db: db,
                      connectTimeout: connectTimeout, ioTimeout: ioTimeout)
    }

    public var pid: Int32? { process?.pid }

    /// Starts (again) on the same port and waits until it answers PING (or asks for AUTH).
    public func start() throws {
        guard process == nil else { return }
        let child = try SpawnedProcess("/usr/bin/redis-server", [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory, "--logfile", directory + "/redis.log"] + extraArguments)
        process = child
        let deadline = Date(timeIntervalSinceNow: 5)
        let probe = RedisConnection(endpoint: endpoint())
        while Date() < deadline {
            guard child.isRunning else { break }
            do {
                if try probe.command(["PING"]) == .status("PONG") { return }
            } catch RedisError.authRequired {
                return
            } catch {}
            usleep(10_000)
        }
        shutdown()
        throw FixtureError("redis-server on port \(port) did not answer PING")
    }

    /// Kills the server (SIGKILL, like a crash) and waits for it to exit.
    public func stop() {
        guard let child = process else { return }
        kill(child.pid, SIGKILL)
        child.waitUntilExit()
        process = nil
    }

    /// Freezes the server: connections still open, nothing answered.
    public func pause() {
        if let pid { kill(pid, SIGSTOP) }
    }

    public func resume() {
        if let pid { kill(pid, SIGCONT) }
    }

    /// Kills the server and removes its directory.
    public func shutdown() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A fresh connection to run checks with, independent of the code under test's connection.
    public func client(db: Int = 0, password: String? = nil) -> RedisConnection {
        RedisConnection(endpoint: endpoint(password: password, db: db, connectTimeout: .seconds(2), ioTimeout: .seconds(2)))
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Loopback ports that are free right now, never the same one twice in this process.
///
/// They come from below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`), as in
/// `scripts/freeport.py`: outgoing connections get their local ports from that range, so a
/// port the kernel picked for `bind(0)` could be taken by a client while a test has its
/// server stopped, and the restart on the same port would fail.
public enum FreePort {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var handedOut: Set<Int> = []
    private static let lowest = 10_000

    public static func next() throws -> Int {
        let ephemeralStart = ephemeralRangeStart()
        for _ in 0..<200 {
            let candidate = ephemeralStart - lowest < 1000 ? 0 : Int.random(in: lowest..<ephemeralStart)
            guard let port = try probe(candidate) else { continue }
            lock.lock()
            let fresh = handedOut.insert(port).inserted
            lock.unlock()
            if fresh { return port }
        }
        throw FixtureError("no free port")
    }

    /// The first port of `net.ipv4.ip_local_port_range` (32768 when it cannot be read).
    public static func ephemeralRangeStart() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
              let first = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first,
              let start = Int(first) else { return 32768 }
        return start
    }

    /// Binds `port` (0: any) on 127.0.0.1 and lets it go; the port bound, nil when it is in use.
    private static func probe(_ port: Int) throws -> Int? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw FixtureError("socket: \(errno)") }
        defer { close(descriptor) }
        var address = loopback(port: UInt16(port))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            if errno == EADDRINUSE || errno == EACCES { return nil }
            throw FixtureError("bind: \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}

/// Unique temporary directories under /tmp.
public enum TemporaryDirectory {
    public static func make(prefix: String) throws -> String {
        var template = Array("/tmp/mailtrail-\(prefix)-XXXXXX".utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw FixtureError("mkdtemp: \(errno)")
        }
        return String(cString: result)
    }
}

/// Runs `body`, returning the RedisError it threw (nil if none) and how long it took in seconds.
public func timedFailure<T>(_ body: () throws -> T) -> (error: RedisError?, seconds: Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    var failure: RedisError?
    do {
        _ = try body()
    } catch let error as RedisError {
        failure = error
    } catch {
        Issue.record("unexpected error \(error)")
    }
    return (failure, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}

/// Wall-clock duration of `body`, in seconds.
public func elapsed(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
