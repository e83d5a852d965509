import FuzzSupport
import Rewrite

/// The whole-message engine (`MessageRewriter`, as `mailtrail rewrite` and the milter run
/// it) on arbitrary message bytes. Invariants:
/// - a message left untracked comes back byte-identical (apart from the removal of
///   `X-MailTrail-Track` its skip reason may entail);
/// - a tracked message starts with exactly `X-MailTrail-ID: <id>`, and without that field
///   it re-parses to the same MIME tree, every byte outside inline text parts identical
///   (see `MIMETreeCheck`);
/// - rewriting it again (without `X-MailTrail-ID`) changes nothing: nothing left to track.
///   This holds unless the first pass honoured an opt-out (the `data-mailtrail=off`
///   attribute, `X-MailTrail-Track`), which it removes by design.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let message = Array(UnsafeBufferPointer(start: data, count: size))
    let (once, result) = rewriter.rewrite(message: message, trackingID: FuzzFixtures.trackingID,
                                          issuedAt: FuzzFixtures.issuedAt)
    guard result.isTracked else {
        require(result.body == nil, "skipped (\(result.skip!)) but a body was returned")
        if result.headerEdits.isEmpty {
            require(once == message, "skipped (\(result.skip!)) but the message changed")
        }
        return 0
    }
    let idField = Array("\(TrackingPolicy.idHeader): \(FuzzFixtures.trackingID.hex)".utf8)
        + HeaderBlock(parsing: message).lineEnding.bytes
    require(once.starts(with: idField), "a tracked message does not start with its X-MailTrail-ID field")
    let withoutID = Array(once[idField.count...])
    MIMETreeCheck(original: message, rewritten: withoutID, topLevelEdits: result.headerEdits).verify()

    let optedOut = result.linksOptedOut > 0
        || HeaderBlock(parsing: message).first(named: TrackingPolicy.trackHeader) != nil
    guard !optedOut else { return 0 }
    let (twice, second) = rewriter.rewrite(message: withoutID, trackingID: FuzzFixtures.trackingID,
                                           issuedAt: FuzzFixtures.issuedAt)
    require(second.skip == .nothingToTrack,
            "second rewrite did not find the message done: skip \(String(describing: second.skip)), "
            + "\(second.linksWrapped) links wrapped, \(second.pixelsInserted) pixels")
    require(twice == withoutID, "second rewrite changed the message")
    return 0
}

/// Default policy (DKIM-signed mail skipped), text parts tracked, both pixels.
let rewriter = MessageRewriter(options: MessageRewriter.Options(
    trackingBase: FuzzFixtures.trackingBase, keyRing: FuzzFixtures.ring(),
    trackTextParts: true, topPixel: true))

@main
enum FuzzMessageRewriteMain {
    static func main() { FuzzerMain.run { data, size in fuzz(data!, size) } }
}
