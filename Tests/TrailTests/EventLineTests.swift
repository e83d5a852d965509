import Store
import Testing
@testable import Trail

@Suite struct EventLineTests {
    @Test func opensShowTheClientAndClicksTheURL() {
        let open = TrackingEvent(
            id: "e1", event: .opened, timestamp: 1_790_000_000.9, trackingID: "a", recipient: "ann@example.com",
            ip: "192.0.2.1", userAgent: "UA",
            clientInfo: .init(clientName: "Apple Mail", clientType: "email client", clientOS: "macOS", deviceType: "desktop"),
            machine: .init(isMachine: true, reason: "apple-mpp"), first: true)
        let click = TrackingEvent(
            id: "e2", event: .clicked, timestamp: 1_790_000_061, trackingID: "b",
            recipient: "a.very.long.recipient.address@subdomain.example.com", url: "https://shop.example/a",
            ip: "2001:db8::1234:5678:9abc", userAgent: "UA", first: false)
        #expect(EventLine.header == "TIME (UTC)           EVENT    RECIPIENT                         IP               URL / CLIENT")
        #expect(EventLine.text(open)
                == "2026-09-21 14:13:20  opened   ann@example.com                   192.0.2.1        Apple Mail (macOS, desktop) [machine: apple-mpp]")
        #expect(EventLine.text(click)
                == "2026-09-21 14:14:21  clicked  a.very.long.recipient.address@s…  2001:db8::1234:5678:9abc  https://shop.example/a")
        #expect(EventLine.malformed(entryID: "1-0") == "1-0  (not a readable event)")
    }

    @Test func oddTimestampsDoNotTrap() {
        #expect(UTCTime.wholeSeconds(.infinity) == 0)
        #expect(UTCTime.wholeSeconds(.nan) == 0)
        #expect(UTCTime.wholeSeconds(1e300) == 0)
        #expect(UTCTime.wholeSeconds(-0.5) == -1)
        #expect(UTCTime.wholeSeconds(1_790_000_000.999) == 1_790_000_000)
    }
}
