import CMilter

/// What the filter knows about one SMTP connection (or one `sendmail` submission).
///
/// libmilter may run one connection's callbacks on different worker threads, but never
/// two at once, so a session needs no lock; it lives behind `smfi_setpriv`.
final class MilterSession {
    /// Known from the connect callback (or the `{client_addr}` macro).
    var clientAddress: String
    var clientHostname: String
    /// The protocol steps the MTA agreed not to wait a reply for (`SMFIP_NR_*`, see
    /// `ProtocolOptions`): their callbacks must answer `SMFIS_NOREPLY`.
    var noReply: UInt = 0
    /// The message being received, reset at every MAIL FROM (one connection can carry many).
    var message: MessageInProgress?

    init(clientAddress: String = "", clientHostname: String = "") {
        self.clientAddress = clientAddress
        self.clientHostname = clientHostname
    }

    /// What a callback for a protocol step answers when it lets the message go on:
    /// `SMFIS_NOREPLY` when the MTA does not wait for a reply to that step.
    func proceed(_ step: UInt) -> sfsistat {
        noReply & step != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE
    }
}
