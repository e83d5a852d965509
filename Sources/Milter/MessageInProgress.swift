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
