import Glibc

/// A PID file written after start-up and removed on a clean exit, as init scripts and
/// monitoring expect of a mail daemon.
public struct PIDFile {
    public let path: String

    public init(path: String) { self.path = path }

    public func write() throws(DaemonError) {
        let text = "\(getpid())\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DaemonError.pidFile(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        let written = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        guard written == text.utf8.count else { throw DaemonError.pidFile(path, String(cString: strerror(errno))) }
    }

    public func remove() { unlink(path) }
}

public enum DaemonError: Error, CustomStringConvertible {
    case pidFile(String, String)
    case daemonize(String)

    public var description: String {
        switch self {
        case let .pidFile(path, why): return "cannot write PID file \(path): \(why)"
        case let .daemonize(why): return "cannot detach into the background: \(why)"
        }
    }
}

/// Detaches into the background (fork, setsid, stdio to /dev/null). Must be called
/// before any thread is started.
public enum Background {
    public static func detach() throws(DaemonError) {
        guard daemon(0, 0) == 0 else { throw DaemonError.daemonize(String(cString: strerror(errno))) }
    }
}
