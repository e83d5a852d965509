/// The `[since, until)` interval `mailtrail stats` reports on, in unix seconds.
struct TimeWindow: Equatable, Sendable {
    var since: Int64
    var until: Int64

    /// Why `--since` / `--until` was not understood.
    struct Invalid: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// Reads the two options, relative to `now`:
    /// - a duration ago: `90m`, `24h`, `7d`, `2w` (units `s`, `m`, `h`, `d`, `w`; a unit is required);
    /// - a UTC date or time: `2026-11-01`, `2026-11-01T08:00`, `2026-11-01 08:00:30`, with an optional `Z`;
    /// - unix seconds after `@`: `@1790000000`;
    /// - `now`.
    static func parse(since: String, until: String?, now: Int64) throws(Invalid) -> TimeWindow {
        let start = try instant(since, now: now, option: "--since")
        let end = try until.map { text throws(Invalid) in try instant(text, now: now, option: "--until") } ?? now
        guard end > 0 else { throw Invalid(description: "--until must be after 1970-01-01") }
        guard start < end else {
            throw Invalid(description: "--since (\(UTCTime.format(start))) must be before --until (\(UTCTime.format(end)))")
        }
        return TimeWindow(since: start, until: end)
    }

    /// True when unix seconds `t` fall in the window.
    func contains(_ t: Int64) -> Bool { since <= t && t < until }

    /// True when a stream entry added at `milliseconds` falls in the window.
    func contains(milliseconds: UInt64) -> Bool {
        let (start, end) = millisecondBounds
        return start <= milliseconds && milliseconds <= end
    }

    /// The first and last millisecond of the window, the bounds of an `XRANGE` (both inclusive;
    /// a bare millisecond as the end bound covers every sequence number).
    var millisecondBounds: (first: UInt64, last: UInt64) {
        (UInt64(max(0, since)) * 1000, UInt64(max(0, until)) * 1000 - 1)
    }

    private static func instant(_ text: String, now: Int64, option: String) throws(Invalid) -> Int64 {
        let invalid = Invalid(description: "\(option) \"\(text)\": use a duration ago (24h, 7d), a UTC date (2026-11-01 or 2026-11-01T08:00Z), @unix-seconds or now")
        if text == "now" { return now }
        if text.hasPrefix("@") {
            guard let seconds = Int64(text.dropFirst()), seconds >= 0 else { throw invalid }
            return seconds
        }
        if let ago = duration(text) { return now - ago }
        if let date = date(text) { return date }
        throw invalid
    }

    /// `<digits><unit>` as seconds.
    private static func duration(_ text: String) -> Int64? {
        guard let unit = text.last, let count = Int64(text.dropLast()), count >= 0 else { return nil }
        let scale: Int64
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86_400
        case "w": scale = 604_800
        default: return nil
        }
        let (product, overflow) = count.multipliedReportingOverflow(by: scale)
        return overflow ? nil : product
    }

    /// `YYYY-MM-DD[(T| )HH:MM[:SS]][Z]` in UTC.
    private static func date(_ text: String) -> Int64? {
        var rest = Substring(text)
        if rest.hasSuffix("Z") { rest = rest.dropLast() }
        let parts = rest.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "T" || $0 == " " })
        guard (1...2).contains(parts.count) else { return nil }
        let day = parts[0].split(separator: "-", omittingEmptySubsequences: false)
        guard day.count == 3, day[0].count == 4, day[1].count == 2, day[2].count == 2,
              let year = number(day[0]), let month = number(day[1]), let dayOfMonth = number(day[2]) else { return nil }
        var clock: [Int64] = [0, 0, 0]
        if parts.count == 2 {
            let fields = parts[1].split(separator: ":", omittingEmptySubsequences: false)
            guard (2...3).contains(fields.count), fields.allSatisfy({ $0.count == 2 }) else { return nil }
            for (index, field) in fields.enumerated() {
                guard let value = number(field) else { return nil }
                clock[index] = value
            }
        }
        return UTCTime.seconds(year: year, month: month, day: dayOfMonth, hour: clock[0], minute: clock[1], second: clock[2])
    }

    private static func number(_ text: Substring) -> Int64? {
        guard !text.isEmpty, text.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        return Int64(text)
    }
}
