import Glibc
import Synchronization
import TesseraSupport

/// CloudWatch's units for the metrics Tessera writes.
public enum MetricUnit: String, Sendable {
    case count = "Count", milliseconds = "Milliseconds", bytes = "Bytes", percent = "Percent"
}

/// One invocation's metrics and the picture it is about, written by the runtime loop when the
/// invocation ends, before its outcome is posted: CloudWatch Embedded Metric Format, namespace
/// `Tessera`, dimension `function`, no API call.
///
/// Everything without an extra dimension goes out in the invocation's one line. A metric with an extra
/// dimension (`rendition`, `errorType`) goes out in a line of its own for each value of it, since one
/// EMF line holds one value of a dimension (that line also rolls it up under `function` alone); only
/// invocations that have such metrics write those.
/// A metric recorded several times in one group (a batch of pictures) is written as a list of values.
public final class InvocationMetrics: Sendable {
    public static let namespace = "Tessera"

    struct Metric {
        let name: String
        let unit: MetricUnit
        var values: [String]
    }

    struct Group {
        let dimensions: [(name: String, value: String)]
        var metrics: [Metric]
    }

    struct State {
        var groups: [Group] = [Group(dimensions: [], metrics: [])]
        var picture: String?
    }

    private let state = Mutex(State())

    public init() {}

    /// The picture (`collection/name`) the whole invocation is about, when it is about one: the
    /// runtime's own lines of the invocation (its error) and its metrics line carry it.
    public var picture: String? {
        get { state.withLock { $0.picture } }
        set { state.withLock { $0.picture = newValue } }
    }

    public func add(_ name: String, _ value: Int, _ unit: MetricUnit = .count,
                    dimensions: [(name: String, value: String)] = []) {
        add(name, text: String(value), unit, dimensions: dimensions)
    }

    public func add(_ name: String, _ value: Double, _ unit: MetricUnit, dimensions: [(name: String, value: String)] = []) {
        guard value.isFinite else { return }
        add(name, text: String(value), unit, dimensions: dimensions)
    }

    private func add(_ name: String, text: String, _ unit: MetricUnit, dimensions: [(name: String, value: String)]) {
        state.withLock { state in
            var index = state.groups.firstIndex {
                $0.dimensions.count == dimensions.count
                    && zip($0.dimensions, dimensions).allSatisfy { $0.name == $1.name && $0.value == $1.value }
            }
            if index == nil {
                state.groups.append(Group(dimensions: dimensions, metrics: []))
                index = state.groups.count - 1
            }
            if let metric = state.groups[index!].metrics.firstIndex(where: { $0.name == name }) {
                // EMF takes at most 100 values of one metric in one line.
                if state.groups[index!].metrics[metric].values.count < 100 {
                    state.groups[index!].metrics[metric].values.append(text)
                }
            } else {
                state.groups[index!].metrics.append(Metric(name: name, unit: unit, values: [text]))
            }
        }
    }

    /// The EMF lines (without newlines): the invocation's line first, then one per extra dimension value.
    func lines(function: String, requestId: String, timestamp: Int) -> [[UInt8]] {
        let (groups, picture) = state.withLock { ($0.groups, $0.picture) }
        return groups.enumerated().compactMap { index, group in
            guard index == 0 || !group.metrics.isEmpty else { return nil }
            var line = [UInt8]()
            line.reserveCapacity(256 + 48 * group.metrics.count)
            line += #"{"_aws":{"Timestamp":"#.utf8
            line += String(timestamp).utf8
            line += #","CloudWatchMetrics":[{"Namespace":"#.utf8
            appendJSONQuoted(Self.namespace, to: &line)
            // A line with an extra dimension also rolls up under `function` alone (all renditions, all error types).
            line += #","Dimensions":[["function"]"#.utf8
            if !group.dimensions.isEmpty {
                line += #",["function""#.utf8
                for dimension in group.dimensions {
                    line.append(UInt8(ascii: ","))
                    appendJSONQuoted(dimension.name, to: &line)
                }
                line.append(UInt8(ascii: "]"))
            }
            line += #"],"Metrics":["#.utf8
            for (number, metric) in group.metrics.enumerated() {
                if number > 0 { line.append(UInt8(ascii: ",")) }
                line += #"{"Name":"#.utf8
                appendJSONQuoted(metric.name, to: &line)
                line += #","Unit":""#.utf8
                line += metric.unit.rawValue.utf8
                line += #""}"#.utf8
            }
            line += #"]}]},"function":"#.utf8
            appendJSONQuoted(function, to: &line)
            for dimension in group.dimensions {
                line.append(UInt8(ascii: ","))
                appendJSONQuoted(dimension.name, to: &line)
                line.append(UInt8(ascii: ":"))
                appendJSONQuoted(dimension.value, to: &line)
            }
            line += #","requestId":"#.utf8
            appendJSONQuoted(requestId, to: &line)
            if let picture {
                line += #","picture":"#.utf8
                appendJSONQuoted(picture, to: &line)
            }
            for metric in group.metrics {
                line.append(UInt8(ascii: ","))
                appendJSONQuoted(metric.name, to: &line)
                line.append(UInt8(ascii: ":"))
                if metric.values.count == 1 {
                    line += metric.values[0].utf8
                } else {
                    line.append(UInt8(ascii: "["))
                    line += metric.values.joined(separator: ",").utf8
                    line.append(UInt8(ascii: "]"))
                }
            }
            line.append(UInt8(ascii: "}"))
            return line
        }
    }

    /// Adds what every invocation reports (cold start, time left) and writes the lines to stderr, one
    /// write(2) each, whatever the log format and level: CloudWatch reads EMF from any log event.
    func write(function: String, requestId: String, coldStart: Bool, remainingMilliseconds: Int?) {
        add("ColdStart", coldStart ? 1 : 0)
        if let remainingMilliseconds { add("RemainingMilliseconds", remainingMilliseconds, .milliseconds) }
        for var line in lines(function: function, requestId: requestId, timestamp: UTCTime.nowMilliseconds()) {
            line.append(UInt8(ascii: "\n"))
            line.withUnsafeBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
        }
    }
}
