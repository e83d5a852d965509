import Testing
@testable import Trail

/// A scripted scenario with known opens and clicks, repeats, a machine open, events outside
/// the window, a message sent before the window and one known only from its events.
/// Window [1000, 2000) s; events carry their stream entry time in ms.
enum Scenario {
    static let window = TimeWindow(since: 1000, until: 2000)
    static let a = "https://shop.example/a", b = "https://shop.example/b", c = "https://fall.example/c"

    static let messages = [
        MessageFacts(trackingID: "m1", campaign: "spring", sentAt: 1100, recipient: "ann@example.com", messageID: "<m1@example.com>"),
        MessageFacts(trackingID: "m2", campaign: "spring", sentAt: 1200, recipient: "bob@example.com"),
        MessageFacts(trackingID: "m3", campaign: "spring", sentAt: 1300, recipient: "cat@example.com"),
        MessageFacts(trackingID: "m4", campaign: "autumn", sentAt: 1400, recipient: "dan@example.com"),
        MessageFacts(trackingID: "m5", campaign: nil, sentAt: 1500, recipient: "eve@example.com"),
        MessageFacts(trackingID: "m6", campaign: "spring", sentAt: 500, recipient: "fay@example.com"),
        MessageFacts(trackingID: "m7", campaign: "spring", sentAt: 2500, recipient: "gus@example.com"),
        MessageFacts(trackingID: "m9", campaign: "autumn", sentAt: 1450, recipient: nil),
        // Counters only (the tracker's hash without the milter's record).
        MessageFacts(trackingID: "m0", campaign: nil, sentAt: nil),
    ]

    static let events = [
        EventFacts(trackingID: "m1", kind: .opened, addedAt: 1_150_000),
        EventFacts(trackingID: "m1", kind: .opened, addedAt: 1_160_000),
        EventFacts(trackingID: "m1", kind: .opened, addedAt: 1_170_000),
        EventFacts(trackingID: "m1", kind: .clicked, url: a, addedAt: 1_171_000),
        EventFacts(trackingID: "m1", kind: .clicked, url: a, addedAt: 1_172_000),
        EventFacts(trackingID: "m1", kind: .clicked, url: b, addedAt: 1_173_000),
        EventFacts(trackingID: "m2", kind: .opened, isMachine: true, addedAt: 1_250_000),
        EventFacts(trackingID: "m2", kind: .opened, addedAt: 1_260_000),
        EventFacts(trackingID: "m4", kind: .opened, addedAt: 1_450_000),
        EventFacts(trackingID: "m4", kind: .clicked, url: c, addedAt: 1_451_000),
        EventFacts(trackingID: "m5", kind: .opened, addedAt: 1_550_000),
        EventFacts(trackingID: "m5", kind: .opened, addedAt: 1_560_000),
        EventFacts(trackingID: "m6", kind: .opened, addedAt: 1_600_000),
        EventFacts(trackingID: "m6", kind: .clicked, url: a, addedAt: 1_610_000),
        EventFacts(trackingID: "m8", kind: .clicked, url: c, campaign: "autumn", addedAt: 1_700_000),
        // Outside the window: the end is exclusive.
        EventFacts(trackingID: "m1", kind: .opened, addedAt: 999_999),
        EventFacts(trackingID: "m1", kind: .clicked, url: b, addedAt: 2_000_000),
    ]
}

@Suite struct StatsAggregatorTests {
    typealias Row = StatsReport.CampaignRow

