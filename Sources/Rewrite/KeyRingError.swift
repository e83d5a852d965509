/// Why a key ring could not be built, with where: `source:line: message`, like a compiler.
public struct KeyRingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Reason: Equatable, Sendable {
        /// A line that is not a comment, blank, or `name = value`.
        case expectedAssignment
        /// A name other than `k1`...`k255` or `active` (the offending name).
        case unknownName(String)
        /// The same key id defined twice.
        case duplicateKey(UInt8)
        /// Key id 0 (ids are 1...255).
        case keyIDZero
        /// A secret that is not base64.
        case secretNotBase64(UInt8)
        /// A secret shorter than `KeyRing.minimumSecretLength` bytes (id, actual length).
        case secretTooShort(UInt8, Int)
        /// `active =` given more than once.
        case duplicateActive
        /// `active =` names something that is not a key name (the value).
        case badActiveName(String)
        /// The active key id is not defined.
        case activeKeyMissing(UInt8)
        /// More than one key and no `active =` line.
        case activeNotSet(keyCount: Int)
        /// No keys at all.
        case noKeys
    }

    /// The file (or other origin) the keys came from; nil for keys given in code.
    public var source: String?
    /// 1-based line number, when the problem is on one line.
    public var line: Int?
    public var reason: Reason

    public init(source: String? = nil, line: Int? = nil, _ reason: Reason) {
        self.source = source
        self.line = line
        self.reason = reason
    }

    /// The message without the location.
    public var message: String {
        switch reason {
        case .expectedAssignment:
            return "expected 'k<id> = <base64 secret>' or 'active = k<id>'"
        case .unknownName(let name):
            return "\(name): unknown name (expected k1...k255 or active)"
        case .duplicateKey(let id):
            return "k\(id): key defined twice"
        case .keyIDZero:
            return "k0: key ids are 1...255"
        case .secretNotBase64(let id):
            return "k\(id): secret is not valid base64"
        case .secretTooShort(let id, let count):
            return "k\(id): secret is \(count) bytes; at least \(KeyRing.minimumSecretLength) are required"
        case .duplicateActive:
            return "active: set more than once"
        case .badActiveName(let value):
            return "active: '\(value)' is not a key name (expected k1...k255)"
        case .activeKeyMissing(let id):
            return "active: k\(id) is not defined"
        case .activeNotSet(let count):
            return "\(count) keys but no 'active = k<id>' line says which one signs"
        case .noKeys:
            return "no keys defined"
        }
    }

    public var description: String {
        switch (source, line) {
        case let (source?, line?): return "\(source):\(line): \(message)"
        case let (source?, nil): return "\(source): \(message)"
        case let (nil, line?): return "line \(line): \(message)"
        case (nil, nil): return message
        }
    }
}
