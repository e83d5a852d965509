import ArgumentParser
import Foundation

/// `mailtrail`: the operator's command line.
@main
struct Mailtrail: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailtrail",
        abstract: "MailTrail operator tool: rewrite messages, inspect links, manage keys and configuration, export and report events.",
        subcommands: [RewriteCommand.self, LinkCommand.self, KeygenCommand.self, ConfigCommand.self,
                      FeedCommand.self, EventsCommand.self, StatsCommand.self])

    /// Runs the command. A ``CLIError`` ends it with one line, `mailtrail: error: …`, and its
    /// own exit status (sysexits(3), as the daemons use them); everything else (usage errors,
    /// `--help`, `ExitCode`) is ArgumentParser's to report.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as CLIError {
            StandardIO.warn("mailtrail: error: \(error.description)")
            Foundation.exit(error.status)
        } catch {
            exit(withError: error)
        }
    }
}