    @Test func perCampaignWithTotal() {
        let report = StatsAggregator.report(messages: Scenario.messages, events: Scenario.events,
                                            query: StatsQuery(window: Scenario.window))
        #expect(report.campaigns == [
            Row(campaign: "autumn", metrics: Metrics(sent: 2, opens: 1, uniqueOpens: 1, clicks: 2, uniqueClicks: 2)),
            Row(campaign: "spring", metrics: Metrics(sent: 3, opens: 6, uniqueOpens: 3, clicks: 4, uniqueClicks: 2)),
            Row(campaign: nil, metrics: Metrics(sent: 1, opens: 2, uniqueOpens: 1, clicks: 0, uniqueClicks: 0)),
        ])
        #expect(report.total == Metrics(sent: 6, opens: 9, uniqueOpens: 5, clicks: 6, uniqueClicks: 4))
        #expect(report.messages == nil && report.links == nil)
        #expect(report.total.clickThroughRate == 4.0 / 6.0)
    }

    @Test func humansOnlyDropsMachineEvents() {
        var query = StatsQuery(window: Scenario.window)
        query.humansOnly = true
        let report = StatsAggregator.report(messages: Scenario.messages, events: Scenario.events, query: query)
        #expect(report.campaigns[1] == Row(campaign: "spring", metrics: Metrics(sent: 3, opens: 5, uniqueOpens: 3, clicks: 4, uniqueClicks: 2)))
        #expect(report.total.opens == 8)
    }

    @Test func oneCampaignPerMessage() {
        let report = StatsAggregator.report(messages: Scenario.messages, events: Scenario.events,
                                            query: StatsQuery(window: Scenario.window, campaign: "spring"))
        #expect(report.campaigns == [Row(campaign: "spring", metrics: Metrics(sent: 3, opens: 6, uniqueOpens: 3, clicks: 4, uniqueClicks: 2))])
        #expect(report.total == report.campaigns[0].metrics)
        #expect(report.messages == [
            .init(trackingID: "m6", campaign: "spring", recipient: "fay@example.com", sentAt: 500,
                  metrics: Metrics(sent: 0, opens: 1, uniqueOpens: 1, clicks: 1, uniqueClicks: 1)),
            .init(trackingID: "m1", campaign: "spring", recipient: "ann@example.com", sentAt: 1100,
                  metrics: Metrics(sent: 1, opens: 3, uniqueOpens: 1, clicks: 3, uniqueClicks: 1)),
            .init(trackingID: "m2", campaign: "spring", recipient: "bob@example.com", sentAt: 1200,
                  metrics: Metrics(sent: 1, opens: 2, uniqueOpens: 1, clicks: 0, uniqueClicks: 0)),
            .init(trackingID: "m3", campaign: "spring", recipient: "cat@example.com", sentAt: 1300,
                  metrics: Metrics(sent: 1, opens: 0, uniqueOpens: 0, clicks: 0, uniqueClicks: 0)),
        ])
        #expect(report.messages?[0].metrics.clickThroughRate == nil)
    }

    @Test func oneMessageByTrackingIDOrMessageID() {
        for selector in ["m1", "<m1@example.com>", "m1@example.com"] {
            var query = StatsQuery(window: Scenario.window, message: selector)
            query.links = true
            let report = StatsAggregator.report(messages: Scenario.messages, events: Scenario.events, query: query)
            #expect(report.messages?.map(\.trackingID) == ["m1"], "\(selector)")
            #expect(report.total == Metrics(sent: 1, opens: 3, uniqueOpens: 1, clicks: 3, uniqueClicks: 1))
            #expect(report.links == [
                .init(campaign: "spring", url: Scenario.a, sent: 1, clicks: 2, uniqueClicks: 1),
                .init(campaign: "spring", url: Scenario.b, sent: 1, clicks: 1, uniqueClicks: 1),
            ])
        }
    }

    @Test func perLink() {
        var query = StatsQuery(window: Scenario.window)
        query.links = true
        let report = StatsAggregator.report(messages: Scenario.messages, events: Scenario.events, query: query)
        #expect(report.links == [
            .init(campaign: "autumn", url: Scenario.c, sent: 2, clicks: 2, uniqueClicks: 2),
            .init(campaign: "spring", url: Scenario.a, sent: 3, clicks: 3, uniqueClicks: 2),
            .init(campaign: "spring", url: Scenario.b, sent: 3, clicks: 1, uniqueClicks: 1),
        ])
    }

    @Test func emptyWindow() {
        let report = StatsAggregator.report(messages: Scenario.messages, events: Scenario.events,
                                            query: StatsQuery(window: TimeWindow(since: 5000, until: 6000)))
        #expect(report.campaigns.isEmpty)
        #expect(report.total == Metrics())
        #expect(report.total.clickThroughRate == nil)
    }
}

@Suite struct StatsOutputTests {
    static func report(links: Bool = false, campaign: String? = nil) -> StatsReport {
        var query = StatsQuery(window: Scenario.window, campaign: campaign)
        query.links = links
        return StatsAggregator.report(messages: Scenario.messages, events: Scenario.events, query: query)
    }

