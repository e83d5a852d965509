import ArgumentParser
import Config

/// `mailtrail config`: the effective settings, like `postconf`.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the effective configuration (like postconf).")

    @OptionGroup var options: ConfigOptions

    @Flag(name: .customShort("n"), help: "Only parameters that differ from the defaults.")
    var onlyChanged = false

    @Flag(name: .customShort("d"), help: "Defaults, with a one-line description of each parameter.")
    var defaults = false

    func run() throws {
        if defaults {
            for p in Settings.parameters {
                print("# \(p.summary)")
                print("\(p.name) = \(p.defaultValue)")
            }
            return
        }
        print(try options.settings().rendered(onlyChanged: onlyChanged))
    }
}
