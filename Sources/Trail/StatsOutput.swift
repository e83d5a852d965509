import Foundation

/// How `mailtrail stats` shows a ``StatsReport``: aligned tables, or one JSON document.
enum StatsOutput {
    static let noCampaign = "(none)"

    // MARK: - Tables

    static func text(_ report: StatsReport) -> String {
        var sections = ["Window: \(UTCTime.format(report.window.since)) to \(UTCTime.format(report.window.until)) UTC"]

        var campaigns = TextTable([column("CAMPAIGN")] + metricColumns)
        for row in report.campaigns {
            campaigns.append([row.campaign ?? noCampaign] + cells(row.metrics))
        }
        campaigns.append(["TOTAL"] + cells(report.total))
        sections.append(campaigns.rendered())

        if let messages = report.messages {
            var table = TextTable([column("MESSAGE"), column("CAMPAIGN"), column("RECIPIENT"), column("SENT AT")] + metricColumns)
            for row in messages {
                table.append([row.trackingID, row.campaign ?? noCampaign, row.recipient ?? "-",
                              row.sentAt.map(UTCTime.format) ?? "-"] + cells(row.metrics))
            }
            sections.append(table.rendered())
        }

        if let links = report.links {
            var table = TextTable([column("CAMPAIGN"), column("URL"), column("SENT", .right), column("CLICKS", .right),
                                   column("UNIQUE CLICKS", .right), column("CTR", .right)])
            for row in links {
                table.append([row.campaign ?? noCampaign, row.url, String(row.sent), String(row.clicks),
                              String(row.uniqueClicks), percent(row.clickThroughRate)])
            }
            sections.append(table.rendered())
        }
        return sections.joined(separator: "\n\n")
    }

    /// A rate as a percentage with one decimal (`66.7%`); `-` when undefined (nothing sent).
    static func percent(_ rate: Double?) -> String {
        guard let rate else { return "-" }
        let tenths = Int((rate * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }

    private static let metricColumns = ["SENT", "OPENS", "UNIQUE OPENS", "CLICKS", "UNIQUE CLICKS", "CTR"].map { column($0, .right) }

    private static func column(_ title: String, _ alignment: TextTable.Alignment = .left) -> TextTable.Column {
        TextTable.Column(title: title, alignment: alignment)
    }

    private static func cells(_ m: Metrics) -> [String] {
        [m.sent, m.opens, m.uniqueOpens, m.clicks, m.uniqueClicks].map(String.init) + [percent(m.clickThroughRate)]
    }

    // MARK: - JSON

    /// One JSON object, keys sorted, snake_case (as `mailtrail link decode --json`); rates are
    /// fractions rounded to 4 decimals, null when nothing was sent.
    static func json(_ report: StatsReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(Document(report)), as: UTF8.self)
    }

    static func rounded(_ rate: Double?) -> Double? {
        rate.map { ($0 * 10_000).rounded() / 10_000 }
    }

    private struct Document: Encodable {
        let report: StatsReport
        init(_ report: StatsReport) { self.report = report }

        enum Keys: String, CodingKey { case since, until, campaigns, total, messages, links }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(report.window.since, forKey: .since)
            try c.encode(report.window.until, forKey: .until)
            var campaigns = c.nestedUnkeyedContainer(forKey: .campaigns)
            for row in report.campaigns {
                try campaigns.encode(Row(fields: ["campaign": .text(row.campaign)], metrics: row.metrics))
            }
            try c.encode(Row(fields: [:], metrics: report.total), forKey: .total)
            if let messages = report.messages {
                var list = c.nestedUnkeyedContainer(forKey: .messages)
                for row in messages {
                    try list.encode(Row(fields: ["tracking_id": .text(row.trackingID), "campaign": .text(row.campaign),
                                                 "recipient": .text(row.recipient), "sent_at": .number(row.sentAt)],
                                        metrics: row.metrics))
                }
            }
            if let links = report.links {
                var list = c.nestedUnkeyedContainer(forKey: .links)
                for row in links {
                    try list.encode(Row(fields: ["campaign": .text(row.campaign), "url": .text(row.url),
                                                 "sent": .number(Int64(row.sent)), "clicks": .number(Int64(row.clicks)),
                                                 "unique_clicks": .number(Int64(row.uniqueClicks)),
                                                 "ctr": .rate(rounded(row.clickThroughRate))],
                                        metrics: nil))
                }
            }
        }
    }

    /// A row: named fields (null when absent) and, for campaign and message rows, the metrics.
    private struct Row: Encodable {
        enum Value { case text(String?), number(Int64?), rate(Double?) }
        var fields: [String: Value]
        var metrics: Metrics?

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ name: String) { stringValue = name }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            for (name, value) in fields {
                switch value {
                case .text(let text): try c.encode(text, forKey: Key(name))
                case .number(let number): try c.encode(number, forKey: Key(name))
                case .rate(let rate): try c.encode(rate, forKey: Key(name))
                }
            }
            if let m = metrics {
                try c.encode(m.sent, forKey: Key("sent"))
                try c.encode(m.opens, forKey: Key("opens"))
                try c.encode(m.uniqueOpens, forKey: Key("unique_opens"))
                try c.encode(m.clicks, forKey: Key("clicks"))
                try c.encode(m.uniqueClicks, forKey: Key("unique_clicks"))
                try c.encode(rounded(m.clickThroughRate), forKey: Key("ctr"))
            }
        }
    }
}