    @Test func tables() {
        #expect(StatsOutput.text(Self.report(links: true)) == """
            Window: 1970-01-01 00:16:40 to 1970-01-01 00:33:20 UTC

            CAMPAIGN  SENT  OPENS  UNIQUE OPENS  CLICKS  UNIQUE CLICKS     CTR
            autumn       2      1             1       2              2  100.0%
            spring       3      6             3       4              2   66.7%
            (none)       1      2             1       0              0    0.0%
            TOTAL        6      9             5       6              4   66.7%

            CAMPAIGN  URL                     SENT  CLICKS  UNIQUE CLICKS     CTR
            autumn    https://fall.example/c     2       2              2  100.0%
            spring    https://shop.example/a     3       3              2   66.7%
            spring    https://shop.example/b     3       1              1   33.3%
            """)
        #expect(StatsOutput.text(Self.report(campaign: "spring")) == """
            Window: 1970-01-01 00:16:40 to 1970-01-01 00:33:20 UTC

            CAMPAIGN  SENT  OPENS  UNIQUE OPENS  CLICKS  UNIQUE CLICKS    CTR
            spring       3      6             3       4              2  66.7%
            TOTAL        3      6             3       4              2  66.7%

            MESSAGE  CAMPAIGN  RECIPIENT        SENT AT              SENT  OPENS  UNIQUE OPENS  CLICKS  UNIQUE CLICKS     CTR
            m6       spring    fay@example.com  1970-01-01 00:08:20     0      1             1       1              1       -
            m1       spring    ann@example.com  1970-01-01 00:18:20     1      3             1       3              1  100.0%
            m2       spring    bob@example.com  1970-01-01 00:20:00     1      2             1       0              0    0.0%
            m3       spring    cat@example.com  1970-01-01 00:21:40     1      0             0       0              0    0.0%
            """)
    }

    @Test func percentages() {
        #expect(StatsOutput.percent(nil) == "-")
        #expect(StatsOutput.percent(0) == "0.0%")
        #expect(StatsOutput.percent(2.0 / 3.0) == "66.7%")
        #expect(StatsOutput.percent(0.0005) == "0.1%")
        #expect(StatsOutput.percent(1.5) == "150.0%")
    }

    @Test func json() throws {
        #expect(try StatsOutput.json(Self.report(links: true, campaign: "autumn")) == """
            {
              "campaigns" : [
                {
                  "campaign" : "autumn",
                  "clicks" : 2,
                  "ctr" : 1,
                  "opens" : 1,
                  "sent" : 2,
                  "unique_clicks" : 2,
                  "unique_opens" : 1
                }
              ],
              "links" : [
                {
                  "campaign" : "autumn",
                  "clicks" : 2,
                  "ctr" : 1,
                  "sent" : 2,
                  "unique_clicks" : 2,
                  "url" : "https://fall.example/c"
                }
              ],
              "messages" : [
                {
                  "campaign" : "autumn",
                  "clicks" : 1,
                  "ctr" : 1,
                  "opens" : 1,
                  "recipient" : "dan@example.com",
                  "sent" : 1,
                  "sent_at" : 1400,
                  "tracking_id" : "m4",
                  "unique_clicks" : 1,
                  "unique_opens" : 1
                },
                {
                  "campaign" : "autumn",
                  "clicks" : 0,
                  "ctr" : 0,
                  "opens" : 0,
                  "recipient" : null,
                  "sent" : 1,
                  "sent_at" : 1450,
                  "tracking_id" : "m9",
                  "unique_clicks" : 0,
                  "unique_opens" : 0
                },
                {
                  "campaign" : "autumn",
                  "clicks" : 1,
                  "ctr" : null,
                  "opens" : 0,
                  "recipient" : null,
                  "sent" : 0,
                  "sent_at" : null,
                  "tracking_id" : "m8",
                  "unique_clicks" : 1,
                  "unique_opens" : 0
                }
              ],
              "since" : 1000,
              "total" : {
                "clicks" : 2,
                "ctr" : 1,
                "opens" : 1,
                "sent" : 2,
                "unique_clicks" : 2,
                "unique_opens" : 1
              },
              "until" : 2000
            }
            """)
    }
}
