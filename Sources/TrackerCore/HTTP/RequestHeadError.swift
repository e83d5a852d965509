/// Why the tracker refuses a request head; each case is answered with its ``status`` and the
/// connection is closed.
enum RequestHeadError: Error, Equatable {
    /// Not a well-formed HTTP/1.0 or HTTP/1.1 request head (400).
    case malformed
    /// The request line is longer than the configured limit (414).
    case requestLineTooLong
    /// The header lines are larger than the configured limit (431).
    case headerBlockTooLarge
    /// The head did not arrive completely within the header timeout (408).
    case timeout

    /// The response status.
    var status: Int {
        switch self {
        case .malformed: return 400
        case .requestLineTooLong: return 414
        case .headerBlockTooLarge: return 431
        case .timeout: return 408
        }
    }

    /// The reason phrase that goes with ``status``.
    var reason: String {
        switch self {
        case .malformed: return "Bad Request"
        case .requestLineTooLong: return "URI Too Long"
        case .headerBlockTooLarge: return "Request Header Fields Too Large"
        case .timeout: return "Request Timeout"
        }
    }
}
