import CMilter

/// What the filter asks of the MTA when a connection starts (milter protocol 6 negotiation).
///
/// Actions: add and change headers, replace the body. Steps it has no use for (HELO, DATA,
/// end of header, unknown commands) are not sent at all, and the MTA need not wait for a
/// reply to connect, MAIL FROM, RCPT TO, each header and each body chunk: the filter only
/// ever decides at end of message, so every other round trip is pure latency.
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
