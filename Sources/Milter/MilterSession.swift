/// What the filter knows about one SMTP connection (or one `sendmail` submission).
///
/// libmilter may run one connection's callbacks on different worker threads, but never
/// two at once, so a session needs no lock; it lives behind `smfi_setpriv`.
final class MilterSession {
    let clientAddress: String
    let clientHostname: String
    /// The message being received, reset at every MAIL FROM (one connection can carry many).
    var message: MessageInProgress?

    init(clientAddress: String, clientHostname: String) {
        self.clientAddress = clientAddress
        self.clientHostname = clientHostname
    }
}

/// The envelope, headers and body of the message in transit.
final class MessageInProgress {
    let sender: String
    var recipients: [String] = []
    var headers: [(name: String, value: [UInt8])] = []
    var saslUser: String?
    let body: BodyBuffer
    /// Body bytes received from the MTA (buffered or not).
    var bodySize = 0
    /// Set once the body exceeds `max_message_size`: the rest is not buffered and the
    /// message passes untouched.
    var tooLarge = false
    /// Set when buffering failed (e.g. the spool directory is full): the message passes untouched.
    var bufferFailure: String?

    init(sender: String, body: BodyBuffer) {
        self.sender = sender
        self.body = body
    }
}
