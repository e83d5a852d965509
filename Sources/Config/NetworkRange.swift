#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address or a CIDR block (`127.0.0.1`, `::1`, `10.0.0.0/8`, `fd00::/8`), as listed in
/// `trusted_proxies`.
///
/// Addresses are kept as 16 bytes, IPv4 as IPv4-mapped IPv6 (`::ffff:a.b.c.d`), so that a peer
/// seen as `::ffff:127.0.0.1` on a dual-stack socket matches `127.0.0.1`.
public struct NetworkRange: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The network address, masked to `prefixLength` bits.
    public let address: IPAddress
    /// Significant leading bits, counted on the 128-bit form (an IPv4 `/8` is 104 here).
    public let prefixLength: Int

    /// Parses `ADDRESS` or `ADDRESS/BITS`; host bits set after the prefix are cleared.
    public init(parsing text: String) throws(ConfigValue.Invalid) {
        let invalid = ConfigValue.Invalid(message: "\"\(text)\" is not an IP address or CIDR block (e.g. 127.0.0.1, 10.0.0.0/8, ::1)")
        var addressText = Substring(text)
        var bits: Int?
        if let slash = text.firstIndex(of: "/") {
            addressText = text[..<slash]
            guard let n = Int(text[text.index(after: slash)...]) else { throw invalid }
            bits = n
        }
        guard let address = IPAddress(parsing: String(addressText)) else { throw invalid }
        let maximum = address.isIPv4 ? 32 : 128
        let length = bits ?? maximum
        guard (0...maximum).contains(length) else { throw invalid }
        let prefix = address.isIPv4 ? length + 96 : length
        self.address = address.masked(toPrefix: prefix)
        self.prefixLength = prefix
    }

    /// Whether `candidate` lies in this block.
    public func contains(_ candidate: IPAddress) -> Bool {
        candidate.masked(toPrefix: prefixLength) == address
    }

    public var description: String {
        if address.isIPv4 {
            return prefixLength == 128 ? address.description : "\(address)/\(prefixLength - 96)"
        }
        return prefixLength == 128 ? address.description : "\(address)/\(prefixLength)"
    }
}

/// An IPv4 or IPv6 address, stored as 16 bytes (IPv4 mapped into `::ffff:0:0/96`).
public struct IPAddress: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes in network order.
    public let bytes: [UInt8]

    private static let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]

    /// Parses dotted IPv4 or textual IPv6 (brackets and a `%zone` suffix are not accepted);
    /// nil for anything else, host names included.
    public init?(parsing text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.bytes = Self.mappedPrefix + withUnsafeBytes(of: v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self.bytes = withUnsafeBytes(of: v6) { Array($0) }
            return
        }
        return nil
    }

    /// An address from 4 (IPv4) or 16 (IPv6) bytes in network order.
    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4: self.bytes = Self.mappedPrefix + bytes
        case 16: self.bytes = bytes
        default: return nil
        }
    }

    /// True for IPv4 addresses (including IPv4-mapped IPv6 ones).
    public var isIPv4: Bool { bytes.starts(with: Self.mappedPrefix) }

    func masked(toPrefix bits: Int) -> IPAddress {
        var out = bytes
        for index in 0..<16 {
            let keep = min(8, max(0, bits - index * 8))
            out[index] &= keep == 8 ? 0xFF : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
        return IPAddress(checkedBytes: out)
    }

    private init(checkedBytes: [UInt8]) {
        self.bytes = checkedBytes
    }

    /// Dotted quad for IPv4, RFC 5952 text (via `inet_ntop`) for IPv6.
    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        if isIPv4 {
            var v4 = in_addr()
            withUnsafeMutableBytes(of: &v4) { $0.copyBytes(from: bytes[12...]) }
            inet_ntop(AF_INET, &v4, &buffer, socklen_t(buffer.count))
        } else {
            var v6 = in6_addr()
            withUnsafeMutableBytes(of: &v6) { $0.copyBytes(from: bytes) }
            inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count))
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
