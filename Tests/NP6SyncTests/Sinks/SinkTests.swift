import Testing

/// Every sink suite. They run in parallel with the rest: the delivery loops wait and back off on
/// a manual clock (`SinkFixture.clock`), and the real receivers and child processes are given
/// generous deadlines, so a busy machine makes them slower, never wrong.
@Suite(.timeLimit(.minutes(5))) enum SinkTests {}
