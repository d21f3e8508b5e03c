import ArgumentParser
import Foundation
import Logging
import NP6Sync
import SyncStore
import Config
import Sinks

struct SinksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sinks",
        abstract: "Show how delivery to each sink is going, or deliver events to a sink again.",
        subcommands: [SinksStatusCommand.self, SinksReplayCommand.self]
    )
}
