import Config
import Logging
import NP6Client
import NP6Model
import NP6Sync
import SQLiteStore
import Sinks
import SyncStore

/// The state of one run of ``Simulator``: the world, the instance of np6-sync that lives in it
/// (replaced after each crash), what it found.
final class SimulationRun {
    let options: Simulator.Options
    let path: String
    let trace = SimulationTrace()
    let clock: SimulationClock
    /// The sinks' loops wait on a clock of their own: they run concurrently, and their waits
    /// must not move the time the engine reads.
    let sinkClock = SimulationClock(wallStartMs: SimulatedWorld.startMs)
    var random: SimulationRandom
    let world: SimulatedWorld
    let model: ModelAPI
    let sinks: [ModelSink]
    let engineRandom: SharedRandom
    let logger = Logger(label: "np6-sync.simulation", factory: { _ in SwiftLogNoOpLogHandler() })

    var store: FaultyStore!
    var instance = SimulatedInstance()
    var pass: SyncPass!
    var supervisor: SinkSupervisor!
    var failures: [String] = []
    var checks = 0
    var crashes = 0
    var instances = 0

    init(options: Simulator.Options, path: String) {
        self.options = options
        self.path = path
        let root = SimulationRandom(seed: options.seed)
        random = root.stream("world")
        var worldRandom = root.stream("setup")
        world = SimulatedWorld(random: &worldRandom, openIssues: options.openIssues)
        clock = SimulationClock(wallStartMs: SimulatedWorld.startMs)
        model = ModelAPI(
            contacts: world.contacts, rateLimit: world.rateLimit, openIssues: options.openIssues,
            faults: world.apiFaults, clock: clock, random: root.stream("api"))
        let trace = self.trace
        sinks = world.sinks.map { sink in
            ModelSink(
                name: sink.name, behaviour: sink.behaviour, canary: options.canary,
                random: root.stream("receiver:\(sink.name)"), trace: trace)
        }
        engineRandom = SharedRandom(root.stream("engine"))
    }

    var result: Simulator.Result {
        Simulator.Result(
            options: options, trace: trace.lines, failures: failures,
            simulatedMs: SimulationClock.milliseconds(clock.now.offset), requests: model.requests, crashes: crashes,
            checks: checks, concurrentSleeps: clock.concurrentSleeps)
    }

    func fail(_ message: String) {
        failures.append(message)
        trace.record("INVARIANT FAILED: \(message)")
    }

    // MARK: - The run

    func start() async throws {
        trace.record(world.summary)
        for (index, stamps) in world.history.enumerated() where !stamps.isEmpty {
            model.publish(contact: index, timestamps: stamps)
        }
        try await openInstance()
        _ = try await store.inner.addContacts(world.contacts.map(\.reference), now: clock.wallNowMs)
        for step in 0..<world.steps {
            advanceWorld(step: step)
            await runPass(label: "step \(step)")
            await checkStep()
            if failures.isEmpty, random.chance(0.7) {
                await drainSinks()
                await checkStep()
            }
            if !failures.isEmpty { return }
        }
        try await quietDown()
    }

    /// A new instance on the database file: what a restart after a crash does.
    func openInstance() async throws {
        instances += 1
        instance = SimulatedInstance()
        let quiet = model.faults.isQuiet
        let crashAt: Int? = !quiet && random.chance(world.crashChance) ? random.int(1...12) : nil
        let inner = try SQLiteEventStore.open(path: path)
        store = FaultyStore(
            inner, instance: instance, faults: quiet ? .none : world.storeFaults,
            crashAtSubmit: crashAt, canary: options.canary, random: random.stream("store\(instances)"),
            trace: trace)
        trace.record(
            "instance \(instances) opened the database" + (crashAt.map { ", will crash at write #\($0)" } ?? ""))
        let wallNowMs: @Sendable () -> Int64 = { [clock] in clock.wallNowMs }
        let api = SimulatedAPI(
            model: model, clock: clock, trace: trace, instance: instance, batchSize: random.pick([1, 3, 50]))
        let schedule = SchedulePolicy()
        var poller = ContactPoller(
            client: api, database: store,
            windows: WindowPolicy(
                initialStartMs: world.windows.initialStartMs, lookbackMs: world.windows.lookbackMs,
                maxWindowMs: world.windows.maxWindowMs),
            schedule: schedule,
            pacer: RequestPacer(requestsPerSecond: world.requestsPerSecond, wallNowMs: wallNowMs, clock: clock),
            wallNowMs: wallNowMs, random: { [engineRandom] in engineRandom.unit() })
        poller.clockSkew = ClockSkewGuard(database: store, schedule: schedule, logger: logger)
        // One request at a time, no retry within a pass: the interleaving is then the same on
        // every machine (see docs/RELIABILITY.md, "What it does not model yet").
        pass = SyncPass(poller: poller, maxConcurrentRequests: 1, maxAttempts: 1)
        pass.clock = clock
        let byName = Dictionary(uniqueKeysWithValues: sinks.map { ($0.name, $0) })
        supervisor = SinkSupervisor(
            database: store,
            sinks: world.sinks.map {
                SinkConfiguration(
                    name: $0.name, kind: .jsonl(JSONLSinkConfiguration(destination: .standardOutput)),
                    batchSize: $0.batchSize, deadLetter: $0.deadLetter)
            },
            logger: logger,
            policy: SinkDeliveryPolicy(backoffBase: .milliseconds(200), drainAttempts: 3),
            registry: SinkRegistry { configuration, _ in byName[configuration.name]! },
            clock: sinkClock, nowMs: wallNowMs)
    }

