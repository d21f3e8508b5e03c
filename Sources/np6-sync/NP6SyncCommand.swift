import ArgumentParser
import NP6BuildInfo
import NP6Model

struct NP6SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "np6-sync",
        abstract:
            "Keeps a SQLite or PostgreSQL database in step with the NP6 stop (unsubscribe) events of your contacts.",
        discussion: """
            Exit codes: 0 ok, 1 runtime failure (e.g. some contacts failed in `sync`), 64 usage, \
            78 configuration or credentials.
            """,
        version: "\(ProductVersion.current) (commit \(String(cString: np6_sync_build_commit())))",
        subcommands: [
            RunCommand.self, SyncCommand.self, StatusCommand.self, ContactsCommand.self, EventsCommand.self,
            SinksCommand.self,
            CheckConfigCommand.self, CheckAPICommand.self, DemoCommand.self, FakeAPICommand.self,
        ]
    )
}
