import Crypto

/// The HMAC keys that sign and verify tracking tokens.
///
/// Each key has an id 1...255, written `k<id>` (`k1`, `k2`, ...), which travels in every
/// token. Only the active key signs; every key in the ring verifies, so after a rotation mail
/// sent under the old key keeps working until the old key is removed from the ring.
///
/// The ring keeps only keyed HMAC states, not the secrets, and prints only key names.
public struct KeyRing: Sendable, CustomStringConvertible {
    /// Shortest secret accepted, in bytes.
    public static let minimumSecretLength = 16
    /// Length of the secrets `generateSecret()` makes, in bytes.
    public static let generatedSecretLength = 32

    /// The key that signs new tokens.
    public let activeKeyID: UInt8
    /// Keys sorted by id; rings hold a handful, so a linear scan is the fastest lookup.
    private let keys: [Key]

    /// A key id with its HMAC-SHA256 states after absorbing the key, copied for each use.
    private struct Key: Sendable {
        let id: UInt8
        let authenticator: HMACSHA256
    }

    /// A ring from secrets by key id. Ids are 1...255; secrets at least 16 bytes;
    /// `activeKeyID` must be one of the keys.
    public init(keys: [UInt8: [UInt8]], activeKeyID: UInt8) throws(KeyRingError) {
        guard !keys.isEmpty else { throw KeyRingError(.noKeys) }
        for (id, secret) in keys {
            if id == 0 { throw KeyRingError(.keyIDZero) }
            if secret.count < KeyRing.minimumSecretLength {
                throw KeyRingError(.secretTooShort(id, secret.count))
            }
        }
        guard keys[activeKeyID] != nil else { throw KeyRingError(.activeKeyMissing(activeKeyID)) }
        self.activeKeyID = activeKeyID
        self.keys = keys.sorted { $0.key < $1.key }.map { id, secret in
            Key(id: id, authenticator: HMACSHA256(key: secret))
        }
    }

    /// Parses a keys file:
    ///
    /// ```
    /// # comments and blank lines are ignored
    /// k1 = <base64 secret>
    /// k2 = <base64 secret>
    /// active = k2
    /// ```
    ///
    /// Secrets are base64 in either alphabet, padded or not. `active` is required when
    /// there is more than one key. Errors name `source` and the line.
    public static func parse(_ text: String, source: String) throws(KeyRingError) -> KeyRing {
        var secrets: [UInt8: [UInt8]] = [:]
        var active: (id: UInt8, line: Int)?
        var lineNumber = 0
        // Split on LF bytes: a CR LF pair is a single Character, so splitting the String
        // on "\n" would miss it; the CR goes with the trimmed whitespace.
        for rawLine in text.utf8.split(separator: ASCII.lf, omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = trimmed(Substring(rawLine))
            if line.isEmpty || line.first == "#" { continue }
            func fail(_ reason: KeyRingError.Reason) -> KeyRingError {
                KeyRingError(source: source, line: lineNumber, reason)
            }
            guard let equals = line.firstIndex(of: "=") else { throw fail(.expectedAssignment) }
            let name = trimmed(line[..<equals])
            let value = trimmed(line[line.index(after: equals)...])
            guard !name.isEmpty else { throw fail(.expectedAssignment) }

            if name == "active" {
                guard active == nil else { throw fail(.duplicateActive) }
                switch keyID(named: value) {
                case .some(0): throw fail(.keyIDZero)
                case .some(let id): active = (id, lineNumber)
                case nil: throw fail(.badActiveName(String(value)))
                }
                continue
            }
            guard let id = keyID(named: name) else { throw fail(.unknownName(String(name))) }
            guard id != 0 else { throw fail(.keyIDZero) }
            guard secrets[id] == nil else { throw fail(.duplicateKey(id)) }
            guard let secret = try? Base64URL.decodeLenient(value), !value.isEmpty else {
                throw fail(.secretNotBase64(id))
            }
            guard secret.count >= minimumSecretLength else { throw fail(.secretTooShort(id, secret.count)) }
            secrets[id] = secret
        }

        guard !secrets.isEmpty else { throw KeyRingError(source: source, .noKeys) }
        let activeID: UInt8
        if let active {
            guard secrets[active.id] != nil else {
                throw KeyRingError(source: source, line: active.line, .activeKeyMissing(active.id))
            }
            activeID = active.id
        } else if secrets.count == 1, let only = secrets.keys.first {
            activeID = only
        } else {
            throw KeyRingError(source: source, .activeNotSet(keyCount: secrets.count))
        }
        return try KeyRing(keys: secrets, activeKeyID: activeID)
    }

    /// A fresh 32-byte secret from the system's cryptographically secure generator.
    public static func generateSecret() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<generatedSecretLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// The keys-file line for a key, as `mailtrail keygen` prints it: `k3 = <base64url secret>`.
    public static func keyLine(id: UInt8, secret: [UInt8]) -> String {
        "\(name(of: id)) = \(Base64URL.encode(secret))"
    }

    /// The name of a key id: `k<id>`.
    public static func name(of id: UInt8) -> String { "k\(id)" }

    /// The name of a key id: `k<id>`.
    public func name(of id: UInt8) -> String { KeyRing.name(of: id) }

    /// The ids of all keys in the ring, ascending.
    public var keyIDs: [UInt8] { keys.map(\.id) }

    /// Whether the ring can verify tokens signed with `id`.
    public func contains(_ id: UInt8) -> Bool { keys.contains { $0.id == id } }

    /// `KeyRing(k1, k2; active k2)`: names only, never secrets.
    public var description: String {
        "KeyRing(\(keys.map { name(of: $0.id) }.joined(separator: ", ")); active \(name(of: activeKeyID)))"
    }

    /// A keyed HMAC-SHA256 ready for `update`, for the key `id`; nil when it is not in the ring.
    func authenticator(for id: UInt8) -> HMACSHA256? {
        for key in keys where key.id == id { return key.authenticator }
        return nil
    }

    /// The id named by `k<digits>` (0 included, so callers can report it), or nil.
    static func keyID(named name: Substring) -> UInt8? {
        let utf8 = name.utf8
        guard utf8.first == UInt8(ascii: "k"), utf8.count >= 2, utf8.count <= 4 else { return nil }
        let digits = utf8.dropFirst()
        guard digits.allSatisfy(ASCII.isDigit) else { return nil }
        guard digits.count == 1 || digits.first != UInt8(ascii: "0") else { return nil }  // no leading zeros
        let value = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return value <= 255 ? UInt8(value) : nil
    }

    private static func trimmed(_ text: Substring) -> Substring {
        var text = text
        while let c = text.utf8.first, ASCII.isSpace(c) { text = text.dropFirst() }
        while let c = text.utf8.last, ASCII.isSpace(c) { text = text.dropLast() }
        return text
    }
}
