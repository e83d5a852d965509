import ArgumentParser
import Config
import Foundation
import Store

/// `mailtrail stats`: engagement per campaign, message and link over a time window.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Sent, opens, unique opens, clicks, unique clicks and click-through rate per campaign, message and link.",
        discussion: """
            Sent counts messages whose enrichment record (mt:msg:<id>) has sent_at in the window; opens and clicks \
            count events added to mt:events in the window. Unique opens and clicks count distinct messages; the \
            click-through rate is unique clicks / sent. Records expire after message_ttl and the stream keeps \
            events_max_length events: older numbers are gone.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: "Only this campaign; adds a row per message.")
    var campaign: String?

    @Option(help: "Only this message (tracking id or Message-ID); adds its row.")
    var message: String?

    @Flag(help: "Add a row per link (campaign and URL).")
    var links = false

    @Option(help: "Start of the window: a duration ago (24h, 7d), a UTC date or time (2026-11-01, 2026-11-01T08:00Z), @unix-seconds.")
    var since = "24h"

    @Option(help: "End of the window (exclusive), same forms; default now.")
    var until: String?

    @Flag(help: "Leave out opens and clicks judged to come from machines (privacy proxies, link scanners).")
    var humansOnly = false

    @Flag(help: "One JSON object instead of tables.")
    var json = false

    func run() throws {
        let settings = try options.settings()
        let window: TimeWindow
        do {
            window = try TimeWindow.parse(since: since, until: until, now: Int64(Date().timeIntervalSince1970))
        } catch {
            throw ValidationError(error.description)
        }
        var endpoint = settings.redisEndpoint
        endpoint.ioTimeout = max(endpoint.ioTimeout, .seconds(5))
        endpoint.connectTimeout = max(endpoint.connectTimeout, .seconds(1))
        let loader = StatsLoader(connection: RedisConnection(endpoint: endpoint), schema: settings.keySchema)
        let messages: [MessageFacts]
        let events: (events: [EventFacts], malformed: Int)
        do {
            messages = try loader.messages()
            events = try loader.events(in: window)
        } catch {
            throw CLIError(error)
        }
        if events.malformed > 0 {
            let n = events.malformed
            StandardIO.warn("mailtrail stats: skipped \(n) unreadable stream entr\(n == 1 ? "y" : "ies") in \(settings.keySchema.events)")
        }
        var query = StatsQuery(window: window, campaign: campaign, message: message, humansOnly: humansOnly)
        query.links = links
        let report = StatsAggregator.report(messages: messages, events: events.events, query: query)
        print(json ? try StatsOutput.json(report) : StatsOutput.text(report))
    }
}
