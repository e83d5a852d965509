import PropertyBased
import Testing
@testable import Trail

@Suite struct UTCTimeTests {
    /// Reference values from Python's datetime.fromtimestamp(t, UTC).
    @Test func formatsKnownInstants() {
        #expect(UTCTime.format(0) == "1970-01-01 00:00:00")
        #expect(UTCTime.format(1_790_000_000) == "2026-09-21 14:13:20")
        #expect(UTCTime.format(951_782_400) == "2000-02-29 00:00:00")
        #expect(UTCTime.format(-1) == "1969-12-31 23:59:59")
        #expect(UTCTime.format(253_402_300_799) == "9999-12-31 23:59:59")
    }

    @Test func readsDatesAndRefusesImpossibleOnes() {
        #expect(UTCTime.seconds(year: 2026, month: 11, day: 1) == 1_793_491_200)
        #expect(UTCTime.seconds(year: 2026, month: 11, day: 1, hour: 8) == 1_793_520_000)
        #expect(UTCTime.seconds(year: 2000, month: 2, day: 29) == 951_782_400)
        #expect(UTCTime.seconds(year: 1900, month: 2, day: 29) == nil)
        #expect(UTCTime.seconds(year: 2026, month: 2, day: 29) == nil)
        #expect(UTCTime.seconds(year: 2026, month: 13, day: 1) == nil)
        #expect(UTCTime.seconds(year: 2026, month: 4, day: 31) == nil)
        #expect(UTCTime.seconds(year: 2026, month: 1, day: 1, hour: 24) == nil)
    }

    @Test func daysAndCivilDatesAreInverse() async {
        await propertyCheck(count: 500, input: Gen.int(in: -1_000_000...3_000_000)) { days in
            let (year, month, day) = UTCTime.civil(fromDays: Int64(days))
            #expect(UTCTime.days(fromCivil: year, month, day) == Int64(days))
            #expect((1...12).contains(month) && (1...31).contains(day))
        }
    }
}

@Suite struct TimeWindowTests {
    let now: Int64 = 1_790_000_000

    @Test func relativeAbsoluteAndUnixForms() throws {
        #expect(try TimeWindow.parse(since: "24h", until: nil, now: now) == TimeWindow(since: now - 86_400, until: now))
        #expect(try TimeWindow.parse(since: "90m", until: "30s", now: now) == TimeWindow(since: now - 5400, until: now - 30))
        #expect(try TimeWindow.parse(since: "2w", until: "now", now: now) == TimeWindow(since: now - 1_209_600, until: now))
        #expect(try TimeWindow.parse(since: "2026-09-01", until: "2026-09-21T14:00Z", now: now)
                == TimeWindow(since: 1_788_220_800, until: 1_789_999_200))
        #expect(try TimeWindow.parse(since: "2026-09-21 14:13:19", until: "@1790000000", now: now)
                == TimeWindow(since: 1_789_999_999, until: 1_790_000_000))
    }

    @Test func badInputNamesTheOption() {
        let cases: [(String, String?, String)] = [
            ("24", nil, "--since \"24\": use a duration ago (24h, 7d), a UTC date (2026-11-01 or 2026-11-01T08:00Z), @unix-seconds or now"),
            ("1d", "2026-13-01", "--until \"2026-13-01\": use a duration ago (24h, 7d), a UTC date (2026-11-01 or 2026-11-01T08:00Z), @unix-seconds or now"),
            ("2026-9-1", nil, "--since \"2026-9-1\": use a duration ago (24h, 7d), a UTC date (2026-11-01 or 2026-11-01T08:00Z), @unix-seconds or now"),
            ("@x", nil, "--since \"@x\": use a duration ago (24h, 7d), a UTC date (2026-11-01 or 2026-11-01T08:00Z), @unix-seconds or now"),
            ("1h", "2h", "--since (2026-09-21 13:13:20) must be before --until (2026-09-21 12:13:20)"),
            ("now", nil, "--since (2026-09-21 14:13:20) must be before --until (2026-09-21 14:13:20)"),
        ]
        for (since, until, message) in cases {
            #expect(throws: TimeWindow.Invalid(description: message)) {
                try TimeWindow.parse(since: since, until: until, now: now)
            }
        }
    }

    @Test func millisecondBoundsCoverExactlyTheWindow() {
        let window = TimeWindow(since: 100, until: 200)
        #expect(window.millisecondBounds == (100_000, 199_999))
        #expect(window.contains(milliseconds: 100_000) && window.contains(milliseconds: 199_999))
        #expect(!window.contains(milliseconds: 99_999) && !window.contains(milliseconds: 200_000))
        #expect(window.contains(100) && window.contains(199) && !window.contains(200) && !window.contains(99))
    }
}
