import Rewrite

/// The `Location` header value for a signed click destination.
///
/// A token's destination is whatever bytes the rewriter found in the message, so it may hold
/// spaces, quotes, non-ASCII (IRIs) or, from a hostile sender, CR/LF. Every byte outside the
/// URI characters of RFC 3986 (unreserved, reserved and `%`) is percent-encoded, as browsers
/// do when following such a link: the value is printable ASCII, and no byte of the
/// destination can end the header or start another. Only absolute `http`/`https` URLs are
/// redirected to; anything else (which the rewriter never signs) gets a 404.
public enum RedirectLocation {
    /// The header value, or nil when the destination is not an absolute http(s) URL.
    public static func headerValue(for destination: [UInt8]) -> String? {
        guard hasWebScheme(destination) else { return nil }
        let uriBytes = uriBytes  // once: each use of a lazily made static goes through swift_once
        // The usual case: nothing to encode, the value is the destination as it is.
        if destination.allSatisfy({ uriBytes[Int($0)] }) { return String(decoding: destination, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(destination.count + 16)
        for byte in destination {
            if uriBytes[Int(byte)] {
                out.append(byte)
            } else {
                out.append(percent)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `http://` or `https://`, in any case.
    static func hasWebScheme(_ url: [UInt8]) -> Bool {
        ASCII.hasPrefixIgnoringCase(url, at: 0, https) || ASCII.hasPrefixIgnoringCase(url, at: 0, http)
    }

    private static let https = Array("https://".utf8)
    private static let http = Array("http://".utf8)
    private static let percent = UInt8(ascii: "%")
    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// RFC 3986 unreserved and reserved characters, and `%` (existing escapes stay as they are).
    private static let uriBytes: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%".utf8) {
            table[Int(byte)] = true
        }
        return table
    }()

    static func isURIByte(_ byte: UInt8) -> Bool { uriBytes[Int(byte)] }
}
