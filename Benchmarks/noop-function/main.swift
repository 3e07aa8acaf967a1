import TesseraRuntime

// The smallest Tessera function: answers every event with `{}`. Used by scripts/bench to measure
// cold start and the runtime loop's own cost.
LambdaRuntime.run { _ in
    ClosureHandler { _, _ in Array("{}".utf8) }
}
