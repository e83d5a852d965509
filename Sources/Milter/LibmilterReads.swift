import CLibmilterIO
import Logging

/// libmilter's session reads, buffered (see `CLibmilterIO`'s header): fewer system calls per
/// packet, and the thread that serves a message keeps it between packets instead of handing it
/// to libmilter's pool after 1 ms. Installed before `smfi_main` starts any thread; where it
/// cannot be (another libmilter build), the filter runs as before and says so once.
enum LibmilterReads {
    /// How long a thread serving a session waits for the next packet before it hands the
    /// session back to libmilter's pool: long enough to span the gaps within a message under
    /// load, short enough that idle SMTP sessions do not each hold a thread.
    static let holdMilliseconds: Int32 = 1000

    /// Hooks libmilter's read, poll and close; logs the outcome.
    static func install(log: Logger) {
        var why: UnsafePointer<CChar>?
        let replaced = mt_libmilter_io_install("libmilter.so", holdMilliseconds, &why)
        if replaced > 0 {
            log.info("libmilter reads buffered", metadata: ["hold_ms": "\(holdMilliseconds)"])
        } else {
            let reason = why.map { String(cString: $0) } ?? "unknown"
            log.warning("libmilter reads not buffered (\(reason)): the filter works as before, with more system calls per message")
        }
    }

    /// Reads libmilter made so far: from its sockets, and served from buffered bytes.
    static var counts: (socket: UInt64, buffered: UInt64) {
        let counts = mt_session_io_counts()
        return (counts.socket_reads, counts.buffered_reads)
    }
}
