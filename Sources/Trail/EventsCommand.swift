import ArgumentParser
import Config
import Foundation
import Store

/// `mailtrail events`: read the event stream.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Read the tracking event stream (mt:events).",
        subcommands: [Tail.self])

    struct Tail: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the latest events, one per line; --follow waits for new ones.")

        @OptionGroup var options: ConfigOptions

        @Option(help: "How many of the latest events to print first.")
        var count = 10

        @Flag(help: "Keep printing events as they arrive, until interrupted.")
        var follow = false

        @Flag(help: "Print each event's JSON document as stored (one per line) instead of a table.")
        var json = false

        func validate() throws {
            guard count >= 0 else { throw ValidationError("--count must be 0 or more") }
        }

        func run() throws {
            let settings = try options.settings()
            var endpoint = settings.redisEndpoint
            endpoint.ioTimeout = max(endpoint.ioTimeout, .seconds(5)) + .seconds(Self.block)
            endpoint.connectTimeout = max(endpoint.connectTimeout, .seconds(1))
            let connection = RedisConnection(endpoint: endpoint)
            let stream = settings.keySchema.events
            // Before the first line: whoever reads it may stop the command at once.
            let stop = follow ? StopSignal() : nil
            do {
                var last = "0-0"
                let latest = try connection.command(["XREVRANGE", stream, "+", "-", "COUNT", String(max(count, 1))])
                guard let newestFirst = StreamEntry.list(latest) else { throw CLIError("unexpected XREVRANGE answer", status: EX_PROTOCOL) }
                if let newest = newestFirst.first { last = newest.id }
                if !json { StandardIO.write(Array((EventLine.header + "\n").utf8)) }
                emit(Array(newestFirst.prefix(count).reversed()))
                guard let stop else { return }
                while !stop.isRequested {
                    let reply = try connection.command(["XREAD", "COUNT", "100", "BLOCK", String(Self.block * 1000), "STREAMS", stream, last])
                    guard let entries = StreamEntry.read(reply, stream: stream) else { throw CLIError("unexpected XREAD answer", status: EX_PROTOCOL) }
                    if let newest = entries.last { last = newest.id }
                    emit(entries)
                }
            } catch let error as RedisError {
                throw CLIError(error)
            }
        }

        /// Longest wait of one `XREAD` in seconds (stop requests are seen between waits).
        static let block: Int64 = 1

        private func emit(_ entries: [StreamEntry]) {
            var out = ""
            for entry in entries {
                let document = entry[TrackingEvent.streamJSONField]
                if json {
                    out += document.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                } else if let document, let event = try? TrackingEvent.decode(json: document) {
                    out += EventLine.text(event)
                } else {
                    out += EventLine.malformed(entryID: entry.id)
                }
                out += "\n"
            }
            if !out.isEmpty { StandardIO.write(Array(out.utf8)) }
        }
    }
}
