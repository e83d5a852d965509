import CMilter

/// What the filter asks of the MTA when a connection starts (milter protocol 6 negotiation).
///
/// Actions: add and change headers, replace the body. The filter only decides at end of
/// message, so the MTA need not wait for its reply to connect, MAIL FROM, RCPT TO, each
/// header and each body chunk (`SMFIP_NR_*`): one round trip per message instead of one per
/// header. HELO, end of header and unknown commands are not sent at all. DATA is kept on
/// purpose: Postfix sends the DATA-stage macros (`{i}`) as a packet that gets no reply, and
/// without the DATA command's reply to acknowledge it, the next packet (from Postfix's
/// cleanup, on the same connection) waits for a delayed TCP acknowledgement, ~40 ms per message.
enum ProtocolOptions {
    static let actions = UInt(SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY)
    static let skippedSteps = UInt(SMFIP_NOHELO | SMFIP_NOEOH | SMFIP_NOUNKNOWN)
    static let noReplySteps = UInt(SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_BODY)

    /// The actions and steps to request from what the MTA offers (`offeredActions`,
    /// `offeredSteps`): only what it offers can be asked for.
    static func negotiate(offeredActions: UInt, offeredSteps: UInt) -> (actions: UInt, steps: UInt) {
        (offeredActions & actions, offeredSteps & (skippedSteps | noReplySteps))
    }
}
