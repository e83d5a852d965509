import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds where request heads end in the bytes of a connection, looking at each byte once
/// (a search for LF per line), and checks the size limits on the way.
///
/// Bytes may arrive split anywhere: the scanner keeps its place between calls. A value type
/// with no I/O, so ``RequestGate`` holds one per connection and tests drive it directly.
struct HeadScanner {
    /// What the scanned bytes hold.
    enum Verdict: Equatable {
        /// A head ends `at` bytes into the scanned bytes.
        case headEnd(at: Int)
        /// All bytes scanned, no head ended.
        case exhausted
        /// The current head breaks a limit: refuse it.
        case refuse(RequestHeadError)
    }

    private enum Phase { case betweenRequests, requestLine, headers }

    /// Bytes of the request line, without its CRLF.
    let requestLineLimit: Int
    /// Bytes of the header lines after the request line, line ends and the final empty line included.
    let headerBlockLimit: Int

    private var phase = Phase.betweenRequests
    private var requestLineLength = 0
    private var headerBytes = 0
    private var lineLength = 0
    private var lastByte: UInt8 = 0
    /// When the current head's first byte was scanned.
    private(set) var headStartedAt = NIODeadline.distantPast

    init(requestLineLimit: Int, headerBlockLimit: Int) {
        self.requestLineLimit = requestLineLimit
        self.headerBlockLimit = headerBlockLimit
    }

    /// True while a head has started and not ended.
    var inHead: Bool { phase != .betweenRequests }

    /// Advances over `bytes`; `now` is read when a head starts. Empty lines between requests
    /// are allowed (and count for nothing).
    mutating func scan(_ bytes: UnsafeRawBufferPointer, now: () -> NIODeadline) -> Verdict {
        guard let base = bytes.baseAddress else { return .exhausted }
        let count = bytes.count
        var index = 0
        while index < count {
            switch phase {
            case .betweenRequests:
                let byte = bytes[index]
                if byte == Self.cr || byte == Self.lf {
                    index += 1
                    continue
                }
                phase = .requestLine
                requestLineLength = 0
                headerBytes = 0
                lineLength = 0
                headStartedAt = now()
            case .requestLine:
                let lf = Self.find(Self.lf, in: base, from: index, count: count)
                let end = lf ?? count
                requestLineLength += end - index
                if end > index { lastByte = bytes[end - 1] }
                guard let lf else {
                    if requestLineLength > requestLineLimit + 1 { return .refuse(.requestLineTooLong) }
                    return .exhausted
                }
                let length = requestLineLength - (lastByte == Self.cr ? 1 : 0)
                if length > requestLineLimit { return .refuse(.requestLineTooLong) }
                index = lf + 1
                phase = .headers
                lineLength = 0
                lastByte = Self.lf
            case .headers:
                let lf = Self.find(Self.lf, in: base, from: index, count: count)
                let end = lf ?? count
                lineLength += end - index
                headerBytes += end - index + (lf == nil ? 0 : 1)
                if end > index { lastByte = bytes[end - 1] }
                if headerBytes > headerBlockLimit { return .refuse(.headerBlockTooLarge) }
                guard let lf else { return .exhausted }
                index = lf + 1
                let blank = lineLength == 0 || (lineLength == 1 && lastByte == Self.cr)
                lineLength = 0
                lastByte = Self.lf
                if blank {
                    phase = .betweenRequests
                    return .headEnd(at: index)
                }
            }
        }
        return .exhausted
    }

    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")

    private static func find(_ byte: UInt8, in base: UnsafeRawPointer, from index: Int, count: Int) -> Int? {
        guard index < count, let found = memchr(base + index, Int32(byte), count - index) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }
}
