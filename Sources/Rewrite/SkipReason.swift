/// Why the engine left a message as it was. Reported to the caller so the milter can
/// log it beside the queue id, and `mailtrail rewrite` on stderr.
public enum SkipReason: Equatable, Sendable, CustomStringConvertible {
    /// It already carries `X-MailTrail-ID` (re-injection, `postsuper -r`): tracking twice
    /// would double every count.
    case alreadyTracked
    /// `multipart/signed`, `multipart/encrypted` or `application/pkcs7-mime` somewhere in
    /// the message: any change would break the signature or is impossible.
    case signedOrEncrypted(contentType: String)
    /// A `DKIM-Signature` is present and `skip_dkim_signed = yes`.
    case dkimSigned
    /// `X-MailTrail-Track: off`.
    case optedOutByHeader
    /// A `sender_tracking` rule turned tracking off for this sender.
    case senderRule(pattern: String)
    /// Both `track_opens` and `track_clicks` are off.
    case trackingDisabled
    /// No HTML part and no link to wrap.
    case nothingToTrack

    public var description: String {
        switch self {
        case .alreadyTracked: return "already tracked (X-MailTrail-ID present)"
        case let .signedOrEncrypted(type): return "signed or encrypted (\(type))"
        case .dkimSigned: return "already DKIM-signed (skip_dkim_signed = yes)"
        case .optedOutByHeader: return "opted out (X-MailTrail-Track: off)"
        case let .senderRule(pattern): return "sender_tracking rule \"\(pattern)\" says off"
        case .trackingDisabled: return "track_opens and track_clicks are both off"
        case .nothingToTrack: return "no HTML part and no link to track"
        }
    }
}
