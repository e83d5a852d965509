/// Decides which link destinations MailTrail wraps.
///
/// Only absolute web links are worth tracking, and wrapping anything else would break it:
/// `mailto:`, `tel:`, fragments, relative and `javascript:` URLs stay as they are, so do
/// destinations still holding template syntax (an unrendered `{{url}}` would be signed
/// and redirected verbatim) and links that already point at the tracker (rewriting twice
/// must change nothing).
public struct LinkEligibility: Sendable {
    /// The tracking base, ASCII lower-cased, with a trailing `/`; empty when none was given.
    private let lowerBase: [UInt8]

    /// - Parameter trackingBase: where tracking links live, e.g. `https://t.example.com/`.
    ///   A missing trailing `/` is assumed, so `https://t.example.com` does not also claim
    ///   `https://t.example.com.evil/`. An empty base disables the already-tracked check.
    public init(trackingBase: [UInt8]) {
        var base = trackingBase.map(ASCII.lower)
        if !base.isEmpty, base.last != ASCII.slash { base.append(ASCII.slash) }
        lowerBase = base
    }

    /// True when `url` (a destination as a browser would follow it) should be wrapped.
    public func shouldWrap<C: RandomAccessCollection>(_ url: C) -> Bool
    where C.Element == UInt8, C.Index == Int {
        Self.isWebURL(url) && !Self.containsTemplateMarker(url) && !isOnTrackingBase(url)
    }

    /// True when `url` starts with the tracking base (ASCII case ignored).
    public func isOnTrackingBase<C: RandomAccessCollection>(_ url: C) -> Bool
    where C.Element == UInt8, C.Index == Int {
        !lowerBase.isEmpty && ASCII.hasPrefixIgnoringCase(url, at: url.startIndex, lowerBase)
    }

    /// True for `http://host…` and `https://host…`, scheme in any case.
    ///
    /// `\` counts as `/` as in browsers. A scheme without `//` (`http:example.com`) or an
    /// empty host is refused: a redirect to it would resolve against the tracker's own URL.
    public static func isWebURL<C: RandomAccessCollection>(_ url: C) -> Bool
    where C.Element == UInt8, C.Index == Int {
        let start = url.startIndex
        var i: Int
        if ASCII.hasPrefixIgnoringCase(url, at: start, httpsScheme) {
            i = start + httpsScheme.count
        } else if ASCII.hasPrefixIgnoringCase(url, at: start, httpScheme) {
            i = start + httpScheme.count
        } else {
            return false
        }
        guard url.endIndex - i >= 3, isSlash(url[i]), isSlash(url[i + 1]) else { return false }
        i += 2
        let first = url[i]
        return !isSlash(first) && first != ASCII.question && first != ASCII.hash
    }

    /// True when `url` still holds template syntax: `{{`, `{%`, `${`, `*|`, `%%`, `[[`,
    /// `<%`, or a percent-encoded `{{`, `{%` or `${` (`%7B%7B`, `%7B%25`, `%24%7B`, any case).
    public static func containsTemplateMarker<C: RandomAccessCollection>(_ url: C) -> Bool
    where C.Element == UInt8, C.Index == Int {
        var i = url.startIndex
        let last = url.endIndex - 1
        while i < last {
            let next = url[i + 1]
            switch url[i] {
            case leftBrace:
                if next == leftBrace || next == percent { return true }
            case dollar:
                if next == leftBrace { return true }
            case asterisk:
                if next == pipe { return true }
            case ASCII.leftBracket:
                if next == ASCII.leftBracket { return true }
            case ASCII.lessThan:
                if next == percent { return true }
            case percent:
                if next == percent { return true }
                if ASCII.hasPrefixIgnoringCase(url, at: i, encodedDoubleBrace)
                    || ASCII.hasPrefixIgnoringCase(url, at: i, encodedBracePercent)
                    || ASCII.hasPrefixIgnoringCase(url, at: i, encodedDollarBrace) {
                    return true
                }
            default:
                break
            }
            i += 1
        }
        return false
    }

    /// The destination a browser follows for an `href` value: leading and trailing C0
    /// controls and spaces removed, tabs and line breaks inside dropped (WHATWG URL parsing).
    public static func browserNormalized(_ value: [UInt8]) -> [UInt8] {
        var lo = 0
        var hi = value.count
        while lo < hi, value[lo] <= ASCII.space { lo += 1 }
        while hi > lo, value[hi - 1] <= ASCII.space { hi -= 1 }
        let trimmed = value[lo..<hi]
        if !trimmed.contains(where: isTabOrNewline) {
            return lo == 0 && hi == value.count ? value : Array(trimmed)
        }
        return trimmed.filter { !isTabOrNewline($0) }
    }

    private static func isTabOrNewline(_ b: UInt8) -> Bool {
        b == ASCII.tab || b == ASCII.lf || b == ASCII.cr
    }

    private static func isSlash(_ b: UInt8) -> Bool { b == ASCII.slash || b == ASCII.backslash }

    private static let httpScheme: [UInt8] = Array("http:".utf8)
    private static let httpsScheme: [UInt8] = Array("https:".utf8)
    private static let encodedDoubleBrace: [UInt8] = Array("%7b%7b".utf8)
    private static let encodedBracePercent: [UInt8] = Array("%7b%25".utf8)
    private static let encodedDollarBrace: [UInt8] = Array("%24%7b".utf8)
    private static let leftBrace = UInt8(ascii: "{")
    private static let dollar = UInt8(ascii: "$")
    private static let asterisk = UInt8(ascii: "*")
    private static let pipe = UInt8(ascii: "|")
    private static let percent = UInt8(ascii: "%")
}
