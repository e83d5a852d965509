import Store

/// One event as a line of `mailtrail events tail`: fixed-width columns so that lines printed
/// one by one (`--follow`) still line up.
enum EventLine {
    static let header = row(time: "TIME (UTC)", event: "EVENT", recipient: "RECIPIENT", ip: "IP", detail: "URL / CLIENT")

    static let recipientWidth = 32

    /// `time  event  recipient  ip  url-or-client`; the client is shown for opens, with the
    /// machine verdict when there is one.
    static func text(_ event: TrackingEvent) -> String {
        var detail: String
        if event.event == .clicked {
            detail = event.url ?? "-"
        } else {
            let c = event.clientInfo
            detail = "\(c.clientName) (\(c.clientOS), \(c.deviceType))"
        }
        if event.machine.isMachine {
            detail += " [machine: \(event.machine.reason ?? "yes")]"
        }
        return row(time: UTCTime.format(UTCTime.wholeSeconds(event.timestamp)), event: event.event.rawValue,
                   recipient: event.recipient ?? "-", ip: event.ip, detail: detail)
    }

    /// A stream entry that holds no readable event.
    static func malformed(entryID: String) -> String {
        "\(entryID)  (not a readable event)"
    }

    private static func row(time: String, event: String, recipient: String, ip: String, detail: String) -> String {
        [fit(time, 19), fit(event, 7), fit(recipient, recipientWidth), pad(ip, 15), detail].joined(separator: "  ")
    }

    /// Pads to `width`; longer text is kept whole (an address must not be cut).
    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Pads to `width`, or cuts to it with a final `…`.
    private static func fit(_ text: String, _ width: Int) -> String {
        if text.count > width { return String(text.prefix(width - 1)) + "…" }
        return text + String(repeating: " ", count: width - text.count)
    }

}
