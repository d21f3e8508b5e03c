import ArgumentParser
import NIOCore
import NIOPosix

/// Runs Swift concurrency's tasks on NIO's event loops, the ones the HTTP client and the metrics
/// server use, instead of on a second thread pool: a poll then resumes on the thread its response
/// arrived on instead of hopping to another pool and back (S1 at concurrency 1: 315 → 240 µs of
/// CPU per poll, benchmarks/RESULTS.md). Blocking calls stay off these threads
/// (`BlockingIO`, GRDB's own queues), as they did off the cooperative pool.
@main
enum EntryPoint {
    static func main() async {
        // The hook must be in place before the first task is enqueued on the global executor.
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await (NP6SyncCommand.self as any AsyncParsableCommand.Type).main()
    }
}
