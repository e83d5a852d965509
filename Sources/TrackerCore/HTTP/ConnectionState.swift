/// Per-connection state shared by the connection's handlers (all on its event loop).
final class ConnectionState {
    /// Set once the connection is being closed after an answer: no further request is read.
    var closing = false
}
