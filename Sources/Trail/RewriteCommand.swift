import ArgumentParser
import Config
import Foundation
import Rewrite

/// `mailtrail rewrite`: one message file through the same engine the milter uses.
struct RewriteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewrite",
        abstract: "Track a message file exactly as the milter would (stdin to stdout by default).",
        discussion: "Why a message was left alone is printed on stderr; the message then comes out unchanged.")

    @OptionGroup var options: ConfigOptions

    @OptionGroup var identity: MessageIdentityOptions

    @Option(help: "Envelope sender, for sender_tracking rules (default: the From address).")
    var sender: String?

    @Flag(help: "Print a summary of what was done on stderr.")
    var verbose = false

    @Argument(help: "Message file (default: standard input).")
    var file: String?

    func run() throws {
        let settings = try options.settings()
        let rewriter = MessageRewriter(options: settings.rewriterOptions(keyRing: try options.keyRing(settings)))
        let id = try identity.resolvedTrackingID()
        let input = try StandardIO.readAll(file)
        let (output, result) = rewriter.rewrite(
            message: input, sender: sender, trackingID: id,
            issuedAt: identity.resolvedIssuedAt)
        StandardIO.write(output)
        if let skip = result.skip {
            StandardIO.warn("mailtrail: not tracked: \(skip)")
        } else if verbose {
            StandardIO.warn("mailtrail: tracked id=\(id.hex) links=\(result.linksWrapped) pixels=\(result.pixelsInserted) parts=\(result.partsRewritten)")
        }
        for failure in result.partsFailed {
            StandardIO.warn("mailtrail: part \(failure.path.map(String.init).joined(separator: ".")) left as is: \(failure.reason)")
        }
    }
}
