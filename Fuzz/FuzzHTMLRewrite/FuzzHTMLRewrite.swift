import FuzzSupport
import Rewrite

/// `HTMLLinkRewriter` on arbitrary bytes, three passes per input:
/// 1. a wrapper that declines every link and no pixel: the output is the input, except
///    for the opt-out attributes it removes (then it is a strict subsequence of the
///    input, with no CRLF split into a bare CR or LF);
/// 2. a wrapper that wraps everything, and both pixels: the same destinations are offered
///    in the same order, each one wrapped; the output holds a pixel. For
///    inputs of odd length the tracking URLs hold `"`, `'`, `&`, `<`, `>` and spaces, to
///    test the escaping of attribute values;
/// 3. the output of 2 rewritten again: no link offered, no pixel, no byte changed (when
///    pass 2 honoured no opt-out, which it removes by design).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let html = Array(UnsafeBufferPointer(start: data, count: size))
    let base = FuzzFixtures.trackingPrefix

    var declined: [[UInt8]] = []
    let quiet = HTMLLinkRewriter.rewrite(html, options: HTMLRewriteOptions(trackingBase: base)) { destination in
        declined.append(destination)
        return nil
    }
    require(quiet.linksWrapped == 0 && !quiet.pixelInserted && !quiet.topPixelInserted,
            "declining wrapper and no pixel, yet \(quiet.linksWrapped) links wrapped or a pixel inserted")
    if quiet.linksOptedOut == 0 {
        require(quiet.bytes == html, "nothing to change, yet the output differs:\n" + describe(quiet.bytes))
    } else {
        require(quiet.bytes.count < html.count && isSubsequence(quiet.bytes, of: html),
                "removing \(quiet.linksOptedOut) opt-outs did more than delete bytes")
        let (crBefore, lfBefore) = MIMETreeCheck.bareBreaks(html)
        let (crAfter, lfAfter) = MIMETreeCheck.bareBreaks(quiet.bytes)
        require(crAfter <= crBefore && lfAfter <= lfBefore,
                "removing opt-outs split a CRLF: bare CR/LF \(crBefore)/\(lfBefore) became \(crAfter)/\(lfAfter)")
    }

    let nasty = size % 2 == 1
    let suffix: [UInt8] = nasty ? Array("?a=\"b\"&c='d'<e> f".utf8) : []
    let pixel = base + Array("o/pixel.gif".utf8) + suffix
    let options = HTMLRewriteOptions(trackingBase: base, pixelURL: pixel, topPixelURL: pixel)
    var offered: [[UInt8]] = []
    let wrapped = HTMLLinkRewriter.rewrite(html, options: options) { destination in
        offered.append(destination)
        return base + Array("c/\(offered.count)".utf8) + suffix
    }
    require(offered == declined, "the wrapping pass was offered other destinations than the declining pass")
    require(wrapped.linksWrapped == offered.count, "\(offered.count) links offered, \(wrapped.linksWrapped) counted")
    require(wrapped.linksOptedOut == quiet.linksOptedOut, "opt-out count depends on the wrapper")
    require(TrackingPixel.isPresent(in: wrapped.bytes, trackingBase: base), "the rewritten part has no pixel")

    guard wrapped.linksOptedOut == 0 else { return 0 }
    let again = HTMLLinkRewriter.rewrite(wrapped.bytes, options: options) { destination in
        require(false, "rewriting twice offered a destination again: " + describe(destination))
        return nil
    }
    require(again.linksOptedOut == 0 && !again.pixelInserted && !again.topPixelInserted,
            "rewriting twice found work: \(again.linksOptedOut) opt-outs, pixel \(again.pixelInserted)")
    require(again.bytes == wrapped.bytes, "rewriting twice changed bytes")
    return 0
}

/// True when `small` can be obtained from `large` by deleting bytes.
func isSubsequence(_ small: [UInt8], of large: [UInt8]) -> Bool {
    var i = 0
    for b in large where i < small.count && small[i] == b { i += 1 }
    return i == small.count
}

@main
enum FuzzHTMLRewriteMain {
    static func main() { FuzzerMain.run { data, size in fuzz(data!, size) } }
}
