import Foundation
import Store
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway `redis-server` child process on a free loopback port and on a Unix socket in
/// its directory, for tests against a real server: `--save '' --appendonly no`, its own
/// temporary `--dir`. It can be stopped and started again on the same port, and paused with
/// SIGSTOP, for fault tests.
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

    /// Its Unix socket (`--unixsocket`, mode 700).
    public var socketPath: String { directory + "/redis.sock" }

    /// An endpoint for the server's Unix socket, with short test timeouts.
    public func socketEndpoint(connectTimeout: Duration = .milliseconds(200), ioTimeout: Duration = .milliseconds(200)) -> RedisEndpoint {
        RedisEndpoint(host: socketPath, connectTimeout: connectTimeout, ioTimeout: ioTimeout)
    }

    public var pid: Int32? { process?.pid }

    /// Starts (again) on the same port and waits until it answers PING (or asks for AUTH).
    public func start() throws {
        guard process == nil else { return }
        let child = try SpawnedProcess("/usr/bin/redis-server", [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory, "--logfile", directory + "/redis.log",
            "--unixsocket", socketPath, "--unixsocketperm", "700"] + extraArguments)
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