    /// Time passes; events are published live, late and at window edges; the local clock may jump.
    func advanceWorld(step: Int) {
        let before = clock.trueNowMs
        clock.advance(by: .milliseconds(random.int64(1_000...1_800_000)))
        let now = clock.trueNowMs
        let offset = world.localOffsets[step]
        if offset != clock.localOffsetMs {
            trace.record("local clock now \(offset) ms off the API's")
            clock.localOffsetMs = offset
        }
        var published = 0
        for contact in world.contacts where contact.known {
            var stamps: [Int64] = []
            for _ in 0..<random.int(0...3) { stamps.append(random.int64(before...(now - 1))) }
            if random.chance(0.3) {
                stamps.append(now - random.int64(0...(2 * world.windows.lookbackMs)))  // late
            }
            if random.chance(0.3), let edge = model.edgeTimestamp() { stamps.append(edge) }
            if let last = stamps.last, random.chance(0.2) { stamps.append(last) }  // a tie
            model.publish(contact: contact.index, timestamps: stamps)
            published += stamps.count
        }
        trace.record(
            "step \(step): time +\(SimulationClock.milliseconds(clock.now.offset)) ms, \(published) events published")
    }

    func runPass(label: String) async {
        trace.record("\(label): sync pass")
        let pass = self.pass!
        let logger = self.logger
        let startedAt = clock.now
        let task = Task { try await pass.run(logger: logger) }
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            task.cancel()
        }
        let outcome = await task.result
        watchdog.cancel()
        let spent = startedAt.duration(to: clock.now)
        if spent > .seconds(6 * 3600) { fail("hang: one pass took \(spent) of simulated time") }
        switch outcome {
        case .success(let report):
            trace.record(
                "pass: \(report.run.contactsPolled) polled, \(report.run.eventsNew) new, "
                    + "\(report.run.eventsDuplicate) duplicate, \(report.failures.count) failed, "
                    + "\(report.notFound.count) not found"
                    + (report.misconfiguration != nil ? ", misconfigured" : ""))
        case .failure(let error) where instance.isCrashed:
            trace.record("pass ended by the crash: \(error)")
        case .failure(let error as CancellationError) where !instance.isCrashed:
            fail("hang: the pass did not end within 60 s of real time (\(error))")
        case .failure(let error):
            trace.record("pass failed: \(error)")
        }
        if instance.isCrashed {
            crashes += 1
            do {
                try await openInstance()
            } catch {
                fail("the database could not be reopened after a crash: \(error)")
            }
        }
    }

    func drainSinks() async {
        let report = await supervisor.drainOnce()
        trace.merge()
        for result in report.results {
            trace.record(
                "drain \(result.sink): \(result.delivered) delivered, \(result.deadLettered) dead-lettered"
                    + (result.error.map { ", error \($0)" } ?? ""))
        }
    }

    /// No more faults, the local clock right, the API's limit out of reach: passes and drains
    /// until every known contact had a successful poll.
    func quietDown() async throws {
        trace.record("the world quiets down")
        model.quiet()
        store.quiet()
        for sink in sinks {
            sink.behaviour.failure = 0
            sink.behaviour.answerLost = 0
        }
        clock.localOffsetMs = 0
        let quietSinceMs = clock.trueNowMs
        var caughtUp = false
        for round in 0..<10 {
            clock.advance(by: .seconds(120))
            let before = failures.count
            trace.record("quiet round \(round)")
            _ = try? await pass.run(logger: logger)
            if instance.isCrashed {
                crashes += 1
                try await openInstance()
            }
            await drainSinks()
            guard failures.count == before else { return }
            let contacts = try await store.inner.contacts(afterID: 0, limit: 100_000, enabledOnly: false)
            let known = Set(world.contacts.filter(\.known).map(\.reference))
            if contacts.filter({ known.contains($0.reference) }).allSatisfy({
                ($0.lastSuccessMs ?? .min) > quietSinceMs
            }) {
                caughtUp = true
                break
            }
        }
        if !caughtUp { fail("no progress: a known contact had no successful poll in 10 quiet rounds") }
        await checkStep()
        await checkFinal(publishedBeforeMs: quietSinceMs)
    }
}
