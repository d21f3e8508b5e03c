import ArgumentParser
import Config
import Foundation
import Logging
import NP6Sync
import Sinks
import SyncStore

struct SinksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sinks",
        abstract: "Show how delivery to each sink is going, or deliver events to a sink again.",
        subcommands: [SinksStatusCommand.self, SinksReplayCommand.self]
    )
}
