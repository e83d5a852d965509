import Foundation
import Store

/// Why a program cannot start, or a command cannot run: the one line an operator reads
/// (naming the file, address or parameter, the cause and the fix) and the sysexits(3) status
/// the program exits with. The three programs use the same statuses for the same causes:
///
/// | status | cause |
/// |---|---|
/// | `EX_CONFIG` (78) | a bad configuration value, a missing, unreadable or exposed keys file, a Redis password or database Redis refuses |
/// | `EX_CANTCREAT` (73) | the spool directory cannot be created or written |
/// | `EX_UNAVAILABLE` (69) | the listening address is taken, the spool is locked by another process, Redis is unreachable |
/// | `EX_PROTOCOL` (76) | Redis answered a command with an unexpected error |
public struct StartupError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public var status: Int32

    public init(_ message: String, status: Int32) {
        self.message = message
        self.status = status
    }

    public var description: String { message }

    /// A configuration problem: `EX_CONFIG`.
    public init(_ error: ConfigError) {
        self.init(error.description, status: EX_CONFIG)
    }

    /// A failed Redis call, classed as configuration (`redis_password`, `redis_db`),
    /// unreachable server, or unexpected answer.
    public init(_ error: RedisError) {
        let status: Int32
        if error.isConfiguration {
            status = EX_CONFIG
        } else if error.isConnectivity {
            status = EX_UNAVAILABLE
        } else {
            status = EX_PROTOCOL
        }
        self.init(error.description, status: status)
    }

    /// A listening socket that cannot be opened: `address` as the operator wrote it,
    /// `parameter` the setting that names it.
    public static func cannotListen(on address: String, parameter: String, program: String,
                                    reason: String, addressInUse: Bool) -> StartupError {
        let hint = addressInUse ? "is another \(program) running? check \(parameter)" : "check \(parameter)"
        return StartupError("cannot listen on \(address): \(reason) (\(hint))", status: EX_UNAVAILABLE)
    }

    /// A spool that cannot be opened at start-up. A daemon without its spool cannot keep its
    /// promise that a down Redis loses nothing, so it does not start.
    /// `spoolDirectory` is the configured `spool_directory` (the spool is a subdirectory).
    public static func spool(_ error: SpoolError, spoolDirectory: String) -> StartupError {
        let user = ServiceUser.name
        switch error {
        case .cannotCreateDirectory(let path, let code), .notWritable(let path, let code):
            let verb: String
            if case .cannotCreateDirectory = error { verb = "cannot be created" } else { verb = "is not writable" }
            return StartupError("spool directory \(path) \(verb) (\(String(cString: strerror(code)))): "
                                + directoryFix(code, spoolDirectory: spoolDirectory, user: user), status: EX_CANTCREAT)
        case .diskFull(let path):
            return StartupError("spool \(path): no space left on device: free space on its file system, or set spool_directory",
                                status: EX_CANTCREAT)
        case .inUse(let path):
            return StartupError("spool directory \(path) is locked by another process "
                                + "(is another instance running? give each instance its own spool_directory)",
                                status: EX_UNAVAILABLE)
        case .io(let operation, let path, let code):
            return StartupError("spool \(path): \(operation) failed (\(String(cString: strerror(code)))): "
                                + directoryFix(code, spoolDirectory: spoolDirectory, user: user), status: EX_CANTCREAT)
        case .recordTooLarge, .closed:
            return StartupError("\(error)", status: EX_CANTCREAT)
        }
    }

    /// What to do about a spool directory the system call refused with `code`.
    static func directoryFix(_ code: Int32, spoolDirectory: String, user: String) -> String {
        switch code {
        case EROFS:
            return "set spool_directory to a directory on a writable file system"
        case ENOSPC, EDQUOT:
            return "free space on its file system, or set spool_directory"
        case ENOTDIR:
            return "set spool_directory to a directory (a file is in the way)"
        default:
            return "this program runs as \(user): chown -R \(user) \(spoolDirectory), or set spool_directory"
        }
    }
}
