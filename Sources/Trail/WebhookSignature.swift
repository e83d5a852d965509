import Crypto

/// The `X-MailTrail-Signature` header that authenticates a webhook request:
/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
///
/// `body` is the **uncompressed** request body (the JSON or NDJSON the receiver gets after
/// undoing `Content-Encoding: gzip`). The timestamp is signed with it, so a receiver that
/// also checks that `t` is recent (say within 5 minutes) refuses replayed requests.
/// The scheme is Stripe's, so existing verification code adapts easily.
struct WebhookSignature: Sendable {
    static let headerName = "X-MailTrail-Signature"

    /// The shared secret, exactly the bytes of `feed_secret_file`'s first line.
    let secret: [UInt8]

    /// The header value for `body` sent at `timestamp`.
    func header(timestamp: Int64, body: [UInt8]) -> String {
        "t=\(timestamp),v1=\(digest(timestamp: timestamp, body: body))"
    }

    /// Lowercase hex HMAC-SHA256 of `"<timestamp>." + body`.
    func digest(timestamp: Int64, body: [UInt8]) -> String {
        var mac = HMAC<SHA256>(key: SymmetricKey(data: secret))
        mac.update(data: Array("\(timestamp).".utf8))
        mac.update(data: body)
        return Self.hex(Array(mac.finalize()))
    }

    /// Why a received signature header is refused.
    enum VerificationError: Error, Equatable {
        /// Not `t=<digits>,v1=<64 hex>` (other `key=value` parts are ignored).
        case malformed
        /// `t` is further than the tolerance from now.
        case stale
        /// No `v1` digest matches the body.
        case mismatch
    }

    /// The receiver's check, as the documentation describes it: parse `t` and every `v1`,
    /// require `|now - t| <= tolerance`, and compare digests in constant time.
    func verify(header: String, body: [UInt8], now: Int64, tolerance: Int64 = 300) throws(VerificationError) {
        var timestamp: Int64?
        var candidates: [String] = []
        for part in header.split(separator: ",") {
            guard let equals = part.firstIndex(of: "=") else { throw .malformed }
            let key = part[..<equals].trimmingSpaces, value = part[part.index(after: equals)...].trimmingSpaces
            switch key {
            case "t":
                guard timestamp == nil, !value.isEmpty, value.allSatisfy(\.isASCIIDigit), let t = Int64(value) else {
                    throw .malformed
                }
                timestamp = t
            case "v1":
                candidates.append(value)
            default:
                continue
            }
        }
        guard let timestamp, !candidates.isEmpty else { throw .malformed }
        let (difference, overflow) = now.subtractingReportingOverflow(timestamp)
        guard !overflow, difference.magnitude <= tolerance.magnitude else { throw .stale }
        let expected = Array(digest(timestamp: timestamp, body: body).utf8)
        guard candidates.contains(where: { Self.constantTimeEqual(Array($0.utf8), expected) }) else { throw .mismatch }
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
