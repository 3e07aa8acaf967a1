import TesseraHTTP
import TesseraSupport

/// Amazon SNS over its query protocol (form-encoded POST, XML answers), signed and retried by `AWSClient`.
public struct SNSClient {
    package let aws: AWSClient

    public init(aws: AWSClient) { self.aws = aws }

    /// Publishes `message` to the topic with String message attributes (subscribers filter on them);
    /// returns the message id.
    @discardableResult
    public func publish(topicARN: String, message: String, attributes: [String: String] = [:]) throws -> String {
        var parameters = [("Action", "Publish"), ("Version", "2010-03-31"), ("TopicArn", topicARN), ("Message", message)]
        for (index, (name, value)) in attributes.sorted(by: { $0.key < $1.key }).enumerated() {
            let entry = "MessageAttributes.entry.\(index + 1)"
            parameters += [("\(entry).Name", name), ("\(entry).Value.DataType", "String"),
                           ("\(entry).Value.StringValue", value)]
        }
        let response = try call("Publish", parameters)
        guard let id = xmlElement(response.text, "MessageId") else {
            throw AWSError.invalidResponse(service: .sns, operation: "Publish", reason: "no MessageId in \(response.text.prefix(200))")
        }
        return id
    }

    /// One query-protocol call. The body is encoded as AWS accepts it (and the emulator's checker
    /// needs): `+` for space, only `A-Za-z0-9-_.~` left as they are.
    package func call(_ action: String, _ parameters: [(String, String)]) throws -> HTTPResponse {
        try aws.send(AWSRequest(
            service: .sns, operation: action,
            headers: HTTPHeaders([("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]),
            body: Array(PercentEncoding.formEncode(parameters).utf8)))
    }
}
