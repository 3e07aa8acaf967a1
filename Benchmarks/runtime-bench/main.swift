import Foundation
import Glibc
import TesseraLocal

// runtime-bench: cold start and per-invocation overhead of Lambda runtimes, side by side, against
// the local Runtime API on loopback. Usage:
//   runtime-bench [--invocations N] [--cold-starts K] NAME=COMMAND [NAME=COMMAND ...]
// A peer's COMMAND may end in "@N" to run N invocations instead (slow peers).

struct Peer {
    let name: String
    let command: [String]
    let invocations: Int?
}

func monotonicNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

func median(_ values: [Double]) -> Double { percentile(values.sorted(), 0.5) }

var invocations = 10_000
var coldStarts = 10
var peers: [Peer] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--invocations": invocations = Int(arguments.popFirst() ?? "") ?? invocations
    case "--cold-starts": coldStarts = Int(arguments.popFirst() ?? "") ?? coldStarts
    default:
        guard let eq = argument.firstIndex(of: "=") else { fatalError("expected NAME=COMMAND, got \(argument)") }
        var command = String(argument[argument.index(after: eq)...])
        var count: Int?
        if let at = command.lastIndex(of: "@"), let n = Int(command[command.index(after: at)...]) {
            count = n
            command = String(command[..<at])
        }
        peers.append(Peer(name: String(argument[..<eq]), command: command.split(separator: " ").map(String.init),
                          invocations: count))
    }
}

let event = Array(#"{"ping":1}"#.utf8)
var baseEnvironment = ProcessInfo.processInfo.environment
baseEnvironment["AWS_LAMBDA_LOG_LEVEL"] = "WARN"

print("runtime-bench: \(coldStarts) cold starts, then sequential invocations of a no-op handler on loopback")
print("peer".padding(toLength: 10, withPad: " ", startingAt: 0)
      + "  first /next  first response  invocations  mean µs  p50 µs  p99 µs  invocations/s  peak RSS")
for peer in peers {
    var toNext: [Double] = []
    var toResponse: [Double] = []
    var coldRSS: [Double] = []
    for _ in 0..<coldStarts {
        let api = try LocalRuntimeAPI()
        var env = baseEnvironment
        env["AWS_LAMBDA_RUNTIME_API"] = api.endpoint
        let start = monotonicNanos()
        let child = try ChildProcess(peer.command, environment: env)
        guard case .response? = api.invoke(event, timeout: 30) else { fatalError("\(peer.name): no response") }
        let timeline = api.timeline
        toNext.append(Double(timeline.firstNext! - start) / 1e6)
        toResponse.append(Double(timeline.firstOutcome! - start) / 1e6)
        coldRSS.append(Double(child.terminate().peakRSSKiB))
        api.stop()
    }

    let count = peer.invocations ?? invocations
    let api = try LocalRuntimeAPI()
    var env = baseEnvironment
    env["AWS_LAMBDA_RUNTIME_API"] = api.endpoint
    let child = try ChildProcess(peer.command, environment: env)
    for _ in 0..<50 { _ = api.invoke(event) }  // warm-up
    var latencies: [Double] = []
    latencies.reserveCapacity(count)
    let loopStart = monotonicNanos()
    for _ in 0..<count {
        let t0 = monotonicNanos()
        guard case .response? = api.invoke(event, timeout: 30) else { fatalError("\(peer.name): no response") }
        latencies.append(Double(monotonicNanos() - t0) / 1e3)
    }
    let seconds = Double(monotonicNanos() - loopStart) / 1e9
    let rss = child.terminate().peakRSSKiB
    api.stop()
    let sorted = latencies.sorted()
    let mean = latencies.reduce(0, +) / Double(latencies.count)
    func f(_ value: Double, _ width: Int, _ digits: Int = 1) -> String {
        String(format: "%\(width).\(digits)f", value)
    }
    print(peer.name.padding(toLength: 10, withPad: " ", startingAt: 0)
          + "  \(f(median(toNext), 8)) ms  \(f(median(toResponse), 11)) ms  \(String(format: "%11d", count))"
          + "  \(f(mean, 7))  \(f(percentile(sorted, 0.5), 6))  \(f(percentile(sorted, 0.99), 6))"
          + "  \(f(Double(count) / seconds, 13, 0))  \(f(Double(max(rss, Int(median(coldRSS)))) / 1024, 5)) MiB")
}
print("first /next and first response: median over the cold starts, from process spawn; peak RSS: wait4's ru_maxrss")
