import CMilter
import Config

/// What the filter asks of the MTA when a connection starts (milter protocol 6 negotiation).
///
/// Actions: add and change headers, replace the body. The filter only decides at end of
/// message, so the MTA need not wait for its reply to connect, MAIL FROM, RCPT TO, each
/// header and each body chunk (`SMFIP_NR_*`): one round trip per message instead of one per
/// header. HELO, end of header and unknown commands are not sent at all.
///
/// DATA is skipped too on a Unix socket, but kept on TCP: Postfix sends the envelope
/// packets without waiting and only flushes them at DATA or when it hands the connection
/// to cleanup. Without the DATA reply to acknowledge them, cleanup's first small packet on
/// a TCP connection waits behind Nagle's algorithm for an acknowledgement the filter's
/// kernel delays, about 40 ms per message. A Unix socket has neither, so there the DATA
/// round trip (a write, a wait and a reply per message) is saved.
struct ProtocolOptions {
    static let actions = UInt(SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY)
    static let noReplySteps = UInt(SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_BODY)

    /// The steps the MTA is asked not to send at all.
    let skippedSteps: UInt

    /// The options for a filter listening on `socket`.
    init(socket: MilterSocket) {
        var skipped = UInt(SMFIP_NOHELO | SMFIP_NOEOH | SMFIP_NOUNKNOWN)
        if case .unix = socket { skipped |= UInt(SMFIP_NODATA) }
        skippedSteps = skipped
    }

    /// The actions and steps to request from what the MTA offers (`offeredActions`,
    /// `offeredSteps`): only what it offers can be asked for.
    func negotiate(offeredActions: UInt, offeredSteps: UInt) -> (actions: UInt, steps: UInt) {
        (offeredActions & Self.actions, offeredSteps & (skippedSteps | Self.noReplySteps))
    }
}
