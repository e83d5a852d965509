import ArgumentParser

/// `mailtrail`: the operator's command line.
@main
struct Mailtrail: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailtrail",
        abstract: "MailTrail operator tool: rewrite messages, inspect links, manage keys and configuration, export and report events.",
        subcommands: [RewriteCommand.self, LinkCommand.self, KeygenCommand.self, ConfigCommand.self,
                      FeedCommand.self, EventsCommand.self, StatsCommand.self])
}
