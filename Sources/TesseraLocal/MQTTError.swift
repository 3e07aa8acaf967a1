/// Why an MQTT connection, publish or subscription failed; each message says what to check.
public enum MQTTError: Error, Equatable, CustomStringConvertible {
    /// The broker address is not `mqtt://host:port` or `mqtts://host:port`.
    case invalidBrokerURL(String, problem: String)
    /// A TLS file (CA, certificate, key) is missing or unreadable.
    case unreadableFile(role: String, path: String, reason: String)
    /// Nothing accepted a TCP connection at host:port (refused, no route, unknown host, timed out).
    case unreachable(broker: String, reason: String)
    /// The broker answered CONNACK with a refusal, or closed the connection before accepting it
    /// (what AWS IoT Core does for an unknown certificate or a policy without iot:Connect).
    case refused(broker: String, reason: String, hint: String)
    /// The TLS handshake failed on our side (the broker's certificate did not verify, bad key, ...).
    case tls(broker: String, reason: String)
    /// No CONNACK within the connect timeout.
    case connectTimeout(broker: String, seconds: Double)
    /// The connection broke after it was accepted.
    case connectionLost(broker: String, reason: String)
    /// No PUBACK within the timeout.
    case publishTimeout(broker: String, topic: String, seconds: Double, unacknowledged: Int)
    /// The broker refused a subscription (SUBACK 0x80) or did not answer.
    case subscribeFailed(broker: String, filter: String, reason: String)
    /// A libmosquitto call failed.
    case library(call: String, code: Int32, reason: String)
    /// The client was used after `disconnect()`.
    case notConnected

    public var description: String {
        switch self {
        case let .invalidBrokerURL(url, problem):
            "invalid broker \"\(url)\": \(problem) (expected mqtt://HOST:PORT or mqtts://HOST:PORT)"
        case let .unreadableFile(role, path, reason):
            "cannot read the \(role) \(path): \(reason)"
        case let .unreachable(broker, reason):
            "cannot reach the MQTT broker at \(broker): \(reason); is the broker running and the address right?"
        case let .refused(broker, reason, hint):
            "the MQTT broker at \(broker) refused the connection: \(reason)" + (hint.isEmpty ? "" : "; \(hint)")
        case let .tls(broker, reason):
            "TLS with the MQTT broker at \(broker) failed: \(reason)"
        case let .connectTimeout(broker, seconds):
            "the MQTT broker at \(broker) accepted TCP but did not answer CONNECT within \(formatSeconds(seconds)) s "
                + "(is it an MQTT port? for mqtts, is it a TLS port?)"
        case let .connectionLost(broker, reason):
            "the connection to the MQTT broker at \(broker) was lost: \(reason)"
        case let .publishTimeout(broker, topic, seconds, unacknowledged):
            "the MQTT broker at \(broker) did not acknowledge \(unacknowledged) message(s) to \(topic) within "
                + "\(formatSeconds(seconds)) s"
        case let .subscribeFailed(broker, filter, reason):
            "the MQTT broker at \(broker) did not grant the subscription to \(filter): \(reason)"
        case let .library(call, code, reason):
            "\(call) failed (\(code)): \(reason)"
        case .notConnected:
            "the MQTT client is disconnected"
        }
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(Double(Int(seconds * 10)) / 10)
}
