import Foundation
import PropertyBased
import Store
import Testing
@testable import TrackerCore

@Suite struct EventJSONTests {
    /// Strings with everything JSON must escape and everything it must not.
    static let text = Gen<Character?>.element(of: [
        "a", "Z", "0", " ", "\"", "\\", "/", "\u{0}", "\u{1}", "\u{8}", "\t", "\n", "\u{B}", "\u{C}", "\r", "\u{1F}",
        "\u{7F}", "é", "\u{2028}", "\u{FEFF}", "😀", "{", "}", ":", ",", "<", "&",
    ] as [Character]).array(of: 0...12).map { String($0.compactMap { $0 }) }

    static let optionalText = text.optional

    static let timestamp = Gen<Double?>.element(of: [
        1_700_000_000, 1_700_000_100.25, 1_795_373_883.07363, 0.1, 1e20, 1.5e-7, -0.0, 123_456_789_012_345.6, 1e16,
    ] as [Double]).map { $0 ?? 0 }

    static let events = zip(text, optionalText, optionalText, Gen<Bool>.bool, timestamp, Gen<Int>.int(in: 0...100_000), text.array(of: 0...3))
        .map { text, optional, other, flag, time, number, tags in
            TrackingEvent(
                id: text, event: flag ? .opened : .clicked, timestamp: time + Double(number) / 1024, trackingID: text,
                messageID: optional, recipient: other, recipientDomain: optional, url: other,
                linkIndex: flag ? nil : number, ip: text, userAgent: text + "/" + text,
                clientInfo: .init(clientName: text, clientType: "browser", clientOS: text, deviceType: "desktop"),
                machine: .init(isMachine: flag, reason: other), first: !flag, campaign: other, tags: tags,
                queueID: optional, sentAt: flag ? nil : Int64(number) - 50_000)
        }

    @Test func matchesTheCodableEncodingByteForByte() async {
        await propertyCheck(count: 1000, input: Self.events) { event in
            #expect(EventJSON.bytes(of: event) == (try? event.jsonBytes()))
        }
    }

    @Test func xaddCommandMatchesTheStoreOne() throws {
        let event = TrackingEvent(id: "e1", event: .opened, timestamp: 1_700_000_000.5, trackingID: "t", ip: "1.2.3.4",
                                  userAgent: "ua", first: true)
        #expect(EventJSON.xaddCommand(for: event, schema: KeySchema(prefix: "x:"))
                == (try event.xaddCommand(schema: KeySchema(prefix: "x:"))))
    }

    @Test func xaddInTheWireFormatIsTheSameCommand() throws {
        let event = TrackingEvent(id: "e1", event: .clicked, timestamp: 1_700_000_000.5, trackingID: "t", url: "https://x.test/\u{0}",
                                  linkIndex: 3, ip: "1.2.3.4", userAgent: "ua \"q\"", first: false)
        var commands = RESPCommands()
        var scratch: [UInt8] = Array("left over".utf8)
        #expect(EventJSON.appendXADD(for: event, schema: KeySchema(prefix: "x:"), to: &commands, scratch: &scratch))
        var expected = RESPCommands()
        expected.command(try event.xaddCommand(schema: KeySchema(prefix: "x:")))
        #expect(commands.bytes == expected.bytes)
        #expect(commands.count == 1)
    }

    @Test func nonFiniteTimestampsAreRefused() {
        for value in [Double.nan, .infinity, -.infinity] {
            let event = TrackingEvent(id: "e", event: .opened, timestamp: value, trackingID: "t", ip: "i", userAgent: "u", first: false)
            #expect(EventJSON.bytes(of: event) == nil)
            var commands = RESPCommands()
            var scratch: [UInt8] = []
            #expect(!EventJSON.appendXADD(for: event, schema: KeySchema(), to: &commands, scratch: &scratch))
            #expect(commands.isEmpty)
        }
    }
}
