/// Sent, opens, unique opens, clicks, unique clicks and click-through rate of a set of messages.
struct Metrics: Equatable, Sendable {
    /// Messages sent within the window.
    var sent = 0
    var opens = 0
    /// Distinct messages (tracking ids) opened at least once within the window.
    var uniqueOpens = 0
    var clicks = 0
    /// Distinct messages (tracking ids) with at least one click within the window.
    var uniqueClicks = 0

    /// Unique clicks per message sent; nil when nothing was sent in the window.
    var clickThroughRate: Double? {
        sent > 0 ? Double(uniqueClicks) / Double(sent) : nil
    }
}

/// What `mailtrail stats` selects and how it groups.
struct StatsQuery: Equatable, Sendable {
    var window: TimeWindow
    /// Only this campaign (exact match).
    var campaign: String?
    /// Only this message: its tracking id, or its Message-ID (angle brackets optional).
    var message: String?
    /// Leave out events judged to come from machines (privacy proxies, scanners).
    var humansOnly = false
    /// Add per-message rows (set when a campaign or a message is selected).
    var perMessage: Bool { campaign != nil || message != nil }
    /// Add per-link rows.
    var links = false
}

/// The numbers `mailtrail stats` prints.
struct StatsReport: Equatable, Sendable {
    struct CampaignRow: Equatable, Sendable {
        /// nil: messages without a campaign.
        var campaign: String?
        var metrics: Metrics
    }

    struct MessageRow: Equatable, Sendable {
        var trackingID: String
        var campaign: String?
        var recipient: String?
        var sentAt: Int64?
        var metrics: Metrics
    }

    struct LinkRow: Equatable, Sendable {
        var campaign: String?
        var url: String
        /// Messages of the campaign sent within the window.
        var sent: Int
        var clicks: Int
        /// Distinct messages that clicked this link.
        var uniqueClicks: Int

        var clickThroughRate: Double? { sent > 0 ? Double(uniqueClicks) / Double(sent) : nil }
    }

    var window: TimeWindow
    var campaigns: [CampaignRow]
    var total: Metrics
    /// Present when the query asks for messages.
    var messages: [MessageRow]?
    /// Present when the query asks for links.
    var links: [LinkRow]?
}

/// Joins events with enrichment records and counts: pure, so that every number can be
/// checked against a scripted scenario.
///
/// - A message counts as sent when its `sent_at` falls in the window.
/// - An event counts when its stream entry was added within the window (events of messages
///   sent earlier count too: "sent" and engagement are both activity within the window).
/// - A message's campaign is its enrichment record's, else the one its events carry.
enum StatsAggregator {
    static func report(messages: [MessageFacts], events: [EventFacts], query: StatsQuery) -> StatsReport {
        var byID: [String: MessageFacts] = [:]
        for message in messages { byID[message.trackingID] = message }
        let selectedEvents = events.filter { query.window.contains(milliseconds: $0.addedAt) && !(query.humansOnly && $0.isMachine) }
        // Campaign per tracking id: the record's, else the first one an event carries.
        var campaignOf: [String: String?] = [:]
        for message in messages { campaignOf[message.trackingID] = message.campaign }
        for event in selectedEvents where (campaignOf[event.trackingID] ?? nil) == nil && event.campaign != nil {
            campaignOf[event.trackingID] = event.campaign
        }
        func campaign(_ id: String) -> String? { campaignOf[id] ?? nil }
        func selected(_ id: String) -> Bool {
            if let wanted = query.campaign, campaign(id) != wanted { return false }
            if let wanted = query.message, !matches(id, wanted, byID[id]) { return false }
            return true
        }

        let sentIDs = Set(messages.filter { ($0.sentAt.map(query.window.contains) ?? false) && selected($0.trackingID) }.map(\.trackingID))
        let counted = selectedEvents.filter { selected($0.trackingID) }

        // Accumulate per campaign and per message.
        var perCampaign: [String?: Tally] = [:]
        var perMessage: [String: Tally] = [:]
        var total = Tally()
        for id in sentIDs {
            perCampaign[campaign(id), default: Tally()].sent.insert(id)
            perMessage[id, default: Tally()].sent.insert(id)
            total.sent.insert(id)
        }
        for event in counted {
            perCampaign[campaign(event.trackingID), default: Tally()].add(event)
            perMessage[event.trackingID, default: Tally()].add(event)
            total.add(event)
        }

        let campaignRows = perCampaign
            .map { StatsReport.CampaignRow(campaign: $0.key, metrics: $0.value.metrics) }
            .sorted { order($0.campaign, $1.campaign) }

        var messageRows: [StatsReport.MessageRow]?
        if query.perMessage {
            messageRows = perMessage.map { id, tally in
                StatsReport.MessageRow(trackingID: id, campaign: campaign(id), recipient: byID[id]?.recipient,
                                       sentAt: byID[id]?.sentAt, metrics: tally.metrics)
            }.sorted { a, b in
                // Oldest first; messages without a known send time last; then by id.
                switch (a.sentAt, b.sentAt) {
                case let (x?, y?) where x != y: return x < y
                case (.some, nil): return true
                case (nil, .some): return false
                default: return a.trackingID < b.trackingID
                }
            }
        }

        var linkRows: [StatsReport.LinkRow]?
        if query.links {
            var perLink: [LinkKey: (clicks: Int, ids: Set<String>)] = [:]
            for event in counted where event.kind == .clicked {
                let key = LinkKey(campaign: campaign(event.trackingID), url: event.url ?? "")
                perLink[key, default: (0, [])].clicks += 1
                perLink[key, default: (0, [])].ids.insert(event.trackingID)
            }
            linkRows = perLink.map { key, value in
                StatsReport.LinkRow(campaign: key.campaign, url: key.url, sent: perCampaign[key.campaign]?.sent.count ?? 0,
                                    clicks: value.clicks, uniqueClicks: value.ids.count)
            }.sorted { a, b in
                if a.campaign != b.campaign { return order(a.campaign, b.campaign) }
                if a.clicks != b.clicks { return a.clicks > b.clicks }
                return a.url < b.url
            }
        }

        return StatsReport(window: query.window, campaigns: campaignRows, total: total.metrics,
                           messages: messageRows, links: linkRows)
    }

    /// Campaign order: by name, messages without a campaign last.
    static func order(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case let (x?, y?): return x < y
        case (.some, nil): return true
        default: return false
        }
    }

    private static func matches(_ id: String, _ wanted: String, _ facts: MessageFacts?) -> Bool {
        if id == wanted.lowercased() { return true }
        guard let messageID = facts?.messageID else { return false }
        return strip(messageID) == strip(wanted)
    }

    private static func strip(_ messageID: String) -> String {
        var text = Substring(messageID)
        if text.hasPrefix("<") && text.hasSuffix(">") && text.count >= 2 { text = text.dropFirst().dropLast() }
        return String(text)
    }

    private struct LinkKey: Hashable {
        var campaign: String?
        var url: String
    }

    /// Running counts for one group.
    private struct Tally {
        var sent: Set<String> = []
        var opens = 0
        var openers: Set<String> = []
        var clicks = 0
        var clickers: Set<String> = []

        mutating func add(_ event: EventFacts) {
            switch event.kind {
            case .opened:
                opens += 1
                openers.insert(event.trackingID)
            case .clicked:
                clicks += 1
                clickers.insert(event.trackingID)
            }
        }

        var metrics: Metrics {
            Metrics(sent: sent.count, opens: opens, uniqueOpens: openers.count, clicks: clicks, uniqueClicks: clickers.count)
        }
    }
}
