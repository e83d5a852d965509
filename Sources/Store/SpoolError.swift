#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the spool could not be opened, written, synced or read. Every case names the path.
public enum SpoolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The spool directory does not exist and could not be created.
    case cannotCreateDirectory(path: String, errno: Int32)
    /// Files cannot be created in the spool directory (permissions, read-only file system).
    case notWritable(path: String, errno: Int32)
    /// Another process holds the spool's lock file.
    case inUse(path: String)
    /// The file system is full (ENOSPC) or over quota (EDQUOT). The failed record was not
    /// stored; earlier records are intact.
    case diskFull(path: String)
    /// A record larger than the configured limit was refused.
    case recordTooLarge(path: String, size: Int, limit: Int)
    /// The spool was closed.
    case closed(path: String)
    /// Any other system call failure.
    case io(operation: String, path: String, errno: Int32)

    /// Maps a failed system call, turning ENOSPC/EDQUOT into ``diskFull(path:)``.
    static func from(errno code: Int32, operation: String, path: String) -> SpoolError {
        if code == ENOSPC || code == EDQUOT { return .diskFull(path: path) }
        return .io(operation: operation, path: path, errno: code)
    }

    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let code):
            return "spool directory \(path): cannot create: \(Self.message(code))"
        case .notWritable(let path, let code):
            return "spool directory \(path): not writable: \(Self.message(code))"
        case .inUse(let path):
            return "spool directory \(path): in use by another process"
        case .diskFull(let path):
            return "spool file \(path): no space left on device"
        case .recordTooLarge(let path, let size, let limit):
            return "spool \(path): record of \(size) bytes exceeds the \(limit)-byte limit"
        case .closed(let path):
            return "spool \(path): closed"
        case .io(let operation, let path, let code):
            return "spool file \(path): \(operation) failed: \(Self.message(code))"
        }
    }

    /// What the operator does about this failure while the program keeps running, for the
    /// spool in `directory`.
    public func remedy(directory: String) -> String {
        switch self {
        case .diskFull:
            return "free space on the file system of \(directory)"
        case .recordTooLarge, .closed:
            return "nothing to do for the spool; report it if it repeats"
        default:
            return "check \(directory) and its file system"
        }
    }

    private static func message(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
