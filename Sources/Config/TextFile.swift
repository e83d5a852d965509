import Foundation

/// Reading the small text files MailTrail is configured with, with errors an operator can act on.
public enum TextFile {
    public struct ReadError: Error {
        /// False when the file does not exist (as opposed to unreadable, a directory, not UTF-8).
        public var exists: Bool
        public var reason: String
        /// True when the file exists but this process may not read it (EACCES, EPERM).
        public var permissionDenied = false
    }

    public static func read(_ path: String) throws(ReadError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(errno) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw failure(errno) }
        if info.st_mode & S_IFMT == S_IFDIR { throw ReadError(exists: true, reason: "is a directory") }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(errno)
            }
            if count == 0 { break }
            data.append(contentsOf: chunk[0..<count])
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ReadError(exists: true, reason: "not UTF-8 text")
        }
        return text
    }

    private static func failure(_ code: Int32) -> ReadError {
        switch code {
        case ENOENT, ENOTDIR:
            return ReadError(exists: false, reason: "no such file")
        case EACCES, EPERM:
            return ReadError(exists: true, reason: "permission denied", permissionDenied: true)
        case EISDIR:
            return ReadError(exists: true, reason: "is a directory")
        default:
            return ReadError(exists: true, reason: String(cString: strerror(code)))
        }
    }
}
