import Foundation

/// Reading the small text files MailTrail is configured with, with errors an operator can act on.
public enum TextFile {
    public struct ReadError: Error {
        /// False when the file does not exist (as opposed to unreadable, a directory, not UTF-8).
        public var exists: Bool
        public var reason: String
    }

    public static func read(_ path: String) throws(ReadError) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ReadError(exists: false, reason: "no such file")
        }
        if isDirectory.boolValue { throw ReadError(exists: true, reason: "is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReadError(exists: true, reason: "permission denied")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ReadError(exists: true, reason: "not UTF-8 text")
        }
        return text
    }
}
