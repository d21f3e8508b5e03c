import Testing

/// Every sink suite, run one test at a time: they start servers, child processes and delivery
/// loops, and together with the rest of the tests on a two-core machine they would starve the
/// timing-sensitive ones.
@Suite(.serialized) enum SinkTests {}
